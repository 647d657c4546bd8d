"""Scratch arrays reused for the large temporaries of a layer call (patch
matrices, GEMM outputs, padded copies).

glibc's malloc serves blocks over 32 MiB straight from the kernel, so each
fresh one costs a page fault and a zero fill for every page, every time it
is made; on a CPU training step of CaffeNet that was a tenth of the time.
A Workspace keeps a buffer for such a temporary, made once per name and
reused by every later call, as Caffe reuses its column buffer. Smaller
temporaries are left to malloc, whose free lists already reuse them (a
kept buffer of a few megabytes measured slower). CuPy arrays come from
CuPy's memory pool, which already reuses device memory.

Each Net owns one Workspace, shared by its layers (a layer outside a Net
has its own), so nets in different threads never share a buffer, and the
memory goes when the Net does. An array handed out stays valid until the
next request for the same name, so a caller uses it within the call that
asked for it and keeps nothing.
"""
import math

import numpy as np

# Below this, malloc reuses freed blocks by itself.
MIN_BYTES = 32 << 20


class Workspace:
    """Named scratch buffers of one owner."""

    def __init__(self):
        self._buffers = {}
        self._lanes = {}

    def lane(self, index):
        """The workspace of chunk lane ``index`` (caffelite.threads): lanes
        run at the same time, so each has buffers of its own; lane 0 is
        this workspace."""
        if index == 0:
            return self
        if index not in self._lanes:
            self._lanes[index] = Workspace()
        return self._lanes[index]

    def scratch(self, name, shape, xp=np, dtype=np.float32):
        """The kept ``shape`` array of ``dtype`` for the temporary ``name``
        (uninitialized), or None where keeping one does not pay: CuPy
        arrays, and NumPy arrays under MIN_BYTES. Ops take it as ``out``
        and allocate as usual for None."""
        size = math.prod(shape)
        if xp is not np or size * np.dtype(dtype).itemsize < MIN_BYTES:
            return None
        key = (name, np.dtype(dtype))
        if key not in self._buffers or self._buffers[key].size < size:
            self._buffers.pop(key, None)    # the old buffer goes before the larger one is made
            self._buffers[key] = np.empty(size, dtype)
        return self._buffers[key][:size].reshape(shape)

    def empty(self, name, shape, xp=np, dtype=np.float32):
        """scratch(), or a fresh uninitialized array where it gives None."""
        kept = self.scratch(name, shape, xp, dtype)
        return xp.empty(shape, dtype) if kept is None else kept

    def release(self):
        """Drop every scratch buffer (their memory goes back once unused)."""
        self._buffers.clear()
        self._lanes.clear()
