"""caffelite.databases: LMDB and LevelDB behind one cursor and one writer,
and the Data layer's source over either (key order, wrapping around)."""
import os

import pytest

from caffelite import databases
from caffelite.errors import CaffeError
from caffelite.layers.data import DatabaseSource
from caffelite.proto import caffe_pb2

BACKENDS = [databases.LMDB, databases.LEVELDB]


def write(path, backend, count):
    """A database of ``count`` one-pixel Datums keyed %03d, written out of
    key order, pixel and label = index."""
    with databases.open_writer(str(path), backend) as db:
        for i in reversed(range(count)):
            datum = caffe_pb2.Datum(channels=1, height=1, width=1, data=bytes([i]), label=i)
            db.put('%03d' % i, datum.SerializeToString())
    return str(path)


@pytest.mark.parametrize('backend', BACKENDS)
def test_records_come_back_in_key_order(backend, tmp_path, monkeypatch):
    monkeypatch.setattr(databases, 'BATCH', 4)      # several commits
    path = write(tmp_path / 'db', backend, 10)
    assert databases.detect(path) == backend
    cursor = databases.open_cursor(path, backend)
    assert cursor.count == 10
    records = list(cursor)
    assert [k for k, _ in records] == [b'%03d' % i for i in range(10)]
    assert [caffe_pb2.Datum.FromString(v).label for _, v in records] == list(range(10))
    assert cursor.seek(b'004') and cursor.value() == records[4][1]
    assert not cursor.seek(b'0045')     # LevelDB would stop at the next key, 005


@pytest.mark.parametrize('backend', BACKENDS)
def test_the_data_source_wraps_around_to_the_first_key(backend, tmp_path):
    source = DatabaseSource(write(tmp_path / 'db', backend, 3), backend, 1, 'data')
    labels = [source.next_item()[1] for _ in range(7)]
    assert labels == [1, 2, 0, 1, 2, 0, 1]
    assert source.position() == {'key': b'002'}


def test_readers_of_one_leveldb_share_its_lock(tmp_path):
    # LevelDB admits one opener: train and test nets of one source share it
    path = write(tmp_path / 'db', databases.LEVELDB, 2)
    first = databases.open_cursor(path, databases.LEVELDB)
    second = databases.open_cursor(os.path.join(str(tmp_path), '.', 'db'), databases.LEVELDB)
    first.next()
    assert (first.key(), second.key()) == (b'001', b'000')


@pytest.mark.parametrize('backend', BACKENDS)
def test_an_interrupted_write_leaves_nothing(backend, tmp_path):
    with pytest.raises(KeyError):
        with databases.open_writer(str(tmp_path / 'db'), backend) as db:
            db.put('a', b'1')
            raise KeyError('stop')
    assert os.listdir(tmp_path) == []
    write(tmp_path / 'db', backend, 1)
    with pytest.raises(CaffeError, match='db already exists'):
        write(tmp_path / 'db', backend, 1)


def test_wrong_or_missing_databases_are_named(tmp_path):
    path = write(tmp_path / 'db', databases.LEVELDB, 1)
    with pytest.raises(CaffeError, match="layer 'd': .*db is a LevelDB, not an LMDB: give "
                                         'backend leveldb'):
        databases.open_cursor(path, databases.LMDB, "layer 'd': ")
    with pytest.raises(CaffeError, match='LevelDB source .*none not found'):
        databases.open_cursor(str(tmp_path / 'none'), databases.LEVELDB)
    with pytest.raises(CaffeError, match='is not a database'):
        databases.open_cursor(str(tmp_path), databases.LEVELDB)
    with pytest.raises(CaffeError, match="unknown database backend 'leveldb2'"):
        databases.open_writer(str(tmp_path / 'x'), 'leveldb2')
