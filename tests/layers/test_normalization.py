"""Normalization layers (LRN, BatchNorm, MVN): gradient checks, forward
values against independent NumPy formulations, BatchNorm's running
statistics and parameter handling."""
import numpy as np
import pytest
from google.protobuf import text_format

import caffelite as caffe
from caffelite.errors import LayerError
from caffelite.gradient_check import check_gradient
from caffelite.ops import lrn
from caffelite.proto import caffe_pb2
from layer_helpers import LayerCase, gradient_test, make, normal, run, setup


def gaussian(shape, seed=0, scale=1.0):
    return (np.random.RandomState(seed).randn(*shape) * scale).astype(np.float32)


def gradient_ok(layer, x, **kw):
    bottom, top = setup(layer, x)
    assert check_gradient(layer, bottom, top, **kw) > 0


GRADIENT_CASES = [
    LayerCase('lrn_across', 'type: "LRN" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 k: 2 }',
              [normal(2, 5, 2, 2)]),
    LayerCase('lrn_within', 'type: "LRN" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 '
              'norm_region: WITHIN_CHANNEL }',
              [normal(1, 2, 4, 4)]),
    LayerCase('batchnorm_train', 'type: "BatchNorm" phase: TRAIN',
              [normal(4, 3, 2)], options={'check_params': False}),
    LayerCase('mvn', 'type: "MVN"',
              [normal(2, 3, 4)]),
    LayerCase('mvn_across_channels', 'type: "MVN" mvn_param { across_channels: true }',
              [normal(2, 3, 4)]),
]
test_gradient = gradient_test(GRADIENT_CASES)


# --- LRN -------------------------------------------------------------------
def band(n, before, after):
    """(n, n) 0/1 matrix: row i selects columns i - before .. i + after."""
    d = np.arange(n)[None, :] - np.arange(n)[:, None]
    return ((d >= -before) & (d <= after)).astype(np.float64)


def lrn_across_reference(x, size, alpha, beta, k):
    pre = (size - 1) // 2
    sums = np.einsum('dc,nchw->ndhw', band(x.shape[1], pre, size - 1 - pre),
                     x.astype(np.float64) ** 2)
    return x * (k + alpha / size * sums) ** -beta


def lrn_within_reference(x, size, alpha, beta):
    """Box sums over size x size windows divided by size^2: with stride 1
    and padding (size - 1) / 2 every window fits the padded input, so
    Caffe's AVE pooling divides by the full window, even at the border."""
    pre = (size - 1) // 2
    h, w = x.shape[2:]
    sums = np.einsum('ih,nchw,jw->ncij', band(h, pre, pre), x.astype(np.float64) ** 2,
                     band(w, pre, pre))
    return x * (1 + alpha * sums / size ** 2) ** -beta


LRN_CASES = {
    'across_3': ('local_size: 3 alpha: 0.5 beta: 0.75', (2, 6, 3, 4)),
    'across_5_k2': ('local_size: 5 alpha: 2 beta: 0.6 k: 2', (2, 7, 3, 3)),
    'across_wider_than_channels': ('local_size: 7 alpha: 1 beta: 0.75', (1, 3, 3, 3)),
    'within_3': ('norm_region: WITHIN_CHANNEL local_size: 3 alpha: 2 beta: 0.75', (2, 2, 5, 4)),
    'within_5': ('norm_region: WITHIN_CHANNEL local_size: 5 alpha: 5 beta: 0.5', (1, 2, 6, 5)),
}


def lrn_layer(case):
    return make('type: "LRN" lrn_param { %s }' % LRN_CASES[case][0])


def lrn_reference(case, x):
    p = text_format.Parse(LRN_CASES[case][0], caffe_pb2.LRNParameter())
    if p.norm_region == caffe_pb2.LRNParameter.WITHIN_CHANNEL:
        return lrn_within_reference(x, p.local_size, p.alpha, p.beta)
    return lrn_across_reference(x, p.local_size, p.alpha, p.beta, p.k)


def lrn_reference_gradient(case, x, dy):
    """d/dx of sum(dy * y), in float64, from the formulas above: with
    y = x s^-beta and s = k + alpha / n * (window sums of x^2),
    dx = dy s^-beta - 2 alpha beta / n * x * (window sums, transposed, of
    dy x s^(-beta - 1))."""
    p = text_format.Parse(LRN_CASES[case][0], caffe_pb2.LRNParameter())
    x, dy = x.astype(np.float64), dy.astype(np.float64)
    pre = (p.local_size - 1) // 2
    if p.norm_region == caffe_pb2.LRNParameter.WITHIN_CHANNEL:
        n = p.local_size ** 2
        bh, bw = band(x.shape[2], pre, pre), band(x.shape[3], pre, pre)
        s = 1 + p.alpha / n * np.einsum('ih,nchw,jw->ncij', bh, x ** 2, bw)
        back = lambda t: np.einsum('ih,ncij,jw->nchw', bh, t, bw)
    else:
        n = p.local_size
        b = band(x.shape[1], pre, p.local_size - 1 - pre)
        s = p.k + p.alpha / n * np.einsum('dc,nchw->ndhw', b, x ** 2)
        back = lambda t: np.einsum('dc,ndhw->nchw', b, t)
    return dy * s ** -p.beta - 2 * p.alpha * p.beta / n * x * back(dy * x * s ** (-p.beta - 1))


@pytest.mark.parametrize('case', sorted(LRN_CASES))
def test_lrn_forward(case):
    x = gaussian(LRN_CASES[case][1])
    np.testing.assert_allclose(run(lrn_layer(case), x)[0], lrn_reference(case, x),
                               rtol=2e-6, atol=1e-7)


@pytest.mark.parametrize('case', sorted(LRN_CASES))
def test_lrn_gradient(case):
    gradient_ok(lrn_layer(case), gaussian(LRN_CASES[case][1]), stepsize=1e-2,
                threshold=1e-2)


@pytest.mark.parametrize('case', sorted(LRN_CASES))
def test_lrn_in_place(case):
    x = gaussian(LRN_CASES[case][1])
    dy = gaussian(x.shape, seed=1)
    y, dx = run(lrn_layer(case), x, dy)
    y2, dx2 = run(lrn_layer(case), x, dy, in_place=True)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(dx2, dx)
    # ... and that gradient is LRN's (both could share one wrong rule).
    np.testing.assert_allclose(dx2, lrn_reference_gradient(case, x, dy), rtol=1e-4, atol=1e-6)


def test_lrn_within_divides_by_full_window_at_the_border():
    x = np.zeros((1, 1, 4, 4), np.float32)
    x[0, 0, 0, 0] = 2
    y, scale = lrn.lrn_within_forward(x, 3, 9.0, 1.0)
    # The corner window holds 4 real pixels but Caffe divides by 9.
    assert scale[0, 0, 0, 0] == pytest.approx(1 + 9.0 * 4 / 9)
    assert scale[0, 0, 1, 1] == pytest.approx(5)
    assert scale[0, 0, 2, 2] == 1
    assert y[0, 0, 0, 0] == pytest.approx(2 / 5)


def test_lrn_across_ops_window_clipped_at_channel_edges():
    x = np.ones((1, 4, 1, 1), np.float32)
    y, scale = lrn.lrn_across_forward(x, 5, 5.0, 1.0, 1.0)
    # 5-channel windows clipped to 4 channels hold 3, 4, 4, 3 ones.
    np.testing.assert_allclose(scale.ravel(), [4, 5, 5, 4])
    np.testing.assert_allclose(y.ravel(), [0.25, 0.2, 0.2, 0.25])


def test_lrn_ops_backward_matches_finite_differences():
    x = gaussian((1, 5, 2, 2))
    dy = gaussian(x.shape, seed=1).astype(np.float64)
    y, scale = lrn.lrn_across_forward(x, 3, 1.5, 0.75, 1.0)
    dx = lrn.lrn_across_backward(x, y, scale, dy.astype(np.float32), 3, 1.5, 0.75)
    x64, eps = x.astype(np.float64), 1e-6
    numeric = np.zeros_like(x64)
    for i in range(x.size):
        step = np.zeros(x.size)
        step[i] = eps
        step = step.reshape(x.shape)
        plus = lrn_across_reference(x64 + step, 3, 1.5, 0.75, 1.0)
        minus = lrn_across_reference(x64 - step, 3, 1.5, 0.75, 1.0)
        numeric.flat[i] = ((plus - minus) * dy).sum() / (2 * eps)
    np.testing.assert_allclose(dx, numeric, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('params, shape', [('local_size: 4', (1, 3, 2, 2)),
                                           ('local_size: 3', (2, 3, 4))])
def test_lrn_rejects_even_size_and_non_4d(params, shape):
    with pytest.raises(LayerError):
        setup(make('type: "LRN" lrn_param { %s }' % params), gaussian(shape))


# --- BatchNorm ---------------------------------------------------------------
def batchnorm(extra='', phase=caffe_pb2.TRAIN):
    return make('type: "BatchNorm" batch_norm_param { %s }' % extra, phase)


def test_batchnorm_train_normalizes_each_channel():
    x = gaussian((4, 3, 2, 5), scale=3) + np.float32([1, -2, 5])[None, :, None, None]
    y, _ = run(batchnorm('eps: 0'), x)
    np.testing.assert_allclose(y.mean(axis=(0, 2, 3)), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(axis=(0, 2, 3)), 1, rtol=1e-5)


def test_batchnorm_running_statistics_after_train_forwards():
    fraction, eps = 0.9, 1e-3
    layer = batchnorm('moving_average_fraction: %g eps: %g' % (fraction, eps))
    batches = [gaussian((3, 2, 2, 2), seed=s, scale=s + 1) + s for s in range(3)]
    (bottom,), (top,) = setup(layer, batches[0])
    mean_sum, var_sum, factor = np.zeros(2), np.zeros(2), 0.0
    m = 3 * 2 * 2
    for x in batches:
        bottom.data[...] = x
        layer.layer_forward([bottom], [top])
        x64 = x.astype(np.float64)
        factor = fraction * factor + 1
        mean_sum = x64.mean(axis=(0, 2, 3)) + fraction * mean_sum
        var_sum = x64.var(axis=(0, 2, 3)) * m / (m - 1) + fraction * var_sum
    np.testing.assert_allclose(layer.blobs[2].data, [factor], rtol=1e-6)
    np.testing.assert_allclose(layer.blobs[0].data, mean_sum, rtol=1e-5)
    np.testing.assert_allclose(layer.blobs[1].data, var_sum, rtol=1e-5)

    # A TEST layer (use_global_stats by default) normalizes by those statistics.
    test_layer = batchnorm('eps: %g' % eps, caffe_pb2.TEST)
    for blob in layer.blobs:
        test_layer.add_param(blob.shape).data[...] = blob.data
    x = gaussian((2, 2, 3, 3), seed=7)
    y, _ = run(test_layer, x)
    mean = mean_sum / factor
    std = np.sqrt(var_sum / factor + eps)
    np.testing.assert_allclose(y, (x - mean[None, :, None, None]) / std[None, :, None, None],
                               rtol=1e-5, atol=1e-6)
    # ... and leaves them alone.
    np.testing.assert_allclose(test_layer.blobs[2].data, [factor], rtol=1e-6)


def test_batchnorm_zero_scale_factor_means_zero_statistics():
    x = gaussian((2, 3, 2, 2))
    y, _ = run(batchnorm('eps: 0.25', caffe_pb2.TEST), x)    # fresh blobs: all zero
    np.testing.assert_allclose(y, x / np.float32(0.5), rtol=1e-6)


def test_batchnorm_statistics_are_never_learned(tmp_path):
    layer = batchnorm()
    setup(layer, gaussian((2, 3)))
    assert [p.lr_mult for p in layer.layer_param.param] == [0, 0, 0]
    assert [b.shape for b in layer.blobs] == [(3,), (3,), (1,)]
    with pytest.raises(LayerError, match='statistics'):
        setup(make('type: "BatchNorm" param { lr_mult: 1 }'), gaussian((2, 3)))
    path = tmp_path / 'bn.prototxt'
    path.write_text('layer { name: "data" type: "Input" top: "data" '
                    'input_param { shape { dim: 2 dim: 3 } } }\n'
                    'layer { name: "bn" type: "BatchNorm" bottom: "data" top: "bn" }\n'
                    'layer { name: "loss" type: "EuclideanLoss" bottom: "bn" bottom: "data" '
                    'top: "loss" }\n')
    net = caffe.Net(str(path), caffe.TRAIN)
    assert net.params_lr == [0, 0, 0]
    assert net.layer_dict['bn'].param_propagate_down == [False, False, False]


@pytest.mark.parametrize('extra, shape, stats', [
    ('', (3, 2, 2, 3), False),
    ('eps: 0.01', (5, 4), False),
    ('use_global_stats: true', (2, 3, 2, 2), True),
])
def test_batchnorm_gradient(extra, shape, stats):
    layer = batchnorm(extra)
    if stats:
        channels = shape[1]
        layer.add_param((channels,)).data[...] = np.linspace(-1, 1, channels)
        layer.add_param((channels,)).data[...] = np.linspace(0.5, 2, channels)
        layer.add_param((1,)).data[...] = 2
    gradient_ok(layer, gaussian(shape), check_params=False, stepsize=1e-2, threshold=1e-2)


@pytest.mark.parametrize('extra', ['', 'use_global_stats: true'])
def test_batchnorm_in_place(extra):
    x, dy = gaussian((3, 2, 2, 2), scale=2), gaussian((3, 2, 2, 2), seed=1)
    layers = []
    for _ in range(2):
        layers.append(batchnorm(extra))
        for shape, value in (((2,), 0.3), ((2,), 1.5), ((1,), 1.0)):
            layers[-1].add_param(shape).data[...] = value
    y, dx = run(layers[0], x, dy)
    y2, dx2 = run(layers[1], x, dy, in_place=True)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(dx2, dx)


# --- MVN ---------------------------------------------------------------------
MVN_CASES = [('', (2, 3, 4, 5)),
             ('across_channels: true', (2, 3, 4, 5)),
             ('normalize_variance: false', (2, 3, 4, 5)),
             ('normalize_variance: false across_channels: true', (3, 2, 3, 2)),
             ('eps: 0.1', (4, 3, 2))]
# Caffe's MVN gradient ignores how eps scales with the std; it is exact only
# for eps << std, so the finite-difference checks use the default eps.
MVN_GRADIENT_CASES = [case for case in MVN_CASES if 'eps' not in case[0]]


def mvn_reference(x, across, normalize, eps):
    rows = x.astype(np.float64).reshape(x.shape[0] if across else x.shape[0] * x.shape[1], -1)
    y = rows - rows.mean(axis=1, keepdims=True)
    if normalize:
        y = y / (rows.std(axis=1, keepdims=True) + eps)
    return y.reshape(x.shape)


@pytest.mark.parametrize('extra, shape', MVN_CASES)
def test_mvn_forward(extra, shape):
    x = gaussian(shape, scale=2) + 1
    p = text_format.Parse(extra, caffe_pb2.MVNParameter())
    y, _ = run(make('type: "MVN" mvn_param { %s }' % extra), x)
    np.testing.assert_allclose(y, mvn_reference(x, p.across_channels, p.normalize_variance,
                                                p.eps), rtol=1e-5, atol=1e-6)


def test_mvn_eps_is_added_to_the_std():
    x = np.float32([[[1, 3]]])          # mean 2, std 1
    y, _ = run(make('type: "MVN" mvn_param { eps: 1 }'), x)
    np.testing.assert_allclose(y, [[[-0.5, 0.5]]])


@pytest.mark.parametrize('extra, shape', MVN_GRADIENT_CASES)
def test_mvn_gradient(extra, shape):
    gradient_ok(make('type: "MVN" mvn_param { %s }' % extra), gaussian(shape),
                stepsize=1e-2, threshold=1e-2)


@pytest.mark.parametrize('extra, shape', MVN_CASES)
def test_mvn_in_place(extra, shape):
    x, dy = gaussian(shape), gaussian(shape, seed=1)
    y, dx = run(make('type: "MVN" mvn_param { %s }' % extra), x, dy)
    y2, dx2 = run(make('type: "MVN" mvn_param { %s }' % extra), x, dy, in_place=True)
    np.testing.assert_array_equal(y2, y)
    np.testing.assert_array_equal(dx2, dx)


def test_mvn_backward_is_caffes_formula_for_large_eps():
    x, dy = gaussian((2, 3, 4)), gaussian((2, 3, 4), seed=1).astype(np.float64)
    y, dx = run(make('type: "MVN" mvn_param { eps: 0.5 }'), x, dy.astype(np.float32))
    rows = x.astype(np.float64).reshape(6, -1)
    y64, g = y.astype(np.float64).reshape(6, -1), dy.reshape(6, -1)
    expected = ((g - g.mean(axis=1, keepdims=True) - y64 * (g * y64).mean(axis=1, keepdims=True))
                / (rows.std(axis=1, keepdims=True) + 0.5))
    np.testing.assert_allclose(dx, expected.reshape(x.shape), rtol=1e-5, atol=1e-6)
