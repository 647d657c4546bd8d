"""Layers that write their bottoms out of the net: HDF5Output."""
import numpy as np

from .. import protoio
from .base import Layer, register


def legacy_shape(shape):
    """The (num, channels, height, width) of a blob shape of at most 4 axes,
    as Caffe's legacy accessors give it: missing trailing axes are 1."""
    return tuple(shape) + (1,) * (4 - len(shape))


@register('HDF5Output')
class HDF5OutputLayer(Layer):
    """Writes bottom 0 as dataset ``data`` and bottom 1 as ``label`` (float32,
    shaped num x channels x height x width as Caffe writes them: a (N, D)
    blob is saved (N, D, 1, 1)) to ``hdf5_output_param.file_name``.

    As Caffe's: the file is created, or emptied, when the layer is set up,
    and the first forward writes the datasets. Caffe then keeps the file
    open and fails on any later forward (the datasets exist already), so
    one net writes one batch; a later forward here raises a LayerError
    before touching the file, which keeps that batch.

    Unlike Caffe, which writes into the open file and closes it when the
    net is destroyed, each of those two writes builds the whole file under
    a temporary name beside it and renames it into place
    (protoio.atomic_open): the file is complete, and readable, as soon as
    forward returns, and a crash never leaves a half-written file under its
    name. This changes nothing Caffe's semantics promise, since nothing can
    read Caffe's file before the net is destroyed."""
    exact_num_bottom = 2
    exact_num_top = 0

    def setup(self, bottom, top):
        self.file_name = self.layer_param.hdf5_output_param.file_name
        self.check(self.file_name, 'hdf5_output_param.file_name is not set')
        self._write({})
        self._written = False

    def reshape(self, bottom, top):
        """No tops; the bottoms' shapes are checked when written."""

    def forward(self, bottom, top):
        if self._written:
            self.fail('%s holds the data of an earlier forward already; as in Caffe, whose '
                      'second forward fails there, an HDF5Output layer writes one batch'
                      % self.file_name)
        for blob_name, blob in zip(self.layer_param.bottom, bottom):
            self.check(len(blob.shape) <= 4, "bottom '%s' has %d axes; HDF5Output writes "
                       'num x channels x height x width' % (blob_name, len(blob.shape)))
        shapes = [legacy_shape(b.shape) for b in bottom]
        self.check(shapes[0][0] == shapes[1][0], 'data and label must have the same num, got '
                   '%d and %d' % (shapes[0][0], shapes[1][0]))
        self._write({name: np.asarray(blob.data, np.float32).reshape(shape)
                     for name, blob, shape in zip(('data', 'label'), bottom, shapes)})
        self._written = True

    def backward(self, top, propagate_down, bottom):
        """No gradient: the bottoms' diffs are left as they are, as in Caffe."""

    def _write(self, datasets):
        """Replace the file by one holding ``datasets`` ({name: array})."""
        import h5py
        try:
            with protoio.atomic_open(self.file_name, 'wb') as f, h5py.File(f, 'w') as h5:
                for name, array in datasets.items():
                    h5.create_dataset(name, data=array)
        except OSError as e:
            self.fail('cannot write HDF5 file %s: %s'
                      % (self.file_name, e.strerror or e))
