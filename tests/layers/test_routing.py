"""Routing layers (caffelite/layers/routing.py): Split, Concat, Slice, Crop,
Tile, Filter, BatchReindex, Silence, Flatten, Reshape: gradient checks and
the behaviour the Caffe reference cases do not reach (Reshape's 0/-1,
Filter, BatchReindex, Silence, Crop offsets)."""
import numpy as np
import pytest

import caffelite as caffe
from layer_helpers import LayerCase, build, gradient_test, normal

GRADIENT_CASES = [
    LayerCase('concat', 'type: "Concat" concat_param { axis: 1 }',
              [normal(2, 2, 3), normal(2, 1, 3)]),
    LayerCase('slice', 'type: "Slice" slice_param { axis: 1 slice_point: 1 }',
              [normal(2, 3, 2)], tops=2),
    LayerCase('crop', 'type: "Crop" crop_param { axis: 2 offset: 1 }',
              [normal(1, 2, 5, 5), normal(1, 2, 3, 2)], checked=[0]),
    LayerCase('tile', 'type: "Tile" tile_param { axis: 1 tiles: 3 }',
              [normal(2, 2, 2)]),
    LayerCase('batch_reindex', 'type: "BatchReindex"',
              [normal(3, 2), lambda r: np.array( [2, 0, 2, 1], np.float32)], checked=[0]),
]
test_gradient = gradient_test(GRADIENT_CASES)


def test_reshape_copies_zero_and_infers_minus_one():
    _, _, top = build('type: "Reshape" reshape_param { shape { dim: 0 dim: -1 dim: 2 } }',
                      np.zeros((3, 4, 5, 2)))
    assert top[0].shape == (3, 20, 2)
    _, _, top = build('type: "Reshape" reshape_param { axis: 1 num_axes: 2 '
                      'shape { dim: -1 } }', np.zeros((3, 4, 5, 2)))
    assert top[0].shape == (3, 20, 2)
    with pytest.raises(caffe.LayerError, match="'layer'"):
        build('type: "Reshape" reshape_param { shape { dim: 7 } }', np.zeros((3, 4)))


def test_filter_batch_reindex_silence():
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    _, _, top = build('type: "Filter"', data, np.array([1, 0, 1, 0]))
    np.testing.assert_array_equal(top[0].data, data[[0, 2]])
    _, _, top = build('type: "BatchReindex"', data, np.array([3, 3, 0]))
    np.testing.assert_array_equal(top[0].data, data[[3, 3, 0]])
    layer, bottom, _ = build('type: "Silence"', data, tops=0)
    bottom[0].diff[...] = 5
    layer.layer_backward([], [True], bottom)
    assert not bottom[0].diff.any()


def test_crop_with_offsets_per_axis():
    data = np.arange(2 * 3 * 6 * 7, dtype=np.float32).reshape(2, 3, 6, 7)
    _, _, top = build('type: "Crop" crop_param { axis: 2 offset: 1 offset: 3 }',
                      data, np.zeros((2, 3, 4, 2)))
    np.testing.assert_array_equal(top[0].data, data[:, :, 1:5, 3:5])
