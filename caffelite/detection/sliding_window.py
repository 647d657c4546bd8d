"""The course's sliding-window detection, batched: every window x window
square of a grid over a large image is classified, all windows of the image
going through the net in batches (the course's loop runs one ``predict``
per square).

Per window, the preprocessing is pycaffe's Transformer with the course's
settings (resize to the net input, HWC -> CHW, RGB -> BGR, x255, minus the
mean), applied to the whole batch at once. ``mean`` is a
``mean.binaryproto`` (Caffe layout, 0..255 BGR, subtracted after scaling)
or an image such as DIGITS' ``mean.jpg`` (subtracted from each window
before it, as the course code does). Windows are resized with bilinear
interpolation at pixel centres, as pycaffe's ``resize_image``.
"""
import collections

import numpy as np

from .. import codec, geometry, io, textfile
from ..errors import CaffeError
from ..net import TEST, Net

# The result for one image: class index and probability of every window
# ((rows, cols) arrays), all probabilities (rows, cols, classes), the class
# names, and each window's (x1, y1, x2, y2) in the image (rows, cols, 4).
Grid = collections.namedtuple('Grid', 'labels scores probs names boxes window stride')


def read_labels(path, count):
    """Class names from a labels.txt (one per line), or '0'..'count-1'."""
    if not path:
        return [str(i) for i in range(count)]
    names = textfile.read_labels(path)
    if len(names) < count:
        raise CaffeError('%s names %d classes, the net outputs %d' % (path, len(names), count))
    return names[:count]


def interpolation_matrix(size_in, size_out):
    """(size_out, size_in) weights of bilinear resampling at pixel centres
    (edges clamped): out = M @ in along one axis."""
    scale = size_in / float(size_out)
    source = np.clip((np.arange(size_out) + 0.5) * scale - 0.5, 0, size_in - 1)
    low = np.floor(source).astype(np.intp)
    high = np.minimum(low + 1, size_in - 1)
    frac = source - low
    matrix = np.zeros((size_out, size_in))
    matrix[np.arange(size_out), low] += 1 - frac
    matrix[np.arange(size_out), high] += frac
    return matrix


def load_mean(path):
    """('image', H x W x K in [0, 1]) for a picture, ('caffe', C x H x W)
    for a .binaryproto, or None."""
    if not path:
        return None
    if str(path).endswith('.binaryproto'):
        return 'caffe', codec.load_mean(path)
    return 'image', io.load_image(path)


class WindowClassifier:
    """A TEST net (deploy prototxt and weights) classifying image windows."""

    def __init__(self, model, weights, mean=None, labels=None, channel_swap=(2, 1, 0),
                 raw_scale=255.0, batch_size=32):
        self.net = Net(model, TEST)
        self.net.copy_from(weights).require_some()
        if not self.net.inputs:
            raise CaffeError('the net has no Input layer to feed windows to')
        self.input = self.net.inputs[0]
        shape = self.net.blobs[self.input].shape
        if len(shape) != 4:
            raise CaffeError("input '%s' is %s, not N x C x H x W" % (self.input, shape))
        if batch_size and batch_size != shape[0]:
            self.net.blobs[self.input].reshape(batch_size, *shape[1:])
            self.net.reshape()
        self.channels, self.size = shape[1], tuple(shape[2:])
        self.mean = load_mean(mean)
        if self.mean and self.mean[0] == 'caffe' and self.mean[1].shape[1:] != self.size:
            # a mean image of another size: its per-channel mean, as DIGITS does
            self.mean = ('caffe', self.mean[1].mean(axis=(1, 2), keepdims=True))
        self.channel_swap = list(channel_swap) if self.channels == 3 and channel_swap else None
        self.raw_scale = raw_scale
        self.output = self.net.outputs[0]
        self.names = read_labels(labels, self.net.blobs[self.output].shape[1])

    def preprocess(self, windows):
        """(N, h, w, K) windows in [0, 1] -> (N, C, H, W) net inputs."""
        if self.mean and self.mean[0] == 'image':
            mean = self.mean[1]
            if mean.shape[:2] != windows.shape[1:3]:
                mean = io.resize_image(mean, windows.shape[1:3])
            windows = windows - mean
        if windows.shape[1:3] != self.size:
            rows = interpolation_matrix(windows.shape[1], self.size[0])
            cols = interpolation_matrix(windows.shape[2], self.size[1])
            windows = np.einsum('ih,nhwk,jw->nijk', rows, windows, cols, optimize=True)
        batch = np.ascontiguousarray(windows.transpose(0, 3, 1, 2), np.float32)
        if self.channel_swap:
            batch = batch[:, self.channel_swap]
        batch = batch * np.float32(self.raw_scale)
        if self.mean and self.mean[0] == 'caffe':
            batch -= self.mean[1]
        return batch

    def probabilities(self, batch):
        """(N, classes) net outputs of preprocessed inputs, in net batches."""
        out = self.net.forward_all(**{self.input: batch})[self.output]
        return out.reshape(len(batch), -1)

    def classify(self, image, window, stride=None):
        """The :data:`Grid` of an H x W x K image in [0, 1]."""
        stride = stride or window
        h, w = image.shape[:2]
        if window > min(h, w) or window <= 0 or stride <= 0:
            raise CaffeError('window %d (stride %d) does not fit a %dx%d image'
                             % (window, stride, w, h))
        rows, cols = (h - window) // stride + 1, (w - window) // stride + 1
        views = np.lib.stride_tricks.sliding_window_view(image, (window, window), axis=(0, 1))
        views = views[::stride, ::stride][:rows, :cols]       # (rows, cols, K, win, win)
        cells = np.argwhere(np.ones((rows, cols), bool))
        batch = self.net.blobs[self.input].shape[0]
        # one net batch of windows copied out of the image at a time
        probs = np.concatenate([
            self.probabilities(self.preprocess(
                views[cells[i:i + batch, 0], cells[i:i + batch, 1]].transpose(0, 2, 3, 1)))
            for i in range(0, len(cells), batch)]).reshape(rows, cols, -1)
        ys, xs = np.mgrid[0:rows, 0:cols] * stride
        boxes = np.stack([xs, ys, xs + window, ys + window], axis=-1)
        return Grid(probs.argmax(axis=2), probs.max(axis=2), probs, self.names, boxes,
                    window, stride)


def sliding_window(model, weights, image_path, window=256, stride=None, mean=None,
                   labels=None, batch_size=32):
    """:data:`Grid` of one image file (see :class:`WindowClassifier`)."""
    classifier = WindowClassifier(model, weights, mean, labels, batch_size=batch_size)
    return classifier.classify(io.load_image(image_path), window, stride)


def grid_json(grid, image_path, heatmaps=False):
    """A JSON-able dict of a :data:`Grid`; with ``heatmaps``, every class's
    probability map too ({class name: rows x cols})."""
    out = {'image': str(image_path), 'window': int(grid.window), 'stride': int(grid.stride),
           'rows': int(grid.labels.shape[0]), 'cols': int(grid.labels.shape[1]),
           'classes': list(grid.names), 'labels': grid.labels.tolist(),
           'scores': np.round(grid.scores, 6).tolist(), 'boxes': grid.boxes.tolist()}
    if heatmaps:
        out['heatmaps'] = {name: np.round(grid.probs[:, :, k], 6).tolist()
                           for k, name in enumerate(grid.names)}
    return out


def _windows(layers):
    """The ConvWindow of each convolution and pooling of ``layers``
    (LayerParameters), in order."""
    out = []
    for p in layers:
        if p.type == 'Convolution':
            out.append(geometry.conv_window(p.convolution_param, 2))
        elif p.type == 'Pooling' and not p.pooling_param.global_pooling:
            w = geometry.pool_window(p.pooling_param, 1, 1)
            out.append(geometry.ConvWindow(w.kernel, w.stride, w.pad, (1, 1)))
    return out


def cell_geometry(layers):
    """((h, w) window, (h, w) stride) of one output cell of a chain of
    convolutions and poolings (``layers``: LayerParameters in order): the
    input that gives exactly one output (for a converted classifier, its
    original input size), and the step between cells."""
    windows = _windows(layers)
    size, stride = [1, 1], [1, 1]
    for w in reversed(windows):
        size = [geometry.deconv_out(size[a], w.kernel[a], w.stride[a], w.pad[a],
                                    w.dilation[a]) for a in (0, 1)]
    for w in windows:
        stride = [stride[a] * w.stride[a] for a in (0, 1)]
    return tuple(size), tuple(stride)


class HeatmapClassifier(WindowClassifier):
    """A fully convolutional net (see caffelite.surgery) run once over the
    whole image: the grid is its output map, each cell the classification of
    the window of the net's original input size at a step of its stride."""

    def __init__(self, model, weights, mean=None, labels=None, channel_swap=(2, 1, 0),
                 raw_scale=255.0, window=None):
        super().__init__(model, weights, mean, labels, channel_swap, raw_scale, batch_size=1)
        cell, stride = cell_geometry([l.layer_param for l in self.net.layers])
        self.window, self.stride = window or cell[0], stride[0]
        if self.mean:
            # the image is larger than any mean image: subtract channel means
            kind, values = self.mean
            per_channel = values.mean(axis=(0, 1)) if kind == 'image' else values.mean(
                axis=(1, 2), keepdims=True)
            self.mean = (kind, per_channel)

    def classify(self, image, window=None, stride=None):
        h, w = image.shape[:2]
        self.net.blobs[self.input].reshape(1, self.channels, h, w)
        self.net.reshape()
        self.size = (h, w)
        probs = self.net.forward(**{self.input: self.preprocess(image[None])})[self.output]
        probs = np.asarray(probs[0]).transpose(1, 2, 0)
        window, stride = window or self.window, stride or self.stride
        ys, xs = np.mgrid[0:probs.shape[0], 0:probs.shape[1]] * stride
        boxes = np.stack([xs, ys, xs + window, ys + window], axis=-1)
        return Grid(probs.argmax(axis=2), probs.max(axis=2), probs, self.names, boxes,
                    window, stride)
