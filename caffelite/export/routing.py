"""Layers that route or reshape blobs: Split, Concat, Slice, Flatten,
Reshape, Crop, Tile, Silence, Parameter, BatchReindex and Filter."""
import numpy as np

from .convert import canonical_axis, converter


def _legacy_axis(ctx, param, legacy_field):
    """Concat's/Slice's axis, or the legacy concat_dim/slice_dim."""
    if param.HasField(legacy_field):
        return getattr(param, legacy_field)
    return canonical_axis(param.axis, len(ctx.bottom_shapes[0]))


@converter('Split')
def split(ctx):
    """ONNX tensors may feed any number of nodes: every top is the bottom."""
    return [ctx.inputs[0]] * len(ctx.lp.top)


@converter('Silence')
def silence(ctx):
    """No tops; its bottoms just stop being outputs."""
    return []


@converter('Concat')
def concat(ctx):
    if len(ctx.inputs) == 1:
        return [ctx.inputs[0]]
    axis = _legacy_axis(ctx, ctx.lp.concat_param, 'concat_dim')
    return [ctx.op('Concat', ctx.inputs, out=ctx.out(), axis=axis)]


@converter('Slice')
def slice_(ctx):
    """ONNX Split with the sizes between Caffe's slice points."""
    axis = _legacy_axis(ctx, ctx.lp.slice_param, 'slice_dim')
    if len(ctx.lp.top) == 1:
        return [ctx.inputs[0]]
    if axis == 0 and ctx.free0[0]:
        ctx.refuse('slicing axis 0, whose size is not fixed in the graph (export with a fixed '
                   'batch)')
    sizes = [shape[axis] for shape in ctx.top_shapes]
    return ctx.g.split(ctx.inputs[0], sizes, axis, [ctx.out(i) for i in range(len(sizes))],
                       where=ctx.name)


def _reshape_to_top(ctx):
    return [ctx.reshape(ctx.inputs[0], ctx.top_shapes[0], out=ctx.out())]


# Both only relabel axes; the top's shape is the one Caffe computed.
converter('Flatten')(_reshape_to_top)
converter('Reshape')(_reshape_to_top)


@converter('Crop')
def crop(ctx):
    """ONNX Slice of bottom 0 at Caffe's offsets, to bottom 1's size on
    every axis from ``axis``."""
    p = ctx.lp.crop_param
    shape = ctx.bottom_shapes[0]
    start = canonical_axis(p.axis, len(shape))
    if start == 0 and ctx.free0[0]:
        ctx.refuse('cropping axis 0, whose size is not fixed in the graph (export with a '
                   'fixed batch)')
    offsets = list(p.offset)
    axes = list(range(start, len(shape)))
    begin = [offsets[0] if len(offsets) == 1 else (offsets[i] if offsets else 0)
             for i in range(len(axes))]
    end = [b + ctx.top_shapes[0][a] for b, a in zip(begin, axes)]
    return [ctx.op('Slice', [ctx.inputs[0], ctx.g.ints(begin), ctx.g.ints(end),
                             ctx.g.ints(axes)], out=ctx.out())]


@converter('Tile')
def tile(ctx):
    """Whole-block repeats along ``axis``: ONNX Tile."""
    p = ctx.lp.tile_param
    repeats = [1] * len(ctx.bottom_shapes[0])
    repeats[canonical_axis(p.axis, len(repeats))] = p.tiles
    return [ctx.op('Tile', [ctx.inputs[0], ctx.g.ints(repeats)], out=ctx.out())]


@converter('Parameter')
def parameter(ctx):
    """The learned blob as a constant."""
    return [ctx.op('Identity', [ctx.g.initializer(ctx.params[0], ctx.name + '/value')],
                   out=ctx.out())]


def _indices(ctx, x):
    """Float indices (Caffe's blobs are float) as int64."""
    return ctx.op('Cast', [x], to=7)


@converter('BatchReindex')
def batch_reindex(ctx):
    """top[i] = bottom[index[i]]: ONNX Gather on axis 0."""
    return [ctx.op('Gather', [ctx.inputs[0], _indices(ctx, ctx.inputs[1])], out=ctx.out(),
                   axis=0)]


@converter('Filter')
def filter_(ctx):
    """Items whose selector (the last bottom; its first value per item) is
    nonzero: ONNX Compress on axis 0 (the tops' axis 0 then depends on the
    data)."""
    selector = ctx.inputs[-1]
    rows = ctx.op('Flatten', [selector], axis=1)
    first = ctx.op('Slice', [rows, ctx.g.ints([0]), ctx.g.ints([1]), ctx.g.ints([1])])
    keep = ctx.op('Not', [ctx.op('Equal', [ctx.op('Squeeze', [first, ctx.g.ints([1])]),
                                           ctx.g.const(np.float32(0))])])
    return [ctx.op('Compress', [x, keep], out=ctx.out(i), axis=0)
            for i, x in enumerate(ctx.inputs[:-1])]
