"""DetectNet's layers in GPU mode, run on the CPU through the strict CuPy
stand-in (tests/fake_cupy.py): the same numbers as in CPU mode, tops on the
device."""
import numpy as np
import pytest

import caffelite as caffe
import fake_cupy
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2
from google.protobuf import text_format
from test_detectnet_layers import TRUTH, labels


@pytest.fixture(autouse=True)
def cpu_after(monkeypatch):
    fake_cupy.install(monkeypatch)
    yield
    caffe.set_mode_cpu()


def run(mode, text, bottoms, phase=caffe_pb2.TEST):
    mode()
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    param.phase = phase
    layer = create_layer(param)
    bottom = []
    for x in bottoms:
        bottom.append(caffe.Blob(x.shape))
        bottom[-1].data[...] = x
    top = [caffe.Blob() for _ in range(2 if 'Transformation' in text else 1)]
    layer.layer_setup(bottom, top)
    layer.layer_forward(bottom, top)
    on_device = type(top[0].xdata).__module__.startswith('cupy')
    if 'L1Loss' in text:
        top[0].diff[...] = 1.5
        layer.layer_backward(top, [True, True], bottom)
        return on_device, [top[0].data.copy(), bottom[0].diff.copy(), bottom[1].diff.copy()]
    return on_device, [t.data.copy() for t in top]


def test_l1_loss_gpu_equals_cpu():
    rng = np.random.RandomState(0)
    bottoms = [rng.standard_normal((2, 4, 3, 5)).astype(np.float32) for _ in range(2)]
    text = 'name: "l1" type: "L1Loss"'
    _, cpu = run(caffe.set_mode_cpu, text, bottoms)
    on_device, gpu = run(caffe.set_mode_gpu, text, bottoms)
    assert on_device
    for a, b in zip(gpu, cpu):
        np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize('phase', [caffe_pb2.TEST, caffe_pb2.TRAIN])
def test_transformation_gpu_equals_cpu(phase):
    text = ('name: "t" type: "DetectNetTransformation" detectnet_groundtruth_param { %s } '
            'detectnet_augmentation_param { flip_prob: 0.5 scale_prob: 0.5 shift_x: 8 } '
            'transform_param { mean_value: 127 }' % TRUTH)
    images = np.random.RandomState(1).uniform(0, 255, (3, 3, 64, 128)).astype(np.float32)
    rows = labels([(10, 5, 40, 30, 1), (60, 20, 20, 20, 2)], [(0, 0, 64, 64, 1)], [])
    caffe.set_random_seed(7)
    _, cpu = run(caffe.set_mode_cpu, text, [images, rows], phase)
    caffe.set_random_seed(7)
    on_device, gpu = run(caffe.set_mode_gpu, text, [images, rows], phase)
    assert on_device and cpu[1][:, 0].any()
    for a, b in zip(gpu, cpu):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)
