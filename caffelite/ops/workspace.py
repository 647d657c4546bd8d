"""Scratch arrays reused for the large temporaries of a layer call (patch
matrices, GEMM outputs, padded copies).

A fresh multi-megabyte NumPy array costs a page fault and a kernel zero
fill for every page, each time one is made; on a CPU training step that is
a sixth of the time. A buffer kept here is made once per name and reused by
every later call, as Caffe reuses its column buffer. An array handed out
stays valid until the next request for the same name, so a caller uses it
within the call that asked for it and keeps nothing. CuPy arrays come from
CuPy's memory pool instead, which already reuses device memory.
"""
import numpy as np

_buffers = {}


def scratch(name, shape, xp=np, dtype=np.float32):
    """An uninitialized ``shape`` array of ``dtype`` for the temporary ``name``."""
    if xp is not np:
        return xp.empty(shape, dtype)
    size = int(np.prod(shape, dtype=np.int64))
    key = (name, np.dtype(dtype))
    if key not in _buffers or _buffers[key].size < size:
        _buffers.pop(key, None)     # the old buffer goes before the larger one is made
        _buffers[key] = np.empty(size, dtype)
    return _buffers[key][:size].reshape(shape)


def release():
    """Drop every scratch buffer (their memory goes back once unused)."""
    _buffers.clear()
