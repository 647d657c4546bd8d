"""KITTI object labels: one text file per image, one object per line, 15
space-separated fields (a 16th, the score, in result files):

type truncated occluded alpha left top right bottom height width length x y z rotation_y

Classes are numbered as DIGITS does: its default KITTI table (dontcare 0,
car 1, van 2 ... others 0), or a custom list whose order gives the numbers.
Every parse error names the file and the line.
"""
import collections
import os

import numpy as np

from ..errors import CaffeError

# DIGITS' default numbering of KITTI's object types (others are dontcare, 0).
DEFAULT_CLASSES = {
    'dontcare': 0, 'car': 1, 'van': 2, 'truck': 3, 'bus': 4, 'pickup': 5,
    'vehicle-with-trailer': 6, 'special-vehicle': 7, 'person': 8, 'pedestrian': 8,
    'person-fa': 9, 'person?': 10, 'people': 11, 'cyclist': 12, 'tram': 13,
    'person_sitting': 14, 'misc': 15}
FIELDS = ('type', 'truncated', 'occluded', 'alpha', 'left', 'top', 'right', 'bottom',
          'height', 'width', 'length', 'x', 'y', 'z', 'rotation_y')
KittiObject = collections.namedtuple('KittiObject', FIELDS + ('score',))
LABEL_EXTENSION = '.txt'


def class_mapping(custom=None):
    """{lower-case type: class number}: DIGITS' default table, or the order
    of ``custom`` (a comma-separated string or a list, first = 0)."""
    if not custom:
        return dict(DEFAULT_CLASSES)
    names = custom.split(',') if isinstance(custom, str) else list(custom)
    names = [n.strip().lower() for n in names]
    if any(not n for n in names) or len(set(names)) != len(names):
        raise CaffeError('custom classes must be distinct non-empty names, got %r' % (custom,))
    return {name: i for i, name in enumerate(names)}


def parse_line(text, where):
    """One KittiObject from a label (15 fields) or result (16) line."""
    fields = text.split()
    if len(fields) not in (15, 16):
        raise CaffeError('%s: a KITTI label row has 15 fields (16 with a score), got %d: %r'
                         % (where, len(fields), text.strip()))
    values = [fields[0]]
    for name, field in zip(FIELDS[1:] + ('score',), fields[1:]):
        try:
            values.append(float(field))
        except ValueError:
            raise CaffeError('%s: field %s is not a number: %r' % (where, name, field)) from None
    if len(values) == 15:
        values.append(None)
    obj = KittiObject(*values)
    if obj.right < obj.left or obj.bottom < obj.top:
        raise CaffeError('%s: box right/bottom (%g, %g) lie before left/top (%g, %g)'
                         % (where, obj.right, obj.bottom, obj.left, obj.top))
    return obj


def read_objects(path):
    """The KittiObjects of a label (or result) file; blank lines skipped."""
    objects = []
    with open(path, encoding='utf-8', errors='replace') as f:
        for number, line in enumerate(f, 1):
            if line.strip():
                objects.append(parse_line(line, '%s:%d' % (path, number)))
    return objects


def read_folder(folder):
    """{image stem: [KittiObject]} of every ``*.txt`` file in ``folder``."""
    if not os.path.isdir(folder):
        raise CaffeError('%s is not a folder' % folder)
    files = sorted(f for f in os.listdir(folder)
                   if f.endswith(LABEL_EXTENSION) and not f.startswith('.'))
    if not files:
        raise CaffeError('no label files (*%s) in %s' % (LABEL_EXTENSION, folder))
    return {os.path.splitext(f)[0]: read_objects(os.path.join(folder, f)) for f in files}


def class_of(obj, mapping, min_box_size=None):
    """The class number of an object: its type's number, 0 (dontcare) for
    unknown types and, with ``min_box_size``, for boxes with a smaller side."""
    if min_box_size is not None and min(obj.right - obj.left,
                                        obj.bottom - obj.top) < min_box_size:
        return 0
    return mapping.get(obj.type.lower(), 0)


def label_rows(objects, mapping, min_box_size=None, scale=(1.0, 1.0)):
    """(K, 16) float32 DIGITS label rows, far to near (z descending, ties in
    reverse file order, as DIGITS' sort-then-reverse leaves them): x, y, w,
    h (scaled by ``scale`` = (sx, sy)), alpha, class, 0, rotation_y,
    truncated, occluded, length, width, height, x, y, z."""
    rows = np.array([[o.left, o.top, o.right - o.left, o.bottom - o.top, o.alpha,
                      class_of(o, mapping, min_box_size), 0, o.rotation_y, o.truncated,
                      o.occluded, o.length, o.width, o.height, o.x, o.y, o.z]
                     for o in objects], np.float64).reshape(-1, 16)
    rows = rows[np.argsort(rows[:, 15], kind='stable')][::-1]
    rows[:, [0, 2]] *= scale[0]
    rows[:, [1, 3]] *= scale[1]
    return rows.astype(np.float32)


def write_objects(path, objects):
    """Write KittiObjects as a label or result file (atomically)."""
    from ..protoio import atomic_open
    with atomic_open(path, 'w') as f:
        for o in objects:
            numbers = [('%d' if name == 'occluded' else '%.2f') % getattr(o, name)
                       for name in FIELDS[1:]]
            if o.score is not None:
                numbers.append('%.4f' % o.score)
            f.write(' '.join([o.type] + numbers) + '\n')
