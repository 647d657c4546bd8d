"""Every output-size rule of the spatial layers, in one place.

Convolution, deconvolution, pooling (with Caffe's ceil mode and its padding
rule), im2col and SPP all size their tops here; layers never repeat these
formulas.
"""
import math

from .errors import CaffeError


def conv_out(size, kernel, stride, pad, dilation=1):
    """Output length of a convolution (floor mode)."""
    extent = dilation * (kernel - 1) + 1
    return (size + 2 * pad - extent) // stride + 1


def deconv_out(size, kernel, stride, pad, dilation=1):
    """Output length of a deconvolution (the transpose of conv_out)."""
    extent = dilation * (kernel - 1) + 1
    return stride * (size - 1) + extent - 2 * pad


def pool_out(size, kernel, stride, pad, ceil_mode=True):
    """Output length of Caffe's pooling: ceil (default) or floor rounding,
    then, when padded, drop a last window that would start in the padding."""
    rounding = math.ceil if ceil_mode else math.floor
    out = int(rounding((size + 2 * pad - kernel) / float(stride))) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def spp_level(height, width, bins):
    """(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w) of one SPP
    pyramid level with ``bins`` x ``bins`` outputs, as Caffe computes it."""
    kernel_h = int(math.ceil(height / float(bins)))
    kernel_w = int(math.ceil(width / float(bins)))
    pad_h = (kernel_h * bins - height + 1) // 2
    pad_w = (kernel_w * bins - width + 1) // 2
    return kernel_h, kernel_w, kernel_h, kernel_w, pad_h, pad_w


def _per_axis(values, h, w, has_hw, num_axes, default, name):
    """Resolve a repeated field or its _h/_w form to one value per axis."""
    if has_hw:
        if num_axes != 2:
            raise CaffeError('%s_h/%s_w can only be used for 2D convolution' % (name, name))
        if len(values):
            raise CaffeError('either %s or %s_h/%s_w should be specified, not both'
                             % (name, name, name))
        return [h, w]
    values = list(values)
    if len(values) not in (0, 1, num_axes):
        raise CaffeError('%s must be specified once, or once per spatial dimension '
                         '(%s given %d times; %d spatial dims)'
                         % (name, name, len(values), num_axes))
    if not values:
        if default is None:
            raise CaffeError('%s must be specified' % name)
        return [default] * num_axes
    return [values[0] if len(values) == 1 else values[i] for i in range(num_axes)]


def conv_geometry(param, num_axes):
    """(kernel, stride, pad, dilation) lists, one entry per spatial axis, of
    a ConvolutionParameter, with Caffe's validation."""
    kernel = _per_axis(param.kernel_size, param.kernel_h, param.kernel_w,
                       param.HasField('kernel_h') or param.HasField('kernel_w'),
                       num_axes, None, 'kernel_size')
    stride = _per_axis(param.stride, param.stride_h, param.stride_w,
                       param.HasField('stride_h') or param.HasField('stride_w'),
                       num_axes, 1, 'stride')
    pad = _per_axis(param.pad, param.pad_h, param.pad_w,
                    param.HasField('pad_h') or param.HasField('pad_w'), num_axes, 0, 'pad')
    dilation = _per_axis(param.dilation, 0, 0, False, num_axes, 1, 'dilation')
    if min(kernel) <= 0:
        raise CaffeError('filter dimensions must be nonzero')
    if min(stride) <= 0:
        raise CaffeError('stride dimensions must be nonzero')
    return kernel, stride, pad, dilation


def pool_geometry(param, height, width):
    """(kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w) of a
    PoolingParameter on an input of height x width, with Caffe's checks."""
    if param.global_pooling:
        if param.HasField('kernel_size') or param.HasField('kernel_h') or \
                param.HasField('kernel_w'):
            raise CaffeError('with global_pooling: true the filter size cannot be specified')
        kernel = (height, width)
    elif param.HasField('kernel_size') == (param.HasField('kernel_h') and
                                             param.HasField('kernel_w')):
        raise CaffeError('filter size is kernel_size OR kernel_h and kernel_w; not both, '
                         'and one of them is required')
    elif param.HasField('kernel_size'):
        kernel = (param.kernel_size, param.kernel_size)
    else:
        kernel = (param.kernel_h, param.kernel_w)
    pad = _square_or_hw(param, 'pad')
    stride = _square_or_hw(param, 'stride')
    if min(kernel) <= 0:
        raise CaffeError('filter dimensions cannot be zero')
    if param.global_pooling and (pad != (0, 0) or stride != (1, 1)):
        raise CaffeError('with global_pooling: true only pad = 0 and stride = 1 are allowed')
    if pad[0] >= kernel[0] or pad[1] >= kernel[1]:
        raise CaffeError('pad must be smaller than the kernel')
    return kernel + stride + pad


def _square_or_hw(param, name):
    has_h, has_w = param.HasField(name + '_h'), param.HasField(name + '_w')
    if param.HasField(name) and (has_h or has_w) or has_h != has_w:
        raise CaffeError('%s is %s OR %s_h and %s_w are required' % (name, name, name, name))
    if has_h:
        return (getattr(param, name + '_h'), getattr(param, name + '_w'))
    return (getattr(param, name),) * 2
