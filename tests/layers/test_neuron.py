"""Neuron layers: gradient checks, in-place use, Dropout statistics, and
forward values Caffe's reference cases do not reach (special cases)."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import backend
from caffelite.blob import Blob
from caffelite.errors import LayerError
from caffelite.proto import caffe_pb2
from layer_helpers import LayerCase, fixed, gradient_test, make, normal, positive, run

SHAPE = (2, 3, 4, 5)


def gaussian(seed=0, shape=SHAPE, scale=1.0):
    return (np.random.RandomState(seed).randn(*shape) * scale).astype(np.float32)


def away_from(x, points, margin=0.05):
    """x with values within ``margin`` of any of ``points`` pushed beyond it,
    so finite differences never straddle a kink."""
    x = x.copy()
    for p in points:
        near = np.abs(x - p) < margin
        x[near] = p + np.where(x[near] >= p, margin, -margin) * 2
    return x


# Finite-difference settings of the cases on SHAPE inputs.
FINE = dict(stepsize=1e-2, threshold=1e-2)
GRADIENT_CASES = [
    LayerCase('absval', 'type: "AbsVal"',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('bnll', 'type: "BNLL"',
              [fixed(gaussian(scale=3))], options=FINE),
    LayerCase('clip', 'type: "Clip" clip_param { min: -0.5 max: 0.8 }',
              [fixed(away_from(gaussian(), [0.8]))],
              options=dict(FINE, kink=-0.5, kink_range=0.02)),
    LayerCase('dropout_test', 'type: "Dropout" dropout_param { dropout_ratio: 0.3 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('elu', 'type: "ELU" elu_param { alpha: 0.7 }',
              [fixed(away_from(gaussian(), [0]))], options=FINE),
    LayerCase('elu_alpha1', 'type: "ELU"',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('exp', 'type: "Exp"',
              [fixed(gaussian())], options=FINE),
    LayerCase('exp_base2', 'type: "Exp" exp_param { base: 2 scale: 0.5 shift: 0.3 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('log', 'type: "Log"',
              [fixed(np.abs(gaussian()) + 0.5)], options=FINE),
    LayerCase('log_base10', 'type: "Log" log_param { base: 10 scale: 2 shift: 5 }',
              [fixed(np.clip(gaussian(), -2, 2))], options=FINE),
    LayerCase('power_constant', 'type: "Power" power_param { power: 0 scale: 2 shift: 1 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('power_general', 'type: "Power" power_param { power: 2.5 scale: 0.5 shift: 1.5 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('power_linear', 'type: "Power" power_param { power: 1 scale: 2 shift: 1 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('power_noshift', 'type: "Power" power_param { power: 3 scale: 0.7 }',
              [fixed(away_from(gaussian(), [0]))], options=FINE),
    LayerCase('power_square', 'type: "Power" power_param { power: 2 scale: -1.5 shift: 0.3 }',
              [fixed(gaussian())], options=FINE),
    LayerCase('prelu', 'type: "PReLU" prelu_param { filler { type: "gaussian" std: 0.5 } }',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('prelu_2d', 'type: "PReLU"',
              [fixed(gaussian(shape=(4, 6)))], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('prelu_shared', 'type: "PReLU" prelu_param { channel_shared: true }',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('relu', 'type: "ReLU"',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('relu_leaky', 'type: "ReLU" relu_param { negative_slope: 0.1 }',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('relu_negative_slope', 'type: "ReLU" relu_param { negative_slope: -0.3 }',
              [fixed(gaussian())], options=dict(FINE, kink=0.0, kink_range=0.02)),
    LayerCase('sigmoid', 'type: "Sigmoid"',
              [fixed(gaussian(scale=2))], options=FINE),
    LayerCase('swish', 'type: "Swish"',
              [fixed(gaussian(scale=2))], options=FINE),
    LayerCase('swish_beta', 'type: "Swish" swish_param { beta: 1.7 }',
              [fixed(gaussian(scale=2))], options=FINE),
    LayerCase('tanh', 'type: "TanH"',
              [fixed(gaussian())], options=FINE),
    LayerCase('relu_leaky_small', 'type: "ReLU" relu_param { negative_slope: 0.1 }',
              [normal(2, 3, 2)], options={'kink': 0.0, 'kink_range': 0.02}),
    LayerCase('sigmoid_small', 'type: "Sigmoid"',
              [normal(2, 3)]),
    LayerCase('tanh_small', 'type: "TanH"',
              [normal(2, 3)]),
    LayerCase('prelu_small', 'type: "PReLU" prelu_param { filler { type: "gaussian" } }',
              [normal(2, 3, 2)], options={'kink': 0.0, 'kink_range': 0.02}),
    LayerCase('elu_small', 'type: "ELU" elu_param { alpha: 0.5 }',
              [normal(2, 3)], options={'kink': 0.0, 'kink_range': 0.02}),
    LayerCase('absval_small', 'type: "AbsVal"',
              [normal(2, 3)], options={'kink': 0.0, 'kink_range': 0.02}),
    LayerCase('power', 'type: "Power" power_param { power: 2.5 scale: 0.7 shift: 1.2 }',
              [positive(2, 3)]),
    LayerCase('exp_small', 'type: "Exp" exp_param { base: 2 scale: 0.5 shift: 0.1 }',
              [normal(2, 3)]),
    LayerCase('log_small', 'type: "Log" log_param { base: 10 scale: 2 shift: 0.5 }',
              [positive(2, 3)]),
    LayerCase('bnll_small', 'type: "BNLL"',
              [normal(2, 3)]),
    LayerCase('clip_small', 'type: "Clip" clip_param { min: -0.5 max: 0.6 }',
              [normal(2, 3)], options={'kink': 0.0, 'kink_range': 0.02}),
    LayerCase('swish_small', 'type: "Swish" swish_param { beta: 1.5 }',
              [normal(2, 3)]),
]
test_gradient = gradient_test(GRADIENT_CASES)


@pytest.mark.parametrize('case', GRADIENT_CASES, ids=[c.id for c in GRADIENT_CASES])
def test_in_place_matches_separate_top(case):
    text, x = case.definition, case.makers[0](np.random.RandomState(case.seed + 6))
    dy = gaussian(seed=1, shape=x.shape)
    backend.set_random_seed(3)   # the same filled params for both
    y, dx = run(make(text), x, dy)
    backend.set_random_seed(3)
    y_in_place, dx_in_place = run(make(text), x, dy, in_place=True)
    np.testing.assert_array_equal(y_in_place, y)
    np.testing.assert_array_equal(dx_in_place, dx)


def forward(text, x):
    return run(make(text), np.asarray(x, np.float32))[0]


def test_relu_values():
    x = np.array([-2, -0.5, 0, 0.5, 3], np.float32)
    np.testing.assert_array_equal(forward('type: "ReLU"', x), [0, 0, 0, 0.5, 3])
    np.testing.assert_allclose(forward('type: "ReLU" relu_param { negative_slope: 0.1 }', x),
                               [-0.2, -0.05, 0, 0.5, 3], rtol=1e-6)


def test_relu_gradient_is_zero_at_zero():
    _, dx = run(make('type: "ReLU"'), np.zeros(3, np.float32), np.ones(3, np.float32))
    np.testing.assert_array_equal(dx, 0)


def test_sigmoid_and_bnll_saturate_without_overflow():
    x = np.array([-200, -30, 0, 30, 200], np.float32)
    with np.errstate(over='raise', invalid='raise'):
        np.testing.assert_allclose(forward('type: "Sigmoid"', x), [0, 0, 0.5, 1, 1], atol=1e-12)
        np.testing.assert_allclose(forward('type: "BNLL"', x),
                                   [0, 9.357623e-14, np.log(2), 30, 200], rtol=1e-6)


def test_elu_and_absval_values():
    x = np.array([-1, 0, 2], np.float32)
    np.testing.assert_allclose(forward('type: "ELU" elu_param { alpha: 0.5 }', x),
                               [0.5 * (np.exp(-1) - 1), 0, 2], rtol=1e-6)
    np.testing.assert_array_equal(forward('type: "AbsVal"', x), [1, 0, 2])
    _, dx = run(make('type: "AbsVal"'), x, np.full(3, 2, np.float32))
    np.testing.assert_array_equal(dx, [-2, 0, 2])


@pytest.mark.parametrize('params, expected', [
    ('power: 0 scale: 3 shift: 2', 1.0),          # x^0 = 1 even for shift 0
    ('power: 2 scale: 0 shift: 3', 9.0),          # scale 0: shift^power
    ('power: 0.5 scale: 0 shift: 0', 0.0),
])
def test_power_constant_cases(params, expected):
    layer = make('type: "Power" power_param { %s }' % params)
    y, dx = run(layer, gaussian(), gaussian(seed=1))
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(dx, 0)


def test_power_values_and_caffe_shift_zero_gradient():
    x = np.array([0, 1, 2], np.float32)
    text = 'type: "Power" power_param { power: 3 scale: 2 }'
    y, dx = run(make(text), x, np.ones(3, np.float32))
    np.testing.assert_allclose(y, [0, 8, 64])
    # Caffe computes power * y / x here, so x = 0 gives 0/0 = NaN.
    assert np.isnan(dx[0])
    np.testing.assert_allclose(dx[1:], [24, 96], rtol=1e-6)


def test_exp_and_log_bases():
    x = np.array([-1, 0, 0.5, 2], np.float32)
    np.testing.assert_allclose(forward('type: "Exp" exp_param { shift: 1 scale: 2 }', x),
                               np.exp(1 + 2 * x.astype(np.float64)), rtol=1e-6)
    np.testing.assert_allclose(forward('type: "Exp" exp_param { base: 3 shift: -1 }', x),
                               3.0 ** (x - 1.0), rtol=1e-6)
    pos = np.array([0.5, 1, 8, 100], np.float32)
    np.testing.assert_allclose(forward('type: "Log" log_param { base: 2 }', pos),
                               np.log2(pos), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(forward('type: "Log" log_param { scale: 3 shift: 1 }', pos),
                               np.log(3 * pos + 1.0), rtol=1e-6)


@pytest.mark.parametrize('text', ['type: "Exp" exp_param { base: -2 }',
                                  'type: "Log" log_param { base: 0 }',
                                  'type: "Log" log_param { base: 1 }'])
def test_bad_bases_rejected(text):
    with pytest.raises(LayerError):
        run(make(text), gaussian())


def test_threshold_forward_and_no_backward():
    x = np.array([-1, 0.2, 0.3, 5], np.float32)
    np.testing.assert_array_equal(
        forward('type: "Threshold" threshold_param { threshold: 0.2 }', x), [0, 0, 1, 1])
    with pytest.raises(LayerError, match='cannot backpropagate'):
        run(make('type: "Threshold"'), x, np.ones(4, np.float32))


def test_clip_values_and_caffe_order_when_min_exceeds_max():
    x = np.array([-3, -0.5, 0, 0.8, 3], np.float32)
    y, dx = run(make('type: "Clip" clip_param { min: -0.5 max: 0.8 }'), x,
                np.ones(5, np.float32))
    np.testing.assert_array_equal(y, np.float32([-0.5, -0.5, 0, 0.8, 0.8]))
    np.testing.assert_array_equal(dx, [0, 1, 1, 1, 0])     # bounds included
    np.testing.assert_array_equal(forward('type: "Clip" clip_param { min: 1 max: -1 }', x), 1)


def test_swish_values():
    x = np.array([-2, 0, 1.5], np.float32)
    expected = x / (1 + np.exp(-1.5 * x.astype(np.float64)))
    np.testing.assert_allclose(forward('type: "Swish" swish_param { beta: 1.5 }', x),
                               expected, rtol=1e-6, atol=1e-7)


# --- Dropout ---------------------------------------------------------------
def dropout(ratio, phase):
    return make('type: "Dropout" dropout_param { dropout_ratio: %g }' % ratio, phase)


def test_dropout_train_statistics_and_scaling():
    backend.set_random_seed(1701)
    x = np.random.RandomState(0).uniform(1, 2, size=(50, 40, 10)).astype(np.float32)
    dy = np.random.RandomState(1).randn(*x.shape).astype(np.float32)
    y, dx = run(dropout(0.3, caffe_pb2.TRAIN), x, dy)
    kept = y != 0
    assert abs(kept.mean() - 0.7) < 0.01
    np.testing.assert_allclose(y[kept], x[kept] / np.float32(0.7), rtol=1e-6)
    # The backward uses the forward's mask and scale.
    np.testing.assert_array_equal(dx != 0, kept)
    np.testing.assert_allclose(dx[kept], dy[kept] / np.float32(0.7), rtol=1e-6)
    # The expectation is preserved.
    assert abs(y.mean() / x.mean() - 1) < 0.01


def test_dropout_masks_follow_the_seed():
    x = np.ones((1000,), np.float32)
    masks = []
    for seed in (5, 5, 6):
        backend.set_random_seed(seed)
        masks.append(run(dropout(0.5, caffe_pb2.TRAIN), x)[0] != 0)
    assert (masks[0] == masks[1]).all() and not (masks[0] == masks[2]).all()


def test_dropout_test_phase_is_identity():
    x, dy = gaussian(), gaussian(seed=1)
    y, dx = run(dropout(0.7, caffe_pb2.TEST), x, dy)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(dx, dy)


def test_dropout_ratio_one_rejected():
    with pytest.raises(LayerError):
        run(dropout(1.0, caffe_pb2.TRAIN), gaussian())


# --- PReLU -----------------------------------------------------------------
def test_prelu_default_slope_and_accumulating_param_diff():
    layer = make('type: "PReLU"')
    x, dy = gaussian(), gaussian(seed=1)
    y, _ = run(layer, x, dy)
    assert layer.blobs[0].shape == (3,)
    np.testing.assert_array_equal(layer.blobs[0].data, 0.25)
    np.testing.assert_allclose(y, np.where(x > 0, x, 0.25 * x), rtol=1e-6)
    expected = (dy * x * (x <= 0)).sum(axis=(0, 2, 3))
    np.testing.assert_allclose(layer.blobs[0].diff, expected, rtol=1e-5)
    # Caffe accumulates param diffs across backward passes.
    bottom, top = Blob(x.shape), Blob(x.shape)
    bottom.data[...], top.diff[...] = x, dy
    layer.layer_forward([bottom], [top])
    layer.layer_backward([top], [False], [bottom])
    np.testing.assert_allclose(layer.blobs[0].diff, 2 * expected, rtol=1e-5)


def test_prelu_shared_is_a_scalar_blob():
    layer = make('type: "PReLU" prelu_param { channel_shared: true }')
    x, dy = gaussian(), gaussian(seed=1)
    run(layer, x, dy)
    assert layer.blobs[0].shape == ()
    np.testing.assert_allclose(layer.blobs[0].diff, (dy * x * (x <= 0)).sum(), rtol=1e-5)


def test_prelu_keeps_existing_slopes_and_checks_their_count():
    layer = make('type: "PReLU"')
    layer.add_param((3,)).data[...] = [0.1, 0.2, 0.3]
    y, _ = run(layer, -np.ones(SHAPE, np.float32))
    np.testing.assert_allclose(y[0, :, 0, 0], [-0.1, -0.2, -0.3], rtol=1e-6)
    wrong = make('type: "PReLU"')
    wrong.add_param((4,))
    with pytest.raises(LayerError, match='slope'):
        run(wrong, gaussian())


# --- inside a Net ----------------------------------------------------------
IN_PLACE_NET = '''name: "inplace"
force_backward: true
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 2 dim: 3 dim: 4 dim: 5 } } }
layer { name: "relu" type: "ReLU" bottom: "data" top: "data"
        relu_param { negative_slope: 0.2 } }
layer { name: "tanh" type: "TanH" bottom: "data" top: "data" }
'''


def test_in_place_stack_in_a_net(tmp_path):
    path = tmp_path / 'net.prototxt'
    path.write_text(IN_PLACE_NET)
    net = caffe.Net(str(path), caffe.TEST)
    assert list(net.blobs) == ['data']
    x, dy = gaussian(), gaussian(seed=1)
    y = net.forward(data=x)['data'].copy()
    leaky = np.where(x > 0, x, np.float32(0.2) * x)
    np.testing.assert_allclose(y, np.tanh(leaky), rtol=1e-6, atol=1e-7)
    dx = net.backward(data=dy)['data']
    expected = dy * (1 - np.tanh(leaky) ** 2) * np.where(x > 0, 1, 0.2)
    np.testing.assert_allclose(dx, expected, rtol=1e-5, atol=1e-7)
