"""Local response normalization across channels, on (N, C, H, W) arrays.

scale[c] = k + alpha / size * sum of x^2 over channels c - pre .. c + post
(pre = (size - 1) // 2, post = size - 1 - pre, clipped to the array);
y = x * scale^-beta. Window sums loop over the (few) window offsets.
"""
import numpy as np

from .. import backend, cuda


def window_sum(v, before, after):
    """Sum of v over channel windows [c - before, c + after], clipped; the
    window's terms are added directly (a running cumulative sum would lose
    precision to cancellation)."""
    xp = backend.array_module(v)
    c = v.shape[1]
    pad = [(0, 0)] * v.ndim
    pad[1] = (before, after)
    padded = xp.pad(v, pad)
    total = padded[:, :c].copy()
    for offset in range(1, before + after + 1):
        total += padded[:, offset:offset + c]
    return total


def across_forward(x, size, alpha, beta, k):
    """(y, scale) of cross-channel LRN."""
    if cuda.on_gpu(x):
        return _gpu_forward(x, size, alpha, beta, k)
    pre = (size - 1) // 2
    scale = np.float32(k) + np.float32(alpha / size) * window_sum(x * x, pre, size - 1 - pre)
    return x * scale ** np.float32(-beta), scale


def across_backward(x, y, scale, dy, size, alpha, beta):
    """dx = dy * scale^-beta - 2 alpha beta / size * x * (windowed sum of
    dy * y / scale over the channels whose window contains c)."""
    if cuda.on_gpu(x):
        return _gpu_backward(x, y, scale, dy, size, alpha, beta)
    pre = (size - 1) // 2
    ratio = window_sum(dy * y / scale, size - 1 - pre, pre)
    return dy * scale ** np.float32(-beta) - np.float32(2 * alpha * beta / size) * x * ratio


def _gpu_forward(x, size, alpha, beta, k):
    import cupy
    n, c, h, w = x.shape
    x = cupy.ascontiguousarray(x)
    scale = cupy.empty_like(x)
    y = cupy.empty_like(x)
    cuda.launch('lrn', 'lrn_fill_scale', n * h * w, x, n, c, h * w, size,
                np.float32(alpha / size), np.float32(k), scale)
    cuda.launch('lrn', 'lrn_compute_output', x.size, x, scale, np.float32(-beta), y)
    return y, scale


def _gpu_backward(x, y, scale, dy, size, alpha, beta):
    import cupy
    n, c, h, w = x.shape
    dx = cupy.empty_like(x)
    cuda.launch('lrn', 'lrn_compute_diff', n * h * w, cupy.ascontiguousarray(x),
                cupy.ascontiguousarray(y), scale, cupy.ascontiguousarray(dy), n, c, h * w,
                size, np.float32(-beta), np.float32(2 * alpha * beta / size), dx)
    return dx
