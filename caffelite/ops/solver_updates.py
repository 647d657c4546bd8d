"""Solver update rules and weight decay as in-place array operations.

Each update turns the gradient ``g`` into the step to subtract and updates
the history arrays: NumPy on the host, or the fused kernel of
``kernels/solver_updates.cu`` on the GPU. All arrays are flat float32.

The host halves run their NumPy expressions over cache-sized pieces of the
arrays (caffelite.threads.over_elements): a weight blob's temporaries
(fc6 of CaffeNet holds 38M weights) would otherwise be fresh 150 MB arrays,
page-faulted in at every step, and each expression another pass through
memory. Elementwise, the pieces give the very same numbers.
"""
import numpy as np

from .. import backend, cuda, threads
from ..dispatch import op

f32 = np.float32
launch = cuda.launcher(__name__)


def _over_pieces(body, *arrays):
    """body(*pieces) for matching pieces of the flat ``arrays``."""
    threads.over_elements(arrays[0].size, lambda s: body(*[a[s] for a in arrays]))


@op
def regularize(diff, data, decay, kind):
    """Caffe's weight decay: diff += decay * data (``kind`` 'L2') or
    decay * sign(data) ('L1')."""
    def body(d, w):
        d += f32(decay) * (w if kind == 'L2' else np.sign(w))
    _over_pieces(body, diff, data)


@regularize.gpu
def regularize(diff, data, decay, kind):
    diff += f32(decay) * (data if kind == 'L2' else backend.array_module(data).sign(data))


@op
def sgd(g, h, momentum, local_rate):
    """h = momentum * h + rate * g; g = h."""
    def body(g, h):
        h *= f32(momentum)
        h += f32(local_rate) * g
        g[...] = h
    _over_pieces(body, g, h)


@sgd.gpu
def sgd(g, h, momentum, local_rate):
    launch('sgd_update', g.size, g=g, h=h, momentum=momentum, local_rate=local_rate)


@op
def nesterov(g, h, momentum, local_rate):
    """h' = momentum * h + rate * g; g = (1 + momentum) * h' - momentum * h."""
    def body(g, h):
        m = f32(momentum)
        previous = h.copy()
        h *= m
        h += f32(local_rate) * g
        g[...] = (1 + m) * h - m * previous
    _over_pieces(body, g, h)


@nesterov.gpu
def nesterov(g, h, momentum, local_rate):
    launch('nesterov_update', g.size, g=g, h=h, momentum=momentum, local_rate=local_rate)


@op
def adagrad(g, h, delta, local_rate):
    """h += g^2; g = rate * g / (sqrt(h) + delta)."""
    def body(g, h):
        h += g * g
        g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))
    _over_pieces(body, g, h)


@adagrad.gpu
def adagrad(g, h, delta, local_rate):
    launch('adagrad_update', g.size, g=g, h=h, delta=delta, local_rate=local_rate)


@op
def rmsprop(g, h, rms_decay, delta, local_rate):
    """h = d * h + (1 - d) * g^2; g = rate * g / (sqrt(h) + delta)."""
    def body(g, h):
        d = f32(rms_decay)
        h *= d
        h += (1 - d) * g * g
        g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))
    _over_pieces(body, g, h)


@rmsprop.gpu
def rmsprop(g, h, rms_decay, delta, local_rate):
    launch('rmsprop_update', g.size, g=g, h=h, rms_decay=rms_decay, delta=delta,
           local_rate=local_rate)


@op
def adadelta(g, h, h2, momentum, delta, local_rate):
    """Zeiler's AdaDelta with Caffe's placement of delta and the rate."""
    def body(g, h, h2):
        m, d = f32(momentum), f32(delta)
        h *= m
        h += (1 - m) * g * g
        g *= np.sqrt((h2 + d) / (h + d))
        h2 *= m
        h2 += (1 - m) * g * g
        g *= f32(local_rate)
    _over_pieces(body, g, h, h2)


@adadelta.gpu
def adadelta(g, h, h2, momentum, delta, local_rate):
    launch('adadelta_update', g.size, g=g, h=h, h2=h2, momentum=momentum, delta=delta,
           local_rate=local_rate)


@op
def adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    """m, v moving moments; g = corrected_rate * m / (sqrt(v) + eps_hat)."""
    def body(g, m, v):
        m *= f32(beta1)
        m += f32(1 - beta1) * g
        v *= f32(beta2)
        v += f32(1 - beta2) * g * g
        g[...] = f32(corrected_rate) * m / (np.sqrt(v) + f32(eps_hat))
    _over_pieces(body, g, m, v)


@adam.gpu
def adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    launch('adam_update', g.size, g=g, m=m, v=v, beta1=beta1, beta2=beta2, eps_hat=eps_hat,
           corrected_rate=corrected_rate)
