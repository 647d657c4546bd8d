"""kernels/im2col.cu, compiled for the host and run serially, equals the
NumPy half of caffelite/ops/im2col.py (hypothesis picks shapes and
geometries); it also compiles for the GPU."""
import numpy as np
from hypothesis import assume, given, settings, strategies as st

import kernel_harness
from caffelite import cuda, geometry
from caffelite.ops import im2col as im2col_op

geometries = st.tuples(st.integers(1, 2), st.integers(1, 3), st.integers(3, 7),
                       st.integers(3, 7), st.integers(1, 3), st.integers(1, 3),
                       st.integers(1, 2), st.integers(0, 2), st.integers(1, 2),
                       st.integers(0, 2 ** 16))


@settings(max_examples=25, deadline=None)
@given(geometries)
def test_im2col_and_col2im(g):
    n, c, h, w, kh, kw, stride, pad, dil, seed = g
    window = geometry.ConvWindow((kh, kw), (stride, stride), (pad, pad), (dil, dil))
    out = geometry.conv_shape((h, w), window)
    assume(min(out) > 0)
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c, h, w).astype(np.float32)
    ref = np.ascontiguousarray(im2col_op.im2col(x, window, out))
    cols = np.empty_like(ref)
    shape = dict(num=n, channels=c, height=h, width=w, **cuda.window_args(window, out))
    kernel_harness.call('im2col', 'im2col_kernel', c * cols.shape[1], x=x, cols=cols, **shape)
    np.testing.assert_array_equal(cols, ref)
    dcols = rng.randn(*ref.shape).astype(np.float32)
    got = np.empty_like(x)
    kernel_harness.call('im2col', 'col2im_kernel', got.size, cols=dcols, x=got, **shape)
    np.testing.assert_allclose(got, im2col_op.col2im(dcols, x.shape, window, out),
                               rtol=1e-5, atol=1e-5)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('im2col', tmp_path)
