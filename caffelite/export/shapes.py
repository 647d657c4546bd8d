"""Batch sizes of an exported graph: a fixed batch, or a dynamic one whose
validity is probed by reshaping the net.

A graph with a dynamic batch computes every shape constant from the
export-time shapes and leaves only axis 0 open, so it is right for any
batch exactly when the net's blobs vary with the batch only along axis 0.
The probe reshapes the net at two batch sizes and compares.
"""
import contextlib

import numpy as np

from ..errors import CaffeError

PROBE_SIZES = (1, 2)


@contextlib.contextmanager
def input_shapes(net, shapes):
    """The net reshaped so input ``name`` has ``shapes[name]`` (all inputs
    named); its input shapes and data are put back afterwards."""
    saved = {name: np.array(net.blobs[name].data) for name in net.inputs}
    try:
        if shapes:
            for name in saved:
                net.blobs[name].reshape(tuple(shapes[name]))
            net.reshape()
        yield net
    finally:
        if shapes:
            for name, data in saved.items():
                net.blobs[name].reshape(data.shape)
                net.blobs[name].data[...] = data
            net.reshape()


def input_batch(net, size):
    """input_shapes with ``size`` items on axis 0 of every input (None:
    the net as it is)."""
    if size is None:
        return input_shapes(net, None)
    return input_shapes(net, {name: (size,) + net.blobs[name].shape[1:]
                              for name in net.inputs})


def _producers(net):
    """{blob: name of the layer that last writes it}."""
    found = {}
    for layer in net.layers:
        for top in layer.layer_param.top:
            found[top] = layer.layer_param.name
    return found


def probe_batch(net):
    """{blob: (shape at batch 1, shape at batch 2)} over every blob; a
    CaffeError naming the first layer whose tops vary outside axis 0 (or
    that cannot take another batch size)."""
    shapes = {}
    for size in PROBE_SIZES:
        try:
            with input_batch(net, size):
                for name, blob in net.blobs.items():
                    shapes.setdefault(name, []).append(blob.shape)
        except CaffeError as e:
            raise CaffeError('a dynamic batch is impossible: at batch %d, %s' % (size, e)) from e
    producers = _producers(net)
    for name, (one, two) in shapes.items():
        if len(one) != len(two) or one[1:] != two[1:]:
            raise CaffeError("a dynamic batch is impossible: blob '%s' (from layer '%s') is %s "
                             "at batch 1 and %s at batch 2; export with a fixed --batch"
                             % (name, producers.get(name, '?'), one, two))
    return shapes
