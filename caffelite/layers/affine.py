"""Layers with learned weights applied linearly: InnerProduct, Embed
(a row lookup), Parameter (a learned blob as a top), and Bias and Scale
(an operand broadcast over the other axes)."""
import numpy as np

from .. import fillers, threads
from ..gemm import product
from ..proto import caffe_pb2
from .base import Layer, outer_inner, register, scatter_add


# Largest temporary (elements, 2 MB) of a part of InnerProduct's weight
# gradient: 64-row parts of CaffeNet's fc6 ran 26 ms, 8 parts 37.
PART_ELEMENTS = 1 << 19


@register('InnerProduct')
class InnerProductLayer(Layer):
    """y = x W^T + b with x flattened from ``axis``; W is (num_output, K),
    or (K, num_output) when ``transpose``."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.inner_product_param
        self.axis = bottom[0].canonical_axis(p.axis)
        k = bottom[0].count_range(self.axis)
        self.transpose = p.transpose
        shape = (k, p.num_output) if p.transpose else (p.num_output, k)
        if self.blobs:
            self.check(self.blobs[0].shape == shape, 'incorrect weight shape: expected %s, '
                       'got %s' % (shape, self.blobs[0].shape))
            return
        self.check(p.num_output > 0, 'num_output must be positive')
        fillers.fill(self.add_param(shape), p.weight_filler)
        if p.bias_term:
            fillers.fill(self.add_param((p.num_output,)), p.bias_filler)

    def reshape(self, bottom, top):
        k = bottom[0].count_range(self.axis)
        expected = self.blobs[0].shape[0 if self.transpose else 1]
        self.check(k == expected, 'input size %d (shape %s from axis %d) does not match '
                   'the weights (%d)' % (k, bottom[0].shape, self.axis, expected))
        top[0].reshape(bottom[0].shape[:self.axis] + (self.layer_param.inner_product_param
                                                      .num_output,))

    def _x(self, bottom):
        return bottom[0].xdata.reshape(-1, bottom[0].count_range(self.axis))

    def _in_parts(self, length, batch, fn, width=0):
        """fn(slice) over parts of an axis of ``length`` of the weights, for
        a product with ``batch`` rows: spread over threads on the CPU when
        the layer is large. A thin product (a small batch) is bound by
        reading the weights, each element about ELEMENT_MACS multiply-adds
        of work: AlexNet b10 fc6, 3 parts by its multiply-adds, ran 23-28 ms
        against 19-20 in the 8 parts of its weights. With ``width`` (the
        elements of a temporary per unit of the axis), host parts are small
        enough for a temporary of at most PART_ELEMENTS."""
        macs = self.blobs[0].count * max(batch, threads.ELEMENT_MACS)
        lanes = threads.lanes(macs, length) if self.xp is np else 1
        # Cut as on an idle machine whatever the load (only the threads that
        # run the parts follow it): BLAS's sums differ with the shape of the
        # product, and a seeded run repeats bit for bit.
        count = threads.parts(threads.idle_lanes(macs, length) if self.xp is np else 1,
                              length, macs)
        if self.xp is np and width:
            count = min(length, max(count, -(-length * width // PART_ELEMENTS)))
        parts = threads.slices(length, count)
        threads.run_chunks(lambda i, lane: fn(parts[i]), len(parts), lanes)

    def _weight_columns(self, part):
        """W^T's columns ``part`` (output units), as a (K, len) view."""
        w = self.blobs[0].xdata
        return w[:, part] if self.transpose else w[part].T

    def forward(self, bottom, top):
        x = self._x(bottom)
        y = top[0].xdata.reshape(x.shape[0], -1)

        def part(units):
            product(x, self._weight_columns(units), out=y[:, units])
            if len(self.blobs) > 1:
                y[:, units] += self.blobs[1].xdata[units]
        self._in_parts(y.shape[1], x.shape[0], part)

    def backward(self, top, propagate_down, bottom):
        dy = top[0].xdiff.reshape(-1, top[0].shape[-1])
        if self.param_propagate_down[0]:
            # W's rows are output units (or inputs, transposed): each part of
            # them adds its product into the diff through a temporary that
            # stays in the cache. NumPy's matmul lets other threads run;
            # SciPy's sgemm, which could add in place (BLAS beta = 1), holds
            # the GIL, so its parts ran one at a time (paired, two threads:
            # CaffeNet b32 fc6 37 -> 26 ms, fc7 17 -> 11, AlexNet b10 fc6
            # 23 -> 18, LeNet ip1 1.1 -> 0.5).
            x = self._x(bottom)
            left, right = (x, dy) if self.transpose else (dy, x)
            dw = self.blobs[0].xdiff

            def part(rows):
                dw[rows] += product(left[:, rows].T, right)
            self._in_parts(dw.shape[0], dy.shape[0], part, width=dw.shape[1])
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            self.blobs[1].xdiff[...] += dy.sum(axis=0)
        if propagate_down[0]:
            w = self.blobs[0].xdata
            dx = bottom[0].xdiff.reshape(dy.shape[0], -1)
            self._in_parts(dx.shape[1], dy.shape[0], lambda inputs: product(
                dy, w[inputs].T if self.transpose else w[:, inputs], out=dx[:, inputs]))


@register('Embed')
class EmbedLayer(Layer):
    """Rows of a (input_dim, num_output) table looked up by integer bottoms."""
    exact_num_bottom = 1
    exact_num_top = 1

    def allow_force_backward(self, bottom_index):
        return False

    def setup(self, bottom, top):
        p = self.layer_param.embed_param
        self.check(p.num_output > 0 and p.input_dim > 0, 'num_output and input_dim must be '
                                                         'positive')
        if self.blobs:
            return
        fillers.fill(self.add_param((p.input_dim, p.num_output)), p.weight_filler)
        if p.bias_term:
            fillers.fill(self.add_param((p.num_output,)), p.bias_filler)

    def reshape(self, bottom, top):
        top[0].reshape(bottom[0].shape + (self.layer_param.embed_param.num_output,))

    def _indices(self, bottom):
        idx = bottom[0].xdata.ravel()
        ints = idx.astype(np.int64)
        dim = self.layer_param.embed_param.input_dim
        self.check(bool((ints == idx).all()) and bool((ints >= 0).all()) and
                   bool((ints < dim).all()), 'indices must be integers in [0, %d)' % dim)
        return ints

    def forward(self, bottom, top):
        y = self.blobs[0].xdata[self._indices(bottom)]
        if len(self.blobs) > 1:
            y = y + self.blobs[1].xdata
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[0], 'cannot backpropagate to the indices')
        dy = top[0].xdiff.reshape(-1, top[0].shape[-1])
        if self.param_propagate_down[0]:
            scatter_add(self.xp, self.blobs[0].xdiff, self._indices(bottom), dy)
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            self.blobs[1].xdiff[...] += dy.sum(axis=0)


@register('Parameter')
class ParameterLayer(Layer):
    """A learnable blob of ``parameter_param.shape`` exposed as a top."""
    exact_num_bottom = 0
    exact_num_top = 1

    def setup(self, bottom, top):
        if not self.blobs:
            self.add_param(tuple(self.layer_param.parameter_param.shape.dim))
        top[0].reshape(self.blobs[0].shape)

    def reshape(self, bottom, top):
        top[0].reshape(self.blobs[0].shape)

    def forward(self, bottom, top):
        top[0].xdata[...] = self.blobs[0].xdata

    def backward(self, top, propagate_down, bottom):
        if self.param_propagate_down[0]:
            self.blobs[0].xdiff[...] += top[0].xdiff


class _Broadcast(Layer):
    """Scale and Bias: an operand shaped like bottom[0].shape[axis:axis+num_axes]
    (learned, or bottom[1]) broadcast over the other axes."""
    min_bottom = 1
    max_bottom = 2
    exact_num_top = 1
    default_value = 0.0

    def param(self):
        raise NotImplementedError

    def setup(self, bottom, top):
        p = self.param()
        if len(bottom) == 2 or self.blobs:
            return
        axis = bottom[0].canonical_axis(p.axis) if bottom[0].num_axes else 0
        self.check(p.num_axes >= -1, 'num_axes must be non-negative or -1')
        end = bottom[0].num_axes if p.num_axes == -1 else axis + p.num_axes
        self.check(end <= bottom[0].num_axes, 'num_axes %d too large for bottom %s'
                   % (p.num_axes, bottom[0].shape))
        filler = p.filler if p.HasField('filler') else caffe_pb2.FillerParameter(
            type='constant', value=self.default_value)
        fillers.fill(self.add_param(bottom[0].shape[axis:end]), filler)

    def operand(self, bottom):
        return bottom[1] if len(bottom) == 2 else self.blobs[0]

    def reshape(self, bottom, top):
        operand = self.operand(bottom)
        p = self.param()
        self.axis = 0 if operand.num_axes == 0 else bottom[0].canonical_axis(p.axis)
        span = operand.shape
        self.check(bottom[0].shape[self.axis:self.axis + len(span)] == span,
                   'operand shape %s does not match bottom %s at axis %d'
                   % (span, bottom[0].shape, self.axis))
        self.outer, self.inner = outer_inner(bottom[0].shape, self.axis, len(span))
        self.dim = operand.count
        top[0].reshape_like(bottom[0])

    def _view(self, array):
        return array.reshape(self.outer, self.dim, self.inner)

    def _reduce(self, values):
        """Sum (outer, dim, inner) values to the operand's (dim,)."""
        return values.sum(axis=(0, 2))


@register('Bias')
class BiasLayer(_Broadcast):
    """y = x + b, b broadcast from axis ``axis``."""

    def param(self):
        return self.layer_param.bias_param

    def forward(self, bottom, top):
        b = self.operand(bottom).xdata.reshape(1, -1, 1)
        top[0].xdata[...] = (self._view(bottom[0].xdata) + b).reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        dy = self._view(top[0].xdiff)
        operand_grad = len(bottom) == 2 and propagate_down[1] or (
            len(bottom) == 1 and self.param_propagate_down[0])
        if operand_grad:
            target = self.operand(bottom)
            grad = self._reduce(dy).reshape(target.shape)
            if len(bottom) == 2:
                target.xdiff[...] = grad
            else:
                target.xdiff[...] += grad
        if propagate_down[0] and bottom[0] is not top[0]:
            bottom[0].xdiff[...] = top[0].xdiff


@register('Scale')
class ScaleLayer(_Broadcast):
    """y = x * s (+ b with ``bias_term``), s broadcast from axis ``axis``;
    works in place."""
    default_value = 1.0

    def param(self):
        return self.layer_param.scale_param

    def setup(self, bottom, top):
        super().setup(bottom, top)
        p = self.param()
        self.has_bias = p.bias_term
        expected = (0 if len(bottom) == 2 else 1) + p.bias_term
        if p.bias_term and len(self.blobs) < expected:
            axis = bottom[0].canonical_axis(p.axis)
            span = self.operand(bottom).num_axes
            filler = p.bias_filler if p.HasField('bias_filler') else \
                caffe_pb2.FillerParameter(type='constant', value=0)
            fillers.fill(self.add_param(bottom[0].shape[axis:axis + span]), filler)

    def _bias(self):
        return self.blobs[-1] if self.has_bias else None

    def forward(self, bottom, top):
        x = self._view(bottom[0].xdata)
        if bottom[0] is top[0]:
            self._input = x.copy()
        s = self.operand(bottom).xdata.reshape(1, -1, 1)
        y = x * s
        if self.has_bias:
            y = y + self._bias().xdata.reshape(1, -1, 1)
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        dy = self._view(top[0].xdiff)
        x = self._input if bottom[0] is top[0] else self._view(bottom[0].xdata)
        bias = self._bias()
        if bias is not None and self.param_propagate_down[len(self.blobs) - 1]:
            bias.xdiff[...] += self._reduce(dy).reshape(bias.shape)
        target = self.operand(bottom)
        if len(bottom) == 2 and propagate_down[1]:
            target.xdiff[...] = self._reduce(dy * x).reshape(target.shape)
        elif len(bottom) == 1 and self.param_propagate_down[0]:
            target.xdiff[...] += self._reduce(dy * x).reshape(target.shape)
        if propagate_down[0]:
            s = target.xdata.reshape(1, -1, 1)
            bottom[0].xdiff[...] = (dy * s).reshape(bottom[0].shape)
