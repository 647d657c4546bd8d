"""Block copies (Concat, Slice, Crop), Eltwise MAX and per-channel moments
(BatchNorm) with NumPy paths and the kernels of kernels/blocks.cu."""
import numpy as np

from .. import cuda


def channel_moments(x):
    """(mean, biased variance) per channel of x viewed as (outer, C, inner)."""
    if cuda.on_gpu(x):
        import cupy
        outer, channels, inner = x.shape
        lanes = cuda.lanes(channels, inner)
        sums = cupy.empty((channels, lanes), np.float64)
        squares = cupy.empty((channels, lanes), np.float64)
        cuda.launch('blocks', 'channel_partial_sums', channels * lanes, cupy.ascontiguousarray(x),
                    channels, outer, inner, lanes, sums, squares)
        count = float(outer * inner)
        mean = sums.sum(axis=1) / count
        variance = squares.sum(axis=1) / count - mean * mean
        return mean.astype(np.float32), variance.astype(np.float32)
    mean = x.mean(axis=(0, 2))
    return mean, ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))


def eltwise_max(xs):
    """(elementwise max of the arrays, index of the first array holding it)."""
    if cuda.on_gpu(xs[0]):
        import cupy
        top = cupy.empty(xs[0].shape, np.float32)
        mask = cupy.empty(xs[0].shape, np.int32)
        for i, x in enumerate(xs):
            cuda.launch('blocks', 'eltwise_max_step', x.size, cupy.ascontiguousarray(x), i,
                        top, mask)
        return top, mask
    top = xs[0].copy()
    mask = np.zeros(top.shape, np.int32)
    for i, x in enumerate(xs[1:], 1):
        better = x > top
        np.copyto(top, x, where=better)
        np.copyto(mask, i, where=better)
    return top, mask


def eltwise_max_backward(dy, mask, which):
    """dy where bottom ``which`` held the max, else 0."""
    if cuda.on_gpu(dy):
        import cupy
        dx = cupy.empty(dy.shape, np.float32)
        cuda.launch('blocks', 'eltwise_max_backward', dy.size, cupy.ascontiguousarray(dy),
                    mask, which, dx)
        return dx
    return np.where(mask == which, dy, np.float32(0))


def copy_block(src, dst, axis, src_offset, dst_offset, size):
    """dst[..., dst_offset:+size, ...] = src[..., src_offset:+size, ...] along ``axis``."""
    if cuda.on_gpu(src):
        outer = int(np.prod(src.shape[:axis], dtype=np.int64))
        inner = int(np.prod(src.shape[axis + 1:], dtype=np.int64))
        cuda.launch('blocks', 'copy_block', outer * size * inner, src, src.shape[axis],
                    src_offset, dst, dst.shape[axis], dst_offset, size, inner)
        return
    index = (slice(None),) * axis
    dst[index + (slice(dst_offset, dst_offset + size),)] = \
        src[index + (slice(src_offset, src_offset + size),)]


def box_geometry(big_shape, box):
    """A box (tuple of slices) of a C-ordered array of ``big_shape`` as the
    crop kernels take it: (box shape, the array's element strides) as int32
    arrays, the rank, and the flat index of the box's first element."""
    strides = np.cumprod((tuple(big_shape[1:]) + (1,))[::-1])[::-1].astype(np.int32)
    shape = np.array([s.stop - s.start for s in box], np.int32)
    offset = int(sum(s.start * int(st) for s, st in zip(box, strides)))
    return shape, strides, len(box), offset


def _box_args(big_shape, box):
    import cupy
    shape, strides, ndim, offset = box_geometry(big_shape, box)
    return cupy.asarray(shape), cupy.asarray(strides), ndim, offset


def crop_forward(x, box, y):
    """y[...] = x[box] for a box (tuple of slices, one per axis) of y's shape."""
    if cuda.on_gpu(x):
        import cupy
        cuda.launch('blocks', 'crop_forward', y.size, cupy.ascontiguousarray(x),
                    *_box_args(x.shape, box), y)
        return
    y[...] = x[box]


def crop_backward(dy, box, dx):
    """dx = dy inside the box (tuple of slices), 0 elsewhere."""
    dx[...] = 0
    if cuda.on_gpu(dy):
        import cupy
        cuda.launch('blocks', 'crop_backward', dy.size, cupy.ascontiguousarray(dy),
                    *_box_args(dx.shape, box), dx)
        return
    dx[box] = dy
