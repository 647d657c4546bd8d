"""Caffe's record databases, LMDB and LevelDB, behind one interface (as
Caffe's db::DB): a read-only cursor over the records in key order, and a
writer that builds a new database.

A backend is named as Caffe's tools name it, ``'lmdb'`` or ``'leveldb'``
(``-backend``, extract_features' and convert_cifar_data's DB_TYPE). A
writer builds its database in a hidden temporary folder beside the target
and renames it into place when complete, so an interrupted run never
leaves a partial database under the final name. Like Caffe, writers commit
every 1000 records; LevelDB is opened with Caffe's options (256 MiB write
buffer, 64 KiB blocks, at most 100 open files).

LevelDB locks a database for one opener at a time, so every reader in a
process shares one handle per database folder (as lmdbs does for LMDB);
another process cannot read it at the same time (as with Caffe).
"""
import contextlib
import functools
import os
import shutil
import tempfile

from . import protoio
from .errors import CaffeError
from .lmdbs import open_readonly

LMDB, LEVELDB = 'lmdb', 'leveldb'
NAMES = {LMDB: 'LMDB', LEVELDB: 'LevelDB'}
_A = {LMDB: 'an LMDB', LEVELDB: 'a LevelDB'}
# Caffe commits its transactions every 1000 records.
BATCH = 1000
# The initial LMDB map size; it doubles whenever a batch does not fit.
INITIAL_MAP_SIZE = 256 << 20
# Caffe's db_leveldb.cpp options.
LEVELDB_OPTIONS = dict(block_size=65536, write_buffer_size=268435456, max_open_files=100)

_LEVELDBS = {}


def check_backend(name):
    """``name`` when it is a backend Caffe's tools accept, else CaffeError."""
    if name not in NAMES:
        raise CaffeError("unknown database backend '%s': give lmdb or leveldb" % name)
    return name


def detect(path):
    """The backend of the database folder ``path`` by its files (LMDB's
    data.mdb, LevelDB's CURRENT), or None when it is neither."""
    if os.path.isfile(os.path.join(path, 'data.mdb')):
        return LMDB
    if os.path.isfile(os.path.join(path, 'CURRENT')):
        return LEVELDB
    return None


@contextlib.contextmanager
def _errors(path, backend, who, action):
    """Turn the backend's exceptions into a CaffeError naming ``path``."""
    import lmdb
    import plyvel
    try:
        yield
    except (lmdb.Error, plyvel.Error) as e:
        raise CaffeError('%scannot %s %s %s (%s)' % (who, action, NAMES[backend], path, e)) \
            from None


def _open_leveldb(path, who):
    """The process's shared handle on the LevelDB folder ``path``."""
    import plyvel
    stat = os.stat(path)
    key = (os.path.realpath(path), stat.st_dev, stat.st_ino)
    if key not in _LEVELDBS:
        with _errors(path, LEVELDB, who, 'open'):
            _LEVELDBS[key] = plyvel.DB(path, create_if_missing=False, **LEVELDB_OPTIONS)
    return _LEVELDBS[key]


def open_cursor(path, backend, who=''):
    """A Cursor at the first record of the ``backend`` database ``path``.
    ``who`` prefixes error messages (e.g. "layer 'data': "). A folder that
    holds the other backend's files is refused with a message that says so.
    """
    check_backend(backend)
    if not os.path.isdir(path):
        raise CaffeError('%s%s source %s not found' % (who, NAMES[backend], path))
    found = detect(path)
    if found is None:
        raise CaffeError('%s%s is not a database (neither an LMDB nor a LevelDB)' % (who, path))
    if found != backend:
        raise CaffeError('%s%s is %s, not %s: give backend %s'
                         % (who, path, _A[found], _A[backend], found))
    return (LmdbCursor if backend == LMDB else LevelDbCursor)(path, who)


class Cursor:
    """The records of a database in key order, bytes keys and values.

    ``count`` is the number of records; ``key()`` and ``value()`` are the
    current record's; ``next()`` moves on and returns False past the last
    record; ``first()`` goes back to the first; ``seek(key)`` goes to the
    record ``key`` and returns False when there is none."""

    def __init__(self, path, backend, who):
        self.path, self.backend, self.who = path, backend, who

    def errors(self, action='read'):
        return _errors(self.path, self.backend, self.who, action)

    def __iter__(self):
        """(key, value) of every record from the current one to the last."""
        while self.valid():
            yield self.key(), self.value()
            self.next()


class LmdbCursor(Cursor):

    def __init__(self, path, who=''):
        super().__init__(path, LMDB, who)
        with self.errors('open'):
            txn = open_readonly(path).begin(buffers=False)
            self.count = txn.stat()['entries']
            self._cursor = txn.cursor()
            self._valid = self._cursor.first()

    def first(self):
        with self.errors():
            self._valid = self._cursor.first()

    def next(self):
        with self.errors():
            self._valid = self._cursor.next()
        return self._valid

    def valid(self):
        return self._valid

    def key(self):
        return self._cursor.key()

    def value(self):
        with self.errors():
            return self._cursor.value()

    def seek(self, key):
        with self.errors():
            self._valid = self._cursor.set_key(key)
        return self._valid


class LevelDbCursor(Cursor):

    def __init__(self, path, who=''):
        super().__init__(path, LEVELDB, who)
        self._db = _open_leveldb(path, who)
        with self.errors('open'):
            self._it = self._db.raw_iterator()
            self._it.seek_to_first()

    @functools.cached_property
    def count(self):
        # LevelDB keeps no record count, and counting reads the whole
        # database: done on first use only (epochs, test coverage)
        with self.errors():
            return sum(1 for _ in self._db.iterator(include_value=False))

    def first(self):
        with self.errors():
            self._it.seek_to_first()

    def next(self):
        with self.errors():
            self._it.next()
            return self._it.valid()

    def valid(self):
        return self._it.valid()

    def key(self):
        return self._it.key()

    def value(self):
        with self.errors():
            return self._it.value()

    def seek(self, key):
        with self.errors():
            self._it.seek(key)      # the first record at or after key
            return self._it.valid() and self._it.key() == key


def temp_folder_beside(path):
    """A new hidden folder in ``path``'s parent folder (created if needed),
    to be renamed onto ``path`` when complete. It gets the permissions of
    an ordinary new folder, not mkdtemp's owner-only ones."""
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=protoio.temp_prefix(path), dir=parent)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)
    return tmp


def open_writer(path, backend):
    """A Writer of a new ``backend`` database at ``path``."""
    return (LmdbWriter if check_backend(backend) == LMDB else LevelDbWriter)(path)


class Writer:
    """A new database at ``path`` that appears there only when the ``with``
    block completes. ``put(key, value)`` buffers records, committed in
    batches as Caffe's transactions are."""
    backend = None

    def __init__(self, path):
        self.path = path
        self.pending = []

    def errors(self, action):
        return _errors(self.path, self.backend, '', action)

    def __enter__(self):
        if os.path.exists(self.path):
            raise CaffeError('%s already exists; remove it or choose another name' % self.path)
        protoio.remove_stale_temps(os.path.dirname(os.path.abspath(self.path)))
        self.tmp = temp_folder_beside(self.path)
        try:
            with self.errors('create'):
                self.open(self.tmp)
        except CaffeError:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self

    def put(self, key, value):
        """Store ``value`` (bytes) under ``key`` (str)."""
        # surrogates stand for the bytes of a file name that is not UTF-8
        key = key.encode('utf-8', 'surrogateescape')
        self.check_key(key)
        self.pending.append((key, value))
        if len(self.pending) >= BATCH:
            self._commit()

    def _commit(self):
        with self.errors('write'):
            self.commit(self.pending)
        self.pending = []

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self._discard()
            return False
        try:
            self._commit()
            with self.errors('close'):
                self.close(True)
        except BaseException:
            self._discard()
            raise
        os.replace(self.tmp, self.path)
        return False

    def _discard(self):
        self.close(False)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def check_key(self, key):
        """Raise CaffeError when the backend cannot store ``key``."""

    def open(self, folder):
        raise NotImplementedError

    def commit(self, records):
        raise NotImplementedError

    def close(self, complete):
        raise NotImplementedError


class LmdbWriter(Writer):
    """An LMDB writer; its map grows when a batch does not fit."""
    backend = LMDB

    def open(self, folder):
        import lmdb
        self.env = lmdb.open(folder, map_size=INITIAL_MAP_SIZE, sync=False)

    def check_key(self, key):
        if len(key) > self.env.max_key_size():
            raise CaffeError('%s: LMDB key longer than %d bytes: %r'
                             % (self.path, self.env.max_key_size(), key))

    def commit(self, records):
        import lmdb
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    for key, value in records:
                        txn.put(key, value)
                return
            except lmdb.MapFullError:
                self.env.set_mapsize(2 * self.env.info()['map_size'])

    def close(self, complete):
        if complete:
            self.env.sync(True)
        self.env.close()


class LevelDbWriter(Writer):
    """A LevelDB writer, with Caffe's options, a write batch per commit."""
    backend = LEVELDB

    def open(self, folder):
        import plyvel
        self.db = plyvel.DB(folder, create_if_missing=True, error_if_exists=True,
                            **LEVELDB_OPTIONS)

    def commit(self, records):
        with self.db.write_batch(sync=True) as batch:
            for key, value in records:
                batch.put(key, value)

    def close(self, complete):
        self.db.close()
