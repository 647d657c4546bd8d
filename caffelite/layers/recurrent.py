"""Recurrent layers: LSTMUnit, LSTM and RNN, with Caffe's blobs and semantics.

Bottoms of LSTM/RNN: x (T, N, ...), cont (T, N) (0 at the first step of a
sequence resets the state), optional x_static (N, ...), and with
``expose_hidden`` the initial states (1, N, H). Tops: the outputs (T, N,
num_output) and, with ``expose_hidden``, the final states.

Caffe unrolls these into an internal net; here the time steps run in a
loop over T (whole batches per step) with back-propagation through time.
The parameter blobs keep Caffe's order and shapes, so Caffe weights load:
LSTM: W_xc (4H, D), b_c (4H), [W_xc_x_static (4H, S)], W_hc (4H, H);
RNN: W_xh (H, D), b_h (H), [W_xh_x_static (H, S)], W_hh (H, H), W_ho (H, H), b_o (H).
Gates are ordered i, f, o, g as in Caffe's LSTMUnit.
"""
import numpy as np

from .. import fillers
from ..gemm import product
from .base import Layer, register


def _sigmoid(xp, x):
    return 0.5 * xp.tanh(0.5 * x) + 0.5


def lstm_unit_forward(xp, c_prev, gates, cont):
    """(c, h, (i, f, o, g)) of one LSTM step; gates (N, 4H), cont (N,)."""
    h = c_prev.shape[-1]
    i = _sigmoid(xp, gates[:, :h])
    f = _sigmoid(xp, gates[:, h:2 * h])
    o = _sigmoid(xp, gates[:, 2 * h:3 * h])
    g = xp.tanh(gates[:, 3 * h:])
    c = cont[:, None] * f * c_prev + i * g
    return c, o * xp.tanh(c), (i, f, o, g)


def lstm_unit_backward(xp, c_prev, c, acts, cont, dc, dh):
    """(dc_prev, dgates) of one LSTM step given the diffs of c and h."""
    i, f, o, g = acts
    tanh_c = xp.tanh(c)
    dc_total = dc + dh * o * (1 - tanh_c * tanh_c)
    gate_f = cont[:, None] * f
    dgates = xp.concatenate([dc_total * g * i * (1 - i),
                             dc_total * c_prev * cont[:, None] * f * (1 - f),
                             dh * tanh_c * o * (1 - o),
                             dc_total * i * (1 - g * g)], axis=1)
    return dc_total * gate_f, dgates


@register('LSTMUnit')
class LSTMUnitLayer(Layer):
    """One LSTM step: bottoms c_prev (1, N, H), gates (1, N, 4H), cont (1, N);
    tops c (1, N, H), h (1, N, H)."""
    exact_num_bottom = 3
    exact_num_top = 2

    def allow_force_backward(self, bottom_index):
        return bottom_index != 2

    def reshape(self, bottom, top):
        self.check(bottom[1].shape[-1] == 4 * bottom[0].shape[-1],
                   'gate input must have 4 x %d channels' % bottom[0].shape[-1])
        for t in top:
            t.reshape_like(bottom[0])

    def _views(self, bottom):
        h = bottom[0].shape[-1]
        return (bottom[0].xdata.reshape(-1, h), bottom[1].xdata.reshape(-1, 4 * h),
                bottom[2].xdata.reshape(-1))

    def forward(self, bottom, top):
        c_prev, gates, cont = self._views(bottom)
        c, h, self.acts = lstm_unit_forward(self.xp, c_prev, gates, cont)
        top[0].xdata[...] = c.reshape(top[0].shape)
        top[1].xdata[...] = h.reshape(top[1].shape)

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[2], 'cannot backpropagate to the sequence indicators')
        c_prev, _, cont = self._views(bottom)
        h = c_prev.shape[-1]
        dc_prev, dgates = lstm_unit_backward(
            self.xp, c_prev, top[0].xdata.reshape(-1, h), self.acts, cont,
            top[0].xdiff.reshape(-1, h), top[1].xdiff.reshape(-1, h))
        if propagate_down[0]:
            bottom[0].xdiff[...] = dc_prev.reshape(bottom[0].shape)
        if propagate_down[1]:
            bottom[1].xdiff[...] = dgates.reshape(bottom[1].shape)


class _Recurrent(Layer):
    """Shared bottom/top handling, input transforms and BPTT bookkeeping."""
    min_bottom = 2
    min_top = 1
    num_states = 1       # recurrent state blobs (h; LSTM adds c)

    def allow_force_backward(self, bottom_index):
        return bottom_index != 1

    def setup(self, bottom, top):
        p = self.layer_param.recurrent_param
        self.check(bottom[0].num_axes >= 2, 'x must be (T, N, ...)')
        self.check(bottom[1].num_axes == 2 and bottom[1].shape == bottom[0].shape[:2],
                   'cont must be (T, N) = %s' % (bottom[0].shape[:2],))
        self.hidden = p.num_output
        self.check(self.hidden > 0, 'num_output must be positive')
        self.expose = p.expose_hidden
        exposed = self.num_states if self.expose else 0
        self.static = len(bottom) > 2 + exposed
        self.check(len(bottom) == 2 + self.static + exposed,
                   'expected %d bottoms, got %d' % (2 + self.static + exposed, len(bottom)))
        self.check(len(top) == 1 + exposed, 'expected %d tops' % (1 + exposed))
        if not self.blobs:
            self.make_params(bottom, p)

    def add_weight(self, shape, filler):
        fillers.fill(self.add_param(shape), filler)

    def reshape(self, bottom, top):
        t, n = bottom[0].shape[:2]
        top[0].reshape(t, n, self.hidden)
        for blob in top[1:]:
            blob.reshape(1, n, self.hidden)

    def _inputs(self, bottom):
        """(x (T, N, D), cont (T, N), static (N, S) or None, initial states)."""
        t, n = bottom[0].shape[:2]
        x = bottom[0].xdata.reshape(t, n, -1)
        cont = bottom[1].xdata
        static = bottom[2].xdata.reshape(n, -1) if self.static else None
        first = 2 + self.static
        states = [bottom[first + k].xdata.reshape(n, self.hidden) if self.expose
                  else self.xp.zeros((n, self.hidden), np.float32)
                  for k in range(self.num_states)]
        return x, cont, static, states

    def _input_transform(self, x, static, weight, bias, static_weight):
        """W x_t + b (+ W_static x_static) for every step: (T, N, rows)."""
        pre = x @ weight.T + bias
        if static is not None:
            pre = pre + (static @ static_weight.T)[None]
        return pre

    def _input_transform_backward(self, bottom, dpre, x, static, w_index, b_index, s_index,
                                  propagate_down):
        """Accumulate the input transform's param diffs; write dx (and d static)."""
        t, n = x.shape[:2]
        flat = dpre.reshape(t * n, -1)
        if self.param_propagate_down[w_index]:
            self.blobs[w_index].xdiff[...] += product(flat.T, x.reshape(t * n, -1))
        if self.param_propagate_down[b_index]:
            self.blobs[b_index].xdiff[...] += flat.sum(axis=0)
        if self.static:
            if self.param_propagate_down[s_index]:
                self.blobs[s_index].xdiff[...] += product(dpre.sum(axis=0).T, static)
            if propagate_down[2]:
                bottom[2].xdiff[...] = (dpre.sum(axis=0) @ self.blobs[s_index].xdata).reshape(
                    bottom[2].shape)
        if propagate_down[0]:
            bottom[0].xdiff[...] = (flat @ self.blobs[w_index].xdata).reshape(bottom[0].shape)

    def _exposed_state_diffs(self, top, n):
        xp = self.xp
        return [top[1 + k].xdiff.reshape(n, self.hidden) if self.expose
                else xp.zeros((n, self.hidden), np.float32) for k in range(self.num_states)]

    def _write_initial_state_diffs(self, bottom, propagate_down, diffs):
        if not self.expose:
            return
        first = 2 + self.static
        for k, d in enumerate(diffs):
            if propagate_down[first + k]:
                bottom[first + k].xdiff[...] = d.reshape(bottom[first + k].shape)


@register('LSTM')
class LSTMLayer(_Recurrent):
    """Long short-term memory over T steps (Caffe's LSTMLayer)."""
    num_states = 2

    def make_params(self, bottom, p):
        h = self.hidden
        self.add_weight((4 * h, bottom[0].count_range(2)), p.weight_filler)
        self.add_weight((4 * h,), p.bias_filler)
        if self.static:
            self.add_weight((4 * h, bottom[2].count_range(1)), p.weight_filler)
        self.add_weight((4 * h, h), p.weight_filler)

    def _indices(self):
        return 0, 1, 2 if self.static else None, 2 + self.static

    def forward(self, bottom, top):
        xp = self.xp
        w, b, s, r = self._indices()
        x, cont, static, (h, c) = self._inputs(bottom)
        pre = self._input_transform(x, static, self.blobs[w].xdata, self.blobs[b].xdata,
                                    self.blobs[s].xdata if s is not None else None)
        w_hc = self.blobs[r].xdata
        self.steps = []
        outputs = []
        for t in range(x.shape[0]):
            h_in = cont[t][:, None] * h
            gates = pre[t] + h_in @ w_hc.T
            c_new, h, acts = lstm_unit_forward(xp, c, gates, cont[t])
            self.steps.append((h_in, c, c_new, acts))
            c = c_new
            outputs.append(h)
        top[0].xdata[...] = xp.stack(outputs)
        if self.expose:
            top[1].xdata[...] = h.reshape(top[1].shape)
            top[2].xdata[...] = c.reshape(top[2].shape)

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[1], 'cannot backpropagate to the sequence indicators')
        xp = self.xp
        w, b, s, r = self._indices()
        x, cont, static, _ = self._inputs(bottom)
        n = x.shape[1]
        dh_next, dc_next = self._exposed_state_diffs(top, n)
        dout = top[0].xdiff
        w_hc = self.blobs[r].xdata
        dpre = xp.zeros((x.shape[0], n, 4 * self.hidden), np.float32)
        dw_hc = xp.zeros_like(w_hc)
        for t in reversed(range(x.shape[0])):
            h_in, c_prev, c, acts = self.steps[t]
            dc_prev, dgates = lstm_unit_backward(xp, c_prev, c, acts, cont[t], dc_next,
                                                 dh_next + dout[t])
            dpre[t] = dgates
            dw_hc += product(dgates.T, h_in)
            dh_next = cont[t][:, None] * (dgates @ w_hc)
            dc_next = dc_prev
        if self.param_propagate_down[r]:
            self.blobs[r].xdiff[...] += dw_hc
        self._input_transform_backward(bottom, dpre, x, static, w, b, s, propagate_down)
        self._write_initial_state_diffs(bottom, propagate_down, [dh_next, dc_next])


@register('RNN')
class RNNLayer(_Recurrent):
    """Elman RNN: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h),
    o_t = tanh(W_ho h_t + b_o) (Caffe's RNNLayer)."""

    def make_params(self, bottom, p):
        h = self.hidden
        self.add_weight((h, bottom[0].count_range(2)), p.weight_filler)
        self.add_weight((h,), p.bias_filler)
        if self.static:
            self.add_weight((h, bottom[2].count_range(1)), p.weight_filler)
        self.add_weight((h, h), p.weight_filler)
        self.add_weight((h, h), p.weight_filler)
        self.add_weight((h,), p.bias_filler)

    def _indices(self):
        k = 2 + self.static
        return 0, 1, 2 if self.static else None, k, k + 1, k + 2

    def forward(self, bottom, top):
        xp = self.xp
        w, b, s, hh, ho, bo = self._indices()
        x, cont, static, (h,) = self._inputs(bottom)
        pre = self._input_transform(x, static, self.blobs[w].xdata, self.blobs[b].xdata,
                                    self.blobs[s].xdata if s is not None else None)
        self.steps = []
        outputs = []
        for t in range(x.shape[0]):
            h_in = cont[t][:, None] * h
            h = xp.tanh(pre[t] + h_in @ self.blobs[hh].xdata.T)
            o = xp.tanh(h @ self.blobs[ho].xdata.T + self.blobs[bo].xdata)
            self.steps.append((h_in, h, o))
            outputs.append(o)
        top[0].xdata[...] = xp.stack(outputs)
        if self.expose:
            top[1].xdata[...] = h.reshape(top[1].shape)

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[1], 'cannot backpropagate to the sequence indicators')
        xp = self.xp
        w, b, s, hh, ho, bo = self._indices()
        x, cont, static, _ = self._inputs(bottom)
        n = x.shape[1]
        (dh_next,) = self._exposed_state_diffs(top, n)
        dpre = xp.zeros((x.shape[0], n, self.hidden), np.float32)
        grads = {k: xp.zeros_like(self.blobs[k].xdata) for k in (hh, ho, bo)}
        for t in reversed(range(x.shape[0])):
            h_in, h, o = self.steps[t]
            do = top[0].xdiff[t] * (1 - o * o)
            grads[ho] += product(do.T, h)
            grads[bo] += do.sum(axis=0)
            dz = (dh_next + do @ self.blobs[ho].xdata) * (1 - h * h)
            dpre[t] = dz
            grads[hh] += product(dz.T, h_in)
            dh_next = cont[t][:, None] * (dz @ self.blobs[hh].xdata)
        for k, g in grads.items():
            if self.param_propagate_down[k]:
                self.blobs[k].xdiff[...] += g
        self._input_transform_backward(bottom, dpre, x, static, w, b, s, propagate_down)
        self._write_initial_state_diffs(bottom, propagate_down, [dh_next])
