"""Spatial layers: Convolution, Deconvolution, Im2col, Pooling and SPP.

Convolution is im2col followed by one GEMM per group over the whole batch
(the batch sits in the GEMM's columns); Deconvolution runs the same two
operations in the opposite order, so each layer's forward is the other's
backward-data pass. Sizes come from caffelite.geometry; the array work
from caffelite.ops.im2col and caffelite.ops.pooling.
"""
import math

import numpy as np

from .. import backend, fillers, geometry, threads, winograd
from ..gemm import product
from ..errors import CaffeError
from ..ops import im2col as im2col_op
from ..ops import pooling as pool_op
from ..proto import caffe_pb2
from .base import Layer, register

# Largest patch matrix (elements) built at once: a convolution runs over
# slices of the batch whose patch matrix fits, which bounds its memory (a
# whole VGG batch would take gigabytes) and keeps every GPU kernel buffer
# within the 32-bit indexing of kernels/*.cu.
PATCH_BUDGET = 2 ** 27
# On the CPU, slices whose patch matrix (8 MB) stays in the last-level cache
# from im2col to the GEMM that reads it (CaffeNet b32, one thread, best of
# 7 at load ~3.5: conv1 forward 128 -> 107 ms, backward 126 -> 110; conv2
# 222 -> 220 and 553 -> 513 ms).
HOST_PATCH_BUDGET = 2 ** 21
# Output planes (elements) below which a host convolution's patch matrices
# run batch-last (_ConvBase._batch_last).
BATCH_LAST_PLANE = 128
# Winograd's F(2x2, 3x3) (caffelite.winograd) for 3x3, stride-1 layers on the
# CPU with at least this many channels per group in and out: below, its
# transforms cost more than the multiply-adds it saves (measured on VGG-16's
# layers: 64 channels at 224x224 slower, 128 at 112x112 faster).
WINOGRAD_MIN_CHANNELS = 128
# ... and with at least this many of its 2x2 output tiles in the batch, the
# columns of each of its 16 GEMMs: VGG-16 at batch 1, paired, Winograd's
# conv5_x (7x7 tiles) forward 12.5-14.4 ms against 8.4-9.1 for im2col and
# one GEMM, backward 25-28 against 19; conv4_x (14x14 tiles) forward 24
# against 31, backward the same.
WINOGRAD_MIN_TILES = 128


def _fold_leading(shape, axis):
    """(N, C, *S) view shape of ``shape`` with every axis before the
    channel ``axis`` folded into N."""
    return (math.prod(shape[:axis]),) + tuple(shape[axis:])


def _spatial_window(layer, param, bottom, min_spatial):
    """(channel axis, ConvWindow) of a ConvolutionParameter on a bottom blob."""
    try:
        axis = bottom.canonical_axis(param.axis)
        num_spatial = bottom.num_axes - axis - 1
        if num_spatial < min_spatial:
            raise CaffeError('needs at least %d spatial axes after channel axis %d; bottom '
                             'is %s' % (min_spatial, axis, bottom.shape))
        return axis, geometry.conv_window(param, num_spatial)
    except CaffeError as e:
        layer.fail(str(e))


class _ConvBase(Layer):
    """Shared setup of Convolution and Deconvolution (geometry, groups,
    params) and the two GEMM passes both are built from."""
    min_bottom = 1
    equal_num_bottom_top = True
    transposed = False      # Deconvolution: the weight maps top to bottom

    def setup(self, bottom, top):
        p = self.layer_param.convolution_param
        shape = bottom[0].shape
        self.axis, self.window = _spatial_window(self, p, bottom[0], 0)
        self.num_axes = len(shape)
        self.channels = shape[self.axis]
        self.num_output = p.num_output
        self.group = p.group
        self.check(self.num_output > 0, 'num_output must be positive')
        self.check(self.group > 0 and self.channels % self.group == 0,
                   'channels (%d) must be a multiple of group (%d)' % (self.channels, self.group))
        self.check(self.num_output % self.group == 0,
                   'num_output (%d) must be a multiple of group (%d)'
                   % (self.num_output, self.group))
        conv_out, conv_in = ((self.channels, self.num_output) if self.transposed
                             else (self.num_output, self.channels))
        weight_shape = (conv_out, conv_in // self.group) + self.window.kernel
        bias_shape = (self.num_output,)
        if self.blobs:
            # Params given (net weights or shared): keep them, as Caffe does.
            self.check(len(self.blobs) == 1 + p.bias_term, 'incorrect number of weight blobs: '
                       '%d, expected %d' % (len(self.blobs), 1 + p.bias_term))
            self.check(self.blobs[0].shape == weight_shape, 'incorrect weight shape: expected '
                       '%s, got %s' % (weight_shape, self.blobs[0].shape))
            self.check(not p.bias_term or self.blobs[1].shape == bias_shape,
                       'incorrect bias shape: expected %s, got %s'
                       % (bias_shape, self.blobs[1].shape))
            return
        fillers.fill(self.add_param(weight_shape), p.weight_filler)
        if p.bias_term:
            fillers.fill(self.add_param(bias_shape), p.bias_filler)

    def reshape(self, bottom, top):
        first = bottom[0].shape
        self.check(len(first) == self.num_axes, 'bottom num_axes may not change (%d, set up '
                   'with %d)' % (len(first), self.num_axes))
        self.check(first[self.axis] == self.channels, 'input has %d channels, the layer was '
                   'set up for %d' % (first[self.axis], self.channels))
        for i, b in enumerate(bottom):
            self.check(b.shape == first, 'shape mismatch - bottom[0]: %s vs. bottom[%d]: %s'
                       % (first, i, b.shape))
        size = geometry.deconv_shape if self.transposed else geometry.conv_shape
        out = size(first[self.axis + 1:], self.window)
        self.check(all(o > 0 for o in out), 'output would be empty for input %s' % (first,))
        # The spatial shape of the patch matrix's columns: the output of the
        # convolution (a Deconvolution's bottom), sized here once per shape.
        self.col_shape = first[self.axis + 1:] if self.transposed else out
        for t in top:
            t.reshape(first[:self.axis] + (self.num_output,) + out)

    def _nchw(self, array):
        """``array`` (a bottom or top) viewed as (N, C, *S)."""
        return array.reshape(_fold_leading(array.shape, self.axis))

    # --- GEMM passes on (n, C, *S) chunks of the batch; W is (g, out/g, in/g * K) --
    # Each pass runs on one chunk with the scratch of one lane (caffelite.threads).
    def _grouped_weight(self):
        w = self.blobs[0].xdata
        return w.reshape(self.group, w.shape[0] // self.group, -1)

    def _batch_last(self, n):
        """Whether the patch matrices of a chunk of ``n`` images order their
        columns batch-last (caffelite.ops.im2col): on the host, for a batch
        and small planes, where im2col's and col2im's runs would otherwise
        be one short output row long."""
        return self.xp is np and n > 1 and math.prod(self.col_shape) < BATCH_LAST_PLANE

    def _gemm_layout(self, a, space):
        """(n, A, *S) -> (g, A/g, n * prod(S)): a GEMM operand with the batch
        in the columns, in the patch matrices' order (one transposing copy,
        unless n is 1)."""
        n, channels = a.shape[:2]
        if n == 1:
            return a.reshape(self.group, channels // self.group, -1)
        plane = math.prod(a.shape[2:])
        if self._batch_last(n):
            layout = space.empty('conv_layout', (channels, plane, n), self.xp)
            layout[...] = a.reshape(n, channels, plane).transpose(1, 2, 0)
        else:
            layout = space.empty('conv_layout', (channels, n, plane), self.xp)
            layout[...] = a.reshape(n, channels, plane).transpose(1, 0, 2)
        return layout.reshape(self.group, channels // self.group, -1)

    def _image_channels(self):
        """Channels of the side im2col reads: a Convolution's bottom, a
        Deconvolution's top."""
        return self.num_output if self.transposed else self.channels

    def _macs(self, num):
        """Multiply-adds of one GEMM pass over a batch of ``num``."""
        return (self.num_output * self.channels // self.group * math.prod(self.window.kernel)
                * math.prod(self.col_shape) * num)

    def _batch_slices(self, num):
        """Near-equal chunks of a batch of ``num``: patch matrices of at
        most PATCH_BUDGET elements (HOST_PATCH_BUDGET on the CPU), and on
        the CPU, for a layer large enough to share (threads.idle_lanes), a
        multiple of the threads: one chunk each where the budget allows,
        whose larger GEMMs run faster (paired, CaffeNet b32's conv4 and
        conv5 -7 to -9% forward and backward, AlexNet b10's conv3 forward
        -17%). The chunks depend on the shapes and threads.count() alone,
        not on the load: the weight gradient sums over them, and a seeded
        run repeats bit for bit whatever else the machine runs."""
        per_image = (self._image_channels() * math.prod(self.window.kernel)
                     * math.prod(self.col_shape))
        budget = min(PATCH_BUDGET, HOST_PATCH_BUDGET) if self.xp is np else PATCH_BUDGET
        count = -(-num // max(1, budget // max(per_image, 1)))
        lanes = threads.idle_lanes(self._macs(num), num) if self.xp is np else 1
        if lanes > 1:
            count = min(num, -(-max(count, lanes) // lanes) * lanes)
        return threads.slices(num, count)

    def _over_batch(self, num, fn):
        """fn(chunk number, batch slice, lane workspace, inner) for every
        chunk of the batch (_batch_slices). On the CPU, threads share the
        chunks when the layer is large (caffelite.threads.lanes: fewer on a
        busy machine); a batch of one image is shared by channels instead:
        its one chunk's passes (a patch matrix's rows, a GEMM's output rows
        or columns) are cut in parts for ``inner`` threads (_in_parts)."""
        lanes = inner = 1
        if self.xp is np:
            macs = self._macs(num)
            lanes = threads.lanes(macs, num)
            inner = threads.idle_lanes(macs, self.channels) if num == 1 else 1
        parts = self._batch_slices(num)
        threads.run_chunks(lambda i, lane: fn(i, parts[i], self.workspace.lane(lane), inner),
                           len(parts), lanes)

    def _in_parts(self, items, space, inner, fn, width=0):
        """fn(item, slice, lane workspace) over ``items``, each a (item,
        length) pair cut into ``inner`` parts (one a thread; with ``width``,
        the elements of a part's temporary per unit of length, parts small
        enough for a temporary of at most HOST_PATCH_BUDGET); lane 0 keeps
        the caller's workspace ``space``. The parts depend on the shapes and
        ``inner`` alone, as _batch_slices's chunks (BLAS's sums, too, differ
        with the shape of the product they are part of); how many threads
        run them follows the load (caffelite.threads.lanes)."""
        def count(length):
            return min(length, max(inner, -(-length * width // HOST_PATCH_BUDGET)))
        work = [(item, part) for item, length in items
                for part in threads.slices(length, count(length))]
        lanes = min(inner, threads.lanes(self._macs(1), self.channels)) if inner > 1 else 1
        threads.run_chunks(lambda i, lane: fn(*work[i], space if lane == 0 else
                                              self.workspace.lane(lane)), len(work), lanes)

    def _gemm_parts(self, a, b, out, space, inner, add=False):
        """out[g] = a[g] @ b[g] (or +=) for stacks (g, M, K), (g, K, N),
        (g, M, N), by parts of the longer of the M rows and the N columns:
        each part then reads only its share of the larger operand (by rows,
        every part of a wide product reads all of b: VGG-16's conv1_2 at
        batch 1, 64 x 576 by 576 x 50176 in 8 parts, took 110 ms against 50
        by columns)."""
        by_columns = b.shape[2] > a.shape[1]

        def part(group, span, _):
            rows, cols = (slice(None), span) if by_columns else (span, slice(None))
            if add:
                out[group, rows, cols] += product(a[group, rows], b[group][:, cols])
            else:
                product(a[group, rows], b[group][:, cols], out=out[group, rows, cols])
        length = b.shape[2] if by_columns else a.shape[1]
        self._in_parts([(group, length) for group in range(a.shape[0])], space, inner, part)

    def _im2col(self, x, space, inner=1):
        """(g, in/g * K, n * P) patch matrix of x (n, in, *S); with ``inner``
        threads, filled by parts of the channels."""
        cols = space.scratch('conv_cols', im2col_op.patch_shape(x.shape, self.window,
                                                                self.col_shape), self.xp)
        if inner == 1:
            cols = im2col_op.im2col(x, self.window, self.col_shape, cols=cols, workspace=space,
                                    batch_last=self._batch_last(x.shape[0]))
        else:
            if cols is None:
                cols = np.empty(im2col_op.patch_shape(x.shape, self.window, self.col_shape),
                                x.dtype)
            taps = math.prod(self.window.kernel)

            def part(_, channels, lane_space):
                im2col_op.im2col(x[:, channels], self.window, self.col_shape,
                                 cols=cols[channels.start * taps:channels.stop * taps],
                                 workspace=lane_space)
            self._in_parts([(0, x.shape[1])], space, inner, part)
        return cols.reshape(self.group, -1, cols.shape[1])

    def _per_image(self, a):
        """Whether a pointwise (1x1) pass over a (n, C, *S) should skip the
        patch matrix (a itself) and run one GEMM per image straight into its
        output. Measured: this avoids two transposing copies and wins unless
        many small planes make the per-image GEMMs too thin."""
        plane = math.prod(a.shape[2:])
        return geometry.is_pointwise(self.window) and (a.shape[0] == 1 or plane >= 128)

    def _uses_winograd(self, num):
        """Whether the host passes that are 3x3 convolutions of a batch of
        ``num`` run Winograd (F(2x2, 3x3); F(3x3, 2x2) for the weight
        gradient): a 2-D 3x3 stride-1 window, enough channels and enough
        output tiles."""
        tiles = num * math.prod(-(-size // 2) for size in self.col_shape)
        return (self.xp is np and len(self.window.kernel) == 2 and winograd.applies(self.window)
                and min(self.channels, self.num_output) // self.group >= WINOGRAD_MIN_CHANNELS
                and tiles >= WINOGRAD_MIN_TILES)

    def _winograd_kernels(self, transposed):
        """The transformed kernels (caffelite.winograd) of each group: of the
        weights as they map bottom to top, or of their transpose."""
        w = self.blobs[0].xdata
        w = w.reshape((self.group, w.shape[0] // self.group) + w.shape[1:])
        if transposed:
            return [winograd.kernel_transform(winograd.transposed_weights(g)) for g in w]
        return [winograd.kernel_transform(g) for g in w]

    def _splitter(self, space, inner):
        """split(length, fn) for caffelite.winograd: fn(slice) over parts of
        range(length) that ``inner`` threads share."""
        def split(length, fn):
            self._in_parts([(0, length)], space, inner, lambda _, part, lane_space: fn(part))
        return split

    def _winograd(self, a, out, kernels, pad, space, inner):
        """out (n, *, *O) = the 3x3 convolution of a (n, *, *S), group by
        group, with the transformed ``kernels``; ``inner`` threads share
        each step's channels."""
        split = self._splitter(space, inner)
        a_step, out_step = a.shape[1] // self.group, out.shape[1] // self.group
        for group, u in enumerate(kernels):
            winograd.convolve(a[:, group * a_step:(group + 1) * a_step], u, pad,
                              out[:, group * out_step:(group + 1) * out_step], split)

    def _convolve(self, x, out, space, inner):
        """out (n, out, *O) = W * x for x (n, in, *S)."""
        xp, w, g = self.xp, self._grouped_weight(), self.group
        n = x.shape[0]
        if self._kernels is not None:
            # A Convolution's forward (W), a Deconvolution's backward.
            self._winograd(x, out, self._kernels, self.window.pad, space, inner)
            return
        if n == 1:
            image = (x.reshape(g, x.shape[1] // g, -1) if self._per_image(x)
                     else self._im2col(x, space, inner))
            self._gemm_parts(w, image, out.reshape(g, w.shape[1], -1), space, inner)
            return
        if self._per_image(x):
            product(w, x.reshape(n, g, x.shape[1] // g, -1),
                    out=out.reshape(n, g, w.shape[1], -1))
            return
        cols = self._im2col(x, space)
        y = product(w, cols, out=space.scratch('conv_gemm', w.shape[:2] + cols.shape[2:], xp))
        # (out, n * P) -> (n, out, P): one strided copy into the top.
        top = out.reshape(n, out.shape[1], -1)
        if self._batch_last(n):
            top[...] = y.reshape(out.shape[1], -1, n).transpose(2, 0, 1)
        else:
            top[...] = y.reshape(out.shape[1], n, -1).transpose(1, 0, 2)

    def _convolve_transpose(self, y, out, space, inner):
        """out (n, in, *S) = W^T * y for y (n, out, *O) (col2im of the
        patch-matrix gradient)."""
        xp, w, g = self.xp, self._grouped_weight(), self.group
        n = y.shape[0]
        if self._kernels is not None:
            # W^T at stride 1: the flipped, transposed 3x3 kernel, padding 2 - pad.
            self._winograd(y, out, self._kernels, tuple(2 - p for p in self.window.pad), space,
                           inner)
            return
        w_t = w.transpose(0, 2, 1)
        if self._per_image(y):
            if n == 1:
                self._gemm_parts(w_t, y.reshape(g, y.shape[1] // g, -1),
                                out.reshape(g, w_t.shape[1], -1), space, inner)
                return
            product(w_t, y.reshape(n, g, y.shape[1] // g, -1),
                    out=out.reshape(n, g, w_t.shape[1], -1))
            return
        layout = self._gemm_layout(y, space)
        if n == 1:
            # By parts of each group's channels: their patch rows, then
            # their col2im, independent of the other channels.
            taps = math.prod(self.window.kernel)
            per_group = out.shape[1] // g

            def part(group, channels, lane_space):
                rows = slice(channels.start * taps, channels.stop * taps)
                first = group * per_group
                cols = product(w_t[group, rows], layout[group], out=lane_space.scratch(
                    'conv_cols', (rows.stop - rows.start, layout.shape[2]), xp))
                im2col_op.col2im(cols, (1, channels.stop - channels.start) + out.shape[2:],
                                 self.window, self.col_shape,
                                 x=out[:, first + channels.start:first + channels.stop],
                                 workspace=lane_space)
            self._in_parts([(group, per_group) for group in range(g)], space, inner, part,
                           width=taps * math.prod(self.col_shape))
            return
        cols = product(w_t, layout, out=space.scratch(
            'conv_cols', (g, w_t.shape[1], layout.shape[2]), xp))
        im2col_op.col2im(cols.reshape(-1, cols.shape[2]), out.shape, self.window, self.col_shape,
                         x=out, workspace=space, batch_last=self._batch_last(n))

    def _weight_grad(self, y, x, space, dw, inner, add):
        """dw (g, out/g, in/g * K) = y * im2col(x)^T (+= with ``add``) for
        y (n, out, *O) and x (n, in, *S), as one 2-D GEMM per group: NumPy's
        matmul over a 3-D stack with a transposed operand leaves BLAS
        (measured 2 s against 0.07 s for a 16 x 147456 x 27 product). (A
        GEMM with beta = 1 measured 10% slower here than matmul and an add:
        the weights are small next to the product.) Layers whose passes run Winograd take
        its F(3x3, 2x2) instead (paired: CaffeNet b32 step 1080 -> 1048 ms,
        AlexNet b10 forward+backward 420 -> 399, VGG-16 b1 734 -> 687)."""
        if self._winograd_weights:
            split = self._splitter(space, inner)
            x_step, y_step = x.shape[1] // self.group, y.shape[1] // self.group
            for group in range(self.group):
                grad = winograd.weight_gradient(
                    x[:, group * x_step:(group + 1) * x_step],
                    y[:, group * y_step:(group + 1) * y_step], self.window.pad,
                    split).reshape(dw.shape[1], -1)
                if add:
                    dw[group] += grad
                else:
                    dw[group] = grad
            return
        layout, cols = self._gemm_layout(y, space), self._im2col(x, space, inner)
        self._gemm_parts(layout, cols.transpose(0, 2, 1), dw, space, inner, add=add)

    def _add_bias(self, y):
        if len(self.blobs) > 1:
            y += self.blobs[1].xdata.reshape((1, -1) + (1,) * (y.ndim - 2))

    def _accumulate_bias_grad(self, dy):
        """Caffe's way: each image's plane sums as a product with ones (a
        GEMV; half the time of NumPy's sum over axes (0, 2) for CaffeNet's
        conv1), then the images' sums in order."""
        if len(self.blobs) > 1 and self.param_propagate_down[1]:
            planes = dy.reshape(dy.shape[0], dy.shape[1], -1)
            ones = self.xp.ones(planes.shape[2], planes.dtype)
            self.blobs[1].xdiff[...] += (planes @ ones).sum(axis=0)

    def _image_and_other(self, bottom, top):
        """(image, other): the side im2col reads (a Convolution's bottom, a
        Deconvolution's top) and the side of the GEMM's output columns."""
        return (top, bottom) if self.transposed else (bottom, top)

    def forward(self, bottom, top):
        # The forward runs W (a Convolution) or W^T (a Deconvolution).
        num = math.prod(bottom[0].shape[:self.axis])
        self._kernels = (self._winograd_kernels(self.transposed) if self._uses_winograd(num)
                         else None)
        for b, t in zip(bottom, top):
            x, y = self._nchw(b.xdata), self._nchw(t.xdata)

            def chunk(_, part, space, inner):
                self._forward_op(x[part], y[part], space, inner)
                self._add_bias(y[part])
            self._over_batch(x.shape[0], chunk)

    def backward(self, top, propagate_down, bottom):
        winograd_passes = self._uses_winograd(math.prod(bottom[0].shape[:self.axis]))
        self._kernels = (self._winograd_kernels(not self.transposed)
                         if winograd_passes and any(propagate_down) else None)
        self._winograd_weights = winograd_passes
        for b, t, down in zip(bottom, top, propagate_down):
            dy, x = self._nchw(t.xdiff), self._nchw(b.xdata)
            self._accumulate_bias_grad(dy)
            dx = self._nchw(b.xdiff) if down else None
            image, other = self._image_and_other(x, dy)
            # Chunk 0 adds its weight gradient into the diff, each other chunk
            # writes its own into a buffer, added in chunk order: the sum is
            # the same whichever thread ran which chunk.
            dw = threads.OrderedSum(self._grouped_weight_diff())

            def chunk(index, part, space, inner):
                if self.param_propagate_down[0]:
                    grad = dw.total if index == 0 else self.xp.empty_like(dw.total)
                    self._weight_grad(other[part], image[part], space, grad, inner,
                                      add=index == 0)
                    dw.done(index, None if index == 0 else grad)
                if down:
                    self._backward_op(dy[part], dx[part], space, inner)
            self._over_batch(x.shape[0], chunk)

    def _grouped_weight_diff(self):
        dw = self.blobs[0].xdiff
        return dw.reshape(self.group, dw.shape[0] // self.group, -1)


@register('Convolution')
class ConvolutionLayer(_ConvBase):
    """y = W * x + b for each bottom/top pair: N-d kernel, stride, pad,
    dilation (repeated or _h/_w), group, bias_term and axis as in Caffe.
    ``force_nd_im2col`` is accepted; the one im2col serves every rank."""

    def _forward_op(self, x, y, space, inner):
        self._convolve(x, y, space, inner)

    def _backward_op(self, dy, dx, space, inner):
        self._convolve_transpose(dy, dx, space, inner)


@register('Deconvolution')
class DeconvolutionLayer(_ConvBase):
    """The transpose of Convolution (weights (C_in, num_output / group, *K)):
    its forward is Convolution's backward-data pass, so a stride upsamples."""
    transposed = True

    def _forward_op(self, x, y, space, inner):
        self._convolve_transpose(x, y, space, inner)

    def _backward_op(self, dy, dx, space, inner):
        self._convolve(dy, dx, space, inner)


@register('Im2col')
class Im2colLayer(Layer):
    """The patch matrix as a blob: (..., C * prod(K), *O) with the channel
    axis from convolution_param.axis, Caffe's layout."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        self.axis, self.window = _spatial_window(
            self, self.layer_param.convolution_param, bottom[0], 1)

    def reshape(self, bottom, top):
        shape = bottom[0].shape
        self.out = geometry.conv_shape(shape[self.axis + 1:], self.window)
        self.check(all(o > 0 for o in self.out), 'output would be empty for input %s' % (shape,))
        rows = shape[self.axis] * math.prod(self.window.kernel)
        top[0].reshape(shape[:self.axis] + (rows,) + self.out)

    def forward(self, bottom, top):
        x = bottom[0].xdata.reshape(_fold_leading(bottom[0].shape, self.axis))
        cols = im2col_op.im2col(x, self.window, self.out, workspace=self.workspace)
        top[0].xdata.reshape(x.shape[0], cols.shape[0], -1)[...] = \
            cols.reshape(cols.shape[0], x.shape[0], -1).transpose(1, 0, 2)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        x_shape = _fold_leading(bottom[0].shape, self.axis)
        dy = top[0].xdiff.reshape(x_shape[0], -1, math.prod(top[0].shape[self.axis + 1:]))
        cols = dy.transpose(1, 0, 2).reshape(dy.shape[1], -1)
        bottom[0].xdiff.reshape(x_shape)[...] = im2col_op.col2im(
            cols, x_shape, self.window, self.out, workspace=self.workspace)


MAX, AVE, STOCHASTIC = (caffe_pb2.PoolingParameter.MAX, caffe_pb2.PoolingParameter.AVE,
                        caffe_pb2.PoolingParameter.STOCHASTIC)


class _Pooler:
    """One 2-D pooling (method, PoolWindow, output size) for ``layer``;
    shared by Pooling and SPP. Keeps what its backward needs from the last
    forward. On the CPU, MAX and AVE run over parts of the batch that
    threads share (Layer.over_batch)."""

    def __init__(self, layer, method, window, out, train):
        self.layer, self.method, self.window, self.out, self.train = (layer, method, window, out,
                                                                      train)
        self._x = self._top = self._mask = None

    def _host(self):
        return self.layer.xp is np

    def _in_parts(self, outputs, fn, size):
        """Fill the host arrays ``outputs`` (batch first, the first one
        sizing the work) part by part: fn(part) returns their values there
        (a tuple when there are several). ``size``: the elements of the
        input (Layer.over_batch's cache-sized parts)."""
        work = outputs[0].size * math.prod(self.window.kernel)

        def part(s):
            values = fn(s)
            for out, value in zip(outputs, values if len(outputs) > 1 else (values,)):
                out[s] = value
        self._over_planes(outputs[0].shape, work, part, size)

    def _over_planes(self, shape, elements, fn, size):
        """fn(index) over parts of the (N, C) planes of ``shape`` (every
        plane pools alone): parts of the batch (Layer.over_batch), or for a
        single image, of its channels, whose slices stay C-contiguous (VGG-16
        at batch 1, paired: pool1's training forward 17.4 -> 8.3 ms, the five
        poolings' forward and backward 41 -> 25 ms)."""
        if shape[0] == 1:
            self.layer.over_batch(shape[1], elements, lambda s: fn((slice(None), s)), size)
        else:
            self.layer.over_batch(shape[0], elements, fn, size)

    def forward(self, x):
        """(N, C, H, W) -> (N, C, oh, ow)."""
        top_shape = x.shape[:2] + self.out
        if self.method == MAX:
            # On the host a training forward derives the mask too, from
            # the same phase split; otherwise mask() derives it from
            # (x, top) when asked for. The GPU kernel writes both in one pass.
            self._x = x
            if self._host() and self.train:
                self._top, self._mask = np.empty(top_shape, np.float32), np.empty(top_shape,
                                                                                  np.int32)
                self._in_parts([self._top, self._mask], lambda s: pool_op.max_forward(
                    x[s], self.window, self.out, with_mask=True), x.size)
            elif self._host():
                self._top, self._mask = np.empty(top_shape, np.float32), None
                self._in_parts([self._top], lambda s: pool_op.max_forward(
                    x[s], self.window, self.out)[0], x.size)
            else:
                self._top, self._mask = pool_op.max_forward(x, self.window, self.out)
            return self._top
        if self.method == AVE:
            if self._host():
                top = np.empty(top_shape, np.float32)
                self._in_parts([top], lambda s: pool_op.ave_forward(x[s], self.window, self.out),
                               x.size)
                return top
            return pool_op.ave_forward(x, self.window, self.out)
        if not self.train:
            return pool_op.stochastic_forward_test(x, self.window, self.out)
        xp = backend.array_module(x)
        uniform = backend.uniform(top_shape, xp)
        top, self._mask = pool_op.stochastic_forward_train(x, self.window, self.out, uniform)
        return top

    def mask(self):
        """Input index (row * W + col) each output came from (-1: none):
        MAX's argmax or the stochastic sample of the last forward."""
        if self._mask is None:
            self._mask = np.empty(self._top.shape, np.int32)
            self._in_parts([self._mask], lambda s: pool_op.max_mask(self._x[s], self._top[s],
                                                                    self.window), self._x.size)
        return self._mask

    def backward(self, dy, dx):
        """(N, C, oh, ow) top diff -> (N, C, H, W) bottom diff ``dx``."""
        window = self.window
        if self.method == STOCHASTIC:
            if not self.train:
                raise CaffeError('stochastic pooling has no backward in the TEST phase')
            window = window._replace(pad=(0, 0))
        mask = self.mask() if self.method != AVE else None
        if self.method == AVE:
            part = lambda s: pool_op.ave_backward(dy[s], dx[s].shape, window)
            if self._host():
                self._in_parts([dx], part, dx.size)
            else:
                dx[...] = part(slice(None))
            return
        if self._host():
            # Written in place, part by part: the scatter-add needs no copy.
            self._over_planes(dx.shape, dx.size, lambda s: pool_op.max_backward(
                dy[s], mask[s], dx[s].shape, window, dx[s]), dx.size)
        else:
            pool_op.max_backward(dy, mask, dx.shape, window, dx)


@register('Pooling')
class PoolingLayer(Layer):
    """MAX (optional second top: Caffe's argmax mask, index row * W + col of
    the unpadded input as floats), AVE and STOCHASTIC (TRAIN: sample by
    activation; TEST: activation-weighted mean) pooling; CEIL/FLOOR
    round_mode; ``global_pooling`` pools each whole plane."""
    exact_num_bottom = 1
    min_top = 1
    max_top = 2

    def setup(self, bottom, top):
        """Parses the window once, as Caffe's LayerSetUp does; a global
        window follows the input's size at every reshape."""
        p = self.layer_param.pooling_param
        self.method = p.pool
        self.check(len(top) == 1 or self.method == MAX, 'only MAX pooling can output a mask '
                   'top (got %d tops)' % len(top))
        self._check_axes(bottom[0].shape)
        try:
            self.window = geometry.pool_window(p, *bottom[0].shape[2:])
        except CaffeError as e:
            self.fail(str(e))
        self.ceil = p.round_mode == caffe_pb2.PoolingParameter.CEIL

    def _check_axes(self, shape):
        self.check(len(shape) == 4, 'input must have 4 axes (num, channels, height, width), '
                   'got %s' % (shape,))

    def reshape(self, bottom, top):
        n, c, h, w = shape = bottom[0].shape
        self._check_axes(shape)
        if self.layer_param.pooling_param.global_pooling:
            self.window = self.window._replace(kernel=(h, w))
        out = geometry.pool_shape(h, w, self.window, self.ceil)
        self.check(min(out) > 0, 'output would be empty (%d x %d) for input %s: kernel %s '
                   'larger than the padded input' % (out + (shape, self.window.kernel)))
        self.pooler = _Pooler(self, self.method, self.window, out, self.phase == caffe_pb2.TRAIN)
        for t in top:
            t.reshape(n, c, *out)

    def forward(self, bottom, top):
        top[0].xdata[...] = self.pooler.forward(bottom[0].xdata)
        if len(top) > 1:
            top[1].xdata[...] = self.pooler.mask()

    def backward(self, top, propagate_down, bottom):
        if propagate_down[0]:
            try:
                self.pooler.backward(top[0].xdiff, bottom[0].xdiff)
            except CaffeError as e:
                self.fail(str(e))


@register('SPP')
class SPPLayer(Layer):
    """Spatial pyramid pooling: level l pools into 2^l x 2^l bins (Caffe's
    kernel/stride/pad per level, ceil mode), each flattened to
    (N, C * bins), all concatenated along axis 1. With pyramid_height 1 the
    top is the single pooling's (N, C, 1, 1), as in Caffe. Caffe builds the
    levels as Pooling layers with a default LayerParameter, whose phase is
    TRAIN: STOCHASTIC levels always sample."""
    exact_num_bottom = 1
    exact_num_top = 1

    def setup(self, bottom, top):
        p = self.layer_param.spp_param
        self.method = p.pool
        self.height = p.pyramid_height
        self.check(self.height >= 1, 'pyramid_height must be at least 1')

    def reshape(self, bottom, top):
        shape = bottom[0].shape
        self.check(len(shape) == 4, 'input must have 4 axes (num, channels, height, width), '
                   'got %s' % (shape,))
        n, c, h, w = shape
        self.check(h > 0 and w > 0, 'input dimensions cannot be zero')
        self.levels = []
        for level in range(self.height):
            window = geometry.spp_level(h, w, level)
            try:
                geometry.check_pool_window(window, self.method == STOCHASTIC)
            except CaffeError as e:
                self.fail('pyramid level %d on a %dx%d input: %s' % (level, h, w, e))
            self.levels.append(_Pooler(self, self.method, window, geometry.pool_shape(h, w, window),
                                       True))
        if self.height == 1:
            top[0].reshape(n, c, 1, 1)
        else:
            top[0].reshape(n, sum(c * q.out[0] * q.out[1] for q in self.levels))

    def forward(self, bottom, top):
        x = bottom[0].xdata
        n = x.shape[0]
        top[0].xdata.reshape(n, -1)[...] = self.xp.concatenate(
            [q.forward(x).reshape(n, -1) for q in self.levels], axis=1)

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        n, c = bottom[0].shape[:2]
        dy = top[0].xdiff.reshape(n, -1)
        dx = bottom[0].xdiff
        level_dx = self.xp.empty_like(dx)
        start = 0
        for i, q in enumerate(self.levels):
            size = c * q.out[0] * q.out[1]
            part = self.xp.ascontiguousarray(dy[:, start:start + size]).reshape((n, c) + q.out)
            q.backward(part, level_dx if i else dx)
            if i:
                dx += level_dx
            start += size
