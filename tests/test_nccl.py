"""Multi-GPU training as Caffe does it (parallel.cpp, python/train.py): one
solver process per GPU joined by NCCL, gradients summed and scaled by
1/solver_count, rank 0's weights broadcast at the start, each solver reading
its own share of the records, rank 0 alone testing and snapshotting. Here
the GPUs are tests/fake_cupy.py and NCCL is tests/fake_nccl.py, whose
communicators really exchange buffers between processes; test_two_gpus
repeats the comparison on real GPUs."""
import multiprocessing
import os
import signal
import threading
import time

import numpy as np
import pytest

import caffelite as caffe
import fake_cupy
import fake_nccl
from caffelite import backend, parallel
from caffelite.cli import main
from caffelite.io import array_to_datum
from caffelite.errors import CaffeRuntimeError
from caffelite.layers.data import DatabaseSource
from caffelite.databases import LmdbWriter

RECORDS = 40
NET = '''name: "tiny"
layer { name: "data" type: "Data" top: "data" top: "label"
  transform_param { scale: 0.00390625 }
  data_param { source: "%(lmdb)s" backend: LMDB batch_size: %(batch)d } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "xavier" } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
  inner_product_param { num_output: 3 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
'''
SOLVER = '''net: "%(net)s"
type: "SGD" base_lr: 0.1 momentum: 0.9 weight_decay: 0.001 lr_policy: "fixed"
max_iter: 10 display: 5 random_seed: 7 snapshot: 10 snapshot_prefix: "%(prefix)s"
layer_wise_reduce: %(layer_wise)s
'''


@pytest.fixture(scope='module')
def lmdb(tmp_path_factory):
    """40 random 1x8x8 images with labels 0..2, record i keyed i."""
    path = str(tmp_path_factory.mktemp('nccl') / 'lmdb')
    rng = np.random.RandomState(3)
    with LmdbWriter(path) as db:
        for i in range(RECORDS):
            image = rng.randint(0, 256, (1, 8, 8)).astype(np.uint8)
            db.put('%08d' % i, array_to_datum(image, i % 3).SerializeToString())
    return path


def solver_file(folder, name, lmdb, batch, layer_wise=True):
    os.makedirs(folder / name, exist_ok=True)
    net = folder / name / 'net.prototxt'
    net.write_text(NET % dict(lmdb=lmdb, batch=batch))
    path = folder / name / 'solver.prototxt'
    path.write_text(SOLVER % dict(net=net, prefix=folder / name / 'snap',
                                  layer_wise='true' if layer_wise else 'false'))
    return str(path)


@pytest.fixture
def fake_gpus(monkeypatch, tmp_path):
    """GPU mode on fake CuPy with fake NCCL; the process state put back after."""
    fake = fake_cupy.install(monkeypatch)
    fake_nccl.install(monkeypatch, fake, tmp_path)
    monkeypatch.setattr(backend, '_state', dict(backend._state))
    monkeypatch.setattr(parallel, 'START_METHOD', 'fork')   # children keep the fakes
    yield
    caffe.set_mode_cpu()


def weights(net):
    return {name: [b.data.copy() for b in blobs] for name, blobs in net.params.items()}


def saved_weights(path, net_file):
    net = caffe.Net(net_file, caffe.TEST, weights=path)
    return weights(net)


def assert_same_weights(a, b, rtol=1e-4, atol=1e-6):
    assert a.keys() == b.keys()
    for name in a:
        for x, y in zip(a[name], b[name]):
            np.testing.assert_allclose(x, y, rtol=rtol, atol=atol, err_msg=name)


def one_solver_with_twice_the_batch(tmp_path, lmdb):
    """The reference: a single solver whose batch is the two ranks' together."""
    caffe.set_mode_gpu()
    solver = caffe.SGDSolver(solver_file(tmp_path, 'one', lmdb, batch=8))
    solver.step(10)
    return weights(solver.net)


def train_py_solve(rank, proto, gpus, uid, out):
    """BVLC python/train.py's ``solve`` (without timing), then save weights."""
    caffe.set_device(gpus[rank])
    caffe.set_mode_gpu()
    caffe.set_solver_count(len(gpus))
    caffe.set_solver_rank(rank)
    caffe.set_multiprocess(True)
    solver = caffe.SGDSolver(proto)
    nccl = caffe.NCCL(solver, uid)
    nccl.bcast()
    solver.add_callback(nccl)
    if solver.param.layer_wise_reduce:
        solver.net.after_backward(nccl)
    solver.step(solver.param.max_iter)
    np.savez(out % rank, *[b.data for blobs in solver.net.params.values() for b in blobs])


def train_py(proto, gpus, out, start_method):
    """BVLC python/train.py's ``train``: one process per GPU, one uid."""
    uid = caffe.NCCL.new_uid()
    context = multiprocessing.get_context(start_method)
    procs = [context.Process(target=train_py_solve, args=(rank, proto, gpus, uid, out))
             for rank in range(len(gpus))]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [proc.exitcode for proc in procs] == [0] * len(gpus)
    return [list(np.load(out % rank).values()) for rank in range(len(gpus))]


def as_layers(arrays, like):
    it = iter(arrays)
    return {name: [next(it) for _ in blobs] for name, blobs in like.items()}


@pytest.mark.parametrize('layer_wise', [True, False], ids=['layer_wise', 'whole_buffer'])
def test_two_ranks_train_as_one_with_twice_the_batch(fake_gpus, tmp_path, lmdb, layer_wise):
    proto = solver_file(tmp_path, 'two', lmdb, batch=4, layer_wise=layer_wise)
    ranks = train_py(proto, [0, 0], str(tmp_path / 'rank%d.npz'), 'fork')
    reference = one_solver_with_twice_the_batch(tmp_path, lmdb)
    for arrays in ranks:
        assert_same_weights(as_layers(arrays, reference), reference)
    # NCCL's all-reduce leaves identical gradients on every rank.
    for a, b in zip(*ranks):
        np.testing.assert_array_equal(a, b)
    # Only rank 0 snapshots (Caffe::root_solver()).
    assert sorted(os.listdir(tmp_path / 'two')) == [
        'net.prototxt', 'snap_iter_10.caffemodel', 'snap_iter_10.solverstate', 'solver.prototxt']


def test_cli_gpu_list_trains_as_caffe_does(fake_gpus, tmp_path, lmdb, capfd):
    proto = solver_file(tmp_path, 'two', lmdb, batch=4)
    assert main(['train', '-solver', proto, '-gpu', '0,1']) == 0
    log = capfd.readouterr().err
    assert 'Using GPUs 0, 1' in log and 'Optimization Done.' in log
    # Rank 0 alone displays its loss (iterations 0, 5 and the final 10).
    assert log.count(', loss = ') == 3
    reference = one_solver_with_twice_the_batch(tmp_path, lmdb)
    trained = saved_weights(str(tmp_path / 'two' / 'snap_iter_10.caffemodel'),
                            str(tmp_path / 'two' / 'net.prototxt'))
    assert_same_weights(trained, reference)


def test_a_failing_rank_stops_the_run(fake_gpus, tmp_path, lmdb, capfd):
    proto = solver_file(tmp_path, 'two', lmdb, batch=4)
    (tmp_path / 'two' / 'net.prototxt').write_text(NET % dict(lmdb=tmp_path / 'none', batch=4))
    assert main(['train', '-solver', proto, '-gpu', '0,1']) == 1
    err = capfd.readouterr().err
    assert 'LMDB source' in err and 'solver rank' in err


def test_ctrl_c_stops_rank_0_and_the_waiting_ranks(fake_gpus, tmp_path, lmdb, monkeypatch):
    """SIGINT reaches the parent; rank 0 stops (snapshotting, as Caffe's
    default -sigint_effect stop does) and the other ranks, left waiting in
    an all-reduce, are stopped after the grace period."""
    proto = solver_file(tmp_path, 'two', lmdb, batch=4)
    text = open(proto).read().replace('max_iter: 10', 'max_iter: 3000')
    # No periodic snapshots: on a slow machine the interrupt can come after
    # iteration 10, and only the snapshot of the stop is looked for.
    text = text.replace('snapshot: 10 ', 'snapshot: 0 ')
    open(proto, 'w').write(text.replace('display: 5', 'display: 1'))
    monkeypatch.setattr(parallel, 'GRACE_SECONDS', 0.5)
    log = tmp_path / 'two' / 'snap_log.jsonl'

    def interrupt_once_training():
        deadline = time.monotonic() + 60
        while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)
    threading.Thread(target=interrupt_once_training, daemon=True).start()
    started = time.monotonic()
    assert main(['train', '-solver', proto, '-gpu', '0,1']) == 0
    assert time.monotonic() - started < 60
    snapshots = [f for f in os.listdir(tmp_path / 'two') if f.endswith('.caffemodel')]
    assert len(snapshots) == 1 and int(snapshots[0][len('snap_iter_'):-len('.caffemodel')]) < 3000


def images(source, n):
    return [source.next_item()[0] for _ in range(n)]


@pytest.mark.parametrize('rank,count,expected', [(0, 1, [0, 1, 2, 3, 4]),
                                                 (0, 2, [0, 2, 4, 6, 8]),
                                                 (1, 2, [1, 3, 5, 7, 9]),
                                                 (2, 3, [2, 5, 8, 11, 14])])
def test_each_solver_reads_its_own_records(lmdb, rank, count, expected):
    """Caffe's DataLayer::Skip: rank r of n keeps record k when k % n == r."""
    every = images(DatabaseSource(lmdb, 'lmdb', 0, 'data'), 15)
    mine = images(DatabaseSource(lmdb, 'lmdb', 0, 'data', (rank, count)), 5)
    assert all(np.array_equal(a, every[k]) for a, k in zip(mine, expected))


def test_resumed_ranks_keep_their_shares(lmdb):
    """Only rank 0 snapshots: rank 1 resumes from rank 0's position one
    record further, so the two still read disjoint records."""
    every = images(DatabaseSource(lmdb, 'lmdb', 0, 'data'), 12)
    rank0 = DatabaseSource(lmdb, 'lmdb', 0, 'data', (0, 2))
    images(rank0, 3)                                    # records 0, 2, 4
    rank1 = DatabaseSource(lmdb, 'lmdb', 0, 'data', (1, 2))
    rank1.seek(rank0.position())
    assert all(np.array_equal(a, every[k]) for a, k in zip(images(rank1, 3), (7, 9, 11)))
    assert all(np.array_equal(a, every[k]) for a, k in zip(images(rank0, 3), (6, 8, 10)))


def test_a_worker_resumes_its_own_share_with_its_own_randomness(tmp_path, lmdb, monkeypatch):
    """Every rank restores rank 0's snapshot (caffe train -gpu 0,1 -snapshot):
    rank 1 continues with its records and keeps its own generator."""
    monkeypatch.setattr(backend, '_state', dict(backend._state))
    caffe.set_solver_count(2)
    proto = solver_file(tmp_path, 'two', lmdb, batch=4)
    root = caffe.SGDSolver(proto)
    root.step(2)                                        # read records 0, 2, ... 14
    _, state = root.snapshot()
    caffe.set_solver_rank(1)
    worker = caffe.SGDSolver(proto)
    own_rng = backend.rng().get_state()[1].copy()
    worker.restore(state)
    np.testing.assert_array_equal(backend.rng().get_state()[1], own_rng)
    worker.net.forward(end='data')
    every = images(DatabaseSource(lmdb, 'lmdb', 0, 'data'), 24)
    expected = np.stack([every[k] for k in (17, 19, 21, 23)]) * np.float32(0.00390625)
    np.testing.assert_allclose(worker.net.blobs['data'].data, expected, rtol=1e-6)


def test_data_layer_shares_records_in_train_nets_only(fake_gpus, tmp_path, lmdb):
    caffe.set_solver_count(2)
    caffe.set_solver_rank(1)
    path = tmp_path / 'net.prototxt'
    path.write_text(NET % dict(lmdb=lmdb, batch=5))
    train = caffe.Net(str(path), caffe.TRAIN)
    test = caffe.Net(str(path), caffe.TEST)
    train.forward(end='data')
    test.forward(end='data')
    assert list(train.blobs['label'].data) == [k % 3 for k in (1, 3, 5, 7, 9)]
    assert list(test.blobs['label'].data) == [k % 3 for k in range(5)]


def test_hdf5_data_shares_rows_as_caffe(tmp_path, monkeypatch):
    """HDF5DataLayer::Skip: rank r of n keeps row k when k % n == r (TRAIN)."""
    h5py = pytest.importorskip('h5py')
    monkeypatch.setattr(backend, '_state', dict(backend._state))
    with h5py.File(tmp_path / 'rows.h5', 'w') as f:
        f['label'] = np.arange(6, dtype=np.float32)
    (tmp_path / 'list.txt').write_text('%s\n' % (tmp_path / 'rows.h5'))
    path = tmp_path / 'net.prototxt'
    path.write_text('layer { name: "h" type: "HDF5Data" top: "label" '
                    'hdf5_data_param { source: "%s" batch_size: 2 } }' % (tmp_path / 'list.txt'))
    caffe.set_solver_count(2)
    caffe.set_solver_rank(1)
    train, test = caffe.Net(str(path), caffe.TRAIN), caffe.Net(str(path), caffe.TEST)
    assert [list(train.forward()['label']) for _ in range(3)] == [[1, 3], [5, 1], [3, 5]]
    assert list(test.forward()['label']) == [0, 1]


def test_layer_wise_reduce_refuses_shared_weights(fake_gpus, tmp_path, lmdb):
    proto = solver_file(tmp_path, 'shared', lmdb, batch=4)
    net = tmp_path / 'shared' / 'net.prototxt'
    net.write_text(net.read_text().replace(
        'layer { name: "loss"',
        'layer { name: "ip_b" type: "InnerProduct" bottom: "pool" top: "ip_b" '
        'param { name: "w" } param { name: "b" } inner_product_param { num_output: 3 } }\n'
        'layer { name: "ip_c" type: "InnerProduct" bottom: "pool" top: "ip_c" '
        'param { name: "w" } param { name: "b" } inner_product_param { num_output: 3 } }\n'
        'layer { name: "loss"'))
    caffe.set_mode_gpu()
    solver = caffe.SGDSolver(proto)
    with pytest.raises(RuntimeError, match='Layer-wise reduce is not supported'):
        caffe.NCCL(solver, caffe.NCCL.new_uid())


def test_only_the_root_solver_solves_and_snapshots(fake_gpus, tmp_path, lmdb):
    caffe.set_mode_gpu()
    caffe.set_solver_count(2)
    caffe.set_solver_rank(1)
    solver = caffe.SGDSolver(solver_file(tmp_path, 'worker', lmdb, batch=4))
    with pytest.raises(RuntimeError, match='only the root solver'):
        solver.solve()
    with pytest.raises(RuntimeError, match='only the root solver'):
        solver.snapshot()


def test_has_nccl_follows_cupy(monkeypatch, tmp_path):
    fake = fake_cupy.install(monkeypatch)
    monkeypatch.setitem(__import__('sys').modules, 'cupy.cuda.nccl', None)
    assert caffe.has_nccl() is False
    with pytest.raises(RuntimeError, match='NCCL'):
        caffe.NCCL.new_uid()
    fake_nccl.install(monkeypatch, fake, tmp_path)
    assert caffe.has_nccl() is True
    assert isinstance(caffe.NCCL.new_uid(), bytes) and len(caffe.NCCL.new_uid()) == 128


@pytest.mark.gpu
def test_two_gpus(tmp_path, lmdb):
    """The same comparison through CuPy's real NCCL (NCCL refuses two ranks
    on one device, so this needs two GPUs)."""
    import cupy
    if cupy.cuda.runtime.getDeviceCount() < 2 or not caffe.has_nccl():
        pytest.skip('needs two GPUs and NCCL')
    proto = solver_file(tmp_path, 'two', lmdb, batch=4)
    ranks = train_py(proto, [0, 1], str(tmp_path / 'rank%d.npz'), 'spawn')
    try:
        reference = one_solver_with_twice_the_batch(tmp_path, lmdb)
    finally:
        caffe.set_mode_cpu()
    assert_same_weights(as_layers(ranks[0], reference), reference, rtol=1e-3, atol=1e-5)


def test_ranks_that_all_fail_at_once_are_a_failure():
    """Every rank already gone when the parent first looks (each refused the
    same missing database at once): a failure naming a rank, not a run that
    ended (it said 'Optimization Done.' and exited 0, about 1 run in 30)."""
    context = multiprocessing.get_context(parallel.START_METHOD)
    procs = [context.Process(target=os._exit, args=(1,)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join()
    with pytest.raises(CaffeRuntimeError, match='solver rank 0 failed'):
        parallel._wait(procs, None, 0.01)
