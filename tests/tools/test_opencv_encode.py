"""caffelite.tools.opencv_encode writes the bytes of OpenCV's cv::imencode,
so convert_imageset's re-encoded Datums are Caffe's byte for byte."""
import lmdb
import numpy as np
import pytest
from PIL import Image

from caffelite.cli import main
from caffelite.proto import caffe_pb2
from caffelite.tools import opencv_encode

cv2 = pytest.importorskip('cv2')


def opencv_bytes(image, fmt='png'):
    """cv::imencode of an RGB, RGBA or gray image (OpenCV takes BGR[A])."""
    if image.ndim == 3:
        image = image[:, :, [2, 1, 0, 3][:image.shape[2]]]
    ok, data = cv2.imencode('.' + fmt, image)
    assert ok
    return data.tobytes()


@pytest.mark.parametrize('shape', [(20, 30, 3), (256, 256, 3), (300, 200), (1, 1), (7, 1, 3),
                                   (2, 9, 4), (90, 91, 3)])
def test_png_bytes_are_opencvs(shape):
    rng = np.random.RandomState(sum(shape))
    noise = rng.randint(0, 256, shape).astype(np.uint8)
    ramp = (np.indices(shape).sum(axis=0) * 3 % 256).astype(np.uint8)
    for image in (noise, ramp, np.full(shape, 9, np.uint8)):
        assert opencv_encode.encode(image, 'png') == opencv_bytes(image)
        if image.ndim == 2 or image.shape[2] == 3:
            assert opencv_encode.encode(image, 'bmp') == opencv_bytes(image, 'bmp')
            assert opencv_encode.encode(image, 'jpg') == opencv_bytes(image, 'jpg')


def test_convert_imageset_reencodes_pngs_as_caffe(tmp_path):
    pixels = np.random.RandomState(0).randint(0, 256, (20, 24, 3)).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / 'a.jpg', quality=90)
    (tmp_path / 'list.txt').write_text('a.jpg 3\n')
    db = tmp_path / 'db'
    assert main(['convert_imageset', '-encode_type', 'png', '-resize_height', '10',
                 '-resize_width', '12', str(tmp_path) + '/', str(tmp_path / 'list.txt'),
                 str(db)]) == 0
    with lmdb.open(str(db), readonly=True, lock=False) as env, env.begin() as txn:
        datum = caffe_pb2.Datum.FromString(txn.get(b'00000000_a.jpg'))
    resized = cv2.resize(cv2.imread(str(tmp_path / 'a.jpg')), (12, 10))
    ok, expected = cv2.imencode('.png', resized)
    assert datum.encoded and datum.label == 3 and datum.data == expected.tobytes()
