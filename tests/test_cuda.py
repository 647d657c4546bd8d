"""caffelite.cuda: the kernel signatures parsed from kernels/*.cu, and
launch's checks and conversions of named arguments against them (run
through the strict CuPy stand-in, whose kernels are host-compiled)."""
import pathlib

import numpy as np
import pytest

import fake_cupy
import kernel_harness
from caffelite import cuda
from caffelite.errors import CaffeError


@pytest.fixture
def cupy(monkeypatch):
    return fake_cupy.install(monkeypatch)


def test_signatures_name_types_pointers_and_constness():
    relu = cuda.signatures('neuron')['relu_forward']
    assert relu == (cuda.Param('n', 'int', False, False), cuda.Param('x', 'float', True, True),
                    cuda.Param('slope', 'float', False, False),
                    cuda.Param('y', 'float', True, False))
    assert cuda.signatures('blocks')['channel_partial_sums'][-1] == \
        cuda.Param('sum_sq', 'double', True, False)


def test_signatures_refuse_what_a_launch_cannot_pass():
    with pytest.raises(CaffeError, match=r'k.cu: kernel bad has a parameter .*short'):
        cuda.parse_signatures('KERNEL void bad(int n, short s) {}', 'k.cu')
    with pytest.raises(CaffeError, match='must take its element count'):
        cuda.parse_signatures('KERNEL void bad(const float* x, int n) {}', 'k.cu')


def test_launch_orders_and_converts_named_arguments(cupy):
    x = cupy.asarray(np.array([[-1, 2], [3, -4]], np.float64).T)   # float64, not contiguous
    y = cupy.empty(4, np.float32)
    cuda.launch('neuron', 'relu_forward', 4, y=y, slope=0, x=x)   # any order; an int slope
    np.testing.assert_array_equal(y.get(), [0, 3, 2, 0])


def test_launch_refuses_wrong_arguments(cupy):
    x, y = cupy.zeros(4, np.float32), cupy.zeros(4, np.float32)
    bad = [(dict(x=x, y=y), r'takes \(x, slope, y\); got \(x, y\)'),
           (dict(x=x, slope=0.5, y=y, z=y), 'got'),
           (dict(x=x.get(), slope=0.5, y=y), 'x needs a device array'),
           (dict(x=x, slope=x, y=y), 'slope must be a number'),
           (dict(x=x, slope=0.5, y=cupy.zeros(4, np.float64)), 'output y must be a C-contiguous'
                                                                ' float32 array'),
           (dict(x=x, slope=0.5, y=cupy.zeros(8, np.float32)[::2]), 'not contiguous')]
    for named, message in bad:
        with pytest.raises(CaffeError, match=message):
            cuda.launch('neuron', 'relu_forward', 4, **named)
    with pytest.raises(CaffeError, match='lanes must be a 32-bit int, got 2.5'):
        cuda.launch('neuron', 'prelu_slope_partial', 4, x=x, dy=x, channels=1, outer=1,
                    inner=4, lanes=2.5, partial=y)
    with pytest.raises(CaffeError, match='no such kernel'):
        cuda.launch('neuron', 'relu', 4, x=x)


def test_the_package_ships_these_kernel_sources():
    """What caffelite.cuda hands to CuPy (installed or from a checkout) is
    the source compiled and host-tested here."""
    shipped = pathlib.Path(cuda.kernels_dir())
    for source in list(kernel_harness.KERNELS.glob('*.cu')) + [kernel_harness.KERNELS /
                                                              'prelude.cuh']:
        assert (shipped / source.name).read_text() == source.read_text(), source.name
