"""Elementwise (neuron) layers: y = f(x) over a blob of any shape, and
dx = dy * f'(x) computed from whichever of x and y the gradient needs.

Every neuron layer may run in place (top is bottom). Caffe's own gradients
read the bottom data, which an in-place forward has overwritten with y; here
a layer whose gradient needs x keeps a copy of it for the backward pass.
"""
import numpy as np

from .. import backend, fillers
from ..ops import neuron as ops
from ..proto import caffe_pb2
from .base import Layer, register

f32 = np.float32


def sigmoid(xp, x):
    """1 / (1 + exp(-x)) in Caffe's form 0.5 tanh(0.5 x) + 0.5, which cannot
    overflow for large |x|."""
    return f32(0.5) * xp.tanh(f32(0.5) * x) + f32(0.5)


class NeuronLayer(Layer):
    """One bottom, one top of the same shape. Subclasses define ``f(x)`` and
    ``grad(x, y, dy)``; ``needs_input`` says whether ``grad`` reads x (then an
    in-place forward keeps a copy of it). ``elementwise`` layers (each output
    element depends on its own input element alone) run over flat pieces of
    the blob (Layer.over_elements)."""
    exact_num_bottom = 1
    exact_num_top = 1
    needs_input = True
    elementwise = True

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])

    def forward(self, bottom, top):
        x = bottom[0].xdata
        in_place = bottom[0] is top[0]
        self._x = x.copy() if self.needs_input and in_place else None
        if not self.elementwise:
            top[0].xdata[...] = self.f(x)
            return
        flat, y = x.reshape(-1), top[0].xdata.reshape(-1)

        def piece(s):
            self.write(flat[s], y[s])
        self.over_elements(flat.size, piece)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        x, y, dy = self.input(bottom), top[0].xdata, top[0].xdiff
        if not self.elementwise:
            bottom[0].xdiff[...] = self.grad(x, y, dy)
            return
        x, y, dy, dx = (a.reshape(-1) for a in (x, y, dy, bottom[0].xdiff))

        def piece(s):
            self.write_grad(x[s], y[s], dy[s], dx[s])
        self.over_elements(dx.size, piece)

    def input(self, bottom):
        """x of the last forward, shape of the bottom (valid when ``needs_input``)."""
        return self._x if self._x is not None else bottom[0].xdata

    def f(self, x):
        raise NotImplementedError

    def write(self, x, y):
        """y[...] = f(x) for a flat piece; a layer that can write into y
        without a temporary overrides this."""
        y[...] = self.f(x)

    def write_grad(self, x, y, dy, dx):
        """dx[...] = grad(x, y, dy) for flat pieces; overridden as write is."""
        dx[...] = self.grad(x, y, dy)

    def grad(self, x, y, dy):
        raise NotImplementedError


@register('ReLU')
class ReLULayer(NeuronLayer):
    """max(x, 0) + negative_slope * min(x, 0). For slopes >= 0 the sign of y
    is the sign of x, so the gradient reads y and in place costs no copy."""

    def setup(self, bottom, top):
        self.slope = f32(self.layer_param.relu_param.negative_slope)
        self.needs_input = bool(self.slope < 0)

    def f(self, x):
        return ops.relu_forward(x, self.slope)

    def write(self, x, y):
        ops.relu_forward(x, self.slope, out=y)

    def write_grad(self, x, y, dy, dx):
        ops.relu_backward(x if self.needs_input else y, dy, self.slope, out=dx)

    def grad(self, x, y, dy):
        return ops.relu_backward(x if self.needs_input else y, dy, self.slope)


@register('Sigmoid')
class SigmoidLayer(NeuronLayer):
    needs_input = False

    def f(self, x):
        return ops.sigmoid_forward(x)

    def grad(self, x, y, dy):
        return ops.sigmoid_backward(y, dy)


@register('TanH')
class TanHLayer(NeuronLayer):
    needs_input = False

    def f(self, x):
        return ops.tanh_forward(x)

    def grad(self, x, y, dy):
        return ops.tanh_backward(y, dy)


@register('AbsVal')
class AbsValLayer(NeuronLayer):
    """|x|; the gradient at 0 is 0 (Caffe's sign)."""

    def f(self, x):
        return abs(x)

    def grad(self, x, y, dy):
        return dy * self.xp.sign(x)


@register('BNLL')
class BNLLLayer(NeuronLayer):
    """log(1 + exp(x)), split at 0 so that exp never overflows."""
    # Caffe clamps x at this value before exp in the gradient.
    overflow_guard = f32(50)

    def f(self, x):
        xp = self.xp
        soft = xp.log1p(xp.exp(-abs(x)))
        return xp.where(x > 0, x + soft, soft)

    def grad(self, x, y, dy):
        e = self.xp.exp(self.xp.minimum(x, self.overflow_guard))
        return dy * e / (e + 1)


@register('ELU')
class ELULayer(NeuronLayer):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""

    def setup(self, bottom, top):
        self.alpha = f32(self.layer_param.elu_param.alpha)

    def f(self, x):
        return ops.elu_forward(x, self.alpha)

    def grad(self, x, y, dy):
        # For x <= 0, d/dx alpha (exp(x) - 1) = y + alpha.
        return ops.elu_backward(x, y, dy, self.alpha)


@register('Power')
class PowerLayer(NeuronLayer):
    """(shift + scale * x) ^ power, with Caffe's special cases: a constant
    when power * scale is 0, and gradients power 2: 2 scale (shift + scale x);
    shift 0: power * y / x (NaN at x = 0, as in Caffe); otherwise
    power * scale * y / (shift + scale x)."""

    def setup(self, bottom, top):
        p = self.layer_param.power_param
        self.power, self.scale, self.shift = f32(p.power), f32(p.scale), f32(p.shift)
        self.diff_scale = self.power * self.scale

    def f(self, x):
        if self.diff_scale == 0:
            value = f32(1) if self.power == 0 else self.shift ** self.power
            return self.xp.full(x.shape, value, np.float32)
        base = self.scale * x + self.shift
        return base if self.power == 1 else base ** self.power

    def grad(self, x, y, dy):
        if self.diff_scale == 0:
            return self.xp.zeros_like(dy)
        if self.power == 1:
            return dy * self.diff_scale
        if self.power == 2:
            slope = self.diff_scale * self.scale * x + self.diff_scale * self.shift
        else:
            with np.errstate(divide='ignore', invalid='ignore'):
                slope = (y / x * self.power if self.shift == 0
                         else y / (self.scale * x + self.shift) * self.diff_scale)
        return dy * slope


def _log_base(layer, base):
    """Natural log of a Caffe ``base`` field in float32 (-1 means e)."""
    layer.check(base == -1 or base > 0, 'base must be strictly positive (or -1 for e)')
    return f32(1) if base == -1 else np.log(f32(base))


@register('Exp')
class ExpLayer(NeuronLayer):
    """base ^ (shift + scale * x) = outer * exp(inner * x), with
    inner = ln(base) * scale and outer = base ^ shift; base -1 means e."""
    needs_input = False

    def setup(self, bottom, top):
        p = self.layer_param.exp_param
        self.inner = _log_base(self, p.base) * f32(p.scale)
        base, shift = f32(p.base), f32(p.shift)
        if shift == 0:
            self.outer = f32(1)
        else:
            self.outer = np.exp(shift) if base == -1 else base ** shift

    def f(self, x):
        return self.outer * self.xp.exp(self.inner * x)

    def grad(self, x, y, dy):
        return dy * y * self.inner


@register('Log')
class LogLayer(NeuronLayer):
    """log_base(shift + scale * x) = ln(shift + scale * x) / ln(base);
    base -1 means e."""

    def setup(self, bottom, top):
        p = self.layer_param.log_param
        log_base = _log_base(self, p.base)
        self.check(log_base != 0, 'base 1 has no logarithm')
        self.scale, self.shift = f32(p.scale), f32(p.shift)
        # Caffe multiplies by these reciprocals rather than dividing.
        self.base_scale = f32(1) / log_base
        self.backward_scale = self.scale / log_base

    def f(self, x):
        return self.xp.log(self.scale * x + self.shift) * self.base_scale

    def grad(self, x, y, dy):
        return dy * (f32(1) / (self.scale * x + self.shift) * self.backward_scale)


@register('Threshold')
class ThresholdLayer(NeuronLayer):
    """1 where x > threshold, else 0. Not differentiable: like Caffe, no
    backward (the base Layer refuses any propagate_down)."""
    needs_input = False
    backward = Layer.backward

    def f(self, x):
        return (x > f32(self.layer_param.threshold_param.threshold)).astype(np.float32)


@register('Clip')
class ClipLayer(NeuronLayer):
    """max(min, min(x, max)) (Caffe's order: min wins when min > max); the
    gradient passes where min <= x <= max."""

    def setup(self, bottom, top):
        p = self.layer_param.clip_param
        self.low, self.high = f32(p.min), f32(p.max)

    def f(self, x):
        return self.xp.maximum(self.low, self.xp.minimum(x, self.high))

    def grad(self, x, y, dy):
        return dy * ((x >= self.low) & (x <= self.high))


@register('Swish')
class SwishLayer(NeuronLayer):
    """x * sigmoid(beta x). Like Caffe's (which runs an inner Sigmoid layer)
    it keeps the sigmoid output for the gradient
    dy * (beta y + s (1 - beta y)), so in place needs no copy of x."""
    needs_input = False

    def setup(self, bottom, top):
        self.beta = f32(self.layer_param.swish_param.beta)

    def f(self, x):
        self.sigmoid_out = sigmoid(self.xp, self.beta * x)
        return x * self.sigmoid_out

    def grad(self, x, y, dy):
        by = self.beta * y
        return dy * (by + self.sigmoid_out * (1 - by))


@register('Dropout')
class DropoutLayer(NeuronLayer):
    """TRAIN: keep each unit with probability 1 - dropout_ratio and scale the
    kept ones by 1 / (1 - ratio) (the mask is kept for backward); TEST:
    identity. BVLC's schema has no ``scale_train``: scaling is always at
    TRAIN time. (Not elementwise: one draw covers the whole blob.)"""
    needs_input = False
    elementwise = False

    def setup(self, bottom, top):
        p = self.layer_param.dropout_param
        self.check(0 <= p.dropout_ratio < 1, 'dropout_ratio must be in [0, 1)')
        self.ratio = p.dropout_ratio
        self.scale = f32(1.0 / (1.0 - p.dropout_ratio))
        self.training = self.phase == caffe_pb2.TRAIN

    def f(self, x):
        if not self.training:
            return x
        draw = backend.uniform(x.shape, self.xp)
        y, self.mask = ops.dropout_forward(x, draw, self.ratio, self.scale)
        return y

    def grad(self, x, y, dy):
        return ops.scale_by_mask(dy, self.mask) if self.training else dy


@register('PReLU')
class PReLULayer(NeuronLayer):
    """max(x, 0) + a * min(x, 0) with a learned slope a per channel (axis 1)
    or one shared scalar slope; the slope diff accumulates
    sum(dy * x) over x <= 0. (Not elementwise: the slope follows the channel.)"""
    elementwise = False

    def setup(self, bottom, top):
        p = self.layer_param.prelu_param
        self.check(bottom[0].num_axes >= 2, 'bottom must have at least 2 axes')
        channels = bottom[0].shape[1]
        expected = 1 if p.channel_shared else channels
        if not self.blobs:
            filler = p.filler if p.HasField('filler') else caffe_pb2.FillerParameter(
                type='constant', value=0.25)
            fillers.fill(self.add_param(() if p.channel_shared else (channels,)), filler)
        self.check(self.blobs[0].count == expected,
                   'slope blob has %d values; expected %d' % (self.blobs[0].count, expected))

    def f(self, x):
        return ops.prelu_forward(x, self.blobs[0].xdata)

    def grad(self, x, y, dy):
        return ops.prelu_backward(x, dy, self.blobs[0].xdata)

    def backward(self, top, propagate_down, bottom):
        if self.param_propagate_down[0]:
            per_channel = ops.prelu_slope_diff(self.input(bottom), top[0].xdiff)
            slope_diff = self.blobs[0].xdiff
            slope_diff += per_channel.sum() if slope_diff.ndim == 0 else per_channel
        super().backward(top, propagate_down, bottom)
