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
and padding 2 - pad (``transposed_weights``). Its weight gradient, the
correlation of the padded input with the output gradient, is F(3x3, 2x2),
the transpose of the same algorithm: dW = G^T [(A dy A^T) * (B^T d B)] G
summed over the tiles, from the same input transform (``weight_gradient``).
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


def input_transform(x, pad, tiles, v, rows=slice(None)):
    """v (4, 4, th, tw, n, C) = B^T d B of every 4x4 tile (stride 2) of x
    (n, C, H, W) padded by ``pad`` (and with zeros past its end), for the
    tile rows ``rows`` (a slice of range(th)). Channels last: each
    operation runs over whole (n, C) runs, not over a plane's few tiles
    (CaffeNet's 13x13 planes have 7 tiles a row; one thread, 5 images of
    256 channels: 2.9 ms with planes last, 0.8 with channels last). The
    rows first, then the columns."""
    n, c, h, w = x.shape
    tw = tiles[1]
    first, last = rows.indices(tiles[0])[:2]
    count = last - first
    # Padded rows 2 * first .. 2 * last + 1, channels last.
    padded = np.zeros((2 * count + 2, 2 * tw + 2, n, c), x.dtype)
    top = 2 * first - pad[0]        # the input row at padded row 0
    lo, hi = max(top, 0), min(top + padded.shape[0], h)
    if hi > lo:
        padded[lo - top:hi - top, pad[1]:pad[1] + w] = x[:, :, lo:hi].transpose(2, 3, 0, 1)
    rows_b = np.empty((4, count) + padded.shape[1:], x.dtype)
    _transform([padded[i:i + 2 * count:2] for i in range(4)], rows_b)
    for i in range(4):
        _transform([rows_b[i][:, j:j + 2 * tw:2] for j in range(4)], v[i][:, first:last])


def output_transform(m, y):
    """m (4, 4, O, th, tw, n) -> y (n, O, oh, ow): A^T m A of every tile,
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]], each of its four outputs written
    where it lands in y (past the last row or column, dropped)."""
    t = (m[0] + m[1] + m[2], m[1] - m[2] - m[3])
    oh, ow = y.shape[2:]
    for a in range(2):
        for b, out in enumerate((t[a][0] + t[a][1] + t[a][2], t[a][1] - t[a][2] - t[a][3])):
            y[:, :, a::2, b::2] = out[:, :(oh - a + 1) // 2, :(ow - b + 1) // 2].transpose(
                3, 0, 1, 2)


def _gradient_transform(d, out):
    """out[0..3] = A applied to the two rows (or columns) d[0..1] of every
    2x2 tile of an output gradient: d0, d0 + d1, d0 - d1, d1 (A's last row
    is -d1; its sign is moved into _GRADIENT_MAP)."""
    out[0] = d[0]
    np.add(d[0], d[1], out=out[1])
    np.subtract(d[0], d[1], out=out[2])
    out[3] = d[1]


# G^T (3x4) with its last column negated (see _gradient_transform), as the
# (9, 16) matrix that maps a flattened 4x4 sum to its flattened 3x3 G^T M G.
_GT = np.array([[1, 0.5, 0.5, 0], [0, 0.5, -0.5, 0], [0, 0.5, 0.5, -1]])
_GRADIENT_MAP = np.kron(_GT, _GT).astype(f32)


def gradient_transform(dy, tiles, e, rows=slice(None)):
    """e (4, 4, th, tw, n, O) = A dy A^T of every 2x2 tile of dy (n, O, oh,
    ow), zeros past its end, for the tile rows ``rows``; channels last, as
    input_transform's."""
    n, o, oh, ow = dy.shape
    tw = tiles[1]
    first, last = rows.indices(tiles[0])[:2]
    count = last - first
    padded = np.zeros((2 * count, 2 * tw, n, o), dy.dtype)
    part = dy[:, :, 2 * first:2 * last].transpose(2, 3, 0, 1)
    padded[:part.shape[0], :ow] = part
    rows_a = np.empty((4, count, 2 * tw, n, o), dy.dtype)
    _gradient_transform([padded[0::2], padded[1::2]], rows_a)
    for i in range(4):
        _gradient_transform([rows_a[i][:, 0::2], rows_a[i][:, 1::2]], e[i][:, first:last])


def weight_gradient(x, dy, pad, split):
    """(O, C, 3, 3) weight gradient of the 3x3 convolution of x (n, C, H, W),
    padding ``pad``, whose output gradient is dy (n, O, oh, ow): 16 GEMMs
    over the tiles (O x tiles by tiles x C), then G^T . G of each sum.
    ``split(length, fn)`` as convolve's: tile rows for the transforms, the
    longer of O and C for the GEMMs."""
    (n, c), o = x.shape[:2], dy.shape[1]
    tiles = tiles_of(dy.shape[2:])
    v = _transformed_input(x, pad, tiles, split)
    e = np.empty((4, 4) + tiles + (n, o), np.float32)
    split(tiles[0], lambda rows: gradient_transform(dy, tiles, e, rows))
    # (4, 4, O, tiles): a transposed view, which BLAS reads as it is.
    e = e.reshape(4, 4, -1, o).transpose(0, 1, 3, 2)
    m = np.empty((4, 4, o, c), np.float32)
    _products(e, v, m, split)
    return (_GRADIENT_MAP @ m.reshape(16, -1)).reshape(3, 3, o, c).transpose(2, 3, 0, 1)


def _transformed_input(x, pad, tiles, split):
    """(4, 4, tiles, C): input_transform of x (n, C, H, W) by parts of the
    tile rows, tiles ordered (th, tw, n)."""
    v = np.empty((4, 4) + tuple(tiles) + (x.shape[0], x.shape[1]), np.float32)
    split(tiles[0], lambda rows: input_transform(x, pad, tiles, v, rows))
    return v.reshape(4, 4, -1, x.shape[1])


def _products(a, b, out, split):
    """out = a @ b for the 16 stacked matrices, by parts of the longer of
    out's rows and columns, so that no part's GEMM is thin (VGG-16 at
    batch 1, conv2_x: 128 channels in 8 parts of 16 rows ran at 47 GFLOP/s
    on one thread, 3136 tile columns in 8 parts at 71)."""
    rows, columns = out.shape[2:]
    if columns > rows:
        split(columns, lambda part: np.matmul(a, b[..., part], out=out[..., part]))
    else:
        split(rows, lambda part: np.matmul(a[:, :, part], b, out=out[:, :, part]))


def tiles_of(out_hw):
    """(th, tw): 2x2 output tiles covering an output of ``out_hw``."""
    return tuple(-(-o // 2) for o in out_hw)


def convolve(x, u, pad, y, split):
    """y (n, O, oh, ow) = the 3x3 convolution of x (n, C, H, W) with the
    transformed kernel ``u`` (kernel_transform), padding ``pad``.
    ``split(length, fn)`` calls fn(slice) over parts of range(length) (the
    caller may share them among threads): tile rows for the input
    transform, output channels for the output transform, and for the 16
    GEMMs the longer of their output channels and their columns (tiles)."""
    n, o = x.shape[0], u.shape[2]
    tiles = tiles_of(y.shape[2:])
    # (4, 4, C, tiles): a transposed view, which BLAS reads as it is.
    v = _transformed_input(x, pad, tiles, split).transpose(0, 1, 3, 2)
    m = np.empty((4, 4, o, v.shape[3]), np.float32)
    _products(u, v, m, split)
    m = m.reshape((4, 4, o) + tiles + (n,))
    split(o, lambda part: output_transform(m[:, :, part], y[:, part]))
