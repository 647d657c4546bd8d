"""DIGITS' standard classification networks, written from the published
architectures as all-in-one nets: one NetParameter whose layers carry
``stage`` rules ("train", "val", "deploy") so that :mod:`.split` can cut
it into train_val and deploy nets.

Conventions DIGITS' own networks follow, kept here so that habits carry
over: data layers leave ``source``, ``backend`` and the mean to DIGITS;
the last InnerProduct has no ``num_output`` (DIGITS sets the number of
classes); accuracy runs in "val", the loss everywhere but "deploy", and a
Softmax only in "deploy".
"""
from ..errors import CaffeError
from ..net_spec import assign_proto
from ..proto import caffe_pb2

STANDARD_NETWORKS = ('lenet', 'alexnet', 'googlenet')
TITLES = {'lenet': 'LeNet', 'alexnet': 'AlexNet', 'googlenet': 'GoogLeNet'}
DEFAULT_NETWORK = 'alexnet'

# Caffe's usual multipliers: weights learn at the base rate with decay,
# biases twice as fast without decay.
MULTS = [dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)]
ONLY = {stage: dict(include=dict(stage=stage)) for stage in ('train', 'val', 'deploy')}
NOT_DEPLOY = dict(exclude=dict(stage='deploy'))


def layer(net, name, type_name, bottoms=(), tops=None, **fields):
    """Append a layer to ``net``; ``tops`` defaults to ``[name]``; fields
    are LayerParameter fields as Python values (dicts for messages)."""
    lp = net.layer.add(name=name, type=type_name)
    lp.bottom.extend(bottoms)
    lp.top.extend([name] if tops is None else tops)
    for key, value in fields.items():
        assign_proto(lp, key, value)
    return name


def data_layers(net, tops, train_batch, val_batch, **transform):
    """The "train" and "val" Data layers (mirroring only in training)."""
    for stage, batch in (('train', train_batch), ('val', val_batch)):
        t = dict(transform)
        if stage == 'val':
            t.pop('mirror', None)
        fields = dict(data_param=dict(batch_size=batch), **ONLY[stage])
        if t:
            fields['transform_param'] = t
        layer(net, stage + '-data', 'Data', tops=tops, **fields)


def filler(kind, **extra):
    return dict(type=kind, **extra)


def conv(net, name, bottom, num_output, kernel, weights, bias=0.0, stride=1, pad=0,
         group=1, relu=None):
    """A Convolution (only non-default geometry written) and an optional
    in-place ReLU named ``relu``."""
    param = dict(num_output=num_output, kernel_size=kernel, weight_filler=weights,
                 bias_filler=filler('constant', value=bias))
    for key, value, default in (('stride', stride, 1), ('pad', pad, 0), ('group', group, 1)):
        if value != default:
            param[key] = value
    layer(net, name, 'Convolution', [bottom], param=MULTS, convolution_param=param)
    if relu:
        layer(net, relu, 'ReLU', [name], [name])
    return name


def fc(net, name, bottom, num_output, weights, bias=0.0, relu=None, dropout=None):
    """An InnerProduct (``num_output`` None leaves it to DIGITS), then an
    optional in-place ReLU and Dropout (``dropout`` = (name, ratio))."""
    param = dict(weight_filler=weights, bias_filler=filler('constant', value=bias))
    if num_output is not None:
        param['num_output'] = num_output
    layer(net, name, 'InnerProduct', [bottom], param=MULTS, inner_product_param=param)
    if relu:
        layer(net, relu, 'ReLU', [name], [name])
    if dropout:
        layer(net, dropout[0], 'Dropout', [name], [name],
              dropout_param=dict(dropout_ratio=dropout[1]))
    return name


def pool(net, name, bottom, kernel, stride, method='MAX', pad=0):
    param = dict(pool=getattr(caffe_pb2.PoolingParameter, method), kernel_size=kernel,
                 stride=stride)
    if pad:
        param['pad'] = pad
    return layer(net, name, 'Pooling', [bottom], pooling_param=param)


def lrn(net, name, bottom):
    return layer(net, name, 'LRN', [bottom],
                 lrn_param=dict(local_size=5, alpha=0.0001, beta=0.75))


def classifier_head(net, scores, loss='loss', accuracy=('accuracy',), loss_weight=None,
                    softmax='softmax'):
    """Accuracy layers ("val"; a name ending in 'top-5' gets top_k 5), the
    SoftmaxWithLoss (not "deploy") and, when ``softmax`` names it, the
    deploy Softmax."""
    for name in accuracy:
        extra = dict(accuracy_param=dict(top_k=5)) if name.endswith('top-5') else {}
        layer(net, name, 'Accuracy', [scores, 'label'], **ONLY['val'], **extra)
    extra = dict(loss_weight=loss_weight) if loss_weight is not None else {}
    layer(net, loss, 'SoftmaxWithLoss', [scores, 'label'], **NOT_DEPLOY, **extra)
    if softmax:
        layer(net, softmax, 'Softmax', [scores], **ONLY['deploy'])


def lenet():
    """LeNet-5 as in Caffe's MNIST example. Pixels are scaled by 0.0125
    (about 1/std of MNIST) in the data layers while training and by a Power
    layer in deploy, so the deploy net takes mean-subtracted 0-255 pixels."""
    net = caffe_pb2.NetParameter(name='LeNet')
    data_layers(net, ['scaled', 'label'], 64, 100, scale=0.0125)
    layer(net, 'scale', 'Power', ['data'], ['scaled'], power_param=dict(scale=0.0125),
          **ONLY['deploy'])
    xavier = filler('xavier')
    x = conv(net, 'conv1', 'scaled', 20, 5, xavier)
    x = pool(net, 'pool1', x, 2, 2)
    x = conv(net, 'conv2', x, 50, 5, xavier)
    x = pool(net, 'pool2', x, 2, 2)
    x = fc(net, 'ip1', x, 500, xavier, relu='relu1')
    classifier_head(net, fc(net, 'ip2', x, None, xavier))
    return net


def alexnet():
    """Krizhevsky et al. 2012 (normalization before pooling), one tower with
    grouped convolutions as in Caffe's bvlc_alexnet; 227x227 crops."""
    net = caffe_pb2.NetParameter(name='AlexNet')
    data_layers(net, ['data', 'label'], 128, 32, crop_size=227, mirror=True)
    g01, g005 = filler('gaussian', std=0.01), filler('gaussian', std=0.005)
    x = 'data'
    for i, (out, kernel, stride, pad, group, bias) in enumerate(
            [(96, 11, 4, 0, 1, 0.0), (256, 5, 1, 2, 2, 0.1)], 1):
        x = conv(net, 'conv%d' % i, x, out, kernel, g01, bias, stride, pad, group,
                 relu='relu%d' % i)
        x = pool(net, 'pool%d' % i, lrn(net, 'norm%d' % i, x), 3, 2)
    x = conv(net, 'conv3', x, 384, 3, g01, pad=1, relu='relu3')
    x = conv(net, 'conv4', x, 384, 3, g01, 0.1, pad=1, group=2, relu='relu4')
    x = conv(net, 'conv5', x, 256, 3, g01, 0.1, pad=1, group=2, relu='relu5')
    x = pool(net, 'pool5', x, 3, 2)
    x = fc(net, 'fc6', x, 4096, g005, 0.1, relu='relu6', dropout=('drop6', 0.5))
    x = fc(net, 'fc7', x, 4096, g005, 0.1, relu='relu7', dropout=('drop7', 0.5))
    classifier_head(net, fc(net, 'fc8', x, None, g01))
    return net


# GoogLeNet's inception modules (Szegedy et al. 2014, table 1): name, 1x1,
# 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection; a string is a max pooling.
INCEPTIONS = [('3a', 64, 96, 128, 16, 32, 32), ('3b', 128, 128, 192, 32, 96, 64), 'pool3',
              ('4a', 192, 96, 208, 16, 48, 64), ('4b', 160, 112, 224, 24, 64, 64),
              ('4c', 128, 128, 256, 24, 64, 64), ('4d', 112, 144, 288, 32, 64, 64),
              ('4e', 256, 160, 320, 32, 128, 128), 'pool4',
              ('5a', 256, 160, 320, 32, 128, 128), ('5b', 384, 192, 384, 48, 128, 128)]
# The auxiliary classifiers hang off these modules' outputs while training.
AUX_HEADS = {'4a': 'loss1', '4d': 'loss2'}


def inception(net, name, x, c1, c3r, c3, c5r, c5, proj, weights):
    """One inception module; layer names as in Caffe's bvlc_googlenet."""
    def unit(suffix, bottom, out, kernel, pad=0):
        return conv(net, '%s/%s' % (name, suffix), bottom, out, kernel, weights, 0.2,
                    pad=pad, relu='%s/relu_%s' % (name, suffix))
    branches = [unit('1x1', x, c1, 1),
                unit('3x3', unit('3x3_reduce', x, c3r, 1), c3, 3, 1),
                unit('5x5', unit('5x5_reduce', x, c5r, 1), c5, 5, 2),
                unit('pool_proj', pool(net, name + '/pool', x, 3, 1, pad=1), proj, 1)]
    return layer(net, name + '/output', 'Concat', branches)


def auxiliary_head(net, name, x, weights):
    """A training-only classifier (average pool, 1x1 conv, fc 1024, dropout
    0.7), its loss weighted 0.3 and top-1/top-5 accuracies."""
    start = len(net.layer)
    x = pool(net, name + '/ave_pool', x, 5, 3, 'AVE')
    x = conv(net, name + '/conv', x, 128, 1, weights, 0.2, relu=name + '/relu_conv')
    x = fc(net, name + '/fc', x, 1024, weights, 0.2, relu=name + '/relu_fc',
           dropout=(name + '/drop_fc', 0.7))
    scores = fc(net, name + '/classifier', x, None, weights)
    for lp in net.layer[start:]:
        assign_proto(lp, 'exclude', dict(stage='deploy'))
    classifier_head(net, scores, name + '/loss', (name + '/top-1', name + '/top-5'), 0.3,
                    softmax=None)


def googlenet():
    """GoogLeNet (Szegedy et al. 2014) with its two auxiliary classifiers;
    224x224 crops, xavier weights and biases of 0.2."""
    net = caffe_pb2.NetParameter(name='GoogLeNet')
    data_layers(net, ['data', 'label'], 32, 32, crop_size=224, mirror=True)
    xavier = filler('xavier')
    x = conv(net, 'conv1/7x7_s2', 'data', 64, 7, xavier, 0.2, stride=2, pad=3,
             relu='conv1/relu_7x7')
    x = lrn(net, 'pool1/norm1', pool(net, 'pool1/3x3_s2', x, 3, 2))
    x = conv(net, 'conv2/3x3_reduce', x, 64, 1, xavier, 0.2, relu='conv2/relu_3x3_reduce')
    x = conv(net, 'conv2/3x3', x, 192, 3, xavier, 0.2, pad=1, relu='conv2/relu_3x3')
    x = pool(net, 'pool2/3x3_s2', lrn(net, 'conv2/norm2', x), 3, 2)
    for module in INCEPTIONS:
        if isinstance(module, str):
            x = pool(net, module + '/3x3_s2', x, 3, 2)
            continue
        x = inception(net, 'inception_' + module[0], x, *module[1:], weights=xavier)
        if module[0] in AUX_HEADS:
            auxiliary_head(net, AUX_HEADS[module[0]], x, xavier)
    x = pool(net, 'pool5/7x7_s1', x, 7, 1, 'AVE')
    layer(net, 'pool5/drop_7x7_s1', 'Dropout', [x], [x], dropout_param=dict(dropout_ratio=0.4))
    scores = fc(net, 'loss3/classifier', x, None, xavier)
    classifier_head(net, scores, 'loss3/loss', ('loss3/top-1', 'loss3/top-5'))
    return net


BUILDERS = {'lenet': lenet, 'alexnet': alexnet, 'googlenet': googlenet}


def standard_network(name):
    """The NetParameter of standard network ``name`` (see STANDARD_NETWORKS)."""
    if name not in BUILDERS:
        raise CaffeError('unknown standard network %r (use one of %s)'
                         % (name, ', '.join(STANDARD_NETWORKS)))
    return BUILDERS[name]()


def standard_network_text(name):
    """The prototxt text of a standard network, as DIGITS' "Customize" shows it."""
    return '# %s, written by caffelite from the published architecture.\n%s' % (
        TITLES[name], standard_network(name))
