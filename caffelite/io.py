"""pycaffe's ``caffe.io``: image loading and resizing, the Transformer that
turns H x W x K images into a net's K x H x W inputs, 10-crop oversampling,
and pycaffe's conversions between arrays and BlobProto / Datum messages
(implemented in :mod:`caffelite.codec`, which the library itself uses).

Images load through Pillow (no scikit-image, SciPy or OpenCV needed), in
:mod:`caffelite.images`, the decoder the whole package shares.
``resize_image`` reproduces the numbers of the libraries pycaffe called:

* K in (1, 3): scikit-image's ``resize(..., mode='constant')`` as pycaffe
  used it (scikit-image <= 0.14: no anti-aliasing; order 3 is Keys'
  Catmull-Rom convolution), on the image stretched to [0, 1]: pixel
  centers aligned, zeros outside, so edges blend toward the image minimum.
* other K: ``scipy.ndimage.zoom`` (corners aligned; order 3 is a cubic
  B-spline with mirror boundaries).
"""
import numpy as np

from .codec import (array_to_blobproto, array_to_datum, arraylist_to_blobprotovector_str,  # noqa: F401
                    blobproto_to_array, blobprotovector_str_to_arraylist, datum_to_array)
from .errors import CaffeIOError, ImageReadError  # noqa: F401 (raised by load_image)
from .images import read_like_skimage
# pycaffe's io module imports caffe_pb2, and much pycaffe code reads a mean
# file as caffe.io.caffe_pb2.BlobProto()
from .proto import caffe_pb2  # noqa: F401


class UnknownInputError(CaffeIOError, KeyError):
    """A Transformer call named a blob that is not one of its inputs."""
    __str__ = Exception.__str__  # KeyError would quote the message


# --- image files -----------------------------------------------------------
def load_image(filename, color=True):
    """Load an image file as float32 in [0, 1], H x W x 3 (RGB) or, with
    ``color=False``, H x W x 1.

    Integer pixels are divided by their type's maximum (8-bit by 255, 16-bit
    by 65535); gray images are tiled to 3 channels when ``color``; alpha is
    dropped; color images become gray with luma weights 0.2125, 0.7154,
    0.0721 when not ``color`` (scikit-image's rgb2gray).
    """
    pixels = read_like_skimage(filename)
    if not color and pixels.ndim == 3:
        img = _rgb_to_gray(_img_as_float(pixels[:, :, :3]))
    else:
        img = _img_as_float(pixels)
    img = img.astype(np.float32)
    if img.ndim == 2:
        img = img[:, :, np.newaxis]
        if color:
            img = np.tile(img, (1, 1, 3))
    elif img.shape[2] == 4:
        img = img[:, :, :3]
    return img


def _img_as_float(pixels):
    """float64 pixels scaled as scikit-image's img_as_float did: unsigned by
    the type's max, signed to [-1, 1], floats unchanged."""
    kind = pixels.dtype.kind
    if kind == 'u':
        return pixels.astype(np.float64) / np.iinfo(pixels.dtype).max
    if kind == 'i':
        info = np.iinfo(pixels.dtype)
        return (pixels.astype(np.float64) * 2.0 + 1.0) / (float(info.max) - info.min)
    return pixels.astype(np.float64)


def _rgb_to_gray(rgb):
    """H x W luma of float64 H x W x 3 RGB, summed in scikit-image's order."""
    gray = 0.2125 * rgb[:, :, 0]
    gray += 0.7154 * rgb[:, :, 1]
    gray += 0.0721 * rgb[:, :, 2]
    return gray


# --- resizing --------------------------------------------------------------
def resize_image(im, new_dims, interp_order=1):
    """Resize an H x W x K image to ``new_dims`` = (height, width); returns
    new_height x new_width x K float32.

    ``interp_order``: 0 nearest, 1 linear (default), 3 cubic. K in (1, 3)
    is resampled like scikit-image (pixel centers aligned, zeros outside) on
    the image stretched to [0, 1] and stretched back; a constant image stays
    constant. Other K are resampled like scipy.ndimage.zoom (corners
    aligned).
    """
    im = np.asarray(im)
    if im.ndim != 3:
        raise CaffeIOError('resize_image takes an H x W x K image, got shape %s%s'
                           % (im.shape, ' (add a channel axis: im[:, :, None])'
                              if im.ndim == 2 else ''))
    dims = tuple(int(d) for d in new_dims)
    if len(dims) != 2 or min(dims) < 1:
        raise CaffeIOError('resize_image: new_dims must be (height, width), both at least 1; '
                           'got %s' % (tuple(new_dims),))
    if 0 in im.shape:
        raise CaffeIOError('resize_image: the image is empty (shape %s)' % (im.shape,))
    if im.shape[-1] in (1, 3):
        im_min, im_max = im.min(), im.max()
        if not im_max > im_min:
            return np.full(dims + (im.shape[-1],), im_min, np.float32)
        # Same arithmetic (and dtypes) as pycaffe, around the [0, 1] resample.
        im_std = (im - im_min) / (im_max - im_min)
        resized = _resize_centers(im_std, dims, interp_order)
        return (resized * (im_max - im_min) + im_min).astype(np.float32)
    return _resize_corners(im, dims, interp_order).astype(np.float32)


def _resize_centers(image, dims, order):
    """scikit-image's resize with mode='constant' on H x W [x K]: output
    pixel i samples input position (i + 0.5) * in / out - 0.5, in float64;
    orders 1 and 3 are clipped to the input's range."""
    kernel = _CENTER_KERNELS.get(order)
    if kernel is None:
        raise CaffeIOError('interp_order must be 0, 1 or 3 for 1- or 3-channel images, '
                           'got %r' % (order,))
    image = np.asarray(image, np.float64)
    out = image
    # Columns first, then rows: scikit-image's per-pixel order of operations.
    for axis in (1, 0):
        n_in, n_out = image.shape[axis], dims[axis]
        if n_in != n_out:  # equal sizes sample exactly the input pixels
            positions = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
            out = kernel(_ZeroPadded(out, axis), positions)
    if order != 0:
        out = np.clip(out, image.min(), image.max())
    return out


def _resize_corners(image, dims, order):
    """scipy.ndimage.zoom of H x W x ... by dims / (H, W): output pixel i
    samples input position i * (in - 1) / (out - 1); integer images are
    rounded back to their type, as zoom does."""
    kernel = _CORNER_KERNELS.get(order)
    if kernel is None:
        raise CaffeIOError('interp_order must be 0, 1 or 3, got %r' % (order,))
    out = np.asarray(image, np.float64)
    for axis in (0, 1):
        n_in, n_out = image.shape[axis], dims[axis]
        if n_in != n_out:
            step = (n_in - 1) / (n_out - 1) if n_out > 1 else 1.0
            out = kernel(_Mirrored(out, axis), np.arange(n_out) * step)
    if image.dtype.kind in 'iu':
        info = np.iinfo(image.dtype)
        out = np.clip(np.trunc(out + np.copysign(0.5, out)), info.min, info.max)
        return out.astype(image.dtype)
    return out


class _Axis:
    """Samples of an array at integer positions along one axis."""

    def __init__(self, array, axis):
        self.array, self.axis = array, axis
        self.size = array.shape[axis]

    def weight(self, values):
        """1-d per-position ``values`` shaped to broadcast along the axis."""
        shape = [1] * self.array.ndim
        shape[self.axis] = -1
        return values.reshape(shape)


class _ZeroPadded(_Axis):
    """Positions outside the array read as 0 (mode='constant', cval=0)."""
    margin = 2  # the widest kernel reaches two pixels past either edge

    def __init__(self, array, axis):
        super().__init__(array, axis)
        pad = [(0, 0)] * array.ndim
        pad[axis] = (self.margin, self.margin)
        self.padded = np.pad(array, pad)

    def take(self, index):
        index = np.clip(index, -self.margin, self.size + self.margin - 1)
        return np.take(self.padded, index + self.margin, axis=self.axis)


class _Mirrored(_Axis):
    """Positions outside the array reflect about the edge pixels."""

    def take(self, index):
        if self.size == 1:
            return np.take(self.array, np.zeros_like(index), axis=self.axis)
        period = 2 * (self.size - 1)
        index = np.abs(index) % period
        index = np.where(index >= self.size, period - index, index)
        return np.take(self.array, index, axis=self.axis)


def _round_half_away(x):
    """C's round() of positions (halves away from zero) as integers."""
    return np.trunc(x + np.copysign(0.5, x)).astype(np.intp)


def _nearest(src, x):
    """The tap nearest each position."""
    return src.take(_round_half_away(x))


def _linear(src, x):
    """Linear interpolation between the taps floor(x) and ceil(x)."""
    low, high = np.floor(x), np.ceil(x)
    d = src.weight(x - low)
    return (1 - d) * src.take(low.astype(np.intp)) + d * src.take(high.astype(np.intp))


def _keys_cubic(src, x):
    """Catmull-Rom cubic convolution (Keys, a = -0.5) over taps -1..2."""
    base = np.floor(x)
    t = src.weight(x - base)
    f0, f1, f2, f3 = (src.take(base.astype(np.intp) + k) for k in (-1, 0, 1, 2))
    return f1 + 0.5 * t * (f2 - f0 + t * (2.0 * f0 - 5.0 * f1 + 4.0 * f2 - f3
                                          + t * (3.0 * (f1 - f2) + f3 - f0)))


def _bspline_cubic(src, x):
    """Cubic B-spline interpolation: prefilter to spline coefficients
    (mirror boundaries, as scipy.ndimage.spline_filter), then evaluate."""
    coefficients = _Mirrored(_spline_prefilter(src.array, src.axis), src.axis)
    base = np.floor(x)
    t = x - base
    s = 1.0 - t
    weights = (s ** 3 / 6.0, (4.0 - 6.0 * t ** 2 + 3.0 * t ** 3) / 6.0,
               (1.0 + 3.0 * t * (1.0 + t - t * t)) / 6.0, t ** 3 / 6.0)
    low = base.astype(np.intp)
    return sum(coefficients.weight(w) * coefficients.take(low + k)
               for k, w in zip((-1, 0, 1, 2), weights))


def _spline_prefilter(array, axis):
    """Cubic B-spline coefficients c along ``axis`` with (c[i-1] + 4 c[i] +
    c[i+1]) / 6 = array[i], mirrored at both ends; one linear solve for all
    lines."""
    n = array.shape[axis]
    if n == 1:
        return array
    system = (np.diag(np.full(n, 4.0)) + np.diag(np.ones(n - 1), 1)
              + np.diag(np.ones(n - 1), -1))
    system[0, 1] = system[-1, -2] = 2.0
    lines = np.moveaxis(array, axis, 0)
    solved = np.linalg.solve(system / 6.0, lines.reshape(n, -1))
    return np.moveaxis(solved.reshape(lines.shape), 0, axis)


_CENTER_KERNELS = {0: _nearest, 1: _linear, 3: _keys_cubic}
_CORNER_KERNELS = {0: _nearest, 1: _linear, 3: _bspline_cubic}


# --- crops -----------------------------------------------------------------
def oversample(images, crop_dims):
    """Crop each image at its 4 corners and center, then add the 5 crops
    mirrored left-right.

    ``images``: N images H x W x K of one shape (a list or N x H x W x K);
    ``crop_dims``: (height, width). Returns 10N x height x width x K float32,
    per image the crops top-left, top-right, bottom-left, bottom-right,
    center, then their mirrors in the same order.
    """
    batch = np.asarray(images)
    height, width = batch.shape[1:3]
    crop = np.array(crop_dims)
    center = np.array([height, width]) / 2.0
    boxes = [(i, j, i + crop[0], j + crop[1])
             for i in (0, height - crop[0]) for j in (0, width - crop[1])]
    # pycaffe stores the float center box in an int array: truncation.
    boxes.append(tuple(np.concatenate([center - crop / 2.0,
                                       center + crop / 2.0]).astype(int)))
    five = np.stack([batch[:, a:c, b:d] for a, b, c, d in boxes], axis=1)
    ten = np.concatenate([five, five[:, :, :, ::-1]], axis=1)
    return ten.reshape((-1,) + ten.shape[2:]).astype(np.float32)


# --- net input formatting --------------------------------------------------
class Transformer:
    """Formats H x W x K images as a net's K x H x W inputs and back.

    ``inputs``: {input blob name: its shape (N, K, H, W)}. preprocess:
    resize to the input's H x W, transpose, channel swap, raw_scale, subtract
    the mean, input_scale; deprocess undoes them in reverse order.
    """

    def __init__(self, inputs):
        self.inputs = inputs
        self.transpose = {}
        self.channel_swap = {}
        self.raw_scale = {}
        self.mean = {}
        self.input_scale = {}

    def __check_input(self, in_):
        if in_ not in self.inputs:
            raise UnknownInputError('{} is not one of the net inputs: {}'.format(
                in_, self.inputs))

    def _shape(self, in_):
        return tuple(self.inputs[in_])

    def preprocess(self, in_, data):
        """H' x W' x K ``data`` -> K x H x W float32 input for blob ``in_``.
        ``data`` is never modified."""
        self.__check_input(in_)
        caffe_in = np.array(data, dtype=np.float32)
        in_dims = self._shape(in_)[2:]
        if caffe_in.shape[:2] != in_dims:
            caffe_in = resize_image(caffe_in, in_dims)
        if self.transpose.get(in_) is not None:
            caffe_in = caffe_in.transpose(self.transpose[in_])
        if self.channel_swap.get(in_) is not None:
            caffe_in = caffe_in[self.channel_swap[in_], :, :]
        if self.raw_scale.get(in_) is not None:
            caffe_in *= self.raw_scale[in_]
        if self.mean.get(in_) is not None:
            caffe_in -= self.mean[in_]
        if self.input_scale.get(in_) is not None:
            caffe_in *= self.input_scale[in_]
        return np.ascontiguousarray(caffe_in)

    def deprocess(self, in_, data):
        """Undo preprocess: K x H x W (or 1 x K x H x W) -> H x W x K."""
        self.__check_input(in_)
        decaf_in = np.array(data, copy=True).squeeze()
        if self.input_scale.get(in_) is not None:
            decaf_in /= self.input_scale[in_]
        if self.mean.get(in_) is not None:
            decaf_in += self.mean[in_]
        if self.raw_scale.get(in_) is not None:
            decaf_in /= self.raw_scale[in_]
        if self.channel_swap.get(in_) is not None:
            decaf_in = decaf_in[np.argsort(self.channel_swap[in_]), :, :]
        if self.transpose.get(in_) is not None:
            decaf_in = decaf_in.transpose(np.argsort(self.transpose[in_]))
        return decaf_in

    def set_transpose(self, in_, order):
        """Axis order applied to the image, e.g. (2, 0, 1): H x W x K -> K x H x W."""
        self.__check_input(in_)
        if len(order) != len(self._shape(in_)) - 1:
            raise CaffeIOError('Transpose order needs to have the same number of '
                               'dimensions as the input.')
        self.transpose[in_] = order

    def set_channel_swap(self, in_, order):
        """Channel order after the transpose, e.g. (2, 1, 0) for RGB -> BGR."""
        self.__check_input(in_)
        if len(order) != self._shape(in_)[1]:
            raise CaffeIOError('Channel swap needs to have the same number of '
                               'dimensions as the input channels.')
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_, scale):
        """Multiplier applied before the mean, e.g. 255 for [0, 1] images."""
        self.__check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_, mean):
        """Mean to subtract: per channel (K,), or an image (K, H, W) or
        (H, W); a mean image of another H x W is resized to the input's."""
        self.__check_input(in_)
        mean = np.asarray(mean)
        ms = mean.shape
        if mean.ndim == 1:
            if ms[0] != self._shape(in_)[1]:
                raise CaffeIOError('Mean channels incompatible with input.')
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if len(ms) == 2:
                ms = (1,) + ms
            if len(ms) != 3:
                raise CaffeIOError('Mean shape invalid')
            if ms != self._shape(in_)[1:]:
                mean = _resize_mean(mean.reshape(ms), self._shape(in_)[2:])
        self.mean[in_] = mean

    def set_input_scale(self, in_, scale):
        """Multiplier applied after the mean subtraction."""
        self.__check_input(in_)
        self.input_scale[in_] = scale


def _resize_mean(mean, dims):
    """K x H' x W' mean image resized to K x dims, through [0, 1] as pycaffe."""
    m_min, m_max = mean.min(), mean.max()
    if not m_max > m_min:  # pycaffe would divide by zero here
        return np.full(mean.shape[:1] + tuple(dims), m_min, np.float32)
    normal_mean = (mean - m_min) / (m_max - m_min)
    resized = resize_image(normal_mean.transpose((1, 2, 0)), dims).transpose((2, 0, 1))
    return resized * (m_max - m_min) + m_min
