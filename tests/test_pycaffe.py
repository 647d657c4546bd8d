"""The pycaffe surface, after pycaffe's own test suite: Python layers,
NetSpec, forward/backward, save/copy_from, blob views, io conversions."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import layers as L, params as P


def net_file(tmp_path, text, name='net.prototxt'):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


PYTHON_NET = '''name: "pythonnet" force_backward: true
input: "data" input_shape { dim: 10 dim: 9 dim: 8 }
layer { type: "Python" name: "one" bottom: "data" top: "one"
  python_param { module: "pylayers" layer: "TimesTenLayer" } }
layer { type: "Python" name: "two" bottom: "one" top: "two"
  python_param { module: "pylayers" layer: "TimesTenLayer" } }
layer { type: "Python" name: "three" bottom: "two" top: "three"
  python_param { module: "pylayers" layer: "ParamStrLayer" param_str: "0.5" } }
'''


def test_python_layers_forward_backward_reshape(tmp_path):
    net = caffe.Net(net_file(tmp_path, PYTHON_NET), caffe.TRAIN)
    x = 8
    net.blobs['data'].data[...] = x
    net.forward()
    np.testing.assert_allclose(net.blobs['three'].data, 100 * x + 0.5)
    net.blobs['three'].diff[...] = x
    net.backward()
    np.testing.assert_allclose(net.blobs['data'].diff, 100 * 0.5 * x)
    net.blobs['data'].reshape(2, 3, 4)
    net.reshape()
    assert net.blobs['three'].data.shape == (2, 3, 4)


def test_python_layer_phase_and_params(tmp_path):
    path = net_file(tmp_path, '''
layer { type: "Python" name: "phase" top: "phase"
  python_param { module: "pylayers" layer: "PhaseLayer" } }
input: "x" input_shape { dim: 3 }
layer { type: "Python" name: "scale" bottom: "x" top: "y"
  python_param { module: "pylayers" layer: "LearnedScaleLayer" } }
layer { type: "EuclideanLoss" name: "loss" bottom: "y" bottom: "x" top: "loss" }''')
    for phase in (caffe.TRAIN, caffe.TEST):
        net = caffe.Net(path, phase)
        net.blobs['x'].data[...] = [1, 2, 3]
        net.forward()
        assert net.blobs['phase'].data == phase
    net.clear_param_diffs()
    net.backward()
    # d/dw of sum((w x - x)^2) / (2 * 3) at w = 2: sum(x * x) / 3
    assert net.params['scale'][0].diff[0] == pytest.approx(14 / 3.0)


def test_python_layer_load_error_names_the_layer(tmp_path):
    path = net_file(tmp_path, 'input: "x" input_shape { dim: 1 }\nlayer { type: "Python" '
                    'name: "p" bottom: "x" top: "y" python_param { module: "nope_module" '
                    'layer: "X" } }')
    with pytest.raises(caffe.LayerError, match="'p'.*nope_module"):
        caffe.Net(path, caffe.TEST)


def lenet(batch_size):
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


def test_netspec_builds_lenet(tmp_path):
    proto = lenet(50)
    assert [l.name for l in proto.layer] == ['data', 'conv1', 'pool1', 'conv2', 'pool2',
                                             'ip1', 'relu1', 'ip2', 'loss']
    assert proto.layer[6].top == proto.layer[6].bottom == ['ip1']
    assert proto.layer[1].convolution_param.kernel_size == [5]
    net = caffe.Net(net_file(tmp_path, str(proto)), caffe.TRAIN)
    assert net.blobs['ip2'].data.shape == (50, 10)
    assert len(net.outputs) == 1 and net.outputs[0] == 'loss'


def test_netspec_autonames_and_ntop_zero():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 2]))
    n.out = L.ReLU(L.ReLU(n.data))
    assert [l.name for l in n.to_proto().layer] == ['data', 'ReLU1', 'out']
    # Without a NetSpec, tops are named after their type (pycaffe's to_proto).
    assert [l.name for l in caffe.to_proto(n.out).layer] == ['Input1', 'ReLU1', 'ReLU2']
    silence = L.Silence(n.out, ntop=0)
    assert silence.tops == ()


def test_save_copy_from_round_trip_and_top_names(tmp_path):
    path = net_file(tmp_path, str(lenet(2)))
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
    net = caffe.Net(net_file(tmp_path, str(lenet(2))), caffe.TRAIN)
    out = net.forward(end='pool1')
    assert set(out) == {'pool1'}
    out = net.forward(start='conv2', blobs=['ip1'])
    assert set(out) == {'loss', 'ip1'}


def test_io_conversions_round_trip():
    arr = np.random.RandomState(0).randn(2, 3, 4).astype(np.float32)
    blob = caffe.io.array_to_blobproto(arr)
    np.testing.assert_array_equal(caffe.io.blobproto_to_array(blob), arr)
    vec = caffe.io.arraylist_to_blobprotovector_str([arr, arr[0]])
    back = caffe.io.blobprotovector_str_to_arraylist(vec)
    np.testing.assert_array_equal(back[1], arr[0])
    image = np.random.RandomState(1).randint(0, 255, (3, 5, 4)).astype(np.uint8)
    datum = caffe.io.array_to_datum(image, 7)
    assert datum.label == 7
    np.testing.assert_array_equal(caffe.io.datum_to_array(datum), image)
    with pytest.raises(ValueError):
        caffe.io.array_to_datum(image[0])


def test_transformer_preprocess_deprocess():
    t = caffe.io.Transformer({'data': (1, 3, 4, 5)})
    t.set_transpose('data', (2, 0, 1))
    t.set_channel_swap('data', (2, 1, 0))
    t.set_raw_scale('data', 255)
    t.set_mean('data', np.array([10., 20., 30.]))
    image = np.random.RandomState(2).rand(4, 5, 3).astype(np.float32)
    x = t.preprocess('data', image)
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    np.testing.assert_allclose(x[0], image[:, :, 2] * 255 - 10, rtol=1e-5)
    np.testing.assert_allclose(t.deprocess('data', x), image, rtol=1e-5, atol=1e-6)
    t.set_mean('data', np.zeros((3, 8, 8)))   # pycaffe resizes a mean image of another size
    assert t.mean['data'].shape == (3, 4, 5)
    with pytest.raises(KeyError):
        t.preprocess('nope', image)


def test_oversample_and_resize():
    images = [np.random.RandomState(3).rand(8, 10, 3).astype(np.float32)]
    crops = caffe.io.oversample(images, (4, 6))
    assert crops.shape == (10, 4, 6, 3)
    np.testing.assert_array_equal(crops[0], images[0][:4, :6])
    np.testing.assert_array_equal(crops[5], images[0][:4, :6][:, ::-1])
    np.testing.assert_array_equal(crops[4], images[0][2:6, 2:8])
    flat = np.full((4, 4, 3), 0.3, np.float32)
    np.testing.assert_allclose(caffe.io.resize_image(flat, (7, 2)), 0.3)
    ramp = np.tile(np.linspace(0, 1, 4, dtype=np.float32)[None, :, None], (2, 1, 1))
    up = caffe.io.resize_image(ramp, (2, 8))
    assert up.shape == (2, 8, 1) and np.all(np.diff(up[0, 1:-1, 0]) >= 0)
