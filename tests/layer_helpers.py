"""Building and running one layer outside a Net, for the layer tests."""
from google.protobuf import text_format

from caffelite.blob import Blob
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2


def make(text, phase=caffe_pb2.TEST):
    """A layer from the text of a LayerParameter."""
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    param.name = param.name or 'layer'
    param.phase = phase
    return create_layer(param)


def setup(layer, x, in_place=False):
    """(bottom, top) blobs with bottom = x, set up for ``layer``."""
    bottom = Blob(x.shape)
    bottom.data[...] = x
    top = bottom if in_place else Blob()
    layer.layer_setup([bottom], [top])
    return bottom, top


def run(layer, x, dy=None, in_place=False):
    """Set up and forward ``layer`` on x (and backward dy): (y, dx) copies."""
    bottom, top = setup(layer, x, in_place)
    layer.layer_forward([bottom], [top])
    y = top.data.copy()
    if dy is None:
        return y, None
    top.diff[...] = dy
    layer.layer_backward([top], [True], [bottom])
    return y, bottom.diff.copy()
