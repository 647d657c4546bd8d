"""caffelite.io against pycaffe's caffe.io: image loading, resizing (the
numbers scikit-image / scipy.ndimage gave pycaffe), oversampling, the
Transformer and pycaffe's proto conversions (the codec behind them and
Caffe's own LMDB and mean files: test_codec.py)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import caffelite as caffe
from caffelite.io import CaffeIOError, ImageReadError, UnknownInputError
from conftest import reference_path

cio = caffe.io


def save_png(path, array):
    Image.fromarray(array).save(path)
    return str(path)


def palette_png(path, index, palette):
    """A palette ('P') PNG of uint8 ``index`` with an RGB ``palette`` list."""
    image = Image.frombytes('P', index.shape[::-1], index.tobytes())
    image.putpalette(palette)
    image.save(path)
    return str(path)


# --- load_image --------------------------------------------------------------
def test_load_gray_png_scales_by_255_and_tiles_for_color(tmp_path):
    pixels = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    path = save_png(tmp_path / 'g.png', pixels)
    color = cio.load_image(path)
    gray = cio.load_image(path, color=False)
    expected = (pixels / 255.0).astype(np.float32)
    assert color.shape == (3, 4, 3) and color.dtype == np.float32
    assert gray.shape == (3, 4, 1) and gray.dtype == np.float32
    np.testing.assert_array_equal(gray[:, :, 0], expected)
    for k in range(3):
        np.testing.assert_array_equal(color[:, :, k], expected)


def test_load_rgb_as_gray_uses_rgb2gray_weights(tmp_path):
    rgb = np.random.RandomState(0).randint(0, 256, (5, 6, 3)).astype(np.uint8)
    path = save_png(tmp_path / 'c.png', rgb)
    f = rgb / 255.0
    expected = 0.2125 * f[:, :, 0] + 0.7154 * f[:, :, 1] + 0.0721 * f[:, :, 2]
    np.testing.assert_allclose(cio.load_image(path, color=False)[:, :, 0], expected, rtol=1e-6)
    np.testing.assert_array_equal(cio.load_image(path), (rgb / 255.0).astype(np.float32))


def test_load_rgba_drops_alpha(tmp_path):
    rgba = np.random.RandomState(1).randint(0, 256, (4, 4, 4)).astype(np.uint8)
    image = cio.load_image(save_png(tmp_path / 'a.png', rgba))
    np.testing.assert_array_equal(image, (rgba[:, :, :3] / 255.0).astype(np.float32))


def test_load_16bit_png_scales_by_65535(tmp_path):
    pixels = np.array([[0, 1, 65535], [256, 40000, 12345]], np.uint16)
    path = tmp_path / 'w.png'
    Image.fromarray(pixels).save(path)
    image = cio.load_image(str(path), color=False)
    np.testing.assert_array_equal(image[:, :, 0], (pixels / 65535.0).astype(np.float32))


def test_load_palette_images(tmp_path):
    index = np.array([[0, 1], [2, 1]], np.uint8)
    gray = palette_png(tmp_path / 'pg.png', index, [0, 0, 0, 128, 128, 128, 255, 255, 255])
    np.testing.assert_array_equal(cio.load_image(gray, color=False)[:, :, 0],
                                  (np.array([[0, 128], [255, 128]]) / 255.0).astype(np.float32))
    color = palette_png(tmp_path / 'pc.png', index, [255, 0, 0, 0, 255, 0, 0, 0, 255])
    image = cio.load_image(color)
    np.testing.assert_array_equal(image[0, 0], [1, 0, 0])
    np.testing.assert_array_equal(image[1, 0], [0, 0, 1])


def test_load_reference_digit():
    path = reference_path('data', 'images', '0', '0000.png')
    pixels = np.asarray(Image.open(path))
    image = cio.load_image(str(path), color=False)
    assert image.shape == pixels.shape + (1,)
    np.testing.assert_array_equal(image[:, :, 0], (pixels / 255.0).astype(np.float32))


def test_load_missing_or_broken_image(tmp_path):
    with pytest.raises(ImageReadError, match='nope.png') as err:
        cio.load_image(str(tmp_path / 'nope.png'))
    assert isinstance(err.value, OSError) and isinstance(err.value, caffe.CaffeError)
    (tmp_path / 'bad.png').write_bytes(b'not an image')
    with pytest.raises(ImageReadError):
        cio.load_image(str(tmp_path / 'bad.png'))


# --- resize_image: 1 or 3 channels (scikit-image's pixel-center sampling) ---
def keys_weight(x):
    """Keys' cubic convolution kernel with a = -0.5."""
    x = np.abs(x)
    return np.where(x <= 1, 1.5 * x ** 3 - 2.5 * x ** 2 + 1,
                    np.where(x < 2, -0.5 * x ** 3 + 2.5 * x ** 2 - 4 * x + 2, 0.0))


def center_matrix(n_in, n_out, kernel):
    """Dense (n_out, n_in) resampling matrix, zero outside the input."""
    x = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    return kernel(x[:, None] - np.arange(n_in)[None, :])


def dense_resize(image, dims, kernel):
    """Reference: stretch to [0, 1], resample with dense matrices, clip,
    stretch back."""
    lo, hi = image.min(), image.max()
    std = (image.astype(np.float64) - lo) / (hi - lo)
    rows = center_matrix(image.shape[0], dims[0], kernel)
    cols = center_matrix(image.shape[1], dims[1], kernel)
    out = np.einsum('ih,hwk,jw->ijk', rows, std, cols)
    return np.clip(out, 0, 1) * (hi - lo) + lo


def tent(x):
    return np.maximum(0.0, 1.0 - np.abs(x))


def test_resize_linear_blends_edges_toward_the_minimum():
    # Pixel centers of the 4 outputs fall at -0.25, 0.25, 0.75, 1.25; zero
    # (the stretched minimum) lies outside.
    image = np.array([[[2.0], [6.0]]], np.float32)
    out = cio.resize_image(image, (1, 4))
    assert out.shape == (1, 4, 1) and out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :, 0], [2, 3, 5, 5])


def test_resize_nearest_rounds_half_away_from_zero():
    # Downsampling 4 -> 2 samples positions 0.5 and 2.5: pixels 1 and 3.
    image = np.array([[10, 20, 30, 40]], np.float32)[:, :, None]
    np.testing.assert_array_equal(cio.resize_image(image, (1, 2), 0)[0, :, 0], [20, 40])


def test_resize_constant_image_stays_constant():
    out = cio.resize_image(np.full((4, 4, 3), 0.3, np.float32), (7, 2))
    assert out.shape == (7, 2, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out, np.float32(0.3))


def test_resize_same_size_returns_the_pixels():
    image = np.random.RandomState(2).rand(5, 6, 3).astype(np.float32)
    for order in (0, 1, 3):
        np.testing.assert_allclose(cio.resize_image(image, (5, 6), order), image, rtol=1e-6)


shapes = st.tuples(st.integers(1, 9), st.integers(1, 9))


@settings(max_examples=40, deadline=None)
@given(shapes, shapes, st.sampled_from([1, 3]), st.integers(0, 2 ** 31 - 1))
def test_resize_linear_and_cubic_match_dense_kernels(size, dims, channels, seed):
    image = np.random.RandomState(seed).rand(*size, channels).astype(np.float32) * 255
    if image.max() == image.min():
        return
    for order, kernel in ((1, tent), (3, keys_weight)):
        out = cio.resize_image(image, dims, order)
        assert out.shape == dims + (channels,) and out.dtype == np.float32
        np.testing.assert_allclose(out, dense_resize(image, dims, kernel), rtol=1e-5, atol=1e-3)


def test_resize_linear_matches_scipy_grid_constant():
    ndimage = pytest.importorskip('scipy.ndimage')
    image = np.random.RandomState(3).rand(7, 5, 3)
    dims = (11, 3)
    r = (np.arange(dims[0]) + 0.5) * 7 / dims[0] - 0.5
    c = (np.arange(dims[1]) + 0.5) * 5 / dims[1] - 0.5
    grid = np.meshgrid(r, c, np.arange(3), indexing='ij')
    lo, hi = image.min(), image.max()
    std = ndimage.map_coordinates((image - lo) / (hi - lo), grid, order=1, mode='grid-constant')
    np.testing.assert_allclose(cio.resize_image(image, dims), std * (hi - lo) + lo, rtol=1e-6)


def test_resize_rejects_unsupported_orders():
    with pytest.raises(CaffeIOError, match='interp_order'):
        cio.resize_image(np.random.rand(3, 3, 3), (5, 5), 2)
    with pytest.raises(CaffeIOError, match='interp_order'):
        cio.resize_image(np.random.rand(3, 3, 2), (5, 5), 5)


# --- resize_image: other channel counts (scipy.ndimage.zoom) -----------------
def test_resize_zoom_path_aligns_corners():
    row = np.array([0.0, 10.0, 20.0])
    image = np.stack([row, -row], axis=-1)[None]  # 1 x 3 x 2
    np.testing.assert_array_equal(cio.resize_image(image, (1, 5), 1)[0, :, 0], [0, 5, 10, 15, 20])
    np.testing.assert_array_equal(cio.resize_image(image, (1, 5), 0)[0, :, 1], [0, -10, -10, -20, -20])


def test_resize_zoom_path_rounds_integer_images():
    image = np.array([[[0, 0], [1, 1]]], np.uint8)  # 1 x 2 x 2
    out = cio.resize_image(image, (1, 5), 1)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[0, :, 0], [0, 0, 1, 1, 1])  # 0, .25, .5, .75, 1 rounded


@settings(max_examples=30, deadline=None)
@given(shapes, shapes, st.sampled_from([2, 4, 5]), st.sampled_from([0, 1, 3]),
       st.integers(0, 2 ** 31 - 1))
def test_resize_zoom_path_matches_scipy(size, dims, channels, order, seed):
    ndimage = pytest.importorskip('scipy.ndimage')
    image = np.random.RandomState(seed).randn(*size, channels).astype(np.float32)
    factors = (dims[0] / size[0], dims[1] / size[1], 1)
    expected = ndimage.zoom(image, factors, order=order).astype(np.float32)
    np.testing.assert_allclose(cio.resize_image(image, dims, order), expected,
                               rtol=1e-5, atol=1e-5)


# --- oversample --------------------------------------------------------------
def pycaffe_boxes(shape, crop):
    """The 5 crop boxes (y0, x0, y1, x1) pycaffe computes."""
    h, w = shape
    ch, cw = crop
    corners = [(i, j, i + ch, j + cw) for i in (0, h - ch) for j in (0, w - cw)]
    center = [int(h / 2.0 - ch / 2.0), int(w / 2.0 - cw / 2.0),
              int(h / 2.0 + ch / 2.0), int(w / 2.0 + cw / 2.0)]
    return corners + [tuple(center)]


@pytest.mark.parametrize('shape,crop', [((8, 10), (4, 6)), ((7, 9), (4, 3)), ((5, 5), (5, 5))])
def test_oversample_order_and_mirrors(shape, crop):
    images = np.random.RandomState(4).rand(2, *shape, 3)
    crops = cio.oversample(images, crop)
    assert crops.shape == (20,) + crop + (3,) and crops.dtype == np.float32
    for n in range(2):
        for k, (a, b, c, d) in enumerate(pycaffe_boxes(shape, crop)):
            box = images[n, a:c, b:d].astype(np.float32)
            np.testing.assert_array_equal(crops[10 * n + k], box)
            np.testing.assert_array_equal(crops[10 * n + 5 + k], box[:, ::-1])


def test_oversample_takes_a_list_of_images():
    images = [np.full((6, 6, 1), v, np.float64) for v in (1.0, 2.0)]
    crops = cio.oversample(images, (3, 3))
    assert crops.shape == (20, 3, 3, 1)
    np.testing.assert_array_equal(crops[:10], 1.0)
    np.testing.assert_array_equal(crops[10:], 2.0)


# --- Transformer ---------------------------------------------------------------
def imagenet_transformer(shape=(1, 3, 4, 5)):
    t = cio.Transformer({'data': shape})
    t.set_transpose('data', (2, 0, 1))
    t.set_channel_swap('data', (2, 1, 0))
    t.set_raw_scale('data', 255)
    t.set_mean('data', np.array([10.0, 20.0, 30.0]))
    t.set_input_scale('data', 0.5)
    return t


def test_preprocess_order_of_operations():
    image = np.random.RandomState(5).rand(4, 5, 3).astype(np.float32)
    before = image.copy()
    x = imagenet_transformer().preprocess('data', image)
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    for k, (channel, mean) in enumerate([(2, 10.0), (1, 20.0), (0, 30.0)]):
        np.testing.assert_allclose(x[k], (image[:, :, channel] * 255 - mean) * 0.5, rtol=1e-6)
    np.testing.assert_array_equal(image, before)
    # Without a channel swap pycaffe scaled the caller's float32 array in place.
    t = cio.Transformer({'data': (1, 3, 4, 5)})
    t.set_transpose('data', (2, 0, 1))
    t.set_raw_scale('data', 255)
    np.testing.assert_allclose(t.preprocess('data', image), image.transpose(2, 0, 1) * 255)
    np.testing.assert_array_equal(image, before)


def test_preprocess_resizes_to_the_input_size():
    image = np.random.RandomState(6).rand(8, 9, 3)
    t = cio.Transformer({'data': (1, 3, 4, 5)})
    t.set_transpose('data', (2, 0, 1))
    x = t.preprocess('data', image)
    expected = cio.resize_image(image.astype(np.float32), (4, 5)).transpose(2, 0, 1)
    np.testing.assert_array_equal(x, expected)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.5, 300), st.floats(0.01, 4), st.integers(0, 2 ** 31 - 1))
def test_deprocess_inverts_preprocess(raw_scale, input_scale, seed):
    rng = np.random.RandomState(seed)
    t = cio.Transformer({'data': (1, 3, 6, 7)})
    t.set_transpose('data', (2, 0, 1))
    t.set_channel_swap('data', (2, 0, 1))
    t.set_raw_scale('data', raw_scale)
    t.set_mean('data', rng.rand(3, 6, 7) * raw_scale)
    t.set_input_scale('data', input_scale)
    image = rng.rand(6, 7, 3).astype(np.float32)
    back = t.deprocess('data', t.preprocess('data', image)[None])
    assert back.shape == image.shape
    np.testing.assert_allclose(back, image, atol=1e-5)


def test_transformer_validation_errors():
    t = cio.Transformer({'data': (1, 3, 4, 5)})
    with pytest.raises(UnknownInputError, match='nope is not one of the net inputs') as err:
        t.preprocess('nope', np.zeros((4, 5, 3)))
    assert isinstance(err.value, KeyError) and isinstance(err.value, caffe.CaffeError)
    for call in (t.deprocess, t.set_transpose, t.set_channel_swap, t.set_raw_scale,
                 t.set_mean, t.set_input_scale):
        with pytest.raises(UnknownInputError):
            call('nope', None)
    with pytest.raises(CaffeIOError, match='Transpose order needs'):
        t.set_transpose('data', (1, 0))
    with pytest.raises(CaffeIOError, match='Channel swap needs'):
        t.set_channel_swap('data', (1, 0))
    with pytest.raises(CaffeIOError, match='Mean channels incompatible'):
        t.set_mean('data', np.zeros(4))
    with pytest.raises(CaffeIOError, match='Mean shape invalid'):
        t.set_mean('data', np.zeros((1, 3, 4, 5)))


def test_set_mean_resizes_a_mean_image_of_another_size():
    t = cio.Transformer({'data': (1, 3, 4, 5)})
    mean = np.random.RandomState(7).rand(3, 8, 8) * 100 + 50
    t.set_mean('data', mean)
    resized = t.mean['data']
    assert resized.shape == (3, 4, 5)
    assert mean.min() - 1e-3 <= resized.min() and resized.max() <= mean.max() + 1e-3
    expected = cio.resize_image(mean.transpose(1, 2, 0), (4, 5)).transpose(2, 0, 1)
    np.testing.assert_allclose(resized, expected, rtol=1e-5)
    t.set_mean('data', np.full((3, 2, 2), 7.0))
    np.testing.assert_array_equal(t.mean['data'], np.full((3, 4, 5), 7.0))
    same = np.random.RandomState(8).rand(3, 4, 5)
    t.set_mean('data', same)
    assert t.mean['data'] is not None and np.array_equal(t.mean['data'], same)


# --- pycaffe's conversions, through caffe.io ------------------------------------
def test_io_conversions_round_trip():
    arr = np.random.RandomState(0).randn(2, 3, 4).astype(np.float32)
    blob = caffe.io.array_to_blobproto(arr)
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob), arr)
    vec = caffe.io.arraylist_to_blobprotovector_str([arr, arr[0]])
    back = caffe.io.blobprotovector_str_to_arraylist(vec)
    np.testing.assert_array_equal(back[1], arr[0])
    image = np.random.RandomState(1).randint(0, 255, (3, 5, 4)).astype(np.uint8)
    datum = caffe.io.array_to_datum(image, 7)
    assert datum.label == 7
    np.testing.assert_array_equal(caffe.io.datum_to_array(datum), image)
    with pytest.raises(ValueError):
        caffe.io.array_to_datum(image[0])


def test_a_mean_file_read_the_common_pycaffe_way(tmp_path):
    mean = np.random.RandomState(2).rand(1, 3, 4, 5).astype(np.float32)
    (tmp_path / 'mean.binaryproto').write_bytes(
        caffe.io.array_to_blobproto(mean).SerializeToString())
    blob = caffe.io.caffe_pb2.BlobProto()
    blob.ParseFromString((tmp_path / 'mean.binaryproto').read_bytes())
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob), mean)


def test_transformer_preprocess_deprocess():
    t = caffe.io.Transformer({'data': (1, 3, 4, 5)})
    t.set_transpose('data', (2, 0, 1))
    t.set_channel_swap('data', (2, 1, 0))
    t.set_raw_scale('data', 255)
    t.set_mean('data', np.array([10., 20., 30.]))
    image = np.random.RandomState(2).rand(4, 5, 3).astype(np.float32)
    x = t.preprocess('data', image)
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], image[:, :, 2] * 255 - 10, rtol=1e-5)
    np.testing.assert_allclose(t.deprocess('data', x), image, rtol=1e-5, atol=1e-6)
    t.set_mean('data', np.zeros((3, 8, 8)))   # pycaffe resizes a mean image of another size
    assert t.mean['data'].shape == (3, 4, 5)
    with pytest.raises(KeyError):
        t.preprocess('nope', image)


def test_oversample_and_resize():
    images = [np.random.RandomState(3).rand(8, 10, 3).astype(np.float32)]
    crops = caffe.io.oversample(images, (4, 6))
    assert crops.shape == (10, 4, 6, 3)
    np.testing.assert_array_equal(crops[0], images[0][:4, :6])
    np.testing.assert_array_equal(crops[5], images[0][:4, :6][:, ::-1])
    np.testing.assert_array_equal(crops[4], images[0][2:6, 2:8])
    flat = np.full((4, 4, 3), 0.3, np.float32)
    np.testing.assert_allclose(caffe.io.resize_image(flat, (7, 2)), 0.3)
    ramp = np.tile(np.linspace(0, 1, 4, dtype=np.float32)[None, :, None], (2, 1, 1))
    up = caffe.io.resize_image(ramp, (2, 8))
    assert up.shape == (2, 8, 1) and np.all(np.diff(up[0, 1:-1, 0]) >= 0)


def test_load_image_of_a_missing_file_is_file_not_found(tmp_path):
    # pycaffe's load_image (scikit-image's imread) raises FileNotFoundError
    path = str(tmp_path / 'no_such.jpg')
    with pytest.raises(FileNotFoundError, match='no_such.jpg') as info:
        caffe.io.load_image(path)
    assert isinstance(info.value, ImageReadError) and info.value.filename == path
