"""Spatial layers: Convolution, Deconvolution, Pooling, Im2col and SPP.

Convolution is im2col followed by one GEMM per group over the whole batch
(the batch sits in the GEMM's columns); Deconvolution runs the same two
operations in the opposite order. Sizes come from caffelite.geometry.
"""
import numpy as np

from .. import fillers, geometry
from ..ops import im2col as im2col_op
from ..ops import pooling as pool_op
from ..proto import caffe_pb2
from .base import Layer, register


class _ConvBase(Layer):
    """Shared setup of Convolution and Deconvolution: geometry, groups, params."""
    min_bottom = 1
    equal_num_bottom_top = True
    transposed = False

    def setup(self, bottom, top):
        p = self.layer_param.convolution_param
        shape = bottom[0].shape
        self.axis = bottom[0].canonical_axis(p.axis)
        num_spatial = len(shape) - self.axis - 1
        self.check(num_spatial == 2, 'only 2-D spatial convolution is supported '
                   '(bottom %s, channel axis %d)' % (shape, self.axis))
        try:
            self.kernel, self.stride, self.pad, self.dilation = \
                geometry.conv_geometry(p, num_spatial)
        except Exception as e:
            self.fail(str(e))
        self.channels = shape[self.axis]
        self.num_output = p.num_output
        self.group = p.group
        self.check(self.num_output > 0, 'num_output must be positive')
        self.check(self.channels % self.group == 0,
                   'channels (%d) must be a multiple of group (%d)' % (self.channels, self.group))
        self.check(self.num_output % self.group == 0,
                   'num_output (%d) must be a multiple of group (%d)'
                   % (self.num_output, self.group))
        conv_out, conv_in = ((self.channels, self.num_output) if self.transposed
                             else (self.num_output, self.channels))
        weight_shape = (conv_out, conv_in // self.group) + tuple(self.kernel)
        bias_shape = (self.num_output,)
        if self.blobs:
            self.check(len(self.blobs) == 1 + p.bias_term, 'incorrect number of weight blobs')
            self.check(self.blobs[0].shape == weight_shape, 'incorrect weight shape: expected '
                       '%s, got %s' % (weight_shape, self.blobs[0].shape))
            return
        fillers.fill(self.add_param(weight_shape), p.weight_filler)
        if p.bias_term:
            fillers.fill(self.add_param(bias_shape), p.bias_filler)

    def _batch_shape(self, blob):
        """(N, C, H, W) with all axes before the channel axis folded into N."""
        shape = blob.shape
        return (int(np.prod(shape[:self.axis], dtype=np.int64)),) + shape[self.axis:]

    def _out_hw(self, h, w):
        size = geometry.deconv_out if self.transposed else geometry.conv_out
        return tuple(size(d, k, s, p, dl) for d, k, s, p, dl in
                     zip((h, w), self.kernel, self.stride, self.pad, self.dilation))

    def reshape(self, bottom, top):
        first = bottom[0].shape
        for b, t in zip(bottom, top):
            self.check(b.shape == first, 'all bottoms must have the same shape')
            n, c, h, w = self._batch_shape(b)
            self.check(c == self.channels, 'input has %d channels, the layer was set up for %d'
                       % (c, self.channels))
            oh, ow = self._out_hw(h, w)
            self.check(oh > 0 and ow > 0, 'output would be empty for input %s' % (b.shape,))
            t.reshape(b.shape[:self.axis] + (self.num_output, oh, ow))

    # --- the two halves shared by both layers, on (N, C, H, W) arrays --------
    def _grouped_weight(self):
        w = self.blobs[0].xdata
        return w.reshape(self.group, w.shape[0] // self.group, -1)

    def _lower(self, x, out):
        """y = W * x for x (N, C, H, W), written into ``out`` (N, M, oh, ow)."""
        n = x.shape[0]
        cols = im2col_op.im2col(x, self.kernel, self.stride, self.pad, self.dilation)
        cols = cols.reshape(self.group, -1, cols.shape[1])
        y = self.xp.matmul(self._grouped_weight(), cols)
        # (M, N*P) -> (N, M, P): one strided copy straight into the top.
        out.reshape(n, -1, y.shape[2] // n)[...] = y.reshape(-1, n, y.shape[2] // n).transpose(
            1, 0, 2)

    def _lower_backward(self, x, dy, need_weight, need_input):
        """Gradients of _lower: accumulate into the weight diff, return dx."""
        n = x.shape[0]
        xp = self.xp
        g = self.group
        dy_cols = dy.reshape(n, dy.shape[1], -1).transpose(1, 0, 2).reshape(g, dy.shape[1] // g, -1)
        if need_weight:
            cols = im2col_op.im2col(x, self.kernel, self.stride, self.pad, self.dilation)
            cols = cols.reshape(g, -1, cols.shape[1])
            dw = xp.matmul(dy_cols, cols.transpose(0, 2, 1))
            self.blobs[0].xdiff[...] += dw.reshape(self.blobs[0].shape)
        if need_input:
            dcols = xp.matmul(self._grouped_weight().transpose(0, 2, 1), dy_cols)
            return im2col_op.col2im(dcols.reshape(-1, dcols.shape[2]), x.shape, self.kernel,
                                    self.stride, self.pad, self.dilation)
        return None

    def _add_bias(self, y):
        if len(self.blobs) > 1:
            y += self.blobs[1].xdata.reshape(1, -1, 1, 1)

    def _bias_backward(self, dy):
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            self.blobs[1].xdiff[...] += dy.sum(axis=(0, 2, 3))


@register('Convolution')
class ConvolutionLayer(_ConvBase):
    """y = W * x + b over each bottom/top pair (kernel, stride, pad, dilation,
    group, bias_term as in Caffe)."""

    def forward(self, bottom, top):
        for b, t in zip(bottom, top):
            y = t.xdata.reshape(self._batch_shape(t))
            self._lower(b.xdata.reshape(self._batch_shape(b)), y)
            self._add_bias(y)

    def backward(self, top, propagate_down, bottom):
        for b, t, down in zip(bottom, top, propagate_down):
            dy = t.xdiff.reshape(self._batch_shape(t))
            self._bias_backward(dy)
            dx = self._lower_backward(b.xdata.reshape(self._batch_shape(b)), dy,
                                      self.param_propagate_down[0], down)
            if down:
                b.xdiff[...] = dx.reshape(b.shape)


@register('Deconvolution')
class DeconvolutionLayer(_ConvBase):
    """The transpose of Convolution: Convolution's backward-data pass as its
    forward, so upsampling by a stride uses the same kernels."""
    transposed = True

    def forward(self, bottom, top):
        for b, t in zip(bottom, top):
            x = b.xdata.reshape(self._batch_shape(b))
            y = self._transpose(x, self._batch_shape(t))
            self._add_bias(y)
            t.xdata[...] = y.reshape(t.shape)

    def _transpose(self, x, out_shape):
        """(N, C, h, w) -> (N, M, H, W): col2im(W^T x)."""
        n = x.shape[0]
        g = self.group
        cols = x.reshape(n, x.shape[1], -1).transpose(1, 0, 2).reshape(g, x.shape[1] // g, -1)
        dcols = self.xp.matmul(self._grouped_weight().transpose(0, 2, 1), cols)
        return im2col_op.col2im(dcols.reshape(-1, dcols.shape[2]), out_shape, self.kernel,
                                self.stride, self.pad, self.dilation)

    def backward(self, top, propagate_down, bottom):
        for b, t, down in zip(bottom, top, propagate_down):
            dy = t.xdiff.reshape(self._batch_shape(t))
            self._bias_backward(dy)
            x = b.xdata.reshape(self._batch_shape(b))
            n, g = x.shape[0], self.group
            cols = im2col_op.im2col(dy, self.kernel, self.stride, self.pad, self.dilation)
            cols = cols.reshape(g, -1, cols.shape[1])
            x_cols = x.reshape(n, x.shape[1], -1).transpose(1, 0, 2).reshape(g, x.shape[1] // g, -1)
            if self.param_propagate_down[0]:
                dw = self.xp.matmul(x_cols, cols.transpose(0, 2, 1))
                self.blobs[0].xdiff[...] += dw.reshape(self.blobs[0].shape)
            if down:
                dx = self.xp.matmul(self._grouped_weight(), cols)
                b.xdiff[...] = dx.reshape(-1, n, x.shape[2] * x.shape[3]).transpose(
                    1, 0, 2).reshape(b.shape)


@register('Im2col')
class Im2colLayer(Layer):
    """The patch matrix as a blob: (N, C*kh*kw, oh, ow), Caffe's layout."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        self.check(bottom[0].num_axes == 4, 'Im2col takes a 4-d bottom')
        try:
            self.kernel, self.stride, self.pad, self.dilation = geometry.conv_geometry(
                self.layer_param.convolution_param, 2)
        except Exception as e:
            self.fail(str(e))

    def reshape(self, bottom, top):
        n, c, h, w = bottom[0].shape
        self.out = im2col_op.output_size(h, w, self.kernel, self.stride, self.pad,
                                         self.dilation)
        top[0].reshape(n, c * self.kernel[0] * self.kernel[1], *self.out)

    def forward(self, bottom, top):
        n = bottom[0].shape[0]
        cols = im2col_op.im2col(bottom[0].xdata, self.kernel, self.stride, self.pad,
                                self.dilation)
        top[0].xdata[...] = cols.reshape(cols.shape[0], n, -1).transpose(1, 0, 2).reshape(
            top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            n = bottom[0].shape[0]
            cols = top[0].xdiff.reshape(n, top[0].shape[1], -1).transpose(1, 0, 2).reshape(
                top[0].shape[1], -1)
            bottom[0].xdiff[...] = im2col_op.col2im(cols, bottom[0].shape, self.kernel,
                                                    self.stride, self.pad, self.dilation)


MAX, AVE, STOCHASTIC = (caffe_pb2.PoolingParameter.MAX, caffe_pb2.PoolingParameter.AVE,
                        caffe_pb2.PoolingParameter.STOCHASTIC)


class _Pooler:
    """One 2-D pooling geometry and method; shared by Pooling and SPP."""

    def __init__(self, method, kernel, stride, pad, out):
        self.method, self.kernel, self.stride, self.pad, self.out = \
            method, kernel, stride, pad, out
        self._x = self._top = None

    def forward(self, x):
        if self.method == MAX:
            self._x = x
            self._top = pool_op.max_forward(x, self.kernel, self.stride, self.pad, self.out)
            return self._top
        return pool_op.ave_forward(x, self.kernel, self.stride, self.pad, self.out)

    def mask(self):
        """The argmax mask of the last MAX forward (computed on demand)."""
        return pool_op.max_mask(self._x, self._top, self.kernel, self.stride, self.pad)

    def backward(self, dy, x_shape):
        if self.method == MAX:
            return pool_op.max_backward(dy, self.mask(), x_shape, self.kernel, self.stride,
                                        self.pad)
        return pool_op.ave_backward(dy, x_shape, self.kernel, self.stride, self.pad)


@register('Pooling')
class PoolingLayer(Layer):
    """MAX (optional second top: the argmax mask), AVE and STOCHASTIC pooling
    with Caffe's ceil-mode sizes; ``global_pooling`` pools each whole plane."""
    exact_num_bottom = 1
    min_top = 1
    max_top = 2

    def setup(self, bottom, top):
        p = self.layer_param.pooling_param
        self.check(bottom[0].num_axes == 4, 'input must have 4 axes (num, channels, height, '
                                            'width), got %s' % (bottom[0].shape,))
        self.check(len(top) == 1 or p.pool == MAX, 'only MAX pooling can output a mask top')
        self.method = p.pool

    def reshape(self, bottom, top):
        p = self.layer_param.pooling_param
        n, c, h, w = bottom[0].shape
        try:
            kh, kw, sh, sw, ph, pw = geometry.pool_geometry(p, h, w)
        except Exception as e:
            self.fail(str(e))
        ceil = p.round_mode == caffe_pb2.PoolingParameter.CEIL
        out = (geometry.pool_out(h, kh, sh, ph, ceil), geometry.pool_out(w, kw, sw, pw, ceil))
        self.pooler = _Pooler(self.method, (kh, kw), (sh, sw), (ph, pw), out)
        for t in top:
            t.reshape(n, c, *out)

    def forward(self, bottom, top):
        if self.method == STOCHASTIC:
            top[0].xdata[...] = self._stochastic(bottom[0].xdata)
            return
        top[0].xdata[...] = self.pooler.forward(bottom[0].xdata)
        if len(top) > 1:
            top[1].xdata[...] = self.pooler.mask()

    def _stochastic(self, x):
        """TRAIN: sample one input per window with probability proportional to
        its (non-negative) value; TEST: the value-weighted mean, as Caffe."""
        xp = self.xp
        q = self.pooler
        patches = xp.asarray(im2col_op.im2col(x, q.kernel, q.stride, q.pad, (1, 1)))
        k = q.kernel[0] * q.kernel[1]
        n, c = x.shape[:2]
        patches = patches.reshape(c, k, n, -1)
        total = patches.sum(axis=1)
        if self.phase == caffe_pb2.TEST:
            safe = xp.where(total > 0, total, 1)
            return ((patches ** 2).sum(axis=1) / safe * (total > 0)).transpose(1, 0, 2).reshape(
                (n, c) + q.out)
        threshold = xp.asarray(self.rng().uniform(size=total.shape).astype(np.float32)) * total
        chosen = (xp.cumsum(patches, axis=1) >= threshold[:, None]).argmax(axis=1)
        self._chosen = chosen
        value = xp.take_along_axis(patches, chosen[:, None], axis=1)[:, 0]
        return value.transpose(1, 0, 2).reshape((n, c) + q.out)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        if self.method == STOCHASTIC:
            bottom[0].xdiff[...] = self._stochastic_backward(top[0].xdiff, bottom[0].shape)
            return
        bottom[0].xdiff[...] = self.pooler.backward(top[0].xdiff, bottom[0].shape)

    def _stochastic_backward(self, dy, x_shape):
        """Route each top diff to the input sampled in forward."""
        xp = self.xp
        q = self.pooler
        n, c = x_shape[:2]
        k = q.kernel[0] * q.kernel[1]
        grads = dy.reshape(n, c, -1).transpose(1, 0, 2)
        cols = (xp.arange(k)[None, :, None, None] == self._chosen[:, None]) * grads[:, None]
        return im2col_op.col2im(cols.reshape(c * k, -1).astype(np.float32), x_shape, q.kernel,
                                q.stride, q.pad, (1, 1))


@register('SPP')
class SPPLayer(Layer):
    """Spatial pyramid pooling: for levels l = 0..pyramid_height-1, pool into
    2^l x 2^l bins, flatten, and concatenate (Caffe's level geometry)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        self.check(bottom[0].num_axes == 4, 'SPP takes a 4-d bottom')
        self.method = self.layer_param.spp_param.pool
        self.check(self.method in (MAX, AVE), 'SPP supports MAX and AVE pooling')

    def reshape(self, bottom, top):
        n, c, h, w = bottom[0].shape
        height = self.layer_param.spp_param.pyramid_height
        self.levels = []
        for level in range(height):
            bins = 2 ** level
            if height == 1:
                kh, kw, sh, sw, ph, pw = h, w, 1, 1, 0, 0
            else:
                kh, kw, sh, sw, ph, pw = geometry.spp_level(h, w, bins)
            out = (geometry.pool_out(h, kh, sh, ph), geometry.pool_out(w, kw, sw, pw))
            self.levels.append(_Pooler(self.method, (kh, kw), (sh, sw), (ph, pw), out))
        top[0].reshape(n, sum(c * q.out[0] * q.out[1] for q in self.levels))

    def forward(self, bottom, top):
        x = bottom[0].xdata
        n = x.shape[0]
        top[0].xdata[...] = self.xp.concatenate(
            [q.forward(x).reshape(n, -1) for q in self.levels], axis=1)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        n, c = bottom[0].shape[:2]
        dy = top[0].xdiff
        dx, start = 0, 0
        for q in self.levels:
            size = c * q.out[0] * q.out[1]
            part = dy[:, start:start + size].reshape((n, c) + q.out)
            dx = dx + q.backward(self.xp.ascontiguousarray(part), bottom[0].shape)
            start += size
        bottom[0].xdiff[...] = dx
