"""DetectNet's box clustering layers (NVIDIA Caffe's
``caffe.layers.detectnet.clustering``), for ``type: "Python"`` layers.

``ClusterDetections`` (param_str ``'img_x, img_y, stride, cvg_threshold,
group_threshold, eps, min_height[, classes]'``) turns each class's coverage
map and the bbox map into a list of boxes: every cell with coverage >=
threshold proposes the box its four channels give (pixel offsets from the
cell's corner), the proposals are grouped with OpenCV's groupRectangles
rule (:mod:`caffelite.detection.grouping`), and groups at least min_height
tall become rows ``[x1, y1, x2, y2, ln(members)]``. Top i: (N, 50, 5) for
class i, zero-padded, values at float16 precision as NVIDIA's layer stores
them.

``ClusterGroundtruth`` (``'img_x, img_y, stride[, classes]'``) lists the
distinct boxes of the cells whose coverage label is > 0, last column 0.

Only the top-left ``int(img_y / stride)`` x ``int(img_x / stride)`` cells
are read, so '1248, 352, 16' skips the two bottom rows of a 384-high grid,
as DetectNet's KITTI network does.
"""
import numpy as np

from ...detection import grouping
from ..base import Layer

MAX_BOXES = 50


def _numbers(param_str, kinds, required, layer):
    """The comma-separated values of ``param_str``, converted by ``kinds``
    (the trailing ones optional past ``required``)."""
    parts = [p.strip() for p in param_str.split(',')] if param_str.strip() else []
    if not required <= len(parts) <= len(kinds):
        layer.fail("param_str '%s' needs %d to %d comma-separated values"
                   % (param_str, required, len(kinds)))
    try:
        return [kind(p) for kind, p in zip(kinds, parts)]
    except ValueError:
        layer.fail("param_str '%s' holds a value of the wrong type" % param_str)


def proposals(coverage, boxes, threshold, stride, grid, strict=False):
    """Boxes (K, 4) proposed by one image's (H, W) ``coverage`` and (4, H, W)
    ``boxes``: cells in the top-left ``grid`` (rows, cols) with coverage >=
    ``threshold`` (> when ``strict``), in row-major order."""
    rows, cols = grid
    cvg = coverage[:rows, :cols]
    ys, xs = np.nonzero(cvg > threshold if strict else cvg >= threshold)
    corner = np.stack([xs, ys, xs, ys], axis=1) * stride
    return boxes[:, ys, xs].T.astype(np.float64) + corner


class _ClusterLayer(Layer):
    """Shared shape rules: one top of (N, 50, 5) per class."""

    def _grid(self):
        return (int(self.image_size_y / self.stride), int(self.image_size_x / self.stride))

    def _check_classes(self, bottom, top):
        self.check(len(top) == self.num_classes, 'expects %d tops (one per class), got %d'
                   % (self.num_classes, len(top)))
        self.check(bottom[0].shape[1] == self.num_classes,
                   'expects %d coverage channels, got %s'
                   % (self.num_classes, bottom[0].shape))

    def reshape(self, bottom, top):
        self._check_classes(bottom, top)
        for blob in top:
            blob.reshape((bottom[0].shape[0], MAX_BOXES, 5))

    def forward(self, bottom, top):
        coverage, boxes = bottom[0].data, bottom[1].data
        cell = (self.image_size_x / self._grid()[1], self.image_size_y / self._grid()[0])
        for k, blob in enumerate(top):
            out = np.zeros((coverage.shape[0], MAX_BOXES, 5))
            for i in range(coverage.shape[0]):
                found = self.boxes_of(coverage[i, k], boxes[i], cell)[:MAX_BOXES]
                out[i, :len(found), :found.shape[1]] = found.astype(np.float16)
            blob.data[...] = out

    def backward(self, top, propagate_down, bottom):
        """Lists of boxes: no gradient."""


class ClusterDetections(_ClusterLayer):
    """Predicted coverage and bboxes -> grouped boxes per class."""

    def setup(self, bottom, top):
        values = _numbers(self.param_str, (int, int, int, float, int, float, int, int), 7, self)
        (self.image_size_x, self.image_size_y, self.stride, self.gridbox_cvg_threshold,
         self.gridbox_rect_thresh, self.gridbox_rect_eps, self.min_height) = values[:7]
        self.num_classes = values[7] if len(values) > 7 else 1
        self._check_classes(bottom, top)

    def boxes_of(self, coverage, boxes, cell):
        """(K, 5) rows [x1, y1, x2, y2, ln(members)] of one image's class."""
        proposed = proposals(coverage, boxes, self.gridbox_cvg_threshold, np.array(cell * 2),
                             self._grid())
        if not proposed.any():
            return np.zeros((0, 5))
        xywh = np.concatenate([proposed[:, :2], proposed[:, 2:] - proposed[:, :2]], axis=1)
        rects, weights = grouping.group_rectangles(xywh, self.gridbox_rect_thresh,
                                                   self.gridbox_rect_eps)
        tall = rects[:, 3] >= self.min_height
        rects, weights = rects[tall], weights[tall]
        return np.column_stack([rects[:, :2], rects[:, :2] + rects[:, 2:],
                                np.log(weights)]).astype(np.float64).reshape(-1, 5)


class ClusterGroundtruth(_ClusterLayer):
    """Coverage and bbox labels -> the distinct ground-truth boxes per class."""

    def setup(self, bottom, top):
        values = _numbers(self.param_str, (int, int, int, int), 3, self)
        self.image_size_x, self.image_size_y, self.stride = values[:3]
        self.num_classes = values[3] if len(values) > 3 else 1
        self._check_classes(bottom, top)

    def boxes_of(self, coverage, boxes, cell):
        """(K, 4) distinct boxes of the covered cells, sorted."""
        proposed = proposals(coverage, boxes, 0, np.array(cell * 2), self._grid(), strict=True)
        return np.unique(proposed, axis=0).reshape(-1, 4)
