"""The INFO lines Caffe's data layers write while a net is built and read:
the Data layer's database opened when the layer is made (db_lmdb.cpp,
db_leveldb.cpp), the mean file (DataTransformer), a cursor wrapping around
(data_layer.cpp)."""
import logging

import pytest

import caffelite as caffe
from caffelite import databases
from caffelite.layers.data import DatabaseSource
from caffelite.proto import caffe_pb2

NAMES = {databases.LMDB: 'lmdb', databases.LEVELDB: 'leveldb'}


def write(path, backend, count):
    """A database of ``count`` 1x1 gray Datums."""
    with databases.open_writer(str(path), backend) as db:
        for i in range(count):
            datum = caffe_pb2.Datum(channels=1, height=1, width=1, data=bytes([i]), label=i)
            db.put('%03d' % i, datum.SerializeToString())
    return str(path)


@pytest.mark.parametrize('backend', [databases.LMDB, databases.LEVELDB])
def test_the_database_opens_when_the_layer_is_made(backend, tmp_path, caplog):
    source = write(tmp_path / 'db', backend, 40)   # no wrap while the prefetch runs ahead
    mean = tmp_path / 'mean.binaryproto'
    mean.write_bytes(caffe_pb2.BlobProto(num=1, channels=1, height=1, width=1,
                                         data=[1.0]).SerializeToString())
    net = ('layer { name: "d" type: "Data" top: "data" top: "label" '
           'transform_param { mean_file: "%s" } '
           'data_param { source: "%s" backend: %s batch_size: 2 } }'
           % (mean, source, backend.upper()))
    with caplog.at_level(logging.INFO, logger='caffelite'):
        caffe.Net(net, caffe.TRAIN)
    said = caplog.messages
    at = said.index('Creating layer d')
    assert said[at:at + 8] == [
        'Creating layer d', 'Opened %s %s' % (NAMES[backend], source),
        'Creating Layer d', 'd -> data', 'd -> label',
        'Loading mean file from: %s' % mean, 'output data size: 2,1,1,1', 'Setting up d']


def test_a_cursor_past_the_last_record_says_it_restarts(tmp_path, caplog):
    source = DatabaseSource(write(tmp_path / 'db', databases.LMDB, 3), databases.LMDB, 0, 'd')
    with caplog.at_level(logging.INFO, logger='caffelite'):
        for expected in (0, 0, 1, 1):       # the third record read moves past the last
            source.next_item()
            assert caplog.messages.count('Restarting data prefetching from start.') == expected


def test_hdf5_data_says_its_list_and_file_count(tmp_path, caplog):
    import h5py
    import numpy as np
    with h5py.File(tmp_path / 'a.h5', 'w') as f:
        f['data'] = np.zeros((4, 1, 2, 2), np.float32)
        f['label'] = np.zeros(4, np.float32)
    listing = tmp_path / 'list.txt'
    listing.write_text('%s\n' % (tmp_path / 'a.h5'))
    net = ('layer { name: "h" type: "HDF5Data" top: "data" top: "label" '
           'hdf5_data_param { source: "%s" batch_size: 2 } }' % listing)
    with caplog.at_level(logging.INFO, logger='caffelite'):
        caffe.Net(net, caffe.TRAIN)
    assert caplog.messages[caplog.messages.index('Setting up h') - 2:][:2] == [
        'Loading list of HDF5 filenames from: %s' % listing, 'Number of HDF5 files: 1']
