"""kernels/neuron.cu, compiled for the host and run serially, equals the
NumPy half of caffelite/ops/neuron.py; it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness
from caffelite.ops import neuron

f32 = np.float32


def call(kernel, like, **inputs):
    """The kernel's one output (``y`` forward, ``dx`` backward), shaped like ``like``."""
    out = np.empty(like.shape, np.float32)
    name = 'y' if kernel.endswith('_forward') else 'dx'
    kernel_harness.call('neuron', kernel, like.size, **inputs, **{name: out})
    return out


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 200), st.integers(0, 2 ** 16), st.floats(-0.5, 0.5), st.floats(0.1, 2))
def test_elementwise_kernels(n, seed, slope, alpha):
    rng = np.random.RandomState(seed)
    x, dy = rng.randn(n).astype(f32), rng.randn(n).astype(f32)
    close = lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    y = neuron.relu_forward(x, slope)
    close(call('relu_forward', x, x=x, slope=slope), y)
    close(call('relu_backward', x, sign_source=x, dy=dy, slope=slope),
          neuron.relu_backward(x, dy, slope))
    s = neuron.sigmoid_forward(x)
    close(call('sigmoid_forward', x, x=x), s)
    close(call('sigmoid_backward', x, y=s, dy=dy), neuron.sigmoid_backward(s, dy))
    t = neuron.tanh_forward(x)
    close(call('tanh_forward', x, x=x), t)
    close(call('tanh_backward', x, y=t, dy=dy), neuron.tanh_backward(t, dy))
    e = neuron.elu_forward(x, alpha)
    close(call('elu_forward', x, x=x, alpha=alpha), e)
    close(call('elu_backward', x, x=x, y=e, dy=dy, alpha=alpha),
          neuron.elu_backward(x, e, dy, alpha))


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(1, 5), st.booleans(),
       st.integers(0, 2 ** 16))
def test_prelu_kernels(outer, channels, inner, shared, seed):
    rng = np.random.RandomState(seed)
    x = rng.randn(outer, channels, inner).astype(f32)
    dy = rng.randn(*x.shape).astype(f32)
    slope = rng.rand(1 if shared else channels).astype(f32)
    a = slope.reshape(1, -1, 1)
    layout = dict(slope=slope, channels=channels, inner=inner, shared=int(shared))
    y = call('prelu_forward', x, x=x, **layout)
    np.testing.assert_allclose(y, np.where(x > 0, x, x * a), rtol=1e-6)
    dx = call('prelu_backward', x, x=x, dy=dy, **layout)
    np.testing.assert_allclose(dx, np.where(x > 0, dy, dy * a), rtol=1e-6)
    lanes = 1 + seed % inner
    partial = np.empty((channels, lanes), np.float32)
    kernel_harness.call('neuron', 'prelu_slope_partial', channels * lanes, x=x, dy=dy,
                        channels=channels, outer=outer, inner=inner, lanes=lanes,
                        partial=partial)
    np.testing.assert_allclose(partial.sum(axis=1), (dy * x * (x <= 0)).sum(axis=(0, 2)),
                               rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 200), st.integers(0, 2 ** 16), st.floats(0.05, 0.9))
def test_dropout_kernels(n, seed, ratio):
    rng = np.random.RandomState(seed)
    x, draw, dy = (rng.rand(n).astype(f32) for _ in range(3))
    scale = f32(1 / (1 - ratio))
    ref_y, ref_mask = neuron.dropout_forward(x, draw, ratio, scale)
    mask, y = np.empty(n, f32), np.empty(n, f32)
    kernel_harness.call('neuron', 'dropout_forward', n, x=x, draw=draw, ratio=ratio, scale=scale,
                        mask=mask, y=y)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_allclose(y, ref_y, rtol=1e-6)
    np.testing.assert_allclose(call('scale_by_mask', dy, dy=dy, mask=mask),
                               neuron.scale_by_mask(dy, mask), rtol=1e-6)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('neuron', tmp_path)
