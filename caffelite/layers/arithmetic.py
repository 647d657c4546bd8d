"""Layers that compute on values without learned weights: Softmax,
Eltwise (PROD, SUM, MAX), Reduction and ArgMax."""
import numpy as np

from ..ops import blocks
from ..ops import softmax as softmax_op
from ..proto import caffe_pb2
from .base import Layer, outer_inner, register


@register('Softmax')
class SoftmaxLayer(Layer):
    """Softmax along ``axis`` (default 1)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def reshape(self, bottom, top):
        self.axis = bottom[0].canonical_axis(self.layer_param.softmax_param.axis)
        top[0].reshape_like(bottom[0])

    def forward(self, bottom, top):
        top[0].xdata[...] = softmax_op.softmax_forward(bottom[0].xdata, self.axis)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            bottom[0].xdiff[...] = softmax_op.softmax_backward(top[0].xdata, top[0].xdiff,
                                                               self.axis)


PROD, SUM, MAX = (caffe_pb2.EltwiseParameter.PROD, caffe_pb2.EltwiseParameter.SUM,
                  caffe_pb2.EltwiseParameter.MAX)


@register('Eltwise')
class EltwiseLayer(Layer):
    """Elementwise PROD, SUM (with ``coeff``) or MAX of equally shaped bottoms."""
    min_bottom = 2
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.eltwise_param
        self.op = p.operation
        self.check(not len(p.coeff) or len(p.coeff) == len(bottom),
                   'give one coeff per bottom (%d), got %d' % (len(bottom), len(p.coeff)))
        self.check(self.op == SUM or not len(p.coeff), 'coeff only applies to SUM')
        self.coeff = list(p.coeff) or [1.0] * len(bottom)

    def reshape(self, bottom, top):
        for b in bottom[1:]:
            self.check(b.shape == bottom[0].shape, 'bottom shapes %s and %s differ'
                       % (bottom[0].shape, b.shape))
        top[0].reshape_like(bottom[0])

    def forward(self, bottom, top):
        xs = [b.xdata for b in bottom]
        if self.op == PROD:
            y = xs[0] * xs[1]
            for x in xs[2:]:
                y = y * x
        elif self.op == SUM:
            y = sum(np.float32(c) * x for c, x in zip(self.coeff, xs))
        else:
            y, self.argmax = blocks.eltwise_max(xs)
        top[0].xdata[...] = y

    def backward(self, top, propagate_down, bottom):
        dy, y = top[0].xdiff, top[0].xdata
        for i, (b, down) in enumerate(zip(bottom, propagate_down)):
            if not down:
                continue
            if self.op == SUM:
                b.xdiff[...] = np.float32(self.coeff[i]) * dy
            elif self.op == MAX:
                b.xdiff[...] = blocks.eltwise_max_backward(dy, self.argmax, i)
            elif self.layer_param.eltwise_param.stable_prod_grad:
                others = [o.xdata for j, o in enumerate(bottom) if j != i]
                product = others[0]
                for o in others[1:]:
                    product = product * o
                b.xdiff[...] = dy * product
            else:
                b.xdiff[...] = dy * y / b.xdata


@register('Reduction')
class ReductionLayer(Layer):
    """SUM, ASUM, SUMSQ or MEAN over all axes from ``axis``, times ``coeff``."""
    exact_num_bottom = 1
    exact_num_top = 1

    def reshape(self, bottom, top):
        p = self.layer_param.reduction_param
        self.axis = bottom[0].canonical_axis(p.axis)
        top[0].reshape(bottom[0].shape[:self.axis])

    def _rows(self, blob):
        return blob.reshape(-1, int(np.prod(blob.shape[self.axis:], dtype=np.int64)))

    def forward(self, bottom, top):
        p = self.layer_param.reduction_param
        x = self._rows(bottom[0].xdata)
        op = p.operation
        R = caffe_pb2.ReductionParameter
        if op == R.SUM:
            y = x.sum(axis=1)
        elif op == R.ASUM:
            y = abs(x).sum(axis=1)
        elif op == R.SUMSQ:
            y = (x * x).sum(axis=1)
        else:
            y = x.sum(axis=1) / np.float32(max(x.shape[1], 1))
        top[0].xdata[...] = (y * np.float32(p.coeff)).reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        p = self.layer_param.reduction_param
        R = caffe_pb2.ReductionParameter
        x = self._rows(bottom[0].xdata)
        dy = top[0].xdiff.reshape(-1, 1) * np.float32(p.coeff)
        if p.operation == R.SUM:
            dx = self.xp.broadcast_to(dy, x.shape)
        elif p.operation == R.ASUM:
            dx = self.xp.sign(x) * dy
        elif p.operation == R.SUMSQ:
            dx = 2 * x * dy
        else:
            dx = self.xp.broadcast_to(dy / np.float32(max(x.shape[1], 1)), x.shape)
        bottom[0].xdiff[...] = dx.reshape(bottom[0].shape)


@register('ArgMax')
class ArgMaxLayer(Layer):
    """Indices (and with ``out_max_val`` values) of the ``top_k`` largest
    entries, per instance or along ``axis``; ties go to the larger index."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.argmax_param
        self.check(p.top_k >= 1, 'top_k must be at least 1')
        self.axis = bottom[0].canonical_axis(p.axis) if p.HasField('axis') else None
        limit = bottom[0].shape[self.axis] if self.axis is not None else bottom[0].count_range(1)
        self.check(p.top_k <= limit, 'top_k (%d) exceeds the dimension (%d)' % (p.top_k, limit))

    def reshape(self, bottom, top):
        p = self.layer_param.argmax_param
        if self.axis is not None:
            shape = list(bottom[0].shape)
            shape[self.axis] = p.top_k
        else:
            shape = [1] * max(3, bottom[0].num_axes)
            shape[0] = bottom[0].shape[0]
            shape[1] = 2 if p.out_max_val else 1
            shape[2] = p.top_k
        top[0].reshape(shape)

    def forward(self, bottom, top):
        p = self.layer_param.argmax_param
        xp = self.xp
        x = bottom[0].xdata
        if self.axis is None:
            x = x.reshape(x.shape[0], -1, 1)
        else:
            outer, inner = outer_inner(x.shape, self.axis)
            x = x.reshape(outer, x.shape[self.axis], inner)
        dim = x.shape[1]
        # Stable sort of the reversed axis puts larger indices first on ties.
        order = xp.argsort(-x[:, ::-1], axis=1, kind='stable')[:, :p.top_k]
        index = dim - 1 - order
        values = xp.take_along_axis(x, index, axis=1)
        if self.axis is None:
            parts = [index, values] if p.out_max_val else [index]
            y = xp.concatenate([a[:, None, :, 0] for a in parts], axis=1)
        else:
            y = values if p.out_max_val else index
        top[0].xdata[...] = y.astype(np.float32).reshape(top[0].shape)
