"""2-D max, average and stochastic pooling with Caffe's window rules.

Arrays are (N, C, H, W) in, (N, C, oh, ow) out; ``kernel``, ``stride``,
``pad`` and ``out`` are (h, w) int pairs (``out`` from
caffelite.geometry.pool_shape). Window (y, x) covers rows ``y*sh - ph`` ..
``+ kh`` clipped to the input.

* MAX keeps the first maximum in row-major window order (NaN never wins,
  as in Caffe's strict ``>``) and records its input index ``row * W + col``
  (Caffe's mask); a window with no input element gives -FLT_MAX and -1.
* AVE divides by the window clipped to the *padded* input: padding counts,
  the ceil-mode overhang past the padding does not.
* STOCHASTIC ignores ``pad`` (Caffe refuses it): windows start at
  ``y*sh`` and are clipped to the input.

CPU versions loop over kernel taps only: the padded input is first split
by stride phase (one copy), so each tap is a unit-stride block of it.
"""
import numpy as np

from .. import cuda
from ..backend import array_module

LOWEST = np.finfo(np.float32).min     # Caffe's -FLT_MAX


def _phase_range(phase, stride, pad, size, length):
    """(input slice, phase slice) of the input positions that land in
    stride phase ``phase`` once ``pad`` is added in front (the phase array
    has ``length`` positions)."""
    first = (phase - pad) % stride
    start = (first + pad - phase) // stride
    count = max(0, min(len(range(first, size, stride)), length - start))
    return slice(first, first + stride * count, stride), slice(start, start + count)


def _phase_shape(x_shape, kernel, stride, out):
    """Shape (sh, sw, N, C, Hq, Wq) of a phase-split array: long enough
    for the last window's last tap."""
    return tuple(stride) + tuple(x_shape[:2]) + tuple(
        (k - 1) // s + o for k, s, o in zip(kernel, stride, out))


def _phase_split(x, kernel, stride, pad, out, fill):
    """(sh, sw, N, C, Hq, Wq) copy of x padded with ``fill`` and split by
    stride phase: padded row a + sh*u, column b + sw*v is [a, b, ..., u, v].
    Every kernel tap then reads a unit-stride block (see _taps), which is
    several times faster than a stride-2 view of the padded input."""
    h, w = x.shape[2:]
    shape = _phase_shape(x.shape, kernel, stride, out)
    phases = array_module(x).full(shape, fill, x.dtype)
    lengths = shape[-2:]
    for a in range(stride[0]):
        src_rows, rows = _phase_range(a, stride[0], pad[0], h, lengths[0])
        for b in range(stride[1]):
            src_cols, cols = _phase_range(b, stride[1], pad[1], w, lengths[1])
            phases[a, b, :, :, rows, cols] = x[:, :, src_rows, src_cols]
    return phases


def _merge_phases(phases, x_shape, stride, pad):
    """(N, C, H, W) input-sized part of a phase-split array (the adjoint of
    _phase_split for a gradient)."""
    n, c, h, w = x_shape
    lengths = phases.shape[-2:]
    x = np.zeros(x_shape, phases.dtype)
    for a in range(stride[0]):
        src_rows, rows = _phase_range(a, stride[0], pad[0], h, lengths[0])
        for b in range(stride[1]):
            src_cols, cols = _phase_range(b, stride[1], pad[1], w, lengths[1])
            x[:, :, src_rows, src_cols] = phases[a, b, :, :, rows, cols]
    return x


def _taps(phases, kernel, stride, out):
    """(tap index, (N, C, oh, ow) view) of each kernel tap of every window,
    in row-major window order."""
    for i in range(kernel[0]):
        rows = slice(i // stride[0], i // stride[0] + out[0])
        for j in range(kernel[1]):
            cols = slice(j // stride[1], j // stride[1] + out[1])
            yield i * kernel[1] + j, phases[i % stride[0], j % stride[1], :, :, rows, cols]


def _source_index(tap, x_shape, kernel, stride, pad):
    """Input index ``row * W + col`` of kernel tap ``tap`` (an int array
    shaped (..., oh, ow)) of each window; meaningful where that tap lies
    inside the input."""
    xp = array_module(tap)
    w = x_shape[3]
    oh, ow = tap.shape[-2:]
    origin = ((xp.arange(oh)[:, None] * stride[0] - pad[0]) * w
              + xp.arange(ow)[None, :] * stride[1] - pad[1])
    offset = (xp.arange(kernel[0])[:, None] * w + xp.arange(kernel[1])[None, :]).ravel()
    return origin + xp.take(offset, tap)


def max_forward(x, kernel, stride, pad, out):
    """(top, mask): the window maxima (N, C, oh, ow), and max_mask's argmax
    mask where it comes free (the GPU kernel writes both in one pass). On
    the host the mask is None: max_mask derives it when a backward asks,
    which inference never does."""
    if cuda.on_gpu(x):
        return _gpu_forward('max_pool_forward', x, kernel, stride, pad, out, True)
    phases = _phase_split(x, kernel, stride, pad, out, LOWEST)
    top = np.full(x.shape[:2] + tuple(out), LOWEST, x.dtype)
    for _, tap in _taps(phases, kernel, stride, out):
        # fmax ignores NaN, as Caffe's strict '>' comparison does.
        np.fmax(top, tap, out=top)
    return top, None


def max_mask(x, top, kernel, stride, pad):
    """Caffe's argmax mask (N, C, oh, ow) int32 of a max pooling whose
    maxima are ``top``: the index ``row * W + col`` of each window's first
    element equal to its max, -1 for a window with no input element. (Host
    arrays: on the GPU, max_forward returns the mask.)"""
    out = top.shape[2:]
    phases = _phase_split(x, kernel, stride, pad, out, LOWEST)
    best = np.zeros(top.shape, np.int32)
    # Last tap first, so the first tap equal to the max is written last;
    # best = k where hit, as branch-free arithmetic (a masked copy is ~5x slower).
    for k, tap in reversed(list(_taps(phases, kernel, stride, out))):
        best -= (best - k) * (tap == top)
    index = _source_index(best, x.shape, kernel, stride, pad)
    # A window without input keeps -FLT_MAX, and Caffe's '>' never picks an
    # element equal to -FLT_MAX either.
    return np.where(top == LOWEST, -1, index).astype(np.int32)


def max_backward(dy, mask, x_shape, kernel, stride, pad):
    """(N, C, H, W) gradient: each top diff routed to the input element its
    mask names (none for -1); also the backward of stochastic pooling."""
    if cuda.on_gpu(dy):
        return _gpu_backward('max_pool_backward', dy, x_shape, kernel, stride, pad, mask)
    n, c, h, w = x_shape
    plane = mask.reshape(n * c, -1)
    has_source = (plane >= 0).ravel()
    index = (plane + (np.arange(n * c) * (h * w))[:, None]).ravel()[has_source]
    # Windows overlap, so one input may receive several diffs: sum them.
    dx = np.bincount(index, weights=dy.ravel()[has_source], minlength=n * c * h * w)
    return dx.astype(dy.dtype).reshape(x_shape)


def ave_divisors(shape_hw, kernel, stride, pad, out):
    """(oh, ow) float32 window sizes clipped to the padded input (zero or
    negative only for a window lying wholly past it)."""
    sizes = []
    for size, k, s, p, o in zip(shape_hw, kernel, stride, pad, out):
        start = np.arange(o) * s - p
        sizes.append(np.minimum(start + k, size + p) - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(np.float32)


def ave_forward(x, kernel, stride, pad, out):
    """Window means (N, C, oh, ow) with Caffe's divisors (so a window
    wholly past the input gives 0/0, NaN, exactly as Caffe does)."""
    if cuda.on_gpu(x):
        return _gpu_forward('ave_pool_forward', x, kernel, stride, pad, out, False)[0]
    phases = _phase_split(x, kernel, stride, pad, out, 0)
    top = np.zeros(x.shape[:2] + tuple(out), x.dtype)
    for _, tap in _taps(phases, kernel, stride, out):
        top += tap
    with np.errstate(divide='ignore', invalid='ignore'):
        return top / ave_divisors(x.shape[2:], kernel, stride, pad, out)


def ave_backward(dy, x_shape, kernel, stride, pad):
    """(N, C, H, W) gradient: each top diff spread evenly over its window."""
    if cuda.on_gpu(dy):
        return _gpu_backward('ave_pool_backward', dy, x_shape, kernel, stride, pad, None)
    out = dy.shape[2:]
    n, c, h, w = x_shape
    divisors = ave_divisors((h, w), kernel, stride, pad, out)
    # Windows with no input element have no gradient to spread.
    share = dy / np.maximum(divisors, 1)
    phases = np.zeros(_phase_shape(x_shape, kernel, stride, out), dy.dtype)
    for _, tap in _taps(phases, kernel, stride, out):
        tap += share
    return _merge_phases(phases, x_shape, stride, pad)


def _stochastic_windows(x, kernel, stride, out):
    """(N, C, oh, ow, kh*kw) copy of Caffe's unpadded stochastic windows,
    zeros past the input."""
    phases = _phase_split(x, kernel, stride, (0, 0), out, 0)
    return array_module(x).stack([tap for _, tap in _taps(phases, kernel, stride, out)],
                                 axis=-1)


def stochastic_forward_train(x, kernel, stride, out, uniform):
    """Sample one element per window with probability proportional to its
    value, Caffe's way: the first element whose running sum reaches
    ``uniform * window sum``. ``uniform`` (N, C, oh, ow) holds draws from
    [0, 1]. Returns (top, mask) with mask as max_mask's (-1: no source)."""
    xp = array_module(x)
    windows = _stochastic_windows(x, kernel, stride, out)
    running = xp.cumsum(windows, axis=-1)
    # The window sum as Caffe accumulates it (in order), so the threshold
    # is always reached when the inputs are non-negative.
    threshold = uniform.astype(x.dtype) * running[..., -1]
    reached = running >= threshold[..., None]
    tap = xp.argmax(reached, axis=-1)
    index = _source_index(tap, x.shape, kernel, stride, (0, 0))
    # A padding tap adds 0 to the running sum, so it is never the first to
    # reach the threshold unless the window holds no input at all.
    has_input = ((xp.arange(out[0]) * stride[0] < x.shape[2])[:, None]
                 & (xp.arange(out[1]) * stride[1] < x.shape[3])[None, :])
    found = xp.take_along_axis(reached, tap[..., None], axis=-1)[..., 0] & has_input
    top = xp.take_along_axis(windows, tap[..., None], axis=-1)[..., 0]
    return xp.where(found, top, 0).astype(x.dtype), xp.where(found, index, -1).astype(xp.int32)


def stochastic_forward_test(x, kernel, stride, out):
    """Each window's activation-weighted mean ``sum(x^2) / sum(x)`` (0 where
    the sum is not positive), Caffe's stochastic pooling at test time."""
    xp = array_module(x)
    windows = _stochastic_windows(x, kernel, stride, out)
    total = windows.sum(axis=-1)
    squares = (windows * windows).sum(axis=-1)
    positive = total > 0
    return xp.where(positive, squares / xp.where(positive, total, 1), 0).astype(x.dtype)


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
    dx = cupy.empty(tuple(x_shape), np.float32)
    dy = cupy.ascontiguousarray(dy)
    mask = cupy.ascontiguousarray(mask) if mask is not None else dy
    cuda.launch('pooling', name, dx.size, dy, mask,
                *_geometry_args(x_shape, kernel, stride, pad, dy.shape[2:]), dx)
    return dx
