"""HDF5Output (caffelite/layers/output.py): the file Caffe writes (datasets
data and label, 4-d float32), when it is created, what a second forward
does, and that a failed write leaves no half-written file."""
import os

import numpy as np
import pytest

import caffelite as caffe
from caffelite.errors import LayerError

h5py = pytest.importorskip('h5py')


def output_net(folder, data_shape=(2, 3, 4, 5)):
    """A net of Input blobs data (``data_shape``) and label (N,) into an
    HDF5Output writing folder/out.h5."""
    path = folder / 'net.prototxt'
    path.write_text(
        'layer { name: "in" type: "Input" top: "data" top: "label" input_param { '
        'shape { dim: %s } shape { dim: %d } } }\n'
        'layer { name: "out" type: "HDF5Output" bottom: "data" bottom: "label" '
        'hdf5_output_param { file_name: "%s" } }'
        % (' dim: '.join(map(str, data_shape)), data_shape[0], folder / 'out.h5'))
    net = caffe.Net(str(path), caffe.TEST)
    rng = np.random.RandomState(0)
    net.blobs['data'].data[...] = rng.randn(*data_shape)
    net.blobs['label'].data[...] = np.arange(data_shape[0])
    return net


def datasets(path):
    with h5py.File(path, 'r') as h5:
        return {name: (h5[name].dtype, h5[name][...]) for name in h5}


def test_setup_truncates_and_forward_writes_data_and_label(tmp_path):
    with h5py.File(tmp_path / 'out.h5', 'w') as h5:
        h5['old'] = np.zeros(3)
    net = output_net(tmp_path)
    assert datasets(tmp_path / 'out.h5') == {}      # emptied at setup, as H5F_ACC_TRUNC
    net.forward()
    written = datasets(tmp_path / 'out.h5')
    assert sorted(written) == ['data', 'label']
    assert written['data'][0] == np.float32
    np.testing.assert_array_equal(written['data'][1], net.blobs['data'].data)
    # Caffe writes num x channels x height x width
    np.testing.assert_array_equal(written['label'][1], np.arange(2).reshape(2, 1, 1, 1))
    assert sorted(os.listdir(tmp_path)) == ['net.prototxt', 'out.h5']    # no temporary left


def test_vectors_are_written_4d(tmp_path):
    net = output_net(tmp_path, (3, 7))
    net.forward()
    assert datasets(tmp_path / 'out.h5')['data'][1].shape == (3, 7, 1, 1)


def test_second_forward_fails_and_keeps_the_first_batch(tmp_path):
    net = output_net(tmp_path)
    net.forward()
    first = net.blobs['data'].data.copy()
    net.blobs['data'].data[...] = 0
    with pytest.raises(LayerError, match=r"'out' \(HDF5Output\).*earlier forward"):
        net.forward()
    np.testing.assert_array_equal(datasets(tmp_path / 'out.h5')['data'][1], first)


def test_failed_write_leaves_the_previous_file(tmp_path, monkeypatch):
    net = output_net(tmp_path)
    create = h5py.Group.create_dataset

    def fail_on_label(group, name, *args, **kwargs):
        if name == 'label':
            raise OSError(28, 'No space left on device')
        return create(group, name, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, 'create_dataset', fail_on_label)
    with pytest.raises(LayerError, match='No space left on device'):
        net.forward()
    # the file set up stays whole (and empty); no temporary file is left
    assert datasets(tmp_path / 'out.h5') == {}
    assert sorted(os.listdir(tmp_path)) == ['net.prototxt', 'out.h5']


def test_missing_folder_is_named(tmp_path):
    (tmp_path / 'net.prototxt').write_text(
        'layer { name: "in" type: "Input" top: "a" top: "b" input_param { shape { dim: 1 } } }\n'
        'layer { name: "out" type: "HDF5Output" bottom: "a" bottom: "b" '
        'hdf5_output_param { file_name: "%s" } }' % (tmp_path / 'no' / 'out.h5'))
    with pytest.raises(LayerError, match=r"'out' \(HDF5Output\).*no/out\.h5"):
        caffe.Net(str(tmp_path / 'net.prototxt'), caffe.TEST)
