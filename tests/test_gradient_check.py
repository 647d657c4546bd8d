"""caffelite.gradient_check: the finite-difference checker that every
layer module's GRADIENT_CASES go through (tests/layers/) catches a wrong
derivative."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite.blob import Blob
from caffelite.gradient_check import check_gradient
from layer_helpers import make


def test_checker_catches_a_wrong_gradient():
    layer = make('name: "bad" type: "TanH"')
    layer.grad = lambda x, y, dy: dy * (1 - y)      # wrong derivative
    bottom, top = [Blob((2, 3))], [Blob()]
    bottom[0].data[...] = np.random.RandomState(0).randn(2, 3)
    layer.layer_setup(bottom, top)
    with pytest.raises(caffe.CaffeError, match='gradient mismatch'):
        check_gradient(layer, bottom, top)
