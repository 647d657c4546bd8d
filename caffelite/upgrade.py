"""Upgrading legacy network and solver definitions to the current schema, with
the results of Caffe's ``upgrade_proto``.

A loaded NetParameter (prototxt or caffemodel) goes through these steps, each
applied only when needed and in Caffe's order:

1. V0 -> V1: ``layers { layer { type: "conv" kernelsize: 3 } }`` becomes
   ``layers { type: CONVOLUTION convolution_param { kernel_size: 3 } }``;
   V0 ``padding`` layers disappear into the pad of the layer they feed.
2. Data transformation: a V1 data layer's ``scale``/``mean_file``/
   ``crop_size``/``mirror`` move into ``transform_param``.
3. V1 -> V2: ``layers { type: CONVOLUTION blobs_lr: 1 }`` becomes
   ``layer { type: "Convolution" param { lr_mult: 1 } }``, blobs kept.
4. Input: top-level ``input`` + ``input_shape``/``input_dim`` become an
   ``Input`` layer named "input".
5. BatchNorm: old definitions with three param specs get lr_mult and
   decay_mult forced to 0 (the statistics are never learned).

Like Caffe, a V0 field that the layer's type does not take is dropped with a
warning; broken definitions raise :class:`NetError` naming the file and layer.
Every function changes its message in place.
"""
import logging

from google.protobuf import unknown_fields

from .errors import CaffeError, NetError
from .proto import caffe_pb2

log = logging.getLogger('caffelite.upgrade')

V0 = caffe_pb2.V0LayerParameter
V1 = caffe_pb2.V1LayerParameter

# V0 type strings -> V1 LayerType enum names (a V0 net becomes V1 first).
V0_TYPES = {
    'accuracy': 'ACCURACY', 'bnll': 'BNLL', 'concat': 'CONCAT', 'conv': 'CONVOLUTION',
    'data': 'DATA', 'dropout': 'DROPOUT', 'euclidean_loss': 'EUCLIDEAN_LOSS',
    'flatten': 'FLATTEN', 'hdf5_data': 'HDF5_DATA', 'hdf5_output': 'HDF5_OUTPUT',
    'im2col': 'IM2COL', 'images': 'IMAGE_DATA', 'infogain_loss': 'INFOGAIN_LOSS',
    'innerproduct': 'INNER_PRODUCT', 'lrn': 'LRN',
    'multinomial_logistic_loss': 'MULTINOMIAL_LOGISTIC_LOSS', 'pool': 'POOLING',
    'relu': 'RELU', 'sigmoid': 'SIGMOID', 'softmax': 'SOFTMAX', 'softmax_loss': 'SOFTMAX_LOSS',
    'split': 'SPLIT', 'tanh': 'TANH', 'window_data': 'WINDOW_DATA',
}

# V1 LayerType enum names -> current type names (NONE: no type at all).
V1_TYPES = {
    'NONE': '', 'ABSVAL': 'AbsVal', 'ACCURACY': 'Accuracy', 'ARGMAX': 'ArgMax',
    'BNLL': 'BNLL', 'CONCAT': 'Concat', 'CONTRASTIVE_LOSS': 'ContrastiveLoss',
    'CONVOLUTION': 'Convolution', 'DECONVOLUTION': 'Deconvolution', 'DATA': 'Data',
    'DROPOUT': 'Dropout', 'DUMMY_DATA': 'DummyData', 'EUCLIDEAN_LOSS': 'EuclideanLoss',
    'ELTWISE': 'Eltwise', 'EXP': 'Exp', 'FLATTEN': 'Flatten', 'HDF5_DATA': 'HDF5Data',
    'HDF5_OUTPUT': 'HDF5Output', 'HINGE_LOSS': 'HingeLoss', 'IM2COL': 'Im2col',
    'IMAGE_DATA': 'ImageData', 'INFOGAIN_LOSS': 'InfogainLoss',
    'INNER_PRODUCT': 'InnerProduct', 'LRN': 'LRN', 'MEMORY_DATA': 'MemoryData',
    'MULTINOMIAL_LOGISTIC_LOSS': 'MultinomialLogisticLoss', 'MVN': 'MVN',
    'POOLING': 'Pooling', 'POWER': 'Power', 'RELU': 'ReLU', 'SIGMOID': 'Sigmoid',
    'SIGMOID_CROSS_ENTROPY_LOSS': 'SigmoidCrossEntropyLoss', 'SILENCE': 'Silence',
    'SOFTMAX': 'Softmax', 'SOFTMAX_LOSS': 'SoftmaxWithLoss', 'SPLIT': 'Split',
    'SLICE': 'Slice', 'TANH': 'TanH', 'WINDOW_DATA': 'WindowData', 'THRESHOLD': 'Threshold',
}

# Caffe's old SolverType enum names and the ``type`` strings that replaced them.
SOLVER_TYPES = {'SGD': 'SGD', 'NESTEROV': 'Nesterov', 'ADAGRAD': 'AdaGrad',
                'RMSPROP': 'RMSProp', 'ADADELTA': 'AdaDelta', 'ADAM': 'Adam'}


def _where(source, layer_name=None):
    """'file: layer 'name'' prefix of error messages."""
    where = source or 'net'
    return where if layer_name is None else "%s: layer '%s'" % (where, layer_name)


def _check_not_mixed(net, source):
    if len(net.layer) and len(net.layers):
        raise NetError('%s: the definition has both "layer" and legacy "layers" fields; '
                       'write it with "layer { type: \'Name\' }" entries only'
                       % _where(source))


# --- V0 -> V1 -------------------------------------------------------------------
_CONV = ('conv', 'convolution_param')
_IP = ('innerproduct', 'inner_product_param')
_POOL = ('pool', 'pooling_param')
_LRN = ('lrn', 'lrn_param')
_DATA = ('data', 'data_param')
_HDF5 = ('hdf5_data', 'hdf5_data_param')
_IMAGES = ('images', 'image_data_param')
_WINDOW = ('window_data', 'window_data_param')
_ANY = (None, 'transform_param')   # V0 transform fields apply to any type

# V0 field -> (field in the new parameter message, or None for the whole
# message; [(V0 type that takes it, V1 parameter message)]).
_V0_FIELDS = {
    'num_output': ('num_output', [_CONV, _IP]),
    'biasterm': ('bias_term', [_CONV, _IP]),
    'weight_filler': ('weight_filler', [_CONV, _IP]),
    'bias_filler': ('bias_filler', [_CONV, _IP]),
    'pad': ('pad', [_CONV, _POOL]),
    'kernelsize': ('kernel_size', [_CONV, _POOL]),
    'group': ('group', [_CONV]),
    'stride': ('stride', [_CONV, _POOL]),
    'pool': ('pool', [_POOL]),
    'dropout_ratio': ('dropout_ratio', [('dropout', 'dropout_param')]),
    'local_size': ('local_size', [_LRN]),
    'alpha': ('alpha', [_LRN]),
    'beta': ('beta', [_LRN]),
    'k': ('k', [_LRN]),
    'source': ('source', [_DATA, _HDF5, _IMAGES, _WINDOW,
                          ('infogain_loss', 'infogain_loss_param')]),
    'scale': ('scale', [_ANY]),
    'meanfile': ('mean_file', [_ANY]),
    'batchsize': ('batch_size', [_DATA, _HDF5, _IMAGES, _WINDOW]),
    'cropsize': ('crop_size', [_ANY]),
    'mirror': ('mirror', [_ANY]),
    'rand_skip': ('rand_skip', [_DATA, _IMAGES]),
    'shuffle_images': ('shuffle', [_IMAGES]),
    'new_height': ('new_height', [_IMAGES]),
    'new_width': ('new_width', [_IMAGES]),
    'concat_dim': ('concat_dim', [('concat', 'concat_param')]),
    'det_fg_threshold': ('fg_threshold', [_WINDOW]),
    'det_bg_threshold': ('bg_threshold', [_WINDOW]),
    'det_fg_fraction': ('fg_fraction', [_WINDOW]),
    'det_context_pad': ('context_pad', [_WINDOW]),
    'det_crop_mode': ('crop_mode', [_WINDOW]),
    'hdf5_output_param': (None, [('hdf5_output', 'hdf5_output_param')]),
}
# V0 fields carried over outside the parameter messages, or (new_num,
# new_channels) that Caffe never read: no warning for these.
_V0_OTHER = {'name', 'type', 'blobs', 'blobs_lr', 'weight_decay', 'new_num', 'new_channels'}


def needs_v0_upgrade(net):
    return any(connection.HasField('layer') for connection in net.layers)


def _fold_padding_layers(net, source):
    """The V1 connections of a V0 net without its 'padding' layers, each pad
    moved onto the convolution or pooling layer reading the padded blob."""
    producer = dict.fromkeys(net.input)   # blob -> last connection writing it
    kept = []
    for connection in net.layers:
        if connection.layer.type != 'padding':
            kept.append(V1())
            kept[-1].CopyFrom(connection)
        for j, blob in enumerate(connection.bottom):
            if blob not in producer:
                raise NetError("%s: unknown bottom blob '%s'"
                               % (_where(source, connection.layer.name), blob))
            padding = producer[blob]
            if padding is None or padding.layer.type != 'padding':
                continue
            _check_padding_use(connection, padding, source)
            kept[-1].layer.pad = padding.layer.pad
            kept[-1].bottom[j] = padding.bottom[0]
        for blob in connection.top:
            producer[blob] = connection
    return kept


def _check_padding_use(consumer, padding, source):
    """Caffe folds a padding layer only into a single-input conv/pool layer."""
    if consumer.layer.type not in ('conv', 'pool'):
        problem = ("reads padding layer '%s' but is not a convolution or pooling layer"
                   % padding.layer.name)
    elif len(consumer.bottom) != 1:
        problem = 'reads a padding layer and has %d bottoms, not 1' % len(consumer.bottom)
    elif len(padding.bottom) != 1 or len(padding.top) != 1:
        problem = ("its padding layer '%s' needs one bottom and one top"
                   % padding.layer.name)
    else:
        return
    raise NetError('%s: %s' % (_where(source, consumer.layer.name), problem))


def _v0_type(v0, source):
    if v0.type not in V0_TYPES:
        raise NetError("%s: unknown V0 layer type '%s'" % (_where(source, v0.name), v0.type))
    return V1.LayerType.Value(V0_TYPES[v0.type])


def _v0_value(field, value):
    """A V0 value in the new schema (enums by name; the rest is unchanged)."""
    if field == 'pool':
        return caffe_pb2.PoolingParameter.PoolMethod.Value(V0.PoolMethod.Name(value))
    return value


def _assign(message, field, value):
    """Set ``message.field`` (scalar, repeated or message), or the whole
    ``message`` when ``field`` is None."""
    if field is None:
        message.CopyFrom(value)
        return
    target = getattr(message, field)
    if hasattr(target, 'CopyFrom'):
        target.CopyFrom(value)
    elif hasattr(target, 'append'):
        target.append(value)
    else:
        setattr(message, field, value)


def _v0_to_v1(connection, source):
    """(V1LayerParameter, [problems]) from one V0 ``layers`` entry."""
    v1 = V1(bottom=connection.bottom, top=connection.top)
    if not connection.HasField('layer'):
        return v1, []
    v0 = connection.layer
    if v0.HasField('name'):
        v1.name = v0.name
    if v0.HasField('type'):
        v1.type = _v0_type(v0, source)
    v1.blobs.extend(v0.blobs)
    v1.blobs_lr.extend(v0.blobs_lr)
    v1.weight_decay.extend(v0.weight_decay)
    problems = []
    for descriptor, value in v0.ListFields():
        if descriptor.name in _V0_OTHER:
            continue
        target, takers = _V0_FIELDS[descriptor.name]
        message = next((m for t, m in takers if t in (None, v0.type)), None)
        if message is None:
            problems.append("%s: V0 field '%s' does not apply to type '%s'; dropped"
                            % (_where(source, v0.name), descriptor.name, v0.type))
            continue
        _assign(getattr(v1, message), target, _v0_value(descriptor.name, value))
    return v1, problems


def upgrade_v0(net, source=None):
    """Turn a V0 net into a V1 net (Caffe's UpgradeV0Net): padding layers
    folded, then each layer converted. Like Caffe, only the net's name,
    inputs, input_dim and force_backward survive. Returns the problems
    (fields dropped), each also logged as a warning."""
    _check_not_mixed(net, source)
    connections = _fold_padding_layers(net, source)
    upgraded, problems = [], []
    for connection in connections:
        v1, issues = _v0_to_v1(connection, source)
        upgraded.append(v1)
        problems.extend(issues)
    kept = caffe_pb2.NetParameter(input=net.input, input_dim=net.input_dim)
    for field in ('name', 'force_backward'):
        if net.HasField(field):
            setattr(kept, field, getattr(net, field))
    net.CopyFrom(kept)
    net.layers.extend(upgraded)
    for problem in problems:
        log.warning(problem)
    return problems


# --- data transformation fields (V1 data layers) --------------------------------
_DATA_PARAMS = {V1.DATA: 'data_param', V1.IMAGE_DATA: 'image_data_param',
                V1.WINDOW_DATA: 'window_data_param'}
_TRANSFORM_FIELDS = ('scale', 'mean_file', 'crop_size', 'mirror')


def _legacy_transform(v1):
    """(data parameter message, [transform fields set in it]) of a V1 layer."""
    name = _DATA_PARAMS.get(v1.type)
    if name is None:
        return None, []
    message = getattr(v1, name)
    return message, [f for f in _TRANSFORM_FIELDS if message.HasField(f)]


def needs_data_upgrade(net):
    return any(_legacy_transform(v1)[1] for v1 in net.layers)


def upgrade_data_transform(net):
    """Move the transform fields of V1 Data/ImageData/WindowData layers into
    their ``transform_param``. (Caffe leaves those fields of current-format
    ``layer`` entries alone, so this does too.)"""
    for v1 in net.layers:
        message, fields = _legacy_transform(v1)
        for field in fields:
            setattr(v1.transform_param, field, getattr(message, field))
            message.ClearField(field)


# --- V1 -> V2 -------------------------------------------------------------------
# Every per-type parameter message of V1 (transform_param and loss_param too)
# exists under the same name in LayerParameter.
_V1_MESSAGES = tuple(f.name for f in V1.DESCRIPTOR.fields if f.name.endswith('_param'))
_V1_TYPE_NUMBER = V1.DESCRIPTOR.fields_by_name['type'].number


def needs_v1_upgrade(net):
    return len(net.layers) > 0


def _v1_type(v1, source):
    """The current type string of a V1 layer ('' for NONE, as in Caffe), or
    None when it has no type field."""
    if not v1.HasField('type'):
        # A binary file's enum value unknown to the schema lands here.
        for field in unknown_fields.UnknownFieldSet(v1):
            if field.field_number == _V1_TYPE_NUMBER:
                raise NetError('%s: unknown V1 layer type %s'
                               % (_where(source, v1.name), field.data))
        return None
    name = V1.LayerType.Name(v1.type)
    if name not in V1_TYPES:
        raise NetError('%s: unknown V1 layer type %s' % (_where(source, v1.name), name))
    return V1_TYPES[name]


def _param_spec(layer, i):
    """``layer.param[i]``, adding empty specs up to it."""
    while len(layer.param) <= i:
        layer.param.add()
    return layer.param[i]


def _v1_to_v2(v1, source):
    """(LayerParameter, [problems]) from a V1 layer (Caffe's
    UpgradeV1LayerParameter)."""
    layer = caffe_pb2.LayerParameter(bottom=v1.bottom, top=v1.top, include=v1.include,
                                     exclude=v1.exclude, loss_weight=v1.loss_weight)
    if v1.HasField('name'):
        layer.name = v1.name
    type_name = _v1_type(v1, source)
    if type_name is not None:
        layer.type = type_name
    layer.blobs.extend(v1.blobs)
    for i, name in enumerate(v1.param):
        _param_spec(layer, i).name = name
    for i, mode in enumerate(v1.blob_share_mode):
        _param_spec(layer, i).share_mode = caffe_pb2.ParamSpec.DimCheckMode.Value(
            V1.DimCheckMode.Name(mode))
    for i, value in enumerate(v1.blobs_lr):
        _param_spec(layer, i).lr_mult = value
    for i, value in enumerate(v1.weight_decay):
        _param_spec(layer, i).decay_mult = value
    for name in _V1_MESSAGES:
        if v1.HasField(name):
            getattr(layer, name).CopyFrom(getattr(v1, name))
    if v1.HasField('layer'):
        return layer, ['%s: V0 layer definition inside a V1 layer ignored'
                       % _where(source, v1.name)]
    return layer, []


def upgrade_v1(net, source=None):
    """Replace the V1 ``layers`` by current ``layer`` entries (Caffe's
    UpgradeV1Net); returns the problems, each also logged as a warning."""
    _check_not_mixed(net, source)
    upgraded, problems = [], []
    for v1 in net.layers:
        layer, issues = _v1_to_v2(v1, source)
        upgraded.append(layer)
        problems.extend(issues)
    net.ClearField('layers')
    net.layer.extend(upgraded)
    for problem in problems:
        log.warning(problem)
    return problems


# --- input fields -----------------------------------------------------------------
def needs_input_upgrade(net):
    return len(net.input) > 0


def upgrade_input(net, source=None):
    """Turn top-level ``input`` + ``input_shape``/``input_dim`` into a leading
    ``Input`` layer named "input" (``input_shape`` wins when both are given).
    A bare ``input`` list with no shapes (old caffemodels) is simply dropped."""
    names, shapes, dims = list(net.input), list(net.input_shape), list(net.input_dim)
    if shapes or dims:
        given = len(shapes) if shapes else len(dims) // 4
        if given < len(names):
            raise NetError('%s: %d inputs but shapes for only %d of them'
                           % (_where(source), len(names), given))
        layer = caffe_pb2.LayerParameter(name='input', type='Input', top=names)
        for i in range(len(names)):
            shape = layer.input_param.shape.add()
            if shapes:
                shape.CopyFrom(shapes[i])
            else:
                shape.dim.extend(dims[4 * i:4 * i + 4])
        net.layer.insert(0, layer)
    for field in ('input', 'input_shape', 'input_dim'):
        net.ClearField(field)


# --- BatchNorm ------------------------------------------------------------------
def _old_batchnorm(layer):
    return layer.type == 'BatchNorm' and len(layer.param) == 3


def needs_batchnorm_upgrade(net):
    return any(_old_batchnorm(layer) for layer in net.layer)


def upgrade_batchnorm(net):
    """Old BatchNorm definitions declared 3 param specs; Caffe keeps them but
    forces lr_mult and decay_mult to 0 so the statistics are never learned."""
    for layer in net.layer:
        if _old_batchnorm(layer):
            for spec in layer.param:
                spec.lr_mult = 0
                spec.decay_mult = 0


# --- the whole net --------------------------------------------------------------
def upgrade_net(net, source=None, problems=None):
    """Upgrade ``net`` (a NetParameter) in place as needed, in Caffe's order
    (UpgradeNetAsNeeded); returns the names of the upgrades applied.
    ``source`` names the file in messages; the list ``problems``, when
    given, receives those of the V0 and V1 upgrades (each also logged as a
    warning), for which Caffe's upgrade tools exit with status 1."""
    steps = [('V0 layers', needs_v0_upgrade, upgrade_v0),
             ('data transformation fields', needs_data_upgrade,
              lambda n, s: upgrade_data_transform(n)),
             ('V1 layers', needs_v1_upgrade, upgrade_v1),
             ('input fields', needs_input_upgrade, upgrade_input),
             ('BatchNorm params', needs_batchnorm_upgrade, lambda n, s: upgrade_batchnorm(n))]
    applied = []
    for name, needed, apply in steps:
        if needed(net):
            found = apply(net, source)
            if problems is not None and found:
                problems.extend(found)
            applied.append(name)
    return applied


# --- solver -----------------------------------------------------------------------
def needs_solver_upgrade(solver):
    return solver.HasField('solver_type')


def upgrade_solver(solver, source=None):
    """Move the old ``solver_type`` enum into the ``type`` string; returns
    True when something changed."""
    if not needs_solver_upgrade(solver):
        return False
    if solver.HasField('type'):
        raise CaffeError('%s: the solver gives both the old solver_type (enum) and type '
                         '(string); keep only type' % (source or 'solver'))
    solver.type = SOLVER_TYPES[caffe_pb2.SolverParameter.SolverType.Name(solver.solver_type)]
    solver.ClearField('solver_type')
    return True
