"""Normalization layers: LRN (across and within channels), BatchNorm, MVN."""
import numpy as np

from .. import geometry
from ..ops import lrn as lrn_op
from ..ops import pooling as pool_op
from ..proto import caffe_pb2
from .base import Layer, register

f32 = np.float32


@register('LRN')
class LRNLayer(Layer):
    """Local response normalization. ACROSS_CHANNELS: y = x (k + a/n sum x^2)^-b
    over n neighbouring channels. WITHIN_CHANNEL: y = x (1 + a avg x^2)^-b
    over an n x n neighbourhood, averaged like Caffe's padded AVE pooling."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.lrn_param
        self.check(p.local_size % 2 == 1, 'LRN only supports odd values for local_size')
        self.check(bottom[0].num_axes == 4, 'LRN takes a 4-d bottom')
        self.size, self.alpha, self.beta, self.k = p.local_size, p.alpha, p.beta, p.k
        self.within = p.norm_region == caffe_pb2.LRNParameter.WITHIN_CHANNEL

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])
        if self.within:
            h, w = bottom[0].shape[2:]
            pad = (self.size - 1) // 2
            self.window = ((self.size,) * 2, (1, 1), (pad, pad),
                           (geometry.pool_out(h, self.size, 1, pad),
                            geometry.pool_out(w, self.size, 1, pad)))

    def forward(self, bottom, top):
        x = bottom[0].xdata
        self._x = x.copy() if bottom[0] is top[0] else None
        if self.within:
            kernel, stride, pad, out = self.window
            avg = pool_op.ave_forward(x * x, kernel, stride, pad, out)
            self.scale = f32(1) + f32(self.alpha) * avg
            top[0].xdata[...] = x * self.scale ** f32(-self.beta)
        else:
            y, self.scale = lrn_op.across_forward(x, self.size, self.alpha, self.beta, self.k)
            top[0].xdata[...] = y

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        x = self._x if self._x is not None else bottom[0].xdata
        dy, y = top[0].xdiff, top[0].xdata
        if not self.within:
            bottom[0].xdiff[...] = lrn_op.across_backward(x, y, self.scale, dy, self.size,
                                                          self.alpha, self.beta)
            return
        kernel, stride, pad, _ = self.window
        beta = f32(self.beta)
        d_scale = -beta * dy * x * self.scale ** (-beta - 1)
        d_square = pool_op.ave_backward(f32(self.alpha) * d_scale, x.shape, kernel, stride, pad)
        bottom[0].xdiff[...] = dy * self.scale ** -beta + 2 * x * d_square


@register('BatchNorm')
class BatchNormLayer(Layer):
    """Normalizes each channel (axis 1) by batch statistics at TRAIN and by
    the stored running statistics at TEST (``use_global_stats``). Blobs:
    running mean, running variance, and the scale factor they are divided by;
    they are never learned (lr_mult forced to 0, as Caffe does)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.batch_norm_param
        self.use_global = (p.use_global_stats if p.HasField('use_global_stats')
                           else self.phase == caffe_pb2.TEST)
        self.fraction = f32(p.moving_average_fraction)
        self.eps = f32(p.eps)
        self.channels = 1 if bottom[0].num_axes == 1 else bottom[0].shape[1]
        if not self.blobs:
            for shape in ((self.channels,), (self.channels,), (1,)):
                self.add_param(shape)
        for i in range(len(self.blobs)):
            if i == len(self.layer_param.param):
                self.layer_param.param.add(lr_mult=0)
            self.check(self.layer_param.param[i].lr_mult == 0,
                       'cannot configure batch normalization statistics as layer parameters')

    def reshape(self, bottom, top):
        if bottom[0].num_axes > 1:
            self.check(bottom[0].shape[1] == self.channels, 'expected %d channels, got %s'
                       % (self.channels, bottom[0].shape))
        top[0].reshape_like(bottom[0])

    def _view(self, a):
        n = a.shape[0] if a.ndim else 1
        return a.reshape(n, self.channels, -1)

    def forward(self, bottom, top):
        xp = self.xp
        x = self._view(bottom[0].xdata)
        if self.use_global:
            factor = self.blobs[2].xdata[0]
            factor = xp.where(factor == 0, f32(0), f32(1) / xp.where(factor == 0, 1, factor))
            mean = self.blobs[0].xdata * factor
            var = self.blobs[1].xdata * factor
        else:
            mean = x.mean(axis=(0, 2))
            var = ((x - mean[None, :, None]) ** 2).mean(axis=(0, 2))
            m = x.size // self.channels
            correction = f32(m / (m - 1.0)) if m > 1 else f32(1)
            self.blobs[2].xdata[...] = self.blobs[2].xdata * self.fraction + 1
            self.blobs[0].xdata[...] = mean + self.fraction * self.blobs[0].xdata
            self.blobs[1].xdata[...] = correction * var + self.fraction * self.blobs[1].xdata
        self.inv_std = f32(1) / xp.sqrt(var + self.eps)
        y = (x - mean[None, :, None]) * self.inv_std[None, :, None]
        self.x_norm = y
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        dy = self._view(top[0].xdiff)
        inv_std = self.inv_std[None, :, None]
        if self.use_global:
            dx = dy * inv_std
        else:
            y = self.x_norm
            dx = (dy - dy.mean(axis=(0, 2), keepdims=True)
                  - y * (dy * y).mean(axis=(0, 2), keepdims=True)) * inv_std
        bottom[0].xdiff[...] = dx.reshape(bottom[0].shape)


@register('MVN')
class MVNLayer(Layer):
    """Mean-variance normalization per (item, channel), or per item with
    ``across_channels``; y = (x - mean) / (std + eps) (eps added to the std,
    as Caffe does)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])

    def _rows(self, a, shape):
        across = self.layer_param.mvn_param.across_channels
        rows = shape[0] if across else shape[0] * shape[1]
        return a.reshape(rows, -1)

    def forward(self, bottom, top):
        p = self.layer_param.mvn_param
        x = self._rows(bottom[0].xdata, bottom[0].shape)
        y = x - x.mean(axis=1, keepdims=True)
        if p.normalize_variance:
            self.std = self.xp.sqrt((y * y).mean(axis=1, keepdims=True)) + f32(p.eps)
            y = y / self.std
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        p = self.layer_param.mvn_param
        dy = self._rows(top[0].xdiff, top[0].shape)
        dx = dy - dy.mean(axis=1, keepdims=True)
        if p.normalize_variance:
            y = self._rows(top[0].xdata, top[0].shape)
            dx = (dx - y * (dy * y).mean(axis=1, keepdims=True)) / self.std
        bottom[0].xdiff[...] = dx.reshape(bottom[0].shape)
