"""Loading and launching the hand-written CUDA kernels in ``kernels/*.cu``.

Each .cu file is compiled once per process with CuPy's RawModule (CuPy also
caches the binary on disk), after ``prelude.cuh``, which gives the kernels
their GPU meaning: ``KERNEL`` is ``extern "C" __global__`` and
``CUDA_KERNEL_LOOP`` is a grid-stride loop, one thread per output element.
The test suite compiles the same files as plain C++ with a host header
instead (tests/kernel_host.h) so every kernel is checked without a GPU.

A launch names its arguments after the kernel's C parameters; ``launch``
reads the parameter lists from the source (once per file), puts the
arguments in that order and converts each to its C type, so no caller
spells out an argument order, a dtype or a contiguity.
"""
import functools
import os
import re
from collections import namedtuple

import numpy as np

from .backend import on_gpu
from .errors import CaffeError
from .resources import shipped_dir

THREADS = 512
MAX_BLOCKS = 65535 * 8
# Kernels index in 32-bit ints (kernels/prelude.cuh).
MAX_ELEMENTS = 2 ** 31 - 1
# Threads that keep a large GPU busy (about 132 SMs x 2048 resident).
BUSY_THREADS = 2 ** 18

# One C parameter of a kernel: ``const`` pointers are inputs, the other
# pointers outputs.
Param = namedtuple('Param', 'name ctype pointer const')
C_TYPES = {'int': np.int32, 'float': np.float32, 'double': np.float64}
_KERNEL = re.compile(r'KERNEL\s+void\s+(\w+)\s*\(([^)]*)\)')
_PARAM = re.compile(r'^(const\s+)?(\w+)\s*(\*?)\s*(\w+)$')


def kernels_dir():
    """The folder of the .cu sources: caffelite/kernels when installed,
    kernels/ of a source checkout."""
    return shipped_dir('kernels', 'prelude.cuh')


def kernel_source(module):
    """The text of ``kernels/<module>.cu``."""
    with open(os.path.join(kernels_dir(), module + '.cu')) as f:
        return f.read()


def parse_signatures(source, where):
    """{kernel name: (Param, ...)} of every ``KERNEL void name(...)`` in a
    .cu source; ``where`` names it in errors."""
    kernels = {}
    for name, params in _KERNEL.findall(source):
        parsed = []
        for text in params.split(','):
            found = _PARAM.match(' '.join(text.split()))
            if not found or found.group(2) not in C_TYPES:
                raise CaffeError('%s: kernel %s has a parameter %r of a type caffelite cannot '
                                 'pass (int, float, double or pointers to them)'
                                 % (where, name, text.strip()))
            const, ctype, star, pname = found.groups()
            parsed.append(Param(pname, ctype, bool(star), bool(const)))
        if not parsed or parsed[0].pointer or parsed[0].ctype != 'int':
            raise CaffeError('%s: kernel %s must take its element count (int) first'
                             % (where, name))
        kernels[name] = tuple(parsed)
    return kernels


@functools.lru_cache(maxsize=None)
def signatures(module):
    """The parsed kernel signatures of ``kernels/<module>.cu`` (read once)."""
    return parse_signatures(kernel_source(module), 'kernels/%s.cu' % module)


@functools.lru_cache(maxsize=None)
def _module(name):
    import cupy
    with open(os.path.join(kernels_dir(), 'prelude.cuh')) as f:
        prelude = f.read()
    return cupy.RawModule(code=prelude + '\n' + kernel_source(name),
                          options=('--std=c++14',))


def _device_array(value, param, where):
    """A pointer argument as the kernel reads it: an input becomes a
    C-contiguous device array of the C type (a copy only when it is not
    one); an output must already be one, since writes to a copy are lost."""
    dtype = C_TYPES[param.ctype]
    if not on_gpu(value):
        raise CaffeError('%s: %s needs a device array, got %s'
                         % (where, param.name, type(value).__name__))
    if param.const:
        import cupy
        return cupy.ascontiguousarray(value, dtype)
    if value.dtype != dtype or not value.flags.c_contiguous:
        raise CaffeError('%s: output %s must be a C-contiguous %s array (got %s%s)'
                         % (where, param.name, np.dtype(dtype).name, value.dtype,
                            '' if value.flags.c_contiguous else ', not contiguous'))
    return value


def _scalar(value, param, where):
    """A scalar argument as its sized NumPy type (CuPy would pass a Python
    int or float as 64 bits)."""
    if param.ctype == 'int':
        if not isinstance(value, (int, np.integer)) or not -2 ** 31 <= value < 2 ** 31:
            raise CaffeError('%s: %s must be a 32-bit int, got %r' % (where, param.name, value))
        return np.int32(value)
    if not isinstance(value, (int, float, np.integer, np.floating)):
        raise CaffeError('%s: %s must be a number, got %r' % (where, param.name, value))
    return C_TYPES[param.ctype](value)


def arguments(module, kernel, n, named):
    """The launch arguments of ``kernel`` in C order: the count ``n``, then
    ``named`` (a dict keyed by the C parameter names), each checked and
    converted to its C type."""
    where = 'CUDA kernel %s (kernels/%s.cu)' % (kernel, module)
    try:
        params = signatures(module)[kernel]
    except KeyError:
        raise CaffeError('%s: no such kernel' % where) from None
    expected = [p.name for p in params[1:]]
    if sorted(named) != sorted(expected):
        raise CaffeError('%s takes (%s); got (%s)' % (where, ', '.join(expected),
                                                      ', '.join(sorted(named))))
    args = [np.int32(n)]
    for param in params[1:]:
        value = named[param.name]
        args.append(_device_array(value, param, where) if param.pointer
                    else _scalar(value, param, where))
    return args


def launch(module, kernel, n, **named):
    """Run ``kernel`` of ``kernels/<module>.cu`` over ``n`` elements, its
    other parameters given by name."""
    if n <= 0:
        return
    largest = max([n] + [a.size for a in named.values() if hasattr(a, 'size')])
    if largest > MAX_ELEMENTS:
        raise CaffeError('CUDA kernel %s: %d elements, more than the 2^31 - 1 the kernels index'
                         % (kernel, largest))
    args = arguments(module, kernel, n, named)
    blocks = min((int(n) + THREADS - 1) // THREADS, MAX_BLOCKS)
    _module(module).get_function(kernel)((blocks,), (THREADS,), tuple(args))


def launcher(op_module):
    """``launch`` bound to the kernels paired with an op module:
    ``caffelite.ops.<name>`` launches from ``kernels/<name>.cu``."""
    return functools.partial(launch, op_module.rsplit('.', 1)[-1])


def window_args(window, out):
    """The named kernel arguments of a 2-D window (a ConvWindow or
    PoolWindow) and its output size: ``kernel_h``, ``kernel_w``,
    ``stride_h``... for each of its fields, and ``out_h``, ``out_w``."""
    named = {'out_h': out[0], 'out_w': out[1]}
    for field, (h, w) in zip(window._fields, window):
        named[field + '_h'], named[field + '_w'] = h, w
    return named


def empty(shape, dtype=np.float32):
    """An uninitialized device array."""
    import cupy
    return cupy.empty(shape, dtype)


def to_device(host):
    """A device copy of a (small) host array."""
    import cupy
    return cupy.asarray(host)


def lanes(channels, inner):
    """How many threads share each channel of an (outer, channels, inner)
    reduction (the *_partial kernels): enough to keep the GPU busy, at most
    one per inner element so neighbouring lanes read neighbouring addresses."""
    return max(1, min(inner, BUSY_THREADS // max(channels, 1)))
