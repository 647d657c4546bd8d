"""Upgrading legacy network and solver definitions to the current schema.

Caffe upgrades old files on the fly when it reads them; so do we. Each
``upgrade_*`` function changes a NetParameter in place and is only called
when its ``needs_*`` test says so.
"""
from .proto import caffe_pb2


def needs_input_upgrade(net):
    return len(net.input) > 0


def upgrade_input(net):
    """Turn top-level ``input`` + ``input_shape``/``input_dim`` into a leading
    ``Input`` layer named "input". A bare ``input`` list with no shapes (old
    caffemodels) is simply dropped."""
    shapes = list(net.input_shape)
    dims = list(net.input_dim)
    if shapes or dims:
        layer = caffe_pb2.LayerParameter(name='input', type='Input')
        for i, name in enumerate(net.input):
            layer.top.append(name)
            shape = layer.input_param.shape.add()
            if shapes:
                shape.CopyFrom(shapes[i])
            else:
                shape.dim.extend(dims[4 * i:4 * i + 4])
        layers = [layer] + list(net.layer)
        del net.layer[:]
        net.layer.extend(layers)
    net.ClearField('input')
    net.ClearField('input_shape')
    net.ClearField('input_dim')


def upgrade_net(net, source=None):
    """Upgrade ``net`` (a NetParameter) in place as needed; returns True when
    anything changed. ``source`` names the file for error messages."""
    changed = False
    if needs_input_upgrade(net):
        upgrade_input(net)
        changed = True
    return changed
