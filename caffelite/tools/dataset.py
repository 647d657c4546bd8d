"""DIGITS-style dataset creation: an image folder (one sub-folder per class)
or a ``path label`` list becomes train/val/test LMDBs, labels.txt, the
split lists, mean.binaryproto and mean.jpg.

The whole dataset is built in a temporary folder beside OUT_DIR and renamed
into place at the end.
"""
import collections
import os
import shutil
import tempfile

import numpy as np

from ..errors import CaffeError
from ..protoio import atomic_open
from . import images
from .imageset import image_datum, lmdb_writer, map_size_for, read_list, write_mean

SPLITS = ('train', 'val', 'test')


def scan_folder(image_dir):
    """(class names, [(absolute path, label)]) of an image-folder dataset;
    classes are the sorted sub-folder names, images are found recursively."""
    classes = sorted(d for d in os.listdir(image_dir)
                     if os.path.isdir(os.path.join(image_dir, d)) and not d.startswith('.'))
    if not classes:
        raise CaffeError('%s has no class sub-folders' % image_dir)
    items = []
    for label, name in enumerate(classes):
        for folder, _, files in sorted(os.walk(os.path.join(image_dir, name))):
            for f in sorted(files):
                if f.lower().endswith(images.IMAGE_EXTENSIONS):
                    items.append((os.path.join(folder, f), label))
    return classes, items


def split_items(items, val_percent, test_percent, seed):
    """Shuffle each class with ``seed`` and cut it into train/val/test by
    percentage, so every split keeps the class proportions."""
    if val_percent < 0 or test_percent < 0 or val_percent + test_percent >= 100:
        raise CaffeError('val and test percentages must be >= 0 and sum below 100')
    rng = np.random.RandomState(seed)
    by_class = collections.defaultdict(list)
    for item in items:
        by_class[item[1]].append(item)
    splits = {name: [] for name in SPLITS}
    for label in sorted(by_class):
        group = by_class[label]
        order = rng.permutation(len(group))
        n_val = int(round(len(group) * val_percent / 100.0))
        n_test = int(round(len(group) * test_percent / 100.0))
        picked = [group[i] for i in order]
        splits['val'] += picked[:n_val]
        splits['test'] += picked[n_val:n_val + n_test]
        splits['train'] += picked[n_val + n_test:]
    for name in SPLITS:
        rng.shuffle(splits[name])
    return splits


def create_dataset(out_dir, items, classes, width, height, color=True, resize_mode='squash',
                   val_percent=10, test_percent=0, encoding='none', seed=0, log=print):
    """Build the dataset; returns {split: {label: count}} of images written."""
    if os.path.exists(out_dir):
        raise CaffeError('%s already exists; choose a new output folder' % out_dir)
    splits = split_items(items, val_percent, test_percent, seed)
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix='.' + os.path.basename(out_dir) + '.', dir=parent)
    try:
        counts, mean = _write_splits(tmp, out_dir, splits, width, height, color, resize_mode,
                                     '' if encoding == 'none' else encoding, seed, log)
        with atomic_open(os.path.join(tmp, 'labels.txt'), 'w') as f:
            f.write(''.join(name + '\n' for name in classes))
        write_mean(mean, os.path.join(tmp, 'mean.binaryproto'))
        _save_mean_image(mean, os.path.join(tmp, 'mean.jpg'))
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _print_summary(counts, classes, log)
    return counts


def _write_splits(tmp, out_dir, splits, width, height, color, resize_mode, encoding, seed, log):
    from tqdm import tqdm
    rng = np.random.RandomState(seed)
    channels = 3 if color else 1
    counts = {name: collections.Counter() for name in SPLITS}
    total = np.zeros((channels, height, width))
    for split in SPLITS:
        entries = splits[split]
        if not entries:
            continue
        kept = []
        with lmdb_writer(os.path.join(tmp, split + '_db'),
                         map_size_for(len(entries), height, width, channels)) as put:
            for index, (path, label) in enumerate(tqdm(entries, desc=split, unit='img',
                                                       leave=False, disable=None)):
                try:
                    datum = image_datum(path, label, color, height, width, encoding,
                                        resize_mode, rng)
                except CaffeError as e:
                    log('skipping unreadable image: %s' % e)
                    continue
                put('%08d_%s' % (index, os.path.basename(path)), datum.SerializeToString())
                counts[split][label] += 1
                kept.append((path, label))
                if split == 'train':
                    from .. import io
                    total += io.datum_to_array(datum)
        with atomic_open(os.path.join(tmp, split + '.txt'), 'w') as f:
            f.write(''.join('%s %d\n' % item for item in kept))
    n_train = sum(counts['train'].values())
    if not n_train:
        raise CaffeError('no readable training images')
    return counts, (total / n_train).astype(np.float32)


def _save_mean_image(mean, path):
    """mean.jpg: the mean as an RGB (or gray) picture, like DIGITS saves."""
    from PIL import Image
    pixels = np.clip(np.round(mean), 0, 255).astype(np.uint8)
    image = pixels[0] if pixels.shape[0] == 1 else pixels[::-1].transpose(1, 2, 0)
    with atomic_open(path, 'wb') as f:
        Image.fromarray(image).save(f, format='JPEG', quality=95)


def _print_summary(counts, classes, log):
    width = max(len(c) for c in classes + ['class'])
    log('%-*s %8s %8s %8s' % (width, 'class', 'train', 'val', 'test'))
    for label, name in enumerate(classes):
        log('%-*s %8d %8d %8d' % ((width, name) + tuple(counts[s][label] for s in SPLITS)))
    log('%-*s %8d %8d %8d' % ((width, 'total') + tuple(sum(counts[s].values())
                                                         for s in SPLITS)))


def items_from_list(list_file, root):
    """[(path, label)] and class names ('0'..'n-1') from a ``path label`` list."""
    items = [(os.path.join(root, p), label) for p, label in read_list(list_file)]
    if not items:
        raise CaffeError('%s lists no images' % list_file)
    classes = [str(i) for i in range(max(label for _, label in items) + 1)]
    return classes, items
