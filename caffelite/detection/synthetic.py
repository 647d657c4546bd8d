"""A detection dataset made here, for the embedded demo and the tests:
scikit-learn's 8x8 handwritten digits (or, without scikit-learn, filled
squares and discs), scaled and pasted at random places on noisy canvases,
with a KITTI label file per image (class ``digit``).
"""
import os

import numpy as np

from . import kitti

CLASS_NAME = 'digit'


def glyphs():
    """(K, 8, 8) float32 shapes in [0, 1] to paste: sklearn's digits, or
    squares and discs when scikit-learn is not installed."""
    try:
        from sklearn.datasets import load_digits
        return (load_digits().images / 16.0).astype(np.float32)
    except ImportError:
        yy, xx = np.mgrid[0:8, 0:8] - 3.5
        disc = (yy ** 2 + xx ** 2 <= 12).astype(np.float32)
        square = np.pad(np.ones((6, 6), np.float32), 1)
        return np.stack([disc, square])


def _scaled(glyph, size):
    """A glyph resized to size x size (PIL bilinear)."""
    from PIL import Image
    img = Image.fromarray(np.uint8(glyph * 255)).resize((size, size), Image.BILINEAR)
    return np.asarray(img, np.float32) / 255.0


def _free(box, boxes, gap=4):
    """Whether ``box`` (x1, y1, x2, y2) keeps ``gap`` pixels from all ``boxes``."""
    x1, y1, x2, y2 = box
    return all(x1 >= b[2] + gap or x2 + gap <= b[0] or y1 >= b[3] + gap or y2 + gap <= b[1]
               for b in boxes)


def make_canvas(rng, shapes, size=(256, 128), objects=(1, 3), scale=(28, 56)):
    """(H x W x 3 uint8 RGB image, [KittiObject]) of one canvas of ``size``
    (w, h) with ``objects`` (min, max) glyphs ``scale`` (min, max) px high."""
    width, height = size
    image = rng.uniform(0, 70, (height, width, 1)) + rng.uniform(0, 40, (height, width, 3))
    boxes = []
    for _ in range(rng.randint(objects[0], objects[1] + 1)):
        for _attempt in range(20):
            side = int(rng.randint(scale[0], scale[1] + 1))
            x, y = int(rng.randint(0, width - side + 1)), int(rng.randint(0, height - side + 1))
            if _free((x, y, x + side, y + side), boxes):
                break
        else:
            continue
        glyph = _scaled(shapes[rng.randint(len(shapes))], side)[..., None]
        colour = rng.uniform(150, 255, 3)
        patch = image[y:y + side, x:x + side]
        image[y:y + side, x:x + side] = patch * (1 - glyph) + colour * glyph
        boxes.append((x, y, x + side, y + side))
    objects = [kitti.KittiObject(CLASS_NAME, 0.0, 0, 0.0, x1, y1, x2, y2, 0.0, 0.0, 0.0,
                                 0.0, 0.0, 0.0, 0.0, None) for x1, y1, x2, y2 in boxes]
    return np.clip(image, 0, 255).astype(np.uint8), objects


def write_split(folder, count, seed, **canvas):
    """``count`` canvases as ``folder/images/%05d.png`` and
    ``folder/labels/%05d.txt``; returns (image folder, label folder)."""
    from PIL import Image
    from ..protoio import atomic_open
    rng = np.random.RandomState(seed)
    shapes = glyphs()
    image_dir, label_dir = os.path.join(folder, 'images'), os.path.join(folder, 'labels')
    os.makedirs(image_dir, exist_ok=True)
    os.makedirs(label_dir, exist_ok=True)
    for i in range(count):
        pixels, objects = make_canvas(rng, shapes, **canvas)
        with atomic_open(os.path.join(image_dir, '%05d.png' % i), 'wb') as f:
            Image.fromarray(pixels).save(f, format='PNG')
        kitti.write_objects(os.path.join(label_dir, '%05d.txt' % i), objects)
    return image_dir, label_dir
