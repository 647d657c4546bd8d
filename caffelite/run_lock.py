"""One training run per snapshot prefix.

Two runs writing ``<prefix>_iter_N.caffemodel`` would overwrite each
other's snapshots and interleave one log, so ``caffelite train`` holds an
exclusive lock on ``<prefix>.lock`` while it runs. The lock is the
operating system's (``flock``): a run that is killed releases it, so no
stale lock is ever left to clear by hand. The file names the holder (pid,
start time, command line) for the message the second run prints.
"""
import contextlib
import os
import sys
import time

from .errors import CaffeError
from .protoio import writes_named


def _holder(path):
    try:
        with open(path) as f:
            return f.read().strip() or 'another process'
    except OSError:
        return 'another process'


@contextlib.contextmanager
def prefix_lock(prefix):
    """Hold the lock of ``prefix`` for the block; CaffeError naming the
    run that holds it when another process does."""
    import fcntl
    path = prefix + '.lock'
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise CaffeError('snapshot prefix %s is in use by %s; wait for that run to end or '
                             'give this one another snapshot_prefix' % (prefix, _holder(path)))
        # The holder before us may have removed the file after we opened it:
        # then our lock is on a file nobody else sees; take the new one.
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        with writes_named(path):
            os.ftruncate(fd, 0)
            os.write(fd, ('caffelite train (pid %d, started %s): %s\n' % (
                os.getpid(), time.strftime('%Y-%m-%d %H:%M:%S'), ' '.join(sys.argv))).encode())
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
        os.close(fd)
