"""Fillers: Caffe's distributions and scales."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import fillers
from caffelite.blob import Blob
from caffelite.proto import caffe_pb2


def filled(shape, **kwargs):
    caffe.set_random_seed(0)
    blob = Blob(shape)
    fillers.fill(blob, caffe_pb2.FillerParameter(**kwargs))
    return blob.data


def test_constant_and_uniform():
    assert np.all(filled((3, 4), type='constant', value=2.5) == 2.5)
    u = filled((200, 50), type='uniform', min=-2, max=3)
    assert u.min() >= -2 and u.max() <= 3 and abs(u.mean() - 0.5) < 0.05


@pytest.mark.parametrize('norm, n', [(0, 50 * 9), (1, 100 * 9), (2, 75 * 9)])
def test_xavier_and_msra_scales(norm, n):
    x = filled((100, 50, 3, 3), type='xavier', variance_norm=norm)
    assert abs(x.std() - np.sqrt(3.0 / n) / np.sqrt(3)) < 0.01 * np.sqrt(1.0 / n) * 10
    m = filled((100, 50, 3, 3), type='msra', variance_norm=norm)
    assert m.std() == pytest.approx(np.sqrt(2.0 / n), rel=0.02)


def test_gaussian_sparse_keeps_the_expected_fraction():
    g = filled((20, 5000), type='gaussian', std=1, sparse=5)
    assert (g != 0).mean() == pytest.approx(5 / 20.0, abs=0.01)


def test_large_blob_is_filled_in_slabs_with_the_full_fan():
    big = filled((3000, 2000), type='msra')
    assert big.std() == pytest.approx(np.sqrt(2.0 / 2000), rel=0.01)


def test_positive_unitball_and_bilinear():
    p = filled((4, 6), type='positive_unitball')
    np.testing.assert_allclose(p.sum(axis=1), 1, rtol=1e-5)
    b = filled((2, 1, 4, 4), type='bilinear')
    np.testing.assert_allclose(b[0, 0, 0], [0.0625, 0.1875, 0.1875, 0.0625])
    with pytest.raises(caffe.CaffeError):
        filled((2, 3), type='nope')
