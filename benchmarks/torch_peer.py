"""The same architecture in PyTorch, built from a caffelite Net, so a
benchmark compares like with like: every conv, pool, LRN, inner product...
of the prototxt becomes the matching torch module, run in layer order."""
import torch
import torch.nn.functional as F
from torch import nn

from caffelite.proto import caffe_pb2


def _pair(values, h, w, default):
    if h:
        return (h, w)
    values = list(values) or [default]
    return (values[0], values[-1])


class _Pool(nn.Module):
    def __init__(self, p, in_hw):
        super().__init__()
        if p.global_pooling:
            self.k, self.s, self.pad = tuple(in_hw), (1, 1), (0, 0)
        else:
            self.k = _pair([p.kernel_size] if p.HasField('kernel_size') else [], p.kernel_h,
                           p.kernel_w, 1)
            self.s = _pair([p.stride], p.stride_h, p.stride_w, 1)
            self.pad = _pair([p.pad], p.pad_h, p.pad_w, 0)
        self.max = p.pool == caffe_pb2.PoolingParameter.MAX

    def forward(self, x):
        if self.max:
            return F.max_pool2d(x, self.k, self.s, self.pad, ceil_mode=True)
        return F.avg_pool2d(x, self.k, self.s, self.pad, ceil_mode=True)


class _Scale(nn.Module):
    def __init__(self, channels, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels)) if bias else None

    def forward(self, x):
        y = x * self.weight.view(1, -1, 1, 1)
        return y + self.bias.view(1, -1, 1, 1) if self.bias is not None else y


def _module(layer, net, bottoms):
    p, t = layer.layer_param, layer.type
    shape = net.blobs[bottoms[0]].shape if bottoms else None
    if t == 'Convolution':
        c = p.convolution_param
        w = layer.blobs[0].shape
        return nn.Conv2d(shape[1], c.num_output, (w[2], w[3]),
                         _pair(c.stride, c.stride_h, c.stride_w, 1),
                         _pair(c.pad, c.pad_h, c.pad_w, 0),
                         _pair(c.dilation, 0, 0, 1), groups=c.group, bias=c.bias_term)
    if t == 'InnerProduct':
        w = layer.blobs[0].shape
        return nn.Sequential(nn.Flatten(), nn.Linear(w[1], w[0], bias=p.inner_product_param.bias_term))
    if t == 'Pooling':
        return _Pool(p.pooling_param, shape[2:])
    if t == 'LRN':
        q = p.lrn_param
        return nn.LocalResponseNorm(q.local_size, q.alpha, q.beta, q.k)
    if t == 'ReLU':
        return nn.ReLU()
    if t == 'Dropout':
        return nn.Dropout(p.dropout_param.dropout_ratio)
    if t == 'BatchNorm':
        return nn.BatchNorm2d(shape[1], eps=p.batch_norm_param.eps, affine=False)
    if t == 'Scale':
        return _Scale(shape[1], p.scale_param.bias_term)
    if t == 'Softmax':
        return nn.Softmax(dim=1)
    if t == 'Sigmoid':
        return nn.Sigmoid()
    if t == 'Power':
        return _Power(p.power_param)
    return None


class _Power(nn.Module):
    """(shift + scale * x) ** power."""

    def __init__(self, p):
        super().__init__()
        self.power, self.scale, self.shift = p.power, p.scale, p.shift

    def forward(self, x):
        y = x * self.scale + self.shift
        return y if self.power == 1 else y ** self.power


class TorchPeer(nn.Module):
    """Runs the layers of a caffelite Net in order with torch modules."""

    def __init__(self, net):
        super().__init__()
        self.steps = []
        self.inputs = list(net.inputs)
        self.mods = nn.ModuleDict()
        for name, layer in net.layer_dict.items():
            bottoms, tops = net.bottom_names[name], net.top_names[name]
            # (Python layers, DetectNet's clustering for one, run on the host
            # in caffelite too: benchmarks time the nets without them)
            if layer.type in ('Input', 'Accuracy', 'Silence', 'Python'):
                continue
            module = _module(layer, net, bottoms)
            key = 'm%d' % len(self.steps)
            if module is not None:
                self.mods[key] = module
            self.steps.append((layer.type, key, bottoms, tops))

    def forward(self, **inputs):
        blobs = dict(inputs)
        loss = None
        for kind, key, bottoms, tops in self.steps:
            xs = [blobs[b] for b in bottoms]
            if kind == 'Split':
                out = [xs[0]] * len(tops)
            elif kind == 'Concat':
                out = [torch.cat(xs, 1)]
            elif kind == 'Eltwise':
                out = [sum(xs)]
            elif kind == 'Flatten':
                out = [torch.flatten(xs[0], 1)]
            elif kind == 'SoftmaxWithLoss':
                loss = F.cross_entropy(xs[0], xs[1].long())
                out = [loss]
            else:
                out = [self.mods[key](xs[0])]
            blobs.update(zip(tops, out))
        return blobs, loss
