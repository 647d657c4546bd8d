"""Vision layers (Convolution, Deconvolution, Im2col, Pooling, SPP) and
their ops: forward values against naive NumPy references written here
(loops over output positions, Caffe's own window rules), finite-difference
gradient checks over parameter variants, im2col/col2im adjointness, and the
errors Caffe raises. Caffe's own outputs are checked by
tests/test_reference_layers.py."""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from caffelite import geometry
from caffelite.blob import Blob
from caffelite.errors import LayerError
from caffelite.gradient_check import check_gradient
from caffelite.ops import im2col as im2col_op
from caffelite.ops import pooling as pool_op
from caffelite.proto import caffe_pb2
from layer_helpers import (LayerCase, blob, build, forward_backward, gradient_test, make,
                           normal)

FLT_MAX = np.finfo(np.float32).max
FILLERS = 'weight_filler { type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" }'


def setup(text, *inputs, num_tops=1, phase=caffe_pb2.TEST, seed=3):
    """(layer, bottom blobs, top blobs), set up and forwarded."""
    return build(text, *inputs, tops=num_tops, phase=phase, seed=seed)


GRADIENT_CASES = [
    LayerCase('conv', 'type: "Convolution" convolution_param { num_output: 3 kernel_size: 3 pad: '
              '1 weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
              [normal(2, 2, 5, 4)]),
    LayerCase('conv_group_stride_dilation', 'type: "Convolution" convolution_param { num_output: '
              '4 group: 2 kernel_h: 2 kernel_w: 3 stride: 2 dilation: 2 pad: 1 weight_filler { '
              'type: "gaussian" } }',
              [normal(2, 4, 7, 7)]),
    # One image and a 1x1 output: the weight gradient is an outer product.
    LayerCase('conv_one_output_position', 'type: "Convolution" convolution_param { num_output: '
              '3 kernel_size: 3 weight_filler { type: "gaussian" } }',
              [normal(1, 2, 3, 3)]),
    # One output channel: the data gradient's product has an inner dimension of 1.
    LayerCase('conv_one_output_channel', 'type: "Convolution" convolution_param { num_output: '
              '1 kernel_size: 3 pad: 1 weight_filler { type: "gaussian" } }',
              [normal(2, 2, 4, 4)]),
    LayerCase('deconv', 'type: "Deconvolution" convolution_param { num_output: 2 kernel_size: 3 '
              'stride: 2 pad: 1 weight_filler { type: "gaussian" } bias_filler { type: '
              '"gaussian" } }',
              [normal(2, 3, 3, 4)]),
    LayerCase('im2col', 'type: "Im2col" convolution_param { kernel_size: 2 stride: 1 pad: 1 }',
              [normal(1, 2, 3, 3)]),
    LayerCase('pool_max', 'type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2 '
              'pad: 1 }',
              [normal(2, 2, 6, 5)]),
    LayerCase('pool_ave', 'type: "Pooling" pooling_param { pool: AVE kernel_size: 3 stride: 2 '
              'pad: 1 }',
              [normal(2, 2, 6, 5)]),
    LayerCase('spp', 'type: "SPP" spp_param { pyramid_height: 2 pool: AVE }',
              [normal(1, 2, 5, 6)]),
]
test_gradient = gradient_test(GRADIENT_CASES)


def gaussian(*shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype(np.float32)


def distinct(*shape, seed=0, gap=0.05):
    """Values at least ``gap`` apart, so finite differences never swap a max."""
    size = int(np.prod(shape))
    return (np.random.RandomState(seed).permutation(size) * gap - size * gap / 2).astype(
        np.float32).reshape(shape)


def spatial_ranges(shape):
    return itertools.product(*map(range, shape))


# --- naive references ------------------------------------------------------------------

def window_slices(position, window):
    """Slices of the (padded) input covered by an output position."""
    return tuple(slice(o * s, o * s + d * (k - 1) + 1, d)
                 for o, k, s, d in zip(position, window.kernel, window.stride, window.dilation))


def pad_input(x, pad):
    return np.pad(x, ((0, 0), (0, 0)) + tuple((p, p) for p in pad))


def naive_conv(x, w, b, window, group):
    """y[n, m, o] = b[m] + sum over m's group channels and taps of w * x."""
    n, c = x.shape[:2]
    m = w.shape[0]
    out = geometry.conv_shape(x.shape[2:], window)
    xp = pad_input(x.astype(np.float64), window.pad)
    y = np.zeros((n, m) + out)
    cg, mg = c // group, m // group
    for position in spatial_ranges(out):
        for g in range(group):
            patch = xp[(slice(None), slice(g * cg, (g + 1) * cg)) + window_slices(position, window)]
            axes = list(range(1, patch.ndim))
            y[(slice(None), slice(g * mg, (g + 1) * mg)) + position] = np.tensordot(
                patch, w[g * mg:(g + 1) * mg], axes=(axes, axes))
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def naive_deconv(x, w, b, window, group):
    """Scatter each input pixel times its filter into the padded output."""
    n, c = x.shape[:2]
    mg = w.shape[1]
    out = geometry.deconv_shape(x.shape[2:], window)
    y = np.zeros((n, mg * group) + tuple(o + 2 * p for o, p in zip(out, window.pad)))
    cg = c // group
    for position in spatial_ranges(x.shape[2:]):
        for g in range(group):
            value = np.tensordot(x[(slice(None), slice(g * cg, (g + 1) * cg)) + position],
                                 w[g * cg:(g + 1) * cg], axes=(1, 0))
            y[(slice(None), slice(g * mg, (g + 1) * mg)) + window_slices(position, window)] += value
    y = y[(slice(None), slice(None)) + tuple(slice(p, p + o) for p, o in zip(window.pad, out))]
    if b is not None:
        y += b.reshape((1, -1) + (1,) * len(out))
    return y


def naive_pool(x, method, kernel, stride, pad, out):
    """Caffe's CPU pooling loops, vectorized over (N, C): (top, mask)."""
    n, c, h, w = x.shape
    top = np.zeros((n, c) + out, np.float32)
    mask = np.full((n, c) + out, -1)
    for oy, ox in spatial_ranges(out):
        hs, ws = oy * stride[0] - pad[0], ox * stride[1] - pad[1]
        he, we = min(hs + kernel[0], h + pad[0]), min(ws + kernel[1], w + pad[1])
        size = (he - hs) * (we - ws)
        hs, ws, he, we = max(hs, 0), max(ws, 0), min(he, h), min(we, w)
        if method == 'MAX':
            best = np.full((n, c), -FLT_MAX, np.float32)
            where = np.full((n, c), -1)
            for yy, xx in itertools.product(range(hs, he), range(ws, we)):
                better = x[:, :, yy, xx] > best
                best = np.where(better, x[:, :, yy, xx], best)
                where = np.where(better, yy * w + xx, where)
            top[:, :, oy, ox], mask[:, :, oy, ox] = best, where
        else:
            with np.errstate(divide='ignore', invalid='ignore'):
                top[:, :, oy, ox] = x[:, :, hs:he, ws:we].sum(axis=(2, 3)) / np.float32(size)
    return top, mask


def naive_stochastic(x, kernel, stride, out, uniform):
    """Caffe's GPU stochastic pooling (unpadded windows): TRAIN (top, index)
    for the given uniform draws, and the TEST top."""
    n, c, h, w = x.shape
    train = np.zeros((n, c) + out, np.float32)
    index = np.full((n, c) + out, -1)
    test = np.zeros((n, c) + out, np.float32)
    for b, ch, oy, ox in spatial_ranges((n, c) + out):
        rows = range(oy * stride[0], min(oy * stride[0] + kernel[0], h))
        cols = range(ox * stride[1], min(ox * stride[1] + kernel[1], w))
        values = [(x[b, ch, yy, xx], yy * w + xx) for yy in rows for xx in cols]
        total = np.float32(sum(v for v, _ in values))
        test[b, ch, oy, ox] = sum(v * v for v, _ in values) / total if total > 0 else 0
        threshold = np.float32(uniform[b, ch, oy, ox]) * total
        running = np.float32(0)
        for v, i in values:
            running += v
            if running >= threshold:
                train[b, ch, oy, ox], index[b, ch, oy, ox] = v, i
                break
    return train, index, test


# --- im2col / col2im ---------------------------------------------------------------------

conv_geometries = st.integers(1, 3).flatmap(lambda d: st.tuples(
    st.integers(1, 2), st.integers(1, 3),
    st.lists(st.integers(1, 6), min_size=d, max_size=d),
    st.lists(st.integers(1, 3), min_size=d, max_size=d),
    st.lists(st.integers(1, 3), min_size=d, max_size=d),
    st.lists(st.integers(0, 2), min_size=d, max_size=d),
    st.lists(st.integers(1, 2), min_size=d, max_size=d),
    st.integers(0, 2 ** 16)))


@settings(max_examples=60, deadline=None)
@given(conv_geometries, st.booleans())
def test_col2im_is_the_adjoint_of_im2col(g, batch_last):
    """<col2im(c), x> == <c, im2col(x)> for N-d geometries (1 to 3 axes),
    in either column order."""
    n, c, spatial, kernel, stride, pad, dilation, seed = g
    window = geometry.ConvWindow(tuple(kernel), tuple(stride), tuple(pad), tuple(dilation))
    out = geometry.conv_shape(spatial, window)
    if min(out) <= 0:
        return
    rng = np.random.RandomState(seed)
    x = rng.randn(n, c, *spatial)
    cols = im2col_op.im2col(x, window, out, batch_last=batch_last)
    assert cols.shape == (c * np.prod(kernel), n * np.prod(out))
    other = rng.randn(*cols.shape)
    back = im2col_op.col2im(other, x.shape, window, out, batch_last=batch_last)
    assert back.shape == x.shape
    np.testing.assert_allclose(np.vdot(back, x), np.vdot(other, cols), rtol=1e-10)


@pytest.mark.parametrize('spatial, window', [
    ((5, 6), geometry.ConvWindow((3, 2), (2, 1), (1, 0), (1, 2))),
    ((4, 3, 5), geometry.ConvWindow((2, 1, 3), (1, 2, 1), (0, 1, 1), (2, 1, 1))),
    ((7,), geometry.ConvWindow((3,), (2,), (1,), (2,))),
])
def test_im2col_layout(spatial, window):
    """cols[(c*k1 + i1)*k2 + i2 ..., (n*o1 + y1)*o2 + y2 ...] = padded x at
    y*stride + i*dilation: Caffe's patch matrix, batch in the columns; the
    batch-last columns are ((y1*o2 + y2 ...)*N + n)."""
    x = gaussian(2, 3, *spatial)
    out = geometry.conv_shape(spatial, window)
    cols = im2col_op.im2col(x, window, out)
    xp = pad_input(x, window.pad)
    expected = np.empty((3,) + window.kernel + (2,) + out, np.float32)
    for position in spatial_ranges(out):
        patch = xp[(slice(None), slice(None)) + window_slices(position, window)]
        expected[(Ellipsis,) + position] = np.moveaxis(patch, 0, -1)
    np.testing.assert_array_equal(cols, expected.reshape(cols.shape))
    batch_last = np.moveaxis(expected, 1 + len(spatial), -1)
    np.testing.assert_array_equal(im2col_op.im2col(x, window, out, batch_last=True),
                                  batch_last.reshape(cols.shape))


# --- Convolution -----------------------------------------------------------------------

CONV_CASES = {
    'basic': ('kernel_size: 3', (2, 3, 5, 6), 4, 1),
    'pad_stride': ('kernel_size: 3 stride: 2 pad: 1', (2, 2, 7, 6), 3, 1),
    'rect': ('kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0',
             (1, 2, 5, 7), 2, 1),
    'group_dilation': ('kernel_size: 3 dilation: 2 pad: 2 group: 2', (2, 4, 6, 6), 6, 2),
    'per_axis_repeated': ('kernel_size: 2 kernel_size: 3 stride: 2 stride: 1 dilation: 1 '
                          'dilation: 2', (2, 2, 6, 7), 2, 1),
    'pointwise_per_image': ('kernel_size: 1 group: 2', (2, 4, 12, 12), 6, 2),
    'pointwise_one_image': ('kernel_size: 1', (1, 3, 3, 4), 5, 1),
    'pointwise_small_planes': ('kernel_size: 1 group: 3', (3, 6, 2, 3), 3, 3),
    'one_by_one_stride': ('kernel_size: 1 stride: 2', (2, 3, 5, 5), 2, 1),
    'three_d': ('kernel_size: 2 kernel_size: 3 kernel_size: 2 pad: 1 stride: 2',
                (2, 2, 4, 5, 3), 3, 1),
    'one_d': ('kernel_size: 3 dilation: 2 pad: 1', (2, 3, 9), 2, 1),
    'no_bias': ('kernel_size: 3 bias_term: false', (1, 2, 4, 4), 2, 1),
}


def conv_text(kind, params, num_output):
    return ('type: "%s" convolution_param { num_output: %d %s %s }'
            % (kind, num_output, params, FILLERS))


def params_of(layer):
    w = layer.blobs[0].data.astype(np.float64)
    b = layer.blobs[1].data.astype(np.float64) if len(layer.blobs) > 1 else None
    return w, b


@pytest.mark.parametrize('case', sorted(CONV_CASES))
def test_convolution_forward(case):
    params, shape, num_output, group = CONV_CASES[case]
    x = gaussian(*shape)
    layer, _, top = setup(conv_text('Convolution', params, num_output), x)
    w, b = params_of(layer)
    expected = naive_conv(x.astype(np.float64), w, b, layer.window, group)
    assert top[0].shape == expected.shape
    np.testing.assert_allclose(top[0].data, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('case', sorted(CONV_CASES))
def test_convolution_gradient(case):
    params, shape, num_output, _ = CONV_CASES[case]
    layer, bottom, top = setup(conv_text('Convolution', params, num_output), gaussian(*shape))
    check_gradient(layer, bottom, top, max_elements=60)


DECONV_CASES = {
    'basic': ('kernel_size: 3 stride: 2 pad: 1', (2, 3, 3, 4), 2, 1),
    'group_dilation': ('kernel_size: 2 stride: 2 dilation: 2 group: 2', (1, 4, 3, 3), 4, 2),
    'rect': ('kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 3 pad_h: 1', (2, 2, 3, 3), 3, 1),
    'pointwise': ('kernel_size: 1 group: 2', (2, 2, 12, 11), 4, 2),
    'three_d': ('kernel_size: 2 stride: 2 stride: 1 stride: 2', (1, 2, 2, 3, 2), 2, 1),
    'no_bias': ('kernel_size: 4 stride: 2 pad: 1 bias_term: false', (1, 2, 3, 3), 2, 1),
}


@pytest.mark.parametrize('case', sorted(DECONV_CASES))
def test_deconvolution_forward(case):
    params, shape, num_output, group = DECONV_CASES[case]
    x = gaussian(*shape)
    layer, _, top = setup(conv_text('Deconvolution', params, num_output), x)
    w, b = params_of(layer)
    assert w.shape[:2] == (shape[1], num_output // group)
    expected = naive_deconv(x.astype(np.float64), w, b, layer.window, group)
    assert top[0].shape == expected.shape
    np.testing.assert_allclose(top[0].data, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('case', sorted(DECONV_CASES))
def test_deconvolution_gradient(case):
    params, shape, num_output, _ = DECONV_CASES[case]
    layer, bottom, top = setup(conv_text('Deconvolution', params, num_output), gaussian(*shape))
    check_gradient(layer, bottom, top, max_elements=60)


@pytest.mark.parametrize('kind', ['Convolution', 'Deconvolution'])
def test_channel_axis_folds_leading_axes(kind):
    """axis: 2 on (2, 3, C, H, W) is the axis-1 layer on (6, C, H, W)."""
    params = 'kernel_size: 3 stride: 2 pad: 1'
    x = gaussian(2, 3, 4, 5, 5)
    folded, _, folded_top = setup(conv_text(kind, params, 2), x.reshape(6, 4, 5, 5))
    layer = make(conv_text(kind, params + ' axis: 2', 2))
    layer.blobs = folded.blobs
    bottom, top = [blob(x)], [Blob()]
    layer.layer_setup(bottom, top)
    layer.layer_forward(bottom, top)
    assert top[0].shape == (2, 3) + folded_top[0].shape[1:]
    np.testing.assert_allclose(top[0].data.reshape(folded_top[0].shape), folded_top[0].data,
                               rtol=1e-6)
    check_gradient(layer, bottom, top, max_elements=40)


def test_convolution_without_spatial_axes_is_an_inner_product():
    x = gaussian(3, 4)
    layer, _, top = setup(conv_text('Convolution', 'kernel_size: 1', 2), x)
    w, b = params_of(layer)
    assert w.shape == (2, 4)
    np.testing.assert_allclose(top[0].data, x @ w.T + b, rtol=1e-5, atol=1e-6)


def test_convolution_several_bottoms_and_accumulated_param_diffs():
    x1, x2 = gaussian(1, 2, 4, 4, seed=1), gaussian(1, 2, 4, 4, seed=2)
    layer, bottom, top = setup(conv_text('Convolution', 'kernel_size: 3 pad: 1', 3), x1, x2,
                               num_tops=2)
    w, b = params_of(layer)
    for x, t in zip((x1, x2), top):
        np.testing.assert_allclose(t.data, naive_conv(x, w, b, layer.window, 1), rtol=1e-4,
                                   atol=1e-5)
    for t in top:
        t.diff[...] = 1
    for param in layer.blobs:
        param.diff[...] = 0
    layer.layer_backward(top, [True, True], bottom)
    once = [p.diff.copy() for p in layer.blobs]
    layer.layer_backward(top, [True, True], bottom)
    for p, first in zip(layer.blobs, once):
        np.testing.assert_allclose(p.diff, 2 * first, rtol=1e-6)
    # The bias gradient of an all-ones top diff counts every output of both tops.
    np.testing.assert_allclose(once[1], np.full(3, 2 * 16), rtol=1e-6)


@pytest.mark.parametrize('text, shape, message', [
    ('num_output: 3 kernel_size: 3 group: 2', (1, 4, 5, 5), 'multiple of group'),
    ('num_output: 4 kernel_size: 3 group: 3', (1, 3, 5, 5), 'multiple of group'),
    ('num_output: 0 kernel_size: 3', (1, 3, 5, 5), 'num_output'),
    ('num_output: 2 kernel_h: 3 kernel_w: 3 kernel_size: 3', (1, 3, 5, 5), 'not both'),
    ('num_output: 2 kernel_size: 7', (1, 3, 5, 5), 'empty'),
    ('num_output: 2 kernel_size: 3 axis: 4', (1, 3, 5, 5), 'axis'),
])
def test_convolution_errors(text, shape, message):
    layer = make('type: "Convolution" convolution_param { %s }' % text)
    with pytest.raises(LayerError, match=message):
        layer.layer_setup([Blob(shape)], [Blob()])


def test_convolution_checks_given_params_and_bottom_shapes():
    layer = make(conv_text('Convolution', 'kernel_size: 3', 2))
    layer.add_param((2, 3, 2, 2))
    layer.add_param((2,))
    with pytest.raises(LayerError, match='incorrect weight shape'):
        layer.layer_setup([Blob((1, 3, 5, 5))], [Blob()])
    layer = make(conv_text('Convolution', 'kernel_size: 3', 2))
    with pytest.raises(LayerError, match='shape mismatch'):
        layer.layer_setup([Blob((1, 3, 5, 5)), Blob((1, 3, 6, 5))], [Blob(), Blob()])


# --- Im2col layer ----------------------------------------------------------------------------

@pytest.mark.parametrize('params, shape', [
    ('kernel_size: 3 stride: 2 pad: 1', (2, 3, 5, 6)),
    ('kernel_h: 2 kernel_w: 1 dilation: 2', (1, 2, 5, 4)),
    ('kernel_size: 2 axis: 2', (2, 2, 3, 4, 4)),
    ('kernel_size: 2 kernel_size: 1 kernel_size: 2 pad: 1', (1, 2, 3, 3, 2)),
])
def test_im2col_layer(params, shape):
    x = gaussian(*shape)
    layer, bottom, top = setup('type: "Im2col" convolution_param { %s }' % params, x)
    axis = layer.axis
    folded = x.reshape((-1,) + shape[axis:])
    window = layer.window
    out = geometry.conv_shape(shape[axis + 1:], window)
    cols = im2col_op.im2col(folded, window, out)
    assert top[0].shape == shape[:axis] + (cols.shape[0],) + out
    expected = cols.reshape(cols.shape[0], folded.shape[0], -1).transpose(1, 0, 2)
    np.testing.assert_array_equal(top[0].data.reshape(expected.shape), expected)
    check_gradient(layer, bottom, top, max_elements=60)


# --- Pooling ----------------------------------------------------------------------------

POOL_CASES = {
    'ceil_overhang': ('kernel_size: 3 stride: 2', (2, 2, 6, 7)),
    'floor': ('kernel_size: 3 stride: 2 round_mode: FLOOR', (2, 2, 6, 7)),
    'pad_trimmed': ('kernel_size: 2 stride: 2 pad: 1', (1, 2, 5, 5)),
    'pad_kept': ('kernel_size: 3 stride: 2 pad: 1', (2, 2, 4, 6)),
    'rect': ('kernel_h: 3 kernel_w: 2 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 1',
             (1, 3, 5, 6)),
    'stride_one_pad': ('kernel_size: 3 stride: 1 pad: 1', (2, 2, 4, 5)),
    'global': ('global_pooling: true', (2, 3, 3, 4)),
    'global_tall': ('global_pooling: true', (1, 2, 34, 3)),     # past np.choose's 32
    'stride_over_kernel': ('kernel_size: 2 stride: 3', (1, 2, 7, 5)),
    # Windows that tile the input (geometry.pool_tiles): MAX's host views.
    'tiles': ('kernel_size: 2 stride: 2', (2, 3, 6, 8)),
    'tiles_floor_leftover': ('kernel_size: 2 stride: 2 round_mode: FLOOR', (1, 2, 7, 5)),
    'tiles_rect': ('kernel_h: 3 kernel_w: 2 stride_h: 3 stride_w: 2', (2, 2, 6, 4)),
}


def pool_geometry(layer):
    q = layer.pooler
    return q.window.kernel, q.window.stride, q.window.pad, q.out


# MAX's host forward derives its mask with the maxima in TRAIN, on demand in TEST.
@pytest.mark.parametrize('method,phase', [('MAX', caffe_pb2.TEST), ('MAX', caffe_pb2.TRAIN),
                                          ('AVE', caffe_pb2.TEST)])
@pytest.mark.parametrize('case', sorted(POOL_CASES))
def test_pooling_forward(method, phase, case):
    params, shape = POOL_CASES[case]
    x = gaussian(*shape)
    tops = 2 if method == 'MAX' else 1
    layer, _, top = setup('type: "Pooling" pooling_param { pool: %s %s }' % (method, params),
                          x, num_tops=tops, phase=phase)
    y, mask = naive_pool(x, method, *pool_geometry(layer))
    assert top[0].shape == y.shape
    np.testing.assert_allclose(top[0].data, y, rtol=1e-5, atol=1e-6)
    if method == 'MAX':
        np.testing.assert_array_equal(top[1].data, mask.astype(np.float32))


@pytest.mark.parametrize('method', ['MAX', 'AVE'])
@pytest.mark.parametrize('case', sorted(POOL_CASES))
def test_pooling_gradient(method, case):
    params, shape = POOL_CASES[case]
    layer, bottom, top = setup('type: "Pooling" pooling_param { pool: %s %s }'
                               % (method, params), distinct(*shape))
    check_gradient(layer, bottom, top)


@pytest.mark.parametrize('phase', [caffe_pb2.TEST, caffe_pb2.TRAIN])
def test_max_pooling_backward_routes_through_the_mask(phase):
    x = gaussian(2, 3, 5, 5)
    x[0, 0, 1, 2] = x[0, 0, 1, 3] = 9.0      # a tie: the first in row-major order wins
    layer, bottom, top = setup('type: "Pooling" pooling_param { kernel_size: 3 stride: 2 '
                               'pad: 1 }', x, num_tops=2, phase=phase)
    dy = gaussian(*top[0].shape, seed=1)
    top[0].diff[...] = dy
    layer.layer_backward(top, [True], bottom)
    mask = top[1].data.astype(int)
    # Window (0, 1) covers columns 1..3 and holds both; window (0, 2) only the second.
    assert mask[0, 0, 0, 1] == 1 * 5 + 2 and mask[0, 0, 0, 2] == 1 * 5 + 3
    # Overlapping windows' diffs add up in Caffe's order (the top's), bit for bit.
    expected = np.zeros(x.shape, np.float32)
    for n, c, oy, ox in spatial_ranges(mask.shape):
        expected[n, c].flat[mask[n, c, oy, ox]] += dy[n, c, oy, ox]
    np.testing.assert_array_equal(bottom[0].diff, expected)


@pytest.mark.parametrize('phase', [caffe_pb2.TEST, caffe_pb2.TRAIN])
def test_tiled_max_pooling_keeps_the_first_max_in_row_major_order(phase):
    """Windows that tile the input: a tie between (0, 1) and (1, 0) of a
    window goes to (0, 1), the first in row-major order, though (1, 0)
    comes first by columns; a NaN diff reaches only the max tap."""
    x = gaussian(1, 2, 4, 6)
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 9.0
    x[0, 1, 2, 4] = x[0, 1, 2, 5] = x[0, 1, 3, 4] = 7.0
    layer, bottom, top = setup('type: "Pooling" pooling_param { kernel_size: 2 stride: 2 }', x,
                               num_tops=2, phase=phase)
    assert top[1].data[0, 0, 0, 0] == 0 * 6 + 1 and top[1].data[0, 1, 1, 2] == 2 * 6 + 4
    dy = gaussian(*top[0].shape, seed=1)
    dy[0, 0, 0, 0] = np.nan
    top[0].diff[...] = dy
    layer.layer_backward(top, [True], bottom)
    dx = bottom[0].diff
    assert np.isnan(dx[0, 0, 0, 1]) and np.isnan(dx).sum() == 1
    assert dx[0, 1, 2, 4] == dy[0, 1, 1, 2] and dx[0, 1, 2, 5] == dx[0, 1, 3, 4] == 0


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(0, 2), st.integers(1, 9),
       st.integers(1, 9), st.booleans(), st.integers(0, 2 ** 31 - 1))
def test_max_pooling_matches_caffes_loops_with_ties_and_nan(kernel, stride, pad, h, w, ceil,
                                                            seed):
    """Any window, stride and padding (pad < kernel, as Caffe requires), on
    values from a few levels (ties everywhere) with some NaN: the maxima and
    the mask are those of Caffe's loops."""
    pad = min(pad, kernel - 1)
    if (h + 2 * pad < kernel) or (w + 2 * pad < kernel):
        return
    rng = np.random.RandomState(seed)
    x = rng.randint(0, 3, (2, 2, h, w)).astype(np.float32)
    x[rng.rand(*x.shape) < 0.1] = np.nan
    window = geometry.PoolWindow((kernel, kernel), (stride, stride), (pad, pad))
    out = geometry.pool_shape(h, w, window, ceil)
    top, mask = pool_op.max_forward(x, window, out, with_mask=True)
    ref_top, ref_mask = naive_pool(x, 'MAX', window.kernel, window.stride, window.pad, out)
    np.testing.assert_array_equal(top, ref_top)
    np.testing.assert_array_equal(mask, ref_mask)
    np.testing.assert_array_equal(pool_op.max_mask(x, top, window), ref_mask)


def test_max_pooling_ignores_nan_like_caffe():
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    x[0, 0, 3, 3] = np.nan
    x[0, 0, 0:2, 0:2] = np.nan
    _, _, top = setup('type: "Pooling" pooling_param { kernel_size: 2 stride: 2 }', x,
                      num_tops=2)
    np.testing.assert_array_equal(top[0].data[0, 0], [[-FLT_MAX, 7], [13, 14]])
    np.testing.assert_array_equal(top[1].data[0, 0], [[-1, 7], [13, 14]])


def test_windows_past_the_input_match_caffe():
    """Unpadded ceil mode with stride > kernel keeps windows that start past
    the input: MAX gives -FLT_MAX with mask -1, AVE divides 0 by the
    clipped size (0 here: NaN), and neither passes a gradient."""
    x = gaussian(1, 1, 4, 4)
    for method in ('MAX', 'AVE'):
        layer, bottom, top = setup('type: "Pooling" pooling_param { pool: %s kernel_size: 1 '
                                   'stride: 2 }' % method, x)
        assert top[0].shape == (1, 1, 3, 3)
        np.testing.assert_array_equal(top[0].data[0, 0, :2, :2], x[0, 0, ::2, ::2])
        edge = top[0].data[0, 0, 2, :]
        assert np.all(edge == -FLT_MAX) if method == 'MAX' else np.all(np.isnan(edge))
        top[0].diff[...] = 1
        layer.layer_backward(top, [True], bottom)
        expected = np.zeros((4, 4), np.float32)
        expected[::2, ::2] = 1
        np.testing.assert_array_equal(bottom[0].diff[0, 0], expected)


def test_ave_pooling_counts_padding_but_not_the_overhang():
    x = np.ones((1, 1, 4, 4), np.float32)
    _, _, top = setup('type: "Pooling" pooling_param { pool: AVE kernel_size: 3 stride: 2 '
                      'pad: 1 }', x)
    # Per axis, windows start at -1, 1, 3 and the padded input ends at 5:
    # (inputs, divisor) = (2, 3), (3, 3), (1, 2) - the last window's
    # padding row counts, its overhang past the padding does not.
    per_axis = [(2, 3), (3, 3), (1, 2)]
    expected = [[r * c / (dr * dc) for c, dc in per_axis] for r, dr in per_axis]
    np.testing.assert_allclose(top[0].data[0, 0], expected, rtol=1e-6)


def test_stochastic_ops_match_caffe_loops():
    rng = np.random.RandomState(5)
    x = rng.rand(2, 3, 6, 7).astype(np.float32)
    x[0, 0] = 0                                   # all-zero windows: TEST gives 0
    kernel, stride = (3, 2), (2, 3)
    window = geometry.PoolWindow(kernel, stride, (0, 0))
    out = geometry.pool_shape(6, 7, window)
    uniform = rng.rand(2, 3, *out).astype(np.float32)
    train, index, test = naive_stochastic(x, kernel, stride, out, uniform)
    got, got_index = pool_op.stochastic_forward_train(x, window, out, uniform)
    np.testing.assert_array_equal(got, train)
    np.testing.assert_array_equal(got_index, index)
    np.testing.assert_allclose(pool_op.stochastic_forward_test(x, window, out), test,
                               rtol=1e-5)
    dy = rng.randn(*got.shape).astype(np.float32)
    dx = pool_op.max_backward(dy, got_index, x.shape, window)
    expected = np.zeros(x.shape, np.float32)
    for n, c, oy, ox in spatial_ranges(index.shape):
        expected[n, c].flat[index[n, c, oy, ox]] += dy[n, c, oy, ox]
    np.testing.assert_allclose(dx, expected, rtol=1e-6)


def test_stochastic_pooling_layer():
    x = np.random.RandomState(2).rand(2, 2, 5, 5).astype(np.float32)
    text = 'type: "Pooling" pooling_param { pool: STOCHASTIC kernel_size: 3 stride: 2 }'
    layer, bottom, top = setup(text, x, phase=caffe_pb2.TRAIN)
    assert top[0].shape == (2, 2, 2, 2)
    top[0].diff[...] = 1
    layer.layer_backward(top, [True], bottom)
    # Each output is an input of its window, and gets its gradient back.
    picked = bottom[0].diff > 0
    assert bottom[0].diff.sum() == top[0].count
    assert set(np.unique(top[0].data)) <= set(x[picked])
    _, _, again = setup(text, x, phase=caffe_pb2.TRAIN)
    np.testing.assert_array_equal(again[0].data, top[0].data)   # same seed, same samples
    test_layer, _, test_top = setup(text, x)
    _, _, expected = naive_stochastic(x, (3, 3), (2, 2), (2, 2), np.zeros((2, 2, 2, 2)))
    np.testing.assert_allclose(test_top[0].data, expected, rtol=1e-5)
    with pytest.raises(LayerError, match='TEST'):
        test_layer.layer_backward(test_top, [True], [Blob(x.shape)])


@pytest.mark.parametrize('text, tops, message', [
    ('pool: AVE kernel_size: 2', 2, 'only MAX pooling can output a mask'),
    ('pool: STOCHASTIC kernel_size: 3 pad: 1', 1, 'only for average and max'),
    ('kernel_size: 2 pad: 2', 1, 'smaller than the kernel'),
    ('global_pooling: true kernel_size: 2', 1, 'cannot be specified'),
    # ResNet's 7x7 pool5 over a 112x112 input's 4x4 plane: Caffe CHECK-fails in
    # Blob::Reshape on a negative size; the message says why.
    ('pool: AVE kernel_size: 7', 1, r'output would be empty \(-1 x -1\) for input '
                                    r'\(1, 2, 5, 5\): kernel \(7, 7\) larger than'),
])
def test_pooling_errors(text, tops, message):
    layer = make('type: "Pooling" pooling_param { %s }' % text)
    with pytest.raises(LayerError, match=message):
        layer.layer_setup([Blob((1, 2, 5, 5))], [Blob() for _ in range(tops)])


def test_pooling_needs_four_axes():
    layer = make('type: "Pooling" pooling_param { kernel_size: 2 }')
    with pytest.raises(LayerError, match='4 axes'):
        layer.layer_setup([Blob((2, 5, 5))], [Blob()])


def test_global_pooling_follows_the_input_size():
    layer, bottom, top = setup('type: "Pooling" pooling_param { pool: AVE '
                               'global_pooling: true }', gaussian(2, 3, 4, 5))
    bottom[0].reshape(2, 3, 6, 2)
    bottom[0].data[...] = gaussian(2, 3, 6, 2)
    layer.layer_forward(bottom, top)
    assert top[0].shape == (2, 3, 1, 1)
    np.testing.assert_allclose(top[0].data[:, :, 0, 0], bottom[0].data.mean(axis=(2, 3)),
                               rtol=1e-5)


# --- SPP --------------------------------------------------------------------------------

@pytest.mark.parametrize('method', ['MAX', 'AVE'])
@pytest.mark.parametrize('height, shape', [(1, (2, 2, 5, 6)), (2, (2, 2, 5, 6)),
                                           (3, (1, 3, 9, 8))])
def test_spp_forward(method, height, shape):
    x = gaussian(*shape)
    layer, bottom, top = setup('type: "SPP" spp_param { pyramid_height: %d pool: %s }'
                               % (height, method), x)
    levels = []
    for level in range(height):
        window = geometry.spp_level(shape[2], shape[3], level)
        out = geometry.pool_shape(shape[2], shape[3], window)
        assert out == (2 ** level,) * 2
        levels.append(naive_pool(x, method, *window, out)[0].reshape(shape[0], -1))
    expected = np.concatenate(levels, axis=1)
    if height == 1:
        assert top[0].shape == shape[:2] + (1, 1)     # Caffe: the pooling top itself
    else:
        assert top[0].shape == expected.shape
    np.testing.assert_allclose(top[0].data.reshape(expected.shape), expected, rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize('method', ['MAX', 'AVE'])
@pytest.mark.parametrize('height', [1, 3])
def test_spp_gradient(method, height):
    layer, bottom, top = setup('type: "SPP" spp_param { pyramid_height: %d pool: %s }'
                               % (height, method), distinct(1, 2, 7, 6))
    check_gradient(layer, bottom, top)


def test_spp_stochastic_levels_sample_even_in_test():
    """Caffe's SPP builds its poolings with phase TRAIN."""
    x = np.random.RandomState(1).rand(1, 2, 8, 8).astype(np.float32)
    _, _, top = setup('type: "SPP" spp_param { pyramid_height: 2 pool: STOCHASTIC }', x)
    assert top[0].shape == (1, 2 * (1 + 4))
    assert np.isin(top[0].data, x).all()


def test_spp_refuses_a_level_finer_than_the_input():
    layer = make('type: "SPP" spp_param { pyramid_height: 3 }')
    with pytest.raises(LayerError, match='pyramid level 2'):
        layer.layer_setup([Blob((1, 1, 5, 6))], [Blob()])


@pytest.mark.parametrize('case', ['conv', 'conv_group_stride_dilation', 'deconv'])
def test_convolution_over_batch_slices_equals_whole_batch(case, monkeypatch):
    """With a patch budget of one element every image is its own slice; the
    tops, bottom diffs and param diffs must not change."""
    from caffelite.layers import vision
    case = next(c for c in GRADIENT_CASES if c.id == case)
    whole = forward_backward(*case.build(1))
    monkeypatch.setattr(vision, 'PATCH_BUDGET', 1)
    layer, bottom, top = case.build(1)
    assert len(layer._batch_slices(bottom[0].shape[0])) == bottom[0].shape[0] > 1
    for ours, ref in zip(sum(forward_backward(layer, bottom, top), []), sum(whole, [])):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('phase', [caffe_pb2.TEST, caffe_pb2.TRAIN])
@pytest.mark.parametrize('params', ['kernel_size: 3 stride: 2', 'kernel_size: 2 stride: 2'])
def test_pooling_one_image_by_parts_of_its_channels(params, phase, monkeypatch):
    """A single image's planes pool in parts of its channels (here one
    channel per part): the top, the mask and the bottom diff are those of
    the naive loops."""
    from caffelite import threads
    monkeypatch.setattr(threads, 'BLOCK', 1)
    x = gaussian(1, 5, 6, 8)
    layer, bottom, top = setup('type: "Pooling" pooling_param { %s }' % params, x,
                               num_tops=2, phase=phase)
    y, mask = naive_pool(x, 'MAX', *pool_geometry(layer))
    np.testing.assert_array_equal(top[0].data, y)
    np.testing.assert_array_equal(top[1].data, mask)
    dy = gaussian(*y.shape, seed=1)
    top[0].diff[...] = dy
    layer.layer_backward(top, [True], bottom)
    expected = np.zeros(x.shape, np.float32)
    for n, c, oy, ox in spatial_ranges(mask.shape):
        expected[n, c].flat[mask[n, c, oy, ox]] += dy[n, c, oy, ox]
    np.testing.assert_array_equal(bottom[0].diff, expected)


@pytest.mark.parametrize('budget,host,device', [
    (1 << 27, [5, 5], [10]),                            # one chunk per thread
    (170, [1, 2, 2, 1, 2, 2], [2, 2, 2, 2, 2]),         # two images of patches per chunk
])
def test_convolution_batch_chunks(budget, host, device, monkeypatch):
    """Chunks of a batch of 10: near-equal, within the patch budget (1
    channel x 9 taps x 9 positions = 81 patch elements an image here), and
    on the CPU in a multiple of its two threads, the same on a busy
    machine as on an idle one (the GPU's: tests/test_gpu_paths.py)."""
    from caffelite import backend, threads
    from caffelite.layers import vision
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(threads, 'MIN_SPLIT_MACS', 1)
    monkeypatch.setattr(vision, 'HOST_PATCH_BUDGET', budget)
    monkeypatch.setattr(vision, 'PATCH_BUDGET', budget)
    layer, _, _ = setup('type: "Convolution" convolution_param { num_output: 2 kernel_size: 3 }',
                        gaussian(10, 1, 5, 5))
    expected = device if backend.mode() == backend.GPU else host
    for busy in (False, True):
        monkeypatch.setattr(threads, 'busy', lambda: busy)
        chunks = layer._batch_slices(10)
        assert [s.stop - s.start for s in chunks] == expected
        assert chunks[0].start == 0 and chunks[-1].stop == 10


@pytest.mark.parametrize('budget,parts', [
    (1 << 27, 2),       # idle: one part of the channels per thread
    (9 * 25, 4),        # the patch rows of two channels would pass the budget
])
def test_single_image_data_gradient_parts(budget, parts, monkeypatch):
    """A single image's data gradient runs by parts of its channels, each a
    product and a col2im: one part per thread on an idle machine, smaller
    where a part's patch rows (channels x 9 taps x 25 positions here)
    would pass the patch budget; the gradient is the one-part result."""
    from caffelite import threads
    from caffelite.layers import vision
    monkeypatch.setattr(threads, 'busy', lambda: False)
    definition = ('type: "Convolution" convolution_param { num_output: 3 kernel_size: 3 pad: 1 '
                  'weight_filler { type: "gaussian" } }')
    layer, bottom, top = setup(definition, gaussian(1, 4, 5, 5))
    layer.layer_forward(bottom, top)
    top[0].diff[...] = np.random.RandomState(3).randn(*top[0].shape)
    layer.layer_backward(top, [True], bottom)
    whole = bottom[0].diff.copy()
    monkeypatch.setattr(vision, 'HOST_PATCH_BUDGET', budget)
    seen = []
    original = threads.run_chunks
    monkeypatch.setattr(threads, 'run_chunks', lambda fn, chunks, lanes: (
        seen.append(chunks), original(fn, chunks, lanes)))
    layer._convolve_transpose(top[0].xdiff, bottom[0].xdiff, layer.workspace, 2)
    assert seen == [parts]
    np.testing.assert_allclose(bottom[0].diff, whole, rtol=1e-6, atol=1e-6)
