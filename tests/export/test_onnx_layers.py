"""Per-layer ONNX export: Caffe's own per-layer cases (ONNX Runtime against
the BVLC reference tops), and odd shapes of every exported type against
caffelite (ceil-mode pooling with overhang, grouped and dilated
convolutions, global pooling, Crop offsets, recurrent layers with
sequence resets...). Refusals name the layer."""
import json

import numpy as np
import pytest

import caffelite
from caffelite.errors import CaffeError, LayerError
from caffelite.export import build_model, check_model
from caffelite.export.verify import CheckError
from conftest import REFERENCE
from export_helpers import export_and_check, make_net, run_onnx
from refcases import assert_close, layer_case_names, load_layer_case

REFUSED_CASES = {
    'accuracy_topk': 'Accuracy', 'contrastive_loss': 'ContrastiveLoss',
    'euclidean_loss': 'EuclideanLoss', 'hinge_loss_l2': 'HingeLoss',
    'multinomial_logistic_loss': 'MultinomialLogisticLoss',
    'sigmoid_xent_loss': 'SigmoidCrossEntropyLoss', 'softmax_loss': 'SoftmaxWithLoss',
    'softmax_loss_batchsize': 'SoftmaxWithLoss', 'softmax_loss_spatial_ignore': 'SoftmaxWithLoss',
}


@pytest.mark.parametrize('case', [c for c in layer_case_names() if c not in REFUSED_CASES]
                         or ['(no reference data)'])
def test_reference_layer_case(case):
    """ONNX Runtime on Caffe's bottoms gives Caffe's tops (forward tolerance)."""
    net, data, feed = load_layer_case(case)
    model = build_model(net)
    got = run_onnx(model, feed)
    compared = 0
    for key in data.files:
        kind, blob = key.split(':', 1)
        if kind == 'top' and blob in got:
            assert_close(got[blob], data[key], 1e-4, 1e-5, '%s %s' % (case, key))
            compared += 1
    assert compared


@pytest.mark.parametrize('case', sorted(REFUSED_CASES))
def test_reference_loss_cases_are_refused_by_name(case):
    net, _, _ = load_layer_case(case)
    with pytest.raises(LayerError) as info:
        build_model(net)
    assert info.value.layer_type == REFUSED_CASES[case]
    assert "(%s)" % REFUSED_CASES[case] in str(info.value)
    assert 'deploy net' in str(info.value)


def test_every_reference_layer_type_is_exported_or_refused():
    index = REFERENCE / 'layers' / 'index.json'
    if not index.exists():
        pytest.skip('Caffe reference data not found')
    from caffelite.export.convert import CONVERTERS
    types = {t for ts in json.loads(index.read_text()).values() for t in ts}
    assert types <= set(CONVERTERS)


# BVLC Caffe's layer types (src/caffe/layers, by registered name).
BVLC_TYPES = '''
    AbsVal Accuracy ArgMax BNLL BatchNorm BatchReindex Bias Clip Concat ContrastiveLoss
    Convolution Crop Data Deconvolution Dropout DummyData ELU Eltwise Embed EuclideanLoss Exp
    Filter Flatten HDF5Data HDF5Output HingeLoss Im2col ImageData InfogainLoss InnerProduct
    Input LRN LSTM LSTMUnit Log MVN MemoryData MultinomialLogisticLoss PReLU Parameter
    Pooling Power Python RNN ReLU Reduction Reshape SPP Scale Sigmoid SigmoidCrossEntropyLoss
    Silence Slice Softmax SoftmaxWithLoss Split Swish TanH Threshold Tile WindowData'''.split()


def test_every_bvlc_layer_type_is_exported_or_refused():
    from caffelite.export.convert import CONVERTERS
    from caffelite.export.refusals import REASONS
    assert len(BVLC_TYPES) == 61
    handled = set(CONVERTERS) | {'Input'}
    assert set(BVLC_TYPES) <= handled
    assert len(set(BVLC_TYPES) - set(REASONS)) == 45


def _x(shape):
    return {'x': shape}


# name: (inputs, layers); every blob not consumed is an output compared
# with caffelite on random inputs.
CASES = {
    # Pooling: (8 - 3) / 2 rounds up, so the last window hangs one row
    # and one column past the input.
    'pool_max_ceil_overhang': (_x((2, 3, 8, 10)), '''layer { name: "p" type: "Pooling"
        bottom: "x" top: "y" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }'''),
    # Windows hang past the padding: Caffe's divisor stops at H + pad.
    'pool_ave_ceil_overhang_pad': (_x((1, 2, 8, 11)), '''layer { name: "p" type: "Pooling"
        bottom: "x" top: "y" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }'''),
    # Ceil gives 4 windows; the 4th would start in the padding: dropped.
    'pool_ave_last_window_dropped': (_x((1, 2, 5, 5)), '''layer { name: "p" type: "Pooling"
        bottom: "x" top: "y" pooling_param { pool: AVE kernel_size: 2 stride: 2 pad: 1 } }'''),
    'pool_max_last_window_dropped': (_x((1, 2, 5, 5)), '''layer { name: "p" type: "Pooling"
        bottom: "x" top: "y" pooling_param { pool: MAX kernel_size: 2 stride: 2 pad: 1 } }'''),
    'pool_floor': (_x((2, 2, 8, 9)), '''layer { name: "p" type: "Pooling" bottom: "x" top: "y"
        pooling_param { pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR } }'''),
    # Stride past the kernel without padding: the last ceil-mode window
    # starts past the input and Caffe's max there is -FLT_MAX.
    'pool_max_window_outside': (_x((1, 2, 5, 6)), '''layer { name: "p" type: "Pooling"
        bottom: "x" top: "y" pooling_param { pool: MAX kernel_size: 1 stride: 3 } }'''),
    'pool_rect': (_x((2, 2, 7, 9)), '''layer { name: "p" type: "Pooling" bottom: "x" top: "y"
        pooling_param { pool: AVE kernel_h: 2 kernel_w: 3 stride_h: 1 stride_w: 2 pad_h: 1
        pad_w: 0 } }'''),
    'pool_global_ave': (_x((2, 3, 5, 7)), '''layer { name: "p" type: "Pooling" bottom: "x"
        top: "y" pooling_param { pool: AVE global_pooling: true } }'''),
    'pool_global_max': (_x((2, 3, 5, 7)), '''layer { name: "p" type: "Pooling" bottom: "x"
        top: "y" pooling_param { pool: MAX global_pooling: true } }'''),
    'pool_max_mask': (_x((2, 2, 7, 8)), '''layer { name: "p" type: "Pooling" bottom: "x"
        top: "y" top: "mask" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 } }'''),
    'pool_stochastic_test': (_x((1, 2, 8, 10)), '''
        layer { name: "s" type: "Sigmoid" bottom: "x" top: "s" }
        layer { name: "p" type: "Pooling" bottom: "s" top: "y"
        pooling_param { pool: STOCHASTIC kernel_size: 3 stride: 2 } }'''),
    'spp_max': (_x((2, 3, 7, 9)), '''layer { name: "spp" type: "SPP" bottom: "x" top: "y"
        spp_param { pool: MAX pyramid_height: 3 } }'''),
    'spp_ave_one_level': (_x((2, 3, 7, 9)), '''layer { name: "spp" type: "SPP" bottom: "x"
        top: "y" spp_param { pool: AVE pyramid_height: 1 } }'''),
    # Convolution
    'conv_group_dilation': (_x((2, 4, 11, 13)), '''layer { name: "c" type: "Convolution"
        bottom: "x" top: "y" convolution_param { num_output: 6 group: 2 kernel_size: 3
        dilation: 2 pad: 1 stride: 2 } }'''),
    'conv_depthwise_rect': (_x((1, 3, 9, 8)), '''layer { name: "c" type: "Convolution"
        bottom: "x" top: "y" convolution_param { num_output: 3 group: 3 kernel_h: 3
        kernel_w: 1 stride_h: 2 stride_w: 1 pad_h: 0 pad_w: 2 } }'''),
    'conv_3d': ({'x': (1, 2, 5, 6, 7)}, '''layer { name: "c" type: "Convolution" bottom: "x"
        top: "y" convolution_param { num_output: 3 kernel_size: 3 pad: 1 stride: 1 stride: 2
        stride: 1 } }'''),
    'conv_1d_no_bias': ({'x': (2, 3, 10)}, '''layer { name: "c" type: "Convolution"
        bottom: "x" top: "y" convolution_param { num_output: 4 kernel_size: 3
        bias_term: false } }'''),
    'conv_axis2': ({'x': (2, 3, 4, 6, 6)}, '''layer { name: "c" type: "Convolution"
        bottom: "x" top: "y" convolution_param { axis: 2 num_output: 5 kernel_size: 3 } }'''),
    'conv_two_bottoms': ({'x': (1, 2, 6, 6), 'z': (1, 2, 6, 6)}, '''layer { name: "c"
        type: "Convolution" bottom: "x" bottom: "z" top: "y" top: "w"
        convolution_param { num_output: 3 kernel_size: 3 } }'''),
    'deconv_stride_pad_group': (_x((1, 4, 5, 6)), '''layer { name: "d" type: "Deconvolution"
        bottom: "x" top: "y" convolution_param { num_output: 6 group: 2 kernel_size: 4
        stride: 2 pad: 1 } }'''),
    'deconv_dilated': (_x((2, 3, 4, 5)), '''layer { name: "d" type: "Deconvolution"
        bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 3 dilation: 2
        stride: 3 } }'''),
    'deconv_3d': ({'x': (1, 2, 3, 4, 3)}, '''layer { name: "d" type: "Deconvolution"
        bottom: "x" top: "y" convolution_param { num_output: 2 kernel_size: 2 stride: 2 } }'''),
    'im2col': (_x((2, 3, 6, 7)), '''layer { name: "i" type: "Im2col" bottom: "x" top: "y"
        convolution_param { kernel_size: 3 stride: 2 pad: 1 } }'''),
    'im2col_dilated_rect': (_x((1, 2, 7, 8)), '''layer { name: "i" type: "Im2col" bottom: "x"
        top: "y" convolution_param { kernel_h: 2 kernel_w: 3 dilation: 2 } }'''),
    # Routing
    'crop_offsets': ({'x': (2, 5, 9, 9), 'r': (2, 3, 4, 5)}, '''layer { name: "c" type: "Crop"
        bottom: "x" bottom: "r" top: "y" crop_param { axis: 1 offset: 1 offset: 2
        offset: 3 } }'''),
    'crop_one_offset': ({'x': (2, 3, 9, 8), 'r': (1, 1, 5, 4)}, '''layer { name: "c"
        type: "Crop" bottom: "x" bottom: "r" top: "y" crop_param { axis: 2 offset: 2 } }
        layer { name: "silence" type: "Silence" bottom: "r" }'''),
    'reshape_zero_minus_one': (_x((2, 3, 4, 4)), '''layer { name: "r" type: "Reshape"
        bottom: "x" top: "y" reshape_param { shape { dim: 0 dim: -1 dim: 4 } } }'''),
    'reshape_axis_num_axes': (_x((2, 3, 4, 5)), '''layer { name: "r" type: "Reshape"
        bottom: "x" top: "y" reshape_param { axis: 1 num_axes: 2 shape { dim: -1 } } }'''),
    'flatten_range': (_x((2, 3, 4, 5)), '''layer { name: "f" type: "Flatten" bottom: "x"
        top: "y" flatten_param { axis: 1 end_axis: 2 } }'''),
    'slice_equal_parts': (_x((2, 6, 3)), '''layer { name: "s" type: "Slice" bottom: "x"
        top: "a" top: "b" top: "c" slice_param { axis: 1 } }'''),
    'slice_legacy_dim': (_x((4, 3, 2)), '''layer { name: "s" type: "Slice" bottom: "x"
        top: "a" top: "b" slice_param { slice_dim: 2 slice_point: 1 } }'''),
    'concat_three_last_axis': ({'x': (2, 3, 1), 'z': (2, 3, 4), 'w': (2, 3, 2)}, '''layer {
        name: "c" type: "Concat" bottom: "x" bottom: "z" bottom: "w" top: "y"
        concat_param { axis: -1 } }'''),
    'tile': (_x((2, 3, 4)), '''layer { name: "t" type: "Tile" bottom: "x" top: "y"
        tile_param { axis: 1 tiles: 3 } }'''),
    'batch_reindex': ({'x': (4, 3, 2), 'idx': (5,)}, '''layer { name: "b" type: "BatchReindex"
        bottom: "x" bottom: "idx" top: "y" }'''),
    'filter': ({'x': (6, 3), 'z': (6, 2, 2), 'sel': (6, 1)}, '''layer { name: "f"
        type: "Filter" bottom: "x" bottom: "z" bottom: "sel" top: "y" top: "w" }'''),
    'parameter_and_silence': ({'x': (2, 3), 'unused': (4,)}, '''
        layer { name: "p" type: "Parameter" top: "p" parameter_param { shape { dim: 2
        dim: 3 } } }
        layer { name: "e" type: "Eltwise" bottom: "x" bottom: "p" top: "y" }
        layer { name: "s" type: "Silence" bottom: "unused" }'''),
    # Weights and broadcasting
    'ip_4d': (_x((2, 3, 4, 5)), '''layer { name: "ip" type: "InnerProduct" bottom: "x"
        top: "y" inner_product_param { num_output: 7 } }'''),
    'ip_last_axis_transpose': (_x((2, 3, 4)), '''layer { name: "ip" type: "InnerProduct"
        bottom: "x" top: "y" inner_product_param { num_output: 5 axis: -1 transpose: true
        bias_term: false } }'''),
    'scale_axis_num_axes_bias': (_x((2, 3, 4, 5)), '''layer { name: "s" type: "Scale"
        bottom: "x" top: "y" scale_param { axis: 1 num_axes: 2 bias_term: true } }'''),
    'scale_scalar': (_x((2, 3, 4)), '''layer { name: "s" type: "Scale" bottom: "x" top: "y"
        scale_param { num_axes: 0 } }'''),
    'scale_two_bottoms_axis0': ({'x': (2, 3, 4), 's': (2, 3)}, '''layer { name: "s"
        type: "Scale" bottom: "x" bottom: "s" top: "y" scale_param { axis: 0 } }'''),
    'bias_two_bottoms_axis2': ({'x': (2, 3, 4, 5), 'b': (4, 5)}, '''layer { name: "b"
        type: "Bias" bottom: "x" bottom: "b" top: "y" bias_param { axis: 2 } }'''),
    'bias_param_trailing': (_x((2, 3, 4)), '''layer { name: "b" type: "Bias" bottom: "x"
        top: "y" bias_param { axis: -1 } }'''),
    'embed_bias': ({'x': (2, 5)}, '''layer { name: "e" type: "Embed" bottom: "x" top: "y"
        embed_param { input_dim: 7 num_output: 4 } }'''),
    # Arithmetic
    'eltwise_sum_three_coeff': ({'x': (2, 3), 'z': (2, 3), 'w': (2, 3)}, '''layer { name: "e"
        type: "Eltwise" bottom: "x" bottom: "z" bottom: "w" top: "y" eltwise_param {
        operation: SUM coeff: 1 coeff: -0.5 coeff: 2 } }'''),
    'eltwise_prod_three': ({'x': (2, 3), 'z': (2, 3), 'w': (2, 3)}, '''layer { name: "e"
        type: "Eltwise" bottom: "x" bottom: "z" bottom: "w" top: "y" eltwise_param {
        operation: PROD } }'''),
    'eltwise_max_three': ({'x': (2, 3), 'z': (2, 3), 'w': (2, 3)}, '''layer { name: "e"
        type: "Eltwise" bottom: "x" bottom: "z" bottom: "w" top: "y" eltwise_param {
        operation: MAX } }'''),
    'reduction_all_axes_coeff': (_x((2, 3, 4)), '''layer { name: "r" type: "Reduction"
        bottom: "x" top: "y" reduction_param { operation: SUM axis: 0 coeff: 2 } }'''),
    'reduction_mean_last': (_x((2, 3, 4)), '''layer { name: "r" type: "Reduction" bottom: "x"
        top: "y" reduction_param { operation: MEAN axis: -1 } }'''),
    'reduction_asum_sumsq': (_x((2, 3, 4, 5)), '''
        layer { name: "a" type: "Reduction" bottom: "x" top: "a" reduction_param {
        operation: ASUM axis: 2 } }
        layer { name: "q" type: "Reduction" bottom: "x" top: "q" reduction_param {
        operation: SUMSQ axis: 1 coeff: -0.5 } }'''),
    'argmax_items_values': (_x((3, 2, 4, 5)), '''layer { name: "a" type: "ArgMax" bottom: "x"
        top: "y" argmax_param { top_k: 3 out_max_val: true } }'''),
    'argmax_items': (_x((3, 10)), '''layer { name: "a" type: "ArgMax" bottom: "x" top: "y" }'''),
    'argmax_axis_values': (_x((2, 6, 3)), '''layer { name: "a" type: "ArgMax" bottom: "x"
        top: "y" argmax_param { axis: 1 top_k: 2 out_max_val: true } }'''),
    'softmax_last_axis': (_x((2, 3, 4)), '''layer { name: "s" type: "Softmax" bottom: "x"
        top: "y" softmax_param { axis: -1 } }'''),
    # Neurons
    'relu_slopes': (_x((2, 3, 4)), '''
        layer { name: "a" type: "ReLU" bottom: "x" top: "a" relu_param { negative_slope: -0.2 } }
        layer { name: "b" type: "ReLU" bottom: "x" top: "b"
                relu_param { negative_slope: 1.5 } }'''),
    'activations': (_x((2, 3, 4)), '''
        layer { name: "a" type: "AbsVal" bottom: "x" top: "a" }
        layer { name: "b" type: "BNLL" bottom: "x" top: "b" }
        layer { name: "e" type: "ELU" bottom: "x" top: "e" elu_param { alpha: 0.5 } }
        layer { name: "s" type: "Sigmoid" bottom: "x" top: "s" }
        layer { name: "t" type: "TanH" bottom: "x" top: "t" }
        layer { name: "w" type: "Swish" bottom: "x" top: "w" swish_param { beta: 1.5 } }
        layer { name: "h" type: "Threshold" bottom: "x" top: "h"
                threshold_param { threshold: 0.3 } }
        layer { name: "d" type: "Dropout" bottom: "x" top: "d" }'''),
    'power_variants': (_x((2, 3, 4)), '''
        layer { name: "sq" type: "Power" bottom: "x" top: "sq" power_param { power: 2
                scale: 0.5 shift: 1 } }
        layer { name: "cube" type: "Power" bottom: "x" top: "cube" power_param { power: 3 } }
        layer { name: "one" type: "Power" bottom: "x" top: "one" power_param { power: 0 } }
        layer { name: "const" type: "Power" bottom: "x" top: "const" power_param { power: 2
                scale: 0 shift: 3 } }
        layer { name: "affine" type: "Power" bottom: "x" top: "affine" power_param {
                scale: -2 shift: 0.5 } }
        layer { name: "same" type: "Power" bottom: "x" top: "same" }'''),
    'exp_log_bases': (_x((2, 3, 4)), '''
        layer { name: "e" type: "Exp" bottom: "x" top: "e" exp_param { scale: 0.5 shift: 1 } }
        layer { name: "e2" type: "Exp" bottom: "x" top: "e2" exp_param { base: 2 shift: -1 } }
        layer { name: "l" type: "Log" bottom: "e" top: "l" log_param { base: 2 scale: 0.5
                shift: 5 } }'''),
    'clip_both_orders': (_x((2, 3, 4)), '''
        layer { name: "c" type: "Clip" bottom: "x" top: "c" clip_param { min: -0.5 max: 0.5 } }
        layer { name: "k" type: "Clip" bottom: "x" top: "k" clip_param { min: 1 max: 0 } }'''),
    'prelu_2d_and_shared': (_x((4, 3)), '''
        layer { name: "p" type: "PReLU" bottom: "x" top: "p" }
        layer { name: "q" type: "PReLU" bottom: "x" top: "q" prelu_param {
                channel_shared: true } }'''),
    'inplace_chain_output': (_x((2, 3, 4)), '''
        layer { name: "r" type: "ReLU" bottom: "x" top: "x" }
        layer { name: "d" type: "Dropout" bottom: "x" top: "x" }'''),
    # Normalization
    'lrn_across_k': (_x((2, 7, 3, 4)), '''layer { name: "n" type: "LRN" bottom: "x" top: "y"
        lrn_param { local_size: 5 alpha: 0.1 beta: 0.75 k: 2 } }'''),
    'lrn_within': (_x((2, 3, 6, 5)), '''layer { name: "n" type: "LRN" bottom: "x" top: "y"
        lrn_param { local_size: 5 alpha: 0.3 beta: 0.6 norm_region: WITHIN_CHANNEL } }'''),
    'batchnorm_batch_stats': (_x((3, 4, 2, 5)), '''layer { name: "bn" type: "BatchNorm"
        bottom: "x" top: "y" batch_norm_param { use_global_stats: false eps: 0.001 } }'''),
    'batchnorm_2d': (_x((5, 4)), '''layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" }'''),
    'mvn_variants': (_x((2, 3, 4, 5)), '''
        layer { name: "a" type: "MVN" bottom: "x" top: "a" }
        layer { name: "b" type: "MVN" bottom: "x" top: "b" mvn_param { across_channels: true
                eps: 0.01 } }
        layer { name: "c" type: "MVN" bottom: "x" top: "c" mvn_param {
                normalize_variance: false } }'''),
    # Recurrent: cont has zeros inside the sequences (state resets)
    'lstm': ({'x': (5, 3, 2, 2), 'cont': (5, 3)}, '''layer { name: "lstm" type: "LSTM"
        bottom: "x" bottom: "cont" top: "y" recurrent_param { num_output: 6 } }'''),
    'lstm_static_exposed': ({'x': (4, 3, 5), 'cont': (4, 3), 'xs': (3, 2), 'h0': (1, 3, 6),
                             'c0': (1, 3, 6)}, '''layer { name: "lstm" type: "LSTM"
        bottom: "x" bottom: "cont" bottom: "xs" bottom: "h0" bottom: "c0"
        top: "y" top: "hT" top: "cT" recurrent_param { num_output: 6 expose_hidden: true } }'''),
    'rnn': ({'x': (5, 2, 4), 'cont': (5, 2)}, '''layer { name: "rnn" type: "RNN" bottom: "x"
        bottom: "cont" top: "y" recurrent_param { num_output: 3 } }'''),
    'rnn_static_exposed': ({'x': (3, 2, 4), 'cont': (3, 2), 'xs': (2, 3), 'h0': (1, 2, 5)},
                           '''layer { name: "rnn" type: "RNN" bottom: "x" bottom: "cont"
        bottom: "xs" bottom: "h0" top: "y" top: "hT" recurrent_param { num_output: 5
        expose_hidden: true } }'''),
    'lstm_single_step': ({'x': (1, 2, 3), 'cont': (1, 2)}, '''layer { name: "lstm" type: "LSTM"
        bottom: "x" bottom: "cont" top: "y" recurrent_param { num_output: 4 } }'''),
    'lstm_unit': ({'c': (1, 3, 4), 'gates': (1, 3, 16), 'cont': (1, 3)}, '''layer {
        name: "u" type: "LSTMUnit" bottom: "c" bottom: "gates" bottom: "cont" top: "cn"
        top: "h" }'''),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_layer_matches_caffelite(case):
    inputs, body = CASES[case]
    export_and_check(make_net(inputs, body))


def test_batchnorm_scale_factor_divides_the_statistics():
    net = make_net(_x((2, 3, 4)), 'layer { name: "bn" type: "BatchNorm" bottom: "x" top: "y" }')
    for factor in (0.25, 0.0):
        net.params['bn'][2].data[...] = factor
        export_and_check(net)


def test_argmax_ties_go_to_the_higher_index_as_in_caffe():
    net = make_net(_x((2, 6)), 'layer { name: "a" type: "ArgMax" bottom: "x" top: "y" '
                               'argmax_param { top_k: 3 } }')
    x = np.array([[1, 5, 5, 0, 5, 2], [3, 3, 3, 3, 3, 3]], np.float32)
    got = run_onnx(build_model(net), {'x': x})['y']
    assert got[:, 0, :].tolist() == [[4, 2, 1], [5, 4, 3]]
    assert np.array_equal(got, net.forward(x=x)['y'])


def test_bnll_does_not_overflow():
    net = make_net(_x((1, 4)), 'layer { name: "b" type: "BNLL" bottom: "x" top: "y" }')
    x = np.array([[-200, -1, 30, 200]], np.float32)
    got = run_onnx(build_model(net), {'x': x})['y']
    assert np.allclose(got, net.forward(x=x)['y'], rtol=1e-6)


def test_max_pool_window_outside_the_input_gives_lowest_float():
    inputs, body = CASES['pool_max_window_outside']
    net = make_net(inputs, body)
    got = run_onnx(build_model(net), {'x': np.ones((1, 2, 5, 6), np.float32)})['y']
    assert got.shape == (1, 2, 3, 3)
    assert (got[:, :, 2, :] == np.finfo(np.float32).min).all()


def test_lstm_cont_resets_the_state():
    """With cont 0 at step 2, step 2 starts afresh: same as a new sequence."""
    inputs, body = CASES['lstm']
    net = make_net(inputs, body)
    model = build_model(net)
    x = np.random.RandomState(3).randn(5, 3, 2, 2).astype(np.float32)
    cont = np.ones((5, 3), np.float32)
    cont[0] = cont[2] = 0
    whole = run_onnx(model, {'x': x, 'cont': cont})['y']
    tail = np.concatenate([x[2:], x[:2]])
    restarted = run_onnx(model, {'x': tail, 'cont': np.roll(cont, -2, axis=0)})['y']
    np.testing.assert_allclose(whole[2:], restarted[:3], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('case', ['pool_ave_ceil_overhang_pad', 'conv_group_dilation',
                                  'ip_4d', 'argmax_items_values', 'reshape_zero_minus_one',
                                  'mvn_variants', 'scale_two_bottoms_axis0', 'filter',
                                  'embed_bias', 'batch_reindex', 'power_variants'])
def test_dynamic_batch(case):
    inputs, body = CASES[case]
    model = export_and_check(make_net(inputs, body), batch='dynamic')
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'N'


@pytest.mark.parametrize('opset', [13, 17, 21])
def test_opset_range(opset):
    """The operators whose spelling changed (Reduce*, Split) at both ends."""
    body = ''.join(CASES[c][1] for c in ('reduction_asum_sumsq',))
    body += '''layer { name: "m" type: "MVN" bottom: "x" top: "m" }
        layer { name: "s" type: "Slice" bottom: "x" top: "s1" top: "s2" slice_param { axis: 1
        slice_point: 1 } }
        layer { name: "bn" type: "BatchNorm" bottom: "x" top: "bn" batch_norm_param {
        use_global_stats: false } }'''
    model = export_and_check(make_net(_x((2, 3, 4, 5)), body), opset=opset)
    assert model.opset_import[0].version == opset


# --- refusals ------------------------------------------------------------
def _refusal(inputs, body, phase=caffelite.TEST, **options):
    net = make_net(inputs, body, phase)
    with pytest.raises(CaffeError) as info:
        build_model(net, **options)
    return str(info.value)


def test_a_net_ending_in_silence_outputs_what_silence_takes():
    # Colorization's deploy net feeds its result, class8_ab, to a Silence
    # layer and has no output; the model gives class8_ab.
    net = make_net({'data': (2, 3, 4, 4)}, '''
        layer { name: "ab" type: "Convolution" bottom: "data" top: "ab"
                convolution_param { num_output: 2 kernel_size: 1 } }
        layer { name: "Silence" type: "Silence" bottom: "ab" }''')
    assert net.outputs == []
    model = export_and_check(net)
    assert [o.name for o in model.graph.output] == ['ab']


def test_python_layer_is_refused_by_name():
    message = _refusal(_x((2, 3)), '''layer { name: "ten" type: "Python" bottom: "x" top: "y"
        python_param { module: "pylayers" layer: "TimesTenLayer" } }''')
    assert "layer 'ten' (Python)" in message and 'pylayers.TimesTenLayer' in message


def test_data_layer_is_refused_by_name():
    message = _refusal({}, '''layer { name: "dummy" type: "DummyData" top: "x"
        dummy_data_param { shape { dim: 2 dim: 3 } } }
        layer { name: "r" type: "ReLU" bottom: "x" top: "y" }''')
    assert "net 'case' has no Input layer" in message
    net = make_net(_x((2, 3)), '''layer { name: "dummy" type: "DummyData" top: "z"
        dummy_data_param { shape { dim: 2 dim: 3 } } }
        layer { name: "e" type: "Eltwise" bottom: "x" bottom: "z" top: "y" }''')
    with pytest.raises(LayerError, match=r"layer 'dummy' \(DummyData\).*data source"):
        build_model(net)


@pytest.mark.parametrize('body, layer', [
    ('layer { name: "drop" type: "Dropout" bottom: "x" top: "y" }', 'drop'),
    ('layer { name: "sp" type: "Pooling" bottom: "x" top: "y" pooling_param { '
     'pool: STOCHASTIC kernel_size: 2 } }', 'sp'),
])
def test_random_layers_in_train_phase_are_refused(body, layer):
    message = _refusal(_x((1, 2, 4, 4)), body, caffelite.TRAIN)
    assert "layer '%s'" % layer in message and 'random' in message


def test_ave_pool_window_outside_the_input_is_refused():
    message = _refusal(_x((1, 2, 5, 6)), '''layer { name: "p" type: "Pooling" bottom: "x"
        top: "y" pooling_param { pool: AVE kernel_size: 1 stride: 3 } }''')
    assert "layer 'p' (Pooling)" in message and 'outside the input' in message


def test_dynamic_batch_refused_where_the_batch_mixes_into_other_axes():
    message = _refusal(_x((2, 3, 4)), '''layer { name: "r" type: "Reshape" bottom: "x"
        top: "y" reshape_param { shape { dim: 3 dim: -1 } } }''', batch='dynamic')
    assert "blob 'y' (from layer 'r')" in message
    message = _refusal(*CASES['lstm'], batch='dynamic')
    assert "layer 'lstm' (LSTM)" in message and 'fixed' in message


def test_unsupported_opset_and_batch_are_refused():
    net = make_net(_x((2, 3)), 'layer { name: "r" type: "ReLU" bottom: "x" top: "y" }')
    with pytest.raises(CaffeError, match='opset 11 is not supported'):
        build_model(net, opset=11)
    with pytest.raises(CaffeError, match='positive integer'):
        build_model(net, batch='many')


def test_check_catches_a_wrong_model():
    """The verification is not vacuous: a changed weight fails it."""
    net = make_net(*CASES['conv_group_dilation'])
    model = build_model(net)
    weight = next(i for i in model.graph.initializer if i.name == 'c/weight')
    values = np.frombuffer(weight.raw_data, np.float32).copy()
    values[0] += 0.05
    weight.raw_data = values.tobytes()
    with pytest.raises(CheckError, match="output 'y' differs"):
        check_model(model, net)


@pytest.mark.parametrize('batch, feed, message', [
    (None, {'x': np.zeros((2, 1, 5, 4))}, "input 1: input 'x' has shape (2, 1, 5, 4); "
                                          "the model takes (2, 1, 5, 5)"),
    ('dynamic', {'x': np.zeros((3, 1, 4, 5))}, "the model takes ('N', 1, 5, 5)"),
    (None, {'data': np.zeros((2, 1, 5, 5))}, "a feed is a dict of the model inputs ['x']; "
                                             "got ['data']"),
    (None, np.zeros((2, 1, 5, 5)), 'got ndarray'),
])
def test_check_names_a_feed_that_does_not_fit_the_model(batch, feed, message):
    """Said before ONNX Runtime runs, whose message stops at 'for the
    following indices' (or an AttributeError for a bare array)."""
    net = make_net(_x((2, 1, 5, 5)), 'layer { name: "r" type: "ReLU" bottom: "x" top: "y" }')
    model = build_model(net, batch=batch)
    with pytest.raises(CheckError) as e:
        check_model(model, net, feeds=[feed], random=False)
    assert message in str(e.value)


# --- Python layers at the end of the net ------------------------------------
TAIL = '''layer { name: "c" type: "Convolution" bottom: "x" top: "c"
    convolution_param { num_output: 2 kernel_size: 3 } }
    layer { name: "ten" type: "Python" bottom: "c" top: "t"
    python_param { module: "pylayers" layer: "TimesTenLayer" } }
    layer { name: "half" type: "Python" bottom: "t" top: "y"
    python_param { module: "pylayers" layer: "ParamStrLayer" param_str: "0.5" } }'''


def test_python_tail_runs_after_the_graph(tmp_path):
    from caffelite.export import postprocess, to_onnx
    net = make_net(_x((2, 1, 5, 5)), TAIL)
    path = tmp_path / 'tail.onnx'
    model = to_onnx(net, path, python_tail=True, check=True)
    assert [o.name for o in model.graph.output] == ['c']
    x = np.random.RandomState(0).randn(2, 1, 5, 5).astype(np.float32)
    results = postprocess(str(path), run_onnx(model, {'x': x}))
    np.testing.assert_allclose(results['y'], net.forward(x=x)['y'], rtol=1e-5, atol=1e-6)


def test_python_tail_takes_only_layers_that_end_the_net():
    body = TAIL + '''layer { name: "r" type: "ReLU" bottom: "t" top: "r" }'''
    message = _refusal(_x((2, 1, 5, 5)), body, python_tail=True)
    assert "layer 'ten' (Python)" in message and '--python-tail' in message


@pytest.mark.parametrize('inputs, body, layer', [
    ({'a': (2, 3), 'b': (2, 3)}, 'layer { name: "l1" type: "L1Loss" bottom: "a" bottom: "b" '
                                 'top: "loss" }', "layer 'l1' (L1Loss)"),
    ({'images': (1, 3, 8, 8), 'labels': (1, 1, 2, 16)}, '''layer { name: "transform"
        type: "DetectNetTransformation" bottom: "images" bottom: "labels" top: "x" top: "y"
        detectnet_groundtruth_param { stride: 4 image_size_x: 8 image_size_y: 8 } }''',
     "layer 'transform' (DetectNetTransformation)"),
])
def test_detectnet_training_layers_are_refused_by_name(inputs, body, layer):
    message = _refusal(inputs, body)
    assert layer in message and 'deploy net' in message
