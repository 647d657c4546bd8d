"""Local response normalization on (N, C, H, W) float32 arrays.

Across channels: scale = k + alpha / size * (sum of x^2 over the channels
c - pre .. c + post, clipped to the array), pre = (size - 1) // 2,
post = size - 1 - pre; y = x * scale^-beta. The GPU half runs
kernels/lrn.cu.

Within a channel: Caffe composes split, square, AVE pooling (size x size,
stride 1, padding pre, so each mean divides by the window clipped to the
*padded* input), a Power layer and a product:
scale = 1 + alpha * avg(x^2); y = x * scale^-beta. The backward follows
the same composition, term by term, on the pooling ops (both devices).
"""
import numpy as np

from .. import backend, cuda
from ..dispatch import op
from ..geometry import PoolWindow
from . import pooling

f32 = np.float32
launch = cuda.launcher(__name__)


def window_sum(v, before, after, out=None):
    """(N, C, ...) -> sums of v over the channel windows [c - before,
    c + after], clipped to the array, written into ``out`` when given.
    Each window's terms are added one offset at a time (a loop over the
    window, not the channels), on shifted slices: no padded copy, and a
    running cumulative sum would lose precision to cancellation."""
    xp = backend.array_module(v)
    c = v.shape[1]
    total = xp.empty_like(v) if out is None else out
    total[:, :before] = 0
    total[:, before:] = v[:, :max(0, c - before)]
    for offset in range(1 - before, after + 1):
        lo, hi = min(c, max(0, -offset)), max(0, c - max(0, offset))
        total[:, lo:hi] += v[:, lo + offset:hi + offset]
    return total


def negative_power(scale, beta, out=None):
    """scale ** -beta (float32, NumPy or CuPy). For Caffe's usual beta of
    0.75, as 1 / (sqrt(s) sqrt(sqrt(s))): NumPy's float32 power runs
    element by element on this CPU, three times as long (17 against 5 ms on
    AlexNet's norm1 at batch 10), and the square roots are within 2.5e-7
    relative of the exact value (pow: 1.2e-7), far inside the tolerances.
    Written into ``out`` when given."""
    xp = backend.array_module(scale)
    if beta != 0.75:
        return xp.power(scale, f32(-beta), out=out)
    root = xp.sqrt(scale, out=out)
    root *= xp.sqrt(root)
    return xp.reciprocal(root, out=root)


@op
def lrn_across_forward(x, size, alpha, beta, k, y=None, scale=None):
    """x (N, C, H, W) -> (y, scale), both (N, C, H, W), written into ``y``
    and ``scale`` (contiguous, not x) when given."""
    pre = (size - 1) // 2
    if y is None:
        y, scale = np.empty_like(x), np.empty_like(x)
    # Written in place: no temporary for y (AlexNet b10 norm1 10.8 -> 8.4 ms).
    window_sum(x * x, pre, size - 1 - pre, out=scale)
    scale *= f32(alpha / size)
    scale += f32(k)
    negative_power(scale, beta, out=y)
    y *= x
    return y, scale


@lrn_across_forward.gpu
def lrn_across_forward(x, size, alpha, beta, k, y=None, scale=None):
    n, c, h, w = x.shape
    if y is None:
        scale, y = cuda.empty(x.shape), cuda.empty(x.shape)
    launch('lrn_forward', n * h * w, x=x, channels=c, spatial=h * w, size=size,
           alpha_over_size=alpha / size, k=k, negative_beta=-beta, scale=scale, y=y)
    return y, scale


@op
def lrn_across_backward(x, y, scale, dy, size, alpha, beta):
    """dx (N, C, H, W) = dy scale^-beta - 2 alpha beta / size * x *
    (sum of dy y / scale over the channels whose window holds c)."""
    pre = (size - 1) // 2
    ratio = window_sum(dy * y / scale, size - 1 - pre, pre)
    return dy * negative_power(scale, beta) - f32(2 * alpha * beta / size) * x * ratio


@lrn_across_backward.gpu
def lrn_across_backward(x, y, scale, dy, size, alpha, beta):
    n, c, h, w = x.shape
    dx = cuda.empty(x.shape)
    launch('lrn_compute_diff', n * h * w, x=x, y=y, scale=scale, dy=dy, channels=c,
           spatial=h * w, size=size, negative_beta=-beta,
           cache_ratio=2 * alpha * beta / size, dx=dx)
    return dx


def _within_window(size):
    """The PoolWindow of the within-channel average. With stride 1 and
    padding (size - 1) / 2 (size odd) the output is as large as the input."""
    pad = (size - 1) // 2
    return PoolWindow((size, size), (1, 1), (pad, pad))


def lrn_within_forward(x, size, alpha, beta):
    """x (N, C, H, W) -> (y, scale), both (N, C, H, W)."""
    avg = pooling.ave_forward(x * x, _within_window(size), x.shape[2:])
    scale = f32(alpha) * avg + f32(1)
    return x * negative_power(scale, beta), scale


def lrn_within_backward(x, y, scale, dy, size, alpha, beta):
    """dx (N, C, H, W) through Caffe's composition: the product's two
    inputs, the power layer's gradient power * scale * out / base, the
    pooling's even spread and the square's 2 x."""
    power_out = negative_power(scale, beta)
    d_power = dy * x
    d_avg = d_power * (power_out / scale * f32(-beta * alpha))
    d_square = pooling.ave_backward(d_avg, x.shape, _within_window(size))
    return dy * power_out + d_square * (f32(2) * x)
