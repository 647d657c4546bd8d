"""LSTM, RNN and LSTMUnit.

Caffe's recurrent layers reset their state wherever the sequence input
``cont`` is 0 (h_{t-1} and c_{t-1} are multiplied by cont_t), which
ONNX's LSTM and RNN operators cannot do within one sequence. So the T
steps (T is fixed by the net's shapes) are unrolled: each step is one
ONNX LSTM (or RNN) node of sequence length 1 whose initial state is the
previous state times cont_t. This is Caffe's computation for any cont.
ONNX orders the LSTM gates i, o, f, c; Caffe i, f, o, g: the weight rows
are permuted. A static input x_static joins x as extra input features
(its weights beside W_xc), since Caffe adds W_static x_static to the
gate inputs of every step. The first step starts from zeros, or from
the exposed initial state bottoms (``expose_hidden``); like Caffe's, the
final state becomes the extra tops.
"""
import numpy as np

from .convert import converter

f32 = np.float32


def _gate_order(h):
    """Row permutation from Caffe's (i, f, o, g) to ONNX's (i, o, f, c)."""
    i, f, o, g = (np.arange(h) + k * h for k in range(4))
    return np.concatenate([i, o, f, g])


def _steps(ctx, gates):
    """Per-step ONNX inputs: X_t (1, N, D [+ S]), cont_t (1, N, 1); the
    input weights (Caffe's row order) with the static weights beside them;
    the recurrent weights; the ``gates`` initial states (1, N, H)."""
    p = ctx.lp.recurrent_param
    if ctx.free0[0]:
        ctx.refuse('the steps are unrolled, so T (axis 0) must be fixed: export with a fixed '
                   '--batch')
    t, n = ctx.bottom_shapes[0][:2]
    hidden = p.num_output
    exposed = len(ctx.lp.top) - 1
    static = len(ctx.inputs) - 2 - exposed == 1
    x = ctx.reshape(ctx.inputs[0], (t, n, -1), free0=False)
    xs = ctx.g.split(x, [1] * t, 0, [None] * t, where=ctx.name) if t > 1 else [x]
    conts = ctx.reshape(ctx.inputs[1], (t, n, 1), free0=False)
    conts = ctx.g.split(conts, [1] * t, 0, [None] * t, where=ctx.name) if t > 1 else [conts]
    weight = ctx.params[0]
    if static:
        s = ctx.reshape(ctx.inputs[2], (1, n, -1), free0=False)
        xs = [ctx.op('Concat', [x_t, s], axis=2) for x_t in xs]
        weight = np.concatenate([weight, ctx.params[2]], axis=1)
    recurrent = ctx.params[2 + static]
    first = 2 + static
    if exposed:
        states = [ctx.reshape(b, (1, n, hidden), free0=False)
                  for b in ctx.inputs[first:first + exposed]]
    else:
        zero = ctx.g.const(np.zeros((1, n, hidden), f32))
        states = [zero] * gates
    return xs, conts, weight, recurrent, states


def _unrolled(ctx, op_type, weight, recurrent, bias, xs, conts, states):
    """Run the step node T times (ONNX's B is the input bias then the
    recurrent bias, here zero); returns ([h_t (1, N, H)], final states)."""
    g = ctx.g
    hidden = ctx.lp.recurrent_param.num_output
    w = g.initializer(weight[None], ctx.name + '/W')
    r = g.initializer(recurrent[None], ctx.name + '/R')
    b = g.initializer(np.concatenate([bias, np.zeros_like(bias)])[None], ctx.name + '/B')
    outputs = []
    for x_t, cont_t in zip(xs, conts):
        held = [ctx.op('Mul', [state, cont_t]) for state in states]
        results = g.op(op_type, [x_t, w, r, b, ''] + held, outputs=1 + len(states),
                       where=ctx.name, hidden_size=hidden)
        states = results[1:]
        outputs.append(states[0])
    return outputs, states


def _expose(ctx, states):
    """The final states as the extra tops (with expose_hidden)."""
    return [ctx.op('Identity', [s], out=ctx.out(1 + k))
            for k, s in enumerate(states[:len(ctx.lp.top) - 1])]


@converter('LSTM')
def lstm(ctx):
    xs, conts, weight, recurrent, states = _steps(ctx, 2)
    order = _gate_order(ctx.lp.recurrent_param.num_output)
    hs, states = _unrolled(ctx, 'LSTM', weight[order], recurrent[order], ctx.params[1][order],
                           xs, conts, states)
    out = hs[0] if len(hs) == 1 else ctx.op('Concat', hs, axis=0)
    return [ctx.op('Identity', [out], out=ctx.out())] + _expose(ctx, states)


@converter('RNN')
def rnn(ctx):
    """h_t = tanh(W_xh x_t + b_h + W_hh (cont_t h_{t-1})) by ONNX RNN steps;
    o_t = tanh(W_ho h_t + b_o) for all steps at once."""
    xs, conts, weight, recurrent, states = _steps(ctx, 1)
    hs, states = _unrolled(ctx, 'RNN', weight, recurrent, ctx.params[1], xs, conts, states)
    h = hs[0] if len(hs) == 1 else ctx.op('Concat', hs, axis=0)
    first = 3 + (len(ctx.params) == 6)
    w_ho, b_o = ctx.params[first], ctx.params[first + 1]
    pre = ctx.op('MatMul', [h, ctx.g.initializer(w_ho.T, ctx.name + '/W_ho_T')])
    pre = ctx.op('Add', [pre, ctx.g.initializer(b_o, ctx.name + '/b_o')])
    return [ctx.op('Tanh', [pre], out=ctx.out())] + _expose(ctx, states)


@converter('LSTMUnit')
def lstm_unit(ctx):
    """One step from c_prev (.., H), gates (.., 4H) in Caffe's order
    i, f, o, g, and cont: c = cont f c_prev + i g, h = o tanh(c)."""
    c_prev, gates, cont = ctx.inputs
    shape = ctx.bottom_shapes[0]
    i, f, o, g = ctx.g.split(gates, [shape[-1]] * 4, len(ctx.bottom_shapes[1]) - 1,
                             [None] * 4, where=ctx.name)
    held = ctx.reshape(cont, tuple(shape[:-1]) + (1,), free0=ctx.free0[2])
    forget = ctx.op('Mul', [ctx.op('Mul', [held, ctx.op('Sigmoid', [f])]), c_prev])
    c = ctx.op('Add', [forget, ctx.op('Mul', [ctx.op('Sigmoid', [i]), ctx.op('Tanh', [g])])],
               out=ctx.out(0))
    h = ctx.op('Mul', [ctx.op('Sigmoid', [o]), ctx.op('Tanh', [c])], out=ctx.out(1))
    return [c, h]

