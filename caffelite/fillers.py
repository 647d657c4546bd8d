"""Weight fillers (Caffe's FillerParameter types), drawing from the global
random state so that ``set_random_seed`` makes initialization repeatable."""
import numpy as np

from . import backend
from .errors import CaffeError
from .proto import caffe_pb2

_FILLERS = {}


def _filler(name):
    def wrap(fn):
        _FILLERS[name] = fn
        return fn
    return wrap


def _fans(shape):
    """(fan_in, fan_out) as Caffe computes them: count/shape[0], count/shape[1]."""
    count = int(np.prod(shape))
    fan_in = count // shape[0]
    fan_out = count // shape[1] if len(shape) > 1 else count
    return fan_in, fan_out


def _variance_n(param, shape):
    fan_in, fan_out = _fans(shape)
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
def _constant(param, shape, rng):
    _no_sparse(param)
    return np.full(shape, param.value)


@_filler('uniform')
def _uniform(param, shape, rng):
    _no_sparse(param)
    return rng.uniform(param.min, param.max, shape)


@_filler('gaussian')
def _gaussian(param, shape, rng):
    values = rng.normal(param.mean, param.std, shape)
    if param.sparse < -1:
        raise CaffeError('gaussian filler: sparse must be >= -1')
    if param.sparse >= 0:
        # Each weight is kept with probability sparse / num_outputs.
        keep = rng.uniform(size=shape) < param.sparse / float(shape[0])
        values = values * keep
    return values


@_filler('positive_unitball')
def _positive_unitball(param, shape, rng):
    _no_sparse(param)
    values = rng.uniform(0, 1, (shape[0], int(np.prod(shape[1:]))))
    return (values / values.sum(axis=1, keepdims=True)).reshape(shape)


@_filler('xavier')
def _xavier(param, shape, rng):
    _no_sparse(param)
    scale = np.sqrt(3.0 / _variance_n(param, shape))
    return rng.uniform(-scale, scale, shape)


@_filler('msra')
def _msra(param, shape, rng):
    _no_sparse(param)
    return rng.normal(0.0, np.sqrt(2.0 / _variance_n(param, shape)), shape)


@_filler('bilinear')
def _bilinear(param, shape, rng):
    """A (K, K) bilinear upsampling kernel, the same for every (out, in) pair."""
    _no_sparse(param)
    if len(shape) != 4 or shape[2] != shape[3]:
        raise CaffeError('bilinear filler needs a 4-d blob with square kernels, got %s'
                         % (shape,))
    k = shape[3]
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
    blob.data[...] = filler(param, blob.shape, backend.rng()).astype(np.float32)
