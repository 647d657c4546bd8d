"""Compile kernels/*.cu as C++ with tests/kernel_host.h and call them via
ctypes, so each CUDA kernel is checked against NumPy on machines without a
GPU. Skips when no C++ compiler is present."""
import ctypes
import hashlib
import os
import pathlib
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNELS = ROOT / 'kernels'
HOST_HEADER = pathlib.Path(__file__).resolve().parent / 'kernel_host.h'
_CACHE = pathlib.Path(tempfile.gettempdir()) / 'caffelite-kernel-harness'
_LOADED = {}


def compiler():
    for name in (os.environ.get('CXX'), 'c++', 'g++', 'clang++'):
        if name and shutil.which(name):
            return shutil.which(name)
    pytest.skip('no C++ compiler to build the emulated kernels')


def load(module):
    """The shared library built from ``kernels/<module>.cu``."""
    if module in _LOADED:
        return _LOADED[module]
    source = (KERNELS / (module + '.cu')).read_bytes() + HOST_HEADER.read_bytes()
    digest = hashlib.sha1(source).hexdigest()[:16]
    _CACHE.mkdir(exist_ok=True)
    lib_path = _CACHE / ('%s-%s.so' % (module, digest))
    if not lib_path.exists():
        tmp = lib_path.with_suffix('.tmp%d' % os.getpid())
        cmd = [compiler(), '-x', 'c++', '-std=c++14', '-O2', '-shared', '-fPIC',
               '-include', str(HOST_HEADER), str(KERNELS / (module + '.cu')), '-o', str(tmp)]
        result = subprocess.run(cmd, capture_output=True, text=True)
        assert result.returncode == 0, 'host build of %s.cu failed:\n%s' % (module, result.stderr)
        os.replace(tmp, lib_path)
    _LOADED[module] = ctypes.CDLL(str(lib_path))
    return _LOADED[module]


def _arg(value):
    if isinstance(value, np.ndarray):
        assert value.flags.c_contiguous, 'kernel arrays must be C-contiguous'
        return value.ctypes.data_as(ctypes.c_void_p)
    if isinstance(value, (float, np.floating)):
        return ctypes.c_float(value)
    return ctypes.c_int(int(value))


def call(module, kernel, n, *args):
    """Run ``kernel`` serially over ``n`` elements (the same argument list
    the GPU launch gets: ``n`` first, then arrays, ints and floats)."""
    getattr(load(module), kernel)(_arg(n), *[_arg(a) for a in args])
