"""Writes the zoo's prototxt files from the published architectures:
model_zoo/<name>/deploy.prototxt for every model, and train_val.prototxt +
solver.prototxt for LeNet, CaffeNet and AlexNet. Layer names are those of the
official weight files, so that they load by name.

Run from the repository root: python -m model_zoo.generate
"""
import os

from caffelite import layers as L, params as P
from caffelite.net_spec import NetSpec
from caffelite.proto import caffe_pb2

HERE = os.path.dirname(os.path.abspath(__file__))

MAX, AVE = P.Pooling.MAX, P.Pooling.AVE
TRAIN, TEST = caffe_pb2.TRAIN, caffe_pb2.TEST
# Caffe's usual learning-rate multipliers: weights 1, biases 2 without decay.
MULTS = [dict(lr_mult=1, decay_mult=1), dict(lr_mult=2, decay_mult=0)]


def learned(train, weights=None, bias=None, mults=MULTS):
    """Training-only fields of a learnable layer: lr/decay multipliers and
    fillers (``weights`` a filler dict, ``bias`` a constant). Deploy files
    carry none of them, like the upstream deploy files."""
    if not train:
        return {}
    fields = dict(param=mults)
    if weights:
        fields['weight_filler'] = weights
    if bias is not None:
        fields['bias_filler'] = dict(type='constant', value=bias)
    return fields


def gaussian(std):
    return dict(type='gaussian', std=std)


def conv(n, name, bottom, num_output, kernel, stride=1, pad=0, group=1, relu=None,
         bias=True, **extra):
    """A convolution named ``name`` and, when ``relu`` names it, an in-place
    ReLU. Only non-default geometry is written, as upstream does."""
    params = dict(num_output=num_output, kernel_size=kernel, **extra)
    for key, value, default in (('pad', pad, 0), ('stride', stride, 1), ('group', group, 1),
                                ('bias_term', bias, True)):
        if value != default:
            params[key] = value
    n[name] = L.Convolution(bottom, **params)
    if relu:
        n[relu] = L.ReLU(n[name], in_place=True)
    return n[name]


def fc(n, name, bottom, num_output, relu=None, drop=None, **extra):
    """An InnerProduct, optionally followed by in-place ReLU and Dropout."""
    n[name] = L.InnerProduct(bottom, num_output=num_output, **extra)
    if relu:
        n[relu] = L.ReLU(n[name], in_place=True)
    if drop:
        n[drop] = L.Dropout(n[name], dropout_ratio=0.5, in_place=True)
    return n[name]


def input_data(n, *shape):
    n.data = L.Input(shape=dict(dim=list(shape)))
    return n.data


def lmdb_data(n, source, batch_size, **transform):
    """The TRAIN-phase Data layer (tops data, label); ``with_test_data``
    later adds its TEST twin."""
    n.data, n.label = L.Data(ntop=2, include=dict(phase=TRAIN), transform_param=transform,
                             data_param=dict(source=source, batch_size=batch_size,
                                             backend=P.Data.LMDB))
    return n.data


def with_test_data(proto, source, batch_size):
    """Insert after the TRAIN Data layer a TEST one reading ``source``
    without mirroring (two layers with the same tops, one per phase, as in
    Caffe's train_val files; NetSpec cannot name two tops alike)."""
    test = caffe_pb2.LayerParameter()
    test.CopyFrom(proto.layer[0])
    test.include[0].phase = TEST
    test.data_param.source = source
    test.data_param.batch_size = batch_size
    if test.transform_param.mirror:
        test.transform_param.mirror = False
    proto.layer.insert(1, test)
    return proto


def classifier_head(n, train, scores):
    """Deploy: softmax probabilities. Train/val: TEST accuracy and the loss."""
    if train:
        n.accuracy = L.Accuracy(scores, n.label, include=dict(phase=TEST))
        n.loss = L.SoftmaxWithLoss(scores, n.label)
    else:
        n.prob = L.Softmax(scores)


def lenet(train=False):
    n = NetSpec()
    if train:
        x = lmdb_data(n, 'mnist_train_lmdb', 64, scale=0.00390625)
    else:
        x = input_data(n, 64, 1, 28, 28)
    # Caffe's MNIST example: xavier weights, zero biases, no decay multipliers.
    fill = learned(train, dict(type='xavier'), 0, mults=[dict(lr_mult=1), dict(lr_mult=2)])
    x = conv(n, 'conv1', x, 20, 5, **fill)
    n.pool1 = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = conv(n, 'conv2', n.pool1, 50, 5, **fill)
    n.pool2 = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = fc(n, 'ip1', n.pool2, 500, relu='relu1', **fill)
    classifier_head(n, train, fc(n, 'ip2', x, 10, **fill))
    proto = n.to_proto()
    return with_test_data(proto, 'mnist_test_lmdb', 100) if train else proto


def lrn(bottom):
    return L.LRN(bottom, local_size=5, alpha=0.0001, beta=0.75)


def imagenet_data(n, train, crop):
    if train:
        return lmdb_data(n, 'ilsvrc12_train_lmdb', 256, mirror=True, crop_size=crop,
                         mean_file='imagenet_mean.binaryproto')
    return input_data(n, 10, 3, crop, crop)


def caffenet(norm_first=False, train=False):
    """CaffeNet; with ``norm_first`` AlexNet (normalization before pooling).
    Their published training differs only in the biases set non-zero: 1 in
    CaffeNet, 0.1 in AlexNet."""
    n = NetSpec()
    x = imagenet_data(n, train, 227)
    nonzero = 0.1 if norm_first else 1

    def fill(std, bias):
        return learned(train, gaussian(std), bias)
    for i, (out, k, s, p, g, b) in enumerate([(96, 11, 4, 0, 1, 0), (256, 5, 1, 2, 2, nonzero)], 1):
        x = conv(n, 'conv%d' % i, x, out, k, s, p, g, relu='relu%d' % i, **fill(0.01, b))
        if norm_first:
            n['norm%d' % i] = lrn(x)
            x = n['pool%d' % i] = L.Pooling(n['norm%d' % i], pool=MAX, kernel_size=3, stride=2)
        else:
            n['pool%d' % i] = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
            x = n['norm%d' % i] = lrn(n['pool%d' % i])
    x = conv(n, 'conv3', x, 384, 3, pad=1, relu='relu3', **fill(0.01, 0))
    x = conv(n, 'conv4', x, 384, 3, pad=1, group=2, relu='relu4', **fill(0.01, nonzero))
    x = conv(n, 'conv5', x, 256, 3, pad=1, group=2, relu='relu5', **fill(0.01, nonzero))
    n.pool5 = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    x = fc(n, 'fc6', n.pool5, 4096, relu='relu6', drop='drop6', **fill(0.005, nonzero))
    x = fc(n, 'fc7', x, 4096, relu='relu7', drop='drop7', **fill(0.005, nonzero))
    classifier_head(n, train, fc(n, 'fc8', x, 1000, **fill(0.01, 0)))
    proto = n.to_proto()
    return with_test_data(proto, 'ilsvrc12_val_lmdb', 50) if train else proto


def inception(n, name, x, c1, c3r, c3, c5r, c5, pool_proj):
    """One GoogLeNet inception module (bvlc_googlenet's layer names)."""
    branches = [conv(n, name + '/1x1', x, c1, 1, relu=name + '/relu_1x1')]
    r = conv(n, name + '/3x3_reduce', x, c3r, 1, relu=name + '/relu_3x3_reduce')
    branches.append(conv(n, name + '/3x3', r, c3, 3, pad=1, relu=name + '/relu_3x3'))
    r = conv(n, name + '/5x5_reduce', x, c5r, 1, relu=name + '/relu_5x5_reduce')
    branches.append(conv(n, name + '/5x5', r, c5, 5, pad=2, relu=name + '/relu_5x5'))
    n[name + '/pool'] = L.Pooling(x, pool=MAX, kernel_size=3, stride=1, pad=1)
    branches.append(conv(n, name + '/pool_proj', n[name + '/pool'], pool_proj, 1,
                         relu=name + '/relu_pool_proj'))
    n[name + '/output'] = L.Concat(*branches)
    return n[name + '/output']


def googlenet():
    n = NetSpec()
    x = conv(n, 'conv1/7x7_s2', input_data(n, 10, 3, 224, 224), 64, 7, 2, 3,
             relu='conv1/relu_7x7')
    n['pool1/3x3_s2'] = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    n['pool1/norm1'] = lrn(n['pool1/3x3_s2'])
    x = conv(n, 'conv2/3x3_reduce', n['pool1/norm1'], 64, 1, relu='conv2/relu_3x3_reduce')
    x = conv(n, 'conv2/3x3', x, 192, 3, pad=1, relu='conv2/relu_3x3')
    n['conv2/norm2'] = lrn(x)
    x = n['pool2/3x3_s2'] = L.Pooling(n['conv2/norm2'], pool=MAX, kernel_size=3, stride=2)
    modules = [('3a', 64, 96, 128, 16, 32, 32), ('3b', 128, 128, 192, 32, 96, 64), 'pool3',
               ('4a', 192, 96, 208, 16, 48, 64), ('4b', 160, 112, 224, 24, 64, 64),
               ('4c', 128, 128, 256, 24, 64, 64), ('4d', 112, 144, 288, 32, 64, 64),
               ('4e', 256, 160, 320, 32, 128, 128), 'pool4',
               ('5a', 256, 160, 320, 32, 128, 128), ('5b', 384, 192, 384, 48, 128, 128)]
    for m in modules:
        if isinstance(m, str):
            x = n[m + '/3x3_s2'] = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
        else:
            x = inception(n, 'inception_' + m[0], x, *m[1:])
    n['pool5/7x7_s1'] = L.Pooling(x, pool=AVE, kernel_size=7, stride=1)
    n['pool5/drop_7x7_s1'] = L.Dropout(n['pool5/7x7_s1'], dropout_ratio=0.4, in_place=True)
    n['loss3/classifier'] = L.InnerProduct(n['pool5/drop_7x7_s1'], num_output=1000)
    n.prob = L.Softmax(n['loss3/classifier'])
    return n.to_proto()


VGG_BLOCKS = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]


def vgg_trunk(n, x, first_pad=1):
    """The thirteen 3x3 convolutions and five poolings of VGG-16 (D);
    FCN pads the first convolution by 100 so any input size fits fc6."""
    for block, (count, width) in enumerate(VGG_BLOCKS, 1):
        for i in range(1, count + 1):
            pad = first_pad if (block, i) == (1, 1) else 1
            x = conv(n, 'conv%d_%d' % (block, i), x, width, 3, pad=pad,
                     relu='relu%d_%d' % (block, i))
        x = n['pool%d' % block] = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    return x


def vgg16():
    n = NetSpec()
    x = vgg_trunk(n, input_data(n, 10, 3, 224, 224))
    x = fc(n, 'fc6', x, 4096, relu='relu6', drop='drop6')
    x = fc(n, 'fc7', x, 4096, relu='relu7', drop='drop7')
    n.prob = L.Softmax(fc(n, 'fc8', x, 1000))
    return n.to_proto()


def conv_bn(n, suffix, x, num_output, kernel, stride=1, pad=0, relu=True):
    """Kaiming He's naming: res<suffix>, bn<suffix>, scale<suffix>
    (conv1, bn_conv1, scale_conv1 for the stem)."""
    stem = suffix == 'conv1'
    name = 'conv1' if stem else 'res' + suffix
    # Only conv1 of the released ResNets has a bias term.
    x = conv(n, name, x, num_output, kernel, stride, pad, bias=stem)
    n['bn_conv1' if stem else 'bn' + suffix] = L.BatchNorm(x, use_global_stats=True,
                                                           in_place=True)
    n['scale_conv1' if stem else 'scale' + suffix] = L.Scale(x, bias_term=True, in_place=True)
    if relu:
        n[name + '_relu'] = L.ReLU(x, in_place=True)
    return x


def resnet50():
    n = NetSpec()
    x = conv_bn(n, 'conv1', input_data(n, 10, 3, 224, 224), 64, 7, 2, 3)
    x = n.pool1 = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    for stage, (blocks, width) in enumerate([(3, 64), (4, 128), (6, 256), (3, 512)], 2):
        for b in range(blocks):
            tag = '%d%s' % (stage, 'abcdef'[b])
            stride = 2 if b == 0 and stage > 2 else 1
            shortcut = x if b else conv_bn(n, tag + '_branch1', x, 4 * width, 1, stride,
                                          relu=False)
            y = conv_bn(n, tag + '_branch2a', x, width, 1, stride)
            y = conv_bn(n, tag + '_branch2b', y, width, 3, 1, 1)
            y = conv_bn(n, tag + '_branch2c', y, 4 * width, 1, relu=False)
            x = n['res' + tag] = L.Eltwise(shortcut, y)
            n['res' + tag + '_relu'] = L.ReLU(x, in_place=True)
    n.pool5 = L.Pooling(x, pool=AVE, kernel_size=7, stride=1)
    n.fc1000 = L.InnerProduct(n.pool5, num_output=1000)
    n.prob = L.Softmax(n.fc1000)
    return n.to_proto()


def fire(n, name, x, squeeze, expand):
    s = conv(n, name + '/squeeze1x1', x, squeeze, 1, relu=name + '/relu_squeeze1x1')
    a = conv(n, name + '/expand1x1', s, expand, 1, relu=name + '/relu_expand1x1')
    b = conv(n, name + '/expand3x3', s, expand, 3, pad=1, relu=name + '/relu_expand3x3')
    n[name + '/concat'] = L.Concat(a, b)
    return n[name + '/concat']


def squeezenet():
    n = NetSpec()
    x = conv(n, 'conv1', input_data(n, 10, 3, 227, 227), 64, 3, 2, relu='relu_conv1')
    x = n.pool1 = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    for i, (s, e) in enumerate([(16, 64), (16, 64), (32, 128), (32, 128), (48, 192),
                                (48, 192), (64, 256), (64, 256)], 2):
        x = fire(n, 'fire%d' % i, x, s, e)
        if i in (3, 5):
            x = n['pool%d' % i] = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    n.drop9 = L.Dropout(x, dropout_ratio=0.5, in_place=True)
    x = conv(n, 'conv10', n.drop9, 1000, 1, relu='relu_conv10')
    n.pool10 = L.Pooling(x, pool=AVE, global_pooling=True)
    n.prob = L.Softmax(n.pool10)
    return n.to_proto()


def fcn32s():
    """FCN-32s: VGG-16 made fully convolutional, scores upsampled 32x by a
    fixed bilinear Deconvolution and cropped back to the input (offset 19
    undoes the padding of 100 through the net)."""
    n = NetSpec()
    x = vgg_trunk(n, input_data(n, 1, 3, 500, 500), first_pad=100)
    x = conv(n, 'fc6', x, 4096, 7, relu='relu6')
    x = conv(n, 'fc7', x, 4096, 1, relu='relu7')
    x = conv(n, 'score_fr', x, 21, 1)
    n.upscore = L.Deconvolution(x, convolution_param=dict(num_output=21, kernel_size=64,
                                                          stride=32, bias_term=False))
    n.score = L.Crop(n.upscore, n.data, crop_param=dict(axis=2, offset=19))
    return n.to_proto()


# Caffe's published schedules: MNIST's "inv" policy for 10k iterations, and
# ImageNet's step policy (x0.1 every 100k iterations, 450k in all).
IMAGENET_SCHEDULE = dict(test_iter=[1000], test_interval=1000, base_lr=0.01, lr_policy='step',
                         gamma=0.1, stepsize=100000, display=20, max_iter=450000,
                         momentum=0.9, weight_decay=0.0005, snapshot=10000)
SOLVERS = {
    'lenet': caffe_pb2.SolverParameter(
        net='train_val.prototxt', snapshot_prefix='lenet', test_iter=[100], test_interval=500,
        base_lr=0.01, momentum=0.9, weight_decay=0.0005, lr_policy='inv', gamma=0.0001,
        power=0.75, display=100, max_iter=10000, snapshot=5000),
    'caffenet': caffe_pb2.SolverParameter(net='train_val.prototxt',
                                          snapshot_prefix='caffenet_train', **IMAGENET_SCHEDULE),
    'alexnet': caffe_pb2.SolverParameter(net='train_val.prototxt',
                                         snapshot_prefix='caffe_alexnet_train',
                                         **IMAGENET_SCHEDULE),
}
TRAINABLE = {'lenet': lambda: lenet(train=True),
             'caffenet': lambda: caffenet(train=True),
             'alexnet': lambda: caffenet(norm_first=True, train=True)}
MODELS = {'lenet': (lenet, 'LeNet'),
          'caffenet': (caffenet, 'CaffeNet'),
          'alexnet': (lambda: caffenet(norm_first=True), 'AlexNet'),
          'googlenet': (googlenet, 'GoogleNet'),
          'vgg16': (vgg16, 'VGG_ILSVRC_16_layers'),
          'resnet50': (resnet50, 'ResNet-50'),
          'squeezenet1.1': (squeezenet, 'SqueezeNet_v1.1'),
          'fcn32s': (fcn32s, 'FCN-32s')}

HEADER = ('# {title}: written by caffelite from the published architecture, with the\n'
          '# layer names of the official weights. Regenerate: python -m model_zoo.generate.\n')
SOLVER_HEADER = ("# {title} solver: written by caffelite from Caffe's published schedule.\n"
                 '# Regenerate: python -m model_zoo.generate.\n')
TRAIN_VAL_NOTE = ('# Data sources (and the mean file) are relative to the folder you train\n'
                  '# from, as in Caffe: copy this folder and point them at your data.\n')
SOLVER_NOTE = ('# net: the train_val.prototxt beside this file (caffelite also looks\n'
               "# there; Caffe only in the working folder). snapshot_prefix is relative\n"
               '# to the working folder.\n')


def named(proto, title):
    proto.name = title
    return proto


def render(folder):
    """{file name: text} of the zoo's files for model ``folder``."""
    build, title = MODELS[folder]
    header = HEADER.format(title=title)
    files = {'deploy.prototxt': header + str(named(build(), title))}
    if folder in TRAINABLE:
        files['train_val.prototxt'] = (header + TRAIN_VAL_NOTE
                                       + str(named(TRAINABLE[folder](), title)))
        files['solver.prototxt'] = (SOLVER_HEADER.format(title=title) + SOLVER_NOTE
                                    + str(SOLVERS[folder]))
    return files


def main():
    for folder in MODELS:
        os.makedirs(os.path.join(HERE, folder), exist_ok=True)
        for filename, text in render(folder).items():
            with open(os.path.join(HERE, folder, filename), 'w') as f:
                f.write(text)


if __name__ == '__main__':
    main()
