"""caffelite.gemm.product: NumPy's matmul, with an inner dimension of 1 as a
broadcast multiply that gives the very same numbers."""
import numpy as np
import pytest

from caffelite.gemm import product


@pytest.mark.parametrize('shapes', [((5, 1), (1, 7)), ((3, 5, 1), (3, 1, 7)),
                                    ((5, 4), (4, 7)), ((2, 5, 3), (2, 3, 7))])
def test_product_equals_matmul(shapes):
    rng = np.random.RandomState(0)
    a, b = (rng.randn(*s).astype(np.float32) for s in shapes)
    expected = np.matmul(a, b)
    np.testing.assert_array_equal(product(a, b), expected)
    out = np.full(expected.shape, np.nan, np.float32)
    assert product(a, b, out=out) is out
    np.testing.assert_array_equal(out, expected)


def test_outer_product_of_strided_views_into_a_slice():
    # The InnerProduct weight gradient of one image: a transposed row
    # slice of dy times x, added into rows of the diff.
    rng = np.random.RandomState(1)
    dy, x = rng.randn(1, 9).astype(np.float32), rng.randn(1, 6).astype(np.float32)
    out = np.zeros((9, 6), np.float32)
    product(dy[:, 2:5].T, x, out=out[2:5])
    np.testing.assert_array_equal(out[2:5], dy[0, 2:5, None] * x)
    assert not out[:2].any() and not out[5:].any()
