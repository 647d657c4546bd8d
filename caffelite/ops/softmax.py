"""Softmax along one axis and its backward, on (outer, channels, inner)
views: subtract the per-position max over the channels, exponentiate,
normalize, as Caffe does for numerical safety."""
import numpy as np

from .. import cuda


def _as_3d(x, axis):
    outer = int(np.prod(x.shape[:axis], dtype=np.int64))
    return x.reshape(outer, x.shape[axis], -1)


def softmax_forward(x, axis):
    """softmax of ``x`` along ``axis`` (float32, same shape)."""
    if cuda.on_gpu(x):
        return _gpu('softmax_forward', x, None, axis)
    v = _as_3d(x, axis)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)


def softmax_backward(y, dy, axis):
    """dx = (dy - sum(dy * y, axis)) * y."""
    if cuda.on_gpu(y):
        return _gpu('softmax_backward', y, dy, axis)
    v, g = _as_3d(y, axis), _as_3d(dy, axis)
    return ((g - (g * v).sum(axis=1, keepdims=True)) * v).reshape(y.shape)


def _gpu(kernel, a, b, axis):
    import cupy
    outer, channels, inner = _as_3d(a, axis).shape
    a = cupy.ascontiguousarray(a)
    out = cupy.empty_like(a)
    second = cupy.ascontiguousarray(b) if b is not None else a
    cuda.launch('softmax', kernel, outer * inner, a, second, channels, inner, out)
    return out
