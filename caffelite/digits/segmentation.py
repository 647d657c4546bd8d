"""DIGITS' image-segmentation view extension ("Image Segmentation" in a
generic model's visualization menu): a net's first output, C x H x W
class scores, shown as a class-coloured map over the input image.

* each pixel's class is the argmax over C; class 0 is the background;
* the colours come from the ``colormap`` option, through matplotlib as
  DIGITS applies it: 'dataset' (the dataset's palette, 256 RGB entries
  over classes 0-255; Sunnybrook's is background black, left ventricle
  white; a dataset without one is an error, as in DIGITS), 'paired'
  (matplotlib's Paired colormap over the class map normalised to its own
  min-max, the first image's on a page of many) or 'none' (class index as
  a gray level);
* the legend lists the classes found other than 0, named by the dataset's
  class labels ("Class #N" without);
* the page draws the map through DIGITS' display options (:data:`OPTIONS`):
  each pixel's "segment" value, 128 plus its signed distance to the class
  boundary (:func:`segment_values`), picks the background mask, the
  outline or the fill opacity; a 2-class map is drawn white on black, its
  boundary moved by the threshold; gamma and the false-colour colormap
  apply to the input.
"""
import numpy as np

from ..errors import CaffeError

COLORMAPS = ('dataset', 'paired', 'none')
# the Sunnybrook plug-in's palette (0 black, 1 white, the other 254 black) and class labels
SUNNYBROOK_PALETTE = ((0, 0, 0), (255, 255, 255)) + ((0, 0, 0),) * 254
SUNNYBROOK_LABELS = ('background', 'left ventricle')
# DIGITS' display options of the view: name -> (title, default, minimum, maximum);
# the threshold is a 2-class map's only
OPTIONS = {
    'opacity': ('Opacity', 0.3, 0.0, 1.0),
    'mask': ('Mask', 0.0, 0.0, 1.0),
    'threshold': ('Threshold', 0, -126, 127),
    'line_width': ('Line Width', 3, 0, 6),
    'gamma': ('Gamma', 1.0, 0.01, 1.0),
}


def class_map(scores):
    """H x W uint8 class of each pixel of C x H x W ``scores`` (argmax)."""
    scores = np.asarray(scores)
    if scores.ndim != 3:
        raise CaffeError('the image-segmentation view takes a C x H x W output, this one '
                         'has shape %s' % (scores.shape,))
    return np.argmax(scores.astype(np.float32), axis=0).astype(np.uint8)


def class_colours(count, colormap, palette=None, class_range=(0, 0)):
    """['#rrggbb'] of classes 0..count-1 under ``colormap``: 'dataset'
    through the palette's ListedColormap over 0-255, 'paired' through
    matplotlib's Paired over ``class_range`` (vmin, vmax; a single value
    maps every class to the first colour, as matplotlib's Normalize does),
    'none' the class index as gray."""
    if colormap == 'none':
        return ['#%02x%02x%02x' % (c, c, c) for c in range(count)]
    import matplotlib
    from matplotlib import colors
    if colormap == 'dataset':
        scale = colors.Normalize(vmin=0, vmax=255)
        cmap = colors.ListedColormap(np.asarray(palette, np.float64).reshape(-1, 3) / 255.0)
    else:
        scale, cmap = colors.Normalize(*class_range), matplotlib.colormaps['Paired']
    return [colors.rgb2hex(rgba[:3]) for rgba in cmap(scale(np.arange(count)))]


def segment_values(classes):
    """H x W uint8 "segment" value of each pixel, as DIGITS' view encodes
    it in its overlay's alpha: 128 plus the pixel's signed distance to the
    nearest class boundary (the boundary halfway between pixels, so 128 on
    a class's edge, 127 just outside it), clipped to 1-255; with fewer than
    two classes found, 0 for the background and 255 for a class. The image
    border is no boundary."""
    if len(np.unique(classes)) < 2:
        return np.where(classes > 0, 255, 0).astype(np.uint8)
    from scipy import ndimage
    values = np.empty(classes.shape, np.float64)
    background = classes == 0
    values[background] = 128.5 - ndimage.distance_transform_edt(background)[background]
    for c in np.unique(classes[~background]):
        inside = classes == c
        values[inside] = 127.5 + ndimage.distance_transform_edt(inside)[inside]
    # truncated as DIGITS casts the float distances to uint8
    return np.clip(values, 1, 255).astype(np.uint8)


def display_options(fields):
    """{option: value} of DIGITS' display options (:data:`OPTIONS`) from
    request fields of the same names (a missing one: DIGITS' default);
    CaffeError naming an option that is not a number in its range."""
    options = {}
    for name, (_, default, low, high) in OPTIONS.items():
        text = (fields.get(name) or '').strip()
        kind = type(default)
        try:
            value = kind(text) if text else default
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise CaffeError('%s must be %s from %s to %s, not %r'
                             % (name, 'an integer' if kind is int else 'a number', low, high,
                                text))
        options[name] = value
    return options


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


def segmentation_view(scores, colormap='dataset', palette=None, labels=None, class_range=None):
    """The view of one output: {'classes': H x W uint8, 'segment': H x W
    uint8 (:func:`segment_values`), 'colours': ['#rrggbb'] of classes
    0..C-1, 'legend': [{'index', 'text', 'hex_color'}] of the classes
    found other than 0, 'is_binary': C == 2, 'class_range': the (min, max)
    class the 'paired' colours are normalised over (``class_range``, or
    this map's own)}. CaffeError for an unknown colormap or 'dataset'
    without a palette."""
    if colormap not in COLORMAPS:
        raise CaffeError("colormap must be one of %s, not %r" % (', '.join(COLORMAPS), colormap))
    if colormap == 'dataset' and not palette:
        raise CaffeError('No palette found in dataset - choose other colormap')
    classes = class_map(scores)
    if class_range is None:
        class_range = (int(classes.min()), int(classes.max()))
    colours = class_colours(np.asarray(scores).shape[0], colormap, palette, class_range)
    legend = [{'index': int(c), 'hex_color': colours[c],
               'text': labels[c] if labels and c < len(labels) else 'Class #%d' % c}
              for c in np.unique(classes) if c != 0]
    return {'classes': classes, 'segment': segment_values(classes), 'colours': colours,
            'legend': legend, 'is_binary': np.asarray(scores).shape[0] == 2,
            'class_range': class_range}
