"""Legacy formats: V0 and V1 nets and caffemodels, V1 data-layer transform
fields, input fields, old BatchNorm params and solver_type, upgraded as
Caffe's upgrade_proto does; the ``caffelite upgrade`` command; and forward
conformance of Caffe's legacy reference nets."""
import logging

import numpy as np
import pytest
from google.protobuf import text_format

from caffelite import protoio, upgrade
from caffelite.cli import main
from caffelite.errors import CaffeError, NetError
from caffelite.proto import caffe_pb2
from conftest import reference_path

LEGACY = ('legacy',)


def parse_net(text):
    return text_format.Parse(text, caffe_pb2.NetParameter())


def upgraded(text, source='test.prototxt'):
    net = parse_net(text)
    upgrade.upgrade_net(net, source)
    return net


def by_name(net):
    return {layer.name: layer for layer in net.layer}


def specs(layer):
    """[(lr_mult, decay_mult)] of a layer's param specs."""
    return [(p.lr_mult, p.decay_mult) for p in layer.param]


def read_legacy(case, filename):
    path = reference_path(*LEGACY, case, filename)
    return protoio.read_text_or_binary(path, caffe_pb2.NetParameter()), str(path)


# --- the reference legacy files -------------------------------------------------
LENET_LAYERS = [  # name, type, bottoms, tops
    ('input', 'Input', [], ['data']),
    ('conv1', 'Convolution', ['data'], ['conv1']),
    ('pool1', 'Pooling', ['conv1'], ['pool1']),
    ('conv2', 'Convolution', ['pool1'], ['conv2']),
    ('pool2', 'Pooling', ['conv2'], ['pool2']),
    ('ip1', 'InnerProduct', ['pool2'], ['ip1']),
    ('relu1', 'ReLU', ['ip1'], ['ip1']),
    ('ip2', 'InnerProduct', ['ip1'], ['ip2']),
    ('prob', 'Softmax', ['ip2'], ['prob']),
]

TINY_LAYERS = [
    ('input', 'Input', [], ['data']),
    ('conv1', 'Convolution', ['data'], ['conv1']),
    ('relu1', 'ReLU', ['conv1'], ['conv1']),
    ('norm1', 'LRN', ['conv1'], ['norm1']),
    ('pool1', 'Pooling', ['norm1'], ['pool1']),
    ('fc1', 'InnerProduct', ['pool1'], ['fc1']),
    ('prob', 'Softmax', ['fc1'], ['prob']),
]


def layer_summary(net):
    return [(l.name, l.type, list(l.bottom), list(l.top)) for l in net.layer]


def test_lenet_v1_prototxt():
    net, path = read_legacy('lenet_v1', 'net.prototxt')
    assert upgrade.upgrade_net(net, path) == ['V1 layers', 'input fields']
    assert layer_summary(net) == LENET_LAYERS
    assert not len(net.layers) and not len(net.input) and not len(net.input_dim)
    layers = by_name(net)
    assert list(layers['input'].input_param.shape[0].dim) == [6, 1, 28, 28]
    assert specs(layers['conv1']) == [(1, 1), (2, 1)]   # decay_mult defaults to 1
    assert not layers['conv1'].param[1].HasField('decay_mult')
    assert specs(layers['ip1']) == [(1, 1), (2, 0)]
    assert specs(layers['ip2']) == [] and specs(layers['relu1']) == []
    conv2 = layers['conv2'].convolution_param
    assert (conv2.num_output, list(conv2.kernel_size), list(conv2.stride)) == (50, [5], [1])
    pool = layers['pool2'].pooling_param
    assert (pool.pool, pool.kernel_size, pool.stride) == (caffe_pb2.PoolingParameter.MAX, 2, 2)
    assert layers['ip1'].inner_product_param.num_output == 500
    assert net.name == 'LeNetV1'


def test_lenet_v1_caffemodel_keeps_blobs():
    net, path = read_legacy('lenet_v1', 'weights.caffemodel')
    original = {l.name: [np.array(b.data) for b in l.blobs] for l in net.layers}
    upgrade.upgrade_net(net, path)
    layers = by_name(net)
    assert layer_summary(net) == LENET_LAYERS   # this file has input_dim too
    assert layers['conv1'].type == 'Convolution' and layers['ip2'].type == 'InnerProduct'
    shapes = {name: [protoio.blob_shape_of(b) for b in l.blobs] for name, l in layers.items()}
    assert shapes['conv1'] == [(20, 1, 5, 5), (1, 1, 1, 20)]
    assert shapes['conv2'] == [(50, 20, 5, 5), (1, 1, 1, 50)]
    assert shapes['ip1'] == [(1, 1, 500, 800), (1, 1, 1, 500)]
    assert shapes['ip2'] == [(1, 1, 10, 500), (1, 1, 1, 10)]
    for name, blobs in original.items():
        for before, after in zip(blobs, layers[name].blobs, strict=True):
            np.testing.assert_array_equal(before, np.array(after.data))
    assert specs(layers['ip1']) == [(1, 1), (2, 0)]


def test_tiny_v0_prototxt_folds_padding():
    net, path = read_legacy('tiny_v0', 'net.prototxt')
    assert upgrade.upgrade_net(net, path) == ['V0 layers', 'V1 layers', 'input fields']
    assert layer_summary(net) == TINY_LAYERS
    layers = by_name(net)
    assert 'pad1' not in layers
    conv = layers['conv1'].convolution_param
    assert (list(conv.pad), list(conv.kernel_size), list(conv.stride)) == ([2], [3], [1])
    assert conv.num_output == 4 and conv.HasField('bias_term') and conv.bias_term
    lrn = layers['norm1'].lrn_param
    assert (lrn.local_size, lrn.beta) == (3, 0.75)
    assert lrn.alpha == pytest.approx(0.1)
    pool = layers['pool1'].pooling_param
    assert (pool.pool, pool.kernel_size, pool.stride) == (caffe_pb2.PoolingParameter.AVE, 3, 2)
    assert layers['fc1'].inner_product_param.num_output == 5
    assert list(layers['input'].input_param.shape[0].dim) == [2, 3, 10, 9]


def test_tiny_v0_caffemodel_keeps_blobs():
    net, path = read_legacy('tiny_v0', 'weights.caffemodel')
    original = {c.layer.name: [np.array(b.data) for b in c.layer.blobs] for c in net.layers}
    upgrade.upgrade_net(net, path)
    layers = by_name(net)
    assert [l.name for l in net.layer] == [n for n, *_ in TINY_LAYERS]
    assert [protoio.blob_shape_of(b) for b in layers['conv1'].blobs] == [(4, 3, 3, 3),
                                                                          (1, 1, 1, 4)]
    assert [protoio.blob_shape_of(b) for b in layers['fc1'].blobs] == [(1, 1, 5, 120),
                                                                        (1, 1, 1, 5)]
    for name in ('conv1', 'fc1'):
        for before, after in zip(original[name], layers[name].blobs, strict=True):
            np.testing.assert_array_equal(before, np.array(after.data))


# --- V0 by hand -----------------------------------------------------------------
V0_TYPE_NAMES = {
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


@pytest.mark.parametrize('v0_type', sorted(V0_TYPE_NAMES))
def test_every_v0_type(v0_type):
    net = upgraded('layers { layer { name: "x" type: "%s" } top: "t" }' % v0_type)
    assert [(l.name, l.type, list(l.top)) for l in net.layer] == [
        ('x', V0_TYPE_NAMES[v0_type], ['t'])]


V0_TRAIN_NET = '''
name: "old" force_backward: true
layers { layer { name: "data" type: "data" source: "train_db" batchsize: 64
                 rand_skip: 5 scale: 0.00390625 meanfile: "mean.binaryproto"
                 cropsize: 227 mirror: true } top: "data" top: "label" }
layers { layer { name: "pad" type: "padding" pad: 1 } bottom: "data" top: "padded" }
layers { layer { name: "pool0" type: "pool" pool: MAX kernelsize: 3 stride: 2 }
         bottom: "padded" top: "pool0" }
layers { layer { name: "conv1" type: "conv" num_output: 8 kernelsize: 3 group: 2
                 biasterm: false blobs_lr: 1 blobs_lr: 2 weight_decay: 1 weight_decay: 0
                 weight_filler { type: "gaussian" std: 0.01 }
                 bias_filler { type: "constant" value: 0.5 } }
         bottom: "pool0" top: "conv1" }
layers { layer { name: "drop" type: "dropout" dropout_ratio: 0.3 } bottom: "conv1" top: "conv1" }
layers { layer { name: "ip" type: "innerproduct" num_output: 10 biasterm: false }
         bottom: "conv1" top: "ip" }
layers { layer { name: "cat" type: "concat" concat_dim: 1 } bottom: "ip" bottom: "ip" top: "cat" }
layers { layer { name: "loss" type: "softmax_loss" } bottom: "ip" bottom: "label" }
'''


def test_v0_fields_move_to_their_messages():
    net = parse_net(V0_TRAIN_NET)
    assert upgrade.upgrade_net(net, 'old.prototxt') == [
        'V0 layers', 'V1 layers']
    assert net.name == 'old' and net.force_backward
    layers = by_name(net)
    assert [l.name for l in net.layer] == ['data', 'pool0', 'conv1', 'drop', 'ip', 'cat',
                                           'loss']
    data = layers['data']
    assert (data.data_param.source, data.data_param.batch_size,
            data.data_param.rand_skip) == ('train_db', 64, 5)
    t = data.transform_param
    assert (t.scale, t.mean_file, t.crop_size, t.mirror) == (
        0.00390625, 'mean.binaryproto', 227, True)
    pool = layers['pool0']
    assert list(pool.bottom) == ['data'] and pool.pooling_param.pad == 1
    assert pool.pooling_param.pool == caffe_pb2.PoolingParameter.MAX
    conv = layers['conv1']
    assert specs(conv) == [(1, 1), (2, 0)]
    c = conv.convolution_param
    assert (c.num_output, list(c.kernel_size), c.group, c.bias_term, list(c.pad)) == (
        8, [3], 2, False, [])
    assert (c.weight_filler.type, c.bias_filler.value) == ('gaussian', 0.5)
    assert c.weight_filler.std == pytest.approx(0.01)
    assert layers['drop'].dropout_param.dropout_ratio == pytest.approx(0.3)
    assert not layers['ip'].inner_product_param.bias_term
    assert layers['cat'].concat_param.concat_dim == 1
    assert list(layers['loss'].bottom) == ['ip', 'label'] and not len(layers['loss'].top)


def test_v0_data_layer_variants():
    net = upgraded('''
layers { layer { name: "img" type: "images" source: "list.txt" batchsize: 4
                 shuffle_images: true new_height: 32 new_width: 30 rand_skip: 2 }
         top: "a" top: "b" }
layers { layer { name: "win" type: "window_data" source: "w.txt" batchsize: 8
                 det_fg_threshold: 0.6 det_bg_threshold: 0.4 det_fg_fraction: 0.3
                 det_context_pad: 16 det_crop_mode: "square" } top: "c" top: "d" }
layers { layer { name: "h5" type: "hdf5_data" source: "h5.txt" batchsize: 2 } top: "e" }
layers { layer { name: "out" type: "hdf5_output"
                 hdf5_output_param { file_name: "out.h5" } } bottom: "e" bottom: "a" }
layers { layer { name: "info" type: "infogain_loss" source: "H.binaryproto" }
         bottom: "e" bottom: "b" }
''')
    layers = by_name(net)
    img = layers['img'].image_data_param
    assert (img.source, img.batch_size, img.shuffle, img.new_height, img.new_width,
            img.rand_skip) == ('list.txt', 4, True, 32, 30, 2)
    win = layers['win'].window_data_param
    assert (win.source, win.batch_size, win.context_pad, win.crop_mode) == (
        'w.txt', 8, 16, 'square')
    assert (win.fg_threshold, win.bg_threshold, win.fg_fraction) == pytest.approx(
        (0.6, 0.4, 0.3))
    assert (layers['h5'].hdf5_data_param.source, layers['h5'].hdf5_data_param.batch_size) == (
        'h5.txt', 2)
    assert layers['out'].hdf5_output_param.file_name == 'out.h5'
    assert layers['info'].infogain_loss_param.source == 'H.binaryproto'


def test_v0_field_of_another_type_is_dropped_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger='caffelite.upgrade'):
        net = upgraded('layers { layer { name: "r" type: "relu" num_output: 3 kernelsize: 2 }'
                       ' top: "r" }', 'relu.prototxt')
    layer = net.layer[0]
    assert layer.type == 'ReLU' and not layer.HasField('convolution_param')
    assert not layer.HasField('inner_product_param')
    assert "relu.prototxt: layer 'r'" in caplog.text
    assert 'num_output' in caplog.text and 'kernelsize' in caplog.text


def test_v0_keeps_only_name_inputs_and_force_backward():
    net = upgraded('name: "n" input: "x" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4 '
                   'debug_info: true layers { layer { name: "r" type: "relu" } '
                   'bottom: "x" top: "y" }')
    assert not net.HasField('debug_info') and net.name == 'n'
    assert layer_summary(net) == [('input', 'Input', [], ['x']), ('r', 'ReLU', ['x'], ['y'])]


@pytest.mark.parametrize('text, message', [
    ('layers { layer { name: "odd" type: "mystery" } top: "t" }',
     "v0.prototxt: layer 'odd': unknown V0 layer type 'mystery'"),
    ('input: "x" layers { layer { name: "p" type: "padding" pad: 1 } bottom: "x" top: "p" }'
     ' layers { layer { name: "act" type: "relu" } bottom: "p" top: "r" }',
     "v0.prototxt: layer 'act': reads padding layer 'p'"),
    ('input: "x" input: "z" layers { layer { name: "p" type: "padding" pad: 1 } bottom: "x"'
     ' top: "p" } layers { layer { name: "c" type: "conv" } bottom: "p" bottom: "z" top: "c" }',
     "v0.prototxt: layer 'c': reads a padding layer and has 2 bottoms"),
    ('layers { layer { name: "c" type: "conv" } bottom: "nowhere" top: "c" }',
     "v0.prototxt: layer 'c': unknown bottom blob 'nowhere'"),
])
def test_v0_errors_name_file_and_layer(text, message):
    with pytest.raises(NetError) as info:
        upgraded(text, 'v0.prototxt')
    assert message in str(info.value)


# --- V1 by hand -----------------------------------------------------------------
V1_TYPE_NAMES = {
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
    'THRESHOLD': 'Threshold', 'NONE': '',
}


def test_v1_type_table_is_complete():
    assert set(V1_TYPE_NAMES) == set(caffe_pb2.V1LayerParameter.LayerType.keys())


@pytest.mark.parametrize('v1_type', sorted(V1_TYPE_NAMES))
def test_every_v1_type(v1_type):
    net = upgraded('layers { name: "x" type: %s bottom: "b" top: "t" }' % v1_type)
    assert [(l.name, l.type, list(l.bottom), list(l.top)) for l in net.layer] == [
        ('x', V1_TYPE_NAMES[v1_type], ['b'], ['t'])]


def test_v1_params_rules_and_messages():
    net = upgraded('''
layers { name: "c" type: CONVOLUTION bottom: "x" top: "y"
         param: "shared_w" param: "shared_b" blob_share_mode: PERMISSIVE blob_share_mode: STRICT
         blobs_lr: 0.5 weight_decay: 3 weight_decay: 4
         include { phase: TRAIN stage: "s" } exclude { not_stage: "deploy" min_level: 2 }
         convolution_param { num_output: 3 kernel_size: 5 pad: 1 }
         blobs { num: 1 channels: 1 height: 1 width: 2 data: 7 data: 8 } }
layers { name: "e" type: ELTWISE bottom: "y" bottom: "y" top: "z"
         eltwise_param { operation: MAX } loss_weight: 0.25 }
layers { name: "l" type: SOFTMAX_LOSS bottom: "z" bottom: "y" top: "loss"
         loss_param { ignore_label: 3 normalize: false } softmax_param { axis: 1 } }
layers { name: "p" type: POWER bottom: "z" top: "w" power_param { power: 2 shift: 1 } }
layers { name: "t" type: THRESHOLD bottom: "z" top: "u" threshold_param { threshold: 0.5 } }
layers { name: "s" type: SLICE bottom: "z" top: "s1" top: "s2" slice_param { slice_point: 1 } }
layers { name: "d" type: DUMMY_DATA top: "dd" dummy_data_param { num: 2 channels: 3 }
         transform_param { scale: 2 } }
''', 'v1.prototxt')
    layers = by_name(net)
    conv = layers['c']
    assert [(p.name, p.share_mode) for p in conv.param] == [
        ('shared_w', caffe_pb2.ParamSpec.PERMISSIVE), ('shared_b', caffe_pb2.ParamSpec.STRICT)]
    assert specs(conv) == [(0.5, 3), (1, 4)]
    assert not conv.param[1].HasField('lr_mult')
    assert conv.include[0].phase == caffe_pb2.TRAIN and list(conv.include[0].stage) == ['s']
    assert list(conv.exclude[0].not_stage) == ['deploy'] and conv.exclude[0].min_level == 2
    assert (conv.convolution_param.num_output, list(conv.convolution_param.pad)) == (3, [1])
    assert list(conv.blobs[0].data) == [7, 8] and conv.blobs[0].width == 2
    assert layers['e'].eltwise_param.operation == caffe_pb2.EltwiseParameter.MAX
    assert list(layers['e'].loss_weight) == [0.25]
    loss = layers['l']
    assert (loss.loss_param.ignore_label, loss.loss_param.normalize) == (3, False)
    assert loss.softmax_param.axis == 1
    assert (layers['p'].power_param.power, layers['p'].power_param.shift) == (2, 1)
    assert layers['t'].threshold_param.threshold == 0.5
    assert list(layers['s'].slice_param.slice_point) == [1]
    assert (layers['d'].dummy_data_param.num[0], layers['d'].transform_param.scale) == (2, 2)


def test_v1_parameter_messages_all_carry_over():
    """Every ``*_param`` message of V1LayerParameter reaches the new layer."""
    v1 = caffe_pb2.V1LayerParameter(name='all', type=caffe_pb2.V1LayerParameter.NONE)
    names = [f.name for f in v1.DESCRIPTOR.fields if f.name.endswith('_param')]
    assert len(names) == 30
    for name in names:
        getattr(v1, name).SetInParent()
    net = caffe_pb2.NetParameter()
    net.layers.add().CopyFrom(v1)
    upgrade.upgrade_net(net)
    assert all(net.layer[0].HasField(name) for name in names)


def test_v1_data_layers_get_transform_param():
    net = upgraded('''
layers { name: "d" type: DATA top: "data" top: "label"
         data_param { source: "db" batch_size: 4 scale: 0.5 mean_file: "m.binaryproto"
                      crop_size: 20 mirror: true } }
layers { name: "i" type: IMAGE_DATA top: "a" top: "b"
         image_data_param { source: "l.txt" scale: 2 } }
layers { name: "w" type: WINDOW_DATA top: "c" top: "e"
         window_data_param { source: "w.txt" crop_size: 8 } }
''')
    layers = by_name(net)
    data = layers['d']
    assert (data.data_param.source, data.data_param.batch_size) == ('db', 4)
    assert not any(data.data_param.HasField(f)
                   for f in ('scale', 'mean_file', 'crop_size', 'mirror'))
    t = data.transform_param
    assert (t.scale, t.mean_file, t.crop_size, t.mirror) == (0.5, 'm.binaryproto', 20, True)
    assert layers['i'].transform_param.scale == 2
    assert not layers['i'].image_data_param.HasField('scale')
    assert layers['w'].transform_param.crop_size == 8


def test_data_upgrade_runs_before_v1_and_leaves_current_layers_alone():
    net = parse_net('layers { name: "d" type: DATA top: "x" data_param { scale: 3 } }')
    assert upgrade.upgrade_net(net) == ['data transformation fields', 'V1 layers']
    current = upgraded('layer { name: "d" type: "Data" top: "x" data_param { scale: 3 } }')
    assert current.layer[0].data_param.scale == 3
    assert not current.layer[0].HasField('transform_param')


def test_both_layer_and_layers_is_an_error():
    with pytest.raises(NetError, match=r"mixed\.prototxt: .*both \"layer\" and legacy"):
        upgraded('layer { name: "a" type: "ReLU" } layers { name: "b" type: RELU }',
                 'mixed.prototxt')


def test_unknown_v1_type_in_binary_is_an_error():
    v1 = caffe_pb2.V1LayerParameter(name='future').SerializeToString()
    v1 += bytes([5 << 3, 99])   # field 5 (type) = 99: no such LayerType
    net = caffe_pb2.NetParameter.FromString(bytes([2 << 3 | 2, len(v1)]) + v1)
    with pytest.raises(NetError, match=r"new\.caffemodel: layer 'future': unknown V1 layer "
                                       r"type 99"):
        upgrade.upgrade_net(net, 'new.caffemodel')


# --- input fields and BatchNorm ---------------------------------------------------
def test_input_shape_and_bare_input():
    net = upgraded('input: "a" input_shape { dim: 2 dim: 5 } input: "b" input_shape { dim: 7 }'
                   ' layer { name: "r" type: "ReLU" bottom: "a" top: "a" }')
    assert layer_summary(net) == [('input', 'Input', [], ['a', 'b']),
                                  ('r', 'ReLU', ['a'], ['a'])]
    assert [list(s.dim) for s in net.layer[0].input_param.shape] == [[2, 5], [7]]
    bare = upgraded('input: "a" layer { name: "r" type: "ReLU" }')
    assert [l.name for l in bare.layer] == ['r'] and not len(bare.input)


def test_too_few_input_dims_is_an_error():
    with pytest.raises(NetError, match='2 inputs but shapes for only 1'):
        upgraded('input: "a" input: "b" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 4')


def test_old_batchnorm_params_are_frozen():
    net = upgraded('''
layer { name: "bn" type: "BatchNorm" param { lr_mult: 1 decay_mult: 1 name: "m" }
        param { lr_mult: 1 } param { lr_mult: 1 } }
layer { name: "bn2" type: "BatchNorm" param { lr_mult: 1 } }
''')
    layers = by_name(net)
    assert specs(layers['bn']) == [(0, 0)] * 3 and layers['bn'].param[0].name == 'm'
    assert specs(layers['bn2']) == [(1, 1)]   # only the 3-spec form is upgraded


def test_current_net_is_untouched():
    text = 'layer { name: "in" type: "Input" top: "x" input_param { shape { dim: 1 } } }'
    net = parse_net(text)
    assert upgrade.upgrade_net(net) == [] and net == parse_net(text)


# --- solver -----------------------------------------------------------------------
@pytest.mark.parametrize('old, new', [('SGD', 'SGD'), ('NESTEROV', 'Nesterov'),
                                      ('ADAGRAD', 'AdaGrad'), ('RMSPROP', 'RMSProp'),
                                      ('ADADELTA', 'AdaDelta'), ('ADAM', 'Adam')])
def test_solver_type_enum_becomes_string(old, new):
    solver = text_format.Parse('base_lr: 0.1 solver_type: %s' % old, caffe_pb2.SolverParameter())
    assert upgrade.upgrade_solver(solver) is True
    assert solver.type == new and not solver.HasField('solver_type')
    assert upgrade.upgrade_solver(solver) is False


def test_solver_with_both_types_is_an_error():
    solver = text_format.Parse('solver_type: ADAM type: "Adam"', caffe_pb2.SolverParameter())
    with pytest.raises(CaffeError, match='s.prototxt: .*both'):
        upgrade.upgrade_solver(solver, 's.prototxt')


# --- command line -----------------------------------------------------------------
def test_cli_round_trip(tmp_path, capsys):
    legacy = reference_path(*LEGACY, 'tiny_v0')
    text_out, model_out = tmp_path / 'net.prototxt', tmp_path / 'net.caffemodel'
    assert main(['upgrade', str(legacy / 'net.prototxt'), str(text_out)]) == 0
    assert main(['upgrade', str(legacy / 'weights.caffemodel'), str(model_out)]) == 0
    printed = capsys.readouterr().out
    assert 'upgraded V0 layers, V1 layers, input fields' in printed and 'binary' in printed
    net = protoio.read_text(text_out, caffe_pb2.NetParameter())
    assert layer_summary(net) == TINY_LAYERS and list(net.layer[1].convolution_param.pad) == [2]
    weights = protoio.read_binary(model_out, caffe_pb2.NetParameter())
    assert [protoio.blob_shape_of(b) for b in by_name(weights)['conv1'].blobs][0] == (4, 3, 3, 3)
    again = tmp_path / 'again.prototxt'
    assert main(['upgrade', str(text_out), str(again)]) == 0
    assert 'already in the current format' in capsys.readouterr().out
    assert again.read_text() == text_out.read_text()


def test_cli_solver(tmp_path, capsys):
    old = tmp_path / 'solver.prototxt'
    old.write_text('net: "train.prototxt"\nbase_lr: 0.01\nsolver_type: NESTEROV\n')
    out = tmp_path / 'new_solver.txt'
    assert main(['upgrade', '--solver', str(old), str(out)]) == 0
    assert 'upgraded solver_type' in capsys.readouterr().out
    solver = protoio.read_text(out, caffe_pb2.SolverParameter())
    assert (solver.type, solver.net) == ('Nesterov', 'train.prototxt')
    assert not solver.HasField('solver_type')


def test_cli_reports_errors(tmp_path, capsys):
    bad = tmp_path / 'bad.prototxt'
    bad.write_text('layers { layer { name: "odd" type: "mystery" } }')
    assert main(['upgrade', str(bad), str(tmp_path / 'out.prototxt')]) == 1
    assert "layer 'odd'" in capsys.readouterr().err
    assert not (tmp_path / 'out.prototxt').exists()


# --- forward conformance with Caffe ---------------------------------------------
@pytest.mark.parametrize('case', ['lenet_v1', 'tiny_v0'])
def test_legacy_net_forward_matches_caffe(case):
    import json
    import caffelite
    from caffelite.layers.base import layer_type_list
    folder = reference_path(*LEGACY, case)
    info = json.loads((folder / 'case.json').read_text())
    missing = set(info['layer_types']) - set(layer_type_list())
    if missing:
        pytest.skip('layer types not registered yet: %s' % ', '.join(sorted(missing)))
    net = caffelite.Net(str(folder / 'net.prototxt'), caffelite.TEST,
                        weights=str(folder / 'weights.caffemodel'))
    assert list(net._layer_names) == info['layer_names']
    ref = np.load(folder / 'data.npz')
    net.blobs['data'].data[...] = ref['input:data']
    out = net.forward()['prob']
    expected = ref['blob:prob']
    scale = max(1e-30, float(np.abs(expected).max()))
    assert np.all(np.abs(out - expected) <= 1e-4 * np.abs(expected) + 1e-5 * scale)
