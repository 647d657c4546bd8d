"""im2col and col2im: the patch matrix of a 2-D convolution and its adjoint.

Layout: for an input batch (N, C, H, W) and a kh x kw kernel, ``cols`` is
(C * kh * kw, N * oh * ow), row index ``(c * kh + i) * kw + j`` (Caffe's
weight layout), column index ``(n * oh + y) * ow + x``. Putting the batch in
the columns lets a convolution be one GEMM for the whole batch.
"""
import numpy as np

from .. import cuda
from ..geometry import conv_out


def output_size(h, w, kernel, stride, pad, dilation):
    return (conv_out(h, kernel[0], stride[0], pad[0], dilation[0]),
            conv_out(w, kernel[1], stride[1], pad[1], dilation[1]))


def im2col(x, kernel, stride, pad, dilation):
    """(N, C, H, W) -> (C*kh*kw, N*oh*ow) patch matrix (zero padding)."""
    n, c, h, w = x.shape
    oh, ow = output_size(h, w, kernel, stride, pad, dilation)
    if cuda.on_gpu(x):
        return _im2col_gpu(x, kernel, stride, pad, dilation, oh, ow)
    padded = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[0]), (pad[1], pad[1])))
    s = padded.strides
    windows = np.lib.stride_tricks.as_strided(
        padded, (c, kernel[0], kernel[1], n, oh, ow),
        (s[1], s[2] * dilation[0], s[3] * dilation[1], s[0], s[2] * stride[0], s[3] * stride[1]),
        writeable=False)
    return windows.reshape(c * kernel[0] * kernel[1], n * oh * ow)


def col2im(cols, x_shape, kernel, stride, pad, dilation):
    """Adjoint of im2col: sum each patch entry back into its input pixel."""
    n, c, h, w = x_shape
    oh, ow = output_size(h, w, kernel, stride, pad, dilation)
    if cuda.on_gpu(cols):
        return _col2im_gpu(cols, x_shape, kernel, stride, pad, dilation, oh, ow)
    padded = np.zeros((n, c, h + 2 * pad[0], w + 2 * pad[1]), cols.dtype)
    patches = cols.reshape(c, kernel[0], kernel[1], n, oh, ow)
    for i in range(kernel[0]):
        top = i * dilation[0]
        rows = slice(top, top + stride[0] * (oh - 1) + 1, stride[0])
        for j in range(kernel[1]):
            left = j * dilation[1]
            columns = slice(left, left + stride[1] * (ow - 1) + 1, stride[1])
            padded[:, :, rows, columns] += patches[:, i, j].transpose(1, 0, 2, 3)
    return padded[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w]


def _im2col_gpu(x, kernel, stride, pad, dilation, oh, ow):
    import cupy
    n, c, h, w = x.shape
    x = cupy.ascontiguousarray(x)
    cols = cupy.empty((c * kernel[0] * kernel[1], n * oh * ow), np.float32)
    cuda.launch('im2col', 'im2col_kernel', cols.size, x, n, c, h, w, kernel[0], kernel[1],
                pad[0], pad[1], stride[0], stride[1], dilation[0], dilation[1], oh, ow, cols)
    return cols


def _col2im_gpu(cols, x_shape, kernel, stride, pad, dilation, oh, ow):
    import cupy
    n, c, h, w = x_shape
    x = cupy.empty(x_shape, np.float32)
    cuda.launch('im2col', 'col2im_kernel', x.size, cupy.ascontiguousarray(cols), n, c, h, w,
                kernel[0], kernel[1], pad[0], pad[1], stride[0], stride[1],
                dilation[0], dilation[1], oh, ow, x)
    return x
