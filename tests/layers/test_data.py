"""Data layers (caffelite/layers/data.py) against Caffe: LMDB (raw and
PNG-encoded Datums) and ImageData trainers reproduce Caffe's losses;
MemoryData and HDF5Data behave as Caffe's (the DataTransformer:
test_data_transform.py)."""
import numpy as np
import pytest

import caffelite as caffe
from conftest import REFERENCE
from refcases import reference_path


@pytest.mark.parametrize('trainer', ['data_lmdb_raw', 'data_lmdb_png', 'imagedata'])
def test_trainer_losses_match_caffe(trainer, monkeypatch):
    folder = reference_path('data', trainer)
    monkeypatch.chdir(folder)          # Caffe resolves the sources from its cwd
    solver = caffe.get_solver('solver.prototxt')
    solver.net.copy_from(str(REFERENCE / 'data' / 'init.caffemodel'))
    ref = np.load(folder / 'losses.npy')
    losses = []
    for _ in range(len(ref)):
        solver.step(1)
        losses.append(float(solver.net.blobs['loss'].data))
    np.testing.assert_array_less(np.abs(np.array(losses) - ref), 1e-3 * np.maximum(1, np.abs(ref)))


def test_memory_data_serves_batches_in_order(tmp_path):
    path = tmp_path / 'net.prototxt'
    path.write_text('layer { name: "m" type: "MemoryData" top: "data" top: "label" '
                    'memory_data_param { batch_size: 2 channels: 1 height: 2 width: 2 } }')
    net = caffe.Net(str(path), caffe.TEST)
    data = np.arange(16, dtype=np.float32).reshape(4, 1, 2, 2)
    net.set_input_arrays(data, np.arange(4, dtype=np.float32))
    net.forward()
    np.testing.assert_array_equal(net.blobs['label'].data, [0, 1])
    net.forward()
    np.testing.assert_array_equal(net.blobs['data'].data, data[2:])
    # pycaffe's RuntimeError and message (python/caffe/_caffe.cpp)
    with pytest.raises(RuntimeError, match='must be a multiple of batch size'):
        net.set_input_arrays(data[:3], np.arange(3))


def test_hdf5_data_reads_listed_files(tmp_path):
    h5py = pytest.importorskip('h5py')
    for k in range(2):
        with h5py.File(tmp_path / ('%d.h5' % k), 'w') as f:
            f['data'] = np.full((3, 2), k, np.float32)
            f['label'] = np.arange(3, dtype=np.float32) + 3 * k
    (tmp_path / 'list.txt').write_text('%s\n%s\n' % (tmp_path / '0.h5', tmp_path / '1.h5'))
    path = tmp_path / 'net.prototxt'
    path.write_text('layer { name: "h" type: "HDF5Data" top: "data" top: "label" '
                    'hdf5_data_param { source: "%s" batch_size: 4 } }' % (tmp_path / 'list.txt'))
    net = caffe.Net(str(path), caffe.TRAIN)
    net.forward()
    np.testing.assert_array_equal(net.blobs['label'].data, [0, 1, 2, 3])
    net.forward()
    np.testing.assert_array_equal(net.blobs['label'].data, [4, 5, 0, 1])


def test_a_damaged_record_is_named_by_the_layer_and_compute_image_mean(tmp_path):
    """A record whose bytes fall short of its shape (Caffe CHECKs the count)."""
    import lmdb

    from caffelite.tools.imageset import compute_image_mean
    db = tmp_path / 'db'
    with lmdb.open(str(db), map_size=1 << 20) as env, env.begin(write=True) as txn:
        for k, size in enumerate([16, 16, 11]):
            datum = caffe.io.array_to_datum(np.zeros((1, 4, 4), np.uint8), 0)
            datum.data = datum.data[:size]
            txn.put(b'%03d_k.png' % k, datum.SerializeToString())
    damaged = r"db: record '002_k\.png': a Datum of 1 x 4 x 4 holds 11 values"
    with pytest.raises(caffe.errors.CaffeError, match=damaged):
        compute_image_mean(str(db))
    path = tmp_path / 'net.prototxt'
    path.write_text('layer { name: "d" type: "Data" top: "data" top: "label" '
                    'data_param { source: "%s" batch_size: 3 backend: LMDB } }' % db)
    with pytest.raises(caffe.errors.CaffeError, match="layer 'd'.*" + damaged):
        caffe.Net(str(path), caffe.TRAIN).forward()


@pytest.mark.parametrize('damage, message', [
    ('cut', r'cannot read HDF5 file .*a\.h5 \(listed in .*list\.txt\): .*truncated file'),
    ('no rows', r'the HDF5 files of .*list\.txt hold no rows')], ids=['cut', 'no rows'])
def test_a_damaged_hdf5_file_is_named_by_the_layer(tmp_path, damage, message):
    import h5py
    h5 = tmp_path / 'a.h5'
    rows = 0 if damage == 'no rows' else 10
    with h5py.File(str(h5), 'w') as f:
        f['data'] = np.zeros((rows, 1, 2, 2), np.float32)
        f['label'] = np.zeros(rows, np.float32)
    if damage == 'cut':
        h5.write_bytes(h5.read_bytes()[:1000])
    (tmp_path / 'list.txt').write_text('%s\n' % h5)
    path = tmp_path / 'net.prototxt'
    path.write_text('layer { name: "d" type: "HDF5Data" top: "data" top: "label" '
                    'hdf5_data_param { source: "%s" batch_size: 2 } }' % (tmp_path / 'list.txt'))
    with pytest.raises(caffe.errors.LayerError, match=r"net\.prototxt:1: layer 'd' \(HDF5Data\): "
                       + message):
        caffe.Net(str(path), caffe.TRAIN)
