"""Blob: an N-d float32 array of data and one of diffs, on the host or the GPU.

Storage follows Caffe's SyncedMemory: each of data and diff is a flat buffer
with a host copy and a device copy, and a head telling which copy is current.
Asking for one side copies from the other only when that side is stale, so a
GPU forward copies nothing to the host, while pycaffe-style
``blob.data[...] = x`` writes the host copy and the next GPU use sees it.
Every access hands out a writable view, so it marks its side as current.
"""
import math

import numpy as np

from . import backend
from .errors import CaffeError, KeywordArgumentError

_HOST, _DEVICE, _SYNCED = 'host', 'device', 'synced'


class SyncedArray:
    """A flat float32 buffer of ``size`` elements kept on host and/or device."""

    def __init__(self, size):
        self.size = int(size)
        self._host = None
        self._device = None
        self._head = None

    def host(self):
        """The host buffer, made current (copied from the device if newer)."""
        if self._host is None:
            self._host = np.zeros(self.size, np.float32)
            if self._head == _DEVICE:
                self._host[...] = self._device.get()
        elif self._head == _DEVICE:
            self._device.get(out=self._host)
        self._head = _HOST
        return self._host

    def device(self):
        """The device buffer, made current (copied from the host if newer)."""
        import cupy
        if self._device is None:
            self._device = cupy.zeros(self.size, np.float32)
            if self._head == _HOST:
                self._device.set(self._host)
        elif self._head == _HOST:
            self._device.set(self._host)
        self._head = _DEVICE
        return self._device

    def adopt_device(self, buffer):
        """From now on keep the device copy in ``buffer``, a flat float32
        device array of ``size`` elements (a view into a larger buffer, say),
        holding the current values."""
        if buffer.size != self.size:
            raise CaffeError('device buffer of %d elements for an array of %d'
                             % (buffer.size, self.size))
        buffer[...] = self.device()
        self._device = buffer
        self._head = _DEVICE

    def current(self):
        """The buffer of the current compute mode."""
        return self.device() if backend.mode() == backend.GPU else self.host()

    @property
    def head(self):
        return self._head


class Blob:
    """Data and diff arrays of one shape.

    ``data`` and ``diff`` are host NumPy views (pycaffe); ``xdata`` and
    ``xdiff`` are the arrays of the current mode that layers compute with;
    ``gpu_data``/``gpu_diff`` are the device views.
    """

    def __init__(self, shape=(), *dims):
        if dims or isinstance(shape, (int, np.integer)):
            shape = (shape,) + dims
        self._shape = ()
        self._data = SyncedArray(0)
        self._diff = SyncedArray(0)
        self.reshape(shape)

    # --- shape -------------------------------------------------------------
    def reshape(self, *shape, **kwargs):
        """Change the shape; storage is kept while it is large enough."""
        if kwargs:
            raise KeywordArgumentError('Blob.reshape takes no kwargs')
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise CaffeError('Blob.reshape: negative dimension in %s' % (shape,))
        count = math.prod(shape)
        if count >= 2 ** 31:
            raise CaffeError('Blob.reshape: %s has more than 2^31 elements' % (shape,))
        self._shape = shape
        if count > self._data.size:
            self._data = SyncedArray(count)
        if count > self._diff.size:
            self._diff = SyncedArray(count)

    def reshape_like(self, other):
        self.reshape(other.shape)

    @property
    def shape(self):
        return self._shape

    @property
    def count(self):
        return math.prod(self._shape)

    def count_range(self, start, end=None):
        """Product of dimensions ``start`` .. ``end - 1``."""
        return math.prod(self._shape[start:end])

    @property
    def num_axes(self):
        return len(self._shape)

    def canonical_axis(self, axis):
        """Resolve a negative axis index the way Caffe's CanonicalAxisIndex does."""
        n = len(self._shape)
        if not -n <= axis < max(n, 1):
            raise CaffeError('axis %d out of range for a %d-axis blob %s'
                             % (axis, n, self._shape))
        return axis + n if axis < 0 else axis

    def _legacy_dim(self, i):
        if len(self._shape) > 4:
            raise CaffeError('legacy accessor used on a blob of shape %s' % (self._shape,))
        i = i + 4 - len(self._shape) if i < 0 else i
        return self._shape[i] if i < len(self._shape) else 1

    num = property(lambda self: self._legacy_dim(0))
    channels = property(lambda self: self._legacy_dim(1))
    height = property(lambda self: self._legacy_dim(2))
    width = property(lambda self: self._legacy_dim(3))

    # --- views -------------------------------------------------------------
    def _view(self, flat):
        return flat[:self.count].reshape(self._shape)

    @property
    def data(self):
        """Host float32 view of the data (pycaffe's ``blob.data``)."""
        return self._view(self._data.host())

    @property
    def diff(self):
        """Host float32 view of the diff (pycaffe's ``blob.diff``)."""
        return self._view(self._diff.host())

    @property
    def gpu_data(self):
        return self._view(self._data.device())

    @property
    def gpu_diff(self):
        return self._view(self._diff.device())

    @property
    def xdata(self):
        """The data in the current mode's memory (NumPy or CuPy array)."""
        return self._view(self._data.current())

    @property
    def xdiff(self):
        """The diff in the current mode's memory (NumPy or CuPy array)."""
        return self._view(self._diff.current())

    @property
    def xp(self):
        """The array module of ``xdata``/``xdiff`` (numpy or cupy)."""
        return backend.xp()

    # --- sharing -----------------------------------------------------------
    def share_data(self, other):
        """Use ``other``'s data storage (shapes must have equal counts)."""
        self._check_count(other)
        self._data = other._data

    def share_diff(self, other):
        self._check_count(other)
        self._diff = other._diff

    def use_device_storage(self, data, diff):
        """Keep data and diff on the device in ``data`` and ``diff``, flat
        device arrays of ``count`` elements: the multi-GPU code lays every
        learnable param out in one buffer so that one NCCL call covers them
        all, as Caffe's GPUParams does. Blobs sharing storage with this one
        follow it."""
        for what, synced in (('data', self._data), ('diff', self._diff)):
            if synced.size != self.count:
                raise CaffeError('a blob of shape %s holds %d %s elements; it cannot move '
                                 'into a buffer of %d' % (self._shape, synced.size, what,
                                                          self.count))
        self._data.adopt_device(data)
        self._diff.adopt_device(diff)

    def _check_count(self, other):
        if self.count != other.count:
            raise CaffeError('cannot share storage of blobs with %d and %d elements'
                             % (self.count, other.count))

    # --- proto -------------------------------------------------------------
    def from_proto(self, proto, reshape=True):
        """Load data (and diff when present) from a BlobProto."""
        from .protoio import blob_shape_of
        shape = blob_shape_of(proto)
        if reshape:
            self.reshape(shape)
        elif shape != self._shape and math.prod(shape) != self.count:
            raise CaffeError('shape mismatch: blob %s, proto %s' % (self._shape, shape))
        if len(proto.double_data):
            self.data[...] = np.asarray(proto.double_data, np.float64).reshape(self._shape)
        elif len(proto.data):
            self.data[...] = np.asarray(proto.data, np.float32).reshape(self._shape)
        if len(proto.double_diff):
            self.diff[...] = np.asarray(proto.double_diff, np.float64).reshape(self._shape)
        elif len(proto.diff):
            self.diff[...] = np.asarray(proto.diff, np.float32).reshape(self._shape)

    def to_proto(self, proto, write_diff=False):
        """Fill a BlobProto with the shape and data (and diff if asked)."""
        from .protoio import set_packed_floats
        proto.Clear()
        proto.shape.dim.extend(self._shape)
        set_packed_floats(proto, 'data', self.data.ravel())
        if write_diff:
            set_packed_floats(proto, 'diff', self.diff.ravel())
        return proto

    def __repr__(self):
        return 'Blob(shape=%s)' % (self._shape,)
