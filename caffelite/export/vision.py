"""Convolution, Deconvolution, Im2col, Pooling and SPP as ONNX Conv,
ConvTranspose, MaxPool and AveragePool.

Pooling keeps Caffe's window rules instead of ONNX's ceil_mode, whose edge
cases differ: the output size comes from caffelite.geometry (CEIL/FLOOR
rounding, and the rule that drops a last window starting in the trailing
padding), and the trailing pad is set so the last window fits exactly.
Average pooling then divides by the whole window (count_include_pad); where
Caffe divides by less (a window hanging past the padding counts only up to
the padding's end) a constant per-position factor restores Caffe's divisor.
"""
import numpy as np

from .. import geometry
from ..errors import CaffeError
from ..proto import caffe_pb2
from .convert import canonical_axis, converter

MAX, AVE, STOCHASTIC = (caffe_pb2.PoolingParameter.MAX, caffe_pb2.PoolingParameter.AVE,
                        caffe_pb2.PoolingParameter.STOCHASTIC)
LOWEST = float(np.finfo(np.float32).min)     # Caffe's -FLT_MAX


def _conv_geometry(ctx, min_spatial=1):
    """(channel axis, ConvWindow) of the layer's ConvolutionParameter."""
    p = ctx.lp.convolution_param
    shape = ctx.bottom_shapes[0]
    axis = canonical_axis(p.axis, len(shape))
    spatial = len(shape) - axis - 1
    if spatial < min_spatial:
        ctx.refuse('needs at least %d spatial axis after channel axis %d (bottom %s)'
                   % (min_spatial, axis, shape))
    try:
        return axis, geometry.conv_window(p, spatial)
    except CaffeError as e:
        ctx.refuse(str(e))


def _conv_attrs(window):
    return dict(kernel_shape=list(window.kernel), strides=list(window.stride),
                pads=list(window.pad) * 2, dilations=list(window.dilation))


def _fold_axes(ctx, x, axis, shape):
    """x viewed as (N', C, *S) with the axes before the channel axis folded
    into N' (ONNX convolutions take the channel at axis 1)."""
    if axis == 1:
        return x
    return ctx.reshape(x, (int(np.prod(shape[:axis])),) + tuple(shape[axis:]))


def _convolution(ctx, op_type):
    p = ctx.lp.convolution_param
    axis, window = _conv_geometry(ctx)
    attrs = _conv_attrs(window)
    weight = ctx.g.initializer(ctx.params[0], ctx.name + '/weight')
    args = [weight]
    if p.bias_term:
        args.append(ctx.g.initializer(ctx.params[1], ctx.name + '/bias'))
    tops = []
    # Several bottom/top pairs share one set of weights.
    for i, (x, shape) in enumerate(zip(ctx.inputs, ctx.bottom_shapes)):
        folded = _fold_axes(ctx, x, axis, shape)
        out = ctx.out(i) if axis == 1 else None
        y = ctx.op(op_type, [folded] + args, out=out, group=p.group, **attrs)
        if axis != 1:
            y = ctx.reshape(y, ctx.top_shapes[i], out=ctx.out(i))
        tops.append(y)
    return tops


@converter('Convolution')
def convolution(ctx):
    """Conv: grouped, dilated, N-d, any channel axis."""
    return _convolution(ctx, 'Conv')


@converter('Deconvolution')
def deconvolution(ctx):
    """ConvTranspose: Caffe's weights (C_in, out / group, *K) are ONNX's
    layout, and with symmetric pads and no output_padding ONNX's output
    size stride (in - 1) + extent - 2 pad is Caffe's."""
    return _convolution(ctx, 'ConvTranspose')


@converter('Im2col')
def im2col(ctx):
    """Caffe's patch matrix as a grouped convolution with one-hot kernels:
    group c, output k copies kernel tap k of channel c to channel c*K + k."""
    axis, window = _conv_geometry(ctx)
    shape = ctx.bottom_shapes[0]
    channels, taps = shape[axis], int(np.prod(window.kernel))
    kernel = np.zeros((channels * taps, 1, taps), np.float32)
    kernel[np.arange(channels * taps), 0, np.tile(np.arange(taps), channels)] = 1
    weight = ctx.g.initializer(kernel.reshape((channels * taps, 1) + window.kernel),
                               ctx.name + '/one_hot')
    folded = _fold_axes(ctx, ctx.inputs[0], axis, shape)
    y = ctx.op('Conv', [folded, weight], out=ctx.out() if axis == 1 else None,
               group=channels, **_conv_attrs(window))
    if axis != 1:
        y = ctx.reshape(y, ctx.top_shapes[0], out=ctx.out())
    return [y]


def _trailing_pads(size, window, out):
    """Per axis, the trailing pad that makes the last of ``out`` windows end
    exactly at the padded input's end (at least 0)."""
    return [max(0, (o - 1) * s + k - n - p)
            for n, k, s, p, o in zip(size, window.kernel, window.stride, window.pad, out)]


def _caffe_divisors(size, window, out):
    """(oh, ow) Caffe's AVE divisors: each window clipped to input + pad."""
    per_axis = []
    for n, k, s, p, o in zip(size, window.kernel, window.stride, window.pad, out):
        start = np.arange(o) * s - p
        per_axis.append(np.minimum(start + k, n + p) - start)
    return np.outer(*per_axis).astype(np.float64)


def pool(ctx, x, method, window, size, out, out_name=None, mask_name=None):
    """Emit Caffe's pooling of x (N, C, *size) into ``out`` windows; returns
    the output name (and the mask's with ``mask_name``)."""
    end = _trailing_pads(size, window, out)
    empty = any(e >= k for e, k in zip(end, window.kernel))
    attrs = dict(kernel_shape=list(window.kernel), strides=list(window.stride))
    if empty:
        # A ceil-mode window past the input (no padding): Caffe's max is
        # -FLT_MAX there; ONNX refuses pads this large, so pad explicitly.
        where = 'a pooling window lies wholly outside the input (kernel %s, stride %s, ' \
            'input %s)' % (window.kernel, window.stride, size)
        if method != MAX:
            ctx.refuse(where + ': Caffe divides by a non-positive count there')
        if mask_name:
            ctx.refuse(where + ', where ONNX gives no argmax mask')
        pads = [0, 0] + [0] * len(size) + [0, 0] + end
        x = ctx.op('Pad', [x, ctx.g.ints(pads), ctx.g.const(np.float32(LOWEST))],
                   mode='constant')
        return ctx.op('MaxPool', [x], out=out_name, pads=[0] * (2 * len(size)), **attrs)
    attrs['pads'] = list(window.pad) + end
    if method == MAX:
        if not mask_name:
            return ctx.op('MaxPool', [x], out=out_name, **attrs)
        y, index = ctx.g.op('MaxPool', [x], out=out_name, outputs=2, where=ctx.name, **attrs)
        # ONNX indexes the whole (N, C, H, W) tensor; Caffe's mask is the
        # offset row * W + col inside the plane.
        plane = ctx.op('Mod', [index, ctx.g.const(np.int64(int(np.prod(size))), np.int64)])
        return y, ctx.op('Cast', [plane], out=mask_name, to=1)
    if method == STOCHASTIC:
        if ctx.phase == caffe_pb2.TRAIN:
            ctx.refuse('STOCHASTIC pooling in the TRAIN phase samples at random')
        # TEST: the activation-weighted mean sum(x^2) / sum(x) over each
        # window (clipped to the input; the zero padding adds nothing).
        squares = ctx.op('AveragePool', [ctx.op('Mul', [x, x])], count_include_pad=1, **attrs)
        sums = ctx.op('AveragePool', [x], count_include_pad=1, **attrs)
        return ctx.op('Div', [squares, sums], out=out_name)
    factor = np.prod(window.kernel) / _caffe_divisors(size, window, out)
    if np.all(factor == 1):
        return ctx.op('AveragePool', [x], out=out_name, count_include_pad=1, **attrs)
    y = ctx.op('AveragePool', [x], count_include_pad=1, **attrs)
    return ctx.op('Mul', [y, ctx.g.const(factor[None, None])], out=out_name)


@converter('Pooling')
def pooling(ctx):
    """MAX (with Caffe's mask as an optional second top), AVE, and
    STOCHASTIC at TEST; global pooling as GlobalMax/AveragePool."""
    p = ctx.lp.pooling_param
    shape = ctx.bottom_shapes[0]
    if len(shape) != 4:
        ctx.refuse('pooling takes a 4-d bottom, got %s' % (shape,))
    try:
        window = geometry.pool_window(p, *shape[2:])
    except CaffeError as e:
        ctx.refuse(str(e))
    mask = ctx.out(1) if len(ctx.lp.top) > 1 else None
    if p.global_pooling and p.pool in (MAX, AVE) and not mask:
        return [ctx.op('GlobalMaxPool' if p.pool == MAX else 'GlobalAveragePool',
                       [ctx.inputs[0]], out=ctx.out())]
    out = ctx.top_shapes[0][2:]
    y = pool(ctx, ctx.inputs[0], p.pool, window, shape[2:], out, ctx.out(), mask)
    return list(y) if mask else [y]


@converter('SPP')
def spp(ctx):
    """Each pyramid level a pooling (2^l x 2^l bins, Caffe's windows)
    flattened to (N, C * bins); the levels concatenated on axis 1."""
    p = ctx.lp.spp_param
    if p.pool == STOCHASTIC:
        ctx.refuse('STOCHASTIC SPP levels always sample at random (Caffe runs them as TRAIN)')
    n, c, h, w = ctx.bottom_shapes[0]
    if p.pyramid_height == 1:
        window = geometry.spp_level(h, w, 0)
        return [pool(ctx, ctx.inputs[0], p.pool, window, (h, w),
                     geometry.pool_shape(h, w, window), ctx.out())]
    levels = []
    for level in range(p.pyramid_height):
        window = geometry.spp_level(h, w, level)
        y = pool(ctx, ctx.inputs[0], p.pool, window, (h, w), geometry.pool_shape(h, w, window))
        levels.append(ctx.op('Flatten', [y], axis=1))
    return [ctx.op('Concat', levels, out=ctx.out(), axis=1)]
