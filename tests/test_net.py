"""The Net graph: NetState filtering, splits, in-place tops, loss weights,
backward decisions, shared params, reshape and the pycaffe surface."""
import re

import numpy as np
import pytest

import caffelite as caffe
from caffelite import layers as L, params as P
from caffelite.errors import NetError, ParseError, WeightsError

IP_NET = '''name: "ipnet"
force_backward: %(force)s
layer { name: "data" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 4 dim: 3 } shape { dim: 4 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 1 }
                              bias_filler { type: "constant" value: 0.1 } } }
layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
layer { name: "acc" type: "Accuracy" bottom: "ip" bottom: "label" top: "acc"
        include { phase: TEST } }
'''


def write(tmp_path, text, name='net.prototxt'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def ipnet(tmp_path):
    return write(tmp_path, IP_NET % {'force': 'false'})


def test_phase_filtering_and_splits(ipnet):
    train = caffe.Net(ipnet, caffe.TRAIN)
    test = caffe.Net(ipnet, caffe.TEST)
    assert 'acc' not in train.layer_dict and 'acc' in test.layer_dict
    # In TEST 'ip' and 'label' feed two layers each: Caffe's split names.
    assert 'ip_relu_0_split' in test.layer_dict
    assert 'label_data_1_split' in test.layer_dict
    assert test.bottom_names['loss'] == ['ip_relu_0_split_0', 'label_data_1_split_0']
    assert test.bottom_names['acc'] == ['ip_relu_0_split_1', 'label_data_1_split_1']
    assert train.outputs == ['loss'] and test.outputs == ['acc', 'loss']
    assert train.inputs == ['data', 'label']


def test_in_place_top_is_same_blob(ipnet):
    net = caffe.Net(ipnet, caffe.TRAIN)
    assert net.top_names['relu'] == ['ip'] and net.bottom_names['relu'] == ['ip']
    assert list(net.blobs) == ['data', 'label', 'ip', 'loss']


def test_loss_weights_and_backward_flags(ipnet):
    net = caffe.Net(ipnet, caffe.TRAIN)
    assert net.blob_loss_weights['loss'] == 1.0 and net.blob_loss_weights['ip'] == 0.0
    need = dict(zip(net._layer_names, net.layer_need_backward))
    assert need == {'data': False, 'ip': True, 'relu': True, 'loss': True}
    # Without force_backward the input gets no gradient.
    assert not net.blob_need_backward['data']


def test_forward_backward_loss_matches_numpy(ipnet):
    net = caffe.Net(ipnet, caffe.TRAIN)
    rng = np.random.RandomState(0)
    x, label = rng.randn(4, 3).astype(np.float32), np.array([0, 1, 2, 4], np.float32)
    out = net.forward(data=x, label=label)
    w, b = net.params['ip'][0].data, net.params['ip'][1].data
    z = np.maximum(x @ w.T + b, 0)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(4), label.astype(int)]))
    assert out['loss'] == pytest.approx(expected, rel=1e-5)
    net.clear_param_diffs()
    net.backward()
    dz = (p - np.eye(5)[label.astype(int)]) / 4 * (z > 0)
    np.testing.assert_allclose(net.params['ip'][0].diff, dz.T @ x, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(net.params['ip'][1].diff, dz.sum(0), rtol=1e-4, atol=1e-6)
    # Param diffs accumulate across backward passes, as in Caffe.
    net.backward()
    np.testing.assert_allclose(net.params['ip'][1].diff, 2 * dz.sum(0), rtol=1e-4, atol=1e-6)


def test_split_sums_diffs(tmp_path):
    path = write(tmp_path, '''force_backward: true
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "a" type: "Power" bottom: "x" top: "a" power_param { scale: 2 } }
layer { name: "b" type: "Power" bottom: "x" top: "b" power_param { scale: 3 } }
layer { name: "s" type: "Eltwise" bottom: "a" bottom: "b" top: "s" }
''')
    net = caffe.Net(path, caffe.TEST)
    net.forward(x=np.ones((2, 3), np.float32))
    grads = net.backward(s=np.ones((2, 3), np.float32))
    np.testing.assert_allclose(grads['x'], 5.0)


def test_loss_weight_and_propagate_down(tmp_path):
    path = write(tmp_path, '''
layer { name: "x" type: "Input" top: "x" top: "y" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "p" type: "Power" bottom: "x" top: "p" loss_weight: 2 }
layer { name: "q" type: "Power" bottom: "y" top: "q" propagate_down: false loss_weight: 0.5 }
''')
    net = caffe.Net(path, caffe.TRAIN)
    net.blobs['x'].data[...] = 1
    net.blobs['y'].data[...] = 2
    loss = net._forward()
    assert loss == pytest.approx(2 * 6 + 0.5 * 12)
    assert net.blob_loss_weights['p'] == 2.0


def test_stage_and_level_rules(tmp_path):
    path = write(tmp_path, '''
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "deploy_only" type: "Power" bottom: "x" top: "d" include { stage: "deploy" } }
layer { name: "not_deploy" type: "Power" bottom: "x" top: "n" include { not_stage: "deploy" } }
layer { name: "high" type: "Power" bottom: "x" top: "h" include { min_level: 2 } }
layer { name: "low" type: "Power" bottom: "x" top: "l" exclude { min_level: 1 } }
''')
    default = caffe.Net(path, caffe.TEST)
    assert set(default.layer_dict) == {'x', 'not_deploy', 'low', 'x_x_0_split'}
    deploy = caffe.Net(path, caffe.TEST, level=2, stages=['deploy'])
    assert set(deploy.layer_dict) == {'x', 'deploy_only', 'high', 'x_x_0_split'}


def test_a_files_state_gets_pycaffes_level_and_added_stages(tmp_path):
    """Caffe's Net(file, phase, level, stages) sets the level (0 unless
    given) and adds the stages to those of the file's own state; a
    NetParameter keeps its level when none is given."""
    path = write(tmp_path, '''state { level: 3 stage: "a" }
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 } } }
layer { name: "leveled" type: "Power" bottom: "x" top: "l" include { min_level: 1 } }
layer { name: "both" type: "Power" bottom: "x" top: "b" include { stage: "a" stage: "b" } }
''')
    assert set(caffe.Net(path, caffe.TEST).layer_dict) == {'x'}
    assert set(caffe.Net(path, caffe.TEST, level=1, stages=['b']).layer_dict) == {
        'x', 'leveled', 'both', 'x_x_0_split'}
    param = caffe.net.load_net_param(path)
    assert set(caffe.Net(param, caffe.TEST).layer_dict) == {'x', 'leveled'}


def test_shared_params_share_data_and_diff(tmp_path):
    path = write(tmp_path, '''force_backward: true
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "x" top: "a" param { name: "w" }
        inner_product_param { num_output: 3 bias_term: false weight_filler { type: "gaussian" } } }
layer { name: "ip2" type: "InnerProduct" bottom: "a" top: "b" param { name: "w" }
        inner_product_param { num_output: 3 bias_term: false } }
''')
    net = caffe.Net(path, caffe.TRAIN)
    w1, w2 = net.params['ip1'][0], net.params['ip2'][0]
    np.testing.assert_array_equal(w1.data, w2.data)
    w1.data[0, 0] = 42
    assert w2.data[0, 0] == 42
    assert len(net.learnable_params) == 1


def test_reshape_propagates_new_input_shape(ipnet):
    net = caffe.Net(ipnet, caffe.TEST)
    net.blobs['data'].reshape(7, 3)
    net.blobs['label'].reshape(7)
    net.reshape()
    assert net.blobs['ip'].shape == (7, 5)


def test_forward_all_batches_and_pads(tmp_path):
    path = write(tmp_path, '''
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 4 dim: 2 } } }
layer { name: "p" type: "Power" bottom: "x" top: "p" power_param { shift: 1 } }
''')
    net = caffe.Net(path, caffe.TEST)
    x = np.arange(22, dtype=np.float32).reshape(11, 2)
    out = net.forward_all(x=x)
    np.testing.assert_allclose(out['p'], x + 1)


def test_save_and_copy_from_round_trip(ipnet, tmp_path):
    net = caffe.Net(ipnet, caffe.TRAIN)
    path = str(tmp_path / 'w.caffemodel')
    net.save(path)
    other = caffe.Net(ipnet, caffe.TEST, weights=path)
    np.testing.assert_array_equal(other.params['ip'][0].data, net.params['ip'][0].data)
    legacy = caffe.Net(ipnet, path, caffe.TEST)
    np.testing.assert_array_equal(legacy.params['ip'][1].data, net.params['ip'][1].data)


def test_weight_shape_mismatch_names_layer(ipnet, tmp_path):
    net = caffe.Net(ipnet, caffe.TRAIN)
    path = str(tmp_path / 'w.caffemodel')
    net.save(path)
    bigger = write(tmp_path, (IP_NET % {'force': 'false'}).replace('num_output: 5', 'num_output: 6'),
                   'big.prototxt')
    with pytest.raises(WeightsError, match=r"param 0 of layer 'ip'.*\(5, 3\).*\(6, 3\)"):
        caffe.Net(bigger, caffe.TRAIN, weights=path)


def test_prototxt_syntax_error_names_file_line_column(tmp_path):
    path = write(tmp_path, 'name: "x"\nlayer { name: "a" typo_field: 3 }\n')
    with pytest.raises(ParseError) as err:
        caffe.Net(path, caffe.TEST)
    assert err.value.path == path and err.value.line == 2
    assert 'typo_field' in str(err.value) and path in str(err.value)


def test_comments_in_gbk_read_as_caffe_reads_them(tmp_path):
    """Caffe's parser skips comment bytes whatever their encoding; bytes
    that are not UTF-8 inside a string are an error naming the line."""
    path = tmp_path / 'gbk.prototxt'
    path.write_bytes('# 输入层\nlayer { name: "in" type: "Input" top: "data"  # 数据\n'
                     'input_param { shape { dim: 1 dim: 2 } } }\n'.encode('gbk'))
    assert caffe.Net(str(path), caffe.TEST).blobs['data'].data.shape == (1, 2)
    path.write_bytes(b'name: "n\xd6\xd0"\n')
    with pytest.raises(ParseError) as err:
        caffe.Net(str(path), caffe.TEST)
    assert err.value.line == 1 and '\\xd6\\xd0' in str(err.value)
    str(err.value).encode('utf-8')      # printable: no lone surrogates
    path.write_bytes(b'\n\x08\x00\x12\x01')
    with pytest.raises(ParseError, match='not a text prototxt'):
        caffe.Net(str(path), caffe.TEST)


CUSTOM_LAYER_NET = """name: "custom"  # a { in a comment and "layer {" in a string
layer { name: "data" type: "Input" top: "data"
        input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer {
  name: "conv" type: "Convolution" bottom: "data" top: "conv"
  param { name: "up" }
  convolution_param { num_output: 2 kernel_size: 3 }
}
layer {
  name: "up"
  type: "Interp"
  bottom: "conv" top: "up"
}
"""


def test_custom_layer_type_is_refused_naming_file_line_layer_and_type(tmp_path):
    # A Caffe fork's layer (PSPNet's Interp): one line naming where it is;
    # the param spec named "up" in 'conv' is not the layer.
    path = write(tmp_path, CUSTOM_LAYER_NET)
    with pytest.raises(caffe.LayerError) as err:
        caffe.Net(path, caffe.TEST)
    message = str(err.value)
    assert message.startswith("%s:9: layer 'up' (Interp): unknown layer type 'Interp'" % path)
    assert '\n' not in message and 'Convolution' in message


def test_an_unknown_bottom_names_the_file_and_line_of_its_layer(tmp_path):
    # A NetError that belongs to one layer is placed like a LayerError.
    path = write(tmp_path, 'layer {\n  name: "data"\n  type: "Input"\n  top: "data"\n'
                 '  input_param { shape { dim: 1 dim: 2 } } }\n'
                 'layer {\n  name: "fc"\n  type: "InnerProduct"\n  bottom: "dat"\n'
                 '  top: "fc"\n  inner_product_param { num_output: 2 } }\n')
    with pytest.raises(caffe.NetError, match="^%s:6: unknown bottom blob 'dat' \\(layer 'fc'"
                       % path):
        caffe.Net(path, caffe.TEST)


def test_custom_layer_parameters_are_refused_naming_their_layer(tmp_path):
    # ENet's BN layer carries a bn_param that BVLC's caffe.proto lacks: the
    # parse error says which layer (and type) the unknown field sits in.
    path = write(tmp_path, CUSTOM_LAYER_NET.replace('  type: "Interp"\n', '  type: "BN"\n'
                                                    '  bn_param { scale_filler { type: "constant" } }\n'))
    with pytest.raises(ParseError) as err:
        caffe.Net(path, caffe.TEST)
    assert err.value.line == 12
    assert str(err.value).endswith('no field named "bn_param". (in layer \'up\' (BN))')


def test_a_missing_data_source_names_the_layer_once(tmp_path):
    path = write(tmp_path, 'layer { name: "mnist" type: "Data" top: "data" top: "label"\n'
                           '  data_param { source: "none_lmdb" batch_size: 1 backend: LMDB } }\n')
    with pytest.raises(caffe.LayerError) as err:
        caffe.Net(path, caffe.TEST)
    assert str(err.value) == ("%s:1: layer 'mnist' (Data): setup failed: LMDB source none_lmdb "
                              "not found" % path)


def test_a_forks_ceil_mode_is_refused_with_bvlcs_spelling(tmp_path):
    # DenseNet-Caffe's pooling says ceil_mode: false; BVLC's is round_mode: FLOOR.
    path = write(tmp_path, CUSTOM_LAYER_NET.replace('  type: "Interp"\n', '  type: "Pooling"\n'
                                                    '  pooling_param { ceil_mode: false }\n'))
    with pytest.raises(ParseError, match=r"\(in layer 'up' \(Pooling\)\); BVLC Caffe's "
                                         r"pooling says round_mode: FLOOR for ceil_mode: false"):
        caffe.Net(path, caffe.TEST)


def test_layer_line_finds_v0_names_inside_their_nested_layer():
    from caffelite.protoio import layer_line
    text = 'layers {\n  layer { name: "conv1" type: "conv" }\n}\nlayers {\n' \
           '  layer { name: "fc8" }\n}\n'
    assert layer_line(text, 'fc8') == 4 and layer_line(text, 'conv1') == 1
    assert layer_line(text, 'missing') is None


def test_unknown_bottom_is_an_error(tmp_path):
    path = write(tmp_path, 'layer { name: "r" type: "ReLU" bottom: "nope" top: "r" }')
    with pytest.raises(NetError, match="unknown bottom blob 'nope'"):
        caffe.Net(path, caffe.TEST)


def test_loss_layer_without_top_gets_an_automatic_one(tmp_path):
    # Caffe's LossLayer::AutoTopBlobs: a loss with no top (BVLC's
    # pascal_finetune_trainval_test.prototxt) gets an anonymous one, which
    # still counts in the loss and is no output of the net; Caffe names it
    # '(automatic)' in the net's blobs.
    path = write(tmp_path, (IP_NET % {'force': 'false'}).replace(' top: "loss"', ''))
    net = caffe.Net(path, caffe.TRAIN)
    assert net.outputs == [] and net.blobs['(automatic)'].shape == ()
    net.blobs['data'].data[...] = np.arange(12).reshape(4, 3) / 12.0
    net.blobs['label'].data[...] = [0, 1, 2, 3]
    loss = net._forward()
    assert np.isfinite(loss) and loss > 0
    net._backward()
    assert np.abs(net.params['ip'][0].diff).sum() > 0


def test_legacy_input_fields(tmp_path):
    path = write(tmp_path, 'input: "data"\ninput_dim: 2\ninput_dim: 3\ninput_dim: 4\ninput_dim: 5\n'
                           'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }')
    net = caffe.Net(path, caffe.TEST)
    assert net.inputs == ['data'] and net.blobs['data'].shape == (2, 3, 4, 5)


def test_large_caffemodel_over_64mb(tmp_path):
    """protobuf's historical 64 MB cap must not stop VGG-sized files."""
    path = write(tmp_path, '''
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 4200 } } }
layer { name: "ip" type: "InnerProduct" bottom: "x" top: "y"
        inner_product_param { num_output: 4200 bias_term: false } }
''')
    net = caffe.Net(path, caffe.TEST)
    net.params['ip'][0].data[...] = np.arange(4200 * 4200, dtype=np.float32).reshape(4200, 4200) % 977
    weights = str(tmp_path / 'big.caffemodel')
    net.save(weights)
    import os
    assert os.path.getsize(weights) > 64 * 2 ** 20
    loaded = caffe.Net(path, caffe.TEST, weights=weights)
    np.testing.assert_array_equal(loaded.params['ip'][0].data, net.params['ip'][0].data)


def test_blob_memory_outlives_net(ipnet):
    net = caffe.Net(ipnet, caffe.TEST)
    data = net.blobs['data'].data
    del net
    data[...] = 1
    assert data.sum() == 12


def test_net_from_prototxt_text_and_its_errors():
    net = caffe.Net('layer { name: "x" type: "Input" top: "x" '
                    'input_param { shape { dim: 2 } } }', caffe.TEST)
    assert net.blobs['x'].shape == (2,)
    with pytest.raises(ParseError) as err:
        caffe.Net('layer {\n  name: "x" type: Input }', caffe.TEST)
    assert err.value.line == 2 and err.value.path is None
    with pytest.raises(caffe.CaffeError, match='no such network definition file'):
        caffe.Net('missing.prototxt', caffe.TEST)


def lenet(batch_size):
    """LeNet built with NetSpec, on DummyData (also used by test_net_spec)."""
    n = caffe.NetSpec()
    n.data, n.label = L.DummyData(shape=[dict(dim=[batch_size, 1, 28, 28]),
                                         dict(dim=[batch_size, 1, 1, 1])],
                                  transform_param=dict(scale=1. / 255), ntop=2)
    n.conv1 = L.Convolution(n.data, kernel_size=5, num_output=20,
                            weight_filler=dict(type='xavier'))
    n.pool1 = L.Pooling(n.conv1, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.conv2 = L.Convolution(n.pool1, kernel_size=5, num_output=50,
                            weight_filler=dict(type='xavier'))
    n.pool2 = L.Pooling(n.conv2, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.ip1 = L.InnerProduct(n.pool2, num_output=500, weight_filler=dict(type='xavier'))
    n.relu1 = L.ReLU(n.ip1, in_place=True)
    n.ip2 = L.InnerProduct(n.relu1, num_output=10, weight_filler=dict(type='xavier'))
    n.loss = L.SoftmaxWithLoss(n.ip2, n.label)
    return n.to_proto()


def test_save_copy_from_round_trip_and_top_names(tmp_path):
    path = write(tmp_path, str(lenet(2)))
    net = caffe.Net(path, caffe.TRAIN)
    weights = str(tmp_path / 'w.caffemodel')
    net.save(weights)
    other = caffe.Net(path, caffe.TEST, weights=weights)
    for name in net.params:
        for a, b in zip(net.params[name], other.params[name]):
            np.testing.assert_array_equal(a.data, b.data)
    assert net.top_names['conv1'] == ['conv1'] and net.bottom_names['conv1'] == ['data']
    assert isinstance(net.layer_dict['conv1'], caffe.Layer)
    assert list(net._layer_names) == [l.name for l in lenet(2).layer]


def test_forward_start_end_and_blob_arguments(tmp_path):
    net = caffe.Net(write(tmp_path, str(lenet(2))), caffe.TRAIN)
    out = net.forward(end='pool1')
    assert set(out) == {'pool1'}
    out = net.forward(start='conv2', blobs=['ip1'])
    assert set(out) == {'loss', 'ip1'}


FB_NET = '''name: "fb" force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
        inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "tanh" type: "TanH" bottom: "ip" top: "out" }
'''


def per_batch(net, data, dout):
    """pycaffe's semantics by hand: forward then backward each batch of 2
    (the last zero-padded), outputs, ip blobs and input diffs kept."""
    outs, ips, diffs = [], [], []
    for first in range(0, len(data), 2):
        x, dy = np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)
        n = len(data[first:first + 2])
        x[:n], dy[:n] = data[first:first + 2], dout[first:first + 2]
        net.forward(data=x)
        outs.append(net.blobs['out'].data[:n].copy())
        ips.append(net.blobs['ip'].data[:n].copy())
        net.backward(out=dy)
        diffs.append(net.blobs['data'].diff[:n].copy())
    return np.concatenate(outs), np.concatenate(ips), np.concatenate(diffs)


def test_forward_backward_all_is_forward_and_backward_per_batch(tmp_path):
    net = caffe.Net(write(tmp_path, FB_NET), caffe.TRAIN)
    rng = np.random.RandomState(0)
    data, dout = rng.randn(5, 3).astype(np.float32), rng.randn(5, 4).astype(np.float32)
    outs, diffs = net.forward_backward_all(blobs=['ip'], data=data, out=dout)
    assert set(outs) == {'out', 'ip'} and set(diffs) == {'data'}
    expected_out, expected_ip, expected_diff = per_batch(net, data, dout)
    assert outs['out'].shape == (5, 4) and diffs['data'].shape == (5, 3)
    np.testing.assert_array_equal(outs['out'], expected_out)
    np.testing.assert_array_equal(outs['ip'], expected_ip)
    np.testing.assert_array_equal(diffs['data'], expected_diff)
    np.testing.assert_array_equal(outs['out'], net.forward_all(data=data)['out'])
    # d out / d data by hand: (dy * (1 - out^2)) W
    w = net.params['ip'][0].data
    np.testing.assert_allclose(diffs['data'], (dout * (1 - expected_out ** 2)) @ w, rtol=1e-5,
                               atol=1e-6)


def test_forward_backward_all_with_diffs_only_drops_the_padding(tmp_path):
    net = caffe.Net(write(tmp_path, FB_NET), caffe.TRAIN)
    net.blobs['data'].data[...] = 1
    dout = np.random.RandomState(1).randn(3, 4).astype(np.float32)
    outs, diffs = net.forward_backward_all(out=dout)
    assert outs['out'].shape == (3, 4) and diffs['data'].shape == (3, 3)
    with pytest.raises(NetError, match='needs input arrays or output diffs'):
        net.forward_backward_all()


def test_forward_all_without_input_arrays_is_an_error_not_an_endless_loop(tmp_path):
    # pycaffe's _batch fails on no arrays (RuntimeError: generator raised
    # StopIteration); caffelite looped forever.
    net = caffe.Net(write(tmp_path, FB_NET), caffe.TRAIN)
    with pytest.raises(NetError, match="forward_all needs input arrays.*'data'"):
        net.forward_all()


def test_forward_all_of_a_net_with_a_loss_output_names_the_0d_blob(tmp_path):
    # pycaffe fails here with numpy's "iteration over a 0-d array"
    text = FB_NET.replace('top: "data" input_param { shape { dim: 2 dim: 3 } }',
                          'top: "data" top: "target" input_param { shape { dim: 2 dim: 3 } '
                          'shape { dim: 2 dim: 4 } }') + (
        'layer { name: "loss" type: "EuclideanLoss" bottom: "out" bottom: "target" top: "loss" }')
    net = caffe.Net(write(tmp_path, text), caffe.TRAIN)
    with pytest.raises(NetError, match="forward_all: output 'loss' is 0-d"):
        net.forward_all(data=np.zeros((5, 3)), target=np.zeros((5, 4)))
    # code written against pycaffe catches that failure as TypeError
    for call in (net.forward_all, net.forward_backward_all):
        with pytest.raises(TypeError, match="output 'loss' is 0-d"):
            call(data=np.zeros((5, 3)), target=np.zeros((5, 4)))


def test_forward_input_of_the_wrong_shape_names_the_blob(tmp_path):
    net = caffe.Net(write(tmp_path, FB_NET), caffe.TRAIN)
    with pytest.raises(NetError, match=r"blob 'data': cannot set its data \(shape \(2, 3\)\) "
                                       r"from an array of shape \(2, 5\)"):
        net.forward(data=np.zeros((2, 5)))
    with pytest.raises(NetError, match=r"blob 'out': cannot set its diff"):
        net.backward(out=np.zeros((2, 3)))
    net.forward(data=np.ones((2, 1)))        # numpy broadcasting stays allowed
    assert (net.blobs['data'].data == 1).all()


def test_a_layer_missing_a_file_names_the_file_and_the_layer(tmp_path):
    # a mean_file that is not there: numpy's bare FileNotFoundError named no layer
    from PIL import Image
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(str(tmp_path / 'a.png'))
    (tmp_path / 'list.txt').write_text('%s 0\n' % (tmp_path / 'a.png'))
    text = ('layer { name: "images" type: "ImageData" top: "data" top: "label" '
            'transform_param { mean_file: "%s" } image_data_param { source: "%s" '
            'batch_size: 1 is_color: false } }' % (tmp_path / 'no_mean.binaryproto',
                                                  tmp_path / 'list.txt'))
    with pytest.raises(FileNotFoundError, match=r"no_mean.binaryproto .*layer 'images' "
                                                r"\(ImageData\)") as info:
        caffe.Net(write(tmp_path, text), caffe.TRAIN)
    assert isinstance(info.value, RuntimeError)      # as Net's own missing files
    assert info.value.filename == str(tmp_path / 'no_mean.binaryproto')


def test_a_failing_layer_not_found_in_the_text_still_names_the_file(tmp_path):
    """A nameless layer, or one a legacy upgrade made, has no line to give."""
    path = tmp_path / 'nameless.prototxt'
    path.write_text('layer { type: "NoSuchType" }\n')
    with pytest.raises(caffe.errors.LayerError,
                       match=r"^%s: layer '' \(NoSuchType\): unknown layer type" % re.escape(
                           str(path))):
        caffe.Net(str(path), caffe.TEST)
