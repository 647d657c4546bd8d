"""caffelite.geometry: output sizes (conv, deconv, pooling with Caffe's
CEIL/FLOOR rounding and padding rule, SPP levels) and the parsing of
Convolution/Pooling window parameters with Caffe's checks."""
import math

import pytest
from google.protobuf import text_format
from hypothesis import given, settings, strategies as st

from caffelite import geometry
from caffelite.errors import CaffeError
from caffelite.proto import caffe_pb2


def conv_param(text):
    return text_format.Parse(text, caffe_pb2.ConvolutionParameter())


def pool_param(text):
    return text_format.Parse(text, caffe_pb2.PoolingParameter())


# --- convolution / deconvolution -----------------------------------------------------

@pytest.mark.parametrize('size, kernel, stride, pad, dilation, expected', [
    (227, 11, 4, 0, 1, 55),      # AlexNet conv1
    (224, 7, 2, 3, 1, 112),      # ResNet conv1
    (5, 3, 1, 1, 1, 5),
    (7, 3, 2, 0, 2, 2),          # extent 5: windows at 0 and 2
    (6, 1, 2, 0, 1, 3),
    (4, 3, 3, 0, 1, 1),          # leftover columns are dropped (floor)
])
def test_conv_out(size, kernel, stride, pad, dilation, expected):
    assert geometry.conv_out(size, kernel, stride, pad, dilation) == expected


@pytest.mark.parametrize('size, kernel, stride, pad, dilation, expected', [
    (3, 4, 2, 1, 1, 6),          # FCN-style 2x upsampling
    (4, 3, 1, 1, 1, 4),
    (2, 3, 2, 0, 2, 7),          # extent 5
    (5, 64, 32, 16, 1, 160),
])
def test_deconv_out(size, kernel, stride, pad, dilation, expected):
    assert geometry.deconv_out(size, kernel, stride, pad, dilation) == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 30), st.integers(1, 5), st.integers(1, 4), st.integers(0, 3),
       st.integers(1, 3))
def test_deconv_inverts_conv_size(size, kernel, stride, pad, dilation):
    """A deconvolution's output is an input size its convolution maps back."""
    out = geometry.deconv_out(size, kernel, stride, pad, dilation)
    if out > 0:
        assert geometry.conv_out(out, kernel, stride, pad, dilation) == size


def test_shapes_per_axis():
    window = geometry.ConvWindow((3, 1, 2), (1, 2, 2), (1, 0, 0), (1, 1, 2))
    assert geometry.conv_shape((5, 6, 7), window) == (5, 3, 3)
    assert geometry.deconv_shape((5, 3, 3), window) == (5, 5, 7)


# --- pooling --------------------------------------------------------------------------

def caffe_pooled(size, kernel, stride, pad, ceil_mode):
    """Caffe's PoolingLayer::Reshape formula, float rounding and all."""
    rounding = math.ceil if ceil_mode else math.floor
    out = int(rounding(float(size + 2 * pad - kernel) / stride)) + 1
    if pad and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@pytest.mark.parametrize('size, kernel, stride, pad, ceil_out, floor_out', [
    (5, 2, 2, 1, 3, 3),     # ceil gives 4 windows; the 4th starts in the padding: dropped
    (3, 2, 2, 1, 2, 2),     # same rule: 3 -> 2
    (4, 3, 2, 1, 3, 2),     # the ceil window starts inside the input: kept
    (6, 3, 2, 0, 3, 2),     # no padding: never trimmed
    (112, 3, 2, 0, 56, 55),  # GoogLeNet pool1
    (55, 3, 2, 0, 27, 27),  # AlexNet pool1
    (5, 1, 3, 0, 3, 2),     # unpadded: the last ceil window starts past the input, kept
    (7, 7, 1, 0, 1, 1),     # global
    (2, 3, 1, 1, 2, 2),
])
def test_pool_out(size, kernel, stride, pad, ceil_out, floor_out):
    assert geometry.pool_out(size, kernel, stride, pad) == ceil_out
    assert geometry.pool_out(size, kernel, stride, pad, ceil_mode=False) == floor_out


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 40), st.integers(1, 8), st.integers(1, 5), st.integers(0, 7),
       st.booleans())
def test_pool_out_matches_caffe_formula(size, kernel, stride, pad, ceil_mode):
    pad = min(pad, kernel - 1)
    assert (geometry.pool_out(size, kernel, stride, pad, ceil_mode)
            == caffe_pooled(size, kernel, stride, pad, ceil_mode))


def test_pool_shape():
    window = geometry.PoolWindow((3, 2), (2, 1), (1, 0))
    assert geometry.pool_shape(5, 4, window) == (3, 3)
    assert geometry.pool_shape(6, 4, window, ceil_mode=False) == (3, 3)


# --- SPP ------------------------------------------------------------------------------

@pytest.mark.parametrize('height, width, level, expected', [
    (5, 6, 0, ((5, 6), (5, 6), (0, 0))),
    (5, 6, 1, ((3, 3), (3, 3), (1, 0))),
    (13, 13, 2, ((4, 4), (4, 4), (2, 2))),
    (13, 13, 1, ((7, 7), (7, 7), (1, 1))),
    (8, 5, 2, ((2, 2), (2, 2), (0, 2))),
])
def test_spp_level(height, width, level, expected):
    assert tuple(geometry.spp_level(height, width, level)) == expected


@pytest.mark.parametrize('height, width, level', [(13, 13, 0), (13, 13, 1), (13, 13, 2),
                                                  (6, 10, 1), (16, 9, 2)])
def test_spp_level_gives_its_bins(height, width, level):
    window = geometry.spp_level(height, width, level)
    geometry.check_pool_window(window)
    assert geometry.pool_shape(height, width, window) == (2 ** level, 2 ** level)


def test_spp_level_too_fine_for_the_input_is_refused():
    # 5 rows in 4 bins: kernel 2, remainder 3, pad 2 = kernel (Caffe's CHECK_LT fails).
    with pytest.raises(CaffeError, match='pad'):
        geometry.check_pool_window(geometry.spp_level(5, 6, 2))


# --- ConvolutionParameter parsing --------------------------------------------------------

@pytest.mark.parametrize('text, axes, expected', [
    ('kernel_size: 3', 2, ((3, 3), (1, 1), (0, 0), (1, 1))),
    ('kernel_size: 3 stride: 2 pad: 1 dilation: 2', 2, ((3, 3), (2, 2), (1, 1), (2, 2))),
    ('kernel_size: 3 kernel_size: 5 stride: 1 stride: 2', 2, ((3, 5), (1, 2), (0, 0), (1, 1))),
    ('kernel_h: 2 kernel_w: 4 stride_h: 1 stride_w: 3 pad_h: 0 pad_w: 2', 2,
     ((2, 4), (1, 3), (0, 2), (1, 1))),
    ('kernel_size: 2 kernel_size: 3 kernel_size: 1 pad: 1', 3,
     ((2, 3, 1), (1, 1, 1), (1, 1, 1), (1, 1, 1))),
    ('kernel_size: 3 dilation: 1 dilation: 2 dilation: 3', 3,
     ((3, 3, 3), (1, 1, 1), (0, 0, 0), (1, 2, 3))),
    ('kernel_size: 4', 1, ((4,), (1,), (0,), (1,))),
])
def test_conv_window(text, axes, expected):
    assert tuple(geometry.conv_window(conv_param(text), axes)) == expected


@pytest.mark.parametrize('text, axes, message', [
    ('stride: 2', 2, 'kernel_size must be specified once'),
    ('kernel_size: 3 kernel_size: 3', 3, 'kernel_size must be specified once'),
    ('kernel_size: 3 kernel_h: 3 kernel_w: 3', 2, 'not both'),
    ('kernel_h: 3 kernel_w: 3', 3, 'only be used for 2D'),
    ('kernel_size: 3 stride: 1 stride_h: 2 stride_w: 2', 2, 'not both'),
    ('kernel_size: 3 pad_h: 1', 3, 'pad_h & pad_w can only be used for 2D'),
    ('kernel_size: 3 pad: 1 pad: 1 pad: 1', 2, 'pad must be specified once'),
    ('kernel_size: 3 dilation: 1 dilation: 1', 3, 'dilation must be specified once'),
    ('kernel_size: 0', 2, 'filter dimensions must be nonzero'),
    ('kernel_h: 3', 2, 'filter dimensions must be nonzero'),   # kernel_w left at 0
    ('kernel_size: 3 stride: 0', 2, 'stride dimensions must be nonzero'),
])
def test_conv_window_errors(text, axes, message):
    with pytest.raises(CaffeError, match=message):
        geometry.conv_window(conv_param(text), axes)


def test_is_pointwise():
    assert geometry.is_pointwise(geometry.conv_window(conv_param('kernel_size: 1'), 2))
    assert geometry.is_pointwise(geometry.conv_window(conv_param('kernel_size: 1 dilation: 3'), 2))
    assert not geometry.is_pointwise(geometry.conv_window(conv_param('kernel_size: 1 pad: 1'), 2))
    assert not geometry.is_pointwise(geometry.conv_window(
        conv_param('kernel_size: 1 stride: 2'), 2))
    assert not geometry.is_pointwise(geometry.conv_window(conv_param('kernel_size: 3'), 2))


# --- PoolingParameter parsing ------------------------------------------------------------

@pytest.mark.parametrize('text, expected', [
    ('kernel_size: 3', ((3, 3), (1, 1), (0, 0))),
    ('kernel_size: 3 stride: 2 pad: 1', ((3, 3), (2, 2), (1, 1))),
    ('kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 0',
     ((2, 3), (1, 2), (1, 0))),
    ('kernel_size: 2 kernel_h: 3', ((2, 2), (1, 1), (0, 0))),   # kernel_h alone is ignored
    ('global_pooling: true', ((6, 7), (1, 1), (0, 0))),
    ('pool: STOCHASTIC kernel_size: 3 stride: 2', ((3, 3), (2, 2), (0, 0))),
])
def test_pool_window(text, expected):
    assert tuple(geometry.pool_window(pool_param(text), 6, 7)) == expected


@pytest.mark.parametrize('text, message', [
    ('stride: 2', 'filter size is kernel_size OR'),
    ('kernel_size: 3 kernel_h: 3 kernel_w: 3', 'filter size is kernel_size OR'),
    ('kernel_h: 3', 'filter size is kernel_size OR'),
    ('global_pooling: true kernel_size: 3', 'cannot be specified'),
    ('global_pooling: true stride: 2', 'only pad = 0 and stride = 1'),
    ('global_pooling: true pad: 1', 'only pad = 0 and stride = 1'),
    ('kernel_size: 3 pad: 1 pad_h: 1 pad_w: 1', 'pad is pad OR'),
    ('kernel_size: 3 pad_h: 1', 'pad is pad OR'),
    ('kernel_size: 3 stride_w: 2', 'stride is stride OR'),
    ('kernel_size: 0', 'filter dimensions cannot be zero'),
    ('kernel_size: 2 pad: 2', 'pad .* must be smaller than the kernel'),
    ('kernel_h: 3 kernel_w: 2 pad_h: 1 pad_w: 2', 'pad .* must be smaller than the kernel'),
    ('pool: STOCHASTIC kernel_size: 3 pad: 1', 'only for average and max'),
])
def test_pool_window_errors(text, message):
    with pytest.raises(CaffeError, match=message):
        geometry.pool_window(pool_param(text), 6, 7)


@pytest.mark.parametrize('kernel,stride,pad,size,tiles', [
    ((2, 2), (2, 2), (0, 0), (24, 24), True),
    ((2, 2), (2, 2), (0, 0), (7, 5), True),         # FLOOR: the last row and column in none
    ((3, 2), (3, 2), (0, 0), (6, 4), True),
    ((3, 3), (2, 2), (0, 0), (7, 7), False),        # overlapping windows
    ((2, 2), (2, 2), (1, 1), (4, 4), False),        # padded
    ((2, 2), (3, 3), (0, 0), (7, 5), False),        # gaps between windows
    ((4, 5), (1, 1), (0, 0), (4, 5), True),         # global: one window
])
def test_pool_tiles(kernel, stride, pad, size, tiles):
    window = geometry.PoolWindow(kernel, stride, pad)
    for ceil_mode in (True, False):
        out = geometry.pool_shape(*size, window, ceil_mode)
        expected = tiles and (ceil_mode is False or size != (7, 5))
        assert geometry.pool_tiles(window, size, out) == expected
