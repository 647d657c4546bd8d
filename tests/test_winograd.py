"""caffelite.winograd: F(2x2, 3x3) against direct convolution and F(3x3,
2x2) against the im2col weight gradient, in float64 (the error its
docstring states), and Convolution/Deconvolution layers that use them
giving the im2col path's results, weight gradients included."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import geometry, winograd
from caffelite.layers import vision
from caffelite.ops import im2col
from test_threads import forward_backward


def direct(x, w, pad):
    """The 3x3 stride-1 convolution of x with w in float64, by im2col."""
    window = geometry.ConvWindow((3, 3), (1, 1), pad, (1, 1))
    out = geometry.conv_shape(x.shape[2:], window)
    cols = im2col.im2col(x.astype(np.float64), window, out)
    y = w.reshape(w.shape[0], -1).astype(np.float64) @ cols
    return y.reshape((w.shape[0], x.shape[0]) + out).transpose(1, 0, 2, 3)


def in_thirds(length, fn):
    for part in np.array_split(np.arange(length), 3):
        if len(part):
            fn(slice(part[0], part[-1] + 1))


# (n, C, H, W, O): the 16 GEMMs split by tiles (more tiles than outputs)
# or, for the last, by output channels.
@pytest.mark.parametrize('shape, pad', [((1, 8, 7, 9, 5), (1, 1)), ((2, 3, 6, 6, 4), (0, 0)),
                                        ((1, 16, 10, 11, 8), (2, 1)), ((3, 4, 5, 5, 6), (1, 1)),
                                        ((1, 4, 3, 3, 12), (1, 1))])
def test_forward_and_data_gradient_match_direct_convolution(shape, pad):
    n, c, h, w, o = shape
    rng = np.random.RandomState(sum(shape))
    x = rng.randn(n, c, h, w).astype(np.float32)
    weights = rng.randn(o, c, 3, 3).astype(np.float32)
    ref = direct(x, weights, pad)
    y = np.empty(ref.shape, np.float32)
    winograd.convolve(x, winograd.kernel_transform(weights), pad, y, in_thirds)
    assert np.abs(y - ref).max() <= 1e-6 * np.abs(ref).max()
    # The data gradient: the flipped, transposed kernel with padding 2 - pad.
    dy = rng.randn(*ref.shape).astype(np.float32)
    dx = np.empty(x.shape, np.float32)
    winograd.convolve(dy, winograd.kernel_transform(winograd.transposed_weights(weights)),
                      tuple(2 - p for p in pad), dx, in_thirds)
    ref_dx = direct(dy, winograd.transposed_weights(weights), tuple(2 - p for p in pad))
    assert np.abs(dx - ref_dx).max() <= 1e-6 * np.abs(ref_dx).max()


@pytest.mark.parametrize('shape, pad', [((2, 3, 6, 7, 4), (1, 1)), ((1, 5, 5, 5, 2), (0, 0)),
                                        ((3, 4, 7, 6, 3), (2, 2)), ((2, 16, 13, 13, 8), (1, 0))])
def test_weight_gradient_matches_the_im2col_product(shape, pad):
    """F(3x3, 2x2): the correlation of the padded input with the output
    gradient, against im2col and one product in float64."""
    n, c, h, w, o = shape
    rng = np.random.RandomState(sum(shape))
    x = rng.randn(n, c, h, w).astype(np.float32)
    window = geometry.ConvWindow((3, 3), (1, 1), pad, (1, 1))
    out = geometry.conv_shape((h, w), window)
    dy = rng.randn(n, o, *out).astype(np.float32)
    cols = im2col.im2col(x.astype(np.float64), window, out)
    ref = (dy.astype(np.float64).transpose(1, 0, 2, 3).reshape(o, -1) @ cols.T).reshape(
        o, c, 3, 3)
    dw = winograd.weight_gradient(x, dy, pad, in_thirds)
    assert dw.shape == (o, c, 3, 3)
    assert np.abs(dw - ref).max() <= 1e-6 * np.abs(ref).max()


NET = '''force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: %d dim: 4 dim: 7 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 group: 2
                            weight_filler { type: "gaussian" std: 0.3 }
                            bias_filler { type: "gaussian" std: 0.3 } } }
layer { name: "up" type: "Deconvolution" bottom: "conv" top: "up"
        convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 0.3 } } }
'''


def run(batch, min_channels, monkeypatch):
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_CHANNELS', min_channels)
    return forward_backward(NET % batch, 'up', ('conv', 'up'))


@pytest.mark.parametrize('batch', [1, 3])
def test_layers_with_winograd_give_the_im2col_results(batch, monkeypatch):
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_CHANNELS', 1)
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_TILES', 1)
    net = caffe.Net(NET % batch, caffe.TRAIN)
    assert all(net.layer_dict[name]._uses_winograd(batch) for name in ('conv', 'up'))
    for ours, ref in zip(run(batch, 1, monkeypatch), run(batch, 10 ** 6, monkeypatch)):
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_winograd_needs_enough_output_tiles(monkeypatch):
    """4x3 tiles of 2x2 outputs per image (the 7x6 plane): 12 at batch 1,
    36 at batch 3."""
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_CHANNELS', 1)
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_TILES', 36)
    conv = caffe.Net(NET % 1, caffe.TRAIN).layer_dict['conv']
    assert not conv._uses_winograd(1) and conv._uses_winograd(3)
