"""The deploy net of a training net, for classifying single images with
the weights the training net learns (what DIGITS writes as deploy.prototxt).

From the TEST-phase layers of a train_val net: the data layers become one
``Input`` blob of one image (the data top's C x H x W, after cropping);
their ``transform_param.scale`` is kept as a Power layer, so the deploy net
takes mean-subtracted 0-255 pixels as ``caffelite classify``, DIGITS and
the course code give them; layers that need the labels (losses, Accuracy)
are dropped, and a Softmax ``prob`` is put on what each SoftmaxWithLoss
read. Include/exclude rules go, since a deploy net has one phase.
"""
from . import netgraph
from .errors import NetError
from .proto import caffe_pb2

# Layer types that read a source and feed the net's data and label blobs.
DATA_TYPES = ('Data', 'ImageData', 'HDF5Data', 'MemoryData', 'WindowData', 'DummyData',
              'Input')


def deploy_from_training(net_param, data_shape):
    """The deploy NetParameter of ``net_param`` (a train_val NetParameter)
    whose first data top holds images of ``data_shape`` (C, H, W). That
    input is the net's own ``input`` and ``input_shape`` (1, C, H, W), as
    DIGITS writes a deploy file: its example.py reads the shape from there
    (loading makes it an Input layer)."""
    test = caffe_pb2.NetParameter()
    test.CopyFrom(net_param)
    test.state.CopyFrom(caffe_pb2.NetState(phase=caffe_pb2.TEST))
    layers = netgraph.filter_net(test).layer
    data = [lp for lp in layers if lp.type in DATA_TYPES and not len(lp.bottom)]
    if not data or not len(data[0].top):
        raise NetError("net '%s' has no data layer to replace by a deploy input" % net_param.name)
    deploy = caffe_pb2.NetParameter(name=net_param.name)
    name = data[0].top[0]
    deploy.input.append(name)
    deploy.input_shape.add(dim=[1] + [int(d) for d in data_shape])
    # WindowData scales by its own window_data_param.scale (Caffe ignores its
    # transform_param's)
    scaling = (data[0].window_data_param if data[0].type == 'WindowData'
               else data[0].transform_param)
    scale = scaling.scale
    if scaling.HasField('scale') and scale != 1:
        deploy.layer.add(name=name + '_scale', type='Power', bottom=[name], top=[name],
                         power_param=caffe_pb2.PowerParameter(scale=scale))
    available = {name}
    for lp in layers:
        if lp in data:
            continue
        if lp.type == 'SoftmaxWithLoss' and lp.bottom[0] in available:
            deploy.layer.add(name='prob', type='Softmax', bottom=[lp.bottom[0]], top=['prob'])
            available.add('prob')
            continue
        if any(b not in available for b in lp.bottom) or 'Loss' in lp.type:
            continue
        kept = deploy.layer.add()
        kept.CopyFrom(lp)
        kept.ClearField('include')
        kept.ClearField('exclude')
        kept.ClearField('phase')
        kept.ClearField('loss_weight')
        available.update(lp.top)
    return deploy
