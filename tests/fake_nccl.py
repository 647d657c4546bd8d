"""A stand-in for CuPy's NCCL bindings (``cupy.cuda.nccl``) on top of
tests/fake_cupy.py, for machines without GPUs.

Like NCCL, its communicators live in separate processes and meet through
the unique id: here the id names a folder, and each collective call
exchanges the ranks' buffers as files in it. Like CuPy's bindings, calls
take raw pointers (``array.data.ptr``) and counts, and read and write the
memory behind them, so caffelite's multi-GPU code runs unchanged. Sums are
taken in rank order, so every rank gets bit-identical results, as NCCL's
all-reduce gives.
"""
import ctypes
import os
import sys
import tempfile
import time
import types

import numpy as np

import fake_cupy

NCCL_FLOAT32 = 7    # ncclFloat32
NCCL_SUM = 0        # ncclSum
UID_BYTES = 128
TIMEOUT = 120.0     # seconds a rank waits for the others before failing


class NcclError(RuntimeError):
    """What CuPy raises for a failed NCCL call."""


def _encode(folder):
    """A 128-tuple of signed chars holding ``folder`` (as NCCL ids are)."""
    raw = folder.encode()
    if len(raw) >= UID_BYTES:
        raise NcclError('folder name too long for an NCCL id: %s' % folder)
    raw = raw + b'\0' * (UID_BYTES - len(raw))
    return tuple(b - 256 if b > 127 else b for b in raw)


def _decode(comm_id):
    if len(comm_id) != UID_BYTES or not all(-128 <= c < 128 for c in comm_id):
        raise NcclError('not an NCCL unique id: %r' % (comm_id,))
    return bytes(c & 0xFF for c in comm_id).rstrip(b'\0').decode()


def _memory(pointer, count):
    """The float32 memory at ``pointer``, as a NumPy array (no copy)."""
    return np.ctypeslib.as_array((ctypes.c_float * count).from_address(pointer))


class NcclCommunicator:
    """``NcclCommunicator(ndev, commId, rank)`` with allReduce and bcast."""

    def __init__(self, ndev, commId, rank):
        self.folder = _decode(commId)
        if not os.path.isdir(self.folder):
            raise NcclError('unknown NCCL id (no folder %s)' % self.folder)
        if not 0 <= rank < ndev:
            raise NcclError('rank %d of %d' % (rank, ndev))
        self.ndev, self.rank, self.calls = ndev, rank, 0

    def _path(self, call, rank):
        return os.path.join(self.folder, 'call%06d.rank%d.npy' % (call, rank))

    def _exchange(self, mine):
        """Every rank's array for this call, in rank order."""
        call, self.calls = self.calls, self.calls + 1
        tmp = self._path(call, self.rank) + '.tmp.npy'
        np.save(tmp, mine)
        os.replace(tmp, self._path(call, self.rank))
        # Every rank has read the files of call - 2 once all wrote call - 1.
        if call >= 2:
            os.remove(self._path(call - 2, self.rank))
        deadline = time.monotonic() + TIMEOUT
        paths = [self._path(call, r) for r in range(self.ndev)]
        while not all(os.path.exists(p) for p in paths):
            if time.monotonic() > deadline:
                raise NcclError('rank %d: the other ranks did not join call %d' % (self.rank, call))
            time.sleep(0.001)
        return [np.load(p) for p in paths]

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        assert (datatype, op) == (NCCL_FLOAT32, NCCL_SUM), (datatype, op)
        parts = self._exchange(_memory(sendbuf, count).copy())
        total = parts[0].copy()
        for part in parts[1:]:
            total += part
        _memory(recvbuf, count)[...] = total

    def bcast(self, buff, count, datatype, root, stream):
        assert datatype == NCCL_FLOAT32, datatype
        mine = _memory(buff, count).copy() if self.rank == root else np.zeros(0, np.float32)
        _memory(buff, count)[...] = self._exchange(mine)[root]


class MemoryPointer:
    """``ndarray.data`` of CuPy: ``ptr`` is the address of the first element."""

    def __init__(self, array):
        host = array._host
        assert host.flags.c_contiguous, 'NCCL buffers must be contiguous'
        self.ptr = host.__array_interface__['data'][0]


class Stream:
    """CuPy streams: the fake device runs everything at once."""
    ptr = 0

    def __init__(self, null=False, non_blocking=False):
        pass

    def synchronize(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def install(monkeypatch, fake, folder):
    """Add ``cupy.cuda.nccl`` (ids are new folders under ``folder``),
    streams and ``ndarray.data.ptr`` to the fake CuPy ``fake``."""
    nccl = types.ModuleType('cupy.cuda.nccl')
    nccl.available = True
    nccl.NCCL_FLOAT32, nccl.NCCL_SUM = NCCL_FLOAT32, NCCL_SUM
    nccl.NcclError = NcclError
    nccl.NcclCommunicator = NcclCommunicator
    nccl.get_unique_id = lambda: _encode(tempfile.mkdtemp(prefix='nccl', dir=str(folder)))
    monkeypatch.setitem(sys.modules, 'cupy.cuda.nccl', nccl)
    monkeypatch.setattr(fake.cuda, 'nccl', nccl, raising=False)
    monkeypatch.setattr(fake.cuda, 'Stream', Stream, raising=False)
    monkeypatch.setattr(fake.cuda, 'get_current_stream', lambda: Stream(null=True),
                        raising=False)
    monkeypatch.setattr(fake_cupy.ndarray, 'data', property(MemoryPointer), raising=False)
    return nccl
