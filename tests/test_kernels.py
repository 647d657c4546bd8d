"""The CUDA kernels of kernels/*.cu, compiled for the host and run
serially, equal the NumPy implementations of the same ops (hypothesis picks
shapes and geometries). The same sources run on the GPU."""
import numpy as np
from hypothesis import assume, given, settings, strategies as st

import kernel_harness
from caffelite import geometry
from caffelite.ops import im2col as im2col_op
from caffelite.ops import lrn as lrn_op
from caffelite.ops import pooling as pool_op
from caffelite.ops import softmax as softmax_op

SETTINGS = settings(max_examples=25, deadline=None)


def rand(rng, *shape):
    return rng.randn(*shape).astype(np.float32)


geometries = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(3, 7),
                       st.integers(3, 7), st.integers(1, 3), st.integers(1, 3),
                       st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
                       st.integers(0, 2 ** 16))


@SETTINGS
@given(geometries)
def test_im2col_and_col2im(g):
    n, c, h, w, kh, kw, stride, pad, dil, seed = g
    kernel, strides, pads, dils = (kh, kw), (stride, stride), (pad, pad), (dil, dil)
    oh, ow = im2col_op.output_size(h, w, kernel, strides, pads, dils)
    assume(oh > 0 and ow > 0)
    rng = np.random.RandomState(seed)
    x = rand(rng, n, c, h, w)
    ref = np.ascontiguousarray(im2col_op.im2col(x, kernel, strides, pads, dils))
    cols = np.empty_like(ref)
    kernel_harness.call('im2col', 'im2col_kernel', c * cols.shape[1], x, n, c, h, w, kh, kw, pad,
                        pad, stride, stride, dil, dil, oh, ow, cols)
    np.testing.assert_array_equal(cols, ref)
    dcols = rand(rng, *ref.shape)
    ref_x = im2col_op.col2im(dcols, x.shape, kernel, strides, pads, dils)
    got = np.empty_like(x)
    kernel_harness.call('im2col', 'col2im_kernel', got.size, dcols, n, c, h, w, kh, kw, pad,
                        pad, stride, stride, dil, dil, oh, ow, got)
    np.testing.assert_allclose(got, ref_x, rtol=1e-5, atol=1e-5)


pool_geometries = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 8),
                            st.integers(2, 8), st.integers(1, 3), st.integers(1, 3),
                            st.integers(0, 1), st.integers(0, 2 ** 16))


def pool_setup(g):
    n, c, h, w, k, s, p, seed = g
    assume(p < k and k <= h + 2 * p and k <= w + 2 * p)
    out = (geometry.pool_out(h, k, s, p), geometry.pool_out(w, k, s, p))
    return n, c, h, w, (k, k), (s, s), (p, p), out, np.random.RandomState(seed)


def pool_args(x_shape, kernel, stride, pad, out):
    n, c, h, w = x_shape
    return (n * c, h, w, out[0], out[1], kernel[0], kernel[1], stride[0], stride[1],
            pad[0], pad[1])


@SETTINGS
@given(pool_geometries)
def test_max_pooling_kernels(g):
    n, c, h, w, kernel, stride, pad, out, rng = pool_setup(g)
    x = rand(rng, n, c, h, w)
    ref_top, _ = pool_op.max_forward(x, kernel, stride, pad, out)
    ref_mask = pool_op.max_mask(x, ref_top, kernel, stride, pad)
    top = np.empty((n, c) + out, np.float32)
    mask = np.empty(top.shape, np.int32)
    args = pool_args(x.shape, kernel, stride, pad, out)
    kernel_harness.call('pooling', 'max_pool_forward', top.size, x, *args, top, mask)
    np.testing.assert_array_equal(top, ref_top)
    np.testing.assert_array_equal(mask, ref_mask)
    dy = rand(rng, *top.shape)
    dx = np.empty_like(x)
    kernel_harness.call('pooling', 'max_pool_backward', dx.size, dy, mask, *args, dx)
    np.testing.assert_allclose(dx, pool_op.max_backward(dy, mask, x.shape, kernel, stride, pad),
                               rtol=1e-5, atol=1e-6)


@SETTINGS
@given(pool_geometries)
def test_average_pooling_kernels(g):
    n, c, h, w, kernel, stride, pad, out, rng = pool_setup(g)
    x = rand(rng, n, c, h, w)
    top = np.empty((n, c) + out, np.float32)
    args = pool_args(x.shape, kernel, stride, pad, out)
    kernel_harness.call('pooling', 'ave_pool_forward', top.size, x, *args, top, top)
    np.testing.assert_allclose(top, pool_op.ave_forward(x, kernel, stride, pad, out),
                               rtol=1e-5, atol=1e-6)
    dy = rand(rng, *top.shape)
    dx = np.empty_like(x)
    kernel_harness.call('pooling', 'ave_pool_backward', dx.size, dy, dy, *args, dx)
    np.testing.assert_allclose(dx, pool_op.ave_backward(dy, x.shape, kernel, stride, pad),
                               rtol=1e-5, atol=1e-6)


@SETTINGS
@given(st.integers(1, 2), st.integers(1, 9), st.integers(1, 6), st.sampled_from([1, 3, 5]),
       st.integers(0, 2 ** 16))
def test_lrn_kernels(n, c, spatial, size, seed):
    rng = np.random.RandomState(seed)
    x = rand(rng, n, c, spatial, 1)
    alpha, beta, k = 0.3, 0.75, 1.5
    ref_y, ref_scale = lrn_op.lrn_across_forward(x, size, alpha, beta, k)
    scale = np.empty_like(x)
    y = np.empty_like(x)
    kernel_harness.call('lrn', 'lrn_forward', n * spatial, x, n, c, spatial, size,
                        np.float32(alpha / size), np.float32(k), np.float32(-beta), scale, y)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-5)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-6)
    dy = rand(rng, *x.shape)
    dx = np.empty_like(x)
    kernel_harness.call('lrn', 'lrn_compute_diff', n * spatial, x, y, scale, dy, n, c, spatial,
                        size, np.float32(-beta), np.float32(2 * alpha * beta / size), dx)
    np.testing.assert_allclose(dx, lrn_op.lrn_across_backward(x, y, scale, dy, size, alpha, beta),
                               rtol=1e-4, atol=1e-5)


@SETTINGS
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2 ** 16))
def test_softmax_kernels(outer, channels, inner, seed):
    rng = np.random.RandomState(seed)
    x = rand(rng, outer, channels, inner) * 5
    y = np.empty_like(x)
    kernel_harness.call('softmax', 'softmax_forward', outer * inner, x, x, channels, inner, y)
    ref = softmax_op.softmax_forward(x, 1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-7)
    dy = rand(rng, *x.shape)
    dx = np.empty_like(x)
    kernel_harness.call('softmax', 'softmax_backward', outer * inner, ref, dy, channels, inner,
                        dx)
    np.testing.assert_allclose(dx, softmax_op.softmax_backward(ref, dy, 1), rtol=1e-5,
                               atol=1e-6)
