"""Brain surgery: EditableNet's edits and rule checks, and the FC -> conv
conversion's properties on CaffeNet's geometry and on the trained LeNet."""
import os

import numpy as np
import pytest

import caffelite as caffe
from caffelite.surgery import EditableNet, SurgeryError, to_fully_convolutional
from conftest import reference_path

ZOO = os.path.join(os.path.dirname(__file__), '..', '..', 'model_zoo')


def zoo(name):
    return os.path.join(ZOO, name, 'deploy.prototxt')


def caffenet_slim(tmp_path):
    """CaffeNet's geometry with 1/16 of its channels, random weights:
    (deploy path, caffemodel path)."""
    edit = EditableNet(zoo('caffenet'))
    edit.set('data', input_param=dict(shape=[dict(dim=[1, 3, 227, 227])]))
    for name in ('conv1', 'conv2', 'conv3', 'conv4', 'conv5'):
        layer = edit.layer(name)
        layer.convolution_param.num_output //= 16
    for name in ('fc6', 'fc7'):
        edit.layer(name).inner_product_param.num_output //= 16
    edit.layer('fc8').inner_product_param.num_output = 10
    deploy = str(tmp_path / 'slim.prototxt')
    edit.save(deploy)
    net = caffe.Net(deploy, caffe.TEST)
    rng = np.random.RandomState(0)
    for blobs in net.params.values():
        for blob in blobs:
            blob.data[...] = rng.standard_normal(blob.shape) * (1.0 / np.sqrt(blob.count / blob.shape[0]))
    weights = str(tmp_path / 'slim.caffemodel')
    net.save(weights)
    return deploy, weights


def test_caffenet_fcn_map_is_8x8_at_451():
    param, _ = to_fully_convolutional(zoo('caffenet'), input_size=(451, 451))
    shapes = EditableNet(param).check()
    assert shapes['prob'] == (10, 1000, 8, 8)
    assert [l.name for l in param.layer if l.type == 'Convolution'][-3:] == [
        'fc6-conv', 'fc7-conv', 'fc8-conv']
    assert shapes['fc6-conv'][2:] == (8, 8) and shapes['pool5'][2:] == (13, 13)


def check_fcn_property(deploy, weights, big, last_spatial, first_fc, rng):
    """The FCN on the original size equals the original net; on ``big`` each
    cell equals the original classifier on the matching window of
    ``last_spatial``."""
    original = caffe.Net(deploy, caffe.TEST, weights=weights)
    size = original.blobs['data'].shape[2:]
    param, fcn_weights = to_fully_convolutional(deploy, weights)
    fcn = caffe.Net(param, caffe.TEST, weights=fcn_weights)
    x = rng.uniform(-1, 1, original.blobs['data'].shape).astype(np.float32)
    want = original.forward(data=x)['prob']
    got = fcn.forward(data=x)['prob']
    assert got.shape == want.shape + (1, 1)
    np.testing.assert_allclose(got[..., 0, 0], want, rtol=1e-4, atol=1e-6)
    fcn.blobs['data'].reshape(1, original.blobs['data'].shape[1], *big)
    fcn.reshape()
    x = rng.uniform(-1, 1, fcn.blobs['data'].shape).astype(np.float32)
    maps = fcn.forward(data=x)['prob'][0]
    spatial = fcn.blobs[last_spatial].data[0]
    window = original.blobs[last_spatial].shape[2:]
    original.blobs['data'].reshape(1, *original.blobs['data'].shape[1:])
    original.reshape()
    for i, j in [(0, 0), (maps.shape[1] - 1, maps.shape[2] - 1), (1, maps.shape[2] // 2)]:
        original.blobs[last_spatial].data[0] = spatial[:, i:i + window[0], j:j + window[1]]
        cell = original.forward(start=first_fc)['prob'][0]
        np.testing.assert_allclose(maps[:, i, j], cell, rtol=1e-4, atol=1e-6)
    assert size == tuple(original.blobs['data'].shape[2:])
    return maps.shape


def test_fcn_property_on_caffenet_geometry(tmp_path):
    deploy, weights = caffenet_slim(tmp_path)
    shape = check_fcn_property(deploy, weights, (451, 451), 'pool5', 'fc6',
                               np.random.RandomState(1))
    assert shape == (10, 8, 8)


def test_fcn_property_on_trained_lenet():
    weights = str(reference_path('weights', 'lenet_iter_10000.caffemodel'))
    shape = check_fcn_property(zoo('lenet'), weights, (60, 44), 'pool2', 'ip1',
                               np.random.RandomState(2))
    assert shape == (10, 9, 5)


def test_edits_and_the_data_must_flow_rule():
    edit = EditableNet(zoo('lenet'))
    assert edit.line_of('conv1') is not None
    edit.rename_layer('ip2', 'classifier')
    edit.set('classifier', inner_product_param=dict(num_output=3))
    edit.insert_layer('name: "drop" type: "Dropout" bottom: "ip1" top: "ip1"', after='relu1')
    assert edit.check()['prob'][1] == 3
    # fields not named keep their values
    edit.set('conv1', convolution_param=dict(num_output=8))
    assert list(edit.layer('conv1').convolution_param.kernel_size) == [5]
    assert edit.check()['conv1'][1] == 8
    edit.remove_layer('pool2')             # bridged: ip1 now reads conv2
    assert list(edit.layer('ip1').bottom) == ['conv2']
    edit.check()
    broken = EditableNet(zoo('lenet'))
    broken.remove_layer('pool1', reconnect=False)
    with pytest.raises(SurgeryError) as e:
        broken.check()
    message = str(e.value)
    assert "layer 'conv2', blob 'pool1': no layer produces this bottom" in message
    assert 'deploy.prototxt:%d' % broken.line_of('conv2') in message


def test_cycles_order_and_unused_tops_are_named():
    edit = EditableNet(zoo('lenet'))
    edit.layer('conv1').bottom[0] = 'pool1'
    problems, _ = edit.problems()
    assert problems[0].layer == 'conv1' and 'cycle' in problems[0].message
    edit = EditableNet(zoo('lenet'))
    edit.insert_layer('name: "extra" type: "ReLU" bottom: "ip2" top: "late"', before='conv1')
    problems, _ = edit.problems()
    assert ("produced only later, by layer 'ip2'" in problems[0].message
            and problems[0].blob == 'ip2')
    edit = EditableNet(zoo('lenet'))
    edit.insert_layer('name: "side" type: "ReLU" bottom: "pool2" top: "dangling"',
                      after='pool2')
    problems, _ = edit.problems()
    assert problems[0].blob == 'dangling' and 'reaches no output' in problems[0].message
    assert edit.problems(outputs=['prob', 'dangling'])[0] == []


def test_the_math_matters_rule_names_layer_shapes_and_line():
    edit = EditableNet(zoo('lenet'))
    edit.set('conv2', convolution_param=dict(kernel_size=[20]))
    with pytest.raises(SurgeryError) as e:
        edit.check()
    problem = e.value.problems[0]
    assert problem.layer == 'conv2' and problem.line == edit.line_of('conv2')
    assert 'pool1 64x20x12x12' in problem.message
