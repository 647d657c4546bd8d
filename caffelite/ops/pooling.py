"""2-D max, average and stochastic pooling with Caffe's window rules.

Arrays are (N, C, H, W) in, (N, C, oh, ow) out; ``window`` is a
caffelite.geometry.PoolWindow ((h, w) kernel, stride and pad, parsed once
by the layer) and ``out`` the (oh, ow) its layer sized with
caffelite.geometry.pool_shape. Window (y, x) covers rows ``y*sh - ph`` ..
``+ kh`` clipped to the input.

* MAX keeps the first maximum in row-major window order (NaN never wins,
  as in Caffe's strict ``>``) and records its input index ``row * W + col``
  (Caffe's mask); a window with no input element gives -FLT_MAX and -1.
* AVE divides by the window clipped to the *padded* input: padding counts,
  the ceil-mode overhang past the padding does not.
* STOCHASTIC ignores ``pad`` (Caffe refuses it): windows start at
  ``y*sh`` and are clipped to the input.

Host halves loop over kernel taps only: the padded input is first split
by stride phase (one copy), so each tap is a unit-stride block of it;
MAX over windows that tile the input (caffelite.geometry.pool_tiles: LeNet's
and VGG's 2x2, stride 2) needs no copy and reads the taps as views.
MAX and AVE have GPU halves in kernels/pooling.cu; the stochastic ops are
written once over the array module.
"""
import numpy as np

from .. import cuda, geometry
from ..backend import array_module
from ..dispatch import op

LOWEST = np.finfo(np.float32).min     # Caffe's -FLT_MAX
launch = cuda.launcher(__name__)


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
    for the last window's last tap, and one row more, which keeps every
    tap's run of whole phase rows (_flat_taps) inside it."""
    hq, wq = ((k - 1) // s + o for k, s, o in zip(kernel, stride, out))
    return tuple(stride) + tuple(x_shape[:2]) + (hq + 1, wq)


def _phase_split(x, window, out, fill):
    """(sh, sw, N, C, Hq, Wq) copy of x padded with ``fill`` and split by
    stride phase: padded row a + sh*u, column b + sw*v is [a, b, ..., u, v].
    Every kernel tap then reads a unit-stride block (see _taps), which is
    several times faster than a stride-2 view of the padded input."""
    kernel, stride, pad = window
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


def _flat_taps(phases, kernel, stride, out):
    """(tap index, (N * C, oh * Wq) view) of each kernel tap, in row-major
    window order: each window row runs on over the phase array's whole
    width Wq, so that a tap of a plane is one unit-stride run (an operation
    over the windows of a plane is one long loop, not oh short ones). The
    columns past ow are other positions: callers crop them (_crop) or feed
    them zeros."""
    sh, sw, n, c, hq, wq = phases.shape
    flat = phases.reshape(sh, sw, n * c, hq * wq)
    length = out[0] * wq
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            start = (i // stride[0]) * wq + j // stride[1]
            yield i * kernel[1] + j, flat[i % stride[0], j % stride[1], :, start:start + length]


def _crop(flat, shape):
    """(N, C, oh, ow) view of a (N * C, oh * Wq) array of _flat_taps' layout."""
    return flat.reshape(tuple(shape[:3]) + (-1,))[..., :shape[3]]


def _widen(top, wq):
    """(N * C, oh * wq) copy of top (N, C, oh, ow) in _flat_taps' layout;
    zeros in the extra columns."""
    n, c, oh, ow = top.shape
    wide = np.zeros((n * c, oh, wq), top.dtype)
    wide[:, :, :ow] = top.reshape(n * c, oh, ow)
    return wide.reshape(n * c, -1)


def _source_index(tap, x_shape, window):
    """Input index ``row * W + col`` of kernel tap ``tap`` (an int array
    shaped (..., oh, ow)) of each window; meaningful where that tap lies
    inside the input."""
    xp = array_module(tap)
    kernel, stride, pad = window
    w = x_shape[3]
    oh, ow = tap.shape[-2:]
    # In int32 (Caffe's mask type): half the memory traffic of int64.
    origin = ((xp.arange(oh, dtype=xp.int32)[:, None] * stride[0] - pad[0]) * w
              + xp.arange(ow, dtype=xp.int32)[None, :] * stride[1] - pad[1])
    offset = (xp.arange(kernel[0], dtype=xp.int32)[:, None] * w
              + xp.arange(kernel[1], dtype=xp.int32)[None, :]).ravel()
    index = xp.take(offset, tap)
    index += origin
    return index


@op
def max_forward(x, window, out, with_mask=False):
    """(top, mask): the window maxima (N, C, oh, ow), and max_mask's argmax
    mask. On the host the mask comes only ``with_mask`` (a training
    forward, from the same phase split; else None: max_mask derives it when
    a backward asks, which inference never does); the GPU kernel always
    writes both in one pass."""
    if geometry.pool_tiles(window, x.shape[2:], out):
        top = _tiled_max(x, window, out)
        return top, _tiled_mask(x, top, window) if with_mask else None
    phases = _phase_split(x, window, out, LOWEST)
    wq = phases.shape[-1]
    top = np.full((x.shape[0] * x.shape[1], out[0] * wq), LOWEST, x.dtype)
    for _, tap in _flat_taps(phases, window.kernel, window.stride, out):
        # fmax ignores NaN, as Caffe's strict '>' comparison does.
        np.fmax(top, tap, out=top)
    shape = x.shape[:2] + tuple(out)
    mask = _first_max(phases, top, x.shape, window, out) if with_mask else None
    return np.ascontiguousarray(_crop(top, shape)), mask


@max_forward.gpu
def max_forward(x, window, out, with_mask=False):
    top = cuda.empty(x.shape[:2] + tuple(out))
    mask = cuda.empty(top.shape, np.int32)
    launch('max_pool_forward', top.size, x=x, top=top, mask=mask,
           **_kernel_args(x.shape, window, out))
    return top, mask


def max_mask(x, top, window):
    """Caffe's argmax mask (N, C, oh, ow) int32 of a max pooling whose
    maxima are ``top``: the index ``row * W + col`` of each window's first
    element equal to its max, -1 for a window with no input element. (Host
    arrays: on the GPU, max_forward returns the mask.)"""
    out = top.shape[2:]
    if geometry.pool_tiles(window, x.shape[2:], out):
        return _tiled_mask(x, top, window)
    phases = _phase_split(x, window, out, LOWEST)
    return _first_max(phases, _widen(top, phases.shape[-1]), x.shape, window, out)


def _first_max(phases, top, x_shape, window, out):
    """max_mask from x's phase split and its maxima ``top`` in _flat_taps'
    layout."""
    taps = [tap for _, tap in _flat_taps(phases, window.kernel, window.stride, out)]
    # Indexed while contiguous (the extra columns get indices of their own).
    first = _first_equal(taps, top)
    index = _source_index(first.reshape(first.shape[0], out[0], -1), x_shape, window)
    # A window without input keeps -FLT_MAX, and Caffe's '>' never picks an
    # element equal to -FLT_MAX either.
    empty = top.reshape(index.shape) == LOWEST
    if empty.any():
        index[empty] = -1
    return np.ascontiguousarray(_crop(index, tuple(x_shape[:2]) + tuple(out)))


def _first_equal(taps, target):
    """Elementwise, the index of the first of ``taps`` equal to ``target``
    (the last index where none is), in the smallest unsigned type that
    holds it: from the last tap back, 0 where tap k matches, else one more
    than the first match after k. Three in-place passes per tap on bytes
    (paired, CaffeNet's pool1 forward with its mask, 4 images: 3.78 -> 3.51
    ms against a masked subtraction that made three temporaries)."""
    first = np.zeros(target.shape, np.min_scalar_type(len(taps)))
    differs = np.empty(target.shape, bool)
    for tap in reversed(taps[:-1]):
        np.not_equal(tap, target, out=differs)
        first += 1
        first *= differs
    return first


def _tiles(x, window, out):
    """(N, C, oh, kh, ow, kw) view of x's windows when they tile it
    (caffelite.geometry.pool_tiles)."""
    (kh, kw), (oh, ow) = window.kernel, out
    sn, sc, sh, sw = x.strides
    return np.lib.stride_tricks.as_strided(x, x.shape[:2] + (oh, kh, ow, kw),
                                           (sn, sc, sh * kh, sh, sw * kw, sw), writeable=False)


def _tiled_max(x, window, out):
    """max_forward's maxima when the windows tile x: over the taps of each
    kernel row first (unit-stride runs), then across the row; no phase
    split copy."""
    tiles = _tiles(x, window, out)
    rows = np.fmax(tiles[:, :, :, 0], LOWEST)
    for i in range(1, tiles.shape[3]):
        np.fmax(rows, tiles[:, :, :, i], out=rows)
    top = np.array(rows[..., 0])
    for j in range(1, tiles.shape[5]):
        np.fmax(top, rows[..., j], out=top)
    return top


def _tiled_mask(x, top, window):
    """max_mask when the windows tile x, from views of its taps."""
    tiles = _tiles(x, window, top.shape[2:])
    taps = [tiles[:, :, :, i, :, j] for i in range(tiles.shape[3]) for j in range(tiles.shape[5])]
    index = _source_index(_first_equal(taps, top), x.shape, window)
    # A window of NaN (or of -FLT_MAX) has no element Caffe's '>' takes.
    index[top == LOWEST] = -1
    return index


@op
def max_backward(dy, mask, x_shape, window, dx=None):
    """(N, C, H, W) gradient, written into ``dx`` when given: each top diff
    added to the input element its mask names (none for -1); also the
    backward of stochastic pooling. Windows overlap, so one input may
    receive several diffs: NumPy's unbuffered scatter-add sums them in the
    order of the top, as Caffe's loop does."""
    n, c, h, w = x_shape
    if dx is None:
        dx = np.empty(tuple(x_shape), dy.dtype)
    if not dx.flags.c_contiguous:
        raise ValueError('max_backward writes into a C-contiguous dx')
    dx[...] = 0
    index = (mask.reshape(n * c, -1) + np.arange(0, n * c * h * w, h * w)[:, None]).reshape(-1)
    values = dy.reshape(-1)
    if (mask < 0).any():
        routed = mask.reshape(-1) >= 0
        index, values = index[routed], values[routed]
    np.add.at(dx.reshape(-1), index, values)
    return dx


@max_backward.gpu
def max_backward(dy, mask, x_shape, window, dx=None):
    if dx is None:
        dx = cuda.empty(tuple(x_shape))
    launch('max_pool_backward', dx.size, dy=dy, mask=mask, dx=dx,
           **_kernel_args(x_shape, window, dy.shape[2:]))
    return dx


def ave_divisors(shape_hw, window, out):
    """(oh, ow) float32 window sizes clipped to the padded input (zero or
    negative only for a window lying wholly past it)."""
    sizes = []
    for size, k, s, p, o in zip(shape_hw, *window, out):
        start = np.arange(o) * s - p
        sizes.append(np.minimum(start + k, size + p) - start)
    return (sizes[0][:, None] * sizes[1][None, :]).astype(np.float32)


@op
def ave_forward(x, window, out):
    """Window means (N, C, oh, ow) with Caffe's divisors (so a window
    wholly past the input gives 0/0, NaN, exactly as Caffe does)."""
    phases = _phase_split(x, window, out, 0)
    top = np.zeros(x.shape[:2] + tuple(out), x.dtype)
    for _, tap in _taps(phases, window.kernel, window.stride, out):
        top += tap
    with np.errstate(divide='ignore', invalid='ignore'):
        return top / ave_divisors(x.shape[2:], window, out)


@ave_forward.gpu
def ave_forward(x, window, out):
    top = cuda.empty(x.shape[:2] + tuple(out))
    launch('ave_pool_forward', top.size, x=x, top=top, **_kernel_args(x.shape, window, out))
    return top


@op
def ave_backward(dy, x_shape, window):
    """(N, C, H, W) gradient: each top diff spread evenly over its window."""
    out = dy.shape[2:]
    divisors = ave_divisors(x_shape[2:], window, out)
    # Windows with no input element have no gradient to spread.
    share = dy / np.maximum(divisors, 1)
    phases = np.zeros(_phase_shape(x_shape, window.kernel, window.stride, out), dy.dtype)
    for _, tap in _taps(phases, window.kernel, window.stride, out):
        tap += share
    return _merge_phases(phases, x_shape, window.stride, window.pad)


@ave_backward.gpu
def ave_backward(dy, x_shape, window):
    dx = cuda.empty(tuple(x_shape))
    launch('ave_pool_backward', dx.size, dy=dy, dx=dx,
           **_kernel_args(x_shape, window, dy.shape[2:]))
    return dx


def _kernel_args(x_shape, window, out):
    """The named geometry arguments of the kernels of pooling.cu."""
    return dict(cuda.window_args(window, out), height=x_shape[2], width=x_shape[3])


def _stochastic_windows(x, window, out):
    """(N, C, oh, ow, kh*kw) copy of Caffe's unpadded stochastic windows,
    zeros past the input."""
    phases = _phase_split(x, window, out, 0)
    return array_module(x).stack([tap for _, tap in _taps(phases, window.kernel, window.stride,
                                                          out)], axis=-1)


def _unpadded(window):
    return window._replace(pad=(0, 0))


def stochastic_forward_train(x, window, out, uniform):
    """Sample one element per window with probability proportional to its
    value, Caffe's way: the first element whose running sum reaches
    ``uniform * window sum``. ``uniform`` (N, C, oh, ow) holds draws from
    [0, 1]. Returns (top, mask) with mask as max_mask's (-1: no source)."""
    xp = array_module(x)
    window = _unpadded(window)
    windows = _stochastic_windows(x, window, out)
    running = xp.cumsum(windows, axis=-1)
    # The window sum as Caffe accumulates it (in order), so the threshold
    # is always reached when the inputs are non-negative.
    threshold = uniform.astype(x.dtype) * running[..., -1]
    reached = running >= threshold[..., None]
    tap = xp.argmax(reached, axis=-1)
    index = _source_index(tap, x.shape, window)
    # A padding tap adds 0 to the running sum, so it is never the first to
    # reach the threshold unless the window holds no input at all.
    stride = window.stride
    has_input = ((xp.arange(out[0]) * stride[0] < x.shape[2])[:, None]
                 & (xp.arange(out[1]) * stride[1] < x.shape[3])[None, :])
    found = xp.take_along_axis(reached, tap[..., None], axis=-1)[..., 0] & has_input
    top = xp.take_along_axis(windows, tap[..., None], axis=-1)[..., 0]
    return xp.where(found, top, 0).astype(x.dtype), xp.where(found, index, -1).astype(xp.int32)


def stochastic_forward_test(x, window, out):
    """Each window's activation-weighted mean ``sum(x^2) / sum(x)`` (0 where
    the sum is not positive), Caffe's stochastic pooling at test time."""
    xp = array_module(x)
    windows = _stochastic_windows(x, _unpadded(window), out)
    total = windows.sum(axis=-1)
    squares = (windows * windows).sum(axis=-1)
    positive = total > 0
    return xp.where(positive, squares / xp.where(positive, total, 1), 0).astype(x.dtype)
