"""Normalization layers: LRN (across and within channels), BatchNorm, MVN."""
import numpy as np

from ..ops import blocks
from ..ops import lrn as lrn_op
from ..proto import caffe_pb2
from .base import Layer, register

f32 = np.float32


@register('LRN')
class LRNLayer(Layer):
    """Local response normalization of a 4-d bottom (the math is in
    caffelite.ops.lrn). ACROSS_CHANNELS: y = x (k + alpha/n sum x^2)^-beta
    over n neighbouring channels; WITHIN_CHANNEL: y = x (1 + alpha avg x^2)^-beta
    over an n x n neighbourhood. May run in place (keeps a copy of x)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.lrn_param
        self.check(p.local_size % 2 == 1, 'LRN only supports odd values for local_size')
        self.check(bottom[0].num_axes == 4, 'LRN takes a 4-d bottom, got shape %s'
                   % (bottom[0].shape,))
        self.size, self.alpha, self.beta, self.k = p.local_size, p.alpha, p.beta, p.k
        self.within = p.norm_region == caffe_pb2.LRNParameter.WITHIN_CHANNEL

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])

    def _work(self, x):
        """Elementwise operations of a pass: about a window's worth per element."""
        return x.size * self.size * (self.size if self.within else 1)

    def forward(self, bottom, top):
        """Image by image (the windows never cross images), in parts of the
        batch (Layer.over_batch)."""
        x = bottom[0].xdata
        self._x = x.copy() if bottom[0] is top[0] else None
        y = top[0].xdata
        self.scale = self.xp.empty(x.shape, np.float32)

        source = x if self._x is None else self._x

        def part(s):
            if self.within:
                y[s], self.scale[s] = lrn_op.lrn_within_forward(x[s], self.size, self.alpha,
                                                                self.beta)
            else:
                lrn_op.lrn_across_forward(source[s], self.size, self.alpha, self.beta, self.k,
                                          y=y[s], scale=self.scale[s])
        self.over_batch(x.shape[0], self._work(x), part, x.size)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        x = self._x if self._x is not None else bottom[0].xdata
        y, dy, dx = top[0].xdata, top[0].xdiff, bottom[0].xdiff
        grad = lrn_op.lrn_within_backward if self.within else lrn_op.lrn_across_backward

        def part(s):
            dx[s] = grad(x[s], y[s], self.scale[s], dy[s], self.size, self.alpha, self.beta)
        self.over_batch(x.shape[0], self._work(x), part, x.size)


@register('BatchNorm')
class BatchNormLayer(Layer):
    """Normalizes each channel (axis 1) to zero mean and unit variance, by the
    batch statistics (TRAIN default) or by the stored running ones
    (``use_global_stats``, TEST default). Blobs: running mean sum (C,),
    running variance sum (C,), and their common scale factor (1,); the
    statistics are the sums divided by the factor. They are not learned:
    like Caffe, setup gives each blob a ParamSpec with lr_mult 0 (so the Net
    neither updates them nor asks for their diffs) and refuses a nonzero one."""
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
        specs = self.layer_param.param
        for i in range(len(self.blobs)):
            if i == len(specs):
                specs.add(lr_mult=0)
            self.check(specs[i].lr_mult == 0,
                       'cannot configure batch normalization statistics as layer parameters')

    def reshape(self, bottom, top):
        if bottom[0].num_axes > 1:
            self.check(bottom[0].shape[1] == self.channels, 'expected %d channels, got shape %s'
                       % (self.channels, bottom[0].shape))
        top[0].reshape_like(bottom[0])

    def _view(self, a):
        """a (N, C, ...) as (N, C, spatial)."""
        return a.reshape(a.shape[0], self.channels, -1)

    def _global_stats(self):
        """(mean, variance) (C,) from the running sums, scaled by 1 / factor
        (0 while the factor is 0), computed where the blobs live: reading
        the factor on the host would stall a GPU forward at every layer."""
        factor = self.blobs[2].xdata[:1]
        scale = (factor != 0) / self.xp.where(factor == 0, f32(1), factor)
        return self.blobs[0].xdata * scale, self.blobs[1].xdata * scale

    def _batch_stats(self, x):
        """(mean, variance) (C,) of x (N, C, S); also folds them into the
        running sums: sum <- stat + fraction * sum, with the unbiased
        m / (m - 1) variance, and factor <- fraction * factor + 1."""
        mean, var = blocks.channel_moments(x)
        m = x.size // self.channels
        correction = f32(m) / f32(m - 1) if m > 1 else f32(1)
        blobs = [b.xdata for b in self.blobs]
        blobs[2][...] = blobs[2] * self.fraction + f32(1)
        blobs[0][...] = mean + self.fraction * blobs[0]
        blobs[1][...] = correction * var + self.fraction * blobs[1]
        return mean, var

    def forward(self, bottom, top):
        x = self._view(bottom[0].xdata)
        mean, var = self._global_stats() if self.use_global else self._batch_stats(x)
        self.std = self.xp.sqrt(var + self.eps)[None, :, None]
        # Kept because a later in-place layer may overwrite the top.
        self.x_norm = (x - mean[None, :, None]) / self.std
        top[0].xdata[...] = self.x_norm.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        """Global stats: dx = dy / std. Batch stats:
        dx = (dy - mean(dy) - y mean(dy y)) / std, means over (N, S)."""
        if not propagate_down[0]:
            return
        dy = self._view(top[0].xdiff)
        if self.use_global:
            dx = dy / self.std
        else:
            y = self.x_norm
            m = f32(1.0 / (y.size // self.channels))
            sums = (y * (dy * y).sum(axis=(0, 2), keepdims=True)
                    + dy.sum(axis=(0, 2), keepdims=True))
            dx = (dy - m * sums) / self.std
        bottom[0].xdiff[...] = dx.reshape(bottom[0].shape)


@register('MVN')
class MVNLayer(Layer):
    """Mean-variance normalization over each (item, channel), or each item
    with ``across_channels``: y = x - mean, then with ``normalize_variance``
    y / (std + eps) (Caffe adds eps to the standard deviation)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.mvn_param
        self.across, self.normalize, self.eps = (p.across_channels, p.normalize_variance,
                                                 f32(p.eps))

    def reshape(self, bottom, top):
        top[0].reshape_like(bottom[0])

    def _rows(self, blob, a):
        """a (shape of blob) as (groups, elements per group); groups follow
        Caffe's legacy num/channels (1 for a missing axis)."""
        groups = blob.num if self.across else blob.num * blob.channels
        return a.reshape(groups, -1)

    def forward(self, bottom, top):
        x = self._rows(bottom[0], bottom[0].xdata)
        y = x - x.mean(axis=1, keepdims=True)
        if self.normalize:
            self.std = self.xp.sqrt((y * y).mean(axis=1, keepdims=True)) + self.eps
            y = y / self.std
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        """Without variance: dx = dy - mean(dy). With it:
        dx = (dy - mean(dy) - y mean(dy y)) / (std + eps)."""
        if not propagate_down[0]:
            return
        dy = self._rows(top[0], top[0].xdiff)
        if self.normalize:
            y = self._rows(top[0], top[0].xdata)
            dim = f32(1.0 / y.shape[1])
            sums = y * (dy * y).sum(axis=1, keepdims=True) + dy.sum(axis=1, keepdims=True)
            dx = (dy - dim * sums) / self.std
        else:
            dx = dy - dy.mean(axis=1, keepdims=True)
        bottom[0].xdiff[...] = dx.reshape(bottom[0].shape)
