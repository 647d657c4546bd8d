"""The converters of Caffe's MNIST, siamese MNIST and CIFAR-10 examples
(examples/mnist/convert_mnist_data, examples/siamese/convert_mnist_siamese_data,
examples/cifar10/convert_cifar_data): the datasets' binary files into
databases of Datums, record for record as the C++ converters write them.

MNIST: an idx3 image file (magic 2051, count, rows, cols, then uint8
pixels) and an idx1 label file (magic 2049, count, then uint8 labels), all
big-endian; records keyed ``%08d``. CIFAR-10: ``data_batch_1.bin`` ...
``data_batch_5.bin`` and ``test_batch.bin``, each 10000 records of a label
byte and 3 x 32 x 32 pixels (the R, G and B planes, stored unchanged);
records keyed ``%05d`` (the training batches numbered on from one another).
Every input is checked before anything is written, and each database
appears under its name only when complete.
"""
import logging
import os

import numpy as np

from .. import codec
from ..errors import CaffeError
from ..databases import LEVELDB, LMDB, open_writer

log = logging.getLogger('caffelite.tools')

MNIST_IMAGES, MNIST_LABELS = 2051, 2049
CIFAR_SIDE, CIFAR_BATCH, CIFAR_TRAIN_FILES = 32, 10000, 5
CIFAR_RECORD = 1 + 3 * CIFAR_SIDE * CIFAR_SIDE


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError as e:
        raise CaffeError('Unable to open file %s: %s' % (path, e.strerror)) from None


def _idx(path, magic, header_words):
    """(header words after the magic, payload bytes) of an idx file."""
    data = _read(path)
    if data[:2] == b'\x1f\x8b':
        raise CaffeError('%s is gzip-compressed: gunzip it first (as Caffe\'s get_mnist.sh '
                         'does)' % path)
    size = 4 * (1 + header_words)
    if len(data) < size:
        raise CaffeError('%s: %d bytes, shorter than an idx header' % (path, len(data)))
    words = np.frombuffer(data[:size], '>u4')
    if words[0] != magic:
        raise CaffeError('%s: incorrect magic number %d (expected %d: an MNIST %s file)'
                         % (path, words[0], magic,
                            'image' if magic == MNIST_IMAGES else 'label'))
    return [int(w) for w in words[1:]], data[size:]


def read_mnist(image_path, label_path):
    """(N x 1 x rows x cols uint8 images, N labels) of MNIST's idx files."""
    (count, rows, cols), pixels = _idx(image_path, MNIST_IMAGES, 3)
    (labels_count,), labels = _idx(label_path, MNIST_LABELS, 1)
    if count != labels_count:
        raise CaffeError('%s holds %d images but %s %d labels'
                         % (image_path, count, label_path, labels_count))
    if len(pixels) < count * rows * cols or len(labels) < count:
        raise CaffeError('%s or %s is cut short: %d images of %dx%d announced'
                         % (image_path, label_path, count, rows, cols))
    images = np.frombuffer(pixels, np.uint8, count * rows * cols).reshape(count, 1, rows, cols)
    # Caffe reads the label byte as a (signed) char
    return images, np.frombuffer(labels, np.int8, count)


def _write(db, images, labels, key_format, offset=0):
    """Put Datums of ``images`` (N x C x H x W uint8) and their labels into
    the open database writer ``db``, keyed by ``key_format`` from ``offset``."""
    for i, (image, label) in enumerate(zip(images, labels)):
        db.put(key_format % (offset + i),
                    codec.array_to_datum(image, int(label)).SerializeToString())


def convert_mnist(image_path, label_path, db_path, backend=LMDB):
    """Caffe's convert_mnist_data into a new ``backend`` database. Returns
    the number of records."""
    images, labels = read_mnist(image_path, label_path)
    log.info('A total of %d items.', len(images))
    log.info('Rows: %d Cols: %d', images.shape[2], images.shape[3])
    with open_writer(db_path, backend) as db:
        _write(db, images, labels, '%08d')
    log.info('Processed %d files.', len(images))
    return len(images)


def siamese_pairs(images, labels, rng):
    """(N x 2 x rows x cols pairs, N labels) as Caffe's siamese example
    pairs MNIST: for each of the N records two images drawn at random
    (each index a 32-bit Mersenne Twister draw modulo N, first image then
    second), one per channel; label 1 when their digits are equal, else 0."""
    count = len(images)
    draws = rng.randint(0, 2 ** 32, size=(count, 2), dtype=np.uint64) % count
    pairs = images[draws, 0]
    same = labels[draws[:, 0]] == labels[draws[:, 1]]
    return pairs, same.astype(np.int8)


def convert_mnist_siamese(image_path, label_path, db_path, seed=None, backend=LEVELDB):
    """Caffe's convert_mnist_siamese_data (examples/siamese): MNIST's idx
    files into a new database (LevelDB, as Caffe writes it) of random image
    pairs keyed ``%08d``. Caffe seeds its generator at random; ``seed``
    seeds it as Caffe::set_random_seed(seed) would. Returns the records."""
    images, labels = read_mnist(image_path, label_path)
    log.info('A total of %d items.', len(images))
    log.info('Rows: %d Cols: %d', images.shape[2], images.shape[3])
    pairs, same = siamese_pairs(images, labels, np.random.RandomState(seed))
    with open_writer(db_path, backend) as db:
        _write(db, pairs, same, '%08d')
    return len(pairs)

def read_cifar(path):
    """(10000 x 3 x 32 x 32 uint8 images, labels) of one CIFAR-10 batch file."""
    data = _read(path)
    if len(data) != CIFAR_BATCH * CIFAR_RECORD:
        raise CaffeError('%s: %d bytes, a CIFAR-10 batch file has %d (%d records of %d)'
                         % (path, len(data), CIFAR_BATCH * CIFAR_RECORD, CIFAR_BATCH,
                            CIFAR_RECORD))
    records = np.frombuffer(data, np.uint8).reshape(CIFAR_BATCH, CIFAR_RECORD)
    images = records[:, 1:].reshape(CIFAR_BATCH, 3, CIFAR_SIDE, CIFAR_SIDE)
    return images, records[:, 0].view(np.int8)


def convert_cifar(input_folder, output_folder, db_type='lmdb'):
    """Caffe's convert_cifar_data: OUTPUT/cifar10_train_<db_type> (50000
    records) and OUTPUT/cifar10_test_<db_type> (10000), ``db_type``
    databases."""
    train = [os.path.join(input_folder, 'data_batch_%d.bin' % (i + 1))
             for i in range(CIFAR_TRAIN_FILES)]
    test = os.path.join(input_folder, 'test_batch.bin')
    batches = {path: read_cifar(path) for path in train + [test]}
    log.info('Writing Training data')
    with open_writer(os.path.join(output_folder, 'cifar10_train_' + db_type), db_type) as db:
        for i, path in enumerate(train):
            log.info('Training Batch %d', i + 1)
            _write(db, *batches[path], '%05d', i * CIFAR_BATCH)
    log.info('Writing Testing data')
    with open_writer(os.path.join(output_folder, 'cifar10_test_' + db_type), db_type) as db:
        _write(db, *batches[test], '%05d')
