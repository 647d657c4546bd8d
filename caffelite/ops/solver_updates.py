"""Solver update rules as in-place array operations.

Each function turns the gradient ``g`` into the step to subtract and
updates the history arrays, with NumPy on the host or the fused kernel of
``kernels/solver_updates.cu`` on the GPU. All arrays are flat float32.
"""
import numpy as np

from .. import cuda

f32 = np.float32


def sgd(g, h, momentum, local_rate):
    """h = momentum * h + rate * g; g = h."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'sgd_update', g.size, g, h, f32(momentum),
                           f32(local_rate))
    h *= f32(momentum)
    h += f32(local_rate) * g
    g[...] = h


def nesterov(g, h, momentum, local_rate):
    """h' = momentum * h + rate * g; g = (1 + momentum) * h' - momentum * h."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'nesterov_update', g.size, g, h, f32(momentum),
                           f32(local_rate))
    m = f32(momentum)
    previous = h.copy()
    h *= m
    h += f32(local_rate) * g
    g[...] = (1 + m) * h - m * previous


def adagrad(g, h, delta, local_rate):
    """h += g^2; g = rate * g / (sqrt(h) + delta)."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'adagrad_update', g.size, g, h, f32(delta),
                           f32(local_rate))
    h += g * g
    g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))


def rmsprop(g, h, rms_decay, delta, local_rate):
    """h = d * h + (1 - d) * g^2; g = rate * g / (sqrt(h) + delta)."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'rmsprop_update', g.size, g, h, f32(rms_decay),
                           f32(delta), f32(local_rate))
    d = f32(rms_decay)
    h *= d
    h += (1 - d) * g * g
    g[...] = f32(local_rate) * g / (np.sqrt(h) + f32(delta))


def adadelta(g, h, h2, momentum, delta, local_rate):
    """Zeiler's AdaDelta with Caffe's placement of delta and the rate."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'adadelta_update', g.size, g, h, h2,
                           f32(momentum), f32(delta), f32(local_rate))
    m, d = f32(momentum), f32(delta)
    h *= m
    h += (1 - m) * g * g
    g *= np.sqrt((h2 + d) / (h + d))
    h2 *= m
    h2 += (1 - m) * g * g
    g *= f32(local_rate)


def adam(g, m, v, beta1, beta2, eps_hat, corrected_rate):
    """m, v moving moments; g = corrected_rate * m / (sqrt(v) + eps_hat)."""
    if cuda.on_gpu(g):
        return cuda.launch('solver_updates', 'adam_update', g.size, g, m, v, f32(beta1),
                           f32(beta2), f32(eps_hat), f32(corrected_rate))
    m *= f32(beta1)
    m += f32(1 - beta1) * g
    v *= f32(beta2)
    v += f32(1 - beta2) * g * g
    g[...] = f32(corrected_rate) * m / (np.sqrt(v) + f32(eps_hat))
