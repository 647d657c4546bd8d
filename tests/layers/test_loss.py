"""Loss layers (caffelite/layers/loss.py): gradient checks, and the
behaviour the Caffe reference cases do not reach: Accuracy per class, the
loss normalization modes, InfogainLoss and HingeLoss L1."""
import numpy as np
import pytest

from layer_helpers import LayerCase, build, gradient_test, labels, normal, positive

GRADIENT_CASES = [
    LayerCase('softmax_loss', 'type: "SoftmaxWithLoss"',
              [normal(4, 5), labels(4, 5)], checked=[0]),
    LayerCase('softmax_loss_spatial_ignore', 'type: "SoftmaxWithLoss" loss_param { ignore_label: '
              '1 normalization: FULL }',
              [normal(2, 3, 2, 2), labels(2, 3, (2, 2, 2))], checked=[0]),
    LayerCase('infogain_loss', 'type: "InfogainLoss"',
              [normal(3, 4), labels(3, 4), positive(4, 4)], checked=[0]),
    LayerCase('euclidean_loss', 'type: "EuclideanLoss"',
              [normal(3, 2), normal(3, 2)]),
    LayerCase('sigmoid_xent', 'type: "SigmoidCrossEntropyLoss"',
              [normal(3, 4), lambda r: (r.rand(3, 4) > 0.5).astype(np.float32)], checked=[0]),
    LayerCase('hinge_l1', 'type: "HingeLoss"',
              [normal(4, 3), labels(4, 3)], checked=[0],
              options={'kink': -1.0, 'kink_range': 0.05}),
    LayerCase('hinge_l2', 'type: "HingeLoss" hinge_loss_param { norm: L2 }',
              [normal(4, 3), labels(4, 3)], checked=[0]),
    LayerCase('multinomial_logistic', 'type: "MultinomialLogisticLoss"',
              [lambda r: (r.rand(3, 4) * 0.8 + 0.1).astype(np.float32), labels(3, 4)],
              checked=[0]),
    LayerCase('contrastive', 'type: "ContrastiveLoss" contrastive_loss_param { margin: 2 }',
              [normal(4, 3), normal(4, 3), lambda r: np.array([0, 1, 0, 1], np.float32)],
              checked=[0, 1]),
]
test_gradient = gradient_test(GRADIENT_CASES)


def test_accuracy_per_class_and_ignore():
    scores = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]], np.float32)
    labels = np.array([1, 1, 0, 5], np.float32)
    _, _, top = build('type: "Accuracy" accuracy_param { ignore_label: 5 }', scores, labels,
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
    _, _, top = build('type: "SoftmaxWithLoss" loss_param { ignore_label: 7 '
                      'normalization: %s }' % mode, scores, labels)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    total = -sum(np.log(p[n, int(labels[n, i]), i]) for n in range(2) for i in range(3)
                 if labels[n, i] != 7)
    assert float(top[0].data) == pytest.approx(total / normalizer, rel=1e-5)


def test_legacy_normalize_flag():
    scores = np.zeros((4, 3), np.float32)
    labels = np.array([0, 1, 2, 0], np.float32)
    _, _, top = build('type: "SoftmaxWithLoss" loss_param { normalize: false }',
                      scores, labels)
    assert float(top[0].data) == pytest.approx(np.log(3), rel=1e-5)   # / batch size


def test_infogain_and_hinge_l1_values():
    scores = np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 2.0]], np.float32)
    labels = np.array([0, 2], np.float32)
    h = np.array([[1, 0.5, 0], [0, 1, 0], [0.2, 0, 1]], np.float32)
    _, _, top = build('type: "InfogainLoss"', scores, labels, h)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    expected = -(h[[0, 2]] * np.log(p)).sum() / 2
    assert float(top[0].data) == pytest.approx(expected, rel=1e-5)
    _, _, top = build('type: "HingeLoss"', scores, labels)
    sign = np.ones_like(scores)
    sign[[0, 1], [0, 2]] = -1
    assert float(top[0].data) == pytest.approx(np.maximum(0, 1 + sign * scores).sum() / 2)
