"""Every layer with a backward pass is gradient-checked by finite
differences (caffelite.gradient_check), over several parameter variants."""
import numpy as np
import pytest
from google.protobuf import text_format

import caffelite as caffe
from caffelite.blob import Blob
from caffelite.gradient_check import check_gradient
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2


def labels(n, classes, shape=None):
    return lambda rng: rng.randint(0, classes, shape or (n,)).astype(np.float32)


def normal(*shape):
    return lambda rng: rng.randn(*shape).astype(np.float32)


def positive(*shape):
    return lambda rng: (rng.rand(*shape) + 0.5).astype(np.float32)


# (id, layer definition, bottom makers, checked bottoms, extra check_gradient kwargs)
CASES = [
    ('conv', 'type: "Convolution" convolution_param { num_output: 3 kernel_size: 3 pad: 1 '
     'weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
     [normal(2, 2, 5, 4)], None, {}),
    ('conv_group_stride_dilation', 'type: "Convolution" convolution_param { num_output: 4 '
     'group: 2 kernel_h: 2 kernel_w: 3 stride: 2 dilation: 2 pad: 1 '
     'weight_filler { type: "gaussian" } }', [normal(2, 4, 7, 7)], None, {}),
    ('deconv', 'type: "Deconvolution" convolution_param { num_output: 2 kernel_size: 3 stride: 2 '
     'pad: 1 weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
     [normal(2, 3, 3, 4)], None, {}),
    ('im2col', 'type: "Im2col" convolution_param { kernel_size: 2 stride: 1 pad: 1 }',
     [normal(1, 2, 3, 3)], None, {}),
    ('pool_max', 'type: "Pooling" pooling_param { pool: MAX kernel_size: 3 stride: 2 pad: 1 }',
     [normal(2, 2, 6, 5)], None, {}),
    ('pool_ave', 'type: "Pooling" pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 }',
     [normal(2, 2, 6, 5)], None, {}),
    ('spp', 'type: "SPP" spp_param { pyramid_height: 2 pool: AVE }', [normal(1, 2, 5, 6)],
     None, {}),
    ('ip', 'type: "InnerProduct" inner_product_param { num_output: 3 '
     'weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
     [normal(2, 2, 3)], None, {}),
    ('ip_transpose', 'type: "InnerProduct" inner_product_param { num_output: 3 transpose: true '
     'axis: 2 weight_filler { type: "gaussian" } }', [normal(2, 2, 4)], None, {}),
    ('softmax', 'type: "Softmax" softmax_param { axis: 1 }', [normal(2, 4, 3)], None, {}),
    ('concat', 'type: "Concat" concat_param { axis: 1 }', [normal(2, 2, 3), normal(2, 1, 3)],
     None, {}),
    ('slice', 'type: "Slice" slice_param { axis: 1 slice_point: 1 }', [normal(2, 3, 2)],
     None, {}),
    ('eltwise_sum', 'type: "Eltwise" eltwise_param { operation: SUM coeff: 2 coeff: -1 }',
     [normal(2, 3), normal(2, 3)], None, {}),
    ('eltwise_prod', 'type: "Eltwise" eltwise_param { operation: PROD }',
     [normal(2, 3), normal(2, 3), normal(2, 3)], None, {}),
    ('eltwise_max', 'type: "Eltwise" eltwise_param { operation: MAX }',
     [normal(2, 3), normal(2, 3)], None, {}),
    ('crop', 'type: "Crop" crop_param { axis: 2 offset: 1 }',
     [normal(1, 2, 5, 5), normal(1, 2, 3, 2)], [0], {}),
    ('tile', 'type: "Tile" tile_param { axis: 1 tiles: 3 }', [normal(2, 2, 2)], None, {}),
    ('reduction_sumsq', 'type: "Reduction" reduction_param { operation: SUMSQ axis: 1 '
     'coeff: 0.5 }', [normal(2, 3, 2)], None, {}),
    ('reduction_mean', 'type: "Reduction" reduction_param { operation: MEAN axis: 0 }',
     [normal(2, 3)], None, {}),
    ('scale_learned_bias', 'type: "Scale" scale_param { axis: 1 num_axes: 1 bias_term: true '
     'filler { type: "gaussian" } bias_filler { type: "gaussian" } }', [normal(2, 3, 2)],
     None, {}),
    ('scale_two_bottoms', 'type: "Scale" scale_param { axis: 0 }', [normal(2, 3), normal(2)],
     None, {}),
    ('bias', 'type: "Bias" bias_param { axis: 1 filler { type: "gaussian" } }',
     [normal(2, 3, 2)], None, {}),
    ('embed', 'type: "Embed" embed_param { num_output: 3 input_dim: 5 bias_term: true '
     'weight_filler { type: "gaussian" } bias_filler { type: "gaussian" } }',
     [labels(4, 5)], [], {}),
    ('batch_reindex', 'type: "BatchReindex"', [normal(3, 2), lambda r: np.array(
        [2, 0, 2, 1], np.float32)], [0], {}),
    ('relu_leaky', 'type: "ReLU" relu_param { negative_slope: 0.1 }', [normal(2, 3, 2)],
     None, {'kink': 0.0, 'kink_range': 0.02}),
    ('sigmoid', 'type: "Sigmoid"', [normal(2, 3)], None, {}),
    ('tanh', 'type: "TanH"', [normal(2, 3)], None, {}),
    ('prelu', 'type: "PReLU" prelu_param { filler { type: "gaussian" } }', [normal(2, 3, 2)],
     None, {'kink': 0.0, 'kink_range': 0.02}),
    ('elu', 'type: "ELU" elu_param { alpha: 0.5 }', [normal(2, 3)], None,
     {'kink': 0.0, 'kink_range': 0.02}),
    ('absval', 'type: "AbsVal"', [normal(2, 3)], None, {'kink': 0.0, 'kink_range': 0.02}),
    ('power', 'type: "Power" power_param { power: 2.5 scale: 0.7 shift: 1.2 }',
     [positive(2, 3)], None, {}),
    ('exp', 'type: "Exp" exp_param { base: 2 scale: 0.5 shift: 0.1 }', [normal(2, 3)], None, {}),
    ('log', 'type: "Log" log_param { base: 10 scale: 2 shift: 0.5 }', [positive(2, 3)],
     None, {}),
    ('bnll', 'type: "BNLL"', [normal(2, 3)], None, {}),
    ('clip', 'type: "Clip" clip_param { min: -0.5 max: 0.6 }', [normal(2, 3)], None,
     {'kink': 0.0, 'kink_range': 0.02}),
    ('swish', 'type: "Swish" swish_param { beta: 1.5 }', [normal(2, 3)], None, {}),
    ('lrn_across', 'type: "LRN" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 k: 2 }',
     [normal(2, 5, 2, 2)], None, {}),
    ('lrn_within', 'type: "LRN" lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 '
     'norm_region: WITHIN_CHANNEL }', [normal(1, 2, 4, 4)], None, {}),
    ('batchnorm_train', 'type: "BatchNorm" phase: TRAIN', [normal(4, 3, 2)], None,
     {'check_params': False}),
    ('mvn', 'type: "MVN"', [normal(2, 3, 4)], None, {}),
    ('mvn_across_channels', 'type: "MVN" mvn_param { across_channels: true }',
     [normal(2, 3, 4)], None, {}),
    ('softmax_loss', 'type: "SoftmaxWithLoss"', [normal(4, 5), labels(4, 5)], [0], {}),
    ('softmax_loss_spatial_ignore', 'type: "SoftmaxWithLoss" loss_param { ignore_label: 1 '
     'normalization: FULL }', [normal(2, 3, 2, 2), labels(2, 3, (2, 2, 2))], [0], {}),
    ('infogain_loss', 'type: "InfogainLoss"', [normal(3, 4), labels(3, 4), positive(4, 4)],
     [0], {}),
    ('euclidean_loss', 'type: "EuclideanLoss"', [normal(3, 2), normal(3, 2)], None, {}),
    ('sigmoid_xent', 'type: "SigmoidCrossEntropyLoss"', [normal(3, 4), lambda r: (
        r.rand(3, 4) > 0.5).astype(np.float32)], [0], {}),
    ('hinge_l1', 'type: "HingeLoss"', [normal(4, 3), labels(4, 3)], [0],
     {'kink': -1.0, 'kink_range': 0.05}),
    ('hinge_l2', 'type: "HingeLoss" hinge_loss_param { norm: L2 }',
     [normal(4, 3), labels(4, 3)], [0], {}),
    ('multinomial_logistic', 'type: "MultinomialLogisticLoss"',
     [lambda r: (r.rand(3, 4) * 0.8 + 0.1).astype(np.float32), labels(3, 4)], [0], {}),
    ('contrastive', 'type: "ContrastiveLoss" contrastive_loss_param { margin: 2 }',
     [normal(4, 3), normal(4, 3), lambda r: np.array([0, 1, 0, 1], np.float32)], [0, 1], {}),
]


def set_up(name, definition, makers, num_tops, seed):
    """(layer, bottom, top) of a layer definition on bottoms from ``makers``."""
    param = text_format.Parse('name: "%s" %s' % (name, definition), caffe_pb2.LayerParameter())
    if not param.HasField('phase'):
        param.phase = caffe.TEST
    caffe.set_random_seed(seed)
    rng = np.random.RandomState(seed + 6)
    bottom = []
    for make in makers:
        value = make(rng)
        blob = Blob(value.shape)
        blob.data[...] = value
        bottom.append(blob)
    layer = create_layer(param)
    top = [Blob() for _ in range(num_tops)]
    layer.layer_setup(bottom, top)
    return layer, bottom, top


@pytest.mark.parametrize('name, definition, makers, checked, options', CASES,
                         ids=[c[0] for c in CASES])
def test_gradient(name, definition, makers, checked, options):
    tops = 2 if 'Slice' in definition else 1
    layer, bottom, top = set_up(name, definition, makers, tops, 1)
    assert check_gradient(layer, bottom, top, check_bottom=checked, **options) > 0


def test_checker_catches_a_wrong_gradient():
    param = text_format.Parse('name: "bad" type: "TanH"', caffe_pb2.LayerParameter())
    layer = create_layer(param)
    layer.grad = lambda x, y, dy: dy * (1 - y)      # wrong derivative
    bottom, top = [Blob((2, 3))], [Blob()]
    bottom[0].data[...] = np.random.RandomState(0).randn(2, 3)
    layer.layer_setup(bottom, top)
    with pytest.raises(caffe.CaffeError, match='gradient mismatch'):
        check_gradient(layer, bottom, top)


def sequence_markers(t, n):
    """cont (T, N): 0 at the start of each sequence (a reset mid-way too)."""
    def make(rng):
        cont = np.ones((t, n), np.float32)
        cont[0] = 0
        cont[2, 0] = 0
        return cont
    return make


RECURRENT = [
    ('lstm_unit', 'type: "LSTMUnit"', [normal(1, 3, 2), normal(1, 3, 8),
                                       lambda r: np.array([[1, 0, 1]], np.float32)], [0, 1], 2),
    ('lstm', 'type: "LSTM" recurrent_param { num_output: 3 weight_filler { type: "gaussian" '
     'std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } }',
     [normal(4, 2, 3), sequence_markers(4, 2)], [0], 1),
    ('lstm_static_exposed', 'type: "LSTM" recurrent_param { num_output: 2 expose_hidden: true '
     'weight_filler { type: "gaussian" std: 0.5 } }',
     [normal(3, 2, 2), sequence_markers(3, 2), normal(2, 3), normal(1, 2, 2), normal(1, 2, 2)],
     [0, 2, 3, 4], 3),
    ('rnn', 'type: "RNN" recurrent_param { num_output: 3 weight_filler { type: "gaussian" '
     'std: 0.5 } bias_filler { type: "gaussian" std: 0.5 } }',
     [normal(4, 2, 3), sequence_markers(4, 2)], [0], 1),
    ('rnn_static_exposed', 'type: "RNN" recurrent_param { num_output: 2 expose_hidden: true '
     'weight_filler { type: "gaussian" std: 0.5 } }',
     [normal(3, 2, 2), sequence_markers(3, 2), normal(2, 3), normal(1, 2, 2)], [0, 2, 3], 2),
]


@pytest.mark.parametrize('name, definition, makers, checked, tops', RECURRENT,
                         ids=[c[0] for c in RECURRENT])
def test_recurrent_gradient(name, definition, makers, checked, tops):
    layer, bottom, top = set_up(name, definition, makers, tops, 2)
    assert check_gradient(layer, bottom, top, check_bottom=checked) > 0


def test_lstm_param_shapes_follow_caffe():
    param = text_format.Parse('name: "l" type: "LSTM" recurrent_param { num_output: 5 }',
                              caffe_pb2.LayerParameter())
    layer = create_layer(param)
    bottom = [Blob((3, 2, 4)), Blob((3, 2)), Blob((2, 6))]
    layer.layer_setup(bottom, [Blob()])
    assert [b.shape for b in layer.blobs] == [(20, 4), (20,), (20, 6), (20, 5)]
