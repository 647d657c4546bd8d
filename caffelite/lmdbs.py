"""Read-only LMDB environments, one per database per process.

LMDB refuses to open the same environment twice in one process, and a
training process often has train and test nets (and tools) reading one
database, so every reader gets the same shared environment from here.
"""
import os

from .errors import CaffeError

_OPEN = {}


def open_readonly(path):
    """The shared read-only environment of the LMDB folder ``path``."""
    import lmdb
    key = os.path.realpath(path)
    if key not in _OPEN:
        if not os.path.isfile(os.path.join(path, 'data.mdb')):
            raise CaffeError('%s: not an LMDB database (no data.mdb)' % path)
        try:
            _OPEN[key] = lmdb.open(path, readonly=True, lock=False, readahead=False,
                                   subdir=True)
        except lmdb.Error as e:
            raise CaffeError('%s: cannot open LMDB: %s' % (path, e)) from None
    return _OPEN[key]
