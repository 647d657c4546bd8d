"""Loading and launching the hand-written CUDA kernels in ``kernels/*.cu``.

Each .cu file is compiled once per process with CuPy's RawModule (CuPy also
caches the binary on disk), after ``prelude.cuh``, which gives the kernels
their GPU meaning: ``KERNEL`` is ``extern "C" __global__`` and
``CUDA_KERNEL_LOOP`` is a grid-stride loop, one thread per output element.
The test suite compiles the same files as plain C++ with a host header
instead (tests/kernel_host.h) so every kernel is checked without a GPU.
"""
import functools
import os

import numpy as np

from .errors import CaffeError
from .resources import shipped_dir

THREADS = 512
MAX_BLOCKS = 65535 * 8
# Kernels index in 32-bit ints (kernels/prelude.cuh).
MAX_ELEMENTS = 2 ** 31 - 1
# Threads that keep a large GPU busy (about 132 SMs x 2048 resident).
BUSY_THREADS = 2 ** 18


def kernels_dir():
    """The folder of the .cu sources: caffelite/kernels when installed,
    kernels/ of a source checkout."""
    return shipped_dir('kernels', 'prelude.cuh')


def kernel_source(name):
    """The text of ``kernels/<name>.cu``."""
    with open(os.path.join(kernels_dir(), name + '.cu')) as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def _module(name):
    import cupy
    with open(os.path.join(kernels_dir(), 'prelude.cuh')) as f:
        prelude = f.read()
    return cupy.RawModule(code=prelude + '\n' + kernel_source(name),
                          options=('--std=c++14',))


def scalar(value):
    """Kernel scalar arguments: Python ints become int32, floats float32."""
    if isinstance(value, (bool, np.bool_)):
        return np.int32(value)
    if isinstance(value, (int, np.integer)):
        return np.int32(value)
    if isinstance(value, (float, np.floating)):
        return np.float32(value)
    return value


def launch(module, kernel, n, *args):
    """Run ``kernel`` of ``kernels/<module>.cu`` over ``n`` elements."""
    if n <= 0:
        return
    largest = max([n] + [a.size for a in args if hasattr(a, 'size')])
    if largest > MAX_ELEMENTS:
        raise CaffeError('CUDA kernel %s: %d elements, more than the 2^31 - 1 the kernels index'
                         % (kernel, largest))
    fn = _module(module).get_function(kernel)
    blocks = min((int(n) + THREADS - 1) // THREADS, MAX_BLOCKS)
    fn((blocks,), (THREADS,), (scalar(n),) + tuple(scalar(a) for a in args))


def lanes(channels, inner):
    """How many threads share each channel of an (outer, channels, inner)
    reduction (the *_partial kernels): enough to keep the GPU busy, at most
    one per inner element so neighbouring lanes read neighbouring addresses."""
    return max(1, min(inner, BUSY_THREADS // max(channels, 1)))


def on_gpu(array):
    """True when ``array`` is a CuPy array (so the kernel path applies)."""
    return type(array).__module__.startswith('cupy')
