"""Weight fillers (Caffe's FillerParameter types), drawing from the global
random state so that ``set_random_seed`` makes initialization repeatable.

Each filler draws values for a slab of rows ``shape`` of a blob whose whole
shape is ``full`` (fan-in/fan-out and sparsity come from ``full``), so large
blobs are filled a slab at a time without big float64 temporaries.
"""
import numpy as np

from . import backend
from .errors import CaffeError
from .proto import caffe_pb2

_FILLERS = {}
CHUNK = 1 << 22     # elements drawn at a time


def _filler(name):
    def wrap(fn):
        _FILLERS[name] = fn
        return fn
    return wrap


def _variance_n(param, full):
    """Caffe's n for xavier/msra: fan_in = count/shape[0], fan_out =
    count/shape[1], or their average."""
    count = int(np.prod(full))
    fan_in = count // full[0]
    fan_out = count // full[1] if len(full) > 1 else count
    norm = param.variance_norm
    if norm == caffe_pb2.FillerParameter.AVERAGE:
        return (fan_in + fan_out) / 2.0
    if norm == caffe_pb2.FillerParameter.FAN_OUT:
        return float(fan_out)
    return float(fan_in)


def _no_sparse(param):
    if param.sparse != -1:
        raise CaffeError("filler '%s' does not support sparse" % param.type)


@_filler('constant')
def _constant(param, shape, full, rng):
    _no_sparse(param)
    return np.full(shape, param.value, np.float32)


@_filler('uniform')
def _uniform(param, shape, full, rng):
    _no_sparse(param)
    return rng.uniform(param.min, param.max, shape)


@_filler('gaussian')
def _gaussian(param, shape, full, rng):
    if param.sparse < -1:
        raise CaffeError('gaussian filler: sparse must be >= -1')
    values = rng.normal(param.mean, param.std, shape)
    if param.sparse >= 0:
        # Each weight is kept with probability sparse / num_outputs.
        values *= rng.uniform(size=shape) < param.sparse / float(full[0])
    return values


@_filler('positive_unitball')
def _positive_unitball(param, shape, full, rng):
    """Rows (first axis) of non-negative values summing to one."""
    _no_sparse(param)
    values = rng.uniform(0, 1, (shape[0], int(np.prod(shape[1:]))))
    return (values / values.sum(axis=1, keepdims=True)).reshape(shape)


@_filler('xavier')
def _xavier(param, shape, full, rng):
    _no_sparse(param)
    scale = np.sqrt(3.0 / _variance_n(param, full))
    return rng.uniform(-scale, scale, shape)


@_filler('msra')
def _msra(param, shape, full, rng):
    _no_sparse(param)
    return rng.normal(0.0, np.sqrt(2.0 / _variance_n(param, full)), shape)


@_filler('bilinear')
def _bilinear(param, shape, full, rng):
    """A (K, K) bilinear upsampling kernel, the same for every (out, in) pair."""
    _no_sparse(param)
    if len(full) != 4 or full[2] != full[3]:
        raise CaffeError('bilinear filler needs a 4-d blob with square kernels, got %s'
                         % (full,))
    k = full[3]
    f = np.ceil(k / 2.0)
    c = (k - 1) / (2.0 * f)
    profile = 1 - np.abs(np.arange(k) / f - c)
    return np.broadcast_to(np.outer(profile, profile), shape)


def fill(blob, param):
    """Fill ``blob``'s data according to a FillerParameter."""
    try:
        filler = _FILLERS[param.type]
    except KeyError:
        raise CaffeError("unknown filler type '%s' (known: %s)"
                         % (param.type, ', '.join(sorted(_FILLERS)))) from None
    if blob.count == 0:
        raise CaffeError('cannot fill an empty blob')
    data, full, rng = blob.data, blob.shape, backend.rng()
    if len(full) < 1:
        data[...] = filler(param, full, full, rng)
        return
    rows = max(1, CHUNK // max(1, int(np.prod(full[1:]))))
    for start in range(0, full[0], rows):
        stop = min(full[0], start + rows)
        data[start:stop] = filler(param, (stop - start,) + full[1:], full, rng)
