"""Every output-size rule of the spatial layers, and the parsing of their
window parameters, in one place.

Convolution, deconvolution, im2col, pooling (with Caffe's CEIL/FLOOR
rounding and its padding rule) and SPP size their tops here; layers never
repeat these formulas. Parsers raise CaffeError with Caffe's wording; the
layers turn it into a LayerError naming themselves.
"""
from collections import namedtuple

from .errors import CaffeError

# One tuple entry per spatial axis.
ConvWindow = namedtuple('ConvWindow', 'kernel stride pad dilation')
# (height, width) pairs.
PoolWindow = namedtuple('PoolWindow', 'kernel stride pad')


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
