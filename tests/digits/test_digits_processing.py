"""DIGITS' image-processing data extension: feature and label image
folders paired by name, split, and written as features/labels LMDBs."""
import numpy as np
import pytest
from PIL import Image

from caffelite.codec import datum_to_array, load_mean
from caffelite.digits import processing
from caffelite.errors import CaffeError
from caffelite.lmdbs import open_readonly
from caffelite.proto import caffe_pb2


def write_pairs(root, count, label_suffix='.png'):
    """``root/features/NN.png`` (gray, value 10 * NN) and ``root/labels/NN``
    (its label: the feature inverted)."""
    for sub in ('features', 'labels'):
        (root / sub).mkdir(parents=True)
    for i in range(count):
        pixels = np.full((4, 6), 10 * i, np.uint8)
        Image.fromarray(pixels).save(root / 'features' / ('%02d.png' % i))
        Image.fromarray(255 - pixels).save(root / 'labels' / ('%02d%s' % (i, label_suffix)))
    return root


def entries(path):
    with open_readonly(str(path)).begin() as txn:
        out = []
        for key, value in txn.cursor():
            datum = caffe_pb2.Datum()
            datum.ParseFromString(value)
            out.append((key, datum_to_array(datum)))
        return out


def test_pairs_by_name_whatever_the_extension(tmp_path):
    root = write_pairs(tmp_path, 3, label_suffix='.bmp')
    pairs = processing.pair_folders(str(root / 'features'), str(root / 'labels'))
    assert [(p.rsplit('/', 1)[1], q.rsplit('/', 1)[1]) for p, q in pairs] == [
        ('00.png', '00.bmp'), ('01.png', '01.bmp'), ('02.png', '02.bmp')]
    (root / 'labels' / '01.bmp').unlink()
    with pytest.raises(CaffeError, match="has no image named '01'"):
        processing.pair_folders(str(root / 'features'), str(root / 'labels'))


def test_split_as_digits_rounds_down():
    split = processing.split_pairs(list(range(10)), 25, seed=3)
    assert len(split['val']) == 2 and sorted(split['train'] + split['val']) == list(range(10))


def test_split_follows_its_seed():
    """A seed gives one split, every time; another seed another."""
    pairs = list(range(20))
    first = processing.split_pairs(pairs, 50, seed=1)
    assert processing.split_pairs(pairs, 50, seed=1) == first
    assert processing.split_pairs(pairs, 50, seed=2)['val'] != first['val']


def test_dataset_keeps_pairs_together(tmp_path):
    """The same key holds an image and its label in the two LMDBs (C x H x
    W, gray kept gray with conversion 'none', made RGB with 'RGB'); the
    mean is the training features'."""
    root = write_pairs(tmp_path / 'in', 5)
    pairs = processing.pair_folders(str(root / 'features'), str(root / 'labels'))
    counts = processing.write_processing_dataset(
        str(tmp_path / 'out'), {'train': pairs[:4], 'val': pairs[4:]})
    assert counts == {'train': 4, 'val': 1}
    features = entries(tmp_path / 'out' / 'train_db' / 'features')
    labels = entries(tmp_path / 'out' / 'train_db' / 'labels')
    assert [k for k, _ in features] == [k for k, _ in labels]
    for (_, image), (_, label) in zip(features, labels):
        assert image.shape == (1, 4, 6)
        np.testing.assert_array_equal(label, 255 - image)
    mean = load_mean(str(tmp_path / 'out' / 'train_db' / 'mean.binaryproto'))
    assert mean.shape == (1, 4, 6) and mean[0, 0, 0] == 15.0
    processing.write_processing_dataset(str(tmp_path / 'rgb'), {'train': pairs}, 'RGB')
    assert entries(tmp_path / 'rgb' / 'train_db' / 'features')[0][1].shape == (3, 4, 6)
    with pytest.raises(CaffeError, match='no training images'):
        processing.write_processing_dataset(str(tmp_path / 'none'), {'train': [], 'val': pairs})


def datums(path):
    with open_readonly(str(path)).begin() as txn:
        return [caffe_pb2.Datum.FromString(value) for _, value in txn.cursor()]


def test_feature_and_label_encodings_as_digits_options(tmp_path):
    """DIGITS' defaults: features PNG, labels raw (encoding 'none'); each
    may be png, jpg or none, and the pixels read back the same (JPEG
    within its loss)."""
    root = write_pairs(tmp_path / 'in', 3)
    pairs = processing.pair_folders(str(root / 'features'), str(root / 'labels'))
    processing.write_processing_dataset(str(tmp_path / 'default'), {'train': pairs})
    db = tmp_path / 'default' / 'train_db'
    assert [d.encoded for d in datums(db / 'features')] == [True] * 3
    assert datums(db / 'features')[0].data[:4] == b'\x89PNG'
    assert [d.encoded for d in datums(db / 'labels')] == [False] * 3
    np.testing.assert_array_equal(entries(db / 'labels')[1][1], np.full((1, 4, 6), 245))
    processing.write_processing_dataset(str(tmp_path / 'swapped'), {'train': pairs},
                                        feature_encoding='none', label_encoding='jpg')
    db = tmp_path / 'swapped' / 'train_db'
    assert [d.encoded for d in datums(db / 'features')] == [False] * 3
    assert datums(db / 'labels')[0].data[:2] == b'\xff\xd8'
    np.testing.assert_allclose(entries(db / 'labels')[2][1], np.full((1, 4, 6), 235), atol=2)
    with pytest.raises(CaffeError, match="label_encoding must be 'none', 'png' or 'jpg', got 'gif'"):
        processing.write_processing_dataset(str(tmp_path / 'gif'), {'train': pairs},
                                            label_encoding='gif')


def digits_raw_datum(rgb_chw):
    """The Datum DIGITS' create_generic_db writes for a 3 x H x W RGB uint8
    feature in encoding 'none': planes swapped to BGR, bytes, label 0."""
    c, h, w = rgb_chw.shape
    return caffe_pb2.Datum(channels=c, height=h, width=w, label=0,
                           data=rgb_chw[::-1].tobytes())


def test_color_features_hold_digits_bytes(tmp_path):
    """Colour features in each encoding hold what DIGITS' writer stores:
    raw BGR planes (its RGB -> BGR swap), or PNG of the RGB picture, which
    Caffe's Data layer decodes to BGR; the mean is BGR too."""
    rgb = np.zeros((4, 6, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 7
    for sub in ('features', 'labels'):
        (tmp_path / 'in' / sub).mkdir(parents=True)
    Image.fromarray(rgb).save(tmp_path / 'in' / 'features' / 'a.png')
    Image.fromarray(rgb[..., 0]).save(tmp_path / 'in' / 'labels' / 'a.png')
    pairs = processing.pair_folders(str(tmp_path / 'in' / 'features'),
                                    str(tmp_path / 'in' / 'labels'))
    processing.write_processing_dataset(str(tmp_path / 'raw'), {'train': pairs}, 'RGB',
                                        feature_encoding='none')
    stored = datums(tmp_path / 'raw' / 'train_db' / 'features')[0]
    assert stored.SerializeToString() == digits_raw_datum(
        rgb.transpose(2, 0, 1)).SerializeToString()
    np.testing.assert_array_equal(load_mean(str(tmp_path / 'raw' / 'train_db' /
                                                'mean.binaryproto'))[:, 0, 0], [7, 100, 200])
    processing.write_processing_dataset(str(tmp_path / 'png'), {'train': pairs}, 'RGB')
    stored = datums(tmp_path / 'png' / 'train_db' / 'features')[0]
    import io
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(stored.data))), rgb)
    assert entries(tmp_path / 'png' / 'train_db' / 'features')[0][1][:, 0, 0].tolist() == \
        [7, 100, 200]
