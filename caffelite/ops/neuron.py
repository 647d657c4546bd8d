"""Elementwise neuron functions with a NumPy path and the kernels of
kernels/neuron.cu on the GPU. Arrays are float32; outputs are new arrays."""
import numpy as np

from .. import cuda

f32 = np.float32


def _launch(kernel, n, *args):
    import cupy
    out = cupy.empty(n, np.float32)
    # Arrays go to the device contiguous; NumPy scalars (which also have a
    # shape) must stay scalars.
    cuda.launch('neuron', kernel, n, *[a if isinstance(a, np.generic) or not hasattr(a, 'shape')
                                       else cupy.ascontiguousarray(a) for a in args], out)
    return out


def relu_forward(x, slope):
    if cuda.on_gpu(x):
        return _launch('relu_forward', x.size, x, f32(slope)).reshape(x.shape)
    y = np.maximum(x, 0)
    return y + f32(slope) * np.minimum(x, 0) if slope else y


def relu_backward(sign_source, dy, slope):
    """dy where ``sign_source`` > 0, else dy * slope."""
    if cuda.on_gpu(dy):
        return _launch('relu_backward', dy.size, sign_source, dy, f32(slope)).reshape(dy.shape)
    return np.where(sign_source > 0, dy, dy * f32(slope)) if slope else dy * (sign_source > 0)


def sigmoid_forward(x):
    if cuda.on_gpu(x):
        return _launch('sigmoid_forward', x.size, x).reshape(x.shape)
    return f32(0.5) * np.tanh(f32(0.5) * x) + f32(0.5)


def sigmoid_backward(y, dy):
    if cuda.on_gpu(dy):
        return _launch('sigmoid_backward', dy.size, y, dy).reshape(dy.shape)
    return dy * y * (1 - y)


def tanh_forward(x):
    if cuda.on_gpu(x):
        return _launch('tanh_forward', x.size, x).reshape(x.shape)
    return np.tanh(x)


def tanh_backward(y, dy):
    if cuda.on_gpu(dy):
        return _launch('tanh_backward', dy.size, y, dy).reshape(dy.shape)
    return dy * (1 - y * y)


def elu_forward(x, alpha):
    if cuda.on_gpu(x):
        return _launch('elu_forward', x.size, x, f32(alpha)).reshape(x.shape)
    return np.where(x > 0, x, f32(alpha) * (np.exp(np.minimum(x, 0)) - 1))


def elu_backward(x, y, dy, alpha):
    if cuda.on_gpu(dy):
        return _launch('elu_backward', dy.size, x, y, dy, f32(alpha)).reshape(dy.shape)
    return dy * np.where(x > 0, f32(1), y + f32(alpha))


def dropout_forward(x, draw, ratio, scale):
    """(y, mask): mask = scale where draw >= ratio else 0; y = x * mask."""
    if cuda.on_gpu(x):
        import cupy
        mask = cupy.empty(x.size, np.float32)
        y = cupy.empty(x.size, np.float32)
        cuda.launch('neuron', 'dropout_forward', x.size, cupy.ascontiguousarray(x),
                    cupy.ascontiguousarray(draw, np.float32), f32(ratio), f32(scale), mask, y)
        return y.reshape(x.shape), mask.reshape(x.shape)
    mask = (draw >= ratio).astype(np.float32) * f32(scale)
    return x * mask, mask


def scale_by_mask(dy, mask):
    if cuda.on_gpu(dy):
        return _launch('scale_by_mask', dy.size, dy, mask).reshape(dy.shape)
    return dy * mask


def _channel_layout(x):
    """(outer, channels, inner) of an array whose channel axis is 1."""
    return x.shape[0], x.shape[1], int(np.prod(x.shape[2:], dtype=np.int64))


def prelu_forward(x, slope):
    """max(x, 0) + a_c min(x, 0); ``slope`` has C entries or one (shared)."""
    if cuda.on_gpu(x):
        _, c, inner = _channel_layout(x)
        return _launch('prelu_forward', x.size, x, slope.reshape(-1), c, inner,
                       int(slope.size == 1)).reshape(x.shape)
    a = slope.reshape((1, -1) + (1,) * (x.ndim - 2))
    return np.maximum(x, 0) + a * np.minimum(x, 0)


def prelu_backward(x, dy, slope):
    if cuda.on_gpu(dy):
        _, c, inner = _channel_layout(x)
        return _launch('prelu_backward', dy.size, x, dy, slope.reshape(-1), c, inner,
                       int(slope.size == 1)).reshape(dy.shape)
    a = slope.reshape((1, -1) + (1,) * (x.ndim - 2))
    return dy * np.where(x > 0, f32(1), a)


def prelu_slope_diff(x, dy):
    """Per-channel sum of dy * x over x <= 0, shape (C,)."""
    outer, c, inner = _channel_layout(x)
    if cuda.on_gpu(x):
        import cupy
        lanes = cuda.lanes(c, inner)
        partial = cupy.empty((c, lanes), np.float32)
        cuda.launch('neuron', 'prelu_slope_partial', c * lanes, cupy.ascontiguousarray(x),
                    cupy.ascontiguousarray(dy), c, outer, inner, lanes, partial)
        return partial.sum(axis=1)
    return (dy * x * (x <= 0)).reshape(outer, c, inner).sum(axis=(0, 2))
