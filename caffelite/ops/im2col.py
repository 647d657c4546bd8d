"""im2col and col2im: the patch matrix of an N-d convolution and its adjoint.

Layout: for an input batch (N, C, *S), a ConvWindow (caffelite.geometry;
kernel K = (k1, .., kd), stride, pad, dilation, one entry per spatial axis)
and the output shape ``out`` = O its layer sized with
caffelite.geometry.conv_shape, ``cols`` is (C * prod(K), N * prod(O)): row
index ``(c * k1 + i1) * k2 + i2 ...`` (Caffe's weight layout), column index
``(n * o1 + y1) * o2 + y2 ...``. Putting the batch in the columns lets a
convolution be one GEMM for the whole batch. Zero padding, as Caffe.

On the host the columns may instead run batch-last (``batch_last``): column
index ``(y1 * o2 + y2 ...) * N + n``. Then every copy of im2col and every
add of col2im runs over ``o_last * N`` contiguous elements instead of
``o_last``, which pays for small output planes (LeNet's 8x8 at batch 64).

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
# Output planes smaller than this (elements) make col2im sum with the batch
# innermost.
SMALL_PLANE = 128


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
def im2col(x, window, out, cols=None, workspace=None, batch_last=False):
    """(N, C, *S) -> (C * prod(kernel), N * prod(out)) patch matrix, written
    into ``cols`` when given (of patch_shape); columns batch-last when
    asked."""
    n, c = x.shape[:2]
    padded = pad_spatial(x, window.pad, window.pad, workspace=workspace)
    if batch_last:
        # (C, *S, N): the batch is the innermost axis of every window row.
        moved = (workspace or Workspace()).empty('batch_last', padded.shape[1:] + (n,),
                                                 np, x.dtype)
        moved[...] = np.moveaxis(padded, 0, -1)
        step = moved.strides
        windows = as_strided(
            moved, (c,) + window.kernel + tuple(out) + (n,),
            (step[0],) + tuple(s * d for s, d in zip(step[1:-1], window.dilation))
            + tuple(s * st for s, st in zip(step[1:-1], window.stride)) + (step[-1],))
    else:
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
def im2col(x, window, out, cols=None, workspace=None, batch_last=False):
    if batch_last:
        raise ValueError('batch-last patch matrices are for the host')
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
def col2im(cols, x_shape, window, out, x=None, workspace=None, batch_last=False):
    """Adjoint of im2col: (C * prod(kernel), N * prod(out)) -> x_shape
    (columns batch-last when asked), summing every patch entry into its
    input element (padding dropped), written into ``x`` when given. Loops
    over kernel taps only."""
    n, c = x_shape[:2]
    spatial = tuple(x_shape[2:])
    xp = array_module(cols)
    if x is None:
        x = xp.empty(tuple(x_shape), cols.dtype)
    # Summed in the patch matrix's (C, N) order, which keeps every tap's
    # add close to contiguous, then moved to (N, C) by one copy. For small
    # planes and a batch, the batch goes innermost first (one copy, none for
    # batch-last columns), so that each tap's add runs over rows of
    # out_w * N elements, not out_w (LeNet's conv2, 8x8 from 64 images:
    # 6.1 -> 3.8 ms; from 13x13 up it is slower).
    if batch_last:
        patches = cols.reshape((c,) + window.kernel + tuple(out) + (n,))
    else:
        patches = cols.reshape((c,) + window.kernel + (n,) + tuple(out))
    padded_shape = tuple(s + 2 * p for s, p in zip(spatial, window.pad))
    innermost = batch_last or (n > 1 and math.prod(out) < SMALL_PLANE)
    if innermost and not batch_last:
        patches = xp.ascontiguousarray(xp.moveaxis(patches, 1 + len(spatial), -1))
    if innermost:
        lead, tail, shape = (slice(None),), (slice(None),), (c,) + padded_shape + (n,)
    else:
        lead, tail, shape = (slice(None), slice(None)), (), (c, n) + padded_shape
    space = workspace or Workspace()
    padded = space.empty('col2im', shape, xp, cols.dtype)
    padded.fill(0)
    if min(out, default=1) > 0:
        _add_taps(patches, padded, window, out, lead, tail, space)
    interior = padded[lead + tuple(slice(p, p + s) for p, s in zip(window.pad, spatial)) + tail]
    x[...] = xp.moveaxis(interior, -1, 0) if innermost else xp.moveaxis(interior, 0, 1)
    return x


def _add_taps(patches, padded, window, out, lead, tail, space):
    """padded += every kernel tap of ``patches`` at its place. The taps of
    the first kernel axis go first into a sum that has that axis padded and
    the others at output size, so that at stride 1 each of their adds runs
    over whole output planes, not rows of one output width; the other taps
    then add that sum into ``padded`` once each. Paired with the add of
    every tap straight into ``padded``: CaffeNet conv2 (one image) 3.5 ->
    3.1 ms, conv3 1.2 -> 0.8, LeNet conv2 (batch-last, 64 images) 3.6 ->
    2.2, VGG-16 conv2_1 4.8 -> 3.6, AlexNet conv1 (stride 4) 4.8 -> 3.8."""
    first, stride, dilation = window.kernel[0], window.stride[0], window.dilation[0]
    rows = [slice(i * dilation, i * dilation + stride * (out[0] - 1) + 1, stride)
            for i in range(first)]
    xp = array_module(padded)
    # lead axes, the padded first spatial axis, the other output axes, tail axes
    axis = len(lead)
    shape = padded.shape[:axis + 1] + tuple(out[1:]) + padded.shape[padded.ndim - len(tail):]
    sums = space.empty('col2im_rows', shape, xp, padded.dtype)
    for rest in itertools.product(*map(range, window.kernel[1:])):
        sums.fill(0)
        for i in range(first):
            sums[lead + (rows[i],) + tail] += patches[(slice(None), i) + rest]
        place = _tap_slices(rest, window.stride[1:], window.dilation[1:], out[1:])
        padded[lead + (slice(None),) + place + tail] += sums


@col2im.gpu
def col2im(cols, x_shape, window, out, x=None, workspace=None, batch_last=False):
    if batch_last:
        raise ValueError('batch-last patch matrices are for the host')
    if len(x_shape) != 4:
        return col2im.host(cols, x_shape, window, out, x, workspace)
    if x is None:
        x = cuda.empty(tuple(x_shape), cols.dtype)
    n, c, h, w = x_shape
    # One thread per input element, gathering every patch entry that read it.
    launch('col2im_kernel', x.size, cols=cols, num=n, channels=c, height=h, width=w, x=x,
           **cuda.window_args(window, out))
    return x
