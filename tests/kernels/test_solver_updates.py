"""kernels/solver_updates.cu, compiled for the host and run serially,
equals the NumPy update rules of caffelite/ops/solver_updates.py on random
inputs; it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness
from caffelite import cuda
from caffelite.ops import solver_updates as updates

floats = st.floats(0.01, 0.99)


def arrays(n, seed, count):
    rng = np.random.RandomState(seed)
    return [rng.randn(n).astype(np.float32) for _ in range(count)]


def compare(kernel, numpy_fn, n, seed, history_count, scalars, positive_history=False):
    """Run ``kernel`` and the op's NumPy half on the same (g, *history)
    arrays; ``scalars`` are the op's remaining arguments, in order."""
    g, *hist = arrays(n, seed, 1 + history_count)
    if positive_history:
        hist = [np.abs(h) for h in hist]
    ref = [a.copy() for a in [g] + hist]
    numpy_fn(*ref, *scalars)
    got = [a.copy() for a in [g] + hist]
    params = [p.name for p in cuda.signatures('solver_updates')[kernel][1:]]
    kernel_harness.call('solver_updates', kernel, n, **dict(zip(params, got + list(scalars))))
    for ours, expected in zip(got, ref):
        np.testing.assert_allclose(ours, expected, rtol=2e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2 ** 16), momentum=floats, rate=floats)
def test_sgd_and_nesterov(n, seed, momentum, rate):
    compare('sgd_update', updates.sgd, n, seed, 1, (momentum, rate))
    compare('nesterov_update', updates.nesterov, n, seed, 1, (momentum, rate))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2 ** 16), decay=floats, rate=floats)
def test_adagrad_and_rmsprop(n, seed, decay, rate):
    compare('adagrad_update', updates.adagrad, n, seed, 1, (1e-8, rate), positive_history=True)
    compare('rmsprop_update', updates.rmsprop, n, seed, 1, (decay, 1e-8, rate),
            positive_history=True)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 300), seed=st.integers(0, 2 ** 16), beta1=floats, beta2=floats,
       rate=floats)
def test_adadelta_and_adam(n, seed, beta1, beta2, rate):
    compare('adadelta_update', updates.adadelta, n, seed, 2, (beta1, 1e-6, rate),
            positive_history=True)
    compare('adam_update', updates.adam, n, seed, 2, (beta1, beta2, 1e-8, rate),
            positive_history=True)


def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('solver_updates', tmp_path)
