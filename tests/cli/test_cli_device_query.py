"""``caffelite device_query`` as Caffe's: nothing queried without -gpu, Caffe's lines
for each listed device, one error line for a device that does not exist."""
import pytest

import fake_cupy
from caffelite.cli import main


def _messages(err):
    """The glog messages of stderr, without the 'I1201 hh:mm:ss pid file:line] ' head."""
    return [line.split('] ', 1)[1] for line in err.splitlines() if '] ' in line]


@pytest.fixture
def two_gpus(monkeypatch):
    """The fake CuPy with two devices whose properties are CuPy's dict on CUDA."""
    cupy = fake_cupy.install(monkeypatch)
    props = dict(name=b'Fake H100', major=9, minor=0, totalGlobalMem=80 << 30,
                 sharedMemPerBlock=49152, regsPerBlock=65536, warpSize=32,
                 maxThreadsPerBlock=1024, maxThreadsDim=(1024, 1024, 64),
                 maxGridSize=(2147483647, 65535, 65535), clockRate=1980000,
                 totalConstMem=65536, textureAlignment=512, deviceOverlap=1,
                 multiProcessorCount=132, kernelExecTimeoutEnabled=0)
    runtime = cupy.cuda.runtime
    monkeypatch.setattr(runtime, 'getDeviceCount', lambda: 2, raising=False)
    monkeypatch.setattr(runtime, 'getDeviceProperties', lambda i: dict(props), raising=False)
    monkeypatch.setattr(runtime, 'deviceGetAttribute',
                        lambda attr, i: 2147483647 if attr == 11 else None, raising=False)
    return cupy


def test_without_gpu_flag_queries_nothing_and_succeeds(capsys):
    assert main(['device_query']) == 0
    assert _messages(capsys.readouterr().err) == ['Querying GPUs ']


def test_listed_device_prints_caffes_lines(two_gpus, capsys):
    assert main(['device_query', '-gpu', '1']) == 0
    assert _messages(capsys.readouterr().err) == [
        'Querying GPUs 1',
        'Device id:                     1',
        'Major revision number:         9',
        'Minor revision number:         0',
        'Name:                          Fake H100',
        'Total global memory:           85899345920',
        'Total shared memory per block: 49152',
        'Total registers per block:     65536',
        'Warp size:                     32',
        'Maximum memory pitch:          2147483647',
        'Maximum threads per block:     1024',
        'Maximum dimension of block:    1024, 1024, 64',
        'Maximum dimension of grid:     2147483647, 65535, 65535',
        'Clock rate:                    1980000',
        'Total constant memory:         65536',
        'Texture alignment:             512',
        'Concurrent copy and execution: Yes',
        'Number of multiprocessors:     132',
        'Kernel execution timeout:      No']


def test_all_queries_every_device(two_gpus, capsys):
    assert main(['device_query', '-gpu', 'all']) == 0
    messages = _messages(capsys.readouterr().err)
    assert messages[0] == 'Querying GPUs all'
    assert [m for m in messages if m.startswith('Device id:')] == [
        'Device id:                     0', 'Device id:                     1']


def test_missing_device_is_one_error_line(two_gpus, capsys):
    assert main(['device_query', '-gpu', '0,2']) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ('caffelite device_query: error: -gpu 0,2: there is no GPU 2 '
                       '(this machine has 2 CUDA devices: 0..1)')
    assert not any('Device id' in line for line in err)


def test_gpu_flag_without_cuda_is_one_error_line(capsys):
    from caffelite import backend
    if backend.gpu_available():
        pytest.skip('a GPU is present')
    assert main(['device_query', '-gpu', '0']) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        "caffelite device_query: error: -gpu 0: no CUDA device to query: caffelite runs "
        "in CPU mode here (a GPU needs CuPy and an NVIDIA device: pip install "
        "'caffelite[gpu]')")


def test_train_test_and_time_name_the_gpu_in_caffes_words(two_gpus, tmp_path, capsys,
                                                          monkeypatch):
    from caffelite import backend
    monkeypatch.setattr(backend, '_state', dict(backend._state))     # GPU mode undone after
    (tmp_path / 'net.prototxt').write_text(
        'layer { name: "x" type: "DummyData" top: "x" dummy_data_param { shape { dim: 2 } } }\n'
        'layer { name: "loss" type: "Reduction" bottom: "x" top: "loss" loss_weight: 1 }\n')
    (tmp_path / 'solver.prototxt').write_text(
        'net: "%s"\nbase_lr: 0\nmax_iter: 1\nlr_policy: "fixed"\nsnapshot_prefix: "%s"\n'
        % (tmp_path / 'net.prototxt', tmp_path / 'snap'))
    assert main(['train', '-solver', str(tmp_path / 'solver.prototxt'), '-gpu', '1']) == 0
    err = capsys.readouterr().err
    said = _messages(err)
    at = said.index('Using GPUs 1')
    assert said[at + 1] == 'GPU 1: Fake H100'
    assert '\ndevice_id: 1\n' in err       # caffe.cpp's set_device_id(gpus[0])
    assert main(['time', '-model', str(tmp_path / 'net.prototxt'), '-gpu', '0',
                 '-iterations', '1']) == 0
    said = _messages(capsys.readouterr().err)
    at = said.index('Use GPU with device ID 0')
    assert said[at + 1] == 'GPU device name: Fake H100'
