"""Block copies (Concat, Slice, Crop), Eltwise MAX and per-channel moments
(BatchNorm): NumPy halves, and GPU halves running kernels/blocks.cu."""
import math

import numpy as np

from .. import cuda
from ..dispatch import op

launch = cuda.launcher(__name__)


@op
def channel_moments(x):
    """(mean, biased variance) per channel of x viewed as (outer, C, inner)."""
    mean = x.mean(axis=(0, 2))
    return mean, ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))


@channel_moments.gpu
def channel_moments(x):
    outer, channels, inner = x.shape
    lanes = cuda.lanes(channels, inner)
    sums = cuda.empty((channels, lanes), np.float64)
    squares = cuda.empty((channels, lanes), np.float64)
    launch('channel_partial_sums', channels * lanes, x=x, channels=channels, outer=outer,
           inner=inner, lanes=lanes, sum=sums, sum_sq=squares)
    count = float(outer * inner)
    mean = sums.sum(axis=1) / count
    variance = squares.sum(axis=1) / count - mean * mean
    return mean.astype(np.float32), variance.astype(np.float32)


@op
def eltwise_max(xs):
    """(elementwise max of the arrays, index of the first array holding it)."""
    top = xs[0].copy()
    mask = np.zeros(top.shape, np.int32)
    for i, x in enumerate(xs[1:], 1):
        better = x > top
        np.copyto(top, x, where=better)
        np.copyto(mask, i, where=better)
    return top, mask


@eltwise_max.gpu
def eltwise_max(xs):
    top = cuda.empty(xs[0].shape)
    mask = cuda.empty(xs[0].shape, np.int32)
    for i, x in enumerate(xs):
        launch('eltwise_max_step', x.size, x=x, which=i, top=top, mask=mask)
    return top, mask


@op
def eltwise_max_backward(dy, mask, which):
    """dy where bottom ``which`` held the max, else 0."""
    return np.where(mask == which, dy, np.float32(0))


@eltwise_max_backward.gpu
def eltwise_max_backward(dy, mask, which):
    dx = cuda.empty(dy.shape)
    launch('eltwise_max_backward', dy.size, dy=dy, mask=mask, which=which, dx=dx)
    return dx


@op
def copy_block(src, dst, axis, src_offset, dst_offset, size):
    """dst[..., dst_offset:+size, ...] = src[..., src_offset:+size, ...] along ``axis``."""
    index = (slice(None),) * axis
    dst[index + (slice(dst_offset, dst_offset + size),)] = \
        src[index + (slice(src_offset, src_offset + size),)]


@copy_block.gpu
def copy_block(src, dst, axis, src_offset, dst_offset, size):
    outer = math.prod(src.shape[:axis])
    inner = math.prod(src.shape[axis + 1:])
    launch('copy_block', outer * size * inner, src=src, src_dim=src.shape[axis],
           src_offset=src_offset, dst=dst, dst_dim=dst.shape[axis], dst_offset=dst_offset,
           block=size, inner=inner)


def box_geometry(big_shape, box):
    """A box (tuple of slices) of a C-ordered array of ``big_shape`` as the
    crop kernels take it: the named arguments shape and strides (the box's
    shape and the array's element strides, int32 host arrays), ndim and
    offset (the flat index of the box's first element)."""
    strides = np.cumprod((tuple(big_shape[1:]) + (1,))[::-1])[::-1].astype(np.int32)
    shape = np.array([s.stop - s.start for s in box], np.int32)
    offset = int(sum(s.start * int(st) for s, st in zip(box, strides)))
    return dict(shape=shape, strides=strides, ndim=len(box), offset=offset)


def _box_args(big_shape, box):
    """box_geometry with its arrays on the device."""
    named = box_geometry(big_shape, box)
    return dict(named, shape=cuda.to_device(named['shape']),
                strides=cuda.to_device(named['strides']))


@op
def crop_forward(x, box, y):
    """y[...] = x[box] for a box (tuple of slices, one per axis) of y's shape."""
    y[...] = x[box]


@crop_forward.gpu
def crop_forward(x, box, y):
    launch('crop_forward', y.size, x=x, y=y, **_box_args(x.shape, box))


@op
def crop_backward(dy, box, dx):
    """dx = dy inside the box (tuple of slices), 0 elsewhere."""
    dx[...] = 0
    dx[box] = dy


@crop_backward.gpu
def crop_backward(dy, box, dx):
    dx[...] = 0
    launch('crop_backward', dy.size, dy=dy, dx=dx, **_box_args(dx.shape, box))
