"""``caffelite dataset create-detection``: DIGITS' LMDB layout and label
rows, the bad inputs, and the dataset feeding a DetectNet-style train_val."""
import os

import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite import codec
from caffelite.cli import main
from caffelite.detection import kitti, networks
from caffelite.tools.imageset import iterate_datums

ROW = 'Car 0.00 0 0.00 %s 1.5 1.6 3.9 0.0 1.0 %s 0.0\n'


def folder(tmp_path, name, images):
    """images: {stem: (w, h, [label lines])} -> (image dir, label dir)."""
    image_dir, label_dir = tmp_path / name / 'images', tmp_path / name / 'labels'
    image_dir.mkdir(parents=True)
    label_dir.mkdir(parents=True)
    for stem, (w, h, lines) in images.items():
        Image.fromarray(np.full((h, w, 3), 100, np.uint8)).save(image_dir / (stem + '.png'))
        (label_dir / (stem + '.txt')).write_text(''.join(lines))
    return str(image_dir), str(label_dir)


def records(path):
    return [(key, caffe.io.datum_to_array(datum)) for key, datum in iterate_datums(path)]


def test_lmdb_layout_and_label_rows(tmp_path):
    train = folder(tmp_path, 'train', {
        'a': (60, 40, [ROW % ('10 5 30 25', 20.0), ROW % ('0 0 8 8', 40.0),
                       'Van 0.5 1 0.2 30 10 50 30 1 1 1 0 1 30.0 0\n']),
        'b': (50, 30, [])})
    val = folder(tmp_path, 'val', {'c': (64, 32, [ROW % ('1 1 11 31', 5.0)])})
    out = str(tmp_path / 'ds')
    assert main(['dataset', 'create-detection', *train, out, '--val-images', val[0],
                 '--val-labels', val[1], '--padding', '64x48', '--resize', '32x24',
                 '--val-min-box-size', '20']) == 0
    assert sorted(os.listdir(out)) == ['classes.txt', 'train_db', 'val_db']
    assert sorted(os.listdir(os.path.join(out, 'train_db'))) == ['features', 'labels',
                                                                   'mean.binaryproto']
    features = records(os.path.join(out, 'train_db', 'features'))
    labels = records(os.path.join(out, 'train_db', 'labels'))
    assert [k for k, _ in features] == ['000000000', '000000001']
    assert all(f.shape == (3, 24, 32) for _, f in features)
    by_count = {int(l[0, 0, 0]): l for _, l in labels}
    # (1, 1 + most boxes of the split, 16), header [n, 16]; far to near
    a = by_count[3]
    assert a.shape == (1, 4, 16) and a[0, 0, 1] == 16 and not by_count[0][0, 1:].any()
    np.testing.assert_allclose(a[0, 1:, 15], [40, 30, 20])
    # boxes halved with the image (64x48 padding -> 32x24); x, y, w, h
    np.testing.assert_allclose(a[0, 3, :4], [5, 2.5, 10, 10])
    assert a[0, 2, 5] == 2 and a[0, 3, 5] == 1          # DIGITS' van = 2, car = 1
    np.testing.assert_allclose(a[0, 2, [4, 8, 9]], [0.2, 0.5, 1])   # alpha, truncated, occluded
    # validation: a 10-pixel-wide car is under 20 pixels: dontcare
    (_, v), = records(os.path.join(out, 'val_db', 'labels'))
    assert v[0, 1, 5] == 0
    mean = codec.load_mean(os.path.join(out, 'train_db', 'mean.binaryproto'))
    assert mean.shape == (3, 24, 32) and float(mean.max()) == 100.0


def test_custom_classes(tmp_path):
    train = folder(tmp_path, 'train', {'a': (20, 20, [ROW.replace('Car', 'dog') % ('1 1 9 9', 1),
                                                      ROW % ('2 2 8 8', 2)])})
    out = str(tmp_path / 'ds')
    assert main(['dataset', 'create-detection', *train, out, '--padding', 'none',
                 '--custom-classes', 'dontcare, cat, dog']) == 0
    (_, rows), = records(os.path.join(out, 'train_db', 'labels'))
    assert sorted(rows[0, 1:, 5].tolist()) == [0, 2]
    assert open(os.path.join(out, 'classes.txt')).read() == '0 dontcare\n1 cat\n2 dog\n'


@pytest.mark.parametrize('images, padding, message', [
    ({'a': (20, 20, ['Car 0 0\n'])}, '32x32', 'a.txt:1: a KITTI label row has 15 fields'),
    ({'a': (20, 20, [ROW % ('1 1 9 9', 1), ROW % ('1 x 9 9', 1)])}, '32x32',
     "a.txt:2: field top is not a number: 'x'"),
    ({'a': (40, 20, [])}, '32x32', 'a.png: image 40x20 is larger than the padding 32x32'),
])
def test_bad_inputs_name_the_file(tmp_path, capsys, images, padding, message):
    train = folder(tmp_path, 'train', images)
    assert main(['dataset', 'create-detection', *train, str(tmp_path / 'ds'),
                 '--padding', padding]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / 'ds').exists()


def test_label_without_image_and_image_without_label(tmp_path, capsys):
    images, labels = folder(tmp_path, 'train', {'a': (8, 8, [])})
    open(os.path.join(labels, 'b.txt'), 'w').close()
    assert main(['dataset', 'create-detection', images, labels, str(tmp_path / 'ds')]) == 1
    assert 'label b.txt has no image b.*' in capsys.readouterr().err
    os.remove(os.path.join(labels, 'b.txt'))
    os.remove(os.path.join(labels, 'a.txt'))
    open(os.path.join(labels, 'c.txt'), 'w').close()
    assert main(['dataset', 'create-detection', images, labels, str(tmp_path / 'ds')]) == 1
    assert 'has no image' in capsys.readouterr().err


def test_dataset_feeds_a_detectnet_train_val(tmp_path):
    rows = [ROW % ('%d 8 %d 40' % (x, x + 32), 10.0) for x in (4, 70)]
    train = folder(tmp_path, 'train', {'a': (128, 64, rows), 'b': (100, 50, rows[:1])})
    out = str(tmp_path / 'ds')
    assert main(['dataset', 'create-detection', *train, out, '--val-images', train[0],
                 '--val-labels', train[1], '--padding', '128x64']) == 0
    param = networks.train_val(lambda n, b, t: networks.small_trunk(n, b, t, (4, 4, 4)), out,
                               (128, 64), 4, batch=(2, 2), mean=100,
                               augmentation=dict(flip_prob=0.5, crop_prob=0),
                               clustering=dict(group=1, min_height=4))
    caffe.set_random_seed(3)
    net = caffe.Net(param, caffe.TRAIN)
    loss = net.forward_backward()
    assert np.isfinite(loss) and net.blobs['transformed_label'].shape == (2, 9, 16, 32)
    assert net.blobs['coverage-label'].data.sum() > 0
    assert np.abs(net.params['conv1'][0].diff).sum() > 0
    val = caffe.Net(param, caffe.TEST, stages=['val'])
    out = val.forward()
    assert set(out) >= {'mAP', 'precision', 'recall', 'loss_bbox', 'loss_coverage'}
    # the ground truth the scoring layers see is the labelled boxes
    listed = val.blobs['bbox-list-label'].data
    boxes = {tuple(r[:4]) for image in listed for r in image if r[:4].any()}
    assert boxes == {(4, 8, 36, 40), (70, 8, 102, 40)}


def test_channel_conversion_none_keeps_each_image_as_stored(tmp_path):
    """DIGITS' channel_conversion 'none': a gray image stays one channel, a
    colour one three (L and RGB convert every image)."""
    train = folder(tmp_path, 'train', {'a': (16, 8, [ROW % ('1 1 5 5', 1.0)])})
    path = os.path.join(train[0], 'a.png')
    Image.open(path).convert('L').save(path)
    shapes = {}
    for channels in ('none', 'RGB'):
        out = str(tmp_path / channels)
        assert main(['dataset', 'create-detection', *train, out, '--padding', 'none',
                     '--channels', channels]) == 0
        (_, feature), = records(os.path.join(out, 'train_db', 'features'))
        shapes[channels] = feature.shape
    assert shapes == {'none': (1, 8, 16), 'RGB': (3, 8, 16)}


def test_feature_encoding_as_digits_form(tmp_path):
    """DIGITS' feature encoding of the object-detection form: 'none'
    stores raw BGR planes (its writer's swap), 'png' the RGB picture that
    Caffe decodes to the same BGR; an unknown one is refused."""
    from caffelite.detection.dataset import read_splits, write_detection_dataset
    from caffelite.errors import CaffeError
    train = folder(tmp_path, 'train', {'a': (16, 8, [ROW % ('1 1 5 5', 1.0)])})
    path = os.path.join(train[0], 'a.png')
    Image.fromarray(np.dstack([np.full((8, 16), v, np.uint8) for v in (200, 100, 7)])).save(path)
    stored = {}
    for encoding in ('none', 'png'):
        out = str(tmp_path / encoding)
        write_detection_dataset(out, read_splits(*train), padding=None,
                                feature_encoding=encoding)
        (_, datum), = iterate_datums(os.path.join(out, 'train_db', 'features'))
        stored[encoding] = (datum.encoded, caffe.io.datum_to_array(datum)[:, 0, 0].tolist())
    assert stored == {'none': (False, [7, 100, 200]), 'png': (True, [7, 100, 200])}
    with pytest.raises(CaffeError, match="feature_encoding must be 'none', 'png' or 'jpg'"):
        write_detection_dataset(str(tmp_path / 'gif'), read_splits(*train),
                                feature_encoding='gif')
