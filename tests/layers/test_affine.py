"""Affine layers (caffelite/layers/affine.py): InnerProduct, Embed, Bias,
Scale, Parameter: gradient checks and Parameter's learned top."""
import numpy as np
import pytest

from layer_helpers import LayerCase, build, forward_backward, gradient_test, labels, normal

GRADIENT_CASES = [
    LayerCase('ip', 'type: "InnerProduct" inner_product_param { num_output: 3 weight_filler { '
              'type: "gaussian" } bias_filler { type: "gaussian" } }',
              [normal(2, 2, 3)]),
    LayerCase('ip_transpose', 'type: "InnerProduct" inner_product_param { num_output: 3 '
              'transpose: true axis: 2 weight_filler { type: "gaussian" } }',
              [normal(2, 2, 4)]),
    # One image: the weight gradient is an outer product (caffelite.gemm).
    LayerCase('ip_batch_of_one', 'type: "InnerProduct" inner_product_param { num_output: 3 '
              'weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
              [normal(1, 4)]),
    # One output: the data gradient is an outer product.
    LayerCase('ip_one_output', 'type: "InnerProduct" inner_product_param { num_output: 1 '
              'weight_filler { type: "gaussian" } }',
              [normal(3, 4)]),
    LayerCase('embed', 'type: "Embed" embed_param { num_output: 3 input_dim: 5 bias_term: true '
              'weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
              [labels(4, 5)], checked=[]),
    LayerCase('bias', 'type: "Bias" bias_param { axis: 1 filler { type: "gaussian" } }',
              [normal(2, 3, 2)]),
    LayerCase('scale_learned_bias', 'type: "Scale" scale_param { axis: 1 num_axes: 1 bias_term: '
              'true filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
              [normal(2, 3, 2)]),
    LayerCase('scale_two_bottoms', 'type: "Scale" scale_param { axis: 0 }',
              [normal(2, 3), normal(2)]),
]
test_gradient = gradient_test(GRADIENT_CASES)


def test_parameter():
    layer, _, top = build('type: "Parameter" parameter_param { shape { dim: 2 dim: 3 } }')
    assert top[0].shape == (2, 3) and len(layer.blobs) == 1


@pytest.mark.parametrize('case', ['ip', 'ip_transpose'])
def test_inner_product_weight_gradient_by_parts(case, monkeypatch):
    """With temporaries of at most 2 elements, the weight gradient adds up
    row by row (several parts, on the host): the same diffs as at once, and
    a second backward adds to them."""
    from caffelite.layers import affine
    case = next(c for c in GRADIENT_CASES if c.id == case)
    whole = forward_backward(*case.build(1))
    monkeypatch.setattr(affine, 'PART_ELEMENTS', 2)
    layer, bottom, top = case.build(1)
    for ours, ref in zip(sum(forward_backward(layer, bottom, top), []), sum(whole, [])):
        np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)
    layer.layer_backward(top, [True], bottom)
    np.testing.assert_allclose(layer.blobs[0].diff, 2 * whole[2][0], rtol=1e-6, atol=1e-7)
