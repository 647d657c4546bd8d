"""kernels/softmax.cu, compiled for the host and run serially, equals the
NumPy half of caffelite/ops/softmax.py; it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness
from caffelite.ops import softmax as softmax_op


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(1, 4), st.integers(0, 2 ** 16))
def test_softmax_kernels(outer, channels, inner, seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(outer, channels, inner).astype(np.float32) * 5
    y = np.empty_like(x)
    kernel_harness.call('softmax', 'softmax_forward', outer * inner, x=x, channels=channels,
                        inner=inner, y=y)
    ref = softmax_op.softmax_forward(x, 1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-7)
    dy = rng.randn(*x.shape).astype(np.float32)
    dx = np.empty_like(x)
    kernel_harness.call('softmax', 'softmax_backward', outer * inner, y=ref, dy=dy,
                        channels=channels, inner=inner, dx=dx)
    np.testing.assert_allclose(dx, softmax_op.softmax_backward(ref, dy, 1), rtol=1e-5,
                               atol=1e-6)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('softmax', tmp_path)
