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
