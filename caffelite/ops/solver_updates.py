"""Solver update rules and weight decay as in-place array operations.

Each update turns the gradient ``g`` into the step to subtract and updates
the history arrays: NumPy on the host, or the fused kernel of
``kernels/solver_updates.cu`` on the GPU. All arrays are C-contiguous
float32 of one size (the host halves see them flat).

The host halves run their NumPy expressions over cache-sized pieces of the
arrays (caffelite.threads.over_elements): a weight blob's temporaries
(fc6 of CaffeNet holds 38M weights) would otherwise be fresh 150 MB arrays,
page-faulted in at every step, and each expression another pass through
memory. Elementwise, the pieces give the very same numbers. ``update``
goes further: weight decay, the rule and the finiteness check of one blob
run on each piece while it is in the cache, one pass through memory where
separate calls took three (CaffeNet's 61M parameters: about 420 -> 150 ms
of CPU time per step), and subtracts the step from the weights there too
(with the diffs cleared by ``clear`` over pieces shared by threads, and
pieces of 512 KB: paired, 132 -> 81 ms for zeroing, update and
subtraction).
"""
import numpy as np

from .. import backend, cuda, divergence, threads
from ..dispatch import op

f32 = np.float32
launch = cuda.launcher(__name__)


def _flat(arrays):
    """Flat views of ``arrays``: their pieces write into the caller's memory."""
    if not all(a.flags.c_contiguous for a in arrays):
        raise ValueError('solver updates write in place into C-contiguous arrays')
    return [a.reshape(-1) for a in arrays]


def _over_pieces(body, arrays, scalars):
    """body(*pieces, *scalars) for matching pieces of ``arrays``."""
    flat = _flat(arrays)
    threads.over_elements(flat[0].size, lambda s: body(*[a[s] for a in flat], *scalars))


# --- the host bodies, on one piece each -----------------------------------
def _regularize(d, w, decay, kind):
    d += f32(decay) * (w if kind == 'L2' else np.sign(w))


def _sgd(g, h, momentum, local_rate):
    h *= f32(momentum)
    h += f32(local_rate) * g
    g[...] = h


def _nesterov(g, h, momentum, local_rate):
    m = f32(momentum)
    previous = h.copy()
    h *= m
    h += f32(local_rate) * g
    g[...] = (1 + m) * h - m * previous


def _adagrad(g, h, delta, local_rate):
    h += g * g
    g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))


def _rmsprop(g, h, rms_decay, delta, local_rate):
    d = f32(rms_decay)
    h *= d
    h += (1 - d) * g * g
    g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))


def _adadelta(g, h, h2, momentum, delta, local_rate):
    m, d = f32(momentum), f32(delta)
    h *= m
    h += (1 - m) * g * g
    g *= np.sqrt((h2 + d) / (h + d))
    h2 *= m
    h2 += (1 - m) * g * g
    g *= f32(local_rate)


def _adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    m *= f32(beta1)
    m += f32(1 - beta1) * g
    v *= f32(beta2)
    v += f32(1 - beta2) * g * g
    g[...] = f32(corrected_rate) * m / (np.sqrt(v) + f32(eps_hat))


# --- the ops ----------------------------------------------------------------
@op
def regularize(diff, data, decay, kind):
    """Caffe's weight decay: diff += decay * data (``kind`` 'L2') or
    decay * sign(data) ('L1')."""
    _over_pieces(_regularize, (diff, data), (decay, kind))


@regularize.gpu
def regularize(diff, data, decay, kind):
    diff += f32(decay) * (data if kind == 'L2' else backend.array_module(data).sign(data))


@op
def sgd(g, h, momentum, local_rate):
    """h = momentum * h + rate * g; g = h."""
    _over_pieces(_sgd, (g, h), (momentum, local_rate))


@sgd.gpu
def sgd(g, h, momentum, local_rate):
    launch('sgd_update', g.size, g=g, h=h, momentum=momentum, local_rate=local_rate)


@op
def nesterov(g, h, momentum, local_rate):
    """h' = momentum * h + rate * g; g = (1 + momentum) * h' - momentum * h."""
    _over_pieces(_nesterov, (g, h), (momentum, local_rate))


@nesterov.gpu
def nesterov(g, h, momentum, local_rate):
    launch('nesterov_update', g.size, g=g, h=h, momentum=momentum, local_rate=local_rate)


@op
def adagrad(g, h, delta, local_rate):
    """h += g^2; g = rate * g / (sqrt(h) + delta)."""
    _over_pieces(_adagrad, (g, h), (delta, local_rate))


@adagrad.gpu
def adagrad(g, h, delta, local_rate):
    launch('adagrad_update', g.size, g=g, h=h, delta=delta, local_rate=local_rate)


@op
def rmsprop(g, h, rms_decay, delta, local_rate):
    """h = d * h + (1 - d) * g^2; g = rate * g / (sqrt(h) + delta)."""
    _over_pieces(_rmsprop, (g, h), (rms_decay, delta, local_rate))


@rmsprop.gpu
def rmsprop(g, h, rms_decay, delta, local_rate):
    launch('rmsprop_update', g.size, g=g, h=h, rms_decay=rms_decay, delta=delta,
           local_rate=local_rate)


@op
def adadelta(g, h, h2, momentum, delta, local_rate):
    """Zeiler's AdaDelta with Caffe's placement of delta and the rate."""
    _over_pieces(_adadelta, (g, h, h2), (momentum, delta, local_rate))


@adadelta.gpu
def adadelta(g, h, h2, momentum, delta, local_rate):
    launch('adadelta_update', g.size, g=g, h=h, h2=h2, momentum=momentum, delta=delta,
           local_rate=local_rate)


@op
def adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    """m, v moving moments; g = corrected_rate * m / (sqrt(v) + eps_hat)."""
    _over_pieces(_adam, (g, m, v), (beta1, beta2, eps_hat, corrected_rate))


@adam.gpu
def adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    launch('adam_update', g.size, g=g, m=m, v=v, beta1=beta1, beta2=beta2, eps_hat=eps_hat,
           corrected_rate=corrected_rate)


# The host body of each rule op, for ``update``.
_BODIES = {sgd: _sgd, nesterov: _nesterov, adagrad: _adagrad, rmsprop: _rmsprop,
           adadelta: _adadelta, adam: _adam}


@op
def update(diff, data, histories, rule, scalars, decay, kind):
    """One blob's step into ``diff``: weight decay (``decay`` times ``kind``
    'L2' or 'L1', none when ``decay`` is 0), then ``rule`` (one of the rule
    ops above) with its ``histories`` and ``scalars``, in that order (Caffe's
    Regularize, then ComputeUpdateValue); then data -= diff (Caffe's
    Net::Update) wherever the step is finite, so that weights never take a
    NaN. Returns whether the step is finite everywhere. On the host the
    subtraction runs on each piece while it is in the cache."""
    body = _BODIES[rule]
    diff, data, *histories = _flat([diff, data] + list(histories))
    non_finite = []

    def piece(s):
        g, w = diff[s], data[s]
        if decay:
            _regularize(g, w, decay, kind)
        body(g, *[h[s] for h in histories], *scalars)
        if divergence.finite(g):
            w -= g
        else:
            non_finite.append(s)
    threads.over_elements(diff.size, piece)
    return not non_finite


@update.gpu
def update(diff, data, histories, rule, scalars, decay, kind):
    if decay:
        regularize(diff, data, decay, kind)
    rule(diff, *histories, *scalars)
    finite = divergence.finite(diff)
    if finite:
        data -= diff
    return finite


@op
def clear(array):
    """array[...] = 0 for a C-contiguous array (a parameter diff before
    each iteration), by pieces that threads share when it is large."""
    flat, = _flat([array])
    threads.over_elements(flat.size, lambda s: flat[s].fill(0))


@clear.gpu
def clear(array):
    array.fill(0)
