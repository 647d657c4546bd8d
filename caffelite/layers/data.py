"""Layers that read a data source (Caffe's BaseDataLayer family): Data (LMDB
of Datum records) and ImageData (a list file of images), prefetched in a
background thread and transformed with Caffe's DataTransformer semantics,
HDF5Data (.h5 files) and MemoryData (arrays given from Python). Input and
DummyData, which read no source, are in :mod:`caffelite.layers.input`."""
import logging
import os

import numpy as np

from .. import backend
from ..codec import decode_datum
from ..data_transform import DataTransformer, to_channels
from ..errors import CaffeError, CaffeRuntimeError
from ..lmdbs import open_readonly
from ..prefetch import Prefetcher
from ..proto import caffe_pb2
from .base import Layer, register

log = logging.getLogger('caffelite.layers')


class PrefetchingDataLayer(Layer):
    """Base: ``make_source()`` returns a callable giving one (image, label)
    per call, in order; batches are assembled and transformed off-thread.
    ``num_records`` is the size of the source (one epoch)."""
    exact_num_bottom = 0
    min_top = 1
    max_top = 2

    def batch_size(self):
        raise NotImplementedError

    def make_source(self):
        raise NotImplementedError

    def force_channels(self):
        return False, False

    def setup(self, bottom, top):
        self.transformer = DataTransformer(self.layer_param.transform_param, self.phase)
        next_item = self.make_source()
        size = self.batch_size()
        self.check(size > 0, 'batch_size must be positive')
        force_color, force_gray = self.force_channels()
        transform = self.transformer

        def produce():
            items = [next_item() for _ in range(size)]
            images = np.stack([to_channels(im, force_color, force_gray) for im, _ in items])
            labels = np.array([label for _, label in items], np.float32)
            return transform(images), labels

        first = produce()
        top[0].reshape(first[0].shape)
        if len(top) > 1:
            top[1].reshape(first[1].shape)
        self._first = first
        self._prefetch = Prefetcher(self, produce, self.layer_param.data_param.prefetch or 4)

    def reshape(self, bottom, top):
        """Tops take each batch's shape in forward."""

    def forward(self, bottom, top):
        if self._first is not None:
            data, labels = self._first
            self._first = None
        else:
            data, labels = self._prefetch.next()
        xp = self.xp
        top[0].reshape(data.shape)
        top[0].xdata[...] = xp.asarray(data)
        if len(top) > 1:
            top[1].reshape(labels.shape)
            top[1].xdata[...] = xp.asarray(labels)


@register('Data')
class DataLayer(PrefetchingDataLayer):
    """Reads Datum records from an LMDB in key order, wrapping around."""

    def batch_size(self):
        return self.layer_param.data_param.batch_size

    def force_channels(self):
        p = self.layer_param.transform_param
        return p.force_color, p.force_gray

    def make_source(self):
        p = self.layer_param.data_param
        if p.backend != caffe_pb2.DataParameter.LMDB:
            self.fail('only the LMDB backend is supported (LevelDB is not); convert the '
                      'dataset with `caffelite convert_imageset --backend lmdb`')
        next_item = lmdb_records(p.source, self.rand_skip(), self.name, solver_share(self.phase))
        self.num_records = next_item.count
        return next_item

    def rand_skip(self):
        skip = self.layer_param.data_param.rand_skip
        return int(backend.rng().randint(0, skip)) if skip else 0


def solver_share(phase):
    """(rank, count): which records this solver reads, as Caffe's DataLayer
    and HDF5DataLayer skip them: in a TRAIN net of a multi-GPU run, solver
    ``rank`` of ``count`` reads records rank, rank + count, rank + 2 count...
    so each solver's batch is its own and together they cover the data as
    one solver with a ``count`` times larger batch would. Test nets (run by
    the root solver only) read every record."""
    if phase == caffe_pb2.TEST:
        return 0, 1
    return backend.solver_rank(), backend.solver_count()


def lmdb_records(path, skip, layer_name, share=(0, 1)):
    """A callable returning the next (image, label) of an LMDB, cyclically,
    after ``skip`` records; ``share`` is this solver's (rank, count)."""
    rank, count = share
    if not os.path.isdir(path):
        raise CaffeError("layer '%s': LMDB source %s not found" % (layer_name, path))
    txn = open_readonly(path).begin(buffers=False)
    if txn.stat()['entries'] == 0:
        raise CaffeError("layer '%s': LMDB %s is empty" % (layer_name, path))
    state = {'cursor': txn.cursor()}
    state['cursor'].first()
    for _ in range(skip + rank):
        _advance(state['cursor'])

    def next_item():
        cursor = state['cursor']
        datum = caffe_pb2.Datum.FromString(cursor.value())
        for _ in range(count):      # this record and the other solvers' next ones
            _advance(cursor)
        return decode_datum(datum)
    next_item.count = txn.stat()['entries']
    return next_item


def _advance(cursor):
    if not cursor.next():
        cursor.first()


@register('ImageData')
class ImageDataLayer(PrefetchingDataLayer):
    """Reads images named in a ``path label`` list file (Caffe's ImageData)."""

    def batch_size(self):
        return self.layer_param.image_data_param.batch_size

    def make_source(self):
        p = self.layer_param.image_data_param
        lines = read_image_list(p.source, self.name)
        self.num_records = len(lines)
        if (self.phase == caffe_pb2.TRAIN and backend.solver_rank() > 0
                and not p.shuffle and not p.rand_skip):
            # As Caffe: ImageData does not split its list among solvers.
            log.warning("layer '%s': Shuffling or skipping recommended for multi-GPU", self.name)
        rng = np.random.RandomState(backend.rng().randint(2 ** 31))
        order = {'items': list(lines), 'pos': 0}
        if p.shuffle:
            rng.shuffle(order['items'])
        if p.rand_skip:
            order['pos'] = int(rng.randint(0, p.rand_skip)) % len(lines)

        def next_item():
            if order['pos'] >= len(order['items']):
                order['pos'] = 0
                if p.shuffle:
                    rng.shuffle(order['items'])
            path, label = order['items'][order['pos']]
            order['pos'] += 1
            image = read_image_bgr(os.path.join(p.root_folder, path), p.is_color,
                                   p.new_height, p.new_width)
            return image, label
        return next_item


def read_image_list(path, layer_name):
    """[(relative path, int label)] from a ``path label`` list file."""
    if not os.path.exists(path):
        raise CaffeError("layer '%s': image list %s not found" % (layer_name, path))
    items = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            name, _, label = line.rpartition(' ')
            try:
                items.append((name, int(label)))
            except ValueError:
                raise CaffeError('%s:%d: expected "path label", got %r'
                                 % (path, number, line)) from None
    if not items:
        raise CaffeError("layer '%s': image list %s is empty" % (layer_name, path))
    return items


def read_image_bgr(path, is_color=True, height=0, width=0):
    """A (C, H, W) uint8 image in Caffe's BGR order (1 channel when gray),
    resized bilinearly to ``height`` x ``width`` when both are given."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img = img.convert('RGB' if is_color else 'L')
            if height and width:
                img = img.resize((width, height), Image.BILINEAR)
            array = np.asarray(img)
    except OSError as e:
        raise CaffeError('cannot read image %s: %s' % (path, e)) from None
    if is_color:
        return np.ascontiguousarray(array[:, :, ::-1].transpose(2, 0, 1))
    return array[None]


@register('MemoryData')
class MemoryDataLayer(Layer):
    """Serves batches from arrays given by ``net.set_input_arrays``."""
    exact_num_bottom = 0
    exact_num_top = 2

    def setup(self, bottom, top):
        p = self.layer_param.memory_data_param
        self.check(p.batch_size > 0, 'batch_size must be positive')
        self.shape = (p.batch_size, p.channels, p.height, p.width)
        self._data = self._labels = None
        self._pos = 0
        top[0].reshape(self.shape)
        top[1].reshape((p.batch_size,))

    def set_input_arrays(self, data, labels):
        """Use (N, C, H, W) ``data`` and (N,) or (N, 1, 1, 1) ``labels``
        (made float32); N must be a multiple of the batch size. Misfits
        raise CaffeRuntimeError with pycaffe's messages."""
        data = np.ascontiguousarray(data, np.float32)
        labels = np.ascontiguousarray(labels, np.float32)
        if labels.ndim == 1:
            labels = labels.reshape(-1, 1, 1, 1)
        self._check_array('data array', data, self.shape[1:])
        self._check_array('labels array', labels, (1, 1, 1))
        if len(labels) != len(data):
            self._refuse('data and labels must have the same first dimension (%d and %d)'
                         % (len(data), len(labels)))
        if len(data) % self.shape[0]:
            self._refuse('first dimensions of input arrays must be a multiple of batch size '
                         '(%d is not a multiple of %d)' % (len(data), self.shape[0]))
        self._data, self._labels, self._pos = data, labels.reshape(-1), 0

    def _check_array(self, what, array, chw):
        if array.ndim != 4:
            self._refuse('%s must be 4-d, got shape %s' % (what, array.shape))
        for axis, name in ((1, 'number of channels'), (2, 'height'), (3, 'width')):
            if array.shape[axis] != chw[axis - 1]:
                self._refuse('%s has wrong %s: %d, the layer expects %d'
                             % (what, name, array.shape[axis], chw[axis - 1]))

    def _refuse(self, message):
        raise CaffeRuntimeError("layer '%s' (MemoryData): %s" % (self.name, message))

    def reshape(self, bottom, top):
        top[0].reshape(self.shape)
        top[1].reshape(self.shape[:1])

    def forward(self, bottom, top):
        if self._data is None:
            self.fail('no data: call net.set_input_arrays(data, labels) first')
        n = self.shape[0]
        xp = self.xp
        top[0].xdata[...] = xp.asarray(self._data[self._pos:self._pos + n])
        top[1].xdata[...] = xp.asarray(self._labels[self._pos:self._pos + n])
        self._pos = (self._pos + n) % len(self._data)


@register('HDF5Data')
class HDF5DataLayer(Layer):
    """Rows of the datasets named like the tops, from the .h5 files listed
    in ``hdf5_data_param.source``; optional shuffling of files and rows."""
    exact_num_bottom = 0
    min_top = 1

    def setup(self, bottom, top):
        import h5py
        p = self.layer_param.hdf5_data_param
        if not os.path.exists(p.source):
            self.fail('HDF5 file list %s not found' % p.source)
        with open(p.source) as f:
            files = [line.strip() for line in f if line.strip()]
        self.check(files, 'HDF5 file list %s is empty' % p.source)
        names = list(self.layer_param.top)
        columns = {name: [] for name in names}
        for path in files:
            with h5py.File(path, 'r') as h5:
                for name in names:
                    if name not in h5:
                        self.fail("%s has no dataset '%s'" % (path, name))
                    columns[name].append(np.asarray(h5[name], np.float32))
        self._columns = [np.concatenate(columns[n]) for n in names]
        rows = {len(c) for c in self._columns}
        self.check(len(rows) == 1, 'datasets %s have different row counts' % names)
        self._rows = rows.pop()
        self._order = np.arange(self._rows)
        self._shuffle = p.shuffle
        if self._shuffle:
            backend.rng().shuffle(self._order)
        self._pos = 0
        self._rank, self._count = solver_share(self.phase)
        self._batch = p.batch_size
        self.check(self._batch > 0, 'batch_size must be positive')
        for blob, column in zip(top, self._columns):
            blob.reshape((self._batch,) + column.shape[1:])

    def reshape(self, bottom, top):
        for blob, column in zip(top, self._columns):
            blob.reshape((self._batch,) + column.shape[1:])

    def forward(self, bottom, top):
        idx = (self._pos + self._rank + self._count * np.arange(self._batch)) % self._rows
        rows = self._order[idx]
        self._pos += self._batch * self._count
        if self._pos >= self._rows:
            self._pos %= self._rows
            if self._shuffle:
                backend.rng().shuffle(self._order)
        for blob, column in zip(top, self._columns):
            blob.xdata[...] = self.xp.asarray(column[rows])
