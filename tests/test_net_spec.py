"""pycaffe's NetSpec: building nets in Python (LeNet, automatic names,
ntop=0), and its namespace: ``caffe.layers`` (L) and ``caffe.params`` (P)
are NetSpec's objects, separate from the layer implementation package
``caffelite.layers``, whose modules they still reach by name."""
import subprocess
import sys
import textwrap

import pytest

import caffelite as caffe
from caffelite import layers as L, net_spec, params as P
from test_net import lenet, write

WORKTREE = str(__import__('pathlib').Path(caffe.__file__).resolve().parents[1])


def test_caffe_layers_and_params_are_net_specs():
    assert caffe.layers is net_spec.layers and L is net_spec.layers
    assert caffe.params is net_spec.params and P.Pooling.MAX == 0
    conv = L.Convolution(L.Input(), num_output=3)
    assert [layer.type for layer in conv.to_proto().layer] == ['Input', 'Convolution']


def test_implementation_package_is_plain():
    implementation = sys.modules['caffelite.layers']
    assert implementation is not caffe.layers
    assert not hasattr(implementation, '__getattr__')
    assert callable(implementation.create_layer)
    # A lowercase name of one of its modules is that module, through NetSpec's L.
    assert caffe.layers.vision is sys.modules['caffelite.layers.vision']
    assert callable(caffe.layers.convolution)   # no such module: a layer type, as pycaffe


def test_python_layer_subpackage_resolves_under_caffe_layers(tmp_path):
    """NVIDIA's DetectNet names its Python layers ``caffe.layers.detectnet.*``:
    a subpackage of the implementation package is reached through
    ``caffe.layers`` both before and after an explicit import, and importing
    it does not rebind ``caffelite.layers``."""
    package = tmp_path / 'detectnet'
    package.mkdir()
    (package / '__init__.py').write_text('')
    for module, cls in (('clustering', 'ClusterDetections'), ('mean_ap', 'ScoreDetections')):
        (package / (module + '.py')).write_text(
            'import caffelite\n\nclass %s(caffelite.Layer):\n    pass\n' % cls)
    script = textwrap.dedent('''
        import importlib, sys
        import caffelite as caffe
        sys.modules['caffelite.layers'].__path__.append(%r)
        assert caffe.layers.detectnet.__name__ == 'caffelite.layers.detectnet'
        import caffelite.layers.detectnet.clustering
        import caffelite.net_spec
        assert caffelite.layers is caffelite.net_spec.layers, caffelite.layers
        assert caffe.layers.detectnet.clustering.ClusterDetections.__name__ == 'ClusterDetections'
        module = importlib.import_module('caffelite.layers.detectnet.mean_ap')
        assert caffe.layers.detectnet.mean_ap is module and caffe.layers is caffelite.net_spec.layers
        assert caffe.layers.Convolution(caffe.layers.Input()).fn.type_name == 'Convolution'
        print('ok')
    ''' % str(tmp_path))
    result = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                            env={'PYTHONPATH': WORKTREE, 'PATH': '/usr/bin:/bin'})
    assert result.stdout.strip() == 'ok', result.stderr


def test_netspec_builds_lenet(tmp_path):
    proto = lenet(50)
    assert [l.name for l in proto.layer] == ['data', 'conv1', 'pool1', 'conv2', 'pool2',
                                             'ip1', 'relu1', 'ip2', 'loss']
    assert proto.layer[6].top == proto.layer[6].bottom == ['ip1']
    assert proto.layer[1].convolution_param.kernel_size == [5]
    net = caffe.Net(write(tmp_path, str(proto)), caffe.TRAIN)
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


def test_a_parameter_of_the_wrong_type_is_protobufs_type_error():
    # pycaffe lets protobuf's TypeError through; caffelite retried the name on
    # the LayerParameter and raised a misleading AttributeError('num_output')
    n = caffe.NetSpec()
    n.data = caffe.layers.Input(shape=dict(dim=[1, 2]))
    n.ip = caffe.layers.InnerProduct(n.data, num_output='ten')
    with pytest.raises(TypeError, match='integer'):
        n.to_proto()
