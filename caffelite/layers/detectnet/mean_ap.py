"""DetectNet's scoring layers (NVIDIA Caffe's
``caffe.layers.detectnet.mean_ap``), for ``type: "Python"`` layers.

``ScoreDetections`` (bottoms: ground-truth list, detection list, each
(N, 50, 5)) tags, per image, matched detections 1, unmatched ones 2 and
missed ground truth 3 in column 4 of its (N, 50, 5) top, in that order.
``mAP`` (bottom: that list) outputs DetectNet's "mAP" (precision x recall /
100), precision and recall, in percent, over the batch. See
:mod:`caffelite.detection.scoring` for the rule and for true average
precision.
"""
import numpy as np

from ...detection import scoring
from ..base import Layer

MAX_BOXES = 50
TRUE_POSITIVE, FALSE_POSITIVE, MISSED = 1, 2, 3


def _listed(rows):
    """The boxes of one image's list: rows whose corners are not all 0."""
    boxes = rows[:, :4]
    return boxes[(boxes != 0).any(axis=1)]


def score_image(truth_rows, detection_rows):
    """(K, 5) tagged rows of one image: detections matched (tag 1), the
    others (2), then the ground truth no detection matched (3)."""
    truth, found = _listed(truth_rows), _listed(detection_rows)
    det_ok, truth_ok = scoring.detectnet_match(truth, found)
    parts = [(found[det_ok], TRUE_POSITIVE), (found[~det_ok], FALSE_POSITIVE),
             (truth[~truth_ok], MISSED)]
    return np.concatenate([np.column_stack([boxes, np.full(len(boxes), tag)])
                           for boxes, tag in parts]).reshape(-1, 5)


class ScoreDetections(Layer):
    """Ground-truth and detection lists -> tagged list."""

    def setup(self, bottom, top):
        self.check(len(bottom) == 2 and len(top) == 1,
                   'takes 2 bottoms (ground truth, detections) and 1 top')

    def reshape(self, bottom, top):
        self.check(bottom[0].shape[0] == bottom[1].shape[0],
                   '# of images not matching: %d vs %d'
                   % (bottom[0].shape[0], bottom[1].shape[0]))
        top[0].reshape((bottom[0].shape[0], MAX_BOXES, 5))

    def forward(self, bottom, top):
        out = np.zeros((bottom[0].shape[0], MAX_BOXES, 5))
        for i, (truth, found) in enumerate(zip(bottom[0].data, bottom[1].data)):
            tagged = score_image(truth, found)[:MAX_BOXES]
            out[i, :len(tagged)] = tagged
        top[0].data[...] = out

    def backward(self, top, propagate_down, bottom):
        """Scores: no gradient."""


class mAP(Layer):  # noqa: N801 (NVIDIA's class name, used in prototxt files)
    """Tagged list -> "mAP", precision, recall (each a (1,) top)."""

    def setup(self, bottom, top):
        self.check(len(bottom) == 1 and len(top) == 3,
                   'takes 1 bottom and 3 tops (mAP, precision, recall)')

    def reshape(self, bottom, top):
        for blob in top:
            blob.reshape((1,))

    def forward(self, bottom, top):
        tags = bottom[0].data[:, :, 4]
        tp, fp, fn = ((tags == tag).sum() for tag in (TRUE_POSITIVE, FALSE_POSITIVE, MISSED))
        precision, recall, avp = scoring.detectnet_metrics(int(tp), int(fp), int(fn))
        top[0].data[...] = avp
        top[1].data[...] = precision
        top[2].data[...] = recall

    def backward(self, top, propagate_down, bottom):
        """Scores: no gradient."""
