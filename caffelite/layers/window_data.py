"""WindowData, Caffe's layer for R-CNN fine-tuning: batches of detection
windows cut out of images and warped to one size, drawn at random from a
window file as foreground (object) and background windows.

The window file (R-CNN's format) gives, for each image::

    # <image index: 0, 1, 2... in order>
    <image path, under window_data_param.root_folder>
    <channels>
    <height>
    <width>
    <number of windows>
    <class> <overlap> <x1> <y1> <x2> <y2>     (one line per window)

A window whose overlap with a ground-truth box is at least ``fg_threshold``
is foreground (its class must be positive); one below ``bg_threshold`` is
background (class 0); the others are left out. Each batch holds
``int(batch_size * fg_fraction)`` foreground windows after the background
ones, each drawn with replacement, in both phases, as Caffe does. A window
is warped to transform_param's ``crop_size`` with ``context_pad`` pixels of
its surroundings in ``crop_mode`` warp or square (the placement rule is
:func:`caffelite.geometry.warped_window`), flipped at random when
transform_param's ``mirror``, then the mean (transform_param's
``mean_file`` or ``mean_value``) is subtracted and the result multiplied by
``window_data_param.scale``; the crop outside the image stays 0.
"""
import itertools
import logging
import os
from collections import namedtuple

import numpy as np

from .. import images
from ..data_transform import transform_mean
from ..errors import CaffeError, LayerError, MissingImageError, ParseError
from ..geometry import warped_window
from .base import register
from .data import PrefetchingDataLayer

log = logging.getLogger('caffelite.layers')

CROP_MODES = ('warp', 'square')
# Images are read in color, as Caffe's cv::imread(IMREAD_COLOR).
CHANNELS = 3

# boxes: (n, 6) int32 rows of image index, class, x1, y1, x2, y2;
# lines: (n,) the window file line of each.
Windows = namedtuple('Windows', 'boxes lines')
# paths: the image files; lines: the line of each one's '# index' header;
# channels: (count, line) of the last image's channels, which Caffe's
# data top takes.
WindowFile = namedtuple('WindowFile', 'paths lines channels fg bg')


class _WindowFileReader:
    """Reads an open window file (see the module docstring) line by line:
    R-CNN's PASCAL VOC files hold millions of windows, which are kept as
    arrays, never as lines. Errors are ParseErrors naming the file and line."""

    def __init__(self, file, path, root_folder):
        self.file, self.path, self.root = file, path, root_folder
        self.number = 0     # of the last line read

    def fail(self, line, message):
        raise ParseError(message, self.path, line)

    def next_line(self):
        """(line number, stripped text) of the next non-blank line, or None."""
        for line in self.file:
            self.number += 1
            text = line.strip()
            if text:
                return self.number, text
        return None

    def integers(self, names):
        """[(int, line number)] of the next len(names) tokens, one or more
        to a line (Caffe reads them as a stream of words)."""
        values = []
        while len(values) < len(names):
            where = self.next_line()
            if where is None:
                self.fail(self.number, 'the file ends before the %s' % names[len(values)])
            number, text = where
            for token in text.split():
                if len(values) == len(names):
                    self.fail(number, 'unexpected %r after the %s' % (token, names[-1]))
                try:
                    values.append((int(token), number))
                except ValueError:
                    self.fail(number, 'expected the %s (an integer), got %r'
                              % (names[len(values)], token))
        return values

    def image(self, index):
        """(header line, path, (channels, its line), window count) of the
        next image, or None at the end of the file."""
        where = self.next_line()
        if where is None:
            return None
        number, text = where
        tokens = text.split()
        if tokens[:1] != ['#'] or tokens[1:] != [str(index)]:
            self.fail(number, "expected the header '# %d' of image %d (images are numbered "
                      'from 0 in order), got %r' % (index, index, text))
        where = self.next_line()
        if where is None:
            self.fail(number, 'the file ends before the path of image %d' % index)
        channels, _, _, (count, line) = self.integers(
            ('channels', 'height', 'width', 'number of windows'))
        if count < 0:
            self.fail(line, 'negative number of windows %d' % count)
        return number, os.path.join(self.root, where[1]), channels, count

    def windows(self, count):
        """(values (count, 6) float64, their line numbers) of the next
        ``count`` lines, each 'class overlap x1 y1 x2 y2'."""
        start = self.number
        block = list(itertools.islice(self.file, count))
        self.number += len(block)
        values = None
        words = np.fromiter(map(len, map(str.split, block)), np.int64, len(block))
        if len(block) == count and np.all(words == 6):
            try:
                values = np.fromstring(''.join(block), sep=' ').reshape(count, 6)
            except ValueError:
                values = None
        if values is None or not np.all(values[:, [0, 2, 3, 4, 5]] % 1 == 0):
            self.diagnose(block, start, count)
        return values, np.arange(start + 1, start + count + 1, dtype=np.int32)

    def diagnose(self, block, start, count):
        """Raise the ParseError of the first bad window line of ``block``."""
        for number, text in enumerate(block, start + 1):
            if not _is_window(text.split()):
                self.fail(number, "expected a window 'class overlap x1 y1 x2 y2' (integers "
                          'but the overlap), got %r' % text.strip())
        if len(block) < count:
            self.fail(self.number, 'the file ends after %d of the %d windows of an image'
                      % (len(block), count))
        self.fail(start + 1, 'cannot read the %d windows from this line on' % count)


def _is_window(words):
    """Whether ``words`` read as 'class overlap x1 y1 x2 y2'."""
    try:
        list(map(int, words[:1] + words[2:]))
        float(words[1])
    except (ValueError, IndexError):
        return False
    return len(words) == 6


def read_window_file(path, root_folder, fg_threshold, bg_threshold):
    """The WindowFile of the window file ``path``: its images (paths
    joined to ``root_folder``) and foreground and background Windows (see
    the module docstring for the thresholds)."""
    # surrogateescape: image paths that are not UTF-8 reach the OS as the bytes they were
    with open(path, encoding='utf-8', errors='surrogateescape', newline='\n') as f:
        return _read_windows(_WindowFileReader(f, path, root_folder), fg_threshold, bg_threshold)


def _read_windows(reader, fg_threshold, bg_threshold):
    """read_window_file's work, from a _WindowFileReader."""
    paths, lines, fg, bg = [], [], [], []
    channels = None
    while True:
        image = reader.image(len(paths))
        if image is None:
            break
        line, image_path, channels, count = image
        values, numbers = reader.windows(count)
        overlap = values[:, 1].astype(np.float32)
        boxes = np.column_stack([np.full(count, len(paths)), values[:, [0, 2, 3, 4, 5]]])
        boxes = boxes.astype(np.int32)
        is_fg = overlap >= np.float32(fg_threshold)
        is_bg = ~is_fg & (overlap < np.float32(bg_threshold))
        unlabelled = is_fg & (boxes[:, 1] <= 0)
        if unlabelled.any():
            reader.fail(int(numbers[unlabelled][0]), 'a foreground window (overlap >= '
                        'fg_threshold %g) needs a positive class' % fg_threshold)
        boxes[is_bg, 1] = 0
        fg.append(Windows(boxes[is_fg], numbers[is_fg]))
        bg.append(Windows(boxes[is_bg], numbers[is_bg]))
        paths.append(image_path)
        lines.append(line)
    if not paths:
        reader.fail(reader.number or None, 'the window file lists no image')
    joined = [Windows(np.concatenate([w.boxes for w in part]),
                      np.concatenate([w.lines for w in part])) for part in (fg, bg)]
    return WindowFile(paths, lines, channels, *joined)


class WindowSampler:
    """Makes the batches of a WindowData layer (what its prefetch thread
    calls): each call returns (data (N, 3, crop, crop) float32, labels (N,)
    float32, position after them); the position is the generator's state.

    ``file`` is the WindowFile; ``counts`` (background, foreground) windows
    per batch; ``mean`` the (3, crop, crop) float32 mean under the crop;
    ``cache`` the bytes of every image file, or None to read them each
    time; ``where`` names the layer and window file in errors."""

    def __init__(self, file, counts, crop, mean, scale, rng, where, cache=None,
                 context_pad=0, square=False, mirror=False):
        self.file, self.counts, self.crop, self.mean = file, counts, crop, mean
        self.scale, self.rng, self.where, self.cache = np.float32(scale), rng, where, cache
        self.context_pad, self.square, self.mirror = context_pad, square, mirror

    def __call__(self):
        picks = [self.rng.randint(len(part.boxes), size=count) if count else np.zeros(0, int)
                 for part, count in zip((self.file.bg, self.file.fg), self.counts)]
        boxes = np.concatenate([self.file.bg.boxes[picks[0]], self.file.fg.boxes[picks[1]]])
        lines = np.concatenate([self.file.bg.lines[picks[0]], self.file.fg.lines[picks[1]]])
        n = len(boxes)
        mirrors = (self.rng.randint(2, size=n).astype(bool) if self.mirror
                   else np.zeros(n, bool))
        data = np.zeros((n, CHANNELS, self.crop, self.crop), np.float32)
        decoded = {}    # each image read once per batch
        for item, (box, line, flip) in enumerate(zip(boxes, lines, mirrors)):
            index = int(box[0])
            if index not in decoded:
                decoded[index] = self.read(index)
            self.paste(data[item], decoded[index], box[2:], flip, line)
        return data, boxes[:, 1].astype(np.float32), self.position()

    def read(self, index):
        """H x W x 3 RGB pixels of image ``index``, as cv::imread (or, from
        the cache, cv::imdecode) reads them in color."""
        path = self.file.paths[index]
        try:
            return images.read_like_opencv(self.cache[index] if self.cache else path, True,
                                           name=path)
        except CaffeError as e:
            raise self.error(self.file.lines[index], e) from None

    def paste(self, out, image, box, flip, line):
        """Write window ``box`` of ``image``, warped, into ``out`` (3, crop, crop)."""
        try:
            w = warped_window(box, image.shape[:2], self.crop, self.context_pad,
                              self.square, flip)
        except CaffeError as e:
            raise self.error(line, e) from None
        patch = images.resize_like_opencv(image[w.y1:w.y2 + 1, w.x1:w.x2 + 1],
                                          w.height, w.width)
        if flip:
            patch = patch[:, ::-1]
        rows, cols = slice(w.top, w.top + w.height), slice(w.left, w.left + w.width)
        pixels = images.to_caffe_layout(patch)
        out[:, rows, cols] = (pixels - self.mean[:, rows, cols]) * self.scale

    def error(self, line, cause):
        name, path = self.where
        return LayerError(name, 'WindowData', '%s:%d: %s' % (path, line, cause))

    def position(self):
        return {'rng': self.rng.get_state()}

    def seek(self, position):
        self.rng.set_state(position['rng'])


@register('WindowData')
class WindowDataLayer(PrefetchingDataLayer):
    """Caffe's WindowData (see the module docstring): tops data
    (N, 3, crop_size, crop_size) and label (N,)."""
    exact_num_top = 2
    # Windows are drawn with replacement: the file has no epoch to count.
    num_records = None

    def batch_size(self):
        return self.layer_param.window_data_param.batch_size

    def source_draws(self):
        return True     # every batch draws its windows

    def make_batches(self):
        p, t = self.layer_param.window_data_param, self.layer_param.transform_param
        self._check_params(p, t)
        file = self._read_windows(p)
        num_fg = int(np.float32(self.batch_size()) * np.float32(p.fg_fraction))
        counts = (self.batch_size() - num_fg, num_fg)
        for part, count, what in zip((file.bg, file.fg), counts, ('background', 'foreground')):
            self.check(count <= 0 or len(part.boxes), 'window file %s has no %s window for the '
                       '%d %s places of a batch' % (p.source, what, count, what))
        return WindowSampler(file, counts, t.crop_size, self._mean(t.crop_size), p.scale,
                             self.rng, (self.name, p.source), self._images(file, p.cache_images),
                             p.context_pad, p.crop_mode == 'square', t.mirror)

    def _check_params(self, p, t):
        """Refuse what Caffe cannot run; say which settings it does not read."""
        # Caffe's V1 upgrade moves these into transform_param; in a current
        # file WindowData reads them from transform_param alone.
        unread = [f for f in ('crop_size', 'mirror', 'mean_file') if p.HasField(f)]
        if unread:
            log.warning("layer '%s': window_data_param.%s not read: WindowData, as Caffe, "
                        'reads them from transform_param', self.name, '/'.join(unread))
        if t.HasField('scale') and t.scale != 1:
            log.warning("layer '%s': WindowData scales by window_data_param.scale (%g) and, "
                        'as Caffe, ignores transform_param.scale (%g)', self.name, p.scale,
                        t.scale)
        self.check(t.crop_size > 0, 'transform_param.crop_size must be positive: WindowData '
                   'warps every window to crop_size x crop_size')
        self.check(2 * p.context_pad < t.crop_size, 'context_pad %d leaves no room for the '
                   'window in a %d crop' % (p.context_pad, t.crop_size))
        self.check(0 <= p.fg_fraction <= 1, 'fg_fraction must be in [0, 1], got %g'
                   % p.fg_fraction)
        self.check(p.crop_mode in CROP_MODES, 'crop_mode must be one of %s, got %r'
                   % (', '.join(CROP_MODES), p.crop_mode))

    def _read_windows(self, p):
        """The WindowFile of ``p.source``, whose last image must have 3 channels."""
        if not os.path.isfile(p.source):
            self.fail('window file %s not found' % p.source)
        file = read_window_file(p.source, p.root_folder, p.fg_threshold, p.bg_threshold)
        channels, line = file.channels
        if channels != CHANNELS:
            self.fail("%s:%d: the last image has %d channels; WindowData reads images in color "
                      "(3 channels) and its data top has the last image's channel count"
                      % (p.source, line, channels))
        log.info("layer '%s': window file %s: %d images, %d foreground and %d background "
                 'windows', self.name, p.source, len(file.paths), len(file.fg.boxes),
                 len(file.bg.boxes))
        return file

    def _mean(self, crop):
        """The (3, crop, crop) float32 mean subtracted from a crop."""
        t = self.layer_param.transform_param
        try:
            mean, values = transform_mean(t)
        except CaffeError as e:
            self.fail(str(e))
        if mean is not None:
            c, h, w = mean.shape
            # Caffe centres the crop by the mean's width on both axes.
            off = (w - crop) // 2
            self.check(c == CHANNELS and w >= crop and h >= off + crop,
                       'mean_file %s is %d x %d x %d; WindowData needs 3 channels and room for '
                       'a centred %d x %d crop' % (t.mean_file, c, h, w, crop, crop))
            return np.ascontiguousarray(mean[:, off:off + crop, off:off + crop], np.float32)
        self.check(values.size in (0, 1, CHANNELS),
                   'mean_value must be given once or once per channel (3), got %d' % values.size)
        return np.broadcast_to(values.reshape(-1, 1, 1) if values.size else np.float32(0),
                               (CHANNELS, crop, crop))

    def _images(self, file, cache):
        """Check that every image file is there; with ``cache`` (cache_images)
        return their bytes, read once, else None."""
        contents = []
        for path, line in zip(file.paths, file.lines):
            try:
                if cache:
                    with open(path, 'rb') as f:
                        contents.append(f.read())
                elif not os.path.isfile(path):
                    raise FileNotFoundError(2, 'no such file')
            except OSError as e:
                raise MissingImageError('%s:%d: cannot read image %s: %s'
                                        % (self.layer_param.window_data_param.source, line,
                                           path, e.strerror), path) from None
        return contents if cache else None
