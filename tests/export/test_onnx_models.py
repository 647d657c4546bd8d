"""Whole networks exported to ONNX: the BVLC reference models (ONNX
Runtime against Caffe's recorded blobs, and against caffelite), every
model-zoo deploy net with synthetic weights (the heavy ones at reduced
size), the real LeNet on real digits, and legacy V0/V1 nets."""
import json
import pathlib

import numpy as np
import pytest

import caffelite
from caffelite.export import build_model, check_model
from caffelite.net import load_net_param
from caffelite.zoo import deploy_path, list_models
from conftest import REFERENCE
from export_helpers import run_onnx
from refcases import assert_close, reference_path, run_model_case, synthetic_weights

# Too slow at full size for CI (hundreds of MB of weights, or FCN's 500x500
# input): the reference test marks them slow.
HEAVY = {'caffenet', 'alexnet', 'vgg16', 'fcn32s'}
# Zoo nets whose layers and parameters (fillers aside) are a reference model
# case's, which test_reference_model runs at full size.
REFERENCE_TWINS = {'caffenet', 'alexnet', 'googlenet', 'resnet50', 'squeezenet1.1', 'fcn32s'}
RECORDED_TYPES = ('Pooling', 'Eltwise', 'Concat', 'InnerProduct', 'Crop', 'Deconvolution')


def recorded_blobs(net):
    """Tops of the layer types the reference records, beyond the outputs."""
    return [t for layer in net.layers if layer.type in RECORDED_TYPES
            for t in layer.layer_param.top]


def reference_cases():
    folder = REFERENCE / 'models'
    names = sorted(p.name for p in folder.iterdir()) if folder.exists() else []
    return [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n for n in names] or [
        '(no reference data)']


@pytest.mark.parametrize('case', reference_cases())
def test_reference_model(case):
    """ONNX Runtime on Caffe's input gives Caffe's recorded blobs at the
    whole-model tolerance, and caffelite's."""
    folder = reference_path('models', case)
    net, info, data = run_model_case(folder)
    net.blobs[info['input']].reshape(info['input_shape'])
    net.reshape()
    recorded = [k[5:] for k in data.files if k.startswith('blob:')]
    model = build_model(net, extra_outputs=recorded)
    feed = {info['input']: data['input:' + info['input']]}
    got = run_onnx(model, feed)
    for blob in recorded:
        assert_close(got[blob], data['blob:' + blob], 1e-3, 1e-4, '%s %s' % (case, blob))
    check_model(model, net, feeds=[feed], random=False)


def reduced(name):
    """A zoo deploy net small enough for CI: no layer wider than 128
    outputs, and VGG's and FCN's inputs shrunk (VGG at 112 makes pool5 a
    ceil-mode 7 -> 4). Every layer, its type, parameters and connections
    are kept; the full-width nets are the reference models' test and
    test_zoo_model_full_size."""
    param = load_net_param(deploy_path(name))
    for layer in param.layer:
        for p in (layer.inner_product_param, layer.convolution_param):
            if p.num_output > 128:
                p.num_output = 128
        if layer.type == 'Input':
            dims = layer.input_param.shape[0].dim
            if name == 'vgg16':
                dims[2] = dims[3] = 112
            if name == 'fcn32s':
                dims[2], dims[3] = 64, 80
    return param


@pytest.mark.parametrize('name', list_models())
def test_zoo_model(name):
    """Every model-zoo deploy net (reduced): exported at batch 1 (not the
    prototxt's), checked, and equal to caffelite on its recorded-type
    blobs."""
    net = caffelite.Net(reduced(name), caffelite.TEST)
    synthetic_weights(net)
    model = build_model(net, batch=1, extra_outputs=recorded_blobs(net))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 1
    check_model(model, net)


@pytest.mark.slow
@pytest.mark.parametrize('name', sorted(set(list_models()) - REFERENCE_TWINS))
def test_zoo_model_full_size(name):
    """The zoo nets whose full-size twin is not a reference model case."""
    net = caffelite.Net(deploy_path(name), caffelite.TEST)
    synthetic_weights(net)
    check_model(build_model(net, batch=1), net)


def _digits(count):
    """The first ``count`` reference digit images (28x28, 0-255) and labels."""
    root = reference_path('data')
    from caffelite import io
    lines = (root / 'train.txt').read_text().split('\n')[:count]
    paths, labels = zip(*(line.rsplit(' ', 1) for line in lines))
    images = np.stack([io.load_image(str(root / 'images' / p), color=False)[:, :, 0]
                       for p in paths])
    return (images * 255.0)[:, None].astype(np.float32), np.array(labels, int)


def test_real_lenet_on_real_digits():
    """Caffe's trained LeNet (it expects pixels scaled to [0, 1]): ONNX
    Runtime classifies the digits as caffelite does, and correctly."""
    weights = reference_path('weights', 'lenet_iter_10000.caffemodel')
    net = caffelite.Net(str(reference_path('models', 'lenet_real', 'net.prototxt')),
                        caffelite.TEST, weights=str(weights))
    images, labels = _digits(64)
    model = build_model(net, batch='dynamic')
    check_model(model, net, feeds=[{'data': images / 255.0}])
    prob = run_onnx(model, {'data': images / 255.0})['prob']
    # These digits are not MNIST's; the MNIST LeNet still reads most.
    assert (prob.argmax(axis=1) == labels).mean() > 0.7
    np.testing.assert_allclose(prob, net.forward_all(data=images / 255.0)['prob'],
                               rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('case', ['lenet_v1', 'tiny_v0'])
def test_legacy_net_exports_after_upgrade(case):
    """Legacy V1/V0 prototxt and caffemodel, upgraded on load, export and
    give Caffe's outputs at the per-layer tolerance."""
    folder = reference_path('legacy', case)
    info = json.loads((folder / 'case.json').read_text())
    data = np.load(folder / 'data.npz')
    net = caffelite.Net(str(folder / 'net.prototxt'), caffelite.TEST,
                        weights=str(folder / 'weights.caffemodel'))
    model = build_model(net)
    got = run_onnx(model, {info['input']: data['input:' + info['input']]})
    for blob in info['outputs']:
        assert_close(got[blob], data['blob:' + blob], 1e-4, 1e-5, '%s %s' % (case, blob))


DETECTNET_HEAD = '''
    layer { name: "deploy_transform" type: "Power" bottom: "data" top: "transformed_data"
            power_param { shift: -127 } }
    layer { name: "conv1" type: "Convolution" bottom: "transformed_data" top: "conv1"
            convolution_param { num_output: 8 kernel_size: 4 stride: 4 } }
    layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
    layer { name: "conv2" type: "Convolution" bottom: "conv1" top: "conv2"
            convolution_param { num_output: 8 kernel_size: 4 stride: 4 } }
    layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
    layer { name: "pool5/drop_s1" type: "Dropout" bottom: "conv2" top: "pool5/drop_s1"
            dropout_param { dropout_ratio: 0.4 } }
    layer { name: "cvg/classifier" type: "Convolution" bottom: "pool5/drop_s1"
            top: "cvg/classifier" convolution_param { num_output: 1 kernel_size: 1 } }
    layer { name: "coverage/sig" type: "Sigmoid" bottom: "cvg/classifier" top: "coverage" }
    layer { name: "bbox/regressor" type: "Convolution" bottom: "pool5/drop_s1" top: "bboxes"
            convolution_param { num_output: 4 kernel_size: 1 } }
    layer { name: "cluster" type: "Python" bottom: "coverage" bottom: "bboxes"
            top: "bbox-list" python_param { module: "caffe.layers.detectnet.clustering"
            layer: "ClusterDetections" param_str: "192, 128, 16, 0.6, 1, 1.0, 8, 1" } }'''


def test_detectnet_deploy_with_clustering_after_onnx_runtime(tmp_path):
    """DetectNet's deploy head (mean shift, stride-16 trunk, coverage and
    bbox maps, NVIDIA's ClusterDetections): the graph ends at coverage and
    bboxes, and the clustering run on ONNX Runtime's outputs gives
    caffelite's boxes."""
    from caffelite.export import postprocess, to_onnx
    from export_helpers import make_net
    net = make_net({'data': (1, 3, 128, 192)}, DETECTNET_HEAD)
    # Coverage over the threshold in most cells and 24-pixel boxes around
    # each, near enough (eps 1) to their neighbours' to group.
    net.params['cvg/classifier'][0].data[...] *= 0.02
    net.params['cvg/classifier'][1].data[...] = 1
    net.params['bbox/regressor'][0].data[...] *= 0.01
    net.params['bbox/regressor'][1].data[...] = [-4, -4, 20, 20]
    path = tmp_path / 'detectnet.onnx'
    model = to_onnx(net, path, python_tail=True, check=True)
    assert [o.name for o in model.graph.output] == ['coverage', 'bboxes']
    image = np.random.RandomState(0).uniform(0, 255, (1, 3, 128, 192)).astype(np.float32)
    boxes = postprocess(str(path), run_onnx(model, {'data': image}))['bbox-list']
    expected = net.forward(data=image)['bbox-list']
    assert expected[0, 0, 4] > np.log(2)     # a box grouped from several proposals
    np.testing.assert_allclose(boxes, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.slow
def test_detectnet_zoo_deploy_exports_with_its_clustering_tail(tmp_path):
    """The zoo's full DetectNet deploy net (GoogLeNet trunk at 1248x384)
    with synthetic weights: exported with its clustering left to
    postprocess, and equal to caffelite through ONNX Runtime."""
    from caffelite.export import to_onnx
    from caffelite.resources import shipped_dir
    deploy = pathlib.Path(shipped_dir('model_zoo', 'manifest.json')) / 'detectnet' / 'deploy.prototxt'
    net = caffelite.Net(str(deploy), caffelite.TEST)
    synthetic_weights(net)
    model = to_onnx(net, tmp_path / 'detectnet.onnx', python_tail=True, check=True)
    assert {o.name for o in model.graph.output} == {'coverage', 'bboxes'}
