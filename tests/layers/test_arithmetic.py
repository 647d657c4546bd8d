"""Arithmetic layers (caffelite/layers/arithmetic.py): Softmax, Eltwise,
Reduction, ArgMax: gradient checks and ArgMax's ties."""
import numpy as np

from layer_helpers import LayerCase, build, gradient_test, normal

GRADIENT_CASES = [
    LayerCase('softmax', 'type: "Softmax" softmax_param { axis: 1 }',
              [normal(2, 4, 3)]),
    LayerCase('eltwise_sum', 'type: "Eltwise" eltwise_param { operation: SUM coeff: 2 coeff: -1 '
              '}',
              [normal(2, 3), normal(2, 3)]),
    LayerCase('eltwise_prod', 'type: "Eltwise" eltwise_param { operation: PROD }',
              [normal(2, 3), normal(2, 3), normal(2, 3)]),
    LayerCase('eltwise_max', 'type: "Eltwise" eltwise_param { operation: MAX }',
              [normal(2, 3), normal(2, 3)]),
    LayerCase('reduction_sumsq', 'type: "Reduction" reduction_param { operation: SUMSQ axis: 1 '
              'coeff: 0.5 }',
              [normal(2, 3, 2)]),
    LayerCase('reduction_mean', 'type: "Reduction" reduction_param { operation: MEAN axis: 0 }',
              [normal(2, 3)]),
]
test_gradient = gradient_test(GRADIENT_CASES)


def test_argmax_breaks_ties_toward_the_larger_index():
    _, _, top = build('type: "ArgMax" argmax_param { top_k: 2 out_max_val: true }',
                      np.array([[1, 3, 3, 0]], np.float32))
    np.testing.assert_array_equal(top[0].data.reshape(-1), [2, 1, 3, 3])
