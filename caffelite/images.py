"""Every image caffelite decodes is read here, in the way of the program
whose numbers it reproduces:

* like Caffe, which reads with OpenCV (``cv::imread`` with IMREAD_COLOR or
  IMREAD_GRAYSCALE) and resizes with ``cv::resize`` (INTER_LINEAR):
  :func:`read_image` (both steps, Caffe's ReadImageToCVMat, used by the
  ImageData layer and convert_imageset alike), :func:`read_like_opencv`,
  :func:`resize_like_opencv`, and :func:`decode_like_opencv` for encoded
  Datums (``cv::imdecode`` with IMREAD_UNCHANGED);
* like DIGITS, which reads with PIL and resizes with
  ``scipy.misc.imresize`` (PIL's bilinear filter) in one of four modes:
  :func:`read_like_digits`, :func:`resize_like_digits`;
* like pycaffe's ``caffe.io.load_image`` (scikit-image's reader):
  :func:`read_like_skimage`.

An image whose header announces more pixels than ``PIL.Image.MAX_IMAGE_PIXELS``
is refused before it is decoded (raise that limit to read larger ones).
Arrays here are H x W (gray) or H x W x 3 (RGB) uint8; Caffe's C x H x W BGR
layout is made by :func:`to_caffe_layout` when a Datum is written.
"""
import contextlib
import io
import math
import warnings

import numpy as np

from .errors import CaffeError, CaffeIOError, ImageReadError, MissingImageError

RESIZE_MODES = ('squash', 'crop', 'fill', 'half_crop')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.pgm', '.pbm', '.gif',
                    '.tif', '.tiff', '.webp')
# Formats images can be encoded to, by file extension: PIL's format names.
ENCODINGS = {'png': 'PNG', 'jpg': 'JPEG', 'jpeg': 'JPEG', 'bmp': 'BMP', 'tif': 'TIFF',
             'tiff': 'TIFF', 'webp': 'WEBP', 'ppm': 'PPM', 'pgm': 'PPM'}

# How OpenCV's decoders turn 8-bit RGB into gray, per image format, as
# (R, G, B) integer weights, rounding bias and shift: libpng's
# png_set_rgb_to_gray(0.299, 0.587) truncates; the WebP decoder calls
# cvtColor; the BMP, TIFF and PxM decoders use OpenCV's older 14-bit rule.
# (libjpeg itself decodes JPEG to gray: see _decoding.)
_GRAY_RULES = {'PNG': ((9797, 19234, 3737), 0, 15),
               'WEBP': ((9798, 19235, 3735), 1 << 14, 15)}
_LEGACY_GRAY = ((4899, 9617, 1868), 1 << 13, 14)
# cv::resize keeps its linear weights as 11-bit fixed point.
_COEF_SCALE = 2048


def check_pixel_count(img, name):
    """Refuse an opened (not yet decoded) PIL image with more pixels than
    PIL.Image.MAX_IMAGE_PIXELS: decoding it would take gigabytes."""
    from PIL import Image
    limit = Image.MAX_IMAGE_PIXELS
    width, height = img.size
    if limit and width * height > limit:
        raise ImageReadError('%s is %d x %d pixels (%.0f megapixels), more than the %.0f '
                             'megapixels caffelite decodes; raise PIL.Image.MAX_IMAGE_PIXELS '
                             'to read it' % (name, width, height, width * height / 1e6,
                                             limit / 1e6))


@contextlib.contextmanager
def _decoding(source, jpeg_as_luma=False, name=None):
    """Yield the loaded PIL image of ``source`` (a path, or the bytes of an
    encoded image called ``name``), closing it afterwards; any failure to
    decode or convert it in the block becomes an ImageReadError.
    ``jpeg_as_luma`` has libjpeg decode a color JPEG straight to its gray
    (Y) channel, as OpenCV asks it to for IMREAD_GRAYSCALE."""
    from PIL import Image
    name = name or source
    try:
        with warnings.catch_warnings():
            # Pillow's warning for an oversized image: refused below instead
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        with img:
            check_pixel_count(img, name)
            if jpeg_as_luma and img.format == 'JPEG' and img.mode == 'RGB':
                img.draft('L', None)
            img.load()
            yield img
    except CaffeError:
        raise
    except FileNotFoundError as e:
        raise MissingImageError('cannot read image %s: %s' % (name, e), name) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise ImageReadError('cannot read image %s: %s' % (name, e)) from None


def _to_8bit(img):
    """8-bit version of a 16/32-bit gray image: its high byte, as OpenCV
    keeps when reading without IMREAD_ANYDEPTH."""
    from PIL import Image
    if img.mode.startswith('I'):
        wide = np.clip(np.asarray(img, np.int64), 0, 65535)
        return Image.fromarray((wide >> 8).astype(np.uint8))
    return img


def _weighted_gray(rgb, rule):
    """H x W uint8 from H x W x 3 RGB by a rule of _GRAY_RULES."""
    weights, bias, shift = rule
    total = rgb.astype(np.int32) @ np.asarray(weights, np.int32)
    return ((total + bias) >> shift).astype(np.uint8)


def read_like_opencv(path, color, name=None):
    """H x W x 3 RGB (``color``) or H x W uint8 pixels of an image file as
    cv::imread gives them: EXIF orientation applied, alpha dropped (not
    blended), 16-bit samples cut to their high byte, and gray made the way
    each of OpenCV's decoders makes it (see _GRAY_RULES). ``path`` may also
    be the file's bytes (cv::imdecode), which errors call ``name``.
    """
    from PIL import ImageOps
    with _decoding(path, jpeg_as_luma=not color, name=name) as img:
        rule = _GRAY_RULES.get(img.format, _LEGACY_GRAY)
        img = _to_8bit(ImageOps.exif_transpose(img))
        if img.mode in ('L', 'LA', '1'):
            gray = np.asarray(img.convert('L'))
            return np.repeat(gray[:, :, np.newaxis], 3, axis=2) if color else gray
        rgb = np.asarray(img.convert('RGB'))
    return rgb if color else _weighted_gray(rgb, rule)


def read_image(path, color, height=0, width=0):
    """H x W x 3 RGB (``color``) or H x W uint8 pixels of an image file as
    Caffe's ReadImageToCVMat gives them to convert_imageset and the
    ImageData layer: cv::imread, then cv::resize to height x width when
    both are positive."""
    pixels = read_like_opencv(path, color)
    if height > 0 and width > 0:
        pixels = resize_like_opencv(pixels, height, width)
    return pixels


def decode_like_opencv(data):
    """C x H x W uint8 of encoded image bytes (an encoded Datum), like
    cv::imdecode(data, IMREAD_UNCHANGED) then Caffe's CVMatToDatum: gray
    images give 1 channel, color ones Caffe's BGR order (BGRA with alpha)."""
    with _decoding(data, name='an encoded Datum') as img:
        if img.mode.startswith('I') or img.mode == 'F':
            raise CaffeIOError('cannot decode a Datum of %s pixels: Caffe needs '
                               'unsigned bytes' % img.mode)
        # OpenCV adds alpha for a tRNS chunk on color, not on gray, PNGs.
        has_alpha = 'A' in img.mode or (img.mode in ('P', 'RGB') and 'transparency' in img.info)
        if img.mode in ('1', 'L'):
            pixels = np.asarray(img.convert('L'))
        else:
            pixels = np.asarray(img.convert('RGBA' if has_alpha else 'RGB'))
    if pixels.ndim == 2:
        return pixels[np.newaxis].copy()
    # RGB(A) -> BGR(A), the channel order OpenCV decodes to.
    order = [2, 1, 0, 3][:pixels.shape[2]]
    return np.ascontiguousarray(pixels[:, :, order].transpose(2, 0, 1))


def read_like_skimage(path):
    """The first frame of an image file as scikit-image's Pillow reader gave
    it to pycaffe's load_image: H x W (gray) or H x W x 3/4 (RGB/RGBA) of
    the file's integer type."""
    with _decoding(path) as img:
        if img.mode == 'I' and img.format == 'PNG':
            return np.asarray(img).astype(np.uint16)
        if img.mode.startswith('I;16') or img.mode in ('I', 'F', 'L', 'RGB', 'RGBA'):
            return np.asarray(img)
        return np.asarray(img.convert(_skimage_mode(img)))


def _skimage_mode(img):
    """The Pillow mode scikit-image converted ``img`` to before reading it."""
    if img.mode == 'P':
        if _palette_is_gray(img):
            return 'L'
        return 'RGBA' if img.format == 'PNG' and 'transparency' in img.info else 'RGB'
    if img.mode == '1':
        return 'L'
    return 'RGBA' if 'A' in img.mode else 'RGB'


def _palette_is_gray(img):
    """True when every palette entry the image uses has R == G == B."""
    palette = np.asarray(img.getpalette(), np.int64).reshape(-1, 3)
    first, last = img.getextrema()
    used = palette[first:last + 1]
    return bool(np.all(used == used[:, :1]))


def read_like_digits(path, color, name=None):
    """H x W x 3 RGB (``color``) or H x W uint8 pixels as DIGITS loads them:
    transparent images are laid on a white background, then converted to
    RGB or L by PIL (no EXIF rotation). ``path`` may also be the file's
    bytes, which errors call ``name``."""
    from PIL import Image
    with _decoding(path, name=name) as img:
        img = _to_8bit(img)
        if img.mode in ('LA', 'P', 'RGBA', 'PA'):
            base = Image.new('L' if img.mode == 'LA' else 'RGB', img.size, 'white')
            base.paste(img, mask=img.convert('RGBA'))
            img = base
        return np.asarray(img.convert('RGB' if color else 'L'))


def _linear_taps(src, dst, clamp_weight):
    """cv::resize's INTER_LINEAR sampling along one axis of ``src`` pixels
    resized to ``dst``: (first index, second index, their 11-bit weights),
    each of length ``dst``. Along x, OpenCV pins the weight to the edge pixel
    outside the image; along y it only clamps the row indices."""
    scale = 1.0 / (dst / src)
    pos = ((np.arange(dst) + 0.5) * scale - 0.5).astype(np.float32)
    first = np.floor(pos).astype(np.int32)
    frac = pos - first.astype(np.float32)
    if clamp_weight:
        frac[(first < 0) | (first >= src - 1)] = 0
    w0 = np.rint((np.float32(1) - frac) * np.float32(_COEF_SCALE)).astype(np.int32)
    w1 = np.rint(frac * np.float32(_COEF_SCALE)).astype(np.int32)
    return np.clip(first, 0, src - 1), np.clip(first + 1, 0, src - 1), w0, w1


def resize_like_opencv(image, height, width):
    """cv::resize(INTER_LINEAR) of an H x W [x C] uint8 image to
    height x width, in OpenCV's fixed-point arithmetic: each row is
    interpolated with 11-bit weights, then rows are blended with the
    rounding of OpenCV's vectorized vertical pass."""
    if image.shape[:2] == (height, width):
        return image
    x0, x1, a0, a1 = _linear_taps(image.shape[1], width, clamp_weight=True)
    y0, y1, b0, b1 = _linear_taps(image.shape[0], height, clamp_weight=False)
    extra = (1,) * (image.ndim - 2)  # broadcast the weights over channels
    a0, a1 = a0.reshape((1, -1) + extra), a1.reshape((1, -1) + extra)
    b0, b1 = b0.reshape((-1, 1) + extra), b1.reshape((-1, 1) + extra)
    # Only the source rows some output row reads are interpolated, and the
    # int32 arrays are updated in place: 1.3x faster than whole-array
    # temporaries for a 320 x 390 -> 227 x 227 color window.
    used = np.unique(np.concatenate([y0, y1]))
    src = image[used]
    rows = src[:, x0] * a0
    rows += src[:, x1] * a1
    rows >>= 4
    top, bottom = rows[np.searchsorted(used, y0)], rows[np.searchsorted(used, y1)]
    top *= b0
    top >>= 16
    bottom *= b1
    bottom >>= 16
    top += bottom + 2
    top >>= 2
    return np.clip(top, 0, 255).astype(np.uint8)


def round_half_up(x):
    """Python 2's round() of a non-negative number, halves up (DIGITS ran
    on Python 2, whose round differs from Python 3's at halves)."""
    return int(math.floor(x + 0.5))


def _pil_resize(image, height, width):
    """scipy.misc.imresize(interp='bilinear'), i.e. PIL's bilinear filter."""
    from PIL import Image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def _center_cut(image, size, axis):
    """The centered ``size`` long stretch of ``image`` along ``axis`` (0 or 1)."""
    start = round_half_up((image.shape[axis] - size) / 2.0)
    return image[start:start + size] if axis == 0 else image[:, start:start + size]


def _noise_pad(image, size, axis, rng):
    """Grow ``axis`` to ``size`` with one block of uniform noise in [0, 254]
    put on both ends (the same block twice, as DIGITS does)."""
    shape = list(image.shape)
    shape[axis] = (size - image.shape[axis]) // 2
    noise = rng.randint(0, 255, shape).astype(np.uint8)
    return np.concatenate((noise, image, noise), axis=axis)


def resize_like_digits(image, height, width, mode='squash', rng=None):
    """DIGITS' resize of an H x W [x 3] uint8 image to height x width:

    * squash: stretch to the size, ignoring the aspect ratio;
    * crop: scale to cover the size, then cut the long side's ends;
    * fill: scale to fit inside, then pad the short side with noise;
    * half_crop: scale by the mean of the two ratios, cut the long side,
      pad the short side with noise.

    Any mode squashes when the aspect ratio already matches. The pad size is
    kept even (by growing the scaled side one pixel) so both pads are equal.
    ``rng`` (a numpy RandomState) draws the noise.
    """
    if mode not in RESIZE_MODES:
        raise CaffeError('unknown resize mode %r (use one of %s)'
                         % (mode, ', '.join(RESIZE_MODES)))
    h, w = image.shape[:2]
    if (h, w) == (height, width):
        return image
    width_ratio, height_ratio = w / float(width), h / float(height)
    if mode == 'squash' or width_ratio == height_ratio:
        return _pil_resize(image, height, width)
    # long: the axis (0 rows, 1 columns) whose ratio is larger, which crop
    # and half_crop cut; short: the other one, which fill and half_crop pad.
    long = 1 if width_ratio > height_ratio else 0
    short = 1 - long
    target = (height, width)
    ratio = {'crop': min(width_ratio, height_ratio), 'fill': max(width_ratio, height_ratio),
             'half_crop': (width_ratio + height_ratio) / 2.0}[mode]
    scaled = [max(1, round_half_up(s / ratio)) for s in (h, w)]
    if mode == 'crop':
        scaled[short] = target[short]
    else:
        if mode == 'fill':
            scaled[long] = target[long]
        scaled[short] += (target[short] - scaled[short]) % 2
    image = _pil_resize(image, scaled[0], scaled[1])
    if mode != 'fill':
        image = _center_cut(image, target[long], long)
    if mode == 'crop':
        return image
    return _noise_pad(image, target[short], short,
                      rng if rng is not None else np.random.RandomState(0))


def to_caffe_layout(image):
    """H x W [x 3] RGB uint8 -> C x H x W with Caffe's BGR channel order."""
    if image.ndim == 2:
        return image[np.newaxis]
    return np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1))


def encode(image, fmt, **options):
    """Bytes of an H x W [x 3] RGB uint8 image in format ``fmt``, an
    extension of ENCODINGS; ``options`` go to PIL's save (quality...)."""
    from PIL import Image
    kind = ENCODINGS.get(fmt.lower())
    if kind is None:
        raise CaffeError('cannot encode images as %r (use one of %s)'
                         % (fmt, ', '.join(sorted(ENCODINGS))))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format=kind, **options)
    return buffer.getvalue()
