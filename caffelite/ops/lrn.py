"""Local response normalization on (N, C, H, W) float32 arrays.

Across channels: scale = k + alpha / size * (sum of x^2 over the channels
c - pre .. c + post, clipped to the array), pre = (size - 1) // 2,
post = size - 1 - pre; y = x * scale^-beta.

Within a channel: Caffe composes split, square, AVE pooling (size x size,
stride 1, padding pre, so each mean divides by the window clipped to the
*padded* input), a Power layer and a product:
scale = 1 + alpha * avg(x^2); y = x * scale^-beta. The backward follows
the same composition, term by term.
"""
import numpy as np

from .. import backend, cuda
from . import pooling

f32 = np.float32


def window_sum(v, before, after):
    """(N, C, ...) -> sums of v over the channel windows [c - before,
    c + after], clipped to the array. Each window's terms are added one
    offset at a time (a loop over the window, not the channels): a running
    cumulative sum would lose precision to cancellation."""
    xp = backend.array_module(v)
    c = v.shape[1]
    pad = [(0, 0)] * v.ndim
    pad[1] = (before, after)
    padded = xp.pad(v, pad)
    total = padded[:, :c].copy()
    for offset in range(1, before + after + 1):
        total += padded[:, offset:offset + c]
    return total


def lrn_across_forward(x, size, alpha, beta, k):
    """x (N, C, H, W) -> (y, scale), both (N, C, H, W)."""
    if cuda.on_gpu(x):
        return _gpu_across_forward(x, size, alpha, beta, k)
    pre = (size - 1) // 2
    scale = f32(k) + f32(alpha / size) * window_sum(x * x, pre, size - 1 - pre)
    return x * scale ** f32(-beta), scale


def lrn_across_backward(x, y, scale, dy, size, alpha, beta):
    """dx (N, C, H, W) = dy scale^-beta - 2 alpha beta / size * x *
    (sum of dy y / scale over the channels whose window holds c)."""
    if cuda.on_gpu(x):
        return _gpu_across_backward(x, y, scale, dy, size, alpha, beta)
    pre = (size - 1) // 2
    ratio = window_sum(dy * y / scale, size - 1 - pre, pre)
    return dy * scale ** f32(-beta) - f32(2 * alpha * beta / size) * x * ratio


def _within_window(size):
    """(kernel, stride, pad) of the within-channel pooling. With stride 1 and
    padding (size - 1) / 2 (size odd) the output is as large as the input."""
    pad = (size - 1) // 2
    return (size, size), (1, 1), (pad, pad)


def lrn_within_forward(x, size, alpha, beta):
    """x (N, C, H, W) -> (y, scale), both (N, C, H, W)."""
    kernel, stride, pad = _within_window(size)
    avg = pooling.ave_forward(x * x, kernel, stride, pad, x.shape[2:])
    scale = f32(alpha) * avg + f32(1)
    return x * scale ** f32(-beta), scale


def lrn_within_backward(x, y, scale, dy, size, alpha, beta):
    """dx (N, C, H, W) through Caffe's composition: the product's two
    inputs, the power layer's gradient power * scale * out / base, the
    pooling's even spread and the square's 2 x."""
    kernel, stride, pad = _within_window(size)
    power_out = scale ** f32(-beta)
    d_power = dy * x
    d_avg = d_power * (power_out / scale * f32(-beta * alpha))
    d_square = pooling.ave_backward(d_avg, x.shape, kernel, stride, pad)
    return dy * power_out + d_square * (f32(2) * x)


def _gpu_across_forward(x, size, alpha, beta, k):
    import cupy
    n, c, h, w = x.shape
    x = cupy.ascontiguousarray(x)
    scale = cupy.empty_like(x)
    y = cupy.empty_like(x)
    cuda.launch('lrn', 'lrn_forward', n * h * w, x, n, c, h * w, size, f32(alpha / size), f32(k),
                f32(-beta), scale, y)
    return y, scale


def _gpu_across_backward(x, y, scale, dy, size, alpha, beta):
    import cupy
    n, c, h, w = x.shape
    dx = cupy.empty_like(x)
    cuda.launch('lrn', 'lrn_compute_diff', n * h * w, cupy.ascontiguousarray(x),
                cupy.ascontiguousarray(y), scale, cupy.ascontiguousarray(dy), n, c, h * w,
                size, f32(-beta), f32(2 * alpha * beta / size), dx)
    return dx
