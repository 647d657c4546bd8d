"""NVIDIA Caffe's DetectNet layers: DetectNetTransformation (augmentation
and ground-truth encoding) and L1Loss."""
import numpy as np

from .. import backend, codec, io
from ..detection import augment, coverage
from ..proto import caffe_pb2
from .base import Layer, register
from .loss import PairLossLayer


@register('DetectNetTransformation')
class DetectNetTransformationLayer(Layer):
    """Bottoms: images (N, 3, H, W) in 0..255 (BGR, as the Data layer
    decodes them) and DIGITS labels (N, 1, 1 + B, 16), whose row 0 holds the
    box count. Tops: the images (N, 3, image_size_y, image_size_x), mean
    subtracted, augmented in TRAIN (``detectnet_augmentation_param``) and
    resized to the output in TEST; the grid labels (N, 8 + classes,
    image_size_y / stride, image_size_x / stride) of
    :mod:`caffelite.detection.coverage`.

    Augmentations are drawn from a generator seeded from caffelite's global
    random state when the layer is created, so the solver's ``random_seed``
    makes them repeatable.
    """
    exact_num_bottom = 2
    exact_num_top = 2

    def allow_force_backward(self, bottom_index):
        return False   # data preparation: nothing flows back to the data

    def setup(self, bottom, top):
        p = self.layer_param
        self.truth = p.detectnet_groundtruth_param
        self.augmentation = p.detectnet_augmentation_param
        t = p.transform_param
        self.check(len(t.mean_value) in (0, 1, 3),
                   'transform_param needs 0, 1 or 3 mean_value entries, got %d'
                   % len(t.mean_value))
        self.check(self.truth.stride > 0, 'detectnet_groundtruth_param.stride must be positive')
        self.mean_image = codec.load_mean(t.mean_file) if t.mean_file else None
        self.mean_values = (np.resize(np.asarray(t.mean_value, np.float32), 3)
                            if len(t.mean_value) else None)
        self.rng = np.random.RandomState(backend.rng().randint(0, 2 ** 31 - 1))

    def reshape(self, bottom, top):
        self.check(bottom[0].num_axes == 4 and bottom[0].shape[1] == 3,
                   'needs 3-channel images (N, 3, H, W), got %s' % (bottom[0].shape,))
        self.check(bottom[1].num_axes == 4 and bottom[1].shape[3] == coverage.ROW_WIDTH,
                   'needs DIGITS labels (N, 1, 1 + boxes, %d), got %s'
                   % (coverage.ROW_WIDTH, bottom[1].shape))
        self.check(bottom[0].shape[0] == bottom[1].shape[0],
                   'images and labels differ in number: %d vs %d'
                   % (bottom[0].shape[0], bottom[1].shape[0]))
        n = bottom[0].shape[0]
        top[0].reshape((n, 3, self.truth.image_size_y, self.truth.image_size_x))
        top[1].reshape((n,) + coverage.label_shape(self.truth))

    def _mean(self, height, width):
        """The H x W x 3 (or 3) mean in 0..255 for an input of that size."""
        if self.mean_image is not None:
            mean = self.mean_image.transpose(1, 2, 0)
            if mean.shape[:2] != (height, width):
                mean = io.resize_image(mean, (height, width), 3)
            return mean
        return self.mean_values

    def _rows(self, labels):
        """(rows (N, B, 16), counts (N,)) of DIGITS label tables (N, 1 + B,
        16) whose row 0 is the header [count, 16, 0...]."""
        counts = labels[:, 0, 0].astype(np.int64)
        for i in np.flatnonzero((counts < 0) | (counts >= labels.shape[1]))[:1]:
            self.fail("image %d's label header says %d boxes, its rows hold at most %d"
                      % (i, counts[i], labels.shape[1] - 1))
        self.check(bool((labels[:, 0, 1] == coverage.ROW_WIDTH).all()),
                   'label rows must be %d wide (header column 1)' % coverage.ROW_WIDTH)
        return labels[:, 1:].copy(), counts

    def forward(self, bottom, top):
        images = backend.to_host(bottom[0].xdata)
        rows, counts = self._rows(backend.to_host(bottom[1].xdata)[:, 0])
        n, _, height, width = images.shape
        out_size = (self.truth.image_size_x, self.truth.image_size_y)
        mean = self._mean(height, width)
        train = self.phase == caffe_pb2.TRAIN
        augs = [augment.draw(self.rng, self.augmentation, (width, height), out_size, train)
                for _ in range(n)]
        if not train and (width, height) == out_size:
            # TEST at the output size: only the mean to subtract, batch-wide
            out = images if mean is None else images - _chw(mean)
        else:
            out = np.stack([augment.apply_to_image(images[i].transpose(1, 2, 0), augs[i],
                                                   mean, out_size).transpose(2, 0, 1)
                            for i in range(n)])
            rows = np.stack([augment.apply_to_boxes(rows[i], augs[i], (width, height))
                             for i in range(n)])
        xp = self.xp
        top[0].xdata[...] = xp.asarray(out, np.float32)
        top[1].xdata[...] = coverage.encode(xp.asarray(rows), xp.asarray(counts),
                                            self.truth, xp)


def _chw(mean):
    """A mean of 3 values or H x W x 3 as something broadcasting over NCHW."""
    mean = np.asarray(mean, np.float32)
    return mean[:, None, None] if mean.ndim == 1 else mean.transpose(2, 0, 1)


@register('L1Loss')
class L1LossLayer(PairLossLayer):
    """sum(|a - b|) / N over two equally sized bottoms (N the first axis);
    gradients sign(a - b) / N and its negative, scaled by the loss weight."""

    def forward(self, bottom, top):
        diff = self.difference(bottom)
        self.sign = self.xp.sign(diff)
        top[0].xdata[...] = self.xp.abs(diff).sum() / np.float32(self.batch(bottom))

    def backward(self, top, propagate_down, bottom):
        self.backward_pair(top, propagate_down, bottom, self.sign)
