"""Caffe's convert_imageset and compute_image_mean over LMDB databases.

Databases are written into a temporary folder beside the target and renamed
into place when complete, so an interrupted run never leaves a partial
database under the final name.
"""
import contextlib
import os
import shutil
import tempfile

import numpy as np

from .. import io, protoio
from ..errors import CaffeError
from ..proto import caffe_pb2
from . import images


@contextlib.contextmanager
def lmdb_writer(path, map_size):
    """Yield a ``put(key, value)`` into a new LMDB that appears at ``path``
    only when the block completes."""
    import lmdb
    if os.path.exists(path):
        raise CaffeError('%s already exists; remove it or choose another name' % path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + os.path.basename(path) + '.', dir=parent)
    env = lmdb.open(tmp, map_size=map_size, subdir=True, meminit=False, map_async=True)
    txn = [env.begin(write=True)]
    count = [0]

    def put(key, value):
        txn[0].put(key.encode() if isinstance(key, str) else key, value)
        count[0] += 1
        if count[0] % 1000 == 0:
            txn[0].commit()
            txn[0] = env.begin(write=True)
    try:
        yield put
        txn[0].commit()
        env.sync()
        env.close()
        os.replace(tmp, path)
    except BaseException:
        env.close()
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def map_size_for(count, height, width, channels):
    """A generous LMDB map size for ``count`` images (the file stays sparse)."""
    return max(64 << 20, 4 * count * (height * width * channels + 512))


def read_list(path):
    """[(relative path, label)] from a ``path label`` list file."""
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
    return items


def image_datum(path, label, color, height=0, width=0, encoding='', resize_mode='squash',
                rng=None):
    """A Datum for one image file, as convert_imageset writes it: raw BGR
    pixels, or PNG/JPEG bytes (the original file when no change is needed)."""
    pixels = images.read_image(path, color)
    resized = height > 0 and width > 0
    if resized:
        pixels = images.resize(pixels, height, width, resize_mode, rng)
    if encoding:
        ext = os.path.splitext(path)[1].lower().lstrip('.')
        same_format = ext == encoding or (ext == 'jpeg' and encoding == 'jpg')
        if not resized and same_format and _channels_match(path, color):
            with open(path, 'rb') as f:
                data = f.read()
        else:
            data = images.encode(pixels, encoding)
        # Like Caffe, an encoded Datum carries no dimensions: they are in the bytes.
        return caffe_pb2.Datum(data=data, label=label, encoded=True)
    datum = io.array_to_datum(images.to_caffe_layout(pixels), label)
    datum.encoded = False   # Caffe writes the flag explicitly
    return datum


def _channels_match(path, color):
    """Whether the file already has the channel count asked for."""
    from PIL import Image
    with Image.open(path) as img:
        return (img.mode in ('RGB', 'RGBA', 'P', 'CMYK', 'YCbCr')) == color


def convert_imageset(root, list_file, db_path, gray=False, shuffle=False, resize_height=0,
                     resize_width=0, encoded=False, encode_type='', check_size=False,
                     seed=0, log=print):
    """Write the images of ``list_file`` (relative to ``root``) into an LMDB
    with Caffe's keys ``%08d_<path>``; unreadable images are reported and
    skipped. Returns the number of records written."""
    items = read_list(list_file)
    if shuffle:
        np.random.RandomState(seed).shuffle(items)
    encoding = (encode_type or 'png') if encoded else ''
    size = None
    written = 0
    with lmdb_writer(db_path, map_size_for(len(items), resize_height or 512,
                                           resize_width or 512, 1 if gray else 3)) as put:
        for index, (name, label) in enumerate(items):
            try:
                datum = image_datum(os.path.join(root, name), label, not gray, resize_height,
                                    resize_width, encoding)
            except CaffeError as e:
                log('skipping: %s' % e)
                continue
            if check_size:
                shape = (datum.channels, datum.height, datum.width)
                if size is not None and shape != size:
                    raise CaffeError('%s has shape %s, earlier images %s' % (name, shape, size))
                size = shape
            put('%08d_%s' % (index, name), datum.SerializeToString())
            written += 1
    log('Processed %d files.' % written)
    return written


def iterate_datums(db_path):
    """Yield each Datum of an LMDB in key order."""
    import lmdb
    if not os.path.isdir(db_path):
        raise CaffeError('%s: no such LMDB database' % db_path)
    env = lmdb.open(db_path, readonly=True, lock=False, readahead=False)
    try:
        with env.begin() as txn:
            for _, value in txn.cursor():
                yield caffe_pb2.Datum.FromString(value)
    finally:
        env.close()


def compute_image_mean(db_path):
    """(mean C x H x W float32, image count) over every Datum of an LMDB."""
    total, count = None, 0
    for datum in iterate_datums(db_path):
        image = io.datum_to_array(datum).astype(np.float64)
        if total is None:
            total = np.zeros_like(image)
        elif image.shape != total.shape:
            raise CaffeError('%s: record %d has shape %s, the first had %s'
                             % (db_path, count, image.shape, total.shape))
        total += image
        count += 1
    if not count:
        raise CaffeError('%s is empty' % db_path)
    return (total / count).astype(np.float32), count


def write_mean(mean, path):
    """Save a C x H x W mean as Caffe's mean.binaryproto (legacy 4-d blob)."""
    c, h, w = mean.shape
    blob = caffe_pb2.BlobProto(num=1, channels=c, height=h, width=w)
    protoio.set_packed_floats(blob, 'data', mean.ravel())
    protoio.write_binary(path, blob)
