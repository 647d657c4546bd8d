"""Classifying image files with a model job the way DIGITS does at
inference, so that a model answers in ``caffelite classify``, the demo and
the server what it answered in DIGITS. pycaffe's array-in, array-out
``caffe.Classifier`` is :mod:`caffelite.classifier`.

A DIGITS model job folder holds ``deploy.prototxt``, ``snapshot_iter_N.caffemodel``
files and often ``labels.txt``; its dataset job folder holds ``mean.binaryproto``
and ``mean.jpg``. For each image, :class:`JobClassifier`:

1. reads it as DIGITS' datasets did (PIL, RGB or L) and resizes it to the
   dataset's size with the dataset's resize mode (by default: squashed to
   the net input);
2. resizes it to the deploy input when that differs (a crop size),
   transposes it to C x H x W, RGB -> BGR for 3 channels, keeps 0-255;
3. subtracts the mean pixel, or the mean image truncated to integers and
   resized (bilinear) to the deploy input, as DIGITS' transformer does;
4. takes the class probabilities from the last output of the deploy net.
"""
import os

import numpy as np

from . import images, io
from .codec import load_mean
from .errors import CaffeError
from .images import IMAGE_EXTENSIONS
from .model_folder import latest_snapshot
from .net import TEST, Net
from .textfile import read_labels

MEAN_USES = ('image', 'pixel', 'none')


def resolve_model(model, weights=None, mean=None, labels=None):
    """(deploy.prototxt, weights, mean file or None, labels file or None) from
    a job folder or a prototxt path, filling in what the folder holds: its
    deploy.prototxt, latest snapshot, labels.txt and mean, each looked for
    in the folder, then in the snapshot's folder."""
    if os.path.isdir(model):
        folder = model
        weights = weights or latest_snapshot(folder)
        places = [folder, os.path.dirname(os.path.abspath(weights))]
        model = _first_in(places, ['deploy.prototxt'])
        if model is None:
            raise CaffeError('%s has no deploy.prototxt' % folder)
        mean = mean or _first_in(places, ['mean.binaryproto', 'mean.jpg'])
        labels = labels or _first_in(places, ['labels.txt'])
    if not weights:
        raise CaffeError('no weights given for %s (use --weights)' % model)
    return model, weights, mean, labels


def input_shape(deploy):
    """The (N, C, H, W) of a deploy net's input, read from the prototxt
    without building the net."""
    from .net import load_net_param
    param = load_net_param(deploy)
    for layer in param.layer:
        if layer.type == 'Input' and len(layer.input_param.shape):
            return tuple(layer.input_param.shape[0].dim)
    raise CaffeError('%s has no Input layer to give the input shape' % deploy)


def _first_in(folders, names):
    """The first of ``names`` found in the first folder holding one, or None."""
    for folder in folders:
        for name in names:
            if os.path.exists(os.path.join(folder, name)):
                return os.path.join(folder, name)
    return None


def read_mean(path, channels):
    """The C x H x W mean (BGR, 0-255) of a mean.binaryproto or a mean.jpg
    for a net of ``channels`` channels."""
    if path.endswith('.binaryproto'):
        mean = load_mean(path)
    else:
        pixels = images.read_like_digits(path, channels == 3)
        mean = pixels.reshape(pixels.shape[:2] + (-1,)).transpose(2, 0, 1)[::-1]
    if mean.shape[0] != channels:
        raise CaffeError('mean %s has %d channels, the net takes %d'
                         % (path, mean.shape[0], channels))
    return np.asarray(mean, np.float32)


def load_mean_for(path, shape):
    """A C x H x W mean fitted to the input ``shape`` (C, H, W) as Caffe's
    data layer fits it at test time: center-cropped to H x W, or resized
    when smaller."""
    mean = read_mean(path, shape[0])
    _, h, w = shape
    if mean.shape[1] >= h and mean.shape[2] >= w:
        top, left = (mean.shape[1] - h) // 2, (mean.shape[2] - w) // 2
        return mean[:, top:top + h, left:left + w]
    return io.resize_image(mean.transpose(1, 2, 0), (h, w)).transpose(2, 0, 1)


def digits_mean(path, use_mean, shape):
    """The mean DIGITS subtracts for an input ``shape`` (C, H, W): the mean
    pixel (C,), or the mean image truncated to uint8 and resized like an
    image to H x W."""
    mean = read_mean(path, shape[0])
    if use_mean == 'pixel':
        return mean.mean(axis=(1, 2))
    picture = mean.astype(np.uint8).transpose(1, 2, 0)
    picture = picture[:, :, 0] if picture.shape[2] == 1 else picture
    resized = images.resize_like_digits(picture, int(shape[1]), int(shape[2]), 'squash')
    return resized.reshape(resized.shape[:2] + (-1,)).transpose(2, 0, 1).astype(np.float32)


def list_images(paths):
    """Image files named directly or found (recursively) in folders."""
    found = []
    for path in paths:
        if os.path.isdir(path):
            for folder, _, files in sorted(os.walk(path)):
                found += [os.path.join(folder, f) for f in sorted(files)
                          if f.lower().endswith(IMAGE_EXTENSIONS)]
        else:
            found.append(path)
    return found


class JobClassifier:
    """A deploy net with its weights, labels and the preprocessing of its
    dataset, classifying image files (see the module's steps).

    ``model`` is a job folder or a deploy.prototxt (``resolve_model`` fills
    in the weights, mean and labels a folder holds); ``image_dims`` is the
    dataset's (height, width, channels) (default: the net input),
    ``resize_mode`` its resize mode and ``use_mean`` the model's
    image/pixel/none.
    """

    def __init__(self, model, weights=None, mean=None, labels=None, image_dims=None,
                 resize_mode='squash', use_mean='image'):
        if use_mean not in MEAN_USES:
            raise CaffeError('use_mean must be one of %s, not %r' % (', '.join(MEAN_USES),
                                                                      use_mean))
        model, weights, mean, labels = resolve_model(model, weights, mean, labels)
        self.net = Net(model, TEST)
        self.net.copy_from(weights).require_some()
        self.input = self.net.inputs[0]
        shape = self.net.blobs[self.input].shape
        self.image_dims = tuple(image_dims or (shape[2], shape[3], shape[1]))
        self.resize_mode = resize_mode
        self.labels = read_labels(labels) if labels else []
        self.mean = (mean, use_mean) if mean and use_mean != 'none' else None
        self.transformer = self._transformer(tuple(shape[1:]))
        self.rng = np.random.RandomState(0)

    def _transformer(self, shape):
        """The io.Transformer of an input of ``shape`` (C, H, W): H x W x C
        -> C x H x W, RGB -> BGR for 3 channels, the mean fitted to H x W."""
        transformer = io.Transformer({self.input: (1,) + shape})
        transformer.set_transpose(self.input, (2, 0, 1))
        if shape[0] == 3:
            transformer.set_channel_swap(self.input, (2, 1, 0))
        if self.mean:
            transformer.set_mean(self.input, digits_mean(self.mean[0], self.mean[1], shape))
        return transformer

    def load(self, path):
        """H x W x C uint8 pixels of an image (a path or a file object) at
        the dataset's size."""
        height, width, channels = self.image_dims
        pixels = images.read_like_digits(path, channels == 3)
        pixels = images.resize_like_digits(pixels, height, width, self.resize_mode, self.rng)
        return pixels.reshape(pixels.shape[:2] + (-1,))

    def outputs(self, pictures, resize=True):
        """{output name: (N, ...) array, the caller's own} of the deploy net
        for N loaded pictures (H x W x C) in one forward pass (the input reshaped to N,
        as DIGITS does). ``resize=False`` (DIGITS' extension inference):
        pictures of one size other than the net input's are not resized,
        the net is reshaped to their size and a mean image resized to it; a
        net that cannot take that size raises the LayerError of its layer."""
        transformer = self.transformer
        size = tuple(pictures[0].shape[:2])
        if not resize and size != transformer.inputs[self.input][2:]:
            transformer = self._transformer((self.net.blobs[self.input].shape[1],) + size)
        batch = np.stack([transformer.preprocess(self.input, p) for p in pictures])
        blob = self.net.blobs[self.input]
        if blob.shape != batch.shape:
            blob.reshape(*batch.shape)
            self.net.reshape()
        blob.data[...] = batch
        # copies: the next call reuses the output blobs' storage (a smaller
        # batch keeps it), which would overwrite arrays a caller still holds
        return {name: np.array(value) for name, value in self.net.forward().items()}

    def probabilities(self, pictures):
        """(N, classes) scores of N loaded pictures: the last output of the
        deploy net."""
        return self.outputs(pictures)[self.net.outputs[-1]].reshape(len(pictures), -1)

    def each(self, paths, batch_size=32):
        """Yield, for each path in order, (path, its (classes,) scores, None),
        or (path, None, reason) when the image cannot be read. Images go
        through the net ``batch_size`` at a time, so memory does not grow
        with the number of images."""
        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            pictures, failures = {}, {}
            for i, path in enumerate(chunk):
                try:
                    pictures[i] = self.load(path)
                except CaffeError as e:
                    failures[i] = str(e)
            scores = {}
            if pictures:
                scores = dict(zip(pictures, self.probabilities(list(pictures.values()))))
            for i, path in enumerate(chunk):
                yield path, scores.get(i), failures.get(i)

    def classify(self, paths, top_k=5, batch_size=32):
        """Like ``each``, with the ``top_k`` [(label, probability), ...] of
        each readable image in place of its scores."""
        for path, scores, failure in self.each(paths, batch_size):
            yield path, None if scores is None else self.top(scores, top_k), failure

    def top(self, scores, k=5):
        """[(label, probability)] of the best ``k`` classes, best first: only
        labelled classes when there are labels (as DIGITS), class numbers
        when there are none."""
        order = np.argsort(-scores, kind='stable')
        if self.labels:
            return [(self.labels[i], float(scores[i])) for i in order
                    if i < len(self.labels)][:k]
        return [(str(i), float(scores[i])) for i in order[:k]]
