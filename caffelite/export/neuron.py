"""Elementwise layers: ReLU, Sigmoid, TanH, AbsVal, BNLL, ELU, Power, Exp,
Log, Threshold, Clip, Swish, Dropout (TEST) and PReLU, with the constants
Caffe computes them with (float32 products, base e for base -1)."""
import numpy as np

from ..proto import caffe_pb2
from .convert import converter

f32 = np.float32


def _unary(op_type, **attrs):
    def convert(ctx):
        return [ctx.op(op_type, [ctx.inputs[0]], out=ctx.out(), **attrs)]
    convert.__doc__ = 'ONNX %s.' % op_type
    return convert


converter('Sigmoid')(_unary('Sigmoid'))
converter('TanH')(_unary('Tanh'))
converter('AbsVal')(_unary('Abs'))
# log(1 + exp(x)); ONNX Runtime's Softplus is computed without overflow.
converter('BNLL')(_unary('Softplus'))


@converter('ReLU')
def relu(ctx):
    slope = ctx.lp.relu_param.negative_slope
    if slope == 0:
        return [ctx.op('Relu', [ctx.inputs[0]], out=ctx.out())]
    return [ctx.op('LeakyRelu', [ctx.inputs[0]], out=ctx.out(), alpha=float(f32(slope)))]


@converter('ELU')
def elu(ctx):
    return [ctx.op('Elu', [ctx.inputs[0]], out=ctx.out(),
                   alpha=float(f32(ctx.lp.elu_param.alpha)))]


def _affine(ctx, x, scale, shift, out=None):
    """scale * x + shift in Caffe's float32 order, skipping identities."""
    if scale != 1:
        x = ctx.op('Mul', [x, ctx.g.const(f32(scale))], out=None if shift else out)
    if shift != 0:
        x = ctx.op('Add', [x, ctx.g.const(f32(shift))], out=out)
    return x


@converter('Power')
def power(ctx):
    """(shift + scale x) ^ power; a constant when power * scale is 0."""
    p = ctx.lp.power_param
    scale, shift, exponent = f32(p.scale), f32(p.shift), f32(p.power)
    x = ctx.inputs[0]
    if exponent * scale == 0:
        value = f32(1) if exponent == 0 else shift ** exponent
        return [ctx.op('Expand', [ctx.g.const(value), ctx.op('Shape', [x])], out=ctx.out())]
    if exponent == 1:
        return [_affine(ctx, x, scale, shift, ctx.out())]
    base = _affine(ctx, x, scale, shift)
    return [ctx.op('Pow', [base, ctx.g.const(exponent)], out=ctx.out())]


def _log_base(base):
    """ln(base) in float32; base -1 means e."""
    return f32(1) if base == -1 else np.log(f32(base))


@converter('Exp')
def exp(ctx):
    """base ^ (shift + scale x) = outer * exp(inner * x)."""
    p = ctx.lp.exp_param
    inner = _log_base(p.base) * f32(p.scale)
    base, shift = f32(p.base), f32(p.shift)
    outer = f32(1) if shift == 0 else (np.exp(shift) if base == -1 else base ** shift)
    x = ctx.scale(ctx.inputs[0], inner)
    if outer == 1:
        return [ctx.op('Exp', [x], out=ctx.out())]
    return [ctx.scale(ctx.op('Exp', [x]), outer, out=ctx.out())]


@converter('Log')
def log(ctx):
    """ln(scale x + shift) * (1 / ln(base))."""
    p = ctx.lp.log_param
    y = ctx.op('Log', [_affine(ctx, ctx.inputs[0], f32(p.scale), f32(p.shift))])
    return [ctx.scale(y, f32(1) / _log_base(p.base), out=ctx.out())]


@converter('Threshold')
def threshold(ctx):
    """1 where x > threshold, else 0."""
    above = ctx.op('Greater', [ctx.inputs[0],
                               ctx.g.const(f32(ctx.lp.threshold_param.threshold))])
    return [ctx.op('Cast', [above], out=ctx.out(), to=1)]


@converter('Clip')
def clip(ctx):
    """max(min, min(x, max)): Caffe's order, in which min wins when it
    exceeds max (ONNX's Clip would give max)."""
    p = ctx.lp.clip_param
    low, high = ctx.g.const(f32(p.min)), ctx.g.const(f32(p.max))
    if f32(p.min) <= f32(p.max):
        return [ctx.op('Clip', [ctx.inputs[0], low, high], out=ctx.out())]
    return [ctx.op('Max', [ctx.op('Min', [ctx.inputs[0], high]), low], out=ctx.out())]


@converter('Swish')
def swish(ctx):
    """x * sigmoid(beta x)."""
    x = ctx.inputs[0]
    gate = ctx.op('Sigmoid', [ctx.scale(x, f32(ctx.lp.swish_param.beta))])
    return [ctx.op('Mul', [x, gate], out=ctx.out())]


@converter('Dropout')
def dropout(ctx):
    """The identity at TEST (Caffe scales at TRAIN time)."""
    if ctx.phase == caffe_pb2.TRAIN:
        ctx.refuse('Dropout in the TRAIN phase drops units at random; export a TEST net')
    return [ctx.inputs[0]]


@converter('PReLU')
def prelu(ctx):
    """PRelu with the slope shaped (C, 1, ...) to broadcast over axis 1,
    or a single shared slope."""
    slope = ctx.params[0].reshape(-1)
    rank = len(ctx.bottom_shapes[0])
    if not ctx.lp.prelu_param.channel_shared:
        slope = slope.reshape((-1,) + (1,) * (rank - 2))
    weight = ctx.g.initializer(slope, ctx.name + '/slope')
    return [ctx.op('PRelu', [ctx.inputs[0], weight], out=ctx.out())]
