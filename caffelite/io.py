"""pycaffe's ``caffe.io``: image loading and resizing, the Transformer that
turns H x W x K images into net inputs, oversampling, and conversions
between arrays and BlobProto / Datum messages.

Images load through Pillow (no scikit-image or OpenCV needed); resizing
reproduces what pycaffe's scikit-image call computed: pixel-center aligned
interpolation with zero (``mode='constant'``) outside, applied to the image
stretched to [0, 1], so edges blend toward the image minimum as in Caffe.
"""
import io as _io

import numpy as np

from .errors import CaffeError
from .proto import caffe_pb2


# --- images -------------------------------------------------------------------
def load_image(filename, color=True):
    """An H x W x 3 (or x 1 with ``color=False``) float32 image in [0, 1].

    8-bit images are divided by 255 and 16-bit ones by 65535; gray images
    are tiled to 3 channels when ``color``; an alpha channel is dropped;
    color images become gray with ITU-R 709 luma weights when not ``color``.
    """
    from PIL import Image
    try:
        with Image.open(filename) as img:
            img.load()
            array = _to_float(img)
    except OSError as e:
        raise CaffeError('cannot read image %s: %s' % (filename, e)) from None
    if array.ndim == 2:
        array = array[:, :, np.newaxis]
    if array.shape[2] == 4:
        array = array[:, :, :3]
    if color and array.shape[2] == 1:
        array = np.tile(array, (1, 1, 3))
    elif not color and array.shape[2] == 3:
        array = (array @ np.array([0.2125, 0.7154, 0.0721], np.float32))[:, :, np.newaxis]
    return array.astype(np.float32)


def _to_float(img):
    """Pillow image -> float32 array scaled by its integer range."""
    if img.mode in ('I;16', 'I;16B', 'I;16L', 'I'):
        return np.asarray(img, np.float32) / 65535.0
    if img.mode not in ('L', 'RGB', 'RGBA', 'F'):
        img = img.convert('RGBA' if 'A' in img.mode else 'RGB')
    if img.mode == 'F':
        return np.asarray(img, np.float32)
    return np.asarray(img, np.float32) / 255.0


def _sample(image, rows, cols, order):
    """Interpolate H x W x K ``image`` at float coordinates (``rows`` x
    ``cols`` grid); order 0 is nearest, 1 bilinear; outside is 0."""
    h, w = image.shape[:2]
    padded = np.zeros((h + 2, w + 2) + image.shape[2:], image.dtype)
    padded[1:-1, 1:-1] = image

    def pick(r, c):
        r = np.clip(r, -1, h) + 1
        c = np.clip(c, -1, w) + 1
        return padded[r[:, None], c[None, :]]

    if order == 0:
        # C's round(): halves away from zero.
        near = lambda v: (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(int)
        return pick(near(rows), near(cols))
    if order != 1:
        raise ValueError('interp_order must be 0 or 1, got %r' % order)
    r0, c0 = np.floor(rows).astype(int), np.floor(cols).astype(int)
    dr = (rows - r0)[:, None, None] if image.ndim == 3 else (rows - r0)[:, None]
    dc = (cols - c0)[None, :, None] if image.ndim == 3 else (cols - c0)[None, :]
    r1, c1 = np.ceil(rows).astype(int), np.ceil(cols).astype(int)
    top = (1 - dc) * pick(r0, c0) + dc * pick(r0, c1)
    bottom = (1 - dc) * pick(r1, c0) + dc * pick(r1, c1)
    return (1 - dr) * top + dr * bottom


def resize_image(im, new_dims, interp_order=1):
    """Resize an H x W x K image to ``new_dims`` (height, width), float32.

    For K in (1, 3) this is pycaffe's path: stretch to [0, 1], resample with
    pixel centers aligned and zeros outside, stretch back (a constant image
    stays constant). Other K use end-aligned (zoom-style) sampling.
    """
    out_h, out_w = int(new_dims[0]), int(new_dims[1])
    h, w = im.shape[:2]
    if (h, w) == (out_h, out_w) and im.shape[-1] in (1, 3):
        # Centers map onto themselves: interpolation returns the pixels.
        return np.array(im, np.float32)
    im = np.asarray(im, np.float64)
    if im.shape[-1] in (1, 3):
        low, high = im.min(), im.max()
        if high <= low:
            return np.full((out_h, out_w, im.shape[-1]), low, np.float32)
        rows = (np.arange(out_h) + 0.5) * (h / out_h) - 0.5
        cols = (np.arange(out_w) + 0.5) * (w / out_w) - 0.5
        std = _sample((im - low) / (high - low), rows, cols, interp_order)
        return (std * (high - low) + low).astype(np.float32)
    rows = np.arange(out_h) * ((h - 1) / max(out_h - 1, 1))
    cols = np.arange(out_w) * ((w - 1) / max(out_w - 1, 1))
    return _sample(im, rows, cols, interp_order).astype(np.float32)


def oversample(images, crop_dims):
    """10 crops per image: 4 corners and the center, then their mirrors.

    ``images``: iterable of H x W x K; returns (10 N, ch, cw, K) float32.
    """
    images = list(images)
    shape = np.array(images[0].shape)
    crop = np.array(crop_dims)
    corners = [(i, j) for i in (0, shape[0] - crop[0]) for j in (0, shape[1] - crop[1])]
    boxes = np.empty((5, 4), int)
    for k, (i, j) in enumerate(corners):
        boxes[k] = (i, j, i + crop[0], j + crop[1])
    boxes[4] = np.tile(shape[:2] / 2.0, 2) + np.concatenate([-crop / 2.0, crop / 2.0])
    crops = np.empty((10 * len(images), crop[0], crop[1], shape[-1]), np.float32)
    for n, im in enumerate(images):
        five = np.stack([im[a:c, b:d, :] for a, b, c, d in boxes])
        crops[10 * n:10 * n + 5] = five
        crops[10 * n + 5:10 * n + 10] = five[:, :, ::-1, :]
    return crops


class Transformer:
    """Turns H x W x K images into a net input's K x H x W layout and back.

    ``inputs``: {input name: input blob shape}. preprocess: resize to the
    input's H x W, transpose, channel swap, raw_scale, subtract mean,
    input_scale. deprocess undoes them in reverse order.
    """

    def __init__(self, inputs):
        self.inputs = inputs
        self.transpose = {}
        self.channel_swap = {}
        self.raw_scale = {}
        self.mean = {}
        self.input_scale = {}

    def _check_input(self, name):
        if name not in self.inputs:
            raise KeyError('{} is not one of the net inputs: {}'.format(name, self.inputs))

    def preprocess(self, in_, data):
        self._check_input(in_)
        x = np.asarray(data).astype(np.float32, copy=True)
        dims = tuple(self.inputs[in_][2:])
        if x.shape[:2] != dims:
            x = resize_image(x, dims)
        if self.transpose.get(in_) is not None:
            x = x.transpose(self.transpose[in_])
        if self.channel_swap.get(in_) is not None:
            x = x[list(self.channel_swap[in_]), :, :]
        if self.raw_scale.get(in_) is not None:
            x *= self.raw_scale[in_]
        if self.mean.get(in_) is not None:
            x -= self.mean[in_]
        if self.input_scale.get(in_) is not None:
            x *= self.input_scale[in_]
        return np.ascontiguousarray(x, np.float32)

    def deprocess(self, in_, data):
        self._check_input(in_)
        x = np.array(data, np.float32).squeeze()
        if self.input_scale.get(in_) is not None:
            x /= self.input_scale[in_]
        if self.mean.get(in_) is not None:
            x += self.mean[in_]
        if self.raw_scale.get(in_) is not None:
            x /= self.raw_scale[in_]
        if self.channel_swap.get(in_) is not None:
            x = x[np.argsort(self.channel_swap[in_]), :, :]
        if self.transpose.get(in_) is not None:
            x = x.transpose(np.argsort(self.transpose[in_]))
        return x

    def set_transpose(self, in_, order):
        """Axis order from the image's (H, W, K), usually (2, 0, 1)."""
        self._check_input(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise ValueError('Transpose order needs to have the same number of dimensions '
                             'as the input.')
        self.transpose[in_] = order

    def set_channel_swap(self, in_, order):
        """Channel order, e.g. (2, 1, 0) for RGB images into a BGR net."""
        self._check_input(in_)
        if len(order) != self.inputs[in_][1]:
            raise ValueError('Channel swap needs to have the same number of dimensions as '
                             'the input channels.')
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_, scale):
        """Scale applied before mean subtraction, e.g. 255 for [0, 1] images."""
        self._check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_, mean):
        """A per-channel mean (K,) or a mean image (K, H, W) of the input's size."""
        self._check_input(in_)
        mean = np.asarray(mean)
        shape = mean.shape
        if mean.ndim == 1:
            if shape[0] != self.inputs[in_][1]:
                raise ValueError('Mean channels incompatible with input.')
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if len(shape) == 2:
                shape = (1,) + shape
            if len(shape) != 3:
                raise ValueError('Mean shape invalid')
            if tuple(shape) != tuple(self.inputs[in_][1:]):
                raise ValueError('Mean shape incompatible with input shape.')
        self.mean[in_] = mean

    def set_input_scale(self, in_, scale):
        """Scale applied after mean subtraction."""
        self._check_input(in_)
        self.input_scale[in_] = scale


# --- protos ---------------------------------------------------------------------
def blobproto_to_array(blob, return_diff=False):
    """The data (or diff) of a BlobProto as an array of the blob's shape
    (legacy num/channels/height/width blobs come out 4-d)."""
    values = blob.diff if return_diff else blob.data
    if any(blob.HasField(f) for f in ('num', 'channels', 'height', 'width')):
        shape = (blob.num, blob.channels, blob.height, blob.width)
    else:
        shape = tuple(blob.shape.dim)
    return np.asarray(values, np.float32).reshape(shape)


def array_to_blobproto(arr, diff=None):
    """A BlobProto with ``arr``'s shape and data (and ``diff`` if given)."""
    from .protoio import set_packed_floats
    arr = np.asarray(arr)
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend(arr.shape)
    set_packed_floats(blob, 'data', arr.ravel())
    if diff is not None:
        set_packed_floats(blob, 'diff', np.asarray(diff).ravel())
    return blob


def arraylist_to_blobprotovector_str(arraylist):
    vector = caffe_pb2.BlobProtoVector()
    vector.blobs.extend(array_to_blobproto(a) for a in arraylist)
    return vector.SerializeToString()


def blobprotovector_str_to_arraylist(data):
    vector = caffe_pb2.BlobProtoVector.FromString(data)
    return [blobproto_to_array(blob) for blob in vector.blobs]


def array_to_datum(arr, label=None):
    """A Datum from a C x H x W array: uint8 into ``data``, else ``float_data``."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError('Incorrect array shape.')
    datum = caffe_pb2.Datum(channels=arr.shape[0], height=arr.shape[1], width=arr.shape[2])
    if arr.dtype == np.uint8:
        datum.data = arr.tobytes()
    else:
        datum.float_data.extend(arr.astype(float).ravel())
    if label is not None:
        datum.label = int(label)
    return datum


def datum_to_array(datum):
    """The C x H x W array of a Datum: uint8 for byte data (encoded PNG/JPEG
    datums are decoded, color ones into Caffe's BGR order), float otherwise."""
    if datum.encoded:
        return decode_image_bytes(datum.data)
    if len(datum.data):
        return np.frombuffer(datum.data, np.uint8).reshape(datum.channels, datum.height,
                                                           datum.width)
    return np.asarray(datum.float_data, np.float64).reshape(datum.channels, datum.height,
                                                            datum.width)


def decode_image_bytes(data):
    """Decode PNG/JPEG bytes as OpenCV's imdecode(-1) would: gray stays one
    channel, color becomes BGR; returns C x H x W uint8."""
    from PIL import Image
    try:
        with Image.open(_io.BytesIO(data)) as img:
            if img.mode not in ('L', 'RGB'):
                img = img.convert('RGB' if img.mode != 'LA' else 'L')
            array = np.asarray(img)
    except OSError as e:
        raise CaffeError('cannot decode an encoded Datum: %s' % e) from None
    if array.ndim == 2:
        return array[np.newaxis].copy()
    return np.ascontiguousarray(array[:, :, ::-1].transpose(2, 0, 1))


def load_mean(path):
    """The C x H x W mean of a mean.binaryproto file."""
    from . import protoio
    array = blobproto_to_array(protoio.read_binary(path, caffe_pb2.BlobProto()))
    return array[0] if array.ndim == 4 else array
