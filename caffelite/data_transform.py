"""Caffe's DataTransformer: ``transform_param`` applied to a batch of images.

Order and arithmetic follow Caffe: crop (random at TRAIN, centered at TEST),
mirror (random at TRAIN), subtract the mean (a full-size mean image indexed
at the crop offset, or per-channel values), then multiply by ``scale``.
Images are uint8 or float arrays shaped (C, H, W) with Caffe's BGR channels.
"""
import numpy as np

from . import backend
from .codec import load_mean
from .errors import CaffeError
from .proto import caffe_pb2


def to_channels(image, force_color, force_gray):
    """Convert a (C, H, W) image to 3 or 1 channels when forced: gray to
    BGR by repetition, BGR(A) to gray with OpenCV's 0.299/0.587/0.114
    weights; alpha is dropped when a color image is forced."""
    if (force_color or force_gray) and image.shape[0] == 4:
        image = image[:3]
    if force_color and image.shape[0] == 1:
        return np.repeat(image, 3, axis=0)
    if force_gray and image.shape[0] == 3:
        b, g, r = image.astype(np.float32)
        gray = np.rint(0.114 * b + 0.587 * g + 0.299 * r)
        return gray.clip(0, 255).astype(image.dtype)[None]
    return image


def transform_mean(param):
    """(mean image (C, H, W) float32 of ``param.mean_file`` or None, the
    float32 ``mean_value`` array) of a TransformationParameter; giving both
    is an error, as in Caffe."""
    if not param.HasField('mean_file'):
        return None, np.asarray(param.mean_value, np.float32)
    if len(param.mean_value):
        raise CaffeError('transform_param: specify either mean_file or mean_value, not both')
    return load_mean(param.mean_file), np.zeros(0, np.float32)


class DataTransformer:
    """Applies one TransformationParameter to (N, C, H, W) batches; random
    crops and mirrors draw from ``rng`` (a numpy RandomState; the global
    generator when None)."""

    def __init__(self, param, phase, rng=None):
        self.param = param
        self.phase = phase
        self.rng = rng if rng is not None else backend.rng()
        self.mean, self.mean_values = transform_mean(param)

    def output_shape(self, image_shape):
        """(C, H, W) after cropping an image of (C, H, W)."""
        c, h, w = image_shape
        crop = self.param.crop_size
        if crop:
            if crop > h or crop > w:
                raise CaffeError('crop_size %d is larger than the image %dx%d' % (crop, h, w))
            return c, crop, crop
        return c, h, w

    def _offsets(self, n, h, w, crop):
        if not crop:
            return np.zeros(n, int), np.zeros(n, int)
        if self.phase == caffe_pb2.TRAIN:
            return (self.rng.randint(0, h - crop + 1, n),
                    self.rng.randint(0, w - crop + 1, n))
        return np.full(n, (h - crop) // 2), np.full(n, (w - crop) // 2)

    def _mirrors(self, n):
        if self.param.mirror and self.phase == caffe_pb2.TRAIN:
            return self.rng.randint(0, 2, n).astype(bool)
        return np.zeros(n, bool)

    def __call__(self, images):
        """Transform (N, C, H, W) images into a float32 (N, C, h, w) batch."""
        images = np.asarray(images)
        n, c, h, w = images.shape
        _, out_h, out_w = self.output_shape((c, h, w))
        data = images.astype(np.float32)
        if self.mean is not None:
            if self.mean.shape != (c, h, w):
                raise CaffeError('mean_file %s has shape %s, the data %s'
                                 % (self.param.mean_file, self.mean.shape, (c, h, w)))
            data -= self.mean
        elif self.mean_values.size:
            if self.mean_values.size not in (1, c):
                raise CaffeError('mean_value must be given once or once per channel (%d)' % c)
            data -= (self.mean_values if self.mean_values.size == c
                     else np.repeat(self.mean_values, c)).reshape(1, c, 1, 1)
        data *= np.float32(self.param.scale)
        rows, cols = self._offsets(n, h, w, self.param.crop_size)
        # Gather each image's crop window with one fancy-index per axis.
        ri = rows[:, None] + np.arange(out_h)[None]
        ci = cols[:, None] + np.arange(out_w)[None]
        ci = np.where(self._mirrors(n)[:, None], ci[:, ::-1], ci)
        batch = data[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                     ri[:, None, :, None], ci[:, None, None, :]]
        return np.ascontiguousarray(batch, np.float32)
