"""caffelite.images, the one image decoder: the ImageData layer and
convert_imageset (then the Data layer) give the same blobs from the same
files, both as OpenCV reads and resizes them; oversized images are refused
from their header, before decoding."""
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite import images
from caffelite.errors import ImageReadError
from caffelite.tools.imageset import convert_imageset


def write_images(folder):
    """A few files of every kind the two paths must agree on; returns the
    list file's lines."""
    rng = np.random.RandomState(3)
    folder.mkdir()
    pictures = {'rgb.png': rng.randint(0, 256, (13, 17, 3)),
                'gray.png': rng.randint(0, 256, (11, 9)),
                'rgba.png': rng.randint(0, 256, (10, 12, 4)),
                'photo.jpg': rng.randint(0, 256, (15, 14, 3)),
                'bitmap.bmp': rng.randint(0, 256, (8, 10, 3))}
    for name, pixels in pictures.items():
        Image.fromarray(pixels.astype(np.uint8)).save(folder / name)
    return ['%s %d' % (name, k) for k, name in enumerate(sorted(pictures))]


def image_data_net(listfile, root, color, height, width, batch):
    return ('layer { name: "d" type: "ImageData" top: "data" top: "label" '
            'image_data_param { source: "%s" root_folder: "%s/" batch_size: %d '
            'new_height: %d new_width: %d is_color: %s } }'
            % (listfile, root, batch, height, width, 'true' if color else 'false'))


def lmdb_net(db, batch):
    return ('layer { name: "d" type: "Data" top: "data" top: "label" '
            'data_param { source: "%s" batch_size: %d backend: LMDB } }' % (db, batch))


@pytest.mark.parametrize('color', [True, False])
def test_image_data_and_convert_imageset_give_identical_blobs(tmp_path, color):
    lines = write_images(tmp_path / 'img')
    listfile = tmp_path / 'list.txt'
    listfile.write_text('\n'.join(lines) + '\n')
    db = tmp_path / 'db'
    convert_imageset(str(tmp_path / 'img') + '/', str(listfile), str(db), gray=not color,
                     resize_height=7, resize_width=9)
    batch = len(lines)
    direct = caffe.Net(image_data_net(listfile, tmp_path / 'img', color, 7, 9, batch), caffe.TEST)
    stored = caffe.Net(lmdb_net(db, batch), caffe.TEST)
    direct.forward()
    stored.forward()
    assert direct.blobs['data'].shape == (batch, 3 if color else 1, 7, 9)
    np.testing.assert_array_equal(direct.blobs['data'].data, stored.blobs['data'].data)
    np.testing.assert_array_equal(direct.blobs['label'].data, stored.blobs['label'].data)


def test_image_data_pixels_are_opencvs(tmp_path):
    cv2 = pytest.importorskip('cv2')
    lines = write_images(tmp_path / 'img')
    listfile = tmp_path / 'list.txt'
    listfile.write_text('\n'.join(lines) + '\n')
    for color in (True, False):
        net = caffe.Net(image_data_net(listfile, tmp_path / 'img', color, 7, 9, len(lines)),
                        caffe.TEST)
        net.forward()
        for k, line in enumerate(lines):
            path = str(tmp_path / 'img' / line.split()[0])
            expected = cv2.resize(cv2.imread(path, cv2.IMREAD_COLOR if color
                                             else cv2.IMREAD_GRAYSCALE), (9, 7),
                                  interpolation=cv2.INTER_LINEAR)
            expected = expected.transpose(2, 0, 1) if color else expected[None]
            np.testing.assert_array_equal(net.blobs['data'].data[k], expected, err_msg=line)


def test_oversized_image_refused_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / 'big.png'
    Image.new('L', (300, 200)).save(path)
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 50000)
    decoded, load = [], Image.Image.load
    monkeypatch.setattr(Image.Image, 'load',
                        lambda self: decoded.append(self) if self.size == (300, 200) else load(self))
    for read in (lambda: images.read_image(str(path), True),
                 lambda: images.read_like_digits(str(path), True),
                 lambda: caffe.io.load_image(str(path)),
                 lambda: images.decode_like_opencv(path.read_bytes())):
        with pytest.raises(ImageReadError, match=r'300 x 200 pixels.*MAX_IMAGE_PIXELS'):
            read()
    assert decoded == []
