"""Classifying image files with a model job the way DIGITS deploys one
(``caffelite classify``): the model, weights, mean and labels are resolved
from files, and results are top-k (label, probability) lists. pycaffe's
array-in, array-out ``caffe.Classifier`` is :mod:`caffelite.classifier`.

A DIGITS model job folder holds ``deploy.prototxt``, ``snapshot_iter_N.caffemodel``
files and often ``labels.txt``; its dataset job folder holds ``mean.binaryproto``
and ``mean.jpg``. Images are resized (squashed) to the net input, put in
Caffe's BGR 0-255 layout, the mean image or pixel is subtracted, and the
softmax output gives the top-k labels.
"""
import os

import numpy as np

from . import io
from .codec import load_mean
from .errors import CaffeError
from .model_folder import latest_snapshot
from .net import TEST, Net
from .textfile import read_lines
from .images import IMAGE_EXTENSIONS


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


def load_mean_for(path, shape):
    """A C x H x W mean (BGR, 0-255) fitted to the input ``shape`` (C, H, W):
    a mean.binaryproto or mean.jpg, center-cropped or resized to H x W."""
    if path.endswith('.binaryproto'):
        mean = load_mean(path)
    else:
        image = io.load_image(path, color=shape[0] == 3) * 255.0
        mean = image.transpose(2, 0, 1)[::-1] if shape[0] == 3 else image.transpose(2, 0, 1)
    c, h, w = shape
    if mean.shape[0] != c:
        raise CaffeError('mean %s has %d channels, the net takes %d' % (path, mean.shape[0], c))
    if mean.shape[1] >= h and mean.shape[2] >= w:
        top, left = (mean.shape[1] - h) // 2, (mean.shape[2] - w) // 2
        return mean[:, top:top + h, left:left + w]
    return io.resize_image(mean.transpose(1, 2, 0), (h, w)).transpose(2, 0, 1)


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
    """A deploy net with its mean and labels (resolved from a job folder or
    given as files), classifying image files."""

    def __init__(self, model, weights=None, mean=None, labels=None):
        model, weights, mean, labels = resolve_model(model, weights, mean, labels)
        self.net = Net(model, TEST)
        self.net.copy_from(weights).require_some()
        self.input = self.net.inputs[0]
        shape = self.net.blobs[self.input].shape
        self.shape = shape[1:]
        self.mean = load_mean_for(mean, self.shape) if mean else None
        self.labels = None
        if labels:
            self.labels = [line.strip() for line in read_lines(labels) if line.strip()]

    def preprocess(self, path):
        c, h, w = self.shape
        image = io.resize_image(io.load_image(path, color=c == 3), (h, w)) * 255.0
        x = image.transpose(2, 0, 1)
        if c == 3:
            x = x[::-1]     # RGB -> Caffe's BGR
        return x - self.mean if self.mean is not None else x

    def probabilities(self, images):
        """(N, classes) outputs of the net for N preprocessed images (N x C x
        H x W) in one forward pass: the input is reshaped to N, as DIGITS
        does."""
        batch = np.asarray(images, np.float32)
        self.net.blobs[self.input].reshape(batch.shape)
        probs = self.net.forward_all(**{self.input: batch})[self.net.outputs[0]]
        return probs.reshape(len(batch), -1)

    def classify(self, paths, top_k=5, batch_size=32):
        """Yield, for each path in order, (path, [(label, probability), ...]
        best first, None), or (path, None, reason) when the image cannot be
        read. Images are read and run ``batch_size`` at a time, so memory
        does not grow with the number of images."""
        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            inputs, failures = {}, {}
            for path in chunk:
                try:
                    inputs[path] = self.preprocess(path)
                except CaffeError as e:
                    failures[path] = str(e)
            tops = {}
            if inputs:
                probs = self.probabilities(np.stack(list(inputs.values())))
                tops = {path: self._top(p, top_k) for path, p in zip(inputs, probs)}
            for path in chunk:
                yield path, tops.get(path), failures.get(path)

    def _top(self, probabilities, top_k):
        order = np.argsort(-probabilities)[:top_k]
        names = [self.labels[i] if self.labels and i < len(self.labels) else str(i)
                 for i in order]
        return [(n, float(probabilities[i])) for n, i in zip(names, order)]
