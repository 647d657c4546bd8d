"""Reading images for datasets, and DIGITS' four resize modes.

Arrays are H x W (gray) or H x W x 3 (RGB) uint8 here; conversion to
Caffe's C x H x W BGR layout happens when a Datum is written.
"""
import numpy as np

from ..errors import CaffeError

RESIZE_MODES = ('squash', 'crop', 'fill', 'half_crop')
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.ppm', '.pgm', '.gif', '.tif', '.tiff')


def read_image(path, color):
    """H x W x 3 RGB (``color``) or H x W gray uint8 array of an image file."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            img.load()
            return np.asarray(img.convert('RGB' if color else 'L'))
    except (OSError, ValueError, SyntaxError) as e:
        raise CaffeError('cannot read image %s: %s' % (path, e)) from None


def resample(image, height, width):
    """Bilinear resize of an H x W [x 3] uint8 array to height x width."""
    from PIL import Image
    if image.shape[:2] == (height, width):
        return image
    return np.asarray(Image.fromarray(image).resize((width, height), Image.BILINEAR))


def _noise(shape, rng):
    return rng.randint(0, 255, shape).astype(np.uint8)


def _center(image, size, axis):
    start = int(round((image.shape[axis] - size) / 2.0))
    return image[start:start + size] if axis == 0 else image[:, start:start + size]


def _pad_with_noise(image, height, width, rng):
    """Fill the short dimension's two ends with random noise, as DIGITS does."""
    extra = image.shape[2:]
    if image.shape[0] < height:
        pad = (height - image.shape[0]) // 2
        noise = _noise((pad, width) + extra, rng)
        image = np.concatenate([noise, image, _noise((height - image.shape[0] - pad, width)
                                                     + extra, rng)], axis=0)
    if image.shape[1] < width:
        pad = (width - image.shape[1]) // 2
        noise = _noise((height, pad) + extra, rng)
        image = np.concatenate([noise, image, _noise((height, width - image.shape[1] - pad)
                                                     + extra, rng)], axis=1)
    return image


def resize(image, height, width, mode='squash', rng=None):
    """Resize to height x width the way DIGITS' dataset form does:

    * squash: stretch to the size, ignoring the aspect ratio;
    * crop: scale to cover the size, then cut the long side's ends;
    * fill: scale to fit inside, then fill the short side's ends with noise;
    * half_crop: scale by the mean of the two ratios, cut the long side,
      fill the short side with noise.
    """
    if mode not in RESIZE_MODES:
        raise CaffeError('unknown resize mode %r (use one of %s)' % (mode, ', '.join(RESIZE_MODES)))
    rng = rng or np.random.RandomState(0)
    if mode == 'squash':
        return resample(image, height, width)
    h, w = image.shape[:2]
    width_ratio, height_ratio = w / float(width), h / float(height)
    wide = width_ratio > height_ratio
    if mode == 'crop':
        if wide:
            image = resample(image, height, int(round(w / height_ratio)))
            return _center(image, width, 1)
        image = resample(image, int(round(h / width_ratio)), width)
        return _center(image, height, 0)
    if mode == 'fill':
        if wide:
            new_h = int(round(h / width_ratio))
            new_h += (height - new_h) % 2
            image = resample(image, min(new_h, height), width)
        else:
            new_w = int(round(w / height_ratio))
            new_w += (width - new_w) % 2
            image = resample(image, height, min(new_w, width))
        return _pad_with_noise(image, height, width, rng)
    ratio = (width_ratio + height_ratio) / 2.0
    new_h, new_w = int(round(h / ratio)), int(round(w / ratio))
    if wide and (height - new_h) % 2:
        new_h += 1
    elif not wide and (width - new_w) % 2:
        new_w += 1
    image = resample(image, new_h, new_w)
    image = _center(image, width, 1) if image.shape[1] > width else image
    image = _center(image, height, 0) if image.shape[0] > height else image
    return _pad_with_noise(image, height, width, rng)


def to_caffe_layout(image):
    """H x W [x 3] RGB uint8 -> C x H x W with Caffe's BGR channel order."""
    if image.ndim == 2:
        return image[np.newaxis]
    return np.ascontiguousarray(image[:, :, ::-1].transpose(2, 0, 1))


def encode(image, fmt):
    """PNG or JPEG bytes of an H x W [x 3] RGB uint8 image."""
    import io
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format={'png': 'PNG', 'jpg': 'JPEG',
                                                'jpeg': 'JPEG'}[fmt.lower()])
    return buffer.getvalue()
