"""Preprocessing baked into an exported graph: pycaffe's Transformer steps
(channel swap, raw_scale, mean subtraction, input_scale, in that order)
on an (N, C, H, W) input, so a deployed model can take RGB 0-255 images
as the course's Classifier does, instead of Caffe's BGR mean-subtracted
ones."""
import numpy as np

from .. import io
from ..job_classifier import load_mean_for
from ..errors import CaffeError


class Preprocessing:
    """The steps applied to one net input.

    ``mean``: a mean.binaryproto or mean.jpg path (center-cropped or
    resized to the input, as ``caffelite classify`` does), a per-channel
    pixel (C,) or an image (C, H, W); ``channel_swap``: the order taking
    the graph input's channels to the net's, e.g. (2, 1, 0) for RGB in,
    BGR to the net; ``raw_scale`` and ``input_scale``: multipliers before
    and after the mean.
    """

    def __init__(self, mean=None, raw_scale=None, channel_swap=None, input_scale=None):
        self.mean, self.raw_scale = mean, raw_scale
        self.channel_swap, self.input_scale = channel_swap, input_scale

    def __bool__(self):
        return any(v is not None for v in (self.mean, self.raw_scale, self.channel_swap,
                                           self.input_scale))

    def mean_array(self, shape):
        """The mean as a pixel (C,) or an image (C, H, W), float32, for an
        input of ``shape`` (N, C, H, W); or None."""
        if self.mean is None:
            return None
        if isinstance(self.mean, str):
            return np.asarray(load_mean_for(self.mean, tuple(shape[1:])), np.float32)
        mean = np.asarray(self.mean, np.float32)
        if mean.shape == (shape[1],) or mean.shape == tuple(shape[1:]):
            return mean
        raise CaffeError('mean of shape %s fits neither the channels (%d) nor the input %s'
                         % (mean.shape, shape[1], tuple(shape[1:])))

    def check(self, shape):
        """Refuse steps that do not fit an input of ``shape``."""
        if len(shape) != 4:
            raise CaffeError('preprocessing needs an (N, C, H, W) input, got %s' % (shape,))
        if self.channel_swap is not None and sorted(self.channel_swap) != list(range(shape[1])):
            raise CaffeError('channel swap %s is not an order of the %d input channels'
                             % (tuple(self.channel_swap), shape[1]))

    def transformer(self, name, shape):
        """pycaffe's Transformer doing the same steps to H x W x C images,
        the reference the exported graph is checked against."""
        transformer = io.Transformer({name: tuple(shape)})
        transformer.set_transpose(name, (2, 0, 1))
        if self.channel_swap is not None:
            transformer.set_channel_swap(name, tuple(self.channel_swap))
        if self.raw_scale is not None:
            transformer.set_raw_scale(name, self.raw_scale)
        mean = self.mean_array(shape)
        if mean is not None:
            transformer.set_mean(name, mean)
        if self.input_scale is not None:
            transformer.set_input_scale(name, self.input_scale)
        return transformer

    def apply(self, name, shape, batch):
        """The net's input for an (N, C, H, W) graph input ``batch``."""
        transformer = self.transformer(name, shape)
        return np.stack([transformer.preprocess(name, image.transpose(1, 2, 0))
                         for image in np.asarray(batch, np.float32)])

    def emit(self, g, x, shape, where):
        """Add the steps to GraphBuilder ``g`` after tensor ``x``; returns
        the preprocessed tensor's name."""
        self.check(shape)
        if self.channel_swap is not None:
            x = g.op('Gather', [x, g.ints(self.channel_swap)], where=where, axis=1)
        if self.raw_scale is not None:
            x = g.op('Mul', [x, g.const(np.float32(self.raw_scale))], where=where)
        mean = self.mean_array(shape)
        if mean is not None:
            mean = mean.reshape((1, -1) + (mean.shape[1:] if mean.ndim == 3 else (1, 1)))
            x = g.op('Sub', [x, g.initializer(mean, where + '/mean')], where=where)
        if self.input_scale is not None:
            x = g.op('Mul', [x, g.const(np.float32(self.input_scale))], where=where)
        return x
