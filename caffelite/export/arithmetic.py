"""Softmax, Eltwise, Reduction and ArgMax."""
import numpy as np

from ..proto import caffe_pb2
from .convert import canonical_axis, converter

Eltwise = caffe_pb2.EltwiseParameter
Reduction = caffe_pb2.ReductionParameter
_REDUCE_OPS = {Reduction.SUM: 'ReduceSum', Reduction.ASUM: 'ReduceL1',
               Reduction.SUMSQ: 'ReduceSumSquare', Reduction.MEAN: 'ReduceMean'}


@converter('Softmax')
def softmax(ctx):
    """Softmax along Caffe's axis (opset 13's Softmax takes one axis)."""
    axis = canonical_axis(ctx.lp.softmax_param.axis, len(ctx.bottom_shapes[0]))
    return [ctx.op('Softmax', [ctx.inputs[0]], out=ctx.out(), axis=axis)]


@converter('Eltwise')
def eltwise(ctx):
    """SUM with coefficients, PROD, MAX of equally shaped bottoms."""
    p = ctx.lp.eltwise_param
    xs = ctx.inputs
    if p.operation == Eltwise.MAX:
        return [ctx.op('Max', xs, out=ctx.out())]
    if p.operation == Eltwise.PROD:
        y = xs[0]
        for i, x in enumerate(xs[1:]):
            y = ctx.op('Mul', [y, x], out=ctx.out() if i == len(xs) - 2 else None)
        return [y]
    coeff = list(p.coeff) or [1.0] * len(xs)
    terms = [ctx.scale(x, np.float32(c)) for x, c in zip(xs, coeff)]
    return [ctx.op('Add' if len(terms) == 2 else 'Sum', terms, out=ctx.out())]


@converter('Reduction')
def reduction(ctx):
    """SUM, ASUM, SUMSQ or MEAN over every axis from ``axis``, times coeff."""
    p = ctx.lp.reduction_param
    rank = len(ctx.bottom_shapes[0])
    axes = range(canonical_axis(p.axis, rank), rank)
    y = ctx.g.reduce(_REDUCE_OPS[p.operation], ctx.inputs[0], axes, keepdims=False,
                     where=ctx.name)
    return [ctx.scale(y, np.float32(p.coeff), out=ctx.out())]


@converter('ArgMax')
def argmax(ctx):
    """The ``top_k`` largest values (or their indices, as floats) along
    ``axis``, or per item over all its values as (N, 1 or 2, top_k).
    TopK puts the lower index first among equal values, Caffe the higher
    one, so TopK runs on the reversed axis and indices are mirrored."""
    p = ctx.lp.argmax_param
    shape = ctx.bottom_shapes[0]
    x = ctx.inputs[0]
    if p.HasField('axis'):
        axis = canonical_axis(p.axis, len(shape))
        dim = shape[axis]
    else:
        x = ctx.op('Flatten', [x], axis=1)
        axis, dim = 1, int(np.prod(shape[1:]))
    first = np.iinfo(np.int64).min
    reverse = ctx.op('Slice', [x, ctx.g.ints([-1]), ctx.g.ints([first]), ctx.g.ints([axis]),
                               ctx.g.ints([-1])])
    values, reversed_index = ctx.g.op('TopK', [reverse, ctx.g.ints([p.top_k])], outputs=2,
                                      where=ctx.name, axis=axis, largest=1, sorted=1)
    want_index = not p.HasField('axis') or not p.out_max_val
    index = None
    if want_index:
        mirrored = ctx.op('Sub', [ctx.g.const(np.int64(dim - 1), np.int64), reversed_index])
        direct = p.HasField('axis')
        index = ctx.op('Cast', [mirrored], out=ctx.out() if direct else None, to=1)
    if p.HasField('axis'):
        return [index if want_index else ctx.op('Identity', [values], out=ctx.out())]
    parts = [index, values] if p.out_max_val else [index]
    rows = [ctx.op('Unsqueeze', [part, ctx.g.ints([1])]) for part in parts]
    joined = rows[0] if len(rows) == 1 else ctx.op('Concat', rows, axis=1)
    return [ctx.reshape(joined, ctx.top_shapes[0], out=ctx.out())]
