"""LRN, BatchNorm and MVN."""
import numpy as np

from ..proto import caffe_pb2
from .convert import converter

f32 = np.float32


@converter('LRN')
def lrn(ctx):
    """ACROSS_CHANNELS is ONNX's LRN exactly (alpha / size, bias k, the
    window c - (size-1)/2 .. c + size/2). WITHIN_CHANNEL:
    x (1 + alpha * avg(x^2))^-beta over size x size, zero padded by
    (size-1)/2, where every window counts size^2 (Caffe pools the padded
    square with stride 1, so no window passes the padding)."""
    p = ctx.lp.lrn_param
    x = ctx.inputs[0]
    if p.norm_region == caffe_pb2.LRNParameter.ACROSS_CHANNELS:
        return [ctx.op('LRN', [x], out=ctx.out(), size=p.local_size, alpha=float(f32(p.alpha)),
                       beta=float(f32(p.beta)), bias=float(f32(p.k)))]
    pad = (p.local_size - 1) // 2
    mean = ctx.op('AveragePool', [ctx.op('Mul', [x, x])], kernel_shape=[p.local_size] * 2,
                  strides=[1, 1], pads=[pad] * 4, count_include_pad=1)
    base = ctx.op('Add', [ctx.scale(mean, f32(p.alpha)), ctx.g.const(f32(1))])
    factor = ctx.op('Pow', [base, ctx.g.const(f32(-p.beta))])
    return [ctx.op('Mul', [x, factor], out=ctx.out())]


def _use_global_stats(ctx):
    p = ctx.lp.batch_norm_param
    return p.use_global_stats if p.HasField('use_global_stats') else (
        ctx.phase == caffe_pb2.TEST)


@converter('BatchNorm')
def batch_norm(ctx):
    """With stored statistics: ONNX BatchNormalization (scale 1, bias 0)
    on the running sums divided by the scale-factor blob (0 while it is 0).
    With batch statistics: (x - mean) / sqrt(var + eps) over axes 0, 2...."""
    eps = f32(ctx.lp.batch_norm_param.eps)
    shape = ctx.bottom_shapes[0]
    x = ctx.inputs[0]
    if len(shape) < 2:
        ctx.refuse('BatchNorm of a 1-axis blob %s has no channel axis in ONNX' % (shape,))
    if not _use_global_stats(ctx):
        axes = [0] + list(range(2, len(shape)))
        mean = ctx.g.reduce('ReduceMean', x, axes, keepdims=True, where=ctx.name)
        centered = ctx.op('Sub', [x, mean])
        var = ctx.g.reduce('ReduceMean', ctx.op('Mul', [centered, centered]), axes,
                           keepdims=True, where=ctx.name)
        std = ctx.op('Sqrt', [ctx.op('Add', [var, ctx.g.const(eps)])])
        return [ctx.op('Div', [centered, std], out=ctx.out())]
    mean_sum, var_sum, factor = ctx.params[:3]
    factor = factor.reshape(-1)[0]
    scale = f32(0) if factor == 0 else f32(1) / factor
    channels = shape[1]
    args = [x, ctx.g.const(np.ones(channels, f32)), ctx.g.const(np.zeros(channels, f32)),
            ctx.g.initializer(mean_sum * scale, ctx.name + '/mean'),
            ctx.g.initializer(var_sum * scale, ctx.name + '/variance')]
    return [ctx.op('BatchNormalization', args, out=ctx.out(), epsilon=float(eps))]


@converter('MVN')
def mvn(ctx):
    """x - mean, then with normalize_variance / (sqrt(mean((x - mean)^2))
    + eps) (Caffe adds eps to the deviation), over each item's channel or,
    across_channels, over each item."""
    p = ctx.lp.mvn_param
    shape = ctx.bottom_shapes[0]
    per_group = shape[1:] if p.across_channels else shape[2:]
    rows = ctx.reshape(ctx.inputs[0], (-1, int(np.prod(per_group))), free0=False)
    mean = ctx.g.reduce('ReduceMean', rows, [1], keepdims=True, where=ctx.name)
    y = ctx.op('Sub', [rows, mean])
    if p.normalize_variance:
        var = ctx.g.reduce('ReduceMean', ctx.op('Mul', [y, y]), [1], keepdims=True,
                           where=ctx.name)
        std = ctx.op('Add', [ctx.op('Sqrt', [var]), ctx.g.const(f32(p.eps))])
        y = ctx.op('Div', [y, std])
    return [ctx.op('Reshape', [y, ctx.op('Shape', [ctx.inputs[0]])], out=ctx.out())]
