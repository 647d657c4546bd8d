"""Scoring a folder of KITTI-format predictions (16 fields: a label row
plus the score) against a folder of KITTI labels: per class VOC and COCO
average precision and DetectNet's precision/recall/"mAP" (see
:mod:`.scoring`). DontCare boxes are ignored regions for every class."""
import os

import numpy as np

from ..errors import CaffeError
from . import kitti, scoring

DONTCARE = 'dontcare'


def _corners(objects):
    return np.array([[o.left, o.top, o.right, o.bottom] for o in objects],
                    np.float64).reshape(-1, 4)


def evaluate_folders(predictions, labels, classes=None):
    """[ClassResult] per class (``classes``: names, default every type in
    the labels but DontCare)."""
    truth = kitti.read_folder(labels)
    if not os.path.isdir(predictions):
        raise CaffeError('%s is not a folder' % predictions)
    found = {}
    for name in sorted(os.listdir(predictions)):
        if not name.endswith(kitti.LABEL_EXTENSION):
            continue
        stem = name[:-len(kitti.LABEL_EXTENSION)]
        if stem not in truth:
            raise CaffeError('prediction %s has no label file %s in %s' % (name, name, labels))
        objects = kitti.read_objects(os.path.join(predictions, name))
        for o in objects:
            if o.score is None:
                raise CaffeError('%s: predictions need a 16th field, the score'
                                 % os.path.join(predictions, name))
        found[stem] = objects
    names = classes or sorted({o.type.lower() for objects in truth.values() for o in objects
                               if o.type.lower() != DONTCARE})
    if not names:
        raise CaffeError('%s labels no objects to score' % labels)
    results = []
    for cls in names:
        truths, detections = [], []
        for stem in sorted(truth):
            mine = [o for o in truth[stem] if o.type.lower() == cls]
            ignored = [o for o in truth[stem] if o.type.lower() == DONTCARE]
            truths.append(scoring.GroundTruth(_corners(mine + ignored),
                                              np.arange(len(mine) + len(ignored)) >= len(mine)))
            dets = [o for o in found.get(stem, []) if o.type.lower() == cls]
            detections.append(scoring.Detections(_corners(dets),
                                                 np.array([o.score for o in dets], np.float64)))
        results.append(scoring.evaluate_class(cls, truths, detections))
    return results


def table(results):
    """The results as a text table with a mean row."""
    lines = ['%-16s %7s %7s %8s %8s %10s %8s %8s' % ('class', 'objects', 'found', 'VOC AP',
                                                     'COCO AP', 'precision', 'recall',
                                                     '"mAP"')]
    for r in results:
        lines.append('%-16s %7d %7d %8.4f %8.4f %9.1f%% %7.1f%% %8.2f'
                     % ((r.name, r.n_truth, r.n_detections, r.voc_ap, r.coco_ap) + r.detectnet))
    lines.append('%-16s %7s %7s %8.4f %8.4f' % ('mean', '', '', scoring.mean_ap(results),
                                                scoring.mean_ap(results, 'coco_ap')))
    return '\n'.join(lines)
