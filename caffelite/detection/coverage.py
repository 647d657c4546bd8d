"""DetectNet's ground-truth encoding: object boxes to a grid of labels.

The image (``image_size_x`` x ``image_size_y``) is cut into stride x stride
cells. Each object gets a *coverage rectangle* with the box's centre and a
scaled size (``scale_cvg``, bounded by ``min_cvg_len``/``max_cvg_len``); every
cell overlapping that rectangle gets the object's label, a later box
overwriting an earlier one (DIGITS sorts boxes far to near). Per cell the
label has ``8 + classes`` channels:

====  ==================================================================
0     foreground: 1 where an object covers the cell
1-4   the box's x1, y1, x2, y2 minus the cell's top-left corner (pixels)
5-6   1 / box width, 1 / box height
7     stride^2 / coverage area (``obj_norm``; at least 1 without it)
8+    one-hot coverage of the object's mapped class (``object_class``)
====  ==================================================================

Boxes arrive in DIGITS' label rows ``[x, y, w, h, alpha, class, ...]`` (16
floats each). Everything is computed in float32 over all boxes of a batch
at once (no loop over boxes, images or cells), on NumPy or CuPy.
"""
import numpy as np

from ..proto import caffe_pb2

GroundTruth = caffe_pb2.DetectNetGroundTruthParameter
# DIGITS' label row: bbox x, y, w, h, then alpha, class number, ...
ROW_WIDTH = 16
X, Y, W, H, CLASS = 0, 1, 2, 3, 5
FIXED_CHANNELS = 8
FLT_EPSILON = np.float32(np.finfo(np.float32).eps)


def class_map(param):
    """{source class: coverage channel} from ``object_class`` (KITTI's car,
    class 1, to channel 0 when none is given, as NVIDIA Caffe does)."""
    mapping = {int(m.src): int(m.dst) for m in param.object_class}
    return mapping or {1: 0}


def label_shape(param):
    """(channels, grid height, grid width) of one image's encoded label."""
    channels = FIXED_CHANNELS + max(class_map(param).values()) + 1
    return (channels, int(round(param.image_size_y / param.stride)),
            int(round(param.image_size_x / param.stride)))


def _channel_of_class(classes, mapping, xp):
    """Coverage channel per box (-1 for classes the encoding ignores)."""
    lookup = np.full(max(mapping) + 2, -1, np.int64)
    for src, dst in mapping.items():
        lookup[src] = dst
    ids = xp.clip(classes.astype(np.int64), -1, len(lookup) - 1)
    return xp.asarray(lookup)[ids]


def coverage_rectangles(x1, y1, x2, y2, param, xp):
    """(x1, y1, x2, y2) of each box's coverage rectangle: same centre, each
    side scaled by ``scale_cvg`` and then bounded as ``gridbox_type`` says."""
    scale = np.float32(param.scale_cvg)
    w, h = x2 - x1, y2 - y1
    sw, sh = w * scale, h * scale
    if param.gridbox_type == GroundTruth.GRIDBOX_MIN:
        least = np.float32(param.min_cvg_len)
        sw, sh = xp.minimum(w, xp.maximum(least, sw)), xp.minimum(h, xp.maximum(least, sh))
    else:
        most = np.float32(param.max_cvg_len)
        sw, sh = xp.minimum(most, sw), xp.minimum(most, sh)
    cx, cy = (x1 + x2) * np.float32(0.5), (y1 + y2) * np.float32(0.5)
    half_w, half_h = sw * np.float32(0.5), sh * np.float32(0.5)
    return cx - half_w, cy - half_h, cx + half_w, cy + half_h


def _boxes(rows, counts, param, xp):
    """Corners, coverage channel and validity of every row slot: (N, B)
    arrays. Rows past an image's count, of an unmapped class, or empty
    (after clipping to the image when ``crop_bboxes``) are not valid."""
    rows = rows.astype(np.float32)
    x1, y1 = rows[..., X], rows[..., Y]
    x2, y2 = x1 + rows[..., W], y1 + rows[..., H]
    if param.crop_bboxes:
        width, height = np.float32(param.image_size_x), np.float32(param.image_size_y)
        x1, y1 = xp.maximum(x1, 0), xp.maximum(y1, 0)
        x2, y2 = xp.minimum(x2, width), xp.minimum(y2, height)
        # an empty intersection is the empty rectangle
        empty = (x2 <= x1) | (y2 <= y1)
        x1, y1, x2, y2 = (xp.where(empty, np.float32(0), v) for v in (x1, y1, x2, y2))
    channel = _channel_of_class(rows[..., CLASS], class_map(param), xp)
    slot = xp.arange(rows.shape[1])[None, :]
    area = (x2 - x1) * (y2 - y1)
    valid = (slot < counts[:, None]) & (channel >= 0) & (area >= FLT_EPSILON)
    # invalid slots become unit boxes, so that 1/w and the norm stay finite
    x2, y2 = xp.where(valid, x2, x1 + 1), xp.where(valid, y2, y1 + 1)
    return (x1, y1, x2, y2), channel, valid


def encode(rows, counts, param, xp=np):
    """The (N, 8 + classes, grid_h, grid_w) float32 labels of a batch.

    ``rows``: (N, B, 16) DIGITS label rows; ``counts``: (N,) how many rows of
    each image are boxes.
    """
    channels, grid_h, grid_w = label_shape(param)
    stride = np.float32(param.stride)
    (x1, y1, x2, y2), channel, valid = _boxes(xp.asarray(rows), xp.asarray(counts), param, xp)
    cx1, cy1, cx2, cy2 = coverage_rectangles(x1, y1, x2, y2, param, xp)
    covers = _covered_cells(cx1, cy1, cx2, cy2, stride, grid_h, grid_w, xp) & valid[..., None, None]
    # the last box covering a cell wins
    n, n_boxes = covers.shape[:2]
    last = (n_boxes - 1 - xp.argmax(covers[:, ::-1], axis=1)).reshape(n, -1)
    hit = covers.any(axis=1)

    def per_cell(values):
        """(N, gh, gw) of the (N, B) per-box ``values`` of each cell's box."""
        return xp.take_along_axis(values, last, axis=1).reshape(n, grid_h, grid_w)

    left = (xp.arange(grid_w, dtype=np.float32) * stride)[None, None, :]
    top = (xp.arange(grid_h, dtype=np.float32) * stride)[None, :, None]
    norm = xp.maximum(np.float32(0.0 if param.obj_norm else 1.0),
                      stride * stride / ((cx2 - cx1) * (cy2 - cy1)))
    out = xp.zeros((n, channels, grid_h, grid_w), np.float32)
    out[:, 0] = hit
    for c, (values, corner) in enumerate(((x1, left), (y1, top), (x2, left), (y2, top))):
        out[:, 1 + c] = xp.where(hit, per_cell(values) - corner, np.float32(0))
    for c, values in enumerate((1 / (x2 - x1), 1 / (y2 - y1), norm)):
        out[:, 5 + c] = xp.where(hit, per_cell(values), np.float32(0))
    cls = per_cell(channel)
    for k in range(channels - FIXED_CHANNELS):
        out[:, FIXED_CHANNELS + k] = hit & (cls == k)
    return out


def _covered_cells(cx1, cy1, cx2, cy2, stride, grid_h, grid_w, xp):
    """(N, B, gh, gw) booleans: the cells between the floor and ceiling of
    each coverage rectangle's corners on the grid that share more than
    FLT_EPSILON of their area with it."""
    col = xp.arange(grid_w, dtype=np.float32)
    row = xp.arange(grid_h, dtype=np.float32)
    e = (slice(None), slice(None), None)                       # (N, B) -> (N, B, 1)
    in_x = (col >= xp.floor(cx1 / stride)[e]) & (col < xp.ceil(cx2 / stride)[e])
    in_y = (row >= xp.floor(cy1 / stride)[e]) & (row < xp.ceil(cy2 / stride)[e])
    over_x = xp.maximum(xp.minimum(cx2[e], (col + 1) * stride) - xp.maximum(cx1[e], col * stride), 0)
    over_y = xp.maximum(xp.minimum(cy2[e], (row + 1) * stride) - xp.maximum(cy1[e], row * stride), 0)
    overlap = over_y[..., :, None] * over_x[..., None, :] / (stride * stride)
    return in_y[..., :, None] & in_x[..., None, :] & (overlap > FLT_EPSILON)
