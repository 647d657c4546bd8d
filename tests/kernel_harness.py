"""Compile kernels/*.cu as C++ with tests/kernel_host.h and call them via
ctypes, so each CUDA kernel is checked against NumPy on machines without a
GPU (skips when no C++ compiler is present); and compile them with nvcc for
a Hopper GPU where nvcc is installed (skips otherwise)."""
import ctypes
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from caffelite import cuda

ROOT = pathlib.Path(__file__).resolve().parents[1]
KERNELS = ROOT / 'kernels'
HOST_HEADER = pathlib.Path(__file__).resolve().parent / 'kernel_host.h'
_CACHE = pathlib.Path(tempfile.gettempdir()) / 'caffelite-kernel-harness'
_LOADED = {}
_C_SCALARS = {'int': ctypes.c_int, 'float': ctypes.c_float, 'double': ctypes.c_double}


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


def _arg(value, param):
    """A ctypes argument of C parameter ``param``, checked as the GPU ABI
    would need it: host arrays of the exact dtype, contiguous, for pointers."""
    if param.pointer:
        assert isinstance(value, np.ndarray), '%s: not an array' % param.name
        assert value.dtype == cuda.C_TYPES[param.ctype], '%s: %s' % (param.name, value.dtype)
        assert value.flags.c_contiguous, '%s: kernel arrays must be C-contiguous' % param.name
        return value.ctypes.data_as(ctypes.c_void_p)
    return _C_SCALARS[param.ctype](value)


def run(module, kernel, args):
    """Run ``kernel`` serially on its full argument list in C order (the
    count first), as a GPU launch gets it."""
    params = cuda.signatures(module)[kernel]
    assert len(args) == len(params), '%s takes %d arguments, got %d' % (
        kernel, len(params), len(args))
    getattr(load(module), kernel)(*[_arg(a, p) for a, p in zip(args, params)])


def call(module, kernel, n, **named):
    """Run ``kernel`` serially over ``n`` elements, its other parameters
    given by their C names, as to caffelite.cuda.launch."""
    params = cuda.signatures(module)[kernel][1:]
    assert sorted(named) == sorted(p.name for p in params), (kernel, sorted(named))
    run(module, kernel, [n] + [named[p.name] for p in params])


PTX_TYPES = {'int': ('.u32', '.s32'), 'float': ('.f32',), 'double': ('.f64',)}


def check_gpu_build(module, tmp_path):
    """``kernels/<module>.cu`` compiles for a Hopper GPU with NVIDIA's
    compiler (prelude.cuh first, as caffelite.cuda hands it to CuPy),
    warning-free, and exports each kernel unmangled with the parameter list
    caffelite.cuda parses. Skips without nvcc."""
    nvcc = shutil.which('nvcc')
    if nvcc is None:
        pytest.skip('no nvcc to compile the CUDA kernels')
    source = tmp_path / (module + '.cu')
    source.write_text((KERNELS / 'prelude.cuh').read_text() + '\n'
                      + (KERNELS / (module + '.cu')).read_text())
    out = tmp_path / (module + '.ptx')
    result = subprocess.run([nvcc, '-arch=sm_90', '--std=c++14', '-ptx', '--Werror',
                             'all-warnings', str(source), '-o', str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, 'nvcc rejected %s.cu:\n%s' % (module, result.stderr)
    entries = dict(re.findall(r'\.entry (\w+)\(([^)]*)\)', out.read_text()))
    declared = cuda.signatures(module)
    assert sorted(entries) == sorted(declared)
    for name, params in declared.items():
        got = re.findall(r'\.param (\.\w+)', entries[name])
        assert len(got) == len(params), name
        for ptx, param in zip(got, params):
            assert ptx in (('.u64',) if param.pointer else PTX_TYPES[param.ctype]), (name, ptx)
