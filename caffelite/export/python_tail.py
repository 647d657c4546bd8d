"""Python layers left out of an exported graph and run after it.

A net may end in Python layers that ONNX cannot express, DetectNet's
ClusterDetections for one. With ``python_tail`` the exporter leaves out
the Python layers at the end of the net (those whose tops feed nothing but
other such layers), makes their bottoms the graph's outputs, and records
their LayerParameters in the model's metadata. ``postprocess`` then runs
them, as caffelite runs Python layers, on ONNX Runtime's outputs:

    session = onnxruntime.InferenceSession('detectnet.onnx')
    names = [o.name for o in session.get_outputs()]
    outputs = dict(zip(names, session.run(names, {'data': images})))
    results = caffelite.export.postprocess('detectnet.onnx', outputs)
    boxes = results['bbox-list']

The layers' Python modules must be importable where this runs.
"""
import json

import numpy as np

from ..blob import Blob
from ..errors import CaffeError
from ..proto import caffe_pb2
from ..protoio import parse_text

METADATA_KEY = 'caffelite.postprocess'


def tail_python_layers(net):
    """Indices of the Python layers at the end of ``net``: none of their
    tops is read by a layer outside the set."""
    tail, readers = set(), {}
    for i, layer in enumerate(net.layers):
        for blob in layer.layer_param.bottom:
            readers.setdefault(blob, set()).add(i)
    for i in reversed(range(len(net.layers))):
        lp = net.layers[i].layer_param
        if lp.type != 'Python':
            continue
        if all(readers.get(top, set()) <= tail for top in lp.top):
            tail.add(i)
    return sorted(tail)


def record(model, net, indices):
    """Store the LayerParameters of layers ``indices`` in ``model``."""
    layers = []
    for i in indices:
        lp = caffe_pb2.LayerParameter()
        lp.CopyFrom(net.layers[i].layer_param)
        lp.phase = caffe_pb2.TEST
        layers.append(str(lp))
    entry = model.metadata_props.add()
    entry.key, entry.value = METADATA_KEY, json.dumps(layers)


def recorded_layers(model):
    """The LayerParameters recorded in ``model`` (a ModelProto or a path)."""
    if isinstance(model, (str, bytes)) or hasattr(model, '__fspath__'):
        import onnx
        model = onnx.load(model, load_external_data=False)
    for entry in model.metadata_props:
        if entry.key == METADATA_KEY:
            return [parse_text(text, caffe_pb2.LayerParameter())
                    for text in json.loads(entry.value)]
    return []


def postprocess(model, outputs):
    """{blob: array} of ``outputs`` (the graph's, by name) plus the tops of
    the recorded Python layers, run in order on them."""
    from ..layers import create_layer
    blobs = {name: np.asarray(value, np.float32) for name, value in outputs.items()}
    for lp in recorded_layers(model):
        missing = [b for b in lp.bottom if b not in blobs]
        if missing:
            raise CaffeError("post-processing layer '%s' needs %s, which the outputs lack"
                             % (lp.name, ', '.join(missing)))
        bottom = []
        for name in lp.bottom:
            blob = Blob(blobs[name].shape)
            blob.data[...] = blobs[name]
            bottom.append(blob)
        top = [Blob() for _ in lp.top]
        layer = create_layer(lp)
        layer.layer_setup(bottom, top)
        layer.layer_forward(bottom, top)
        blobs.update((name, np.array(blob.data)) for name, blob in zip(lp.top, top))
    return blobs
