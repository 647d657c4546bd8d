"""DIGITS-style image classification datasets.

An image folder (one sub-folder per class) or a ``path label`` list becomes,
in OUT_DIR: ``train_db``, ``val_db`` and ``test_db`` LMDBs of Datums, or
DIGITS' HDF5 folders (:mod:`caffelite.digits.hdf5_db`) (the splits that got
images), ``train.txt``/``val.txt``/``test.txt`` (the images
each holds, ``absolute/path label`` in record order), ``labels.txt`` (one
class name per line), ``mean.binaryproto`` and ``mean.jpg`` (the mean of
the training images).

Images are split, read, resized and encoded as DIGITS does: each class is
cut into train/val/test by the percentages after a seeded shuffle (or the
val/test split is all of a separate folder, labelled by the training
folder's classes), images go through one of DIGITS' four resize modes (see
:mod:`caffelite.images`), and Datums hold raw BGR bytes or PNG/JPEG bytes. Record keys are
convert_imageset's ``%08d_<name>``. The whole dataset is built in a hidden
temporary folder beside OUT_DIR and renamed into place at the end, so a
failed run leaves nothing under OUT_DIR.
"""
import collections
import os
import random
import shutil

import numpy as np

from .. import codec
from ..errors import CaffeError
from ..progress import progress_bar
from ..textfile import read_lines
from ..proto import caffe_pb2
from ..protoio import atomic_open, remove_stale_temps
from .. import images
from ..databases import LmdbWriter, temp_folder_beside
from ..digits import url_folders
from ..digits.hdf5_db import COMPRESSIONS, Hdf5DbWriter
from ..digits.image_urls import is_url
from .imageset import MeanAccumulator, read_list, write_mean

SPLITS = ('train', 'val', 'test')
BACKENDS = ('lmdb', 'hdf5')
# LMDB's default largest key, in bytes.
MAX_KEY_BYTES = 511
# DIGITS stores encoded JPEG Datums at quality 90.
DIGITS_ENCODE_OPTIONS = {'png': {}, 'jpg': {'quality': 90}}

# One image of a dataset: its file, its name in record keys and lists
# (relative to the image folder or as listed), and its class index.
Item = collections.namedtuple('Item', 'path name label')
# What create_dataset wrote: {split: Counter(label -> images)}, and the
# [(path, reason)] of the images it skipped.
Report = collections.namedtuple('Report', 'counts skipped')


def class_folders(image_dir):
    """The class names of an image folder (or of a folder URL, see
    :mod:`caffelite.digits.url_folders`): its sorted sub-folder names
    (hidden ones ignored)."""
    if is_url(image_dir):
        classes = url_folders.subfolders(image_dir)
    elif not os.path.isdir(image_dir):
        raise CaffeError('%s is not a folder' % image_dir)
    else:
        classes = sorted(d for d in os.listdir(image_dir)
                         if not d.startswith('.') and os.path.isdir(os.path.join(image_dir, d)))
    if not classes:
        raise CaffeError('%s has no class sub-folders' % image_dir)
    return classes


def class_name(folder):
    """DIGITS' class name (labels.txt line) of a class folder's name: its
    underscores read as spaces (parse_folder's ``replace('_', ' ')``), so
    that a folder golden_retriever is the class 'golden retriever'."""
    return folder.replace('_', ' ')


def scan_folder(image_dir):
    """(class names, [Item]) of an image folder: the classes are its sorted
    sub-folder names, as class_name reads them; each class's images are
    found recursively, in sorted order, by extension (hidden files and
    folders are ignored). A folder URL's items are its images' URLs,
    fetched when the dataset is built."""
    folders = class_folders(image_dir)
    walk = url_folders.class_images if is_url(image_dir) else _class_files
    return ([class_name(folder) for folder in folders],
            [Item(*found) for found in walk(image_dir, folders)])


def _class_files(image_dir, classes):
    """[(absolute path, path relative to ``image_dir``, label)] of the
    image files of the ``classes`` of a local folder. Linked folders are
    followed, as DIGITS does (its ImageNet-subset example links synset
    folders into class folders), each real folder once."""
    found = []
    seen = set()
    for label, name in enumerate(classes):
        for folder, dirs, files in os.walk(os.path.join(image_dir, name), followlinks=True):
            seen.add(os.path.realpath(folder))
            dirs[:] = sorted(d for d in dirs if not d.startswith('.') and
                             os.path.realpath(os.path.join(folder, d)) not in seen)
            for f in sorted(files):
                if not f.startswith('.') and f.lower().endswith(images.IMAGE_EXTENSIONS):
                    path = os.path.join(folder, f)
                    rel = os.path.relpath(path, image_dir).replace(os.sep, '/')
                    found.append((os.path.abspath(path), rel, label))
    return found


def check_classes(classes, known, folder):
    """Raise CaffeError naming the ``classes`` of ``folder`` (a separate
    validation or test folder) that ``known`` (the training classes) lacks."""
    known = set(known)
    missing = [name for name in classes if name not in known]
    if missing:
        raise CaffeError('%s has class folder(s) that the training images do not: %s'
                         % (folder, ', '.join(missing)))


def relabel(classes, items, known, folder):
    """``items`` of ``folder`` (whose class names are ``classes``) labelled
    by the index of their class in ``known``, as DIGITS labels a separate
    validation or test folder with the training folder's labels."""
    check_classes(classes, known, folder)
    index = {name: label for label, name in enumerate(known)}
    return [item._replace(label=index[classes[item.label]]) for item in items]


def scan_list(list_file, root='', labels_file=None):
    """(class names, [Item]) of a ``path label`` list whose paths are
    relative to ``root``. Class names come from ``labels_file`` (one per
    line) or are the label numbers 0..max."""
    items = [Item(os.path.abspath(os.path.join(root, name)), name, label)
             for name, label in read_list(list_file) if name]
    if not items:
        raise CaffeError('%s lists no images' % list_file)
    if min(item.label for item in items) < 0:
        raise CaffeError('%s has a negative label' % list_file)
    top = max(item.label for item in items)
    if labels_file:
        classes = [line.strip() for line in read_lines(labels_file) if line.strip()]
        if top >= len(classes):
            raise CaffeError('%s uses label %d but %s names only %d classes'
                             % (list_file, top, labels_file, len(classes)))
    else:
        classes = [str(i) for i in range(top + 1)]
    return classes, items


def split_sizes(total, val_percent, test_percent):
    """(train, val, test) image counts for ``total`` images, rounded the way
    DIGITS' three_way_split_indices rounds: a split with a nonzero
    percentage gets at least one image when the others can spare it."""
    train_percent = 100.0 - val_percent - test_percent
    if min(val_percent, test_percent, train_percent) < 0:
        raise CaffeError('val and test percentages must be >= 0 and sum to at most 100 '
                         '(got %g and %g)' % (val_percent, test_percent))
    train = images.round_half_up(total * train_percent / 100.0)
    if train_percent and not train and total:
        train = 1
    val = min(images.round_half_up(total * val_percent / 100.0), total - train)
    if val_percent and not val:
        if train > 1:
            train, val = train - 1, 1
        elif train != total:
            val = 1
    if test_percent and train + val == total:
        # give the test split one image, from val if it can spare one
        if val > 1:
            val -= 1
        elif train > 1:
            train -= 1
    return train, val, total - train - val


def split_items(items, val_percent, test_percent, rng, fixed=None, shuffle=True):
    """{split: [Item]} as DIGITS splits an image folder: each class's images
    are shuffled by ``rng`` (a numpy RandomState) and cut by the
    percentages, so every split keeps the class proportions of the whole
    set; each split is then shuffled across classes. ``fixed`` ({'val' or
    'test': [Item]}, from separate folders or lists) gives a split its
    images outright; its percentage then counts as 0, as in DIGITS' form.
    ``shuffle=False`` (DIGITS' textfile_shuffle=0) keeps every split in the
    order given; it cannot cut percentages."""
    fixed = fixed or {}
    val_percent = 0 if 'val' in fixed else val_percent
    test_percent = 0 if 'test' in fixed else test_percent
    if not shuffle:
        if val_percent or test_percent:
            raise CaffeError('an unshuffled dataset takes its val and test images from '
                             'lists, not percentages')
        return dict({name: list(fixed.get(name, ())) for name in SPLITS}, train=list(items))
    by_class = collections.defaultdict(list)
    for item in items:
        by_class[item.label].append(item)
    splits = {name: list(fixed.get(name, ())) for name in SPLITS}
    for label in sorted(by_class):
        group = [by_class[label][i] for i in rng.permutation(len(by_class[label]))]
        train, val, _ = split_sizes(len(group), val_percent, test_percent)
        splits['train'] += group[:train]
        splits['val'] += group[train:train + val]
        splits['test'] += group[train + val:]
    return {name: [entries[i] for i in rng.permutation(len(entries))]
            for name, entries in splits.items()}


def digits_datum(pixels, label, encoding):
    """A Datum of H x W [x 3] RGB pixels as DIGITS writes it: raw BGR bytes,
    or PNG/JPEG bytes with the image's dimensions filled in."""
    chw = images.to_caffe_layout(pixels)
    if not encoding:
        return codec.array_to_datum(chw, label)
    data = images.encode(pixels, encoding, **DIGITS_ENCODE_OPTIONS[encoding])
    c, h, w = chw.shape
    return caffe_pb2.Datum(channels=c, height=h, width=w, data=data, label=label,
                           encoded=True)


def record_key(index, item):
    """convert_imageset's LMDB key of the ``index``-th image of a split."""
    return '%08d_%s' % (index, item.name)


def printable(path):
    """``path`` with the bytes of a non-UTF-8 file name shown as U+FFFD."""
    return path.encode('utf-8', 'surrogateescape').decode('utf-8', 'replace')


def check_name(item, key):
    """Raise CaffeError (naming the file) when an image's name cannot go
    into the dataset's record ``key`` (None: no key) and list files."""
    try:
        item.name.encode('utf-8')
    except UnicodeEncodeError:
        raise CaffeError('%s: the file name is not valid UTF-8' % printable(item.path)) from None
    if '\n' in item.name or '\r' in item.name:
        raise CaffeError('%r: the file name contains a line break' % item.path)
    if key is not None and len(key.encode()) > MAX_KEY_BYTES:
        raise CaffeError('%s: the file name is too long for an LMDB key (%d bytes, at most %d)'
                         % (item.path, len(key.encode()), MAX_KEY_BYTES))


class _SplitDb:
    """One split's database: ``writer`` (a context manager) entered and
    left with it; ``key(index, item)`` its record key (None: keyless),
    ``add(index, item, pixels)`` one H x W [x 3] RGB image."""

    def __enter__(self):
        self.writer.__enter__()
        return self

    def __exit__(self, *exc):
        return self.writer.__exit__(*exc)


class LmdbSplit(_SplitDb):
    """One split's LMDB of Datums (raw or ``encoding`` bytes), keyed as
    convert_imageset keys its records."""

    def __init__(self, path, encoding):
        self.writer, self.encoding = LmdbWriter(path), encoding

    def key(self, index, item):
        return record_key(index, item)

    def add(self, index, item, pixels):
        datum = digits_datum(pixels, item.label, self.encoding)
        self.writer.put(record_key(index, item), datum.SerializeToString())


class Hdf5Split(_SplitDb):
    """One split's DIGITS HDF5 folder (see :mod:`caffelite.digits.hdf5_db`);
    ``list_dir``: where the folder will finally be."""

    def __init__(self, path, shape, compression, list_dir):
        self.writer = Hdf5DbWriter(path, shape, compression, list_dir=list_dir)

    def key(self, index, item):
        return None

    def add(self, index, item, pixels):
        self.writer.add(images.to_caffe_layout(pixels), item.label)


def _write_split(folder, split, entries, db, shape, resize_mode, rng, mean, skipped,
                 progress, read):
    """Write one split's ``db`` (an LmdbSplit or Hdf5Split) and list into
    ``folder``, reading each image's pixels with ``read(path, color)``; add
    its images to ``mean`` when it is the training split; call
    ``progress(split, done, total)`` after each image. Returns
    Counter(label -> images)."""
    channels, height, width = shape
    counts = collections.Counter()
    kept = []
    with db:
        for index, item in enumerate(progress_bar(entries, desc=split, unit='img',
                                                  leave=False)):
            try:
                check_name(item, db.key(index, item))
                pixels = images.resize_like_digits(read(item.path, channels == 3),
                                                   height, width, resize_mode, rng)
            except CaffeError as e:
                skipped.append((item.path, str(e)))
                if progress:
                    progress(split, index + 1, len(entries))
                continue
            db.add(index, item, pixels)
            if split == 'train':
                mean.add(images.to_caffe_layout(pixels), item.path)
            counts[item.label] += 1
            kept.append(item)
            if progress:
                progress(split, index + 1, len(entries))
    with atomic_open(os.path.join(folder, split + '.txt'), 'w') as f:
        f.write(''.join('%s %d\n' % (item.path, item.label) for item in kept))
    return counts


def save_mean_image(mean, path):
    """Save a C x H x W BGR (or 1 x H x W) mean as a JPEG picture."""
    from PIL import Image
    pixels = np.clip(np.rint(mean), 0, 255).astype(np.uint8)
    picture = pixels[0] if pixels.shape[0] == 1 else pixels[::-1].transpose(1, 2, 0)
    with atomic_open(path, 'wb') as f:
        Image.fromarray(picture).save(f, format='JPEG')


def _split_db(tmp, split, shape, encoding, backend, compression, db_root):
    """The LmdbSplit or Hdf5Split of ``split`` built in ``tmp``."""
    path = os.path.join(tmp, split + '_db')
    if backend == 'hdf5':
        return Hdf5Split(path, shape, compression, os.path.join(db_root, split + '_db'))
    return LmdbSplit(path, '' if encoding == 'none' else encoding)


def _check_options(resize_mode, encoding, backend, compression):
    if resize_mode not in images.RESIZE_MODES:
        raise CaffeError('unknown resize mode %r' % resize_mode)
    if encoding not in ('none', 'png', 'jpg'):
        raise CaffeError("unknown encoding %r (use none, png or jpg)" % encoding)
    if backend not in BACKENDS:
        raise CaffeError('unknown backend %r (use lmdb or hdf5)' % backend)
    if compression not in COMPRESSIONS or (backend == 'lmdb' and compression != 'none'):
        raise CaffeError('compression %r: LMDB takes none, HDF5 none or gzip' % compression)
    if backend == 'hdf5' and encoding != 'none':
        raise CaffeError('HDF5 databases hold raw pixels: use encoding none, not %s'
                         % encoding)


def new_seed():
    """A fresh shuffle seed, in 0..2**31-1: DIGITS shuffles each new dataset
    differently, so the server and ``caffelite dataset`` draw one for each
    dataset not given one (and tell it, so the split can be repeated)."""
    return random.SystemRandom().randrange(2 ** 31)


def create_dataset(out_dir, items, classes, width=256, height=256, color=True,
                   resize_mode='squash', val_percent=25, test_percent=0, encoding='png',
                   seed=0, progress=None, fixed=None, shuffle=True, backend='lmdb',
                   compression='none', db_root=None, read=None):
    """Build the dataset of ``items`` (see :func:`scan_folder`) in
    ``out_dir``, which must not exist. ``encoding`` is 'none', 'png' or
    'jpg'; ``seed`` drives the split shuffle and the fill modes' noise;
    ``progress(split, done, total)`` is called after each image of a split;
    ``fixed`` gives the val and/or test split ready-made images (see
    :func:`split_items`, :func:`relabel`), ``shuffle=False`` keeps the
    images in the order given. ``backend`` 'lmdb' or 'hdf5' (DIGITS' HDF5
    folders, ``compression`` 'none' or 'gzip', raw pixels only); their
    list.txt names the files under ``db_root`` (default ``out_dir``), where
    the split folders will finally be. ``read(path, color)`` gives an
    image's pixels (default images.read_like_digits; a server's reads
    listed URLs from their downloaded copies). Returns a :data:`Report`."""
    if os.path.exists(out_dir):
        raise CaffeError('%s already exists; choose a new output folder' % out_dir)
    if not items:
        raise CaffeError('no images to put in %s' % out_dir)
    _check_options(resize_mode, encoding, backend, compression)
    rng = np.random.RandomState(seed)
    splits = split_items(items, val_percent, test_percent, rng, fixed, shuffle)
    remove_stale_temps(os.path.dirname(os.path.abspath(out_dir)))
    tmp = temp_folder_beside(out_dir)
    shape = (3 if color else 1, height, width)
    try:
        mean, skipped, counts = MeanAccumulator(), [], {}
        for split in SPLITS:
            counts[split] = collections.Counter()
            if splits[split]:
                db = _split_db(tmp, split, shape, encoding, backend, compression,
                               os.path.abspath(db_root or out_dir))
                counts[split] = _write_split(tmp, split, splits[split], db, shape,
                                             resize_mode, rng, mean, skipped, progress,
                                             read or images.read_like_digits)
        if not mean.count:
            raise CaffeError('no readable training images')
        with atomic_open(os.path.join(tmp, 'labels.txt'), 'w') as f:
            f.write(''.join(name + '\n' for name in classes))
        write_mean(mean.mean(), os.path.join(tmp, 'mean.binaryproto'))
        save_mean_image(mean.mean(), os.path.join(tmp, 'mean.jpg'))
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Report(counts, skipped)


def summary(report, classes):
    """The table of images per class and split, then the skipped images."""
    width = max(len(c) for c in list(classes) + ['class'])
    row = '%-*s' + ' %8s' * (len(SPLITS) + 1)
    lines = [row % ((width, 'class') + SPLITS + ('total',))]
    for label, name in enumerate(classes):
        cells = [report.counts[s][label] for s in SPLITS]
        lines.append(row % ((width, name) + tuple(cells) + (sum(cells),)))
    cells = [sum(report.counts[s].values()) for s in SPLITS]
    lines.append(row % ((width, 'total') + tuple(cells) + (sum(cells),)))
    if report.skipped:
        lines.append('skipped %d images:' % len(report.skipped))
        lines += ['  %s' % reason for _, reason in report.skipped]
    return '\n'.join(lines)
