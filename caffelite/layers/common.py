"""Layers that route or reshape blobs and general-purpose layers:
Split, Concat, Slice, Flatten, Reshape, InnerProduct, Softmax, Eltwise,
Crop, Tile, Reduction, ArgMax, Embed, Silence, Parameter, BatchReindex,
Filter, Scale and Bias."""
import numpy as np

from .. import fillers
from ..ops import blocks, workspace
from ..ops import softmax as softmax_op
from ..proto import caffe_pb2
from .base import Layer, register


def _outer_inner(shape, axis, length=1):
    """(outer, inner) counts around axes ``axis`` .. ``axis + length - 1``."""
    return (int(np.prod(shape[:axis], dtype=np.int64)),
            int(np.prod(shape[axis + length:], dtype=np.int64)))


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

    def forward(self, bottom, top):
        w = self.blobs[0].xdata
        y = self._x(bottom) @ (w if self.transpose else w.T)
        if len(self.blobs) > 1:
            y += self.blobs[1].xdata
        top[0].xdata[...] = y.reshape(top[0].shape)

    def backward(self, top, propagate_down, bottom):
        dy = top[0].xdiff.reshape(-1, top[0].shape[-1])
        if self.param_propagate_down[0]:
            x = self._x(bottom)
            a, b = (x.T, dy) if self.transpose else (dy.T, x)
            # Into scratch: a fresh weight-sized product each step costs page
            # faults (fc6 of VGG is 400 MB).
            grad = self.xp.matmul(a, b, out=workspace.scratch(
                'ip_grad', (a.shape[0], b.shape[1]), self.xp))
            self.blobs[0].xdiff[...] += grad.reshape(self.blobs[0].shape)
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            self.blobs[1].xdiff[...] += dy.sum(axis=0)
        if propagate_down[0]:
            w = self.blobs[0].xdata
            bottom[0].xdiff[...] = (dy @ (w.T if self.transpose else w)).reshape(bottom[0].shape)


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
        outer, inner = _outer_inner(bottom[0].shape, self.axis, 0)
        x = bottom[0].xdata.reshape(outer, 1, inner)
        top[0].xdata[...] = self.xp.broadcast_to(x, (outer, self.tiles, inner)).reshape(
            top[0].shape)

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            outer, inner = _outer_inner(bottom[0].shape, self.axis, 0)
            bottom[0].xdiff[...] = top[0].xdiff.reshape(outer, self.tiles, inner).sum(
                axis=1).reshape(bottom[0].shape)


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
            outer, inner = _outer_inner(x.shape, self.axis)
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
            _scatter_add(self.xp, self.blobs[0].xdiff, self._indices(bottom), dy)
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            self.blobs[1].xdiff[...] += dy.sum(axis=0)


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
            _scatter_add(self.xp, dx, self._index(bottom), top[0].xdiff)
            bottom[0].xdiff[...] = dx


def _scatter_add(xp, target, index, values):
    """target[index] += values with repeated indices accumulating."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)


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
        self.outer, self.inner = _outer_inner(bottom[0].shape, self.axis, len(span))
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
