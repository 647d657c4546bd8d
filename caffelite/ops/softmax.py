"""Softmax along one axis and its backward, on (outer, channels, inner)
views: subtract the per-position max over the channels, exponentiate,
normalize, as Caffe does for numerical safety. The GPU half runs
kernels/softmax.cu."""
import math

import numpy as np

from .. import cuda
from ..dispatch import op

launch = cuda.launcher(__name__)


def _as_3d(x, axis):
    outer = math.prod(x.shape[:axis])
    return x.reshape(outer, x.shape[axis], -1)


@op
def softmax_forward(x, axis):
    """softmax of ``x`` along ``axis`` (float32, same shape)."""
    v = _as_3d(x, axis)
    e = np.exp(v - v.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).reshape(x.shape)


@softmax_forward.gpu
def softmax_forward(x, axis):
    outer, channels, inner = _as_3d(x, axis).shape
    y = cuda.empty(x.shape)
    launch('softmax_forward', outer * inner, x=x, channels=channels, inner=inner, y=y)
    return y


@op
def softmax_backward(y, dy, axis):
    """dx = (dy - sum(dy * y, axis)) * y."""
    v, g = _as_3d(y, axis), _as_3d(dy, axis)
    return ((g - (g * v).sum(axis=1, keepdims=True)) * v).reshape(y.shape)


@softmax_backward.gpu
def softmax_backward(y, dy, axis):
    outer, channels, inner = _as_3d(y, axis).shape
    dx = cuda.empty(y.shape)
    launch('softmax_backward', outer * inner, y=y, dy=dy, channels=channels, inner=inner, dx=dx)
    return dx
