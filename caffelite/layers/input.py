"""Layers whose tops are not read from a source: Input (set from outside,
``net.blobs[name].data[...] = x``) and DummyData (filled by fillers). The
layers that read a source (LMDB, image list, HDF5, memory) are in
:mod:`caffelite.layers.data`."""
from .. import fillers
from ..proto import caffe_pb2
from .base import Layer, register


@register('Input')
class InputLayer(Layer):
    """Tops shaped by ``input_param.shape`` (one shape for all, or one each);
    their contents are set from outside (``net.blobs[name].data[...] = x``)."""
    exact_num_bottom = 0
    min_top = 1

    def setup(self, bottom, top):
        shapes = self.layer_param.input_param.shape
        self.check(len(shapes) in (0, 1, len(top)),
                   'input_param must give 0, 1 or %d shapes, got %d' % (len(top), len(shapes)))
        for i, blob in enumerate(top):
            if len(shapes):
                blob.reshape(tuple(shapes[0 if len(shapes) == 1 else i].dim))

    def reshape(self, bottom, top):
        """Input tops keep the shape they were given (or set by the user)."""

    def forward(self, bottom, top):
        """Nothing to compute: the data was written into the tops."""

    def backward(self, top, propagate_down, bottom):
        """No bottoms."""


@register('DummyData')
class DummyDataLayer(Layer):
    """Tops filled by fillers: constant ones once at setup, random ones
    again at every forward, as Caffe's DummyDataLayer does."""
    exact_num_bottom = 0
    min_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.dummy_data_param
        shapes = [tuple(s.dim) for s in p.shape] or [
            (p.num[i], p.channels[i], p.height[i], p.width[i]) for i in range(len(p.num))]
        self.check(len(shapes) in (1, len(top)),
                   'needs 1 or %d shapes, got %d' % (len(top), len(shapes)))
        self.check(len(p.data_filler) in (0, 1, len(top)),
                   'needs 0, 1 or %d data_fillers, got %d' % (len(top), len(p.data_filler)))
        default = caffe_pb2.FillerParameter(type='constant', value=0)
        self._fillers = [p.data_filler[0 if len(p.data_filler) == 1 else i]
                         if len(p.data_filler) else default for i in range(len(top))]
        for i, blob in enumerate(top):
            blob.reshape(shapes[0 if len(shapes) == 1 else i])
            fillers.fill(blob, self._fillers[i])

    def reshape(self, bottom, top):
        """Shapes are fixed at setup."""

    def forward(self, bottom, top):
        for blob, filler in zip(top, self._fillers):
            if filler.type != 'constant':
                fillers.fill(blob, filler)
