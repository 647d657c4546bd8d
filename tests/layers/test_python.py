"""Python layers (caffelite/layers/python.py): ``type: "Python"`` layers
loaded from python_param (tests/pylayers.py) forward, backward, reshape, see
their phase and param_str, learn params, and name the layer when loading
fails, as pycaffe's."""
import numpy as np
import pytest

import caffelite as caffe


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


PYCAFFE_MODULE = '''import caffe
import caffe.io
from caffe import layers as L
from caffe.proto import caffe_pb2


class Twice(caffe.Layer):
    """Written for pycaffe: every caffe name it uses is caffelite's."""

    def setup(self, bottom, top):
        self.names = (caffe, caffe.io, L, caffe_pb2)

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = 2 * bottom[0].data
'''


def test_a_module_written_for_pycaffe_imports_caffe(tmp_path):
    import importlib.machinery
    import sys
    if importlib.machinery.PathFinder.find_spec('caffe') is not None:
        pytest.skip('a package named caffe is installed: it keeps the name')
    (tmp_path / 'pycaffe_twice.py').write_text(PYCAFFE_MODULE)
    net = caffe.Net(net_file(tmp_path, '''name: "n"
        input: "data" input_shape { dim: 2 dim: 3 }
        layer { type: "Python" name: "twice" bottom: "data" top: "out"
          python_param { module: "pycaffe_twice" layer: "Twice" } }'''), caffe.TEST)
    np.testing.assert_allclose(net.forward(data=np.ones((2, 3)))['out'], 2)
    # one set of modules under two names, no second copy
    assert net.layer_dict['twice'].names == (caffe, caffe.io, caffe.layers,
                                             sys.modules['caffelite.proto.caffe_pb2'])
