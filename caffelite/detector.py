"""Detector: pycaffe's window-classification wrapper (R-CNN style).

``detect_windows([(image_path, [(ymin, xmin, ymax, xmax), ...]), ...])``
crops each window (optionally with ``context_pad`` pixels of surrounding
context, padded with the mean where it leaves the image), warps it to the
net's input and returns one ``{'window', 'prediction', 'filename'}`` per
window. ``detect_selective_search([image_path, ...])`` does the same over
the selective-search proposals of each image (caffelite.selective_search,
which needs scikit-image: ``pip install caffelite[detect]``).
"""
import os

import numpy as np

from . import io
from .classifier import make_transformer
from .net import TEST, Net


class Detector(Net):
    """A TEST-phase Net that classifies image windows (caffe.Detector)."""

    def __init__(self, model_file, pretrained_file, mean=None, input_scale=None,
                 raw_scale=None, channel_swap=None, context_pad=None):
        super().__init__(model_file, pretrained_file, TEST)
        self.transformer = make_transformer(self, mean, input_scale, raw_scale, channel_swap)
        self.configure_crop(context_pad)

    def detect_windows(self, images_windows):
        crops, index = [], []
        for filename, windows in images_windows:
            image = io.load_image(filename).astype(np.float32)
            for window in windows:
                crops.append(self.crop(image, np.asarray(window)))
                index.append((filename, window))
        if not crops:
            return []
        name = self.inputs[0]
        batch = np.stack([self.transformer.preprocess(name, c) for c in crops])
        predictions = self.forward_all(**{name: batch})[self.outputs[0]]
        return [{'window': window, 'prediction': prediction, 'filename': filename}
                for (filename, window), prediction in zip(index, predictions)]

    def detect_selective_search(self, image_fnames):
        """detect_windows over each image's selective-search proposals
        (windows (ymin, xmin, ymax, xmax)); filenames are made absolute, as
        pycaffe's are."""
        from .selective_search import proposals
        image_fnames = [os.path.abspath(f) for f in image_fnames]
        windows = [proposals(io.load_image(f)) for f in image_fnames]
        return self.detect_windows(zip(image_fnames, windows))

    def crop(self, im, window):
        """The window (ymin, xmin, ymax, xmax) of ``im``, with context padding
        scaled so the context fills ``context_pad`` pixels of the input."""
        window = np.asarray(window)
        if not self.context_pad:
            return im[int(window[0]):int(window[2]), int(window[1]):int(window[3])]
        size = self.blobs[self.inputs[0]].width
        scale = size / (1.0 * size - self.context_pad * 2)
        half_h = (window[2] - window[0] + 1) / 2.0
        half_w = (window[3] - window[1] + 1) / 2.0
        center = (window[0] + half_h, window[1] + half_w)
        box = np.round(np.tile(center, 2) + scale * np.array((-half_h, -half_w, half_h, half_w)))
        scale_h = size / (box[2] - box[0] + 1)
        scale_w = size / (box[3] - box[1] + 1)
        pad_y = int(round(max(0, -box[0]) * scale_h))
        pad_x = int(round(max(0, -box[1]) * scale_w))
        im_h, im_w = im.shape[:2]
        box = np.clip(box, 0.0, [im_h, im_w, im_h, im_w])
        crop_h = int(round((box[2] - box[0] + 1) * scale_h))
        crop_w = int(round((box[3] - box[1] + 1) * scale_w))
        crop_h, crop_w = min(crop_h, size - pad_y), min(crop_w, size - pad_x)
        context = im[int(box[0]):int(box[2]), int(box[1]):int(box[3])]
        context = io.resize_image(context, (crop_h, crop_w))
        crop = np.ones(self.crop_dims, np.float32) * self.crop_mean
        crop[pad_y:pad_y + crop_h, pad_x:pad_x + crop_w] = context
        return crop

    def configure_crop(self, context_pad):
        """Set the crop size and, for context padding, the mean image in
        unprocessed input space (H x W x K, original channel order)."""
        name = self.inputs[0]
        transpose = self.transformer.transpose[name]
        inverse = [transpose[t] for t in transpose]
        self.crop_dims = np.array(self.blobs[name].data.shape[1:])[inverse]
        self.context_pad = context_pad
        if not context_pad:
            return
        mean = self.transformer.mean.get(name)
        if mean is None:
            self.crop_mean = np.zeros(self.crop_dims, np.float32)
            return
        crop_mean = mean.copy().transpose(inverse)
        swap = self.transformer.channel_swap.get(name)
        if swap is not None:
            crop_mean = crop_mean[:, :, [list(swap).index(i) for i in range(crop_mean.shape[2])]]
        raw_scale = self.transformer.raw_scale.get(name)
        if raw_scale is not None:
            crop_mean = crop_mean / raw_scale
        self.crop_mean = crop_mean
