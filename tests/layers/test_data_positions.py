"""Data layers own their random generator (crops, mirrors and shuffles do
not depend on what else draws random numbers, or when), and report the
position of the next batch so that seek() replays the same batches."""
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite import backend
from refcases import reference_path

TRANSFORM = 'transform_param { crop_size: 20 mirror: true }'


def lmdb_net():
    db = reference_path('data', 'lmdb_raw')
    return ('layer { name: "d" type: "Data" top: "data" top: "label" %s '
            'data_param { source: "%s" batch_size: 16 backend: LMDB } }' % (TRANSFORM, db))


def image_list_net(tmp_path):
    """An ImageData layer over 10 small images, shuffled, batch 4."""
    rng = np.random.RandomState(0)
    lines = []
    for k in range(10):
        Image.fromarray(rng.randint(0, 256, (24, 24), np.uint8)).save(tmp_path / ('%d.png' % k))
        lines.append('%d.png %d' % (k, k))
    (tmp_path / 'list.txt').write_text('\n'.join(lines) + '\n')
    return ('layer { name: "d" type: "ImageData" top: "data" top: "label" %s '
            'image_data_param { source: "%s" root_folder: "%s/" batch_size: 4 shuffle: true '
            'is_color: false } }' % (TRANSFORM, tmp_path / 'list.txt', tmp_path))


def batches(net, count, disturb=False):
    out = []
    for _ in range(count):
        if disturb:     # what dropout or a filler in the main thread would do
            backend.rng().random_sample(1000)
        net.forward()
        out.append((net.blobs['data'].data.copy(), net.blobs['label'].data.copy()))
    return out


@pytest.mark.parametrize('kind', ['lmdb', 'images'])
def test_crops_and_mirrors_come_from_the_layers_own_generator(kind, tmp_path):
    text = lmdb_net() if kind == 'lmdb' else image_list_net(tmp_path)
    runs = []
    for disturb in (False, True):
        caffe.set_random_seed(5)
        runs.append(batches(caffe.Net(text, caffe.TRAIN), 8, disturb))
    for (a, la), (b, lb) in zip(*runs):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    caffe.set_random_seed(6)
    other = batches(caffe.Net(text, caffe.TRAIN), 8)
    assert any((a != b).any() for (a, _), (b, _) in zip(runs[0], other))


@pytest.mark.parametrize('kind', ['lmdb', 'images'])
def test_seek_replays_the_batches_after_a_position(kind, tmp_path):
    text = lmdb_net() if kind == 'lmdb' else image_list_net(tmp_path)
    caffe.set_random_seed(1)
    net = caffe.Net(text, caffe.TRAIN)
    batches(net, 3)
    layer = net.layers[0]
    mark = layer.position()
    ahead = batches(net, 6)                  # crosses an epoch of the image list
    layer.seek(mark)
    again = batches(net, 6)
    for (a, la), (b, lb) in zip(ahead, again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    fresh = caffe.Net(text, caffe.TRAIN)     # another net of the same source
    fresh.layers[0].seek(mark)
    for (a, _), (b, _) in zip(ahead, batches(fresh, 6)):
        np.testing.assert_array_equal(a, b)


def test_hdf5_rows_shuffle_from_the_layers_generator_and_seek(tmp_path):
    h5py = pytest.importorskip('h5py')
    with h5py.File(tmp_path / 'a.h5', 'w') as f:
        f['data'] = np.arange(10, dtype=np.float32).reshape(10, 1)
    (tmp_path / 'list.txt').write_text(str(tmp_path / 'a.h5') + '\n')
    text = ('layer { name: "h" type: "HDF5Data" top: "data" hdf5_data_param { '
            'source: "%s" batch_size: 3 shuffle: true } }' % (tmp_path / 'list.txt'))
    caffe.set_random_seed(2)
    net = caffe.Net(text, caffe.TRAIN)
    mark = net.layers[0].position()
    first = np.concatenate([net.forward()['data'].copy() for _ in range(5)])[:, 0]
    assert sorted(first[:9]) != list(first[:9])          # shuffled
    backend.rng().random_sample(10)                       # not the layer's generator
    net.layers[0].seek(mark)
    second = np.concatenate([net.forward()['data'].copy() for _ in range(5)])[:, 0]
    np.testing.assert_array_equal(first, second)
