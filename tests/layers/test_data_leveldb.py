"""The Data layer over LevelDB, as Caffe's examples read it (backend:
LEVELDB, or no backend, Caffe's default), from databases written by
``convert_imageset -backend leveldb``; an unset backend over an LMDB."""
import logging

import numpy as np
import pytest

import caffelite as caffe
from caffelite import databases
from caffelite.cli import main
from caffelite.errors import CaffeError
from caffelite.layers import data
from refcases import reference_path

NET = ('layer { name: "d" type: "Data" top: "data" top: "label" '
       'data_param { source: "%s" batch_size: 16 %s } }')


@pytest.fixture(scope='module')
def leveldb(tmp_path_factory):
    """Caffe's reference images converted as its lmdb_raw was, into a LevelDB."""
    data = reference_path('data')
    path = tmp_path_factory.mktemp('leveldb') / 'db'
    assert main(['convert_imageset', '-gray', '-backend', 'leveldb', str(data / 'images') + '/',
                 str(data / 'train.txt'), str(path)]) == 0
    return path


def batches(source, backend_field, count=21):
    """``count`` batches of a TEST Data net (320 records: wraps at 20)."""
    net = caffe.Net(NET % (source, backend_field), caffe.TEST)
    out = []
    for _ in range(count):
        net.forward()
        out.append((net.blobs['data'].data.copy(), net.blobs['label'].data.copy()))
    return out


def test_convert_imageset_leveldb_holds_caffes_records(leveldb):
    ours = list(databases.open_cursor(str(leveldb), 'leveldb'))
    caffes = list(databases.open_cursor(str(reference_path('data', 'lmdb_raw')), 'lmdb'))
    assert len(ours) == 320 and ours == caffes


def test_compute_image_mean_of_a_leveldb_matches_caffe(leveldb, tmp_path):
    out = tmp_path / 'mean.binaryproto'
    assert main(['compute_image_mean', '-backend', 'leveldb', str(leveldb), str(out)]) == 0
    assert out.read_bytes() == reference_path('data', 'mean.binaryproto').read_bytes()


@pytest.mark.parametrize('field', ['backend: LEVELDB', ''])
def test_data_layer_reads_a_leveldb_as_the_lmdb_in_key_order(leveldb, field):
    lmdb = reference_path('data', 'lmdb_raw')
    ours, theirs = batches(leveldb, field), batches(lmdb, 'backend: LMDB')
    for (a, la), (b, lb) in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    np.testing.assert_array_equal(ours[20][0], ours[0][0])     # wrapped to the first key


def test_an_unset_backend_over_an_lmdb_reads_it_and_says_so_once(caplog, monkeypatch):
    monkeypatch.setattr(data, '_GUESSED', set())
    lmdb = reference_path('data', 'lmdb_raw')
    with caplog.at_level(logging.INFO, logger='caffelite.layers'):
        unset = batches(lmdb, '', 2)
        batches(lmdb, '', 1)
    said = [r.getMessage() for r in caplog.records if 'backend is unset' in r.getMessage()]
    assert len(said) == 1 and said[0].endswith('lmdb_raw is an LMDB: reading it as LMDB')
    for (a, _), (b, _) in zip(unset, batches(lmdb, 'backend: LMDB', 2)):
        np.testing.assert_array_equal(a, b)


def test_a_leveldb_named_as_lmdb_is_refused_with_the_layer(leveldb):
    with pytest.raises(CaffeError,
                       match="layer 'd'.* is a LevelDB, not an LMDB: give backend leveldb"):
        caffe.Net(NET % (leveldb, 'backend: LMDB'), caffe.TEST)
    with pytest.raises(CaffeError, match="layer 'd'.*lmdb_raw is an LMDB, not a LevelDB"):
        caffe.Net(NET % (reference_path('data', 'lmdb_raw'), 'backend: LEVELDB'), caffe.TEST)


def test_a_leveldb_data_layer_knows_its_epoch(leveldb):
    # LevelDB keeps no count: the layer counts the keys when asked
    net = caffe.Net(NET % (leveldb, 'backend: LEVELDB'), caffe.TEST)
    assert net.layers[0].num_records == 320
