"""Elementwise (neuron) layers. Each computes y = f(x) and dx = dy * f'(...)
from whichever of x or y it needs; all may run in place (top is bottom),
keeping a copy of x when the gradient needs the input."""
import numpy as np

from .. import fillers
from ..proto import caffe_pb2
from .base import Layer, register

f32 = np.float32


class NeuronLayer(Layer):
    """Base: one bottom, one top of the same shape. Subclasses define
    ``f(x)`` and ``grad(x, y, dy)``; ``needs_input`` makes in-place use keep
    a copy of x for the backward pass."""
    exact_num_bottom = 1
    exact_num_top = 1
    needs_input = True

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])

    def forward(self, bottom, top):
        x = bottom[0].xdata
        self._x = x.copy() if self.needs_input and bottom[0] is top[0] else None
        top[0].xdata[...] = self.f(x)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            x = self._x if self._x is not None else bottom[0].xdata
            bottom[0].xdiff[...] = self.grad(x, top[0].xdata, top[0].xdiff)

    def f(self, x):
        raise NotImplementedError

    def grad(self, x, y, dy):
        raise NotImplementedError


@register('ReLU')
class ReLULayer(NeuronLayer):
    """max(x, 0) + negative_slope * min(x, 0). The gradient reads the sign
    of y, which equals the sign of x for slopes >= 0, so in place is free."""
    needs_input = False

    def setup(self, bottom, top):
        self.slope = f32(self.layer_param.relu_param.negative_slope)
        self.needs_input = self.slope < 0

    def f(self, x):
        y = self.xp.maximum(x, 0)
        return y + self.slope * self.xp.minimum(x, 0) if self.slope else y

    def grad(self, x, y, dy):
        positive = (x if self.needs_input else y) > 0
        if not self.slope:
            return dy * positive
        return dy * (positive + self.slope * ~positive)


@register('Sigmoid')
class SigmoidLayer(NeuronLayer):
    """1 / (1 + exp(-x)), written as 0.5 * tanh(0.5 x) + 0.5 like Caffe."""
    needs_input = False

    def f(self, x):
        return f32(0.5) * self.xp.tanh(f32(0.5) * x) + f32(0.5)

    def grad(self, x, y, dy):
        return dy * y * (1 - y)


@register('TanH')
class TanHLayer(NeuronLayer):
    needs_input = False

    def f(self, x):
        return self.xp.tanh(x)

    def grad(self, x, y, dy):
        return dy * (1 - y * y)


@register('AbsVal')
class AbsValLayer(NeuronLayer):
    def f(self, x):
        return abs(x)

    def grad(self, x, y, dy):
        return dy * self.xp.sign(x)


@register('BNLL')
class BNLLLayer(NeuronLayer):
    """log(1 + exp(x)), evaluated without overflow."""

    def f(self, x):
        xp = self.xp
        return xp.where(x > 0, x + xp.log1p(xp.exp(-abs(x))), xp.log1p(xp.exp(-abs(x))))

    def grad(self, x, y, dy):
        e = self.xp.exp(self.xp.minimum(x, f32(50)))
        return dy * e / (e + 1)


@register('ELU')
class ELULayer(NeuronLayer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def setup(self, bottom, top):
        self.alpha = f32(self.layer_param.elu_param.alpha)

    def f(self, x):
        xp = self.xp
        return xp.where(x > 0, x, self.alpha * (xp.exp(xp.minimum(x, 0)) - 1))

    def grad(self, x, y, dy):
        return dy * self.xp.where(x > 0, f32(1), y + self.alpha)


@register('Power')
class PowerLayer(NeuronLayer):
    """(shift + scale * x) ^ power."""

    def setup(self, bottom, top):
        p = self.layer_param.power_param
        self.power, self.scale, self.shift = f32(p.power), f32(p.scale), f32(p.shift)

    def f(self, x):
        if self.power * self.scale == 0:
            value = 1 if self.power == 0 else self.shift ** self.power
            return self.xp.full(x.shape, value, np.float32)
        base = self.shift + self.scale * x
        return base if self.power == 1 else base ** self.power

    def grad(self, x, y, dy):
        slope = self.power * self.scale
        if slope == 0 or self.power == 1:
            return self.xp.full(x.shape, slope, np.float32) * (dy if slope else 0)
        return dy * slope * (self.shift + self.scale * x) ** (self.power - 1)


def _log_base(base):
    """Natural log of a Caffe ``base`` field (-1 means e)."""
    return f32(1) if base == -1 else f32(np.log(base))


@register('Exp')
class ExpLayer(NeuronLayer):
    """base ^ (shift + scale * x); base -1 means e."""
    needs_input = False

    def setup(self, bottom, top):
        p = self.layer_param.exp_param
        self.check(p.base == -1 or p.base > 0, 'base must be -1 or positive')
        self.inner = _log_base(p.base) * f32(p.scale)
        self.outer = f32(1) if p.shift == 0 else f32(np.exp(_log_base(p.base) * p.shift))

    def f(self, x):
        return self.outer * self.xp.exp(self.inner * x)

    def grad(self, x, y, dy):
        return dy * y * self.inner


@register('Log')
class LogLayer(NeuronLayer):
    """log_base(shift + scale * x); base -1 means e."""

    def setup(self, bottom, top):
        p = self.layer_param.log_param
        self.check(p.base == -1 or p.base > 0, 'base must be -1 or positive')
        self.scale, self.shift = f32(p.scale), f32(p.shift)
        self.denominator = _log_base(p.base)

    def f(self, x):
        return self.xp.log(self.shift + self.scale * x) / self.denominator

    def grad(self, x, y, dy):
        return dy * self.scale / (self.denominator * (self.shift + self.scale * x))


@register('Threshold')
class ThresholdLayer(NeuronLayer):
    """1 where x > threshold, else 0 (no gradient, as in Caffe)."""
    needs_input = False

    def f(self, x):
        return (x > f32(self.layer_param.threshold_param.threshold)).astype(np.float32)

    def backward(self, top, propagate_down, bottom):
        Layer.backward(self, top, propagate_down, bottom)


@register('Clip')
class ClipLayer(NeuronLayer):
    """x clipped to [min, max]; the gradient passes inside the range."""

    def setup(self, bottom, top):
        p = self.layer_param.clip_param
        self.check(p.min <= p.max, 'min must not exceed max')
        self.low, self.high = f32(p.min), f32(p.max)

    def f(self, x):
        return self.xp.clip(x, self.low, self.high)

    def grad(self, x, y, dy):
        return dy * ((x >= self.low) & (x <= self.high))


@register('Swish')
class SwishLayer(NeuronLayer):
    """x * sigmoid(beta * x)."""

    def setup(self, bottom, top):
        self.beta = f32(self.layer_param.swish_param.beta)

    def _sigmoid(self, x):
        return f32(0.5) * self.xp.tanh(f32(0.5) * self.beta * x) + f32(0.5)

    def f(self, x):
        return x * self._sigmoid(x)

    def grad(self, x, y, dy):
        s = self._sigmoid(x)
        return dy * (self.beta * y + s * (1 - self.beta * y))


@register('Dropout')
class DropoutLayer(NeuronLayer):
    """TRAIN: zero each unit with probability ``dropout_ratio`` and scale the
    kept ones by 1 / (1 - ratio); TEST: identity."""
    needs_input = False

    def setup(self, bottom, top):
        p = self.layer_param.dropout_param
        self.check(0 <= p.dropout_ratio < 1, 'dropout_ratio must be in [0, 1)')
        self.ratio = p.dropout_ratio
        self.scale = f32(1.0 / (1.0 - p.dropout_ratio))

    def _training(self):
        return self.phase == caffe_pb2.TRAIN

    def f(self, x):
        if not self._training():
            return x
        keep = self.rng().uniform(size=x.shape) >= self.ratio
        self.mask = self.xp.asarray(keep.astype(np.float32) * self.scale)
        return x * self.mask

    def grad(self, x, y, dy):
        return dy * self.mask if self._training() else dy


@register('PReLU')
class PReLULayer(NeuronLayer):
    """max(x, 0) + a_c * min(x, 0) with a learned slope per channel (axis 1),
    or one shared slope."""

    def setup(self, bottom, top):
        p = self.layer_param.prelu_param
        self.check(bottom[0].num_axes >= 2, 'PReLU needs at least 2 axes')
        channels = bottom[0].shape[1]
        if not self.blobs:
            filler = p.filler if p.HasField('filler') else caffe_pb2.FillerParameter(
                type='constant', value=0.25)
            fillers.fill(self.add_param(() if p.channel_shared else (channels,)), filler)
        self.check(self.blobs[0].count == (1 if p.channel_shared else channels),
                   'slope blob has %d entries for %d channels' % (self.blobs[0].count, channels))

    def _slope(self, x):
        a = self.blobs[0].xdata
        return a.reshape((1, -1) + (1,) * (x.ndim - 2))

    def f(self, x):
        return self.xp.maximum(x, 0) + self._slope(x) * self.xp.minimum(x, 0)

    def backward(self, top, propagate_down, bottom):
        x = self._x if self._x is not None else bottom[0].xdata
        dy = top[0].xdiff
        if self.param_propagate_down[0]:
            contribution = dy * x * (x <= 0)
            axes = tuple(i for i in range(x.ndim) if i != 1)
            per_channel = contribution.sum(axis=axes)
            self.blobs[0].xdiff[...] += per_channel.sum().reshape(self.blobs[0].shape) \
                if self.blobs[0].num_axes == 0 else per_channel
        if propagate_down[0]:
            bottom[0].xdiff[...] = dy * self.xp.where(x > 0, f32(1), self._slope(x))
