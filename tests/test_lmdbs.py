"""caffelite.lmdbs: one shared read-only environment per database file."""
import shutil

import lmdb
import pytest

from caffelite.errors import CaffeError
from caffelite.lmdbs import open_readonly


def _write(path, value):
    with lmdb.open(str(path), map_size=1 << 20) as env, env.begin(write=True) as txn:
        txn.put(b'key', value)


def test_readers_share_an_environment_and_a_rewritten_database_is_read_anew(tmp_path):
    db = tmp_path / 'db'
    _write(db, b'first')
    assert open_readonly(str(db)) is open_readonly(str(tmp_path / '.' / 'db'))
    assert open_readonly(str(db)).begin().get(b'key') == b'first'
    shutil.rmtree(db)
    _write(db, b'second')     # the same name, another database
    assert open_readonly(str(db)).begin().get(b'key') == b'second'


def test_a_folder_without_data_is_named(tmp_path):
    with pytest.raises(CaffeError, match='not an LMDB database'):
        open_readonly(str(tmp_path))


def test_a_database_cut_short_is_refused_before_a_page_is_read(tmp_path):
    """Reading a page past the end of the mapped file would be SIGBUS."""
    db = tmp_path / 'db'
    with lmdb.open(str(db), map_size=1 << 22) as env, env.begin(write=True) as txn:
        for k in range(200):
            txn.put(b'%04d' % k, bytes(1000))
    whole = (db / 'data.mdb').read_bytes()
    (db / 'data.mdb').write_bytes(whole[:len(whole) // 2])
    with pytest.raises(CaffeError, match=r'db: the LMDB is cut short: data\.mdb has %d bytes, '
                       r'its pages need %d' % (len(whole) // 2, len(whole))):
        open_readonly(str(db))
    (db / 'data.mdb').write_bytes(b'')
    with pytest.raises(CaffeError, match=r'db: data\.mdb is empty \(0 bytes\)'):
        open_readonly(str(db))
