"""DetectNet's zoo files: what the builder writes, the published geometry,
and GoogLeNet weights loading into the trunk by name."""
import os
import warnings

import numpy as np
import pytest

import caffelite as caffe
from caffelite import zoo
from caffelite.detection import networks
from caffelite.surgery import EditableNet
from caffelite.weights import WeightsWarning

FOLDER = os.path.join(zoo.zoo_dir(), 'detectnet')


def test_zoo_files_are_what_the_builder_writes():
    for name, text in networks.render_zoo().items():
        with open(os.path.join(FOLDER, name), encoding='utf-8') as f:
            assert f.read() == text, 'model_zoo/detectnet/%s: run python -m ' \
                                     'caffelite.detection.networks' % name


def test_deploy_geometry_and_outputs():
    shapes = EditableNet(os.path.join(FOLDER, 'deploy.prototxt')).check()
    assert shapes['data'] == (1, 3, 384, 1248)
    # stride 16: GoogLeNet without pool4
    assert shapes['coverage'] == (1, 1, 24, 78) and shapes['bboxes'] == (1, 4, 24, 78)
    assert shapes['inception_5b/output'] == (1, 1024, 24, 78)
    assert shapes['bbox-list'] == (1, 50, 5)


def test_train_val_phases_and_losses():
    edit = EditableNet(os.path.join(FOLDER, 'train_val.prototxt'))
    layers = {l.name: l for l in edit.layers}
    assert layers['bbox_loss'].type == 'L1Loss' and list(layers['bbox_loss'].loss_weight) == [2]
    assert layers['train_transform'].detectnet_augmentation_param.hue_rotation == 30
    assert layers['val_transform'].detectnet_groundtruth_param.crop_bboxes is False
    assert layers['cluster'].python_param.param_str == '1248, 352, 16, 0.6, 3, 0.02, 22, 1'
    assert list(layers['inception_5a/1x1'].bottom) == ['inception_4e/output']
    solver = caffe.proto.caffe_pb2.SolverParameter()
    caffe.protoio.read_text(os.path.join(FOLDER, 'solver.prototxt'), solver)
    assert solver.type == 'Adam' and list(solver.test_state[0].stage) == ['val']


def test_googlenet_weights_load_by_name(tmp_path):
    googlenet = caffe.Net(zoo.deploy_path('googlenet'), caffe.TEST)
    rng = np.random.RandomState(0)
    for blobs in googlenet.params.values():
        for blob in blobs:
            blob.data[...] = rng.standard_normal(blob.shape)
    weights = str(tmp_path / 'googlenet.caffemodel')
    googlenet.save(weights)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        detectnet = caffe.Net(os.path.join(FOLDER, 'deploy.prototxt'), caffe.TEST,
                              weights=weights)
    # only the two heads are left as initialized (other warnings, such as a
    # ResourceWarning the garbage collector raises for an earlier test's
    # file at this moment, are not this test's)
    caught = [w for w in caught if issubclass(w.category, WeightsWarning)]
    assert [str(w.message).split(': ', 1)[1] for w in caught] == [
        "no weights for layers 'cvg/classifier', 'bbox/regressor' (left as initialized)"]
    shared = [name for name in detectnet.params if name in googlenet.params]
    assert len(shared) == len(detectnet.params) - 2       # all but the two heads
    np.testing.assert_array_equal(detectnet.params['inception_5b/5x5'][0].data,
                                  googlenet.params['inception_5b/5x5'][0].data)


def test_multi_class_wiring():
    param = networks.train_val(networks.small_trunk, 'ds', (64, 32), 8, classes=2)
    edit = EditableNet(param)
    cluster = edit.layer('cluster')
    assert list(cluster.top) == ['bbox-list-class0', 'bbox-list-class1']
    assert cluster.python_param.param_str.endswith(', 2')
    assert [m.dst for m in edit.layer('train_transform')
            .detectnet_groundtruth_param.object_class] == [0, 1]
    assert list(edit.layer('mAP-class1').top) == ['mAP-class1', 'precision-class1',
                                                  'recall-class1']
