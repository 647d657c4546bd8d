"""Layers that route blobs without computing on their values: copy
(Split), join and cut along an axis (Concat, Slice), cut a window (Crop),
repeat (Tile), select or reorder items (Filter, BatchReindex), consume
(Silence) and reshape (Flatten, Reshape)."""
import numpy as np

from ..ops import blocks
from .base import Layer, outer_inner, register, scatter_add


@register('Split')
class SplitLayer(Layer):
    """Copies one bottom to several tops sharing its data; backward sums the
    tops' diffs. Inserted by the Net wherever a blob has several consumers."""
    exact_num_bottom = 1
    min_top = 1

    def reshape(self, bottom, top):
        for blob in top:
            blob.reshape_like(bottom[0])
            blob.share_data(bottom[0])

    def forward(self, bottom, top):
        """Data is shared: nothing to copy."""

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        total = bottom[0].xdiff
        total[...] = top[0].xdiff
        for blob in top[1:]:
            total += blob.xdiff


class _ShapeOnly(Layer):
    """Base of layers whose top is the bottom under another shape (Flatten,
    Reshape): data and diff are shared, nothing is computed."""
    exact_num_bottom = 1
    exact_num_top = 1

    def top_shape(self, shape):
        raise NotImplementedError

    def reshape(self, bottom, top):
        shape = self.top_shape(bottom[0].shape)
        self.check(int(np.prod(shape)) == bottom[0].count,
                   'output shape %s does not match the input count %d (input %s)'
                   % (shape, bottom[0].count, bottom[0].shape))
        top[0].reshape(shape)
        top[0].share_data(bottom[0])
        top[0].share_diff(bottom[0])

    def forward(self, bottom, top):
        """Shared storage: nothing to do."""

    def backward(self, top, propagate_down, bottom):
        """Shared storage: nothing to do."""


@register('Flatten')
class FlattenLayer(_ShapeOnly):
    """Axes ``axis`` .. ``end_axis`` merged into one."""

    def top_shape(self, shape):
        p = self.layer_param.flatten_param
        n = len(shape)
        start = p.axis + n if p.axis < 0 else p.axis
        end = p.end_axis + n if p.end_axis < 0 else p.end_axis
        self.check(0 <= start <= end < n, 'bad axis range [%d, %d] for shape %s'
                   % (p.axis, p.end_axis, shape))
        return shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]


@register('Reshape')
class ReshapeLayer(_ShapeOnly):
    """Caffe's Reshape: replace axes [axis, axis + num_axes) by ``shape``,
    where 0 copies the input dimension and one -1 is inferred."""

    def top_shape(self, shape):
        p = self.layer_param.reshape_param
        dims = list(p.shape.dim)
        self.check(dims.count(-1) <= 1, 'at most one -1 is allowed in the shape')
        n = len(shape)
        start = p.axis + n + 1 if p.axis < 0 else p.axis
        self.check(0 <= start <= n, 'axis %d out of range for %d axes' % (p.axis, n))
        end = n if p.num_axes == -1 else start + p.num_axes
        self.check(p.num_axes >= -1 and end <= n, 'num_axes %d out of range' % p.num_axes)
        new = []
        for i, d in enumerate(dims):
            if d == 0:
                self.check(start + i < n, 'cannot copy dimension %d of %s' % (start + i, shape))
                d = shape[start + i]
            new.append(d)
        if -1 in new:
            known = int(np.prod([d for d in new if d != -1])) * \
                int(np.prod(shape[:start])) * int(np.prod(shape[end:]))
            self.check(known and int(np.prod(shape)) % known == 0,
                       'cannot infer -1 in %s for input %s' % (dims, shape))
            new[new.index(-1)] = int(np.prod(shape)) // known
        return shape[:start] + tuple(new) + shape[end:]


def _axis(layer, blob, param, legacy_field):
    """The axis of Concat/Slice, honouring the legacy *_dim field."""
    if param.HasField(legacy_field):
        layer.check(not param.HasField('axis'), 'either axis or %s, not both' % legacy_field)
        return getattr(param, legacy_field)
    return blob.canonical_axis(param.axis)


@register('Concat')
class ConcatLayer(Layer):
    """Joins the bottoms along ``axis`` (or the legacy ``concat_dim``)."""
    min_bottom = 1
    exact_num_top = 1

    def reshape(self, bottom, top):
        self.axis = _axis(self, bottom[0], self.layer_param.concat_param, 'concat_dim')
        shape = list(bottom[0].shape)
        for b in bottom[1:]:
            self.check(len(b.shape) == len(shape) and all(
                d == e for i, (d, e) in enumerate(zip(b.shape, shape)) if i != self.axis),
                'bottom shapes %s and %s differ outside axis %d' % (b.shape, bottom[0].shape,
                                                                    self.axis))
        shape[self.axis] = sum(b.shape[self.axis] for b in bottom)
        top[0].reshape(shape)
        if len(bottom) == 1:
            top[0].share_data(bottom[0])
            top[0].share_diff(bottom[0])

    def forward(self, bottom, top):
        if len(bottom) > 1:
            self._move(bottom, [True] * len(bottom), top[0], 'xdata', True)

    def backward(self, top, propagate_down, bottom):
        if len(bottom) > 1:
            self._move(bottom, propagate_down, top[0], 'xdiff', False)

    def _move(self, parts, active, whole, field, into_whole):
        """Copy each active part's block into the whole (or the whole's
        block back into the part) along the concat axis."""
        start = 0
        for part, on in zip(parts, active):
            size = part.shape[self.axis]
            if on:
                src, dst = getattr(part, field), getattr(whole, field)
                if into_whole:
                    blocks.copy_block(src, dst, self.axis, 0, start, size)
                else:
                    blocks.copy_block(dst, src, self.axis, start, 0, size)
            start += size


@register('Slice')
class SliceLayer(Layer):
    """Cuts the bottom along ``axis`` at ``slice_point``s, or into equal parts."""
    exact_num_bottom = 1
    min_top = 1

    def reshape(self, bottom, top):
        p = self.layer_param.slice_param
        self.axis = _axis(self, bottom[0], p, 'slice_dim')
        dim = bottom[0].shape[self.axis]
        points = list(p.slice_point)
        if points:
            self.check(len(points) == len(top) - 1, 'need %d slice points for %d tops, got %d'
                       % (len(top) - 1, len(top), len(points)))
            self.check(points == sorted(points) and 0 < points[0] and points[-1] < dim,
                       'slice points %s must increase inside (0, %d)' % (points, dim))
            bounds = [0] + points + [dim]
        else:
            self.check(dim % len(top) == 0, 'axis %d of size %d cannot be split into %d '
                       'equal slices' % (self.axis, dim, len(top)))
            step = dim // len(top)
            bounds = list(range(0, dim + 1, step))
        self.bounds = list(zip(bounds[:-1], bounds[1:]))
        for t, (a, b) in zip(top, self.bounds):
            shape = list(bottom[0].shape)
            shape[self.axis] = b - a
            t.reshape(shape)

    def forward(self, bottom, top):
        for t, (a, b) in zip(top, self.bounds):
            blocks.copy_block(bottom[0].xdata, t.xdata, self.axis, a, 0, b - a)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        for t, (a, b) in zip(top, self.bounds):
            blocks.copy_block(t.xdiff, bottom[0].xdiff, self.axis, 0, a, b - a)


@register('Crop')
class CropLayer(Layer):
    """Crops bottom[0] to bottom[1]'s shape on axes >= ``axis`` at ``offset``."""
    exact_num_bottom = 2
    exact_num_top = 1

    def allow_force_backward(self, bottom_index):
        return bottom_index == 0

    def reshape(self, bottom, top):
        p = self.layer_param.crop_param
        n = bottom[0].num_axes
        start = bottom[0].canonical_axis(p.axis)
        offsets = list(p.offset)
        self.check(len(offsets) <= 1 or start + len(offsets) == n,
                   'give one offset, or one per axis from %d (%d), got %d'
                   % (start, n - start, len(offsets)))
        self.index = []
        shape = []
        for i in range(n):
            size, offset = bottom[0].shape[i], 0
            if i >= start:
                size = bottom[1].shape[i]
                offset = offsets[0] if len(offsets) == 1 else (
                    offsets[i - start] if offsets else 0)
                self.check(bottom[0].shape[i] - offset >= size,
                           'crop of size %d at offset %d does not fit axis %d of size %d'
                           % (size, offset, i, bottom[0].shape[i]))
            self.index.append(slice(offset, offset + size))
            shape.append(size)
        self.index = tuple(self.index)
        top[0].reshape(shape)

    def forward(self, bottom, top):
        blocks.crop_forward(bottom[0].xdata, self.index, top[0].xdata)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            blocks.crop_backward(top[0].xdiff, self.index, bottom[0].xdiff)


@register('Tile')
class TileLayer(Layer):
    """Repeats the bottom ``tiles`` times along ``axis`` (whole-block tiling)."""
    exact_num_bottom = 1
    exact_num_top = 1

    def reshape(self, bottom, top):
        p = self.layer_param.tile_param
        self.axis = bottom[0].canonical_axis(p.axis)
        self.check(p.tiles > 0, 'tiles must be positive')
        self.tiles = p.tiles
        shape = list(bottom[0].shape)
        shape[self.axis] *= p.tiles
        top[0].reshape(shape)

    def forward(self, bottom, top):
        outer, inner = outer_inner(bottom[0].shape, self.axis, 0)
        x = bottom[0].xdata.reshape(outer, 1, inner)
        top[0].xdata[...] = self.xp.broadcast_to(x, (outer, self.tiles, inner)).reshape(
            top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            outer, inner = outer_inner(bottom[0].shape, self.axis, 0)
            bottom[0].xdiff[...] = top[0].xdiff.reshape(outer, self.tiles, inner).sum(
                axis=1).reshape(bottom[0].shape)


@register('Silence')
class SilenceLayer(Layer):
    """Consumes bottoms so they are not net outputs; backward gives zeros."""
    min_bottom = 1
    exact_num_top = 0

    def reshape(self, bottom, top):
        """No tops."""

    def forward(self, bottom, top):
        """Nothing to compute."""

    def backward(self, top, propagate_down, bottom):
        for b, down in zip(bottom, propagate_down):
            if down:
                b.xdiff[...] = 0


@register('BatchReindex')
class BatchReindexLayer(Layer):
    """top[i] = bottom[0][index[i]] along the first axis."""
    exact_num_bottom = 2
    exact_num_top = 1

    def allow_force_backward(self, bottom_index):
        return bottom_index == 0

    def reshape(self, bottom, top):
        self.check(bottom[1].num_axes == 1, 'the index bottom must be 1-d')
        top[0].reshape((bottom[1].shape[0],) + bottom[0].shape[1:])

    def _index(self, bottom):
        idx = bottom[1].xdata.astype(np.int64)
        self.check(bool((idx >= 0).all()) and bool((idx < bottom[0].shape[0]).all()),
                   'indices must lie in [0, %d)' % bottom[0].shape[0])
        return idx

    def forward(self, bottom, top):
        top[0].xdata[...] = bottom[0].xdata[self._index(bottom)]

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[1], 'cannot backpropagate to the indices')
        if propagate_down[0]:
            dx = self.xp.zeros(bottom[0].shape, np.float32)
            scatter_add(self.xp, dx, self._index(bottom), top[0].xdiff)
            bottom[0].xdiff[...] = dx


@register('Filter')
class FilterLayer(Layer):
    """Keeps the items (first-axis rows) of each data bottom whose selector
    (the last bottom) is nonzero."""
    min_bottom = 2
    min_top = 1

    def setup(self, bottom, top):
        self.check(len(top) == len(bottom) - 1, 'needs one top per data bottom')

    def allow_force_backward(self, bottom_index):
        return False

    def reshape(self, bottom, top):
        selector = bottom[-1]
        for b in bottom[:-1]:
            self.check(b.shape[0] == selector.shape[0], 'selector and data disagree on the '
                       'number of items')
        keep = self.xp.nonzero(bottom[-1].xdata.reshape(selector.shape[0], -1)[:, 0])[0]
        self.keep = keep
        for b, t in zip(bottom[:-1], top):
            t.reshape((int(len(keep)),) + b.shape[1:])

    def forward(self, bottom, top):
        for b, t in zip(bottom[:-1], top):
            if len(self.keep):
                t.xdata[...] = b.xdata[self.keep]

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[-1], 'cannot backpropagate to the selector')
        for b, t, down in zip(bottom[:-1], top, propagate_down):
            if down:
                dx = b.xdiff
                dx[...] = 0
                if len(self.keep):
                    dx[self.keep] = t.xdiff
