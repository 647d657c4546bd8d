"""2-D max and average pooling with Caffe's window rules.

Window (y, x) covers rows ``y*sh - ph`` .. ``+ kh`` clipped to the input;
MAX keeps the first maximum in row-major window order and records its
input index ``row * W + col`` (Caffe's mask); AVE divides by the window
clipped to the padded input (padding counts, the ceil-mode overhang does
not). CPU versions loop over kernel taps only, each tap a strided slice.
"""
import numpy as np

from .. import cuda


LOWEST = np.finfo(np.float32).min     # Caffe's -FLT_MAX


def _padding(h, w, kernel, stride, pad, out):
    """((top, bottom), (left, right)) padding that makes every window of an
    (oh, ow) output lie inside the array."""
    bottom = max(0, (out[0] - 1) * stride[0] + kernel[0] - h - pad[0])
    right = max(0, (out[1] - 1) * stride[1] + kernel[1] - w - pad[1])
    return (pad[0], bottom), (pad[1], right)


def _padded(x, kernel, stride, pad, out, fill):
    rows, cols = _padding(x.shape[2], x.shape[3], kernel, stride, pad, out)
    return np.pad(x, ((0, 0), (0, 0), rows, cols), constant_values=fill)


def _taps(kernel, stride, out):
    """(tap index, row slice, column slice) of each kernel tap in the padded input."""
    for i in range(kernel[0]):
        rows = slice(i, i + stride[0] * (out[0] - 1) + 1, stride[0])
        for j in range(kernel[1]):
            yield i * kernel[1] + j, rows, slice(j, j + stride[1] * (out[1] - 1) + 1, stride[1])


def max_forward(x, kernel, stride, pad, out):
    """(N, C, H, W) -> (N, C, oh, ow) window maxima (-FLT_MAX, as Caffe, for
    a ceil-mode window lying wholly past the input)."""
    if cuda.on_gpu(x):
        return _gpu_forward('max_pool_forward', x, kernel, stride, pad, out, True)[0]
    padded = _padded(x, kernel, stride, pad, out, LOWEST)
    top = np.full(x.shape[:2] + tuple(out), LOWEST, x.dtype)
    for _, rows, cols in _taps(kernel, stride, out):
        np.maximum(top, padded[:, :, rows, cols], out=top)
    return top


def max_mask(x, top, kernel, stride, pad):
    """Caffe's argmax mask of a max pooling: for each window the input index
    ``row * W + col`` of its first element (row-major window order) equal to
    the max, -1 for a window with no input element. Computed on demand, since
    inference needs only the maxima."""
    out = top.shape[2:]
    if cuda.on_gpu(x):
        return _gpu_forward('max_pool_forward', x, kernel, stride, pad, out, True)[1]
    padded = _padded(x, kernel, stride, pad, out, LOWEST)
    best = np.full(top.shape, -1, np.int32)
    for k, rows, cols in _taps(kernel, stride, out):
        hit = padded[:, :, rows, cols] == top
        hit &= best < 0
        np.copyto(best, k, where=hit)
    h, w = x.shape[2:]
    oy = np.arange(out[0])[:, None] * stride[0] - pad[0]
    ox = np.arange(out[1])[None, :] * stride[1] - pad[1]
    mask = (oy + best // kernel[1]) * w + ox + best % kernel[1]
    return np.where((best < 0) | (top == LOWEST), -1, mask).astype(np.int32)


def max_backward(dy, mask, x_shape, kernel, stride, pad):
    """Route each top diff to the input element its window's max came from."""
    if cuda.on_gpu(dy):
        return _gpu_backward('max_pool_backward', dy, x_shape, kernel, stride, pad, mask)
    n, c, h, w = x_shape
    offsets = (np.arange(n * c) * (h * w))[:, None]
    flat = mask.reshape(n * c, -1)
    has_source = (flat >= 0).ravel()
    index = (flat + offsets).ravel()[has_source]
    # Windows overlap, so one input may receive several diffs: sum them.
    dx = np.bincount(index, weights=dy.ravel()[has_source], minlength=n * c * h * w)
    return dx.astype(dy.dtype).reshape(x_shape)


def ave_divisors(shape_hw, kernel, stride, pad, out):
    """(oh, ow) window sizes clipped to the padded input."""
    sizes = []
    for size, k, s, p, o in zip(shape_hw, kernel, stride, pad, out):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, size + p)
        sizes.append(end - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(np.float32)


def ave_forward(x, kernel, stride, pad, out):
    """(N, C, H, W) -> (N, C, oh, ow) window means (Caffe's divisors)."""
    if cuda.on_gpu(x):
        return _gpu_forward('ave_pool_forward', x, kernel, stride, pad, out, False)[0]
    padded = _padded(x, kernel, stride, pad, out, 0)
    top = np.zeros(x.shape[:2] + tuple(out), x.dtype)
    for _, rows, cols in _taps(kernel, stride, out):
        top += padded[:, :, rows, cols]
    return top / ave_divisors(x.shape[2:], kernel, stride, pad, out)


def ave_backward(dy, x_shape, kernel, stride, pad):
    """Spread each top diff evenly over its (clipped) window."""
    if cuda.on_gpu(dy):
        return _gpu_backward('ave_pool_backward', dy, x_shape, kernel, stride, pad, None)
    out = dy.shape[2:]
    n, c, h, w = x_shape
    share = dy / ave_divisors((h, w), kernel, stride, pad, out)
    rows, cols = _padding(h, w, kernel, stride, pad, out)
    padded = np.zeros((n, c, h + sum(rows), w + sum(cols)), dy.dtype)
    for _, rows, cols in _taps(kernel, stride, out):
        padded[:, :, rows, cols] += share
    return padded[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]


def _geometry_args(x_shape, kernel, stride, pad, out):
    n, c, h, w = x_shape
    return (n * c, h, w, out[0], out[1], kernel[0], kernel[1], stride[0], stride[1],
            pad[0], pad[1])


def _gpu_forward(name, x, kernel, stride, pad, out, with_mask):
    import cupy
    top = cupy.empty(x.shape[:2] + tuple(out), np.float32)
    mask = cupy.empty(top.shape, np.int32) if with_mask else top
    cuda.launch('pooling', name, top.size, cupy.ascontiguousarray(x),
                *_geometry_args(x.shape, kernel, stride, pad, out), top, mask)
    return top, mask


def _gpu_backward(name, dy, x_shape, kernel, stride, pad, mask):
    import cupy
    dx = cupy.empty(x_shape, np.float32)
    dy = cupy.ascontiguousarray(dy)
    cuda.launch('pooling', name, dx.size, dy, mask if mask is not None else dy,
                *_geometry_args(x_shape, kernel, stride, pad, dy.shape[2:]), dx)
    return dx
