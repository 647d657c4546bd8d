"""Compute mode (CPU with NumPy, GPU with CuPy) and the global random state.

Layers never import NumPy or CuPy for math directly: they ask ``xp()`` for
the array module of the current mode, so each layer is written once.
"""
import importlib

import numpy as np

from .errors import CaffeError

CPU, GPU = 'CPU', 'GPU'

_state = {'mode': CPU, 'device': 0, 'solver_count': 1, 'solver_rank': 0,
          'multiprocess': False}
_rng = np.random.RandomState()


def cupy_or_none():
    """Return the cupy module, or None when it is not installed or unusable."""
    try:
        import cupy
        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # ImportError, or a CUDA runtime without a device
        pass
    return None


def gpu_available():
    return cupy_or_none() is not None


def set_mode_cpu():
    _state['mode'] = CPU


def set_mode_gpu():
    cp = cupy_or_none()
    if cp is None:
        raise CaffeError('set_mode_gpu: CuPy with a CUDA device is required '
                         '(pip install caffelite[gpu])')
    cp.cuda.Device(_state['device']).use()
    _state['mode'] = GPU


def set_device(device_id):
    _state['device'] = int(device_id)
    cp = cupy_or_none()
    if cp is not None:
        cp.cuda.Device(_state['device']).use()


def solver_count():
    """How many solvers train together (one per GPU); 1 unless multi-GPU."""
    return _state['solver_count']


def set_solver_count(count):
    _state['solver_count'] = int(count)


def solver_rank():
    """This process's solver among ``solver_count()``; rank 0 is the root
    solver, the one that tests, displays and snapshots."""
    return _state['solver_rank']


def set_solver_rank(rank):
    _state['solver_rank'] = int(rank)


def root_solver():
    return _state['solver_rank'] == 0


def multiprocess():
    return _state['multiprocess']


def set_multiprocess(value):
    """Whether the solvers of a multi-GPU run live in separate processes
    (pycaffe's train.py, ``caffelite train -gpu 0,1``)."""
    _state['multiprocess'] = bool(value)


def nccl_or_none():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), or None without them. It
    only imports, never initializes CUDA, so a parent process may ask before
    it forks its GPU workers (a forked child cannot use a CUDA context its
    parent created)."""
    try:
        nccl = importlib.import_module('cupy.cuda.nccl')
    except ImportError:
        return None
    return nccl if getattr(nccl, 'available', False) else None


def has_nccl():
    """Whether multi-GPU training through NCCL is available (pycaffe's
    ``caffe.has_nccl``)."""
    return nccl_or_none() is not None


def mode():
    return _state['mode']


def xp():
    """The array module (numpy or cupy) for the current mode."""
    if _state['mode'] == GPU:
        import cupy
        return cupy
    return np


def on_gpu(array):
    """True when ``array`` is a CuPy (device) array: the one test of where an
    array lives."""
    return type(array).__module__.startswith('cupy')


def array_module(*arrays):
    """The array module that owns ``arrays`` (numpy for host arrays)."""
    for a in arrays:
        if on_gpu(a):
            import cupy
            return cupy
    return np


def to_host(a):
    """A NumPy array with the contents of ``a`` (host or device)."""
    return a.get() if hasattr(a, 'get') and not isinstance(a, np.ndarray) else np.asarray(a)


def rng():
    """The process-wide NumPy RandomState used by fillers, dropout, shuffling."""
    return _rng


def uniform(shape, xp=np):
    """Float32 draws from U[0, 1) of ``shape`` in ``xp``'s memory: from the
    seeded host RandomState for NumPy, from CuPy's device generator (seeded
    with it by set_random_seed) for CuPy, so a GPU layer never waits for
    host random numbers. As in Caffe, the two modes draw different numbers."""
    if xp is np:
        return _rng.random_sample(shape).astype(np.float32)
    return xp.random.random_sample(shape, dtype=np.float32)


def set_random_seed(seed):
    """Seed every random source caffelite uses (host and, if present, GPU)."""
    _rng.seed(int(seed) & 0xFFFFFFFF)
    cp = cupy_or_none()
    if cp is not None:
        cp.random.seed(int(seed))
