"""kernels/pooling.cu, compiled for the host and run serially, equals the
NumPy half of caffelite/ops/pooling.py (hypothesis picks shapes and
windows); it also compiles for the GPU."""
import numpy as np
from hypothesis import assume, given, settings, strategies as st

import kernel_harness
from caffelite import cuda, geometry
from caffelite.ops import pooling as pool_op

SETTINGS = settings(max_examples=25, deadline=None)
pool_geometries = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(2, 8),
                            st.integers(2, 8), st.integers(1, 3), st.integers(1, 3),
                            st.integers(0, 1), st.integers(0, 2 ** 16))


def pool_setup(g):
    n, c, h, w, k, s, p, seed = g
    assume(p < k and k <= h + 2 * p and k <= w + 2 * p)
    window = geometry.PoolWindow((k, k), (s, s), (p, p))
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c, h, w).astype(np.float32)
    return x, window, geometry.pool_shape(h, w, window), rng


def shape_args(x_shape, window, out):
    return dict(height=x_shape[2], width=x_shape[3], **cuda.window_args(window, out))


@SETTINGS
@given(pool_geometries)
def test_max_pooling_kernels(g):
    x, window, out, rng = pool_setup(g)
    ref_top, _ = pool_op.max_forward(x, window, out)
    ref_mask = pool_op.max_mask(x, ref_top, window)
    top = np.empty(x.shape[:2] + out, np.float32)
    mask = np.empty(top.shape, np.int32)
    args = shape_args(x.shape, window, out)
    kernel_harness.call('pooling', 'max_pool_forward', top.size, x=x, top=top, mask=mask, **args)
    np.testing.assert_array_equal(top, ref_top)
    np.testing.assert_array_equal(mask, ref_mask)
    dy = rng.randn(*top.shape).astype(np.float32)
    dx = np.empty_like(x)
    kernel_harness.call('pooling', 'max_pool_backward', dx.size, dy=dy, mask=mask, dx=dx, **args)
    np.testing.assert_allclose(dx, pool_op.max_backward(dy, mask, x.shape, window),
                               rtol=1e-5, atol=1e-6)


@SETTINGS
@given(pool_geometries)
def test_average_pooling_kernels(g):
    x, window, out, rng = pool_setup(g)
    top = np.empty(x.shape[:2] + out, np.float32)
    args = shape_args(x.shape, window, out)
    kernel_harness.call('pooling', 'ave_pool_forward', top.size, x=x, top=top, **args)
    np.testing.assert_allclose(top, pool_op.ave_forward(x, window, out), rtol=1e-5, atol=1e-6)
    dy = rng.randn(*top.shape).astype(np.float32)
    dx = np.empty_like(x)
    kernel_harness.call('pooling', 'ave_pool_backward', dx.size, dy=dy, dx=dx, **args)
    np.testing.assert_allclose(dx, pool_op.ave_backward(dy, x.shape, window),
                               rtol=1e-5, atol=1e-6)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('pooling', tmp_path)
