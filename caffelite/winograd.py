"""Winograd's F(2x2, 3x3) convolution on the CPU, for 3x3 kernels with
stride 1 and no dilation (VGG's, ResNet's and GoogLeNet's 3x3 layers).

Each 2x2 block of outputs comes from a 4x4 tile of the padded input d:
y = A^T [(G g G^T) * (B^T d B)] A, elementwise in the middle, so the sum
over input channels becomes 16 GEMMs of (out x in) by (in x tiles): 16
multiply-adds per 4 outputs and input channel instead of im2col's 36. The
transforms add and subtract (and halve, in G) only.

Error: against direct convolution in float64, a float32 Winograd forward
on VGG-16's layers is within a few float32 ulps of the output's scale, as
close as the im2col GEMM (tests/test_winograd.py measures it on random
data: max |error| / max |y| below 1e-6 for both); the conformance cases
stay at their tolerances.

A convolution's data gradient at stride 1 is itself a 3x3 convolution of
the output gradient, with the kernel flipped and its in/out axes swapped,
and padding 2 - pad (``transposed_weights``).
"""
import numpy as np

f32 = np.float32


def applies(window):
    """Whether ``window`` (a 2-D ConvWindow) is a 3x3, stride 1, undilated
    convolution whose data gradient is one too (pad at most 2)."""
    return (window.kernel == (3, 3) and window.stride == (1, 1) and window.dilation == (1, 1)
            and max(window.pad) <= 2)


def _transform(d, out):
    """out[0..3] = B^T applied to the four rows (or columns) d[0..3] of
    every tile: d0 - d2, d1 + d2, d2 - d1, d1 - d3."""
    np.subtract(d[0], d[2], out=out[0])
    np.add(d[1], d[2], out=out[1])
    np.subtract(d[2], d[1], out=out[2])
    np.subtract(d[1], d[3], out=out[3])


# G (4x3) of the kernel transform, as the (16, 9) matrix that maps a
# flattened 3x3 kernel to its flattened 4x4 G g G^T.
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
_KERNEL_MAP = np.kron(_G, _G).astype(f32)


def kernel_transform(w):
    """(O, C, 3, 3) weights -> U (4, 4, O, C) = G g G^T per (O, C) pair,
    G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]: one GEMM
    over all the kernels."""
    o, c = w.shape[:2]
    return (_KERNEL_MAP @ w.reshape(o * c, 9).T).reshape(4, 4, o, c)


def transposed_weights(w):
    """(O, C, 3, 3) -> (C, O, 3, 3), flipped: the kernel of the data gradient."""
    return np.ascontiguousarray(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])


def input_transform(x, pad, tiles, v):
    """v (4, 4, C, n, th, tw) = B^T d B of every 4x4 tile (stride 2) of x
    (n, C, H, W) padded by ``pad`` (and with zeros past its end). The rows
    first, on whole padded rows (long unit-stride runs), then the columns."""
    n, c, h, w = x.shape
    th, tw = tiles
    padded = np.zeros((c, n, 2 * th + 2, 2 * tw + 2), x.dtype)
    padded[:, :, pad[0]:pad[0] + h, pad[1]:pad[1] + w] = x.transpose(1, 0, 2, 3)
    rows = np.empty((4, c, n, th, padded.shape[3]), x.dtype)
    _transform([padded[:, :, i:i + 2 * th:2] for i in range(4)], rows)
    for i in range(4):
        _transform([rows[i, ..., j:j + 2 * tw:2] for j in range(4)], v[i])


def output_transform(m, y):
    """m (4, 4, O, n, th, tw) -> y (n, O, oh, ow): A^T m A of every tile,
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], its 2x2 block written where it
    lands (the last ones cropped)."""
    t = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    full = np.empty(m.shape[2:4] + (2 * m.shape[4], 2 * m.shape[5]), y.dtype)
    for a in range(2):
        full[:, :, a::2, 0::2] = t[a][0] + t[a][1] + t[a][2]
        full[:, :, a::2, 1::2] = t[a][1] - t[a][2] - t[a][3]
    y[...] = full[:, :, :y.shape[2], :y.shape[3]].transpose(1, 0, 2, 3)


def tiles_of(out_hw):
    """(th, tw): 2x2 output tiles covering an output of ``out_hw``."""
    return tuple(-(-o // 2) for o in out_hw)


def convolve(x, u, pad, y, split):
    """y (n, O, oh, ow) = the 3x3 convolution of x (n, C, H, W) with the
    transformed kernel ``u`` (kernel_transform), padding ``pad``.
    ``split(length, fn)`` calls fn(slice) over parts of range(length) (the
    caller may share them among threads): input channels for the input
    transform, output channels for the output transform, and for the 16
    GEMMs the longer of their output channels and their columns (tiles),
    so that no part's GEMM is thin (VGG-16 at batch 1, conv2_x: 128
    channels in 8 parts of 16 rows ran at 47 GFLOP/s on one thread, 3136
    columns in 8 parts at 71)."""
    (n, c), o = x.shape[:2], u.shape[2]
    tiles = tiles_of(y.shape[2:])
    v = np.empty((4, 4, c, n) + tiles, np.float32)
    split(c, lambda part: input_transform(x[:, part], pad, tiles, v[:, :, part]))
    v = v.reshape(4, 4, c, -1)
    m = np.empty((4, 4, o, v.shape[3]), np.float32)
    if v.shape[3] > o:
        split(v.shape[3], lambda part: np.matmul(u, v[..., part], out=m[..., part]))
    else:
        split(o, lambda part: np.matmul(u[:, :, part], v, out=m[:, :, part]))
    m = m.reshape((4, 4, o, n) + tiles)
    split(o, lambda part: output_transform(m[:, :, part], y[:, part]))
