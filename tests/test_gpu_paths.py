"""The GPU code paths, run on the CPU: with a NumPy-backed stand-in for CuPy
and the host-compiled kernels, GPU mode must give the CPU's numbers for
layers, whole nets and a solver. (test_gpu.py repeats this on a real GPU.)"""
import numpy as np
import pytest

import caffelite as caffe
import fake_cupy
from conftest import REFERENCE
from refcases import check_model_case, reference_path
from test_gradients import CASES
from test_gpu import assert_gpu_matches_cpu


@pytest.fixture
def fake_gpu(monkeypatch):
    fake_cupy.install(monkeypatch)
    caffe.set_mode_gpu()
    yield
    caffe.set_mode_cpu()


@pytest.mark.parametrize('name, definition, makers, checked, options', CASES,
                         ids=[c[0] for c in CASES])
def test_layer_gpu_path_equals_cpu(name, definition, makers, checked, options, fake_gpu):
    assert_gpu_matches_cpu(name, definition, makers, checked)


@pytest.mark.parametrize('case', ['lenet_real', 'squeezenet_v1.1', 'resnet50', 'googlenet'])
def test_model_case_gpu_path(case, fake_gpu):
    check_model_case(reference_path('models', case), kink_sensitive=case == 'googlenet')


@pytest.mark.parametrize('case', ['sgd_inv', 'nesterov_step', 'adagrad_fixed', 'rmsprop_exp_l1',
                                  'adadelta', 'adam_multistep'])
def test_solver_gpu_path(case, fake_gpu):
    folder = reference_path('solvers', case)
    batches = np.load(REFERENCE / 'solvers' / 'batches.npz')
    solver = caffe.get_solver(str(folder / 'solver.prototxt'))
    solver.net.copy_from(str(REFERENCE / 'solvers' / 'init.caffemodel'))
    losses = []
    for t in range(5):
        solver.net.blobs['data'].data[...] = batches['data'][t]
        solver.net.blobs['label'].data[...] = batches['label'][t]
        solver.step(1)
        losses.append(float(solver.net.blobs['loss'].data))
    ref = np.load(folder / 'losses.npy')[:5]
    np.testing.assert_allclose(losses, ref, rtol=1e-3, atol=1e-3)


def test_blob_sync_in_gpu_mode(fake_gpu):
    blob = caffe.Blob((2, 3))
    blob.data[...] = 1                  # host write
    device = blob.xdata                 # current mode: copied to the device once
    assert type(device).__module__ == 'cupy' and float(device.sum()) == 6
    device += 1
    assert blob._data.head == 'device'  # nothing copied back yet
    assert blob.data.sum() == 12        # until the host asks
