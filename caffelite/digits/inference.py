"""Classifying images the way DIGITS does at inference, so that a model
answers in the server what it answered in DIGITS:

1. read the image as DIGITS' datasets did (PIL, RGB or L) and resize it to
   the dataset's size with the dataset's resize mode;
2. resize to the deploy input when it is smaller (a crop size), transpose
   to C x H x W, RGB -> BGR for 3 channels, keep the 0-255 scale;
3. subtract the mean pixel, or the mean image truncated to integers and
   resized (bilinear) to the deploy input, as DIGITS' transformer does;
4. the last output of the deploy net gives the class probabilities.
"""
import os
import re

import numpy as np

from .. import io
from ..codec import load_mean
from ..errors import CaffeError
from ..net import TEST, Net
from .. import images


class DigitsClassifier:
    """A deploy net, its snapshot and the preprocessing of its dataset.

    ``image_dims`` is the dataset's (height, width, channels),
    ``resize_mode`` its resize mode, ``use_mean`` the model's
    none/image/pixel and ``mean_file`` the dataset's mean.binaryproto.
    """

    def __init__(self, deploy, weights, labels, image_dims, resize_mode='squash',
                 use_mean='image', mean_file=None):
        self.net = Net(deploy, TEST, weights=weights)
        self.labels = list(labels)
        self.image_dims = tuple(image_dims)
        self.resize_mode = resize_mode
        self.input = self.net.inputs[0]
        shape = self.net.blobs[self.input].shape
        self.transformer = io.Transformer({self.input: (1,) + tuple(shape[1:])})
        self.transformer.set_transpose(self.input, (2, 0, 1))
        if shape[1] == 3:
            self.transformer.set_channel_swap(self.input, (2, 1, 0))
        if use_mean != 'none' and mean_file:
            self.transformer.set_mean(self.input, self._mean(mean_file, use_mean, shape[2:]))
        self.rng = np.random.RandomState(0)

    @staticmethod
    def _mean(mean_file, use_mean, dims):
        """The mean pixel (C,) or the C x H x W mean image at ``dims``."""
        mean = load_mean(mean_file)
        if use_mean == 'pixel':
            return mean.mean(axis=(1, 2))
        # DIGITS truncates the mean to uint8 and resizes it like an image.
        picture = mean.astype(np.uint8).transpose(1, 2, 0)
        picture = picture[:, :, 0] if picture.shape[2] == 1 else picture
        resized = images.resize_like_digits(picture, int(dims[0]), int(dims[1]), 'squash')
        resized = resized.reshape(resized.shape[:2] + (-1,))
        return resized.transpose(2, 0, 1).astype(np.float32)

    def load(self, path):
        """H x W x C uint8 pixels of an image file at the dataset's size."""
        height, width, channels = self.image_dims
        pixels = images.read_like_digits(path, channels == 3)
        pixels = images.resize_like_digits(pixels, height, width, self.resize_mode, self.rng)
        return pixels.reshape(pixels.shape[:2] + (-1,))

    def probabilities(self, pictures):
        """(N, classes) scores of a list of H x W x C uint8 images: the last
        output of the deploy net."""
        batch = np.stack([self.transformer.preprocess(self.input, p) for p in pictures])
        blob = self.net.blobs[self.input]
        if blob.shape != batch.shape:
            blob.reshape(*batch.shape)
            self.net.reshape()
        blob.data[...] = batch
        outputs = self.net.forward()
        return np.asarray(outputs[self.net.outputs[-1]]).reshape(len(pictures), -1)

    def top_k(self, scores, k=5):
        """[[label, percent rounded to 2 decimals]] of the best ``k`` classes
        that have a label, best first."""
        order = [i for i in np.argsort(-scores, kind='stable') if i < len(self.labels)]
        return [[self.labels[i], round(100.0 * float(scores[i]), 2)] for i in order[:k]]

    def classify(self, paths, batch_size=16):
        """(scores (N, classes), [indices of the readable paths], {path:
        reason} of the others); images go through the net in batches."""
        pictures, kept, failed = [], [], {}
        for index, path in enumerate(paths):
            try:
                pictures.append(self.load(path))
                kept.append(index)
            except CaffeError as e:
                failed[path] = str(e)
        if not pictures:
            return np.zeros((0, len(self.labels))), kept, failed
        chunks = [self.probabilities(pictures[i:i + batch_size])
                  for i in range(0, len(pictures), batch_size)]
        return np.concatenate(chunks), kept, failed


def read_image_list(text, image_folder=None, limit=None):
    """(paths, ground truths) of DIGITS' image list: one path a line, maybe
    followed by an integer label (None when absent); relative paths are
    joined to ``image_folder``; at most ``limit`` lines."""
    paths, truths = [], []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        match = re.match(r'(.*\S)\s+(\d+)$', line)
        path, truth = (match.group(1), int(match.group(2))) if match else (line, None)
        if image_folder and not os.path.isabs(path):
            path = os.path.join(image_folder, path)
        paths.append(path)
        truths.append(truth)
        if limit is not None and len(paths) >= limit:
            break
    return paths, truths


def accuracy_report(scores, truths, n_labels):
    """DIGITS' statistics of classify_many: top-1 and top-5 accuracy (%),
    the confusion matrix (truth x top-1) and per-class accuracy, over the
    images whose ground truth is a valid label (None when there is none)."""
    top5 = np.argsort(-scores, axis=1, kind='stable')[:, :5]
    valid = [(t, row) for t, row in zip(truths, top5) if t is not None and 0 <= t < n_labels]
    if not valid:
        return None
    confusion = np.zeros((n_labels, n_labels), int)
    hits1 = hits5 = 0
    for truth, row in valid:
        hits1 += truth == row[0]
        hits5 += truth in row
        if row[0] < n_labels:
            confusion[truth, row[0]] += 1
    per_class = [round(100.0 * confusion[i, i] / confusion[i].sum(), 2)
                 if confusion[i].sum() else None for i in range(n_labels)]
    return {'top1_accuracy': round(100.0 * hits1 / len(valid), 2),
            'top5_accuracy': round(100.0 * hits5 / len(valid), 2),
            'confusion_matrix': confusion.tolist(), 'per_class_accuracy': per_class}
