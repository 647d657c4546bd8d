"""Classifier: pycaffe's image classification wrapper around a Net.

``Classifier(model_file, pretrained_file, image_dims=None, mean=None,
input_scale=None, raw_scale=None, channel_swap=None)``; ``predict(inputs,
oversample=True)`` takes H x W x K float images (``io.load_image`` output),
resizes them to ``image_dims``, takes the center crop or the 10 oversampled
crops of the net's input size, preprocesses and returns (N, classes)
predictions, averaged over the crops.
"""
import numpy as np

from . import io, net_log
from .net import TEST, Net


def make_transformer(net, mean, input_scale, raw_scale, channel_swap):
    """A Transformer for ``net``'s first input: H x W x K images in, K x H x W out."""
    name = net.inputs[0]
    transformer = io.Transformer({name: net.blobs[name].data.shape})
    transformer.set_transpose(name, (2, 0, 1))
    if mean is not None:
        transformer.set_mean(name, mean)
    if input_scale is not None:
        transformer.set_input_scale(name, input_scale)
    if raw_scale is not None:
        transformer.set_raw_scale(name, raw_scale)
    if channel_swap is not None:
        transformer.set_channel_swap(name, channel_swap)
    return transformer


def center_crop(images, crop_dims):
    """Crop the centered ``crop_dims`` window of (N, H, W, K) ``images``."""
    h, w = images.shape[1:3]
    top = int((h - crop_dims[0]) / 2.0)
    left = int((w - crop_dims[1]) / 2.0)
    return images[:, top:top + int(crop_dims[0]), left:left + int(crop_dims[1]), :]


class Classifier(Net):
    """A TEST-phase Net that classifies images (pycaffe's caffe.Classifier)."""

    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None,
                 input_scale=None, raw_scale=None, channel_swap=None):
        if pretrained_file is None:
            raise TypeError('Classifier(model_file, pretrained_file): pretrained_file is None; '
                            'give the trained .caffemodel')
        # pycaffe's Classifier builds its net with the legacy constructor,
        # which warns; this one loads the weights itself to require some
        net_log.log_legacy_constructor(model_file, pretrained_file, TEST)
        super().__init__(model_file, TEST)
        self.copy_from(pretrained_file).require_some()
        name = self.inputs[0]
        self.transformer = make_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.crop_dims = np.array(self.blobs[name].data.shape[2:])
        self.image_dims = image_dims if image_dims is not None else self.crop_dims

    def predict(self, inputs, oversample=True):
        """(N, classes) predictions for a list of H x W x K images; with
        ``oversample`` each is the mean over 10 crops (corners, center,
        mirrored)."""
        channels = self._check_images(inputs)
        resized = np.zeros((len(inputs), int(self.image_dims[0]), int(self.image_dims[1]),
                            channels), np.float32)
        for i, image in enumerate(inputs):
            resized[i] = io.resize_image(image, self.image_dims)
        crops = (io.oversample(resized, self.crop_dims) if oversample
                 else center_crop(resized, self.crop_dims))
        name = self.inputs[0]
        batch = np.stack([self.transformer.preprocess(name, crop) for crop in crops])
        predictions = self.forward_all(**{name: batch})[self.outputs[0]]
        if oversample:
            predictions = predictions.reshape(len(predictions) // 10, 10, -1).mean(axis=1)
        return predictions

    def _check_images(self, inputs):
        """The channel count K of ``inputs``, a list of H x W x K images
        with the K of the net's input; TypeError or ValueError otherwise."""
        if isinstance(inputs, np.ndarray) and inputs.ndim == 3:
            raise TypeError('predict takes a list of H x W x K images; got one array of shape '
                            '%s: pass [image]' % (inputs.shape,))
        if isinstance(inputs, (str, bytes)) or not hasattr(inputs, '__len__'):
            raise TypeError('predict takes a list of H x W x K images (caffe.io.load_image), '
                            'got %s' % type(inputs).__name__)
        if not len(inputs):
            raise ValueError('predict needs at least one image')
        channels = self.blobs[self.inputs[0]].shape[1]
        for i, image in enumerate(inputs):
            shape = np.shape(image)
            if len(shape) != 3 or shape[2] != channels:
                kind = ('a gray H x W image' if len(shape) == 2 else
                        'an H x W x %d image' % shape[2] if len(shape) == 3 else
                        'an array of shape %s' % (shape,))
                raise ValueError('predict: image %d is %s, but the net takes %d-channel '
                                 'images (H x W x %d; caffe.io.load_image(path, color=%s))'
                                 % (i, kind, channels, channels, channels == 3))
        return channels
