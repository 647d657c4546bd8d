"""DIGITS' image-segmentation view extension ("Image Segmentation" in a
generic model's visualization menu): a net's first output, C x H x W
class scores, shown as a class-coloured map over the input image.

* each pixel's class is the argmax over C; class 0 is the background;
* the colours come from the ``colormap`` option: 'dataset' (the dataset's
  palette: Sunnybrook's is background black, left ventricle white; a
  dataset without one is an error, as in DIGITS), 'paired' (matplotlib's
  Paired colours) or 'none' (class index as a gray level);
* the legend lists the classes found other than 0, named by the dataset's
  class labels ("Class #N" without);
* the page draws, over the input, the classes' colours at an opacity
  (0.3), their outlines (pixels within a line width, 3, of the class
  boundary) opaque, and the background darkened by a mask (0); the
  per-pixel distance to the boundary it needs is computed here.
"""
import numpy as np

from ..errors import CaffeError

COLORMAPS = ('dataset', 'paired', 'none')
# matplotlib's 'Paired' qualitative colours
PAIRED = ('#a6cee3', '#1f78b4', '#b2df8a', '#33a02c', '#fb9a99', '#e31a1c',
          '#fdbf6f', '#ff7f00', '#cab2d6', '#6a3d9a', '#ffff99', '#b15928')
# the Sunnybrook plug-in's palette and class labels
SUNNYBROOK_PALETTE = ((0, 0, 0), (255, 255, 255))
SUNNYBROOK_LABELS = ('background', 'left ventricle')


def class_map(scores):
    """H x W uint8 class of each pixel of C x H x W ``scores`` (argmax)."""
    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise CaffeError('the image-segmentation view takes a C x H x W output, this one '
                         'has shape %s' % (scores.shape,))
    return np.argmax(scores.astype(np.float32), axis=0).astype(np.uint8)


def class_colour(index, colormap, palette=None):
    """'#rrggbb' of class ``index`` under ``colormap``."""
    if colormap == 'dataset':
        r, g, b = palette[index] if index < len(palette) else (0, 0, 0)
        return '#%02x%02x%02x' % (r, g, b)
    if colormap == 'paired':
        return PAIRED[index % len(PAIRED)]
    return '#%02x%02x%02x' % (index, index, index)


def boundary_distance(classes):
    """H x W uint8: for a pixel of a class other than 0, its distance in
    pixels to the nearest pixel of another class (1 on the boundary,
    capped at 255); 0 on the background."""
    from scipy import ndimage
    distance = np.zeros(classes.shape, np.float64)
    for c in np.unique(classes[classes > 0]):
        inside = classes == c
        distance[inside] = ndimage.distance_transform_edt(np.pad(inside, 1))[1:-1, 1:-1][inside]
    return np.minimum(np.ceil(distance), 255).astype(np.uint8)


def display_image(feature):
    """H x W [x 3] uint8 of an input as DIGITS' view shows it: a range
    wider than 255 stretched to 0-255, a negative minimum shifted to 0."""
    data = np.asarray(feature, np.float64)
    data = data[:, :, 0] if data.ndim == 3 and data.shape[2] == 1 else data
    low, high = data.min(), data.max()
    if high - low > 255:
        data = (data - low) * 255.0 / (high - low)
    elif low < 0:
        data = data - low
    return data.astype(np.uint8)


def segmentation_view(scores, colormap='dataset', palette=None, labels=None):
    """The view of one output: {'classes': H x W uint8, 'distance': H x W
    uint8 (:func:`boundary_distance`), 'colours': ['#rrggbb'] of classes
    0..C-1, 'legend': [{'index', 'text', 'hex_color'}] of the classes
    found other than 0, 'is_binary': C == 2}. CaffeError for an unknown
    colormap or 'dataset' without a palette."""
    if colormap not in COLORMAPS:
        raise CaffeError("colormap must be one of %s, not %r" % (', '.join(COLORMAPS), colormap))
    if colormap == 'dataset' and not palette:
        raise CaffeError('No palette found in dataset - choose other colormap')
    classes = class_map(scores)
    colours = [class_colour(c, colormap, palette) for c in range(np.asarray(scores).shape[0])]
    legend = [{'index': int(c), 'hex_color': colours[c],
               'text': labels[c] if labels and c < len(labels) else 'Class #%d' % c}
              for c in np.unique(classes) if c != 0]
    return {'classes': classes, 'distance': boundary_distance(classes), 'colours': colours,
            'legend': legend, 'is_binary': np.asarray(scores).shape[0] == 2}
