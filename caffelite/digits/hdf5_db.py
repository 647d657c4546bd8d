"""DIGITS' HDF5 image database (``backend=hdf5``): a folder of ``.h5``
files and ``list.txt`` naming them, one a line, which is what an HDF5Data
layer's ``source`` reads.

Each file holds the datasets ``data`` (float32, N x C x H x W, pixel values
0-255) and ``label`` (float32, N), chunked, resizable up to the file's
share of images and optionally gzip-compressed. A file holds at most
``limit // (C * H * W)`` images (DIGITS' ``hdf5_dset_limit``, 2**31
values); the next one is named by the count of images before it: ``0.h5``,
``<n>.h5``... Images are written in batches of up to 100, as DIGITS does.

Two choices differ from DIGITS, both so that a model trained on the
database classifies images the way it was trained: the colour planes are
stored in Caffe's BGR order (DIGITS stores RGB, then feeds BGR at
inference, its issue #59), and ``list.txt`` gives absolute paths (Caffe's
HDF5Data opens them relative to the training process's folder).
"""
import os

import numpy as np

from ..protoio import atomic_open

LIST_FILE = 'list.txt'
# DIGITS' --hdf5_dset_limit default: values (not bytes) per file.
DEFAULT_LIMIT = 2 ** 31
BATCH = 100
COMPRESSIONS = ('none', 'gzip')


class Hdf5DbWriter:
    """Write C x H x W images and their labels into DIGITS' HDF5 folder
    ``folder`` (created). ``list_dir`` is where the folder will finally be
    (the names in list.txt), ``folder`` by default. Use as a context
    manager; ``add(chw, label)`` per image."""

    def __init__(self, folder, shape, compression='none', limit=DEFAULT_LIMIT, list_dir=None):
        if compression not in COMPRESSIONS:
            raise ValueError('unknown HDF5 compression %r (use none or gzip)' % compression)
        self.folder, self.shape = folder, tuple(shape)
        self.list_dir = list_dir or folder
        self.compression = None if compression == 'none' else compression
        self.per_file = limit // int(np.prod(self.shape))
        if self.per_file < 1:
            raise ValueError('one %s image exceeds the HDF5 file limit of %d values'
                             % ('x'.join(map(str, self.shape)), limit))
        self.count, self.names, self._file = 0, [], None
        self._images, self._labels = [], []

    def __enter__(self):
        os.makedirs(self.folder)
        return self

    def add(self, chw, label):
        """Queue one C x H x W image (uint8 or float) of class ``label``."""
        self._images.append(chw)
        self._labels.append(label)
        if len(self._images) == BATCH:
            self._flush()

    def _new_file(self):
        import h5py
        if self._file is not None:
            self._file.close()
        name = '%d.h5' % self.count
        self.names.append(name)
        self._file = h5py.File(os.path.join(self.folder, name), 'w')
        for key, shape in (('data', self.shape), ('label', ())):
            self._file.create_dataset(key, (0,) + shape, maxshape=(self.per_file,) + shape,
                                      chunks=True, compression=self.compression,
                                      dtype=np.float32)

    def _flush(self):
        """Append the queued images, starting new files as they fill."""
        data = np.asarray(self._images, np.float32).reshape((-1,) + self.shape)
        labels = np.asarray(self._labels, np.float32)
        self._images, self._labels = [], []
        while len(data):
            room = 0 if self._file is None else self.per_file - len(self._file['label'])
            if room == 0:
                self._new_file()
                room = self.per_file
            take = min(room, len(data))
            for key, values in (('data', data[:take]), ('label', labels[:take])):
                dataset = self._file[key]
                dataset.resize(len(dataset) + take, axis=0)
                dataset[-take:] = values
            self.count += take
            data, labels = data[take:], labels[take:]

    def __exit__(self, kind, error, trace):
        if kind is None and self._images:
            self._flush()
        if self._file is not None:
            self._file.close()
        if kind is None:
            with atomic_open(os.path.join(self.folder, LIST_FILE), 'w') as f:
                f.write(''.join(os.path.join(self.list_dir, name) + '\n' for name in self.names))
        return False

