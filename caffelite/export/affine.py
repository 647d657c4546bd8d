"""Layers with weights applied by broadcasting or matrix products:
InnerProduct, Scale, Bias and Embed."""
from .convert import canonical_axis, converter


@converter('InnerProduct')
def inner_product(ctx):
    """Flatten from ``axis`` (Caffe's K = product of the trailing axes),
    Gemm with W (num_output, K), or (K, num_output) with ``transpose``,
    then back to the leading axes + (num_output,)."""
    p = ctx.lp.inner_product_param
    shape = ctx.bottom_shapes[0]
    axis = canonical_axis(p.axis, len(shape))
    top = ctx.top_shapes[0]
    x = ctx.inputs[0]
    if len(shape) != 2 or axis != 1:
        x = ctx.op('Flatten', [x], axis=axis)
    args = [x, ctx.g.initializer(ctx.params[0], ctx.name + '/weight')]
    if p.bias_term:
        args.append(ctx.g.initializer(ctx.params[1], ctx.name + '/bias'))
    direct = len(top) == 2 and axis == 1
    y = ctx.op('Gemm', args, out=ctx.out() if direct else None, transB=int(not p.transpose))
    return [y if direct else ctx.reshape(y, top, out=ctx.out())]


def _operand_shape(span, bottom_rank, axis):
    """Operand shape ``span`` padded with trailing ones so that ONNX's
    right-aligned broadcasting puts it at ``axis``."""
    return tuple(span) + (1,) * (bottom_rank - axis - len(span))


def _broadcast(ctx, param, op_type, blob_index, x, out):
    """x (op) operand: bottom 1 if given, else param blob ``blob_index``;
    the operand spans bottom 0's axes from ``axis`` (axis 0 for a scalar)."""
    rank = len(ctx.bottom_shapes[0])
    if len(ctx.inputs) == 2 and blob_index is None:
        span = ctx.bottom_shapes[1]
        axis = 0 if not span else canonical_axis(param.axis, rank)
        operand = ctx.reshape(ctx.inputs[1], _operand_shape(span, rank, axis),
                              free0=ctx.free0[1])
    else:
        value = ctx.params[blob_index]
        axis = 0 if not value.shape else canonical_axis(param.axis, rank)
        operand = ctx.g.initializer(value.reshape(_operand_shape(value.shape, rank, axis)),
                                    '%s/%d' % (ctx.name, blob_index))
    return ctx.op(op_type, [x, operand], out=out)


@converter('Scale')
def scale(ctx):
    """x * s (+ b with bias_term), s from bottom 1 or the first param."""
    p = ctx.lp.scale_param
    scaled = _broadcast(ctx, p, 'Mul', 0 if len(ctx.inputs) == 1 else None, ctx.inputs[0],
                        None if p.bias_term else ctx.out())
    if not p.bias_term:
        return [scaled]
    return [_broadcast(ctx, p, 'Add', len(ctx.params) - 1, scaled, ctx.out())]


@converter('Bias')
def bias(ctx):
    """x + b, b from bottom 1 or the param."""
    return [_broadcast(ctx, ctx.lp.bias_param, 'Add', 0 if len(ctx.inputs) == 1 else None,
                       ctx.inputs[0], ctx.out())]


@converter('Embed')
def embed(ctx):
    """Rows of the (input_dim, num_output) table: Gather by integer index."""
    table = ctx.g.initializer(ctx.params[0], ctx.name + '/weight')
    index = ctx.op('Cast', [ctx.inputs[0]], to=7)
    if len(ctx.params) == 1:
        return [ctx.op('Gather', [table, index], out=ctx.out(), axis=0)]
    rows = ctx.op('Gather', [table, index], axis=0)
    return [ctx.op('Add', [rows, ctx.g.initializer(ctx.params[1], ctx.name + '/bias')],
                   out=ctx.out())]
