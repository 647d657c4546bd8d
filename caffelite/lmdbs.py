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
    key = (os.path.realpath(path), stat.st_dev, stat.st_ino)
    if key not in _OPEN:
        try:
            _OPEN[key] = lmdb.open(path, readonly=True, lock=False, readahead=False,
                                   subdir=True)
        except lmdb.Error as e:
            raise CaffeError('%s: cannot open LMDB: %s' % (path, e)) from None
    return _OPEN[key]
