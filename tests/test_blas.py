"""caffelite.blas.gemm_accumulate adds op(a) @ op(b) into c in place, on
the host (SciPy's sgemm, beta = 1) and through the CuPy stand-in."""
import itertools

import numpy as np

import fake_cupy
from caffelite import blas


def operands(rng, trans_a, trans_b):
    a, b = rng.randn(5, 7).astype(np.float32), rng.randn(7, 3).astype(np.float32)
    return (np.ascontiguousarray(a.T) if trans_a else a,
            np.ascontiguousarray(b.T) if trans_b else b, a @ b)


def test_host_gemm_adds_in_place():
    rng = np.random.RandomState(0)
    for trans_a, trans_b in itertools.product([False, True], repeat=2):
        a, b, product = operands(rng, trans_a, trans_b)
        c = rng.randn(5, 3).astype(np.float32)
        expected = c + product
        assert blas.gemm_accumulate(a, b, c, trans_a, trans_b) is c
        np.testing.assert_allclose(c, expected, rtol=1e-5, atol=1e-6)
    strided = rng.randn(5, 14).astype(np.float32)[:, ::2]     # an operand that is a view
    c = np.zeros((5, 3), np.float32)
    blas.gemm_accumulate(strided, b, c, False, True)
    np.testing.assert_allclose(c, strided @ b.T, rtol=1e-5, atol=1e-6)


def test_device_gemm_adds(monkeypatch):
    cupy = fake_cupy.install(monkeypatch)
    rng = np.random.RandomState(1)
    a, b, product = operands(rng, True, False)
    c = rng.randn(5, 3).astype(np.float32)
    on_device = cupy.asarray(c.copy())
    blas.gemm_accumulate(cupy.asarray(a), cupy.asarray(b), on_device, trans_a=True)
    np.testing.assert_allclose(on_device.get(), c + product, rtol=1e-5, atol=1e-6)
