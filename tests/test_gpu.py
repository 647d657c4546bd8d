"""GPU mode (CuPy + kernels/*.cu): every layer's GPU forward and backward
equal the CPU's, and the layer, model, gradient-check, data-layer and solver
tests of rerun.py pass on the GPU (Caffe's reference cases among them); a
LeNet solver follows the CPU trajectory. Skipped without CuPy and a CUDA
device."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import backend
from caffelite.blob import Blob
from conftest import REFERENCE
from refcases import reference_path
from layer_helpers import forward_backward
from rerun import collect_again, gradient_cases

pytestmark = pytest.mark.gpu

collect_again(globals())

# Every gradient-check case of the layer test modules (tests/layers/).
LAYER_CASES = gradient_cases()


@pytest.fixture(autouse=True)
def gpu():
    caffe.set_mode_gpu()
    yield
    caffe.set_mode_cpu()


def assert_gpu_matches_cpu(case):
    """Run one layer case in CPU mode, then in GPU mode with the same params;
    tops, bottom diffs and param diffs must agree."""
    caffe.set_mode_cpu()
    layer, bottom, top = case.build(1)
    expected = forward_backward(layer, bottom, top, case.checked)
    caffe.set_mode_gpu()
    gpu_layer, gpu_bottom, gpu_top = case.build(1)
    for mine, theirs in zip(gpu_layer.blobs, layer.blobs):
        mine.data[...] = theirs.data
    got = forward_backward(gpu_layer, gpu_bottom, gpu_top, case.checked)
    assert type(gpu_top[0].xdata).__module__.startswith('cupy')
    for ours, ref in zip(sum(got, []), sum(expected, [])):
        np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('case', LAYER_CASES, ids=[c.id for c in LAYER_CASES])
def test_layer_gpu_equals_cpu(case):
    assert_gpu_matches_cpu(case)


def test_lenet_solver_follows_the_cpu():
    folder = reference_path('solvers', 'sgd_inv')
    batches = np.load(REFERENCE / 'solvers' / 'batches.npz')
    losses = {}
    for mode in (caffe.set_mode_cpu, caffe.set_mode_gpu):
        mode()
        solver = caffe.get_solver(str(folder / 'solver.prototxt'))
        solver.net.copy_from(str(REFERENCE / 'solvers' / 'init.caffemodel'))
        run_losses = []
        for t in range(15):
            solver.net.blobs['data'].data[...] = batches['data'][t]
            solver.net.blobs['label'].data[...] = batches['label'][t]
            solver.step(1)
            run_losses.append(float(solver.net.blobs['loss'].data))
        losses[mode] = run_losses
    np.testing.assert_allclose(losses[caffe.set_mode_gpu], losses[caffe.set_mode_cpu], rtol=1e-3)


def test_blob_syncs_lazily():
    blob = Blob((2, 3))
    blob.data[...] = 1                   # written on the host
    device = blob.gpu_data               # copied to the device once
    assert float(device.sum()) == 6
    device += 1                          # the device copy is now newer
    assert blob._data.head == 'device'
    assert blob.data.sum() == 12         # copied back only when asked
    assert backend.mode() == backend.GPU
