"""protoio's writes: a write that fails names the file it was writing."""
import errno
import os

import pytest

from caffelite import protoio
from caffelite.proto import caffe_pb2


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(os, 'fsync', full)
    target = tmp_path / 'net_iter_10.caffemodel'
    with pytest.raises(OSError, match='No space left on device') as caught:
        protoio.write_binary(str(target), caffe_pb2.NetParameter(name='n'))
    assert caught.value.errno == errno.ENOSPC
    assert caught.value.filename == str(target)
    assert str(target) in str(caught.value)
    assert os.listdir(tmp_path) == []

