"""Recurrent layers (caffelite/layers/recurrent.py): RNN, LSTM, LSTMUnit:
gradient checks over sequences with resets and exposed hidden state, and
Caffe's parameter shapes."""
import numpy as np

from caffelite.blob import Blob
from layer_helpers import LayerCase, gradient_test, make, normal


def sequence_markers(t, n):
    """cont (T, N): 0 at the start of each sequence (a reset mid-way too)."""
    def make(rng):
        cont = np.ones((t, n), np.float32)
        cont[0] = 0
        cont[2, 0] = 0
        return cont
    return make


GRADIENT_CASES = [
    LayerCase('lstm_unit', 'type: "LSTMUnit"',
              [normal(1, 3, 2), normal(1, 3, 8), lambda r: np.array([[1, 0, 1]], np.float32)],
              checked=[0, 1], tops=2, seed=2),
    LayerCase('lstm', 'type: "LSTM" recurrent_param { num_output: 3 weight_filler { type: '
              '"gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } }',
              [normal(4, 2, 3), sequence_markers(4, 2)], checked=[0], seed=2),
    LayerCase('lstm_static_exposed', 'type: "LSTM" recurrent_param { num_output: 2 '
              'expose_hidden: true weight_filler { type: "gaussian" std: 0.5 } }',
              [normal(3, 2, 2), sequence_markers(3, 2), normal(2, 3), normal(1, 2, 2),
               normal(1, 2, 2)],
              checked=[0, 2, 3, 4], tops=3, seed=2),
    LayerCase('rnn', 'type: "RNN" recurrent_param { num_output: 3 weight_filler { type: '
              '"gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } }',
              [normal(4, 2, 3), sequence_markers(4, 2)], checked=[0], seed=2),
    LayerCase('rnn_static_exposed', 'type: "RNN" recurrent_param { num_output: 2 expose_hidden: '
              'true weight_filler { type: "gaussian" std: 0.5 } }',
              [normal(3, 2, 2), sequence_markers(3, 2), normal(2, 3), normal(1, 2, 2)],
              checked=[0, 2, 3], tops=2, seed=2),
    # One stream (and one step): the weight gradients are outer products.
    LayerCase('lstm_one_stream', 'type: "LSTM" recurrent_param { num_output: 3 weight_filler { '
              'type: "gaussian" std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } }',
              [normal(3, 1, 3), sequence_markers(3, 1)], checked=[0], seed=2),
    LayerCase('rnn_one_step_static', 'type: "RNN" recurrent_param { num_output: 2 weight_filler { '
              'type: "gaussian" std: 0.5 } }',
              [normal(1, 1, 2), lambda r: np.zeros((1, 1), np.float32), normal(1, 3)],
              checked=[0, 2], seed=2),
]
test_gradient = gradient_test(GRADIENT_CASES)


def test_lstm_param_shapes_follow_caffe():
    layer = make('name: "l" type: "LSTM" recurrent_param { num_output: 5 }')
    bottom = [Blob((3, 2, 4)), Blob((3, 2)), Blob((2, 6))]
    layer.layer_setup(bottom, [Blob()])
    assert [b.shape for b in layer.blobs] == [(20, 4), (20,), (20, 6), (20, 5)]
