"""FC -> conv surgery (BVLC's net_surgery example, as a function).

Each InnerProduct of the TEST net becomes a Convolution named ``<name>-conv``
(its top too): the first one after a spatial blob gets a kernel the size of
that blob, the following ones 1x1, and its weights are the InnerProduct's,
reshaped from (outputs, C*H*W) to (outputs, C, H, W). On an input of the
original size the new net computes exactly what the old one did; on a
larger input every output cell is the classifier applied to one window of
the last spatial blob, a map of class scores in one forward pass.
"""
from ..errors import CaffeError
from ..net import TEST, Net
from ..proto import caffe_pb2
from .checks import Problem, SurgeryError
from .editable import EditableNet

SPATIAL_BREAKERS = ('Flatten', 'Reshape')


def _conv_from_inner_product(ip, bottom_shape, suffix):
    """(Convolution LayerParameter, kernel (kh, kw)) replacing ``ip``."""
    p = ip.inner_product_param
    if p.axis % len(bottom_shape) != 1:
        raise CaffeError("layer '%s': only InnerProducts over axis 1 can become convolutions "
                         '(axis is %d)' % (ip.name, p.axis))
    kernel = tuple(bottom_shape[2:]) if len(bottom_shape) == 4 else (1, 1)
    conv = caffe_pb2.LayerParameter(name=ip.name + suffix, type='Convolution',
                                    bottom=list(ip.bottom),
                                    top=[t + suffix for t in ip.top])
    conv.param.extend(ip.param)
    conv.include.extend(ip.include)
    conv.exclude.extend(ip.exclude)
    c = conv.convolution_param
    c.num_output = p.num_output
    c.bias_term = p.bias_term
    if kernel[0] == kernel[1]:
        c.kernel_size.append(kernel[0])
    else:
        c.kernel_h, c.kernel_w = kernel
    if p.HasField('weight_filler'):
        c.weight_filler.CopyFrom(p.weight_filler)
    if p.HasField('bias_filler'):
        c.bias_filler.CopyFrom(p.bias_filler)
    return conv, kernel


def _reshaped_weights(ip_layer, kernel):
    """The InnerProduct's (outputs, inputs) weights as (outputs, C, kh, kw)."""
    weights = ip_layer.blobs[0].data
    if ip_layer.layer_param.inner_product_param.transpose:
        weights = weights.T
    outputs, inputs = weights.shape
    area = kernel[0] * kernel[1]
    if inputs % area:
        raise CaffeError("layer '%s': %d inputs do not split into %dx%d windows"
                         % (ip_layer.name, inputs, kernel[0], kernel[1]))
    return weights.reshape(outputs, inputs // area, kernel[0], kernel[1])


def _set_input_size(edit, size):
    """Make every Input layer's tops (N, C, height, width)."""
    inputs = [l for l in edit.layers if l.type == 'Input']
    if not inputs:
        raise CaffeError('the net has no Input layer to resize')
    for layer in inputs:
        for shape in edit.layer(layer.name).input_param.shape:
            if len(shape.dim) != 4:
                raise CaffeError("input of layer '%s' is not N x C x H x W" % layer.name)
            shape.dim[2], shape.dim[3] = size


def to_fully_convolutional(model, weights=None, suffix='-conv', input_size=None):
    """(NetParameter, weights NetParameter or None) of the fully
    convolutional version of ``model`` (deploy prototxt path, text or
    NetParameter) and its ``weights`` (.caffemodel; None: none to move).
    ``input_size``: (height, width) for the new net's Input layers."""
    edit = EditableNet(model)
    original = Net(edit.param, TEST)
    if weights is not None:
        original.copy_from(weights).require_some()
    edit.check(TEST)
    moved = {}
    for name, layer in original.layer_dict.items():
        if layer.type in SPATIAL_BREAKERS:
            raise SurgeryError([Problem(name, original.top_names[name][0], edit.line_of(name),
                                        '%s flattens the spatial map: remove it (and feed '
                                        'the InnerProduct the spatial blob) first'
                                        % layer.type)], edit.path)
        if layer.type != 'InnerProduct':
            continue
        bottom_shape = original.blobs[original.bottom_names[name][0]].shape
        conv, kernel = _conv_from_inner_product(edit.layer(name), bottom_shape, suffix)
        edit.replace_layer(name, conv)
        for top in edit.layer(conv.name).top:
            edit.rename_blob(top[:-len(suffix)], top)
        moved[conv.name] = [_reshaped_weights(layer, kernel)] + [b.data for b in layer.blobs[1:]]
    if not moved:
        raise CaffeError('the net has no InnerProduct layer to convert')
    converted = Net(edit.param, TEST)
    weights_out = None
    if weights is not None:
        mine = converted.layer_dict
        for name, layer in original.layer_dict.items():
            target = mine.get(name)
            if target is not None and layer.type != 'InnerProduct':
                for blob, source in zip(target.blobs, layer.blobs):
                    blob.data[...] = source.data
        for name, arrays in moved.items():
            for blob, array in zip(mine[name].blobs, arrays):
                blob.data[...] = array.reshape(blob.shape)
        weights_out = converted.to_proto()
    if input_size is not None:
        _set_input_size(edit, input_size)
    return edit.param, weights_out
