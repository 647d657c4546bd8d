"""kernels/lrn.cu, compiled for the host and run serially, equals the
NumPy half of caffelite/ops/lrn.py; it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness
from caffelite.ops import lrn as lrn_op


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 2), st.integers(1, 9), st.integers(1, 6), st.sampled_from([1, 3, 5]),
       st.integers(0, 2 ** 16))
def test_lrn_kernels(n, c, spatial, size, seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c, spatial, 1).astype(np.float32)
    alpha, beta, k = 0.3, 0.75, 1.5
    ref_y, ref_scale = lrn_op.lrn_across_forward(x, size, alpha, beta, k)
    scale = np.empty_like(x)
    y = np.empty_like(x)
    kernel_harness.call('lrn', 'lrn_forward', n * spatial, x=x, channels=c, spatial=spatial,
                        size=size, alpha_over_size=alpha / size, k=k, negative_beta=-beta,
                        scale=scale, y=y)
    np.testing.assert_allclose(scale, ref_scale, rtol=1e-5)
    np.testing.assert_allclose(y, ref_y, rtol=1e-5, atol=1e-6)
    dy = rng.randn(*x.shape).astype(np.float32)
    dx = np.empty_like(x)
    kernel_harness.call('lrn', 'lrn_compute_diff', n * spatial, x=x, y=y, scale=scale, dy=dy,
                        channels=c, spatial=spatial, size=size, negative_beta=-beta,
                        cache_ratio=2 * alpha * beta / size, dx=dx)
    np.testing.assert_allclose(dx, lrn_op.lrn_across_backward(x, y, scale, dy, size, alpha, beta),
                               rtol=1e-4, atol=1e-5)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('lrn', tmp_path)
