"""Finding where training went non-finite, as Caffe's ``debug_info`` would
show it: the first layer, in forward order, whose output holds a NaN or an
infinity, else the first, in backward order, whose gradient (of a bottom
or of a parameter) does."""
import numpy as np

from . import backend
from .backend import to_host


def finite(array):
    """Whether every element of ``array`` (NumPy or CuPy) is finite.

    The dot product of the array with itself (one BLAS pass, no
    temporary) is finite when every element is, and NaN or infinite when
    one is not, or when the squares overflow: only then are the elements
    tested one by one."""
    flat = array.reshape(-1)
    xp = backend.array_module(flat)
    with np.errstate(over='ignore', invalid='ignore'):
        square = xp.dot(flat, flat)
    return bool(xp.isfinite(square)) or bool(xp.isfinite(flat).all())


def first_non_finite(net):
    """A description of the first non-finite output or gradient of ``net``
    after its last forward and backward, or None when all are finite."""
    for i, layer in enumerate(net.layers):
        for blob_id in net._top_ids(i):
            blob = net._blobs[blob_id]
            if blob.count and not finite(blob.xdata):
                return "layer '%s' (%s) output '%s' (%s)" % (
                    layer.name, layer.type, net._blob_names[blob_id], _kinds(blob.xdata))
    layer_need, bottom_need = net.layer_need_backward, net.bottom_need_backward
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        if not layer_need[i]:
            continue
        for k, param in enumerate(layer.blobs):
            if param.count and not finite(param.xdiff):
                return "layer '%s' (%s) gradient of param %d (%s)" % (
                    layer.name, layer.type, k, _kinds(param.xdiff))
        for j, blob_id in enumerate(net._bottom_ids(i)):
            blob = net._blobs[blob_id]
            if bottom_need[i][j] and blob.count and not finite(blob.xdiff):
                return "layer '%s' (%s) gradient of bottom '%s' (%s)" % (
                    layer.name, layer.type, net._blob_names[blob_id], _kinds(blob.xdiff))
    return None


def _kinds(array):
    values = to_host(array)
    found = [name for name, test in (('nan', np.isnan), ('inf', np.isinf)) if test(values).any()]
    return ' and '.join(found)
