"""Caffe's convert_imageset and compute_image_mean, over LMDB or LevelDB
databases (caffelite.databases, which writes them atomically)."""
import logging
import os

import numpy as np
from google.protobuf.message import DecodeError

from .. import codec, protoio
from ..databases import BATCH, LMDB, open_cursor, open_writer
from ..errors import CaffeError
from ..proto import caffe_pb2
from ..textfile import read_lines
from .. import images
from . import opencv_encode

log = logging.getLogger('caffelite.tools')

def read_list(path):
    """[(image path, label)] of a Caffe image list, one entry per line.

    Like convert_imageset, the label follows the line's last space and a
    line without one is a path with label 0; blank lines give ('', 0) so
    that every line keeps its index (Caffe's record keys count lines).
    """
    items = []
    for number, line in enumerate(read_lines(path, 'surrogateescape'), 1):
        name, space, label = line.rstrip().rpartition(' ')
        if not space:
            items.append((label, 0))
            continue
        try:
            items.append((name, int(label)))
        except ValueError:
            raise CaffeError('%s:%d: expected "path label", got %r'
                             % (path, number, line.rstrip())) from None
    return items


def _extension(path):
    """The text after the last dot of ``path`` (all of it when it has none),
    lowercased: how convert_imageset names a file's format."""
    return path.rsplit('.', 1)[-1].lower()


def _same_format(path, encoding):
    """Caffe's matchExt: the file's extension names ``encoding``."""
    ext = _extension(path)
    return ext == encoding or (encoding == 'jpg' and ext == 'jpeg')


def read_image_to_datum(path, label, color, height=0, width=0, encoding=''):
    """(Datum, H x W [x 3] RGB pixels) of one image, as Caffe's
    ReadImageToDatum makes it.

    The image is read as cv::imread would and resized to height x width
    when both are positive. Without ``encoding`` the Datum holds the raw
    BGR bytes. With it the Datum holds the file's own bytes when nothing was
    resized and its extension is ``encoding``, else the pixels encoded so;
    an encoded Datum carries no dimensions, as in Caffe.
    """
    pixels = images.read_image(path, color, height, width)
    if not encoding:
        datum = codec.array_to_datum(images.to_caffe_layout(pixels), label)
        datum.encoded = False  # Caffe writes the flag explicitly
        return datum, pixels
    if not height and not width and _same_format(path, encoding):
        with open(path, 'rb') as f:
            data = f.read()
    else:
        data = opencv_encode.encode(pixels, encoding)
    return caffe_pb2.Datum(data=data, label=label, encoded=True), pixels


def _encoding_for(name, encoded, encode_type):
    """The encoding convert_imageset uses for ``name``: ``encode_type``
    (which implies ``encoded``), else the file's extension when encoded."""
    if encode_type:
        return encode_type.lower()
    return _extension(name) if encoded else ''


def convert_imageset(root, list_file, db_path, gray=False, shuffle=False, resize_height=0,
                     resize_width=0, encoded=False, encode_type='', check_size=False,
                     seed=None, backend=LMDB):
    """Caffe's convert_imageset: the images of ``list_file`` (paths relative
    to ``root``) into a new ``backend`` database of Datums keyed ``%08d_<path>`` by line
    index. Unreadable images are logged and skipped (their index stays
    unused). ``seed`` makes --shuffle reproducible. Returns the record count.
    """
    items = read_list(list_file)
    if shuffle:
        log.info('Shuffling data')
        np.random.RandomState(seed).shuffle(items)
    log.info('A total of %d images.', len(items))
    if encode_type and not encoded:
        log.info('encode_type specified, assuming encoded=true.')
    height, width = max(0, resize_height), max(0, resize_width)
    first_shape = None
    count = 0
    with open_writer(db_path, backend) as db:
        for index, (name, label) in enumerate(items):
            if not name:
                continue
            try:
                datum, pixels = read_image_to_datum(
                    os.path.join(root, name), label, not gray, height, width,
                    _encoding_for(name, encoded, encode_type))
            except CaffeError as e:
                log.error('%s', e)
                continue
            if check_size:
                first_shape = first_shape or pixels.shape
                if pixels.shape != first_shape:
                    raise CaffeError('%s: image size %s differs from the first image\'s %s'
                                     % (name, pixels.shape, first_shape))
            db.put('%08d_%s' % (index, name), datum.SerializeToString())
            count += 1
            if count % BATCH == 0:
                log.info('Processed %d files.', count)
    if count % BATCH:
        log.info('Processed %d files.', count)
    return count


class MeanAccumulator:
    """Running sum of C x H x W images kept in float32 and added one image
    at a time, as Caffe's compute_image_mean keeps it (in a BlobProto), so
    the mean matches Caffe's to the bit; ``dtype`` float64 sums as DIGITS'
    generic datasets do."""

    def __init__(self, dtype=np.float32):
        self.dtype = dtype
        self.total = None
        self.count = 0

    def add(self, image, where):
        """Add one C x H x W image; ``where`` names it in errors."""
        image = np.asarray(image)
        if self.total is None:
            self.total = np.zeros(image.shape, self.dtype)
        elif image.shape != self.total.shape:
            raise CaffeError('%s has shape %s, the first image had %s'
                             % (where, image.shape, self.total.shape))
        self.total += image.astype(self.dtype, copy=False)
        self.count += 1

    def mean(self):
        """The C x H x W mean (of the accumulator's dtype) of the images added."""
        if not self.count:
            raise CaffeError('no images to average')
        return self.total / self.dtype(self.count)


def iterate_datums(db_path, backend=LMDB):
    """Yield (key, Datum) for each record of a database, in key order."""
    for key, value in open_cursor(db_path, backend):
        name = key.decode(errors='replace')
        try:
            datum = caffe_pb2.Datum.FromString(value)
        except DecodeError:
            raise CaffeError('%s: record %r is not a Datum' % (db_path, name)) from None
        yield name, datum


def compute_image_mean(db_path, backend=LMDB):
    """(C x H x W float32 mean, record count) over every Datum of a
    database, as Caffe's compute_image_mean: encoded Datums are decoded
    with their stored channels."""
    acc = MeanAccumulator()
    for key, datum in iterate_datums(db_path, backend):
        image, _ = codec.decode_datum(datum, '%s: record %r' % (db_path, key))
        acc.add(image, '%s record %s' % (db_path, key))
        if acc.count % 10000 == 0:
            log.info('Processed %d files.', acc.count)
    if not acc.count:
        raise CaffeError('%s has no records' % db_path)
    return acc.mean(), acc.count


def write_mean(mean, path):
    """Save a C x H x W mean as Caffe's mean.binaryproto (a 1 x C x H x W
    BlobProto with legacy dimensions, as compute_image_mean writes)."""
    c, h, w = mean.shape
    blob = caffe_pb2.BlobProto(num=1, channels=c, height=h, width=w)
    protoio.set_packed_floats(blob, 'data', mean.ravel())
    protoio.write_binary(path, blob)
