"""Upgrading legacy network and solver definitions to the current schema,
with the results of Caffe's upgrade_proto: V0 nets (``layers { layer { type:
"conv" } }`` with padding layers), V1 nets and caffemodels (``layers { type:
CONVOLUTION blobs_lr: 1 }``), data-layer transform fields, top-level
``input`` declarations, BatchNorm's old param specs, and the ``solver_type``
enum of old solvers. Every function changes its message in place.
"""
from .errors import NetError
from .proto import caffe_pb2

V1 = caffe_pb2.V1LayerParameter

# V0 type strings -> current type names.
V0_TYPES = {
    'accuracy': 'Accuracy', 'bnll': 'BNLL', 'concat': 'Concat', 'conv': 'Convolution',
    'data': 'Data', 'dropout': 'Dropout', 'euclidean_loss': 'EuclideanLoss',
    'flatten': 'Flatten', 'hdf5_data': 'HDF5Data', 'hdf5_output': 'HDF5Output',
    'im2col': 'Im2col', 'images': 'ImageData', 'infogain_loss': 'InfogainLoss',
    'innerproduct': 'InnerProduct', 'lrn': 'LRN',
    'multinomial_logistic_loss': 'MultinomialLogisticLoss', 'pool': 'Pooling',
    'relu': 'ReLU', 'sigmoid': 'Sigmoid', 'softmax': 'Softmax',
    'softmax_loss': 'SoftmaxWithLoss', 'split': 'Split', 'tanh': 'TanH',
    'window_data': 'WindowData',
}

# V1 LayerType enum names -> current type names.
V1_TYPES = {
    'ABSVAL': 'AbsVal', 'ACCURACY': 'Accuracy', 'ARGMAX': 'ArgMax', 'BNLL': 'BNLL',
    'CONCAT': 'Concat', 'CONTRASTIVE_LOSS': 'ContrastiveLoss', 'CONVOLUTION': 'Convolution',
    'DECONVOLUTION': 'Deconvolution', 'DATA': 'Data', 'DROPOUT': 'Dropout',
    'DUMMY_DATA': 'DummyData', 'EUCLIDEAN_LOSS': 'EuclideanLoss', 'ELTWISE': 'Eltwise',
    'EXP': 'Exp', 'FLATTEN': 'Flatten', 'HDF5_DATA': 'HDF5Data', 'HDF5_OUTPUT': 'HDF5Output',
    'HINGE_LOSS': 'HingeLoss', 'IM2COL': 'Im2col', 'IMAGE_DATA': 'ImageData',
    'INFOGAIN_LOSS': 'InfogainLoss', 'INNER_PRODUCT': 'InnerProduct', 'LRN': 'LRN',
    'MEMORY_DATA': 'MemoryData', 'MULTINOMIAL_LOGISTIC_LOSS': 'MultinomialLogisticLoss',
    'MVN': 'MVN', 'POOLING': 'Pooling', 'POWER': 'Power', 'RELU': 'ReLU',
    'SIGMOID': 'Sigmoid', 'SIGMOID_CROSS_ENTROPY_LOSS': 'SigmoidCrossEntropyLoss',
    'SILENCE': 'Silence', 'SOFTMAX': 'Softmax', 'SOFTMAX_LOSS': 'SoftmaxWithLoss',
    'SPLIT': 'Split', 'SLICE': 'Slice', 'TANH': 'TanH', 'WINDOW_DATA': 'WindowData',
    'THRESHOLD': 'Threshold',
}

_DATA_SOURCES = {'data': 'data_param', 'hdf5_data': 'hdf5_data_param',
                 'images': 'image_data_param', 'window_data': 'window_data_param'}
_TRANSFORM = {'scale': 'scale', 'meanfile': 'mean_file', 'cropsize': 'crop_size',
              'mirror': 'mirror'}


def _v0_targets():
    """V0 field -> {V0 type: (parameter message field, field in it)}."""
    conv_ip = {'conv': 'convolution_param', 'innerproduct': 'inner_product_param'}
    conv_pool = {'conv': 'convolution_param', 'pool': 'pooling_param'}
    lrn = {'lrn': 'lrn_param'}
    table = {}
    for field, types, target in [
            ('num_output', conv_ip, 'num_output'), ('biasterm', conv_ip, 'bias_term'),
            ('weight_filler', conv_ip, 'weight_filler'), ('bias_filler', conv_ip, 'bias_filler'),
            ('pad', conv_pool, 'pad'), ('kernelsize', conv_pool, 'kernel_size'),
            ('stride', conv_pool, 'stride'), ('group', {'conv': 'convolution_param'}, 'group'),
            ('pool', {'pool': 'pooling_param'}, 'pool'),
            ('dropout_ratio', {'dropout': 'dropout_param'}, 'dropout_ratio'),
            ('local_size', lrn, 'local_size'), ('alpha', lrn, 'alpha'), ('beta', lrn, 'beta'),
            ('k', lrn, 'k'),
            ('source', dict(_DATA_SOURCES, infogain_loss='infogain_loss_param'), 'source'),
            ('batchsize', _DATA_SOURCES, 'batch_size'),
            ('rand_skip', {'data': 'data_param', 'images': 'image_data_param'}, 'rand_skip'),
            ('shuffle_images', {'images': 'image_data_param'}, 'shuffle'),
            ('new_height', {'images': 'image_data_param'}, 'new_height'),
            ('new_width', {'images': 'image_data_param'}, 'new_width'),
            ('concat_dim', {'concat': 'concat_param'}, 'concat_dim'),
            ('det_fg_threshold', {'window_data': 'window_data_param'}, 'fg_threshold'),
            ('det_bg_threshold', {'window_data': 'window_data_param'}, 'bg_threshold'),
            ('det_fg_fraction', {'window_data': 'window_data_param'}, 'fg_fraction'),
            ('det_context_pad', {'window_data': 'window_data_param'}, 'context_pad'),
            ('det_crop_mode', {'window_data': 'window_data_param'}, 'crop_mode')]:
        table[field] = {t: (message, target) for t, message in types.items()}
    return table


V0_FIELDS = _v0_targets()


def _set(message, field, value):
    """Assign a scalar, message or repeated-field value."""
    target = getattr(message, field)
    if hasattr(target, 'CopyFrom'):
        target.CopyFrom(value)
    elif hasattr(target, 'append'):
        target.append(value)
    else:
        setattr(message, field, value)


# --- V0 -> V1 (kept as V1LayerParameter, then upgraded to V2 below) -------
def needs_v0_upgrade(net):
    return any(l.HasField('layer') for l in net.layers)


def _fold_padding_layers(net, source):
    """Drop V0 'padding' layers, moving their pad into the consuming conv/pool."""
    producer, kept = {name: None for name in net.input}, []
    for layer in net.layers:
        if layer.layer.type != 'padding':
            kept.append(layer)
        for j, name in enumerate(layer.bottom):
            src = producer.get(name)
            if src is None or src.layer.type != 'padding':
                continue
            if layer.layer.type not in ('conv', 'pool') or len(layer.bottom) != 1:
                raise NetError('%s: padding layer %r feeds %r, which is not a single-input '
                               'convolution or pooling layer'
                               % (source or 'net', src.layer.name, layer.layer.name))
            layer.layer.pad = src.layer.pad
            layer.bottom[j] = src.bottom[0]
        for name in layer.top:
            producer[name] = layer
    copies = [caffe_pb2.V1LayerParameter.FromString(l.SerializeToString()) for l in kept]
    del net.layers[:]
    net.layers.extend(copies)


def _v0_to_v2(connection, source):
    """A current LayerParameter from a V0 layer and its V1 connection."""
    v0 = connection.layer
    if v0.type not in V0_TYPES:
        raise NetError('%s: unknown V0 layer type %r (layer %r)' % (source or 'net', v0.type,
                                                                   v0.name))
    layer = caffe_pb2.LayerParameter(name=v0.name, type=V0_TYPES[v0.type])
    layer.bottom.extend(connection.bottom)
    layer.top.extend(connection.top)
    for field, value in v0.ListFields():
        name = field.name
        if name in ('name', 'type'):
            continue
        if name == 'blobs':
            layer.blobs.extend(value)
        elif name in ('blobs_lr', 'weight_decay'):
            _param_specs(layer, len(value))
            for spec, v in zip(layer.param, value):
                setattr(spec, 'lr_mult' if name == 'blobs_lr' else 'decay_mult', v)
        elif name in _TRANSFORM:
            setattr(layer.transform_param, _TRANSFORM[name], value)
        elif name == 'hdf5_output_param':
            layer.hdf5_output_param.CopyFrom(value)
        elif name in V0_FIELDS and v0.type in V0_FIELDS[name]:
            message, target = V0_FIELDS[name][v0.type]
            _set(getattr(layer, message), target, value)
        else:
            raise NetError('%s: V0 layer %r (%s) has field %r, which that type does not take'
                           % (source or 'net', v0.name, v0.type, name))
    return layer


def _param_specs(layer, count):
    while len(layer.param) < count:
        layer.param.add()


# --- V1 -> V2 ---------------------------------------------------------------
def needs_v1_upgrade(net):
    return len(net.layers) > 0


def _v1_to_v2(v1, source):
    if v1.HasField('layer'):
        return _v0_to_v2(v1, source)
    type_name = V1.LayerType.Name(v1.type)
    if type_name not in V1_TYPES:
        raise NetError('%s: V1 layer %r has no type' % (source or 'net', v1.name))
    layer = caffe_pb2.LayerParameter(name=v1.name, type=V1_TYPES[type_name])
    layer.bottom.extend(v1.bottom)
    layer.top.extend(v1.top)
    layer.include.extend(v1.include)
    layer.exclude.extend(v1.exclude)
    layer.loss_weight.extend(v1.loss_weight)
    layer.blobs.extend(v1.blobs)
    specs = max(len(v1.param), len(v1.blob_share_mode), len(v1.blobs_lr), len(v1.weight_decay))
    _param_specs(layer, specs)
    for i, name in enumerate(v1.param):
        layer.param[i].name = name
    for i, mode in enumerate(v1.blob_share_mode):
        layer.param[i].share_mode = mode
    for i, value in enumerate(v1.blobs_lr):
        layer.param[i].lr_mult = value
    for i, value in enumerate(v1.weight_decay):
        layer.param[i].decay_mult = value
    own = {f.name for f in caffe_pb2.LayerParameter.DESCRIPTOR.fields}
    for field, value in v1.ListFields():
        if field.name.endswith('_param') and field.name in own:
            getattr(layer, field.name).CopyFrom(value)
    return layer


def upgrade_v1(net, source=None):
    """Replace the legacy ``layers`` (V0 or V1) by current ``layer`` entries."""
    if len(net.layer):
        raise NetError('%s: the net has both current "layer" and legacy "layers" fields'
                       % (source or 'net'))
    if needs_v0_upgrade(net):
        _fold_padding_layers(net, source)
    layers = [_v1_to_v2(l, source) for l in net.layers]
    del net.layers[:]
    net.layer.extend(layers)


# --- data transformation fields ---------------------------------------------
def needs_data_upgrade(net):
    return any(_legacy_transform_fields(l) for l in net.layer)


def _legacy_transform_fields(layer):
    """(param message, [field names]) holding transform settings the old way."""
    for name in ('data_param', 'image_data_param', 'window_data_param'):
        if layer.HasField(name):
            message = getattr(layer, name)
            fields = [f for f in ('scale', 'mean_file', 'crop_size', 'mirror')
                      if message.HasField(f)]
            if fields:
                return message, fields
    return None


def upgrade_data_transform(net):
    for layer in net.layer:
        found = _legacy_transform_fields(layer)
        if found:
            message, fields = found
            for f in fields:
                setattr(layer.transform_param, f, getattr(message, f))
                message.ClearField(f)


# --- input fields -------------------------------------------------------------
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
        layers = [layer] + [caffe_pb2.LayerParameter.FromString(l.SerializeToString())
                            for l in net.layer]
        del net.layer[:]
        net.layer.extend(layers)
    net.ClearField('input')
    net.ClearField('input_shape')
    net.ClearField('input_dim')


# --- BatchNorm ------------------------------------------------------------------
def needs_batchnorm_upgrade(net):
    return any(l.type == 'BatchNorm' and len(l.param) == 3 for l in net.layer)


def upgrade_batchnorm(net):
    """Old BatchNorm definitions gave 3 param specs; their statistics must
    never be learned, so force lr_mult and decay_mult to 0."""
    for layer in net.layer:
        if layer.type == 'BatchNorm' and len(layer.param) == 3:
            for spec in layer.param:
                spec.lr_mult = 0
                spec.decay_mult = 0


def upgrade_net(net, source=None):
    """Upgrade ``net`` (a NetParameter) in place as needed, in Caffe's order;
    returns the names of the upgrades applied. ``source`` names the file."""
    steps = [('V0/V1 layers', needs_v1_upgrade, lambda n: upgrade_v1(n, source)),
             ('data transformation', needs_data_upgrade, upgrade_data_transform),
             ('input fields', needs_input_upgrade, upgrade_input),
             ('BatchNorm params', needs_batchnorm_upgrade, upgrade_batchnorm)]
    applied = []
    for name, needed, apply in steps:
        if needed(net):
            apply(net)
            applied.append(name)
    return applied


SOLVER_TYPES = {caffe_pb2.SolverParameter.SGD: 'SGD',
                caffe_pb2.SolverParameter.NESTEROV: 'Nesterov',
                caffe_pb2.SolverParameter.ADAGRAD: 'AdaGrad',
                caffe_pb2.SolverParameter.RMSPROP: 'RMSProp',
                caffe_pb2.SolverParameter.ADADELTA: 'AdaDelta',
                caffe_pb2.SolverParameter.ADAM: 'Adam'}


def upgrade_solver(solver, source=None):
    """Move the old ``solver_type`` enum into ``type``; returns True if changed."""
    if not solver.HasField('solver_type'):
        return False
    if solver.HasField('type'):
        raise NetError('%s: give solver_type or type, not both' % (source or 'solver'))
    solver.type = SOLVER_TYPES[solver.solver_type]
    solver.ClearField('solver_type')
    return True
