"""Conformance: whole networks (LeNet and open_nsfw with real weights,
CaffeNet, AlexNet, GoogLeNet, ResNet-50, SqueezeNet, FCN-32s with Caffe's
synthetic weights) and legacy V0/V1 files give Caffe's blobs and gradients."""
import pytest

from conftest import REFERENCE
from refcases import check_model_case, reference_path

FAST = ['lenet_real', 'squeezenet_v1.1', 'open_nsfw_real']
SLOW = ['caffenet', 'alexnet', 'googlenet', 'resnet50', 'fcn32s']
# open_nsfw's input gradient is 3.3e-2 from Caffe's (relative L2) with
# OpenBLAS's Sandybridge, Nehalem and SkylakeX kernels and 5.5e-2 with its
# Haswell and Zen kernels: the forward's last-bit rounding flips ReLU and
# max-pool near-ties (PyTorch in float64 is 3.5e-2 from Caffe). OpenBLAS's
# single-threaded Haswell kernels, which caffelite's CPU threads call
# (caffelite.threads), round differently again: 6.2e-2.
INPUT_GRADIENT_L2 = {'open_nsfw_real': 0.07}


@pytest.mark.parametrize('case', FAST + [pytest.param(c, marks=pytest.mark.slow) for c in SLOW])
def test_model_case(case):
    check_model_case(reference_path('models', case),
                     max_l2=INPUT_GRADIENT_L2.get(case, 0.05))


@pytest.mark.parametrize('case', ['lenet_v1', 'tiny_v0'])
def test_legacy_case(case):
    check_model_case(reference_path('legacy', case), rel=1e-4, abs_scale=1e-5)


def test_every_reference_model_is_covered():
    if not (REFERENCE / 'models').exists():
        pytest.skip('Caffe reference data not found')
    recorded = {p.name for p in (REFERENCE / 'models').iterdir() if p.is_dir()}
    assert recorded == set(FAST + SLOW)
