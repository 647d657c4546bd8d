"""im2col and col2im: the patch matrix of an N-d convolution and its adjoint.

Layout: for an input batch (N, C, *S), a ConvWindow (caffelite.geometry;
kernel K = (k1, .., kd), stride, pad, dilation, one entry per spatial axis)
and the output shape ``out`` = O its layer sized with
caffelite.geometry.conv_shape, ``cols`` is (C * prod(K), N * prod(O)): row
index ``(c * k1 + i1) * k2 + i2 ...`` (Caffe's weight layout), column index
``(n * o1 + y1) * o2 + y2 ...``. Putting the batch in the columns lets a
convolution be one GEMM for the whole batch. Zero padding, as Caffe.

The host halves take an optional Workspace for their large temporaries.
The GPU halves run kernels/im2col.cu for 2-D windows; for N-d ones they
call the host half, whose array code runs on CuPy arrays as well.
"""
import itertools
import math

import numpy as np

from .. import cuda
from ..backend import array_module
from ..dispatch import op
from ..workspace import Workspace

launch = cuda.launcher(__name__)


def as_strided(a, shape, strides):
    """A read-only strided view of ``a`` (NumPy or CuPy)."""
    if isinstance(a, np.ndarray):
        return np.lib.stride_tricks.as_strided(a, shape, strides, writeable=False)
    return array_module(a).lib.stride_tricks.as_strided(a, shape, strides)


def pad_spatial(x, before, after, value=0, workspace=None):
    """Pad the spatial axes (2, 3, ...) of x (N, C, *S), into the scratch
    array 'padded' of ``workspace`` (valid until its next use); no copy when
    nothing is added."""
    if not any(before) and not any(after):
        return x
    shape = x.shape[:2] + tuple(s + b + a for s, b, a in zip(x.shape[2:], before, after))
    padded = (workspace or Workspace()).empty('padded', shape, array_module(x), x.dtype)
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


def patch_shape(x_shape, window, out):
    """Shape (C * prod(kernel), N * prod(out)) of im2col's patch matrix."""
    return (x_shape[1] * math.prod(window.kernel), x_shape[0] * math.prod(out))


@op
def im2col(x, window, out, cols=None, workspace=None):
    """(N, C, *S) -> (C * prod(kernel), N * prod(out)) patch matrix, written
    into ``cols`` when given (of patch_shape)."""
    n, c = x.shape[:2]
    padded = pad_spatial(x, window.pad, window.pad, workspace=workspace)
    step = padded.strides
    windows = as_strided(
        padded, (c,) + window.kernel + (n,) + tuple(out),
        (step[1],) + tuple(s * d for s, d in zip(step[2:], window.dilation)) + (step[0],)
        + tuple(s * st for s, st in zip(step[2:], window.stride)))
    # The one copy: the windowed view laid out as the GEMM operand.
    if cols is None:
        return windows.reshape(patch_shape(x.shape, window, out))
    cols.reshape(windows.shape)[...] = windows
    return cols


@im2col.gpu
def im2col(x, window, out, cols=None, workspace=None):
    if x.ndim != 4:
        return im2col.host(x, window, out, cols, workspace)
    if cols is None:
        cols = cuda.empty(patch_shape(x.shape, window, out), x.dtype)
    n, c, h, w = x.shape
    # One thread per (channel, column), each filling its kernel-size rows.
    launch('im2col_kernel', c * cols.shape[1], x=x, num=n, channels=c, height=h, width=w,
           cols=cols, **cuda.window_args(window, out))
    return cols


@op
def col2im(cols, x_shape, window, out, x=None, workspace=None):
    """Adjoint of im2col: (C * prod(kernel), N * prod(out)) -> x_shape,
    summing every patch entry into its input element (padding dropped),
    written into ``x`` when given. Loops over kernel taps only."""
    n, c = x_shape[:2]
    spatial = tuple(x_shape[2:])
    xp = array_module(cols)
    if x is None:
        x = xp.empty(tuple(x_shape), cols.dtype)
    # Summed in the patch matrix's (C, N) order, which keeps every tap's
    # add close to contiguous, then moved to (N, C) by one copy.
    padded = (workspace or Workspace()).empty('col2im', (c, n) + tuple(
        s + 2 * p for s, p in zip(spatial, window.pad)), xp, cols.dtype)
    padded.fill(0)
    if min(out, default=1) > 0:
        patches = cols.reshape((c,) + window.kernel + (n,) + tuple(out))
        for tap in itertools.product(*map(range, window.kernel)):
            padded[(slice(None), slice(None))
                   + _tap_slices(tap, window.stride, window.dilation, out)] += \
                patches[(slice(None),) + tap]
    x[...] = xp.moveaxis(padded[(slice(None), slice(None)) + tuple(
        slice(p, p + s) for p, s in zip(window.pad, spatial))], 0, 1)
    return x


@col2im.gpu
def col2im(cols, x_shape, window, out, x=None, workspace=None):
    if len(x_shape) != 4:
        return col2im.host(cols, x_shape, window, out, x, workspace)
    if x is None:
        x = cuda.empty(tuple(x_shape), cols.dtype)
    n, c, h, w = x_shape
    # One thread per input element, gathering every patch entry that read it.
    launch('col2im_kernel', x.size, cols=cols, num=n, channels=c, height=h, width=w, x=x,
           **cuda.window_args(window, out))
    return x
