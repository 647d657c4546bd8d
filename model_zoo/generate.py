"""Writes model_zoo/<name>/deploy.prototxt for every zoo model, from the
published architectures, with the layer names of the official weight files
so that they load by name. Run: python model_zoo/generate.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from caffelite import layers as L, params as P  # noqa: E402
from caffelite.net_spec import NetSpec  # noqa: E402

MAX, AVE = P.Pooling.MAX, P.Pooling.AVE


def conv(n, name, bottom, num_output, kernel, stride=1, pad=0, group=1, relu=None, bias=True):
    """A convolution named ``name`` and, when ``relu`` names it, an in-place ReLU."""
    params = dict(num_output=num_output, kernel_size=kernel, stride=stride, pad=pad)
    if group > 1:
        params['group'] = group
    if not bias:
        params['bias_term'] = False
    n[name] = L.Convolution(bottom, **params)
    if relu:
        n[relu] = L.ReLU(n[name], in_place=True)
    return n[name]


def fc(n, name, bottom, num_output, relu=None, drop=None):
    n[name] = L.InnerProduct(bottom, num_output=num_output)
    if relu:
        n[relu] = L.ReLU(n[name], in_place=True)
    if drop:
        n[drop] = L.Dropout(n[name], dropout_ratio=0.5, in_place=True)
    return n[name]


def data(n, *shape):
    n.data = L.Input(shape=dict(dim=list(shape)))
    return n.data


def lenet():
    n = NetSpec()
    x = conv(n, 'conv1', data(n, 64, 1, 28, 28), 20, 5)
    n.pool1 = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = conv(n, 'conv2', n.pool1, 50, 5)
    n.pool2 = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = fc(n, 'ip1', n.pool2, 500, relu='relu1')
    n.prob = L.Softmax(fc(n, 'ip2', x, 10))
    return n, 'LeNet'


def lrn(bottom):
    return L.LRN(bottom, local_size=5, alpha=0.0001, beta=0.75)


def caffenet(norm_first=False):
    """CaffeNet; with ``norm_first`` AlexNet (normalization before pooling)."""
    n = NetSpec()
    x = data(n, 10, 3, 227, 227)
    for i, (out, k, s, p, g) in enumerate([(96, 11, 4, 0, 1), (256, 5, 1, 2, 2)], 1):
        x = conv(n, 'conv%d' % i, x, out, k, s, p, g, relu='relu%d' % i)
        if norm_first:
            n['norm%d' % i] = lrn(x)
            x = n['pool%d' % i] = L.Pooling(n['norm%d' % i], pool=MAX, kernel_size=3, stride=2)
        else:
            n['pool%d' % i] = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
            x = n['norm%d' % i] = lrn(n['pool%d' % i])
    x = conv(n, 'conv3', x, 384, 3, pad=1, relu='relu3')
    x = conv(n, 'conv4', x, 384, 3, pad=1, group=2, relu='relu4')
    x = conv(n, 'conv5', x, 256, 3, pad=1, group=2, relu='relu5')
    n.pool5 = L.Pooling(x, pool=MAX, kernel_size=3, stride=2)
    x = fc(n, 'fc6', n.pool5, 4096, relu='relu6', drop='drop6')
    x = fc(n, 'fc7', x, 4096, relu='relu7', drop='drop7')
    n.prob = L.Softmax(fc(n, 'fc8', x, 1000))
    return n, 'AlexNet' if norm_first else 'CaffeNet'


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
    x = conv(n, 'conv1/7x7_s2', data(n, 10, 3, 224, 224), 64, 7, 2, 3, relu='conv1/relu_7x7')
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
    return n, 'GoogleNet'


def vgg16():
    n = NetSpec()
    x = data(n, 10, 3, 224, 224)
    for block, (count, width) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, count + 1):
            x = conv(n, 'conv%d_%d' % (block, i), x, width, 3, pad=1,
                     relu='relu%d_%d' % (block, i))
        x = n['pool%d' % block] = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = fc(n, 'fc6', x, 4096, relu='relu6', drop='drop6')
    x = fc(n, 'fc7', x, 4096, relu='relu7', drop='drop7')
    n.prob = L.Softmax(fc(n, 'fc8', x, 1000))
    return n, 'VGG_ILSVRC_16_layers'


def conv_bn(n, suffix, x, num_output, kernel, stride=1, pad=0, relu=True):
    """Kaiming He's ResNet naming: res<suffix>, bn<suffix>, scale<suffix>."""
    name = 'res' + suffix if suffix != 'conv1' else 'conv1'
    bn = 'bn' + suffix if suffix != 'conv1' else 'bn_conv1'
    scale = 'scale' + suffix if suffix != 'conv1' else 'scale_conv1'
    # Only conv1 of the released ResNets has a bias term.
    x = conv(n, name, x, num_output, kernel, stride, pad, bias=suffix == 'conv1')
    n[bn] = L.BatchNorm(x, use_global_stats=True, in_place=True)
    n[scale] = L.Scale(x, bias_term=True, in_place=True)
    if relu:
        n[name + '_relu'] = L.ReLU(x, in_place=True)
    return x


def resnet50():
    n = NetSpec()
    x = conv_bn(n, 'conv1', data(n, 1, 3, 224, 224), 64, 7, 2, 3)
    n.conv1_relu = L.ReLU(x, in_place=True)
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
    return n, 'ResNet-50'


def fire(n, name, x, squeeze, expand):
    s = conv(n, name + '/squeeze1x1', x, squeeze, 1, relu=name + '/relu_squeeze1x1')
    a = conv(n, name + '/expand1x1', s, expand, 1, relu=name + '/relu_expand1x1')
    b = conv(n, name + '/expand3x3', s, expand, 3, pad=1, relu=name + '/relu_expand3x3')
    n[name + '/concat'] = L.Concat(a, b)
    return n[name + '/concat']


def squeezenet():
    n = NetSpec()
    x = conv(n, 'conv1', data(n, 10, 3, 227, 227), 64, 3, 2, relu='relu_conv1')
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
    return n, 'SqueezeNet_v1.1'


def fcn32s():
    n = NetSpec()
    x = data(n, 1, 3, 500, 500)
    for block, (count, width) in enumerate([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)], 1):
        for i in range(1, count + 1):
            pad = 100 if (block, i) == (1, 1) else 1
            x = conv(n, 'conv%d_%d' % (block, i), x, width, 3, pad=pad,
                     relu='relu%d_%d' % (block, i))
        x = n['pool%d' % block] = L.Pooling(x, pool=MAX, kernel_size=2, stride=2)
    x = conv(n, 'fc6', x, 4096, 7, relu='relu6')
    n.drop6 = L.Dropout(x, dropout_ratio=0.5, in_place=True)
    x = conv(n, 'fc7', x, 4096, 1, relu='relu7')
    n.drop7 = L.Dropout(x, dropout_ratio=0.5, in_place=True)
    x = conv(n, 'score_fr', x, 21, 1)
    n.upscore = L.Deconvolution(x, convolution_param=dict(num_output=21, kernel_size=64,
                                                          stride=32, bias_term=False))
    n.score = L.Crop(n.upscore, n.data, crop_param=dict(axis=2, offset=19))
    return n, 'FCN-32s'


MODELS = {'lenet': lenet, 'caffenet': caffenet, 'alexnet': lambda: caffenet(True),
          'googlenet': googlenet, 'vgg16': vgg16, 'resnet50': resnet50,
          'squeezenet1.1': squeezenet, 'fcn32s': fcn32s}


def main():
    for folder, build in MODELS.items():
        n, name = build()
        proto = n.to_proto()
        proto.name = name
        os.makedirs(os.path.join(HERE, folder), exist_ok=True)
        with open(os.path.join(HERE, folder, 'deploy.prototxt'), 'w') as f:
            f.write('# %s: written by caffelite from the published architecture, with the\n'
                    '# layer names of the official weights. Regenerate with '
                    'model_zoo/generate.py.\n' % name)
            f.write(str(proto))


if __name__ == '__main__':
    main()
