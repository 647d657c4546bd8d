"""The GPU code paths, run on the CPU: with a stand-in for CuPy that is as
strict as CuPy about host and device data, and the host-compiled kernels,
GPU mode must pass the layer, model, gradient, data-layer and solver tests
(rerun.py), give the CPU's numbers layer by layer, and copy nothing to the
host in a forward or backward pass. (test_gpu.py repeats the numeric checks
on a real GPU.)"""
import numpy as np
import pytest

import caffelite as caffe
import fake_cupy
from caffelite import cuda
from caffelite.ops import neuron
from refcases import reference_path, run_model_case
from rerun import collect_again
from test_gpu import LAYER_CASES, assert_gpu_matches_cpu

# The solver trajectories' GPU-path reruns take about half of this module's
# time: the default run leaves them to --runslow (CI); their kernels are
# tested in tests/kernels/test_solver_updates.py, the trajectories on the CPU.
collect_again(globals(), slow=('test_solver',))


@pytest.fixture(autouse=True)
def fake_gpu(monkeypatch):
    fake_cupy.install(monkeypatch)
    caffe.set_mode_gpu()
    yield
    caffe.set_mode_cpu()


@pytest.mark.parametrize('case', LAYER_CASES, ids=[c.id for c in LAYER_CASES])
def test_layer_gpu_path_equals_cpu(case):
    assert_gpu_matches_cpu(case)


def test_blob_sync_in_gpu_mode():
    blob = caffe.Blob((2, 3))
    blob.data[...] = 1                  # host write
    device = blob.xdata                 # current mode: copied to the device once
    assert type(device).__module__ == 'cupy' and float(device.sum()) == 6
    device += 1
    assert blob._data.head == 'device'  # nothing copied back yet
    assert blob.data.sum() == 12        # until the host asks


def test_stand_in_refuses_host_data_like_cupy():
    import cupy
    device, host = cupy.zeros(3, np.float32), np.ones(3, np.float32)
    misuses = (lambda: np.asarray(device), lambda: device + host, lambda: np.dot(device, host),
               lambda: cupy.concatenate([device, host]), lambda: device.__setitem__(0, host[:1]))
    for misuse in misuses:
        with pytest.raises(TypeError):
            misuse()
    assert type(device.sum()).__module__ == 'cupy'


def test_kernel_launch_checks_the_c_signature():
    import cupy
    relu = cuda._module('neuron').get_function('relu_forward')
    x, y = cupy.zeros(4, np.float32), cupy.zeros(4, np.float32)
    relu((1,), (4,), (np.int32(4), x, np.float32(0), y))
    bad_launches = ((np.int32(4), x, 0.0, y),                       # CuPy sends a double
                    (np.int32(4), x, np.float32(0), cupy.zeros(4, np.float64)),
                    (np.int32(4), x.get(), np.float32(0), y),          # host array
                    (np.int32(4), x, np.float32(0)))
    for args in bad_launches:
        with pytest.raises(AssertionError):
            relu((1,), (4,), args)


def load_model_case(case):
    """A reference model with its input set and its outputs' diffs at 1."""
    net, spec, data = run_model_case(reference_path('models', case))
    blob = net.blobs[spec['input']]
    blob.reshape(spec['input_shape'])
    blob.data[...] = data['input:' + spec['input']]
    net.reshape()
    for name in net.outputs:
        net.blobs[name].diff[...] = 1
    return net


@pytest.mark.parametrize('case', ['googlenet', 'squeezenet_v1.1', 'resnet50', 'fcn32s'])
def test_gpu_passes_copy_nothing_to_the_host(case):
    net = load_model_case(case)
    fake_cupy.transfers.clear()
    net._forward()
    net._backward()
    assert fake_cupy.transfers['device_to_host'] == 0
    assert fake_cupy.transfers['scalar_read'] == 0


def test_a_host_fallback_in_a_layer_fails(monkeypatch):
    import cupy

    def relu_on_the_host(x, slope, out=None):
        return cupy.asarray(np.maximum(np.asarray(x), 0))
    monkeypatch.setattr(neuron, 'relu_forward', relu_on_the_host)
    net = load_model_case('squeezenet_v1.1')
    with pytest.raises(caffe.LayerError, match="'relu_conv1'.*Implicit conversion"):
        net._forward()


def test_kernel_launch_refuses_more_elements_than_int32_indexes():
    with pytest.raises(caffe.CaffeError, match='relu_forward: 2147483648 elements'):
        cuda.launch('neuron', 'relu_forward', 2 ** 31)
