"""run_lock: a lock file that cannot be written is named in the error."""
import errno
import os

import pytest

from caffelite.run_lock import prefix_lock


def test_a_full_disk_under_the_lock_names_the_lock_file(tmp_path, monkeypatch):
    def full(fd, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'write', full)
    with pytest.raises(OSError, match='snap.lock'):
        with prefix_lock(str(tmp_path / 'snap')):
            pass
