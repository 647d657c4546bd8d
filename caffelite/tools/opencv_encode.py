"""Image bytes as OpenCV's ``cv::imencode`` writes them with its default
parameters, so that convert_imageset's re-encoded Datums equal Caffe's byte
for byte: JPEG (quality 95) and BMP come from PIL (its JPEG bytes are
OpenCV's; its BMP header differs in fields OpenCV leaves 0), PNG from the
encoder below (PIL's PNG has the same pixels in other bytes).

For PNG OpenCV hands libpng every row with the Sub filter and zlib level 1
with the run-length strategy; libpng shrinks the deflate window of a small
image (at most 16 KiB of filtered rows) twice: to compress (the smallest
power of two of at least the data + 262 bytes) and again in the stream
header it writes (the smallest window holding the data), and cuts the
stream into IDAT chunks of 8192 bytes. Only IHDR, IDAT and IEND chunks are
written. Other formats (TIFF, WebP) are PIL's bytes.
"""
import struct
import zlib

import numpy as np

from .. import images

SIGNATURE = b'\x89PNG\r\n\x1a\n'
IDAT_SIZE = 8192
SMALL = 16384     # libpng shrinks the window of data up to this size
COLOR_TYPES = {1: 0, 3: 2, 4: 6}   # gray, RGB, RGBA


def _chunk(kind, data):
    return (struct.pack('>I', len(data)) + kind + data
            + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def _sub_filtered(image):
    """The rows of an H x W x C uint8 image, each behind filter byte 1 (Sub);
    an image one pixel wide gets filter 0 (None), as libpng drops Sub there."""
    h, w, c = image.shape
    rows = image.reshape(h, w * c)
    filtered = rows.copy()
    filtered[:, c:] -= rows[:, :-c]   # uint8 arithmetic wraps, as the filter's mod 256
    kind = np.full((h, 1), 0 if w == 1 else 1, np.uint8)
    return np.concatenate([kind, filtered], axis=1).tobytes()


def _compress_window(size):
    """libpng's deflate window bits for ``size`` bytes of filtered rows."""
    bits = 15
    if size <= SMALL:
        half = 1 << (bits - 1)
        while size + 262 <= half:
            half >>= 1
            bits -= 1
    return max(bits, 9)


def _optimize_header(stream, size):
    """libpng's optimize_cmf: the stream header's window made the smallest
    that holds ``size`` bytes, its check bits recomputed."""
    if size > SMALL:
        return stream
    cinfo = stream[0] >> 4
    half = 1 << (cinfo + 7)
    if size > half:
        return stream
    while True:
        half >>= 1
        cinfo -= 1
        if not (cinfo > 0 and size <= half):
            break
    cmf = (stream[0] & 0x0f) | (cinfo << 4)
    flg = stream[1] & 0xe0
    flg += 0x1f - ((cmf << 8) + flg) % 0x1f
    return bytes([cmf, flg]) + stream[2:]


def png(image):
    """PNG bytes of an H x W [x C] uint8 image whose channels are in the
    file's order (gray, RGB or RGBA)."""
    image = np.ascontiguousarray(image, np.uint8)
    if image.ndim == 2:
        image = image[:, :, None]
    h, w, c = image.shape
    data = _sub_filtered(image)
    deflate = zlib.compressobj(1, zlib.DEFLATED, _compress_window(len(data)), 8, zlib.Z_RLE)
    stream = _optimize_header(deflate.compress(data) + deflate.flush(), len(data))
    header = struct.pack('>IIBBBBB', w, h, 8, COLOR_TYPES[c], 0, 0, 0)
    return b''.join([SIGNATURE, _chunk(b'IHDR', header)]
                    + [_chunk(b'IDAT', stream[i:i + IDAT_SIZE])
                       for i in range(0, len(stream), IDAT_SIZE)]
                    + [_chunk(b'IEND', b'')])


# BITMAPINFOHEADER fields OpenCV writes as 0 (PIL fills them): the image
# size and the resolution, and for a gray (palette) image the colour counts.
BMP_ZEROED = slice(34, 46)
BMP_PALETTE_COUNTS = slice(46, 54)


def bmp(image):
    """BMP bytes of an H x W [x 3] uint8 RGB or gray image."""
    data = bytearray(images.encode(image, 'bmp'))
    data[BMP_ZEROED] = bytes(12)
    if image.ndim == 2:
        data[BMP_PALETTE_COUNTS] = bytes(8)
    return bytes(data)


# cv::imencode's default JPEG quality
JPEG_OPTIONS = {'quality': 95}


def encode(image, fmt):
    """``image`` (H x W [x 3] uint8, RGB or gray) encoded as ``fmt`` (a
    file extension: png, jpg, bmp...) as cv::imencode would."""
    fmt = fmt.lower()
    if fmt == 'png':
        return png(image)
    if fmt == 'bmp':
        return bmp(image)
    return images.encode(image, fmt, **(JPEG_OPTIONS if fmt in ('jpg', 'jpeg') else {}))
