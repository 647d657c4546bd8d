"""Layers that read a data source (Caffe's BaseDataLayer family): Data (an
LMDB or LevelDB of Datum records) and ImageData (a list file of images),
prefetched in a background thread and transformed with Caffe's
DataTransformer semantics, HDF5Data (.h5 files) and MemoryData (arrays
given from Python). Input and DummyData, which read no source, are in
:mod:`caffelite.layers.input`."""
import hashlib
import logging
import os

import numpy as np

from google.protobuf.message import DecodeError

from .. import backend, databases, images, net_log
from ..codec import decode_datum
from ..data_transform import DataTransformer, to_channels
from ..errors import CaffeError, CaffeRuntimeError
from ..prefetch import Prefetcher
from ..proto import caffe_pb2
from ..textfile import read_lines
from .base import Layer, register

log = logging.getLogger('caffelite.layers')


def layer_generator(draws):
    """A data layer's own random generator. As Caffe's DataTransformer
    InitRand, one that ``draws`` (mirror, a TRAIN crop, shuffle, rand_skip)
    takes its seed from the global generator, which the solver's
    random_seed seeds; one that never draws takes none, so the numbers the
    other layers' fillers get do not depend on it."""
    return np.random.RandomState(backend.rng().randint(2 ** 31) if draws else 0)


class PrefetchingDataLayer(Layer):
    """Base: ``make_source()`` returns a source (``next_item()`` giving one
    (image, label) per call, in order; ``count``, the records in one epoch;
    ``position()`` and ``seek(position)``); batches are assembled and
    transformed off-thread (a layer that makes its batches otherwise
    overrides ``make_batches()``).

    The layer owns its random generator (``self.rng``, seeded from the
    global one, which the solver's ``random_seed`` seeds): shuffling, crops
    and mirrors draw from it in the prefetch thread alone, so they never
    depend on thread timing. ``position()`` is where the next batch handed
    to the net starts (source position and generator state), however far
    the prefetch thread has run ahead; ``seek()`` goes back there."""
    exact_num_bottom = 0
    min_top = 1
    max_top = 2

    def batch_size(self):
        raise NotImplementedError

    def make_source(self):
        raise NotImplementedError

    def force_channels(self):
        return False, False

    def source_draws(self):
        """Whether the source draws random numbers (shuffle, rand_skip)."""
        return False

    def setup(self, bottom, top):
        t = self.layer_param.transform_param
        draws = t.mirror or (self.phase == caffe_pb2.TRAIN and t.crop_size) or self.source_draws()
        self.rng = layer_generator(draws)
        self._batches = self.make_batches()
        self.check(self.batch_size() > 0, 'batch_size must be positive')
        self._position = self._batches.position()
        self._first = self._batches()
        data, labels, _ = self._first
        top[0].reshape(data.shape)
        log.info('output data size: %s', ','.join(str(d) for d in top[0].shape))  # Caffe's line
        if len(top) > 1:
            top[1].reshape(labels.shape)
        self._start_prefetch()

    def make_batches(self):
        """What the prefetch thread calls for each batch: it returns (data,
        labels, position after them) and has ``position()`` and
        ``seek(position)``. Here a BatchMaker over ``make_source()``."""
        mean_file = self.layer_param.transform_param.mean_file
        if mean_file:
            log.info('Loading mean file from: %s', mean_file)   # Caffe's DataTransformer line
        self.transformer = DataTransformer(self.layer_param.transform_param, self.phase,
                                           rng=self.rng)
        self._source = self.make_source()
        return BatchMaker(self._source, self.transformer, self.rng, self.batch_size(),
                          self.force_channels())

    @property
    def num_records(self):
        """The records of one epoch of the source."""
        return self._source.count

    def _start_prefetch(self):
        self._prefetch = Prefetcher(self, self._batches,
                                    self.layer_param.data_param.prefetch or 4)

    def position(self):
        """Where the next batch of forward() starts: a dict of the source's
        position and ``rng`` (the generator state)."""
        return self._position

    def seek(self, position):
        """Make the next forward() start at ``position`` (from position())."""
        self._prefetch.close()
        self._batches.seek(position)
        self._position = self._batches.position()
        self._first = None
        self._start_prefetch()

    def reshape(self, bottom, top):
        """Tops take each batch's shape in forward."""

    def forward(self, bottom, top):
        if self._first is not None:
            batch, self._first = self._first, None
        else:
            batch = self._prefetch.next()
        data, labels, self._position = batch
        xp = self.xp
        top[0].reshape(data.shape)
        top[0].xdata[...] = xp.asarray(data)
        if len(top) > 1:
            top[1].reshape(labels.shape)
            top[1].xdata[...] = xp.asarray(labels)


class BatchMaker:
    """Makes the batches of a prefetching layer from its source, transformer
    and generator, without holding the layer (its prefetch thread holds
    this). Each call returns (data, labels, position after them)."""

    def __init__(self, source, transformer, rng, size, force_channels):
        self.source, self.transformer, self.rng = source, transformer, rng
        self.size, self.force_channels = size, force_channels

    def __call__(self):
        items = [self.source.next_item() for _ in range(self.size)]
        pixels = np.stack([to_channels(im, *self.force_channels) for im, _ in items])
        labels = np.array([label for _, label in items], np.float32)
        return self.transformer(pixels), labels, self.position()

    def position(self):
        return dict(self.source.position(), rng=self.rng.get_state())

    def seek(self, position):
        self.source.seek(position)
        self.rng.set_state(position['rng'])


@register('Data')
class DataLayer(PrefetchingDataLayer):
    """Reads Datum records from an LMDB or LevelDB in key order, wrapping around."""
    shares_records = True       # among the solvers of a multi-GPU run (solver_share)

    def __init__(self, param):
        super().__init__(param)
        # As Caffe's DataLayer constructor: the database opens when the layer is
        # made, so its "Opened lmdb" line comes before the net's "Creating Layer".
        p = param.data_param
        self._backend = data_backend(p, self.name)
        self._cursor = databases.open_cursor(p.source, self._backend, "layer '%s': " % self.name)
        log_opened(self._backend, p.source)

    def batch_size(self):
        return self.layer_param.data_param.batch_size

    def force_channels(self):
        p = self.layer_param.transform_param
        return p.force_color, p.force_gray

    def source_draws(self):
        return bool(self.layer_param.data_param.rand_skip)

    def make_source(self):
        p = self.layer_param.data_param
        skip = int(self.rng.randint(0, p.rand_skip)) if p.rand_skip else 0
        return DatabaseSource(p.source, self._backend, skip, self.name,
                              solver_share(self.phase), self._cursor)


def log_opened(backend, source):
    """Caffe's db_lmdb.cpp / db_leveldb.cpp line for a database just opened
    (LMDB's on the root solver only, LevelDB's on every solver, as there)."""
    if backend == databases.LEVELDB:
        log.info('Opened leveldb %s', source)
    else:
        net_log.root_info(log, 'Opened lmdb %s', source)


_GUESSED = set()


def data_backend(param, layer_name):
    """The backend ('lmdb' or 'leveldb') a Data layer reads: its
    data_param.backend, LevelDB when unset as in Caffe, except that an
    unset backend over an LMDB folder reads it as LMDB (a prototxt that
    left the field out for an LMDB, on which Caffe would fail), said once
    per source."""
    if param.backend == caffe_pb2.DataParameter.LMDB:
        return databases.LMDB
    if not param.HasField('backend') and databases.detect(param.source) == databases.LMDB:
        if param.source not in _GUESSED:
            _GUESSED.add(param.source)
            log.info("layer '%s': data_param.backend is unset (Caffe's default is LEVELDB) "
                     'and %s is an LMDB: reading it as LMDB', layer_name, param.source)
        return databases.LMDB
    return databases.LEVELDB


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


class DatabaseSource:
    """The (image, label) of each Datum of a database (caffelite.databases)
    in key order, cyclically, after ``skip`` records; ``share`` is this
    solver's (rank, count) (see solver_share). Its position is the key of
    the next record; as only rank 0 snapshots, a saved position is rank
    0's, and solver rank r resumes r records further, where its share
    starts."""

    def __init__(self, path, backend, skip, layer_name, share=(0, 1), cursor=None):
        who = "layer '%s': " % layer_name
        self.cursor = cursor if cursor is not None else databases.open_cursor(path, backend, who)
        self.where = '%s%s %s' % (who, databases.NAMES[backend], path)
        if not self.cursor.valid():
            raise CaffeError('%s is empty' % self.where)
        self.rank, self.stride = share
        for _ in range(skip + self.rank):
            self._advance()

    @property
    def count(self):
        return self.cursor.count

    def _advance(self):
        if not self.cursor.next():
            net_log.root_info(log, 'Restarting data prefetching from start.')  # Caffe's line
            self.cursor.first()

    def next_item(self):
        key, value = self.cursor.key(), self.cursor.value()
        for _ in range(self.stride):    # this record and the other solvers' next ones
            self._advance()
        where = '%s: record %r' % (self.where, key.decode(errors='replace'))
        try:
            datum = caffe_pb2.Datum.FromString(value)
        except DecodeError:
            raise CaffeError('%s is not a Datum' % where) from None
        return decode_datum(datum, where)

    def position(self):
        return {'key': self.cursor.key()}

    def seek(self, position):
        if not self.cursor.seek(position['key']):
            raise CaffeError('%s has no record %r to resume from (was the database changed?)'
                             % (self.where, position['key'].decode(errors='replace')))
        for _ in range(self.rank):
            self._advance()


@register('ImageData')
class ImageDataLayer(PrefetchingDataLayer):
    """Reads images named in a ``path label`` list file (Caffe's ImageData),
    decoded and resized as convert_imageset does (caffelite.images)."""

    def batch_size(self):
        return self.layer_param.image_data_param.batch_size

    def source_draws(self):
        p = self.layer_param.image_data_param
        return bool(p.shuffle or p.rand_skip)

    def make_source(self):
        p = self.layer_param.image_data_param
        log.info('Opening file %s', p.source)                  # Caffe's ImageData lines
        lines = read_image_list(p.source, self.name)
        if p.shuffle:
            log.info('Shuffling data')
        elif self.phase == caffe_pb2.TRAIN and backend.solver_rank() > 0 and not p.rand_skip:
            # As Caffe: ImageData does not split its list among solvers.
            log.warning("layer '%s': Shuffling or skipping recommended for multi-GPU", self.name)
        log.info('A total of %d images.', len(lines))
        source = ImageListSource(lines, p, self.rng)
        if p.rand_skip:
            log.info('Skipping first %d data points.', source.index)
        return source


class ImageListSource:
    """The images of a list file in order (reshuffled each epoch when
    ``shuffle``); its position is the epoch's order and the next index."""

    def __init__(self, lines, param, rng):
        self.lines, self.param, self.rng = lines, param, rng
        self.count = len(lines)
        # what a resumed run checks: its order indexes these very lines
        self.digest = hashlib.sha256(repr(lines).encode('utf-8', 'surrogateescape')).digest()
        self.order = np.arange(self.count)
        if param.shuffle:
            self.order = self.rng.permutation(self.count)
        self.index = int(rng.randint(0, param.rand_skip)) % self.count if param.rand_skip else 0

    def next_item(self):
        if self.index >= self.count:
            self.index = 0
            if self.param.shuffle:
                # a new array, so positions handed out keep their order
                self.order = self.order[self.rng.permutation(self.count)]
        path, label = self.lines[self.order[self.index]]
        self.index += 1
        p = self.param
        pixels = images.read_image(os.path.join(p.root_folder, path), p.is_color,
                                   p.new_height, p.new_width)
        return images.to_caffe_layout(pixels), label

    def position(self):
        return {'order': self.order, 'index': self.index, 'list_digest': self.digest}

    def seek(self, position):
        order = np.asarray(position['order'], np.int64)
        if len(order) != self.count:
            raise CaffeError('image list %s has %d images, the snapshot was taken with %d'
                             % (self.param.source, self.count, len(order)))
        if position.get('list_digest', self.digest) != self.digest:
            raise CaffeError('image list %s is not the list the snapshot was taken with (its '
                             'lines changed since): the resumed run would read other images'
                             % self.param.source)
        self.order, self.index = order, int(position['index'])


def read_image_list(path, layer_name):
    """[(relative path, int label)] from a ``path label`` list file."""
    if not os.path.exists(path):
        raise CaffeError("layer '%s': image list %s not found" % (layer_name, path))
    items = []
    for number, line in enumerate(read_lines(path, 'surrogateescape'), 1):
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
    in ``hdf5_data_param.source``; optional shuffling of the rows, drawn
    from the layer's own generator."""
    shares_records = True       # among the solvers of a multi-GPU run (solver_share)
    exact_num_bottom = 0
    min_top = 1

    def setup(self, bottom, top):
        import h5py
        p = self.layer_param.hdf5_data_param
        log.info('Loading list of HDF5 filenames from: %s', p.source)   # Caffe's lines
        if not os.path.exists(p.source):
            self.fail('HDF5 file list %s not found' % p.source)
        files = [line.strip() for line in read_lines(p.source, 'surrogateescape')
                 if line.strip()]
        log.info('Number of HDF5 files: %d', len(files))
        self.check(files, 'HDF5 file list %s is empty' % p.source)
        names = list(self.layer_param.top)
        columns = {name: [] for name in names}
        for path in files:
            try:
                h5 = h5py.File(path, 'r')
            except OSError as e:        # missing, cut short, not HDF5
                self.fail('cannot read HDF5 file %s (listed in %s): %s' % (path, p.source, e))
            with h5:
                for name in names:
                    if name not in h5:
                        self.fail("%s has no dataset '%s'" % (path, name))
                    columns[name].append(np.asarray(h5[name], np.float32))
        self._columns = [np.concatenate(columns[n]) for n in names]
        rows = {len(c) for c in self._columns}
        self.check(len(rows) == 1, 'datasets %s have different row counts' % names)
        self._rows = rows.pop()
        self.check(self._rows, 'the HDF5 files of %s hold no rows' % p.source)
        self.rng = layer_generator(p.shuffle)
        self._order = np.arange(self._rows)
        self._shuffle = p.shuffle
        if self._shuffle:
            self._order = self.rng.permutation(self._rows)
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
                self._order = self._order[self.rng.permutation(self._rows)]
        for blob, column in zip(top, self._columns):
            blob.xdata[...] = self.xp.asarray(column[rows])

    def position(self):
        """Where the next forward() starts: row order, index, generator state."""
        return {'order': self._order, 'index': self._pos, 'rng': self.rng.get_state()}

    def seek(self, position):
        order = np.asarray(position['order'], np.int64)
        if len(order) != self._rows:
            self.fail('the HDF5 files hold %d rows, the snapshot was taken with %d'
                      % (self._rows, len(order)))
        self._order, self._pos = order, int(position['index'])
        self.rng.set_state(position['rng'])
