"""Elementwise neuron functions with a NumPy path and the kernels of
kernels/neuron.cu on the GPU. Arrays are float32; outputs are new arrays."""
import numpy as np

from .. import cuda

f32 = np.float32


def _launch(kernel, n, *args):
    import cupy
    out = cupy.empty(n, np.float32)
    cuda.launch('neuron', kernel, n, *[cupy.ascontiguousarray(a) if hasattr(a, 'shape')
                                       else a for a in args], out)
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
