"""Scoring object detections.

Three measures, all on (x1, y1, x2, y2) boxes with continuous areas
((x2 - x1) * (y2 - y1), as DetectNet and COCO; the VOC devkit's +1 pixel
is not added):

* DetectNet's (NVIDIA Caffe's ``mean_ap.py``): for each ground-truth box in
  order, the first unmatched detection with IoU >= 0.7 is a true positive;
  precision = TP / (TP + FP) * 100, recall = TP / (TP + FN) * 100 and its
  "mAP" = precision * recall / 100. No confidence sweep: it is not an
  average precision.
* VOC average precision (all points, VOC 2010+): detections sorted by
  confidence, each matched to its best-IoU ground truth (IoU >= 0.5, a box
  already taken makes it a false positive); the area under the
  precision-recall curve made monotone.
* COCO AP@[.5:.95]: the mean over IoU thresholds 0.50, 0.55 ... 0.95 of the
  precision interpolated at 101 recall points, each detection (by
  confidence) taking the best-IoU ground truth still free.

Ground-truth boxes flagged ``ignore`` (KITTI's DontCare, VOC's difficult)
count neither as missed nor, when a detection matches them, as false.
"""
import collections

import numpy as np

# One image's boxes of one class: (K, 4) corners, and per box a score
# (detections) or an ignore flag (ground truth).
Detections = collections.namedtuple('Detections', 'boxes scores')
GroundTruth = collections.namedtuple('GroundTruth', 'boxes ignore')
# The curve and the numbers of one class.
ClassResult = collections.namedtuple('ClassResult',
                                     'name n_truth n_detections voc_ap coco_ap '
                                     'precision recall detectnet')
DETECTNET_IOU = 0.7
COCO_THRESHOLDS = np.linspace(0.5, 0.95, 10)


def iou_matrix(a, b):
    """(len(a), len(b)) intersection over union of two (K, 4) corner arrays."""
    a, b = np.asarray(a, np.float64).reshape(-1, 4), np.asarray(b, np.float64).reshape(-1, 4)
    w = np.maximum(0, np.minimum(a[:, None, 2], b[None, :, 2])
                   - np.maximum(a[:, None, 0], b[None, :, 0]))
    h = np.maximum(0, np.minimum(a[:, None, 3], b[None, :, 3])
                   - np.maximum(a[:, None, 1], b[None, :, 1]))
    inter = w * h
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(inter > 0, inter / np.where(union > 0, union, 1), 0.0)


def detectnet_match(truth, detections, threshold=DETECTNET_IOU):
    """DetectNet's greedy match of one image: (detection matched, truth
    matched) booleans. Each truth box, in order, takes the first free
    detection with IoU >= ``threshold``."""
    overlaps = iou_matrix(truth, detections) >= threshold
    det_taken = np.zeros(overlaps.shape[1], bool)
    truth_taken = np.zeros(overlaps.shape[0], bool)
    for i, row in enumerate(overlaps):
        free = np.flatnonzero(row & ~det_taken)
        if len(free):
            det_taken[free[0]] = truth_taken[i] = True
    return det_taken, truth_taken


def detectnet_metrics(tp, fp, fn):
    """DetectNet's (precision, recall, "mAP"), in percent."""
    precision = 100.0 * tp / (tp + fp) if tp + fp else 0.0
    recall = 100.0 * tp / (tp + fn) if tp + fn else 0.0
    return precision, recall, precision * recall / 100.0


def _detectnet_counts(truths, detections):
    """Total (TP, FP, FN) of DetectNet's rule over images, ignored truth
    boxes left out of the truth."""
    tp = fp = fn = 0
    for truth, found in zip(truths, detections):
        det_ok, truth_ok = detectnet_match(truth.boxes[~truth.ignore], found.boxes)
        tp += int(det_ok.sum())
        fp += int((~det_ok).sum())
        fn += int((~truth_ok).sum())
    return tp, fp, fn


def _match_by_score(truths, detections, threshold, best_free):
    """Per detection (all images, by descending score): 1 true positive,
    0 false positive, -1 ignored. ``best_free``: COCO's rule (the best IoU
    among free truth boxes); otherwise VOC's (the best IoU overall, a false
    positive when already taken)."""
    order, results = [], []
    for image, (truth, found) in enumerate(zip(truths, detections)):
        if not len(found.scores):
            continue
        overlaps = iou_matrix(found.boxes, truth.boxes)
        taken = np.zeros(len(truth.boxes), bool)
        outcome = np.zeros(len(found.scores), np.int64)
        for d in np.argsort(-found.scores, kind='stable'):
            candidates = overlaps[d] if not best_free else np.where(taken, -1.0, overlaps[d])
            if not len(candidates) or candidates.max() < threshold:
                continue
            g = int(np.argmax(candidates))
            if truth.ignore[g]:
                outcome[d] = -1
            elif not taken[g]:
                taken[g] = True
                outcome[d] = 1
        order.append(found.scores)
        results.append(outcome)
    if not results:
        return np.zeros(0), np.zeros(0, np.int64)
    scores, outcome = np.concatenate(order), np.concatenate(results)
    ranked = np.argsort(-scores, kind='stable')
    return scores[ranked], outcome[ranked]


def precision_recall(outcome, n_truth):
    """Cumulative (precision, recall) down a ranked list of outcomes."""
    counted = outcome[outcome >= 0]
    tp = np.cumsum(counted == 1)
    fp = np.cumsum(counted == 0)
    precision = tp / np.maximum(tp + fp, 1)
    recall = tp / n_truth if n_truth else np.zeros(len(tp))
    return precision, recall


def voc_ap(precision, recall):
    """All-point interpolated average precision (VOC 2010 and later)."""
    mrec = np.concatenate([[0.0], recall, [1.0]])
    mpre = np.concatenate([[0.0], precision, [0.0]])
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def coco_interpolated_ap(precision, recall):
    """Mean of the precision envelope at recall 0, 0.01 ... 1 (COCO)."""
    if not len(precision):
        return 0.0
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.searchsorted(recall, np.linspace(0, 1, 101), side='left')
    return float(np.where(points < len(envelope),
                          envelope[np.minimum(points, len(envelope) - 1)], 0).mean())


def evaluate_class(name, truths, detections):
    """:data:`ClassResult` of one class over images (lists of
    :data:`GroundTruth` and :data:`Detections`, one per image)."""
    n_truth = int(sum((~t.ignore).sum() for t in truths))
    n_found = int(sum(len(d.scores) for d in detections))
    _, voc_outcome = _match_by_score(truths, detections, 0.5, best_free=False)
    precision, recall = precision_recall(voc_outcome, n_truth)
    coco = [coco_interpolated_ap(*precision_recall(
        _match_by_score(truths, detections, t, best_free=True)[1], n_truth))
        for t in COCO_THRESHOLDS]
    detectnet = detectnet_metrics(*_detectnet_counts(truths, detections))
    ap = voc_ap(precision, recall) if n_truth else 0.0
    return ClassResult(name, n_truth, n_found, ap, float(np.mean(coco)) if n_truth else 0.0,
                       precision, recall, detectnet)


def mean_ap(results, field='voc_ap'):
    """The mean of ``field`` over classes that have ground truth."""
    values = [getattr(r, field) for r in results if r.n_truth]
    return float(np.mean(values)) if values else 0.0


def plot_pr_curves(results, path, title='precision-recall'):
    """Write the precision-recall curve of every class as a PNG."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from ..protoio import atomic_open
    fig, ax = plt.subplots(figsize=(6, 5), dpi=100)
    for r in results:
        if len(r.recall):
            ax.step(np.concatenate([[0], r.recall]), np.concatenate([[1], r.precision]),
                    where='post', label='%s (VOC AP %.3f, COCO AP %.3f)'
                    % (r.name, r.voc_ap, r.coco_ap))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel('recall')
    ax.set_ylabel('precision')
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if any(len(r.recall) for r in results):
        ax.legend(loc='lower left', fontsize=8)
    with atomic_open(path, 'wb') as f:
        fig.savefig(f, format='png')
    plt.close(fig)
