"""Every kernels/*.cu file compiles for a Hopper GPU with NVIDIA's compiler
(prelude.cuh first, as caffelite.cuda hands it to CuPy), warning-free, and
exports each kernel unmangled with the parameter list that the fake CuPy
checks launches against. No GPU is needed; skips without nvcc."""
import pathlib
import re
import shutil
import subprocess

import pytest

import kernel_harness
from fake_cupy import kernel_signature

MODULES = sorted(p.stem for p in kernel_harness.KERNELS.glob('*.cu'))
PTX_TYPES = {'int': ('.u32', '.s32'), 'float': ('.f32',), 'double': ('.f64',)}


def nvcc():
    path = shutil.which('nvcc')
    if path is None:
        pytest.skip('no nvcc to compile the CUDA kernels')
    return path


def ptx_of(module, tmp_path):
    source = tmp_path / (module + '.cu')
    source.write_text((kernel_harness.KERNELS / 'prelude.cuh').read_text() + '\n'
                      + (kernel_harness.KERNELS / (module + '.cu')).read_text())
    out = tmp_path / (module + '.ptx')
    result = subprocess.run([nvcc(), '-arch=sm_90', '--std=c++14', '-ptx', '--Werror',
                             'all-warnings', str(source), '-o', str(out)],
                            capture_output=True, text=True)
    assert result.returncode == 0, 'nvcc rejected %s.cu:\n%s' % (module, result.stderr)
    return out.read_text()


@pytest.mark.parametrize('module', MODULES)
def test_kernels_compile_for_the_gpu(module, tmp_path):
    ptx = ptx_of(module, tmp_path)
    entries = dict(re.findall(r'\.entry (\w+)\(([^)]*)\)', ptx))
    declared = re.findall(r'KERNEL\s+void\s+(\w+)', (kernel_harness.KERNELS / (module + '.cu'))
                          .read_text())
    assert sorted(entries) == sorted(declared)
    for name in declared:
        params = re.findall(r'\.param (\.\w+)', entries[name])
        expected = kernel_signature(module, name)
        assert len(params) == len(expected), name
        for got, (ctype, pointer) in zip(params, expected):
            assert got in (('.u64',) if pointer else PTX_TYPES[ctype]), (name, got, ctype)


def test_the_package_ships_these_kernel_sources():
    """What caffelite.cuda hands to CuPy (installed or from a checkout) is
    the source compiled and host-tested here."""
    from caffelite import cuda
    shipped = pathlib.Path(cuda.kernels_dir())
    for source in list(kernel_harness.KERNELS.glob('*.cu')) + [kernel_harness.KERNELS /
                                                              'prelude.cuh']:
        assert (shipped / source.name).read_text() == source.read_text(), source.name
