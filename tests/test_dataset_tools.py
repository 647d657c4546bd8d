"""Dataset tools against Caffe: convert_imageset writes byte-identical LMDBs,
compute_image_mean matches Caffe's mean; DIGITS-style dataset creation."""
import lmdb
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite.cli import main
from caffelite.tools import images
from conftest import REFERENCE
from refcases import reference_path


def records(path):
    env = lmdb.open(str(path), readonly=True, lock=False)
    with env.begin() as txn:
        items = list(txn.cursor())
    env.close()
    return items


@pytest.mark.parametrize('reference, flags', [('lmdb_raw', []),
                                              ('lmdb_png', ['--encoded', '--encode_type', 'png'])])
def test_convert_imageset_is_byte_identical_to_caffe(reference, flags, tmp_path):
    data = reference_path('data')
    out = tmp_path / 'db'
    assert main(['convert_imageset', '--gray'] + flags +
                [str(data / 'images') + '/', str(data / 'train.txt'), str(out)]) == 0
    assert records(out) == records(data / reference)


def test_encoded_datums_decode_to_the_png_pixels():
    data = reference_path('data')
    for key, value in records(data / 'lmdb_png')[:20]:
        datum = caffe.caffe_pb2.Datum.FromString(value)
        path = data / 'images' / key.decode().split('_', 1)[1]
        np.testing.assert_array_equal(caffe.io.datum_to_array(datum)[0],
                                      np.asarray(Image.open(path)))


def test_compute_image_mean_matches_caffe(tmp_path):
    data = reference_path('data')
    out = tmp_path / 'mean.binaryproto'
    assert main(['compute_image_mean', str(data / 'lmdb_png'), str(out)]) == 0
    np.testing.assert_allclose(caffe.io.load_mean(str(out)),
                               caffe.io.load_mean(str(REFERENCE / 'data' / 'mean.binaryproto')),
                               atol=1e-4)


def make_folder(root, classes=3, per_class=10, size=(12, 20)):
    for c in range(classes):
        (root / ('class%d' % c)).mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full(size + (3,), 40 * c + i, np.uint8)
            Image.fromarray(pixels).save(root / ('class%d' % c) / ('%02d.png' % i))
    (root / 'class0' / 'broken.jpg').write_bytes(b'not an image')


def test_dataset_create_from_folder(tmp_path, capsys):
    make_folder(tmp_path / 'images')
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', str(tmp_path / 'images'), str(out), '--width', '8',
                 '--height', '6', '--val-percent', '20', '--test-percent', '10',
                 '--encoding', 'none', '--seed', '3']) == 0
    printed = capsys.readouterr().out
    assert 'broken.jpg' in printed and 'total' in printed
    assert (out / 'labels.txt').read_text().split() == ['class0', 'class1', 'class2']
    sizes = {split: len(records(out / (split + '_db'))) for split in ('train', 'val', 'test')}
    assert sizes == {'train': 21, 'val': 6, 'test': 3}
    datum = caffe.caffe_pb2.Datum.FromString(records(out / 'train_db')[0][1])
    assert (datum.channels, datum.height, datum.width) == (3, 6, 8)
    listed = (out / 'train.txt').read_text().split('\n')[0].split()
    assert int(listed[1]) in (0, 1, 2)
    mean = caffe.io.load_mean(str(out / 'mean.binaryproto'))
    assert mean.shape == (3, 6, 8) and (out / 'mean.jpg').exists()
    with pytest.raises(caffe.CaffeError, match='already exists'):
        from caffelite.tools.dataset import create_dataset, scan_folder
        classes, items = scan_folder(str(tmp_path / 'images'))
        create_dataset(str(out), items, classes, 8, 6)


@pytest.mark.parametrize('mode', images.RESIZE_MODES)
def test_resize_modes_reach_the_size(mode):
    wide = np.arange(10 * 30 * 3, dtype=np.uint8).reshape(10, 30, 3)
    tall = wide.transpose(1, 0, 2).copy()
    for image in (wide, tall):
        assert images.resize(image, 16, 16, mode).shape == (16, 16, 3)


def test_crop_mode_keeps_the_center():
    image = np.zeros((10, 30), np.uint8)
    image[:, 10:20] = 255
    out = images.resize(image, 10, 10, 'crop')
    assert out.shape == (10, 10) and out.min() == 255
