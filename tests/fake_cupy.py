"""A stand-in for CuPy on machines without a GPU: "device" arrays are a
NumPy subclass whose class lives in a module named ``cupy``, and kernel
launches run the host-compiled kernels of tests/kernel_harness.py. With it,
GPU mode runs every device code path of caffelite (dispatch, argument
order and types, lazy blob sync) on the CPU."""
import sys
import types

import numpy as np

import kernel_harness


class ndarray(np.ndarray):
    """A 'device' array: NumPy storage, CuPy's get/set transfer methods."""

    def get(self, out=None):
        host = np.asarray(self).view(np.ndarray)
        if out is None:
            return host.copy()
        out[...] = host
        return out

    def set(self, host):
        np.asarray(self).view(np.ndarray)[...] = host


ndarray.__module__ = 'cupy'


def _device(value):
    if isinstance(value, np.ndarray) and not isinstance(value, ndarray):
        return value.view(ndarray)
    if isinstance(value, tuple):
        return tuple(_device(v) for v in value)
    if isinstance(value, list):
        return [_device(v) for v in value]
    return value


def _wrap(fn):
    def call(*args, **kwargs):
        return _device(fn(*args, **kwargs))
    call.__name__ = getattr(fn, '__name__', 'fn')
    return call


class _Function:
    """RawModule.get_function(name): a launch runs the host kernel."""

    def __init__(self, module, name):
        self.module, self.name = module, name

    def __call__(self, grid, block, args):
        host_args = [np.asarray(a).view(np.ndarray) if isinstance(a, np.ndarray) else a
                     for a in args]
        kernel_harness.call(self.module, self.name, *host_args)


def install(monkeypatch):
    """Install the fake as ``cupy`` and route caffelite's kernel launches."""
    fake = types.ModuleType('cupy')
    fake.ndarray = ndarray

    def module_getattr(name):
        value = getattr(np, name)
        return _wrap(value) if callable(value) and not isinstance(value, type) else value
    fake.__getattr__ = module_getattr
    for name in ('empty', 'zeros', 'ones', 'full', 'asarray', 'ascontiguousarray', 'empty_like',
                 'zeros_like', 'array', 'arange', 'concatenate', 'stack', 'where', 'pad'):
        setattr(fake, name, _wrap(getattr(np, name)))
    fake.float32 = np.float32
    fake.random = types.SimpleNamespace(seed=lambda s: None)
    fake.cuda = types.SimpleNamespace(
        Device=lambda i=0: types.SimpleNamespace(use=lambda: None,
                                                 synchronize=lambda: None),
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    monkeypatch.setitem(sys.modules, 'cupy', fake)
    extras = types.ModuleType('cupyx')
    extras.scatter_add = lambda target, index, values: np.add.at(target, index, values)
    monkeypatch.setitem(sys.modules, 'cupyx', extras)
    from caffelite import cuda
    monkeypatch.setattr(cuda, '_module', lambda name: types.SimpleNamespace(
        get_function=lambda kernel: _Function(name, kernel)))
    return fake
