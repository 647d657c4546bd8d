"""A stand-in for CuPy on machines without a GPU, as strict as CuPy about
where data lives. A "device" array wraps a NumPy array but, like
``cupy.ndarray``, refuses implicit conversion to the host (``np.asarray``),
refuses to mix with host arrays in arithmetic or library calls, and turns
full reductions into 0-d device arrays. Kernel launches run the
host-compiled kernels of tests/kernel_harness.py after checking each
argument against the kernel's C signature, as the GPU ABI would need.
With it, GPU mode runs every device code path of caffelite on the CPU, and
a layer that silently computes on the host fails.

``transfers`` counts host<->device copies and scalar reads, so tests can
check that a GPU forward pass copies nothing to the host."""
import collections
import operator
import sys
import types

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

import kernel_harness
from caffelite import cuda

transfers = collections.Counter()

# Library functions that take host data onto the device, as in CuPy.
_UPLOADS = ('asarray', 'array')


def _host_error(what):
    return TypeError('%s: a host numpy.ndarray cannot be used with a device array '
                     '(CuPy needs cupy.asarray first)' % what)


def _unwrap(value, what):
    """The NumPy storage of device arrays (recursively); host arrays raise."""
    if isinstance(value, ndarray):
        return value._host
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise _host_error(what)
    if isinstance(value, (tuple, list)):
        return type(value)(_unwrap(v, what) for v in value)
    return value


def _wrap(value):
    """Device arrays for NumPy results; scalars from reductions become 0-d
    arrays, as CuPy returns them."""
    if isinstance(value, np.ndarray):
        return ndarray(value)
    if isinstance(value, np.generic):
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _device_call(fn, what):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args, what), **{k: _unwrap(v, what) for k, v in kwargs.items()}))
    call.__name__ = getattr(fn, '__name__', 'fn')
    return call


class ndarray(NDArrayOperatorsMixin):
    """A device array: NumPy storage behind CuPy's rules of use."""

    def __init__(self, host):
        object.__setattr__(self, '_host', host)

    def __array__(self, *args, **kwargs):
        raise TypeError('Implicit conversion to a NumPy array is not allowed. '
                        'Please use `.get()` to construct a NumPy array explicitly.')

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        what = 'numpy.%s' % ufunc.__name__
        out = kwargs.pop('out', None)
        if out is not None:
            kwargs['out'] = _unwrap(out, what)
        result = getattr(ufunc, method)(*_unwrap(inputs, what), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types_, args, kwargs):
        return _device_call(func, 'numpy.%s' % func.__name__)(*args, **kwargs)

    def __getattr__(self, name):
        if name.startswith('__'):
            # Not NumPy's buffer protocols (__array_interface__ and friends),
            # which would hand the host storage to np.asarray.
            raise AttributeError(name)
        attr = getattr(self._host, name)
        if callable(attr):
            return _device_call(attr, 'ndarray.%s' % name)
        return _wrap(attr)

    def __getitem__(self, key):
        return _wrap(self._host[_unwrap(key, 'indexing')])

    def __setitem__(self, key, value):
        if isinstance(value, np.ndarray) and not isinstance(value, ndarray) and value.ndim:
            # CuPy copies a host array in only for a whole-array slice.
            if key != slice(None):
                raise _host_error('ndarray.__setitem__')
            transfers['host_to_device'] += 1
            self._host[:] = value
            return
        self._host[_unwrap(key, 'indexing')] = _unwrap(value, 'ndarray.__setitem__')

    def __len__(self):
        return len(self._host)

    def __iter__(self):
        return (_wrap(row) for row in self._host)

    def _scalar(self, convert):
        # A device-to-host read of one value (CuPy synchronizes for it).
        transfers['scalar_read'] += 1
        return convert(self._host)

    def __bool__(self):
        return self._scalar(bool)

    def __float__(self):
        return self._scalar(float)

    def __int__(self):
        return self._scalar(int)

    def __index__(self):
        return self._scalar(operator.index)

    def item(self):
        return self._scalar(np.ndarray.item)

    def __repr__(self):
        return 'fake_cupy.' + repr(self._host)

    def get(self, out=None):
        transfers['device_to_host'] += 1
        if out is None:
            return self._host.copy()
        out[...] = self._host
        return out

    def set(self, host):
        transfers['host_to_device'] += 1
        self._host[...] = host


ndarray.__module__ = 'cupy'


def _upload(fn):
    def call(obj, *args, **kwargs):
        if isinstance(obj, np.ndarray) and not isinstance(obj, ndarray):
            transfers['host_to_device'] += 1
        return _wrap(fn(_unwrap(obj, fn.__name__) if isinstance(obj, ndarray) else obj,
                        *args, **kwargs))
    return call


class _Function:
    """RawModule.get_function(name): checks the launch arguments against the
    kernel's C signature as the GPU ABI needs them (caffelite.cuda.launch
    must have converted them), then runs the host-compiled kernel."""

    def __init__(self, module, name):
        self.module, self.name = module, name
        self.params = cuda.signatures(module)[name]

    def __call__(self, grid, block, args):
        assert len(args) == len(self.params), '%s takes %d arguments, got %d' % (
            self.name, len(self.params), len(args))
        host_args = []
        for i, (arg, param) in enumerate(zip(args, self.params)):
            where = '%s argument %d (%s%s)' % (self.name, i, param.ctype,
                                               '*' if param.pointer else '')
            if param.pointer:
                assert isinstance(arg, ndarray), '%s: got %r, not a device array' % (
                    where, type(arg))
                assert arg.dtype == cuda.C_TYPES[param.ctype], '%s: got %s' % (where, arg.dtype)
                assert arg.flags.c_contiguous, '%s: not C-contiguous' % where
                host_args.append(arg._host)
            else:
                # CuPy passes Python ints/floats as 64-bit; only sized NumPy
                # scalars match an int/float parameter.
                assert type(arg) is cuda.C_TYPES[param.ctype], '%s: got %r' % (where, type(arg))
                host_args.append(arg)
        kernel_harness.run(self.module, self.name, host_args)


def _device_attribute(module, prefix):
    """``module.__getattr__`` of the fake: NumPy's functions on device arrays."""
    def getattr_(name):
        value = getattr(module, name)
        if isinstance(value, types.ModuleType):
            proxy = types.ModuleType('%s.%s' % (prefix, name))
            proxy.__getattr__ = _device_attribute(value, proxy.__name__)
            return proxy
        if callable(value) and not isinstance(value, type):
            return _device_call(value, '%s.%s' % (prefix, name))
        return value
    return getattr_


def install(monkeypatch):
    """Install the fake as ``cupy`` and route caffelite's kernel launches."""
    transfers.clear()
    fake = types.ModuleType('cupy')
    fake.ndarray = ndarray
    fake.__getattr__ = _device_attribute(np, 'cupy')
    for name in _UPLOADS:
        setattr(fake, name, _upload(getattr(np, name)))
    device_rng = np.random.RandomState(0)
    fake.random = types.SimpleNamespace(
        seed=lambda s: device_rng.seed(int(s) & 0xFFFFFFFF),
        random_sample=lambda size=None, dtype=np.float64: ndarray(
            np.asarray(device_rng.random_sample(size), dtype)))
    fake.cuda = types.SimpleNamespace(
        Device=lambda i=0: types.SimpleNamespace(use=lambda: None, synchronize=lambda: None),
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1,
                                      getDeviceProperties=lambda i: {'name': b'Fake GPU'},
                                      # (free, total) bytes of an 80 GB device
                                      memGetInfo=lambda: (64 << 30, 80 << 30)))
    monkeypatch.setitem(sys.modules, 'cupy', fake)
    extras = types.ModuleType('cupyx')
    extras.scatter_add = _device_call(np.add.at, 'cupyx.scatter_add')
    monkeypatch.setitem(sys.modules, 'cupyx', extras)
    monkeypatch.setattr(cuda, '_module', lambda name: types.SimpleNamespace(
        get_function=lambda kernel: _Function(name, kernel)))
    return fake
