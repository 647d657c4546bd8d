"""Finding where training went non-finite, as Caffe's ``debug_info`` would
show it: the first layer, in forward order, whose output holds a NaN or an
infinity, else the first, in backward order, whose gradient (of a bottom
or of a parameter) does."""
import numpy as np

from .backend import to_host


def _finite(array):
    # A float64 sum is non-finite exactly when an element is (float32
    # values cannot overflow it), and needs no boolean temporary.
    return bool(np.isfinite(float(array.sum(dtype=np.float64))))


def first_non_finite(net):
    """A description of the first non-finite output or gradient of ``net``
    after its last forward and backward, or None when all are finite."""
    for i, layer in enumerate(net.layers):
        for blob_id in net._top_ids[i]:
            blob = net._blobs[blob_id]
            if blob.count and not _finite(blob.xdata):
                return "layer '%s' (%s) output '%s' (%s)" % (
                    layer.name, layer.type, net._blob_names[blob_id], _kinds(blob.xdata))
    for i in reversed(range(len(net.layers))):
        layer = net.layers[i]
        if not net._layer_need_backward[i]:
            continue
        for k, param in enumerate(layer.blobs):
            if param.count and not _finite(param.xdiff):
                return "layer '%s' (%s) gradient of param %d (%s)" % (
                    layer.name, layer.type, k, _kinds(param.xdiff))
        for j, blob_id in enumerate(net._bottom_ids[i]):
            blob = net._blobs[blob_id]
            if net._bottom_need_backward[i][j] and blob.count and not _finite(blob.xdiff):
                return "layer '%s' (%s) gradient of bottom '%s' (%s)" % (
                    layer.name, layer.type, net._blob_names[blob_id], _kinds(blob.xdiff))
    return None


def all_finite(blobs, field='xdiff'):
    """Whether every blob's ``field`` array is finite."""
    return all(_finite(getattr(blob, field)) for blob in blobs if blob.count)


def _kinds(array):
    values = to_host(array)
    found = [name for name, test in (('nan', np.isnan), ('inf', np.isinf)) if test(values).any()]
    return ' and '.join(found)
