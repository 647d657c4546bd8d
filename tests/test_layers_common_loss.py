"""Forward behaviour of common and loss layers that the Caffe reference
cases do not reach: Reshape's 0/-1, Filter, BatchReindex, Silence,
Parameter, Crop offsets, ArgMax ties, Accuracy per class, the loss
normalization modes, InfogainLoss and HingeLoss L1."""
import numpy as np
import pytest
from google.protobuf import text_format

import caffelite as caffe
from caffelite.blob import Blob
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2


def layer_run(text, *bottoms, tops=1, phase=caffe.TEST):
    """Forward a layer on host arrays; returns (layer, top blobs)."""
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    param.name = param.name or 'layer'
    param.phase = phase
    layer = create_layer(param)
    bottom = []
    for value in bottoms:
        blob = Blob(np.shape(value))
        blob.data[...] = value
        bottom.append(blob)
    top = [Blob() for _ in range(tops)]
    layer.layer_setup(bottom, top)
    layer.layer_forward(bottom, top)
    return layer, top, bottom


def test_reshape_copies_zero_and_infers_minus_one():
    _, top, _ = layer_run('type: "Reshape" reshape_param { shape { dim: 0 dim: -1 dim: 2 } }',
                          np.zeros((3, 4, 5, 2)))
    assert top[0].shape == (3, 20, 2)
    _, top, _ = layer_run('type: "Reshape" reshape_param { axis: 1 num_axes: 2 '
                          'shape { dim: -1 } }', np.zeros((3, 4, 5, 2)))
    assert top[0].shape == (3, 20, 2)
    with pytest.raises(caffe.LayerError, match="'layer'"):
        layer_run('type: "Reshape" reshape_param { shape { dim: 7 } }', np.zeros((3, 4)))


def test_filter_batch_reindex_silence_parameter():
    data = np.arange(12, dtype=np.float32).reshape(4, 3)
    _, top, _ = layer_run('type: "Filter"', data, np.array([1, 0, 1, 0]))
    np.testing.assert_array_equal(top[0].data, data[[0, 2]])
    _, top, _ = layer_run('type: "BatchReindex"', data, np.array([3, 3, 0]))
    np.testing.assert_array_equal(top[0].data, data[[3, 3, 0]])
    layer, _, bottom = layer_run('type: "Silence"', data, tops=0)
    bottom[0].diff[...] = 5
    layer.layer_backward([], [True], bottom)
    assert not bottom[0].diff.any()
    layer, top, _ = layer_run('type: "Parameter" parameter_param { shape { dim: 2 dim: 3 } }')
    assert top[0].shape == (2, 3) and len(layer.blobs) == 1


def test_crop_with_offsets_per_axis():
    data = np.arange(2 * 3 * 6 * 7, dtype=np.float32).reshape(2, 3, 6, 7)
    _, top, _ = layer_run('type: "Crop" crop_param { axis: 2 offset: 1 offset: 3 }',
                          data, np.zeros((2, 3, 4, 2)))
    np.testing.assert_array_equal(top[0].data, data[:, :, 1:5, 3:5])


def test_argmax_breaks_ties_toward_the_larger_index():
    _, top, _ = layer_run('type: "ArgMax" argmax_param { top_k: 2 out_max_val: true }',
                          np.array([[1, 3, 3, 0]], np.float32))
    np.testing.assert_array_equal(top[0].data.reshape(-1), [2, 1, 3, 3])


def test_accuracy_per_class_and_ignore():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], np.float32)
    labels = np.array([1, 1, 0, 5], np.float32)
    _, top, _ = layer_run('type: "Accuracy" accuracy_param { ignore_label: 5 }', scores, labels,
                          tops=2)
    assert float(top[0].data) == pytest.approx(1 / 3.0)
    np.testing.assert_allclose(top[1].data, [0.0, 0.5])


@pytest.mark.parametrize('mode, normalizer', [('FULL', 6), ('VALID', 4), ('BATCH_SIZE', 2),
                                              ('NONE', 1)])
def test_softmax_loss_normalization_modes(mode, normalizer):
    rng = np.random.RandomState(0)
    scores = rng.randn(2, 3, 3).astype(np.float32)
    labels = np.array([[0, 2, 1], [1, 1, 2]], np.float32)
    labels[0, 0] = labels[1, 2] = 7          # ignored
    _, top, _ = layer_run('type: "SoftmaxWithLoss" loss_param { ignore_label: 7 '
                          'normalization: %s }' % mode, scores, labels)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    total = -sum(np.log(p[n, int(labels[n, i]), i]) for n in range(2) for i in range(3)
                 if labels[n, i] != 7)
    assert float(top[0].data) == pytest.approx(total / normalizer, rel=1e-5)


def test_legacy_normalize_flag():
    scores = np.zeros((4, 3), np.float32)
    labels = np.array([0, 1, 2, 0], np.float32)
    _, top, _ = layer_run('type: "SoftmaxWithLoss" loss_param { normalize: false }',
                          scores, labels)
    assert float(top[0].data) == pytest.approx(np.log(3), rel=1e-5)   # / batch size


def test_infogain_and_hinge_l1_values():
    scores = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]], np.float32)
    labels = np.array([0, 2], np.float32)
    h = np.array([[1, 0.5, 0], [0, 1, 0], [0.2, 0, 1]], np.float32)
    _, top, _ = layer_run('type: "InfogainLoss"', scores, labels, h)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    expected = -(h[[0, 2]] * np.log(p)).sum() / 2
    assert float(top[0].data) == pytest.approx(expected, rel=1e-5)
    _, top, _ = layer_run('type: "HingeLoss"', scores, labels)
    sign = np.ones_like(scores)
    sign[[0, 1], [0, 2]] = -1
    assert float(top[0].data) == pytest.approx(np.maximum(0, 1 + sign * scores).sum() / 2)
