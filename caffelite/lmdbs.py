"""Read-only LMDB environments, one per database file per process.

LMDB refuses to open the same environment twice in one process, and a
training process often has train and test nets (and tools) reading one
database, so every reader gets the same shared environment from here. A
database removed and written again under the same name (a notebook cell
run twice) is another file: it gets an environment of its own, where the
first one would go on reading the removed file's records.
"""
import os

from .errors import CaffeError

_OPEN = {}


def open_readonly(path):
    """The shared read-only environment of the LMDB folder ``path``."""
    import lmdb
    try:
        stat = os.stat(os.path.join(path, 'data.mdb'))
    except OSError:
        raise CaffeError('%s: not an LMDB database (no data.mdb)' % path) from None
    if not stat.st_size:
        # LMDB itself says only 'Bad file descriptor' for it
        raise CaffeError('%s: data.mdb is empty (0 bytes): not an LMDB database' % path)
    key = (os.path.realpath(path), stat.st_dev, stat.st_ino)
    if key not in _OPEN:
        try:
            env = lmdb.open(path, readonly=True, lock=False, readahead=False, subdir=True)
        except lmdb.Error as e:
            raise CaffeError('%s: cannot open LMDB: %s' % (path, e)) from None
        _check_whole(env, path, stat.st_size)
        _OPEN[key] = env
    return _OPEN[key]


def _check_whole(env, path, size):
    """Refuse a data.mdb shorter than the pages its meta page counts (a copy
    or download that stopped, a full disk): LMDB reads the file through a
    memory map, so the first page past its end would kill the process with
    SIGBUS, no exception."""
    needed = (env.info()['last_pgno'] + 1) * env.stat()['psize']
    if size < needed:
        env.close()
        raise CaffeError('%s: the LMDB is cut short: data.mdb has %d bytes, its pages need %d'
                         % (path, size, needed))
