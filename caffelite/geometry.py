"""Every output-size rule of the spatial layers, and the parsing of their
window parameters, in one place.

Convolution, deconvolution, im2col, pooling (with Caffe's CEIL/FLOOR
rounding and its padding rule) and SPP size their tops here, and the
WindowData layer places its detection windows in its crops; layers never
repeat these formulas. Parsers raise CaffeError with Caffe's wording; the
layers turn it into a LayerError naming themselves.
"""
import math
from collections import namedtuple

import numpy as np

from .errors import CaffeError

# One tuple entry per spatial axis.
ConvWindow = namedtuple('ConvWindow', 'kernel stride pad dilation')
# (height, width) pairs.
PoolWindow = namedtuple('PoolWindow', 'kernel stride pad')
# A detection window in a WindowData crop: image rows y1..y2 and columns
# x1..x2 (inclusive) are resized to height x width and put at (top, left).
WarpedWindow = namedtuple('WarpedWindow', 'y1 y2 x1 x2 height width top left')


def conv_out(size, kernel, stride, pad, dilation=1):
    """Output length of a convolution (or im2col) along one axis."""
    extent = dilation * (kernel - 1) + 1
    return (size + 2 * pad - extent) // stride + 1


def deconv_out(size, kernel, stride, pad, dilation=1):
    """Output length of a deconvolution: the input length of the
    convolution it transposes."""
    extent = dilation * (kernel - 1) + 1
    return stride * (size - 1) + extent - 2 * pad


def conv_shape(spatial, window):
    """Output spatial shape (tuple) of a convolution over ``spatial``."""
    return tuple(conv_out(*a) for a in zip(spatial, *window))


def deconv_shape(spatial, window):
    """Output spatial shape (tuple) of a deconvolution over ``spatial``."""
    return tuple(deconv_out(*a) for a in zip(spatial, *window))


def pool_out(size, kernel, stride, pad, ceil_mode=True):
    """Output length of Caffe's pooling along one axis.

    CEIL (Caffe's default) or FLOOR rounding of ``(size + 2*pad - kernel) /
    stride``, plus one; then, only when padded, a last window that would
    start in the trailing padding (at or past ``size + pad``) is dropped.
    Integer arithmetic gives exactly Caffe's float ceil/floor.
    """
    span = size + 2 * pad - kernel
    steps = -(-span // stride) if ceil_mode else span // stride
    out = steps + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_shape(height, width, window, ceil_mode=True):
    """(oh, ow) of a pooling window over a height x width plane."""
    return tuple(pool_out(size, k, s, p, ceil_mode)
                 for size, k, s, p in zip((height, width), *window))


def pool_tiles(window, size, out):
    """True when pooling windows tile a plane of ``size`` (h, w) without
    overlap into ``out`` (oh, ow): kernel equal to stride (or a single
    window along the axis), no padding, and every window inside the plane
    (rows and columns past the last window belong to none)."""
    return all((k == s or o == 1) and p == 0 and o * k <= n
               for k, s, p, n, o in zip(*window, size, out))


def spp_level(height, width, level):
    """PoolWindow of SPP pyramid level ``level`` (2**level bins per axis):
    the smallest kernel that covers the plane in that many steps, stride
    equal to the kernel, and the shortfall split as padding (odd remainders
    round the padding up), as Caffe builds it."""
    bins = 2 ** level
    kernel, pad = [], []
    for size in (height, width):
        k = -(-size // bins)
        kernel.append(k)
        pad.append((k * bins - size + 1) // 2)
    return PoolWindow(tuple(kernel), tuple(kernel), tuple(pad))


def check_pool_window(window, stochastic=False):
    """Caffe's checks of a pooling window: positive kernel and stride; with padding,
    no STOCHASTIC method and pad smaller than the kernel."""
    if min(window.kernel) <= 0:
        raise CaffeError('filter dimensions cannot be zero (kernel %s)' % (window.kernel,))
    if min(window.stride) <= 0:
        raise CaffeError('stride must be nonzero (stride %s)' % (window.stride,))
    if any(window.pad):
        if stochastic:
            raise CaffeError('padding is implemented only for average and max pooling')
        for k, p in zip(window.kernel, window.pad):
            if p >= k:
                raise CaffeError('pad (%d) must be smaller than the kernel (%d)' % (p, k))


def _per_axis(param, name, num_axes, default):
    """One value per spatial axis from a repeated field ``name`` (given
    once for every axis, or once per axis) or its ``name_h``/``name_w``."""
    values = list(getattr(param, name))
    short = name.replace('_size', '')
    split = short + '_h' in param.DESCRIPTOR.fields_by_name
    if split and (param.HasField(short + '_h') or param.HasField(short + '_w')):
        if num_axes != 2:
            raise CaffeError('%s_h & %s_w can only be used for 2D convolution' % (short, short))
        if values:
            raise CaffeError('either %s or %s_h/w should be specified; not both'
                             % (name, short))
        return (getattr(param, short + '_h'), getattr(param, short + '_w'))
    allowed = (1, num_axes) if default is None else (0, 1, num_axes)
    if len(values) not in allowed:
        raise CaffeError('%s must be specified once, or once per spatial dimension '
                         '(%s specified %d times; %d spatial dims)'
                         % (name, name, len(values), num_axes))
    if not values:
        return (default,) * num_axes
    return tuple(values[0] if len(values) == 1 else values[i] for i in range(num_axes))


def conv_window(param, num_axes):
    """ConvWindow of a ConvolutionParameter over ``num_axes`` spatial axes,
    with Caffe's defaults (stride 1, pad 0, dilation 1) and checks."""
    kernel = _per_axis(param, 'kernel_size', num_axes, None)
    stride = _per_axis(param, 'stride', num_axes, 1)
    pad = _per_axis(param, 'pad', num_axes, 0)
    dilation = _per_axis(param, 'dilation', num_axes, 1)
    if any(k <= 0 for k in kernel):
        raise CaffeError('filter dimensions must be nonzero (kernel %s)' % (kernel,))
    if any(s <= 0 for s in stride):
        raise CaffeError('stride dimensions must be nonzero (stride %s)' % (stride,))
    return ConvWindow(kernel, stride, pad, dilation)


def is_pointwise(window):
    """True for a 1x1 window with stride 1 and no padding, where the patch
    matrix is the input itself."""
    return all(k == 1 and s == 1 and p == 0
               for k, s, p in zip(window.kernel, window.stride, window.pad))


def pool_window(param, height, width):
    """PoolWindow of a PoolingParameter on a height x width input, with
    Caffe's checks (global pooling takes the whole plane)."""
    has = param.HasField
    if param.global_pooling:
        if has('kernel_size') or has('kernel_h') or has('kernel_w'):
            raise CaffeError('with global_pooling: true the filter size cannot be specified')
        kernel = (height, width)
    elif has('kernel_size') == (has('kernel_h') and has('kernel_w')):
        raise CaffeError('filter size is kernel_size OR kernel_h and kernel_w; not both, '
                         'and non-square filters need both kernel_h and kernel_w')
    elif has('kernel_size'):
        kernel = (param.kernel_size,) * 2
    else:
        kernel = (param.kernel_h, param.kernel_w)
    window = PoolWindow(kernel, _square_or_hw(param, 'stride'), _square_or_hw(param, 'pad'))
    if param.global_pooling and (window.pad != (0, 0) or window.stride != (1, 1)):
        raise CaffeError('with global_pooling: true only pad = 0 and stride = 1 are allowed')
    check_pool_window(window, param.pool == param.STOCHASTIC)
    return window


def _square_or_hw(param, name):
    """(h, w) of a PoolingParameter field given as ``name`` or as both
    ``name_h`` and ``name_w``."""
    has_h, has_w = param.HasField(name + '_h'), param.HasField(name + '_w')
    if not ((not param.HasField(name) and has_h and has_w) or (not has_h and not has_w)):
        raise CaffeError('%s is %s OR %s_h and %s_w are required' % (name, name, name, name))
    if has_h:
        return (getattr(param, name + '_h'), getattr(param, name + '_w'))
    return (getattr(param, name),) * 2


def _round_c(x):
    """C's round() of a float32, as an int: halves away from zero."""
    return int(math.copysign(math.floor(abs(float(x)) + 0.5), float(x)))


def _context_span(center, half, context_scale, size, crop):
    """One axis of a context-padded window, in Caffe's float32 arithmetic:
    (first and last pixel inside the image, warped length, crop pixels cut
    off before and after the image)."""
    first = _round_c(center - half * context_scale)
    last = _round_c(center + half * context_scale)
    scale = np.float32(crop) / np.float32(last - first + 1)
    before, after = max(0, -first), max(0, last - size + 1)
    first, last = first + before, last - after
    return (first, last, _round_c(np.float32(last - first + 1) * scale),
            _round_c(np.float32(before) * scale), _round_c(np.float32(after) * scale))


def warped_window(box, image_size, crop, context_pad=0, square=False, mirror=False):
    """WarpedWindow of ``box`` (x1, y1, x2, y2: inclusive pixel corners) in
    an image of ``image_size`` (height, width) for a crop x crop patch, as
    Caffe's WindowData layer places it.

    Without context_pad or ``square`` the box is warped to the whole crop.
    Otherwise the box (first made square around its center when
    ``square``) is grown so that, warped to crop x crop, ``context_pad``
    pixels of its surroundings lie on each side; what falls outside the
    image is cut off and leaves zeros in the crop, on the far side when
    ``mirror`` (the patch is flipped after warping). Raises CaffeError for
    a box that is inverted, or outside the image."""
    x1, y1, x2, y2 = (int(v) for v in box)
    height, width = image_size
    where = 'window (x1 %d, y1 %d, x2 %d, y2 %d)' % (x1, y1, x2, y2)
    if x1 > x2 or y1 > y2:
        raise CaffeError('%s: x2 < x1 or y2 < y1' % where)
    if not (context_pad or square):
        if x1 < 0 or y1 < 0 or x2 >= width or y2 >= height:
            raise CaffeError('%s is not inside the %d x %d image' % (where, width, height))
        return WarpedWindow(y1, y2, x1, x2, crop, crop, 0, 0)
    context_scale = np.float32(crop) / np.float32(crop - 2 * context_pad)
    half_h, half_w = np.float32(y2 - y1 + 1) / 2, np.float32(x2 - x1 + 1) / 2
    center_y, center_x = np.float32(y1) + half_h, np.float32(x1) + half_w
    if square:
        half_h = half_w = max(half_h, half_w)
    top_row, bottom_row, rows, top, _ = _context_span(center_y, half_h, context_scale,
                                                      height, crop)
    left_col, right_col, cols, left, right = _context_span(center_x, half_w, context_scale,
                                                           width, crop)
    if mirror:
        left = right
    # rounding may push the warped part past the crop's far edge
    rows, cols = min(rows, crop - top), min(cols, crop - left)
    if top_row > bottom_row or left_col > right_col or rows <= 0 or cols <= 0:
        raise CaffeError('%s with its context is not inside the %d x %d image'
                         % (where, width, height))
    return WarpedWindow(top_row, bottom_row, left_col, right_col, rows, cols, top, left)
