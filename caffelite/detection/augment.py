"""DetectNet's training augmentation of one image and its boxes (NVIDIA
Caffe's DetectNetTransformation): hue rotation, desaturation, flip, scale,
rotation and crop, drawn with the layer's probabilities.

Images here are H x W x 3 float32 BGR; boxes are (B, 16) DIGITS label rows
whose first four columns are x, y, w, h. Geometry follows OpenCV's
conventions (RotatedRect bounding boxes, affine maps between the rectangle's
corners) so boxes land where NVIDIA Caffe puts them; pixel resampling is
bilinear/cubic in NumPy, close to but not bit-equal with OpenCV's.
"""
import collections
import math

import numpy as np

from .. import io

FLT_EPSILON = float(np.finfo(np.float32).eps)

# One image's draw: hue shift (degrees), saturation factor, mirror, size
# after scaling (w, h), rotation (degrees) and crop offset (x, y).
Augmentation = collections.namedtuple('Augmentation',
                                      'hue saturation flip scale rotation offset')


def draw(rng, param, size, out_size, train):
    """The augmentation of an image of ``size`` (w, h) for an output of
    ``out_size`` (w, h): random in TRAIN (NVIDIA's order of draws, each
    ``u <= probability``), a plain resize to the output in TEST."""
    if not train:
        return Augmentation(0.0, 1.0, False, tuple(out_size), 0.0, (0, 0))
    u = rng.random_sample
    hue, saturation, scale, rotation = 0.0, 1.0, tuple(size), 0.0
    if u() <= param.hue_rotation_prob:
        hue = float(np.clip((u() - 0.5) * 2 * param.hue_rotation, -180.0, 180.0))
    if u() <= param.desaturation_prob:
        saturation = 1.0 - u() * param.desaturation_max
    flip = bool(u() <= param.flip_prob)
    if u() <= param.scale_prob:
        factor = param.scale_min + (param.scale_max - param.scale_min) * u()
        scale = (round_half_away(size[0] * factor), round_half_away(size[1] * factor))
    if u() <= param.rotation_prob:
        rotation = (u() - 0.5) * 2 * param.max_rotate_degree
    before_crop = rotated_size(scale, rotation) if abs(rotation) > FLT_EPSILON else scale
    if u() <= param.crop_prob:
        pct = (u(), u())
        shift = (param.shift_x, param.shift_y)
    else:
        pct, shift = (0.5, 0.5), (0, 0)
    offset = tuple(round_half_away(p * (b - o + s) - s // 2)
                   for p, b, o, s in zip(pct, before_crop, out_size, shift))
    return Augmentation(hue, saturation, flip, scale, rotation, offset)


def round_half_away(x):
    """C's round(): halves away from zero, as an int."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def apply_to_image(image, aug, mean, out_size):
    """The augmented image (out_h x out_w x 3), mean-subtracted: ``image``
    in 0..255, ``mean`` broadcastable to it in 0..255 (or None)."""
    img = image / np.float32(255)
    if abs(aug.hue) > FLT_EPSILON or aug.saturation < 1.0 - 1.0 / 255:
        img = shift_hue_saturation(img, aug.hue, aug.saturation)
    if mean is not None:
        img = img - mean / np.float32(255)
    if aug.flip:
        img = img[:, ::-1]
    if tuple(aug.scale) != (img.shape[1], img.shape[0]):
        img = io.resize_image(img, (aug.scale[1], aug.scale[0]), 3)
    if abs(aug.rotation) > FLT_EPSILON:
        img = rotate_image(img, aug.rotation)
    return crop(img, out_size, aug.offset) * np.float32(255)


def apply_to_boxes(rows, aug, size):
    """The label rows moved as the image was: flip across the width,
    scale, rotate about the image centre, then shift by the crop."""
    rows = np.array(rows, np.float32)
    x, y, w, h = (rows[:, k] for k in range(4))
    if aug.flip:
        x[...] = size[0] - x - w - 1
    if tuple(aug.scale) != tuple(size):
        sx, sy = aug.scale[0] / size[0], aug.scale[1] / size[1]
        x *= sx
        w *= sx
        y *= sy
        h *= sy
    if abs(aug.rotation) > FLT_EPSILON:
        matrix = rotation_matrix(aug.scale, aug.rotation)
        cx, cy = x + w / 2, y + h / 2
        x[...] = matrix[0, 0] * cx + matrix[0, 1] * cy + matrix[0, 2] - w / 2
        y[...] = matrix[1, 0] * cx + matrix[1, 1] * cy + matrix[1, 2] - h / 2
    x -= aug.offset[0]
    y -= aug.offset[1]
    return rows


def _corners(center, size, degrees):
    """OpenCV RotatedRect::points: the 4 corners of a w x h rectangle
    rotated by ``degrees`` about ``center``."""
    rad = degrees * math.pi / 180.0
    # float32 throughout, as OpenCV's Point2f corners
    b, a = np.float32(math.cos(rad)) * np.float32(0.5), np.float32(math.sin(rad)) * np.float32(0.5)
    (cx, cy), (w, h) = np.float32(center), np.float32(size)
    p0 = (cx - a * h - b * w, cy + b * h - a * w)
    p1 = (cx + a * h - b * w, cy - b * h - a * w)
    two = np.float32(2)
    return np.array([p0, p1, (two * cx - p0[0], two * cy - p0[1]),
                     (two * cx - p1[0], two * cy - p1[1])], np.float32)


def _bounding_rect(corners):
    """OpenCV RotatedRect::boundingRect: (x, y, w, h) in whole pixels."""
    x0, y0 = np.floor(corners.min(axis=0))
    x1, y1 = np.ceil(corners.max(axis=0))
    return int(x0), int(y0), int(x1 - x0 + 1), int(y1 - y0 + 1)


def rotated_size(size, degrees):
    """(w, h) of the box bounding a ``size`` image rotated by ``degrees``
    (about its centre rounded down to whole pixels, as NVIDIA's code does)."""
    center = (int(0.5 * size[0]), int(0.5 * size[1]))
    return _bounding_rect(_corners(center, size, degrees))[2:]


def rotation_matrix(size, degrees):
    """The 2 x 3 affine map rotating a ``size`` image by ``degrees`` about
    its centre and shifting it into its bounding box."""
    center = (size[0] * 0.5, size[1] * 0.5)
    x0, y0, _, _ = _bounding_rect(_corners(center, size, degrees))
    rad = math.radians(degrees)
    c, s = math.cos(rad), math.sin(rad)
    rot = np.array([[c, -s], [s, c]])
    shift = np.array(center) - (x0, y0) - rot @ np.array(center)
    return np.hstack([rot, shift[:, None]])


def rotate_image(img, degrees):
    """``img`` rotated into its bounding size as OpenCV 2-4's warpAffine does
    it (what NVIDIA's layer calls): bilinear, source positions in fixed
    point (row and column terms rounded to 1/1024 pixel, summed, cut to
    1/32); BORDER_TRANSPARENT: a pixel whose source block starts outside
    the image stays 0, and neighbours past the last row or column repeat
    it (OpenCV 5 samples float images at exact positions instead)."""
    h, w = img.shape[:2]
    out_w, out_h = rotated_size((w, h), degrees)
    matrix = rotation_matrix((w, h), degrees)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    xs, ys = np.arange(out_w, dtype=np.float64), np.arange(out_h, dtype=np.float64)[:, None]

    def fixed(row):
        """Source positions along one axis, in 1/32 pixel."""
        return (np.rint((row[1] * ys + row[2]) * 1024).astype(np.int64)
                + np.rint(row[0] * xs * 1024).astype(np.int64) + 16) >> 5
    qx, qy = fixed(inverse[0]), fixed(inverse[1])
    x0, y0 = qx >> 5, qy >> 5
    fx, fy = ((qx & 31) / 32.0)[..., None], ((qy & 31) / 32.0)[..., None]
    inside = (x0 >= 0) & (x0 < w) & (y0 >= 0) & (y0 < h)

    def tap(yy, xx):
        # neighbours past the last row or column repeat it
        return img[np.minimum(yy, h - 1), np.minimum(xx, w - 1)]
    value = ((1 - fy) * ((1 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1))
             + fy * ((1 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1)))
    return np.where(inside[..., None], value, 0).astype(np.float32)


def crop(img, out_size, offset):
    """The ``out_size`` (w, h) window of ``img`` at ``offset`` (x, y), zero
    where it leaves the image."""
    out = np.zeros((out_size[1], out_size[0]) + img.shape[2:], np.float32)
    h, w = img.shape[:2]
    ox, oy = offset
    sx0, sy0 = max(ox, 0), max(oy, 0)
    sx1, sy1 = min(ox + out_size[0], w), min(oy + out_size[1], h)
    if sx1 > sx0 and sy1 > sy0:
        out[sy0 - oy:sy1 - oy, sx0 - ox:sx1 - ox] = img[sy0:sy1, sx0:sx1]
    return out


def bgr_to_hsv(img):
    """OpenCV's float BGR -> HSV: H in degrees [0, 360), S and V in [0, 1]."""
    b, g, r = img[..., 0], img[..., 1], img[..., 2]
    v = img.max(axis=-1)
    diff = v - img.min(axis=-1)
    s = diff / (np.abs(v) + FLT_EPSILON)
    k = 60.0 / (diff + FLT_EPSILON)
    h = np.where(v == r, (g - b) * k, np.where(v == g, (b - r) * k + 120, (r - g) * k + 240))
    h = np.where(h < 0, h + 360, h)
    return np.stack([h, s, v], axis=-1).astype(np.float32)


# OpenCV's HSV -> BGR sector table: which of (v, p, q, t) is B, G and R.
_SECTORS = np.array([[1, 3, 0], [1, 0, 2], [3, 0, 1], [0, 2, 1], [0, 1, 3], [2, 1, 0]])


def hsv_to_bgr(img):
    """OpenCV's float HSV -> BGR (hue wrapped into [0, 360))."""
    h, s, v = img[..., 0], img[..., 1], img[..., 2]
    h = np.mod(h / 60.0, 6.0)
    sector = np.floor(h).astype(np.intp) % 6
    f = h - np.floor(h)
    tab = np.stack([v, v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))], axis=-1)
    bgr = np.take_along_axis(tab, _SECTORS[sector], axis=-1)
    return np.where((s == 0)[..., None], v[..., None], bgr).astype(np.float32)


def shift_hue_saturation(img, hue, saturation):
    """Rotate the hue by ``hue`` degrees and scale the saturation."""
    hsv = bgr_to_hsv(img)
    hsv[..., 0] += np.float32(hue)
    hsv[..., 1] *= np.float32(saturation)
    return hsv_to_bgr(hsv)
