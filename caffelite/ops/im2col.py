"""im2col and col2im: the patch matrix of an N-d convolution and its adjoint.

Layout: for an input batch (N, C, *S) and a kernel K = (k1, .., kd),
``cols`` is (C * prod(K), N * prod(O)) where O is the output shape; row
index ``(c * k1 + i1) * k2 + i2 ...`` (Caffe's weight layout), column index
``(n * o1 + y1) * o2 + y2 ...``. Putting the batch in the columns lets a
convolution be one GEMM for the whole batch.

Geometry arguments are explicit int tuples, one entry per spatial axis:
``kernel``, ``stride``, ``pad``, ``dilation``. Zero padding, as Caffe.
"""
import itertools

import numpy as np

from .. import cuda
from . import workspace
from ..backend import array_module
from ..geometry import ConvWindow, conv_shape


def output_size(h, w, kernel, stride, pad, dilation):
    """(oh, ow) of a 2-D im2col."""
    return conv_shape((h, w), ConvWindow(kernel, stride, pad, dilation))


def as_strided(a, shape, strides):
    """A read-only strided view of ``a`` (NumPy or CuPy)."""
    if isinstance(a, np.ndarray):
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)
    return array_module(a).lib.stride_tricks.as_strided(a, shape, strides)


def pad_spatial(x, before, after, value=0):
    """Pad the spatial axes (2, 3, ...) of x (N, C, *S), into the scratch
    array 'padded' (valid until its next use); no copy when nothing is added."""
    if not any(before) and not any(after):
        return x
    shape = x.shape[:2] + tuple(s + b + a for s, b, a in zip(x.shape[2:], before, after))
    padded = workspace.empty('padded', shape, array_module(x), x.dtype)
    padded[(slice(None), slice(None)) + tuple(slice(b, b + s) for b, s in
                                             zip(before, x.shape[2:]))] = x
    # Only the border gets the fill value: the interior was just written.
    for axis, (b, s) in enumerate(zip(before, x.shape[2:]), start=2):
        lead = (slice(None),) * axis
        padded[lead + (slice(0, b),)] = value
        padded[lead + (slice(b + s, None),)] = value
    return padded


def _tap_slices(tap, stride, dilation, out):
    """Slices of one kernel tap's positions in the padded input."""
    return tuple(slice(t * d, t * d + s * (o - 1) + 1, s)
                 for t, s, d, o in zip(tap, stride, dilation, out))


def patch_shape(x_shape, kernel, stride, pad, dilation):
    """Shape (C * prod(kernel), N * prod(out)) of im2col's patch matrix."""
    window = ConvWindow(tuple(kernel), tuple(stride), tuple(pad), tuple(dilation))
    return (x_shape[1] * int(np.prod(window.kernel)),
            x_shape[0] * int(np.prod(conv_shape(x_shape[2:], window))))


def im2col(x, kernel, stride, pad, dilation, out=None):
    """(N, C, *S) -> (C * prod(kernel), N * prod(out)) patch matrix, written
    into ``out`` when given (of patch_shape)."""
    n, c = x.shape[:2]
    window = ConvWindow(tuple(kernel), tuple(stride), tuple(pad), tuple(dilation))
    spatial = conv_shape(x.shape[2:], window)
    if cuda.on_gpu(x) and len(spatial) == 2:
        if out is None:
            out = array_module(x).empty(patch_shape(x.shape, *window), x.dtype)
        return _im2col_gpu(x, window, spatial, out)
    padded = pad_spatial(x, window.pad, window.pad)
    step = padded.strides
    windows = as_strided(
        padded, (c,) + window.kernel + (n,) + spatial,
        (step[1],) + tuple(s * d for s, d in zip(step[2:], window.dilation)) + (step[0],)
        + tuple(s * st for s, st in zip(step[2:], window.stride)))
    # The one copy: the windowed view laid out as the GEMM operand.
    if out is None:
        return windows.reshape(patch_shape(x.shape, *window))
    out.reshape(windows.shape)[...] = windows
    return out


def col2im(cols, x_shape, kernel, stride, pad, dilation, out=None):
    """Adjoint of im2col: (C * prod(kernel), N * prod(out)) -> x_shape,
    summing every patch entry into its input element (padding dropped),
    written into ``out`` when given. Loops over kernel taps only."""
    xp = array_module(cols)
    n, c = x_shape[:2]
    spatial = tuple(x_shape[2:])
    window = ConvWindow(tuple(kernel), tuple(stride), tuple(pad), tuple(dilation))
    positions = conv_shape(spatial, window)
    if out is None:
        out = xp.empty(tuple(x_shape), cols.dtype)
    if cuda.on_gpu(cols) and len(positions) == 2:
        return _col2im_gpu(cols, x_shape, window, positions, out)
    # Summed in the patch matrix's (C, N) order, which keeps every tap's
    # add close to contiguous, then moved to (N, C) by one copy.
    padded = workspace.empty('col2im', (c, n) + tuple(
        s + 2 * p for s, p in zip(spatial, window.pad)), xp, cols.dtype)
    padded.fill(0)
    if min(positions, default=1) > 0:
        patches = cols.reshape((c,) + window.kernel + (n,) + positions)
        for tap in itertools.product(*map(range, window.kernel)):
            padded[(slice(None), slice(None))
                   + _tap_slices(tap, window.stride, window.dilation, positions)] += \
                patches[(slice(None),) + tap]
    out[...] = xp.moveaxis(padded[(slice(None), slice(None)) + tuple(
        slice(p, p + s) for p, s in zip(window.pad, spatial))], 0, 1)
    return out


def _im2col_gpu(x, window, positions, cols):
    import cupy
    n, c, h, w = x.shape
    # One thread per (channel, column), each filling its kernel-size rows.
    cuda.launch('im2col', 'im2col_kernel', c * cols.shape[1], cupy.ascontiguousarray(x),
                n, c, h, w, *_kernel_args(window, positions), cols)
    return cols


def _col2im_gpu(cols, x_shape, window, positions, x):
    import cupy
    n, c, h, w = x_shape
    cuda.launch('im2col', 'col2im_kernel', x.size, cupy.ascontiguousarray(cols), n, c, h, w,
                *_kernel_args(window, positions), x)
    return x


def _kernel_args(window, positions):
    """The 2-D geometry as the CUDA kernels take it."""
    return (window.kernel[0], window.kernel[1], window.pad[0], window.pad[1],
            window.stride[0], window.stride[1], window.dilation[0], window.dilation[1],
            positions[0], positions[1])
