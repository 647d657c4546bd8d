"""DIGITS' image-processing data extension ("New Dataset > Images >
Processing"): a folder of feature images and a folder of label images
matched by file name (the extension may differ), made into the generic
dataset layout of DIGITS' data extensions:

* ``train_db/features`` and ``train_db/labels``: LMDBs of Datums (the
  images as they are, C x H x W after the channel conversion), the same
  key in both for a pair, each database in its encoding (DIGITS' "Feature
  Encoding" and "Label Encoding": 'png', 'jpg' or 'none', raw bytes);
* ``train_db/mean.binaryproto``: the mean of the training features as
  DIGITS' generic writer makes it (:func:`digits_mean`);
* the same under ``val_db/`` for the validation pairs (a percentage of the
  training folders, or folders of their own).
"""
import math
import os
import shutil

import numpy as np

from .. import images
from ..databases import LmdbWriter, temp_folder_beside
from ..errors import CaffeError
from ..tools.dataset import digits_datum
from ..tools.imageset import MeanAccumulator, write_mean

# DIGITS' image suffixes
SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm')
CONVERSIONS = ('RGB', 'L', 'none')
ENCODINGS = ('none', 'png', 'jpg')
# PIL modes read as gray when the conversion is 'none'
GRAY_MODES = ('1', 'L', 'LA', 'I', 'I;16', 'F')


def image_files(folder):
    """The sorted image files under ``folder`` (sub-folders too)."""
    found = sorted(os.path.join(root, name)
                   for root, _, names in os.walk(folder, followlinks=True)
                   for name in names if name.lower().endswith(SUFFIXES))
    if not found:
        raise CaffeError('no images (%s) in %s' % (', '.join(SUFFIXES), folder))
    return found


def pair_folders(feature_folder, label_folder):
    """[(feature image, label image)] matched by file name without its
    extension; raises CaffeError naming an image without its partner."""
    def by_stem(folder):
        return {os.path.splitext(os.path.basename(p))[0]: p for p in image_files(folder)}
    features, labels = by_stem(feature_folder), by_stem(label_folder)
    for stems, folder, other in ((features, label_folder, labels),
                                 (labels, feature_folder, features)):
        missing = sorted(set(stems) - set(other))
        if missing:
            raise CaffeError("%s has no image named '%s' (for %s)"
                             % (folder, missing[0], stems[missing[0]]))
    return [(features[stem], labels[stem]) for stem in sorted(features)]


def split_pairs(pairs, pct_val, seed):
    """{'train': pairs, 'val': pairs}: ``pct_val`` percent (rounded down)
    of the pairs, shuffled by ``seed``, for validation, as DIGITS splits
    them (a seed of its own for each job)."""
    order = [pairs[i] for i in np.random.RandomState(seed).permutation(len(pairs))]
    count = int(math.floor(len(order) * pct_val / 100.0))
    return {'train': order[count:], 'val': order[:count]}


def read_pixels(path, conversion):
    """H x W [x 3] uint8 pixels of an image after DIGITS' channel
    conversion ('RGB', 'L', or 'none': as the file is, gray or RGB)."""
    if conversion == 'none':
        from PIL import Image
        with Image.open(path) as img:
            conversion = 'L' if img.mode in GRAY_MODES else 'RGB'
    return images.read_like_digits(path, conversion == 'RGB')


def encoded_datum(pixels, encoding, where):
    """The Datum of H x W [x 3] ``pixels`` in ``encoding`` ('none': raw,
    float_data unless 8-bit); PNG and JPEG take 8-bit pixels only (CaffeError
    naming ``where`` else)."""
    if encoding == 'none':
        return digits_datum(pixels, 0, '')
    if pixels.dtype != np.uint8:
        raise CaffeError('%s: %s encoding takes 8-bit pixels, these are %s: use encoding '
                         'none' % (where, encoding, pixels.dtype))
    return digits_datum(pixels, 0, encoding)


def write_split(folder, pairs, load, encodings, progress=None, split='train'):
    """The ``features``/``labels`` LMDBs and the features' mean of one
    split in the new ``folder``: ``load(pair)`` gives a pair's (feature,
    label) H x W [x 3] arrays, its first file names it; ``encodings``:
    (features', labels') encoding; ``progress(split, done, total)``."""
    os.makedirs(folder)
    mean = MeanAccumulator(np.float64)
    with LmdbWriter(os.path.join(folder, 'features')) as features, \
            LmdbWriter(os.path.join(folder, 'labels')) as labels:
        for index, pair in enumerate(pairs):
            key = '%09d' % index
            feature, label = load(pair)
            features.put(key, encoded_datum(feature, encodings[0], pair[0]).SerializeToString())
            labels.put(key, encoded_datum(label, encodings[1], pair[1]).SerializeToString())
            mean.add(images.to_caffe_layout(feature), pair[0])
            if progress is not None:
                progress(split, index + 1, len(pairs))
    write_mean(digits_mean(mean.mean()), os.path.join(folder, 'mean.binaryproto'))


def digits_mean(mean):
    """The C x H x W mean DIGITS' generic writer stores for a C x H x W
    float64 mean of the features: rounded half to even, then cast to 8 bits
    (its ``astype(uint8)``), so that means beyond 0-255 (16-bit DICOM
    features) wrap modulo 256 as they do in DIGITS' files. Channels are
    already in Caffe's order (the features were added BGR)."""
    return np.mod(np.around(mean), 256)


def write_processing_dataset(out_dir, splits, conversion='none', progress=None,
                             feature_encoding='png', label_encoding='none'):
    """Build the dataset of ``splits`` ({split: [(feature image, label
    image)]}; an empty split is left out) in the new ``out_dir``; the
    encodings default to DIGITS' (PNG features, raw labels). Returns
    {split: pair count}."""
    if conversion not in CONVERSIONS:
        raise CaffeError("channel_conversion must be 'RGB', 'L' or 'none', got %r"
                         % (conversion,))
    return write_pair_dataset(out_dir, splits, lambda pair: load_images(pair, conversion),
                              progress, feature_encoding, label_encoding)


def load_images(pair, conversion):
    """(feature, label) pixels of a pair of image files after the channel
    ``conversion``."""
    return read_pixels(pair[0], conversion), read_pixels(pair[1], conversion)


def write_pair_dataset(out_dir, splits, load, progress=None, feature_encoding='png',
                       label_encoding='none'):
    """Build the dataset of ``splits`` ({split: pairs}; an empty split is
    left out) in the new ``out_dir``, each pair's arrays given by
    ``load(pair)`` (see :func:`write_split`). Returns {split: pair count}."""
    for name, encoding in (('feature_encoding', feature_encoding),
                           ('label_encoding', label_encoding)):
        if encoding not in ENCODINGS:
            raise CaffeError("%s must be 'none', 'png' or 'jpg', got %r" % (name, encoding))
    if not splits.get('train'):
        raise CaffeError('no training images: the validation share took them all')
    if os.path.exists(out_dir):
        raise CaffeError('%s already exists; choose a new output folder' % out_dir)
    tmp = temp_folder_beside(out_dir)
    try:
        for split, pairs in splits.items():
            if pairs:
                write_split(os.path.join(tmp, split + '_db'), pairs, load,
                            (feature_encoding, label_encoding), progress, split)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return {split: len(pairs) for split, pairs in splits.items()}
