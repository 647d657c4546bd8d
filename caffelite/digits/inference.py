"""DIGITS' classification of an image list (classify_many): reading the
list and the statistics of its results. The images themselves go through
:class:`caffelite.job_classifier.JobClassifier`, which classifies the way
DIGITS does.
"""
import numpy as np

from .textfiles import joined, split_line


def read_image_list(text, image_folder=None, limit=None):
    """(paths, ground truths) of DIGITS' image list: one path a line, maybe
    followed by an integer label (None when absent); relative paths (not
    URLs) are joined to ``image_folder``; at most ``limit`` lines."""
    paths, truths = [], []
    for line in text.splitlines():
        parsed = split_line(line)
        if parsed is None:
            continue
        paths.append(joined(parsed[0], image_folder))
        truths.append(parsed[1])
        if limit is not None and len(paths) >= limit:
            break
    return paths, truths


def accuracy_report(scores, truths, n_labels):
    """DIGITS' statistics of classify_many: top-1 and top-5 accuracy (%),
    the confusion matrix (truth x top-1) and per-class accuracy, over the
    images whose ground truth is a valid label (None when there is none)."""
    top5 = np.argsort(-scores, axis=1, kind='stable')[:, :5]
    valid = [(t, row) for t, row in zip(truths, top5) if t is not None and 0 <= t < n_labels]
    if not valid:
        return None
    confusion = np.zeros((n_labels, n_labels), int)
    hits1 = hits5 = 0
    for truth, row in valid:
        hits1 += truth == row[0]
        hits5 += truth in row
        if row[0] < n_labels:
            confusion[truth, row[0]] += 1
    per_class = [round(100.0 * confusion[i, i] / confusion[i].sum(), 2)
                 if confusion[i].sum() else None for i in range(n_labels)]
    return {'top1_accuracy': round(100.0 * hits1 / len(valid), 2),
            'top5_accuracy': round(100.0 * hits5 / len(valid), 2),
            'confusion_matrix': confusion.tolist(), 'per_class_accuracy': per_class}
