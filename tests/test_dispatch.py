"""The one dispatch between host and GPU halves, and the pairing of
ops/<name>.py with kernels/<name>.cu and tests/kernels/test_<name>.py."""
import importlib
import pathlib

import numpy as np

import fake_cupy
import kernel_harness
from caffelite import dispatch

OPS = pathlib.Path(dispatch.__file__).parent / 'ops'
TESTS = pathlib.Path(__file__).parent / 'kernels'


def op_modules():
    return sorted(p.stem for p in OPS.glob('*.py') if p.stem != '__init__')


def test_every_op_module_pairs_with_its_kernels_and_their_tests():
    kernels = sorted(p.stem for p in kernel_harness.KERNELS.glob('*.cu'))
    tests = sorted(p.stem[len('test_'):] for p in TESTS.glob('test_*.py'))
    assert op_modules() == kernels == tests


def test_every_op_has_both_halves_and_launches_only_its_own_kernels():
    for name in op_modules():
        module = importlib.import_module('caffelite.ops.' + name)
        ops = [v for v in vars(module).values() if isinstance(v, dispatch.Op)]
        assert ops, name
        for op in ops:
            assert op.host is not None and op.device is not None, (name, op.__name__)
        assert module.launch.args == (name,)


def test_the_first_array_argument_chooses_the_half(monkeypatch):
    cupy = fake_cupy.install(monkeypatch)
    calls = []

    @dispatch.op
    def double(xs, k):
        calls.append('host')
        return [x * k for x in xs]

    @double.gpu
    def double(xs, k):
        calls.append('gpu')
        return [x * k for x in xs]

    assert double.__name__ == 'double' and isinstance(double, dispatch.Op)
    double([np.ones(2)], 2)
    double([cupy.ones(2)], 2)
    double((cupy.ones(2), np.ones(2)), k=3)
    assert calls == ['host', 'gpu', 'gpu']
