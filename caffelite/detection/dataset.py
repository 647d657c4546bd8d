"""DIGITS' object-detection dataset: an image folder and a KITTI label
folder (``foo.png`` <-> ``foo.txt``) per split become, in OUT_DIR:

* ``train_db/features`` and ``train_db/labels`` LMDBs (and ``val_db/...``
  when a validation split is given), records keyed ``%09d`` in a seeded
  shuffled order; features are Datums of the padded (and optionally
  resized) image in DIGITS' feature encoding (PNG by default), labels float Datums (1, 1 + max boxes, 16) of
  DIGITS' rows (row 0 holds the box count and 16);
* ``train_db/mean.binaryproto`` (and ``val_db/...``): each split's mean
  image, rounded and cast to 8 bits as DIGITS' writer stores it, BGR;
* ``classes.txt``: the class numbers used.

Images are converted to RGB (or gray), pasted top-left on a black canvas of
the padding size (an image larger than it is an error), then resized with
their boxes. In the validation split, boxes with a side under
``val_min_box_size`` become dontcare (class 0). A label file without an
image, an image without a label file, and malformed label rows are errors
naming the file (and line).
"""
import os
import shutil

import numpy as np

from .. import codec
from ..errors import CaffeError
from ..protoio import atomic_open
from .. import images
from ..digits.processing import ENCODINGS, digits_mean, encoded_datum
from ..databases import LmdbWriter, temp_folder_beside
from ..tools.imageset import MeanAccumulator, write_mean
from . import kitti
from .coverage import ROW_WIDTH

SPLITS = ('train', 'val')
CHANNELS = ('RGB', 'L', 'none')


def pair_images_and_labels(image_dir, labels):
    """[(image path, stem)] of an image folder matched with ``labels``
    ({stem: objects}); every image needs a label file and every label file
    an image."""
    if not os.path.isdir(image_dir):
        raise CaffeError('%s is not a folder' % image_dir)
    found = {}
    for folder, dirs, files in os.walk(image_dir, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith('.'))
        for name in sorted(files):
            if name.startswith('.') or not name.lower().endswith(images.IMAGE_EXTENSIONS):
                continue
            stem = os.path.splitext(name)[0]
            if stem in found:
                raise CaffeError('%s and %s share the label name %s.txt'
                                 % (found[stem], os.path.join(folder, name), stem))
            found[stem] = os.path.join(folder, name)
    if not found:
        raise CaffeError('no images in %s' % image_dir)
    for stem in sorted(labels):
        if stem not in found:
            raise CaffeError('label %s.txt has no image %s.* in %s' % (stem, stem, image_dir))
    for stem, path in sorted(found.items()):
        if stem not in labels:
            raise CaffeError('image %s has no label file %s.txt' % (path, stem))
    return [(found[stem], stem) for stem in sorted(found)]


# PIL modes of one-channel images: DIGITS' 'none' conversion keeps them gray
GRAY_MODES = ('1', 'L', 'LA', 'I', 'I;16', 'F')


def is_color(path, channels):
    """Whether an image is read in colour: always for 'RGB', never for
    'L', as stored for 'none' (DIGITS' 'no conversion')."""
    if channels != 'none':
        return channels == 'RGB'
    from PIL import Image
    with Image.open(path) as probe:
        return probe.mode not in GRAY_MODES


def read_padded(path, padding, channels):
    """H x W [x 3] uint8 of an image converted to RGB ('RGB'), gray ('L')
    or kept so ('none'), and pasted top-left on a black ``padding`` (w, h)
    canvas (None: as is)."""
    pixels = images.read_like_digits(path, is_color(path, channels))
    if padding is None:
        return pixels
    width, height = padding
    h, w = pixels.shape[:2]
    if w > width or h > height:
        raise CaffeError('%s: image %dx%d is larger than the padding %dx%d'
                         % (path, w, h, width, height))
    canvas = np.zeros((height, width) + pixels.shape[2:], np.uint8)
    canvas[:h, :w] = pixels
    return canvas


def encode_entry(path, objects, mapping, padding, resize, channels, min_box_size):
    """(H x W [x 3] pixels, label rows) of one image and its objects."""
    pixels = read_padded(path, padding, channels)
    scale = (1.0, 1.0)
    if resize is not None:
        h, w = pixels.shape[:2]
        scale = (resize[0] / w, resize[1] / h)
        pixels = images.resize_like_digits(pixels, resize[1], resize[0], 'squash')
    rows = kitti.label_rows(objects, mapping, min_box_size, scale)
    return pixels, rows


def label_datum(rows, max_boxes):
    """DIGITS' label Datum: (1, 1 + max_boxes, 16) floats, row 0 = [n, 16]."""
    table = np.zeros((1, max_boxes + 1, ROW_WIDTH), np.float64)
    table[0, 0, :2] = (len(rows), ROW_WIDTH)
    table[0, 1:1 + len(rows)] = rows
    return codec.array_to_datum(table, 0)


def write_split(folder, split, entries, labels, mapping, options, rng, min_box_size=None,
                progress=None):
    """The ``features``/``labels`` LMDBs and mean of one split in ``folder``;
    ``progress(split, done, total)`` is told of each image written. Returns
    the number of images."""
    os.makedirs(folder)
    order = [entries[i] for i in rng.permutation(len(entries))]
    max_boxes = max(len(objects) for objects in labels.values())
    mean = MeanAccumulator(np.float64)
    with LmdbWriter(os.path.join(folder, 'features')) as features, \
            LmdbWriter(os.path.join(folder, 'labels')) as label_db:
        for index, (path, stem) in enumerate(order):
            pixels, rows = encode_entry(path, labels[stem], mapping, options['padding'],
                                        options['resize'], options['channels'], min_box_size)
            key = '%09d' % index
            features.put(key, encoded_datum(pixels, options['encoding'], path)
                         .SerializeToString())
            label_db.put(key, label_datum(rows, max_boxes).SerializeToString())
            mean.add(images.to_caffe_layout(pixels), path)
            if progress is not None:
                progress(split, index + 1, len(order))
    write_mean(digits_mean(mean.mean()), os.path.join(folder, 'mean.binaryproto'))
    return len(order)


def read_splits(train_images, train_labels, val_images=None, val_labels=None):
    """{split: (entries [(image path, stem)], labels {stem: objects})} of
    the folders given, checked (every image has its label file and back)."""
    if bool(val_images) != bool(val_labels):
        raise CaffeError('give both the validation image and label folders, or neither')
    splits = {}
    for split, image_dir, label_dir in (('train', train_images, train_labels),
                                        ('val', val_images, val_labels)):
        if image_dir:
            labels = kitti.read_folder(label_dir)
            splits[split] = (pair_images_and_labels(image_dir, labels), labels)
    return splits


def write_detection_dataset(out_dir, splits, padding=(1248, 384), resize=None,
                            channels='RGB', val_min_box_size=25, custom_classes=None,
                            seed=0, progress=None, feature_encoding='png'):
    """Build the dataset of ``splits`` (see read_splits) in ``out_dir``
    (which must not exist). ``padding`` and ``resize`` are (width, height)
    or None; ``channels`` 'RGB', 'L' or 'none' (as stored);
    ``feature_encoding`` 'png' (DIGITS' default), 'jpg' or 'none' (raw,
    colour planes BGR as DIGITS' writer swaps them);
    ``progress(split, done, total)``
    follows each split. Returns {split: image count}."""
    if os.path.exists(out_dir):
        raise CaffeError('%s already exists; choose a new output folder' % out_dir)
    if channels not in CHANNELS:
        raise CaffeError("channels must be 'RGB', 'L' or 'none', got %r" % (channels,))
    mapping = kitti.class_mapping(custom_classes)
    if feature_encoding not in ENCODINGS:
        raise CaffeError("feature_encoding must be 'none', 'png' or 'jpg', got %r"
                         % (feature_encoding,))
    options = dict(padding=padding, resize=resize, channels=channels, encoding=feature_encoding)
    rng = np.random.RandomState(seed)
    tmp = temp_folder_beside(out_dir)
    counts = {}
    try:
        for split in SPLITS:
            if split not in splits:
                continue
            entries, labels = splits[split]
            counts[split] = write_split(os.path.join(tmp, split + '_db'), split, entries,
                                        labels, mapping, options, rng,
                                        val_min_box_size if split == 'val' else None,
                                        progress)
        with atomic_open(os.path.join(tmp, 'classes.txt'), 'w') as f:
            f.write(''.join('%d %s\n' % (number, name)
                            for name, number in sorted(mapping.items(), key=lambda kv: kv[1])))
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return counts


def create_detection_dataset(out_dir, train_images, train_labels, val_images=None,
                             val_labels=None, padding=(1248, 384), resize=None,
                             channels='RGB', val_min_box_size=25, custom_classes=None,
                             seed=0):
    """Read the folders (read_splits) and build the dataset in ``out_dir``
    (write_detection_dataset). Returns {split: image count}."""
    if os.path.exists(out_dir):
        raise CaffeError('%s already exists; choose a new output folder' % out_dir)
    return write_detection_dataset(
        out_dir, read_splits(train_images, train_labels, val_images, val_labels), padding,
        resize, channels, val_min_box_size, custom_classes, seed)
