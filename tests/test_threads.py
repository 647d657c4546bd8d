"""caffelite.threads: chunks shared by lanes, BLAS threads per operation,
and layers that split their work giving the one-thread result."""
import os
import threading
import time

import numpy as np
import pytest

import caffelite as caffe
import fake_cupy
from caffelite import threads


def test_every_chunk_runs_once_and_lanes_have_their_own_ids(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    seen, lanes_of_thread = [], {}
    release = threading.Barrier(2, timeout=10)

    def chunk(i, lane):
        if i < 2:
            release.wait()      # both lanes hold a chunk at the same time
        seen.append(i)
        lanes_of_thread.setdefault(threading.get_ident(), set()).add(lane)
    threads.run_chunks(chunk, 9, 2)
    assert sorted(seen) == list(range(9))
    assert sorted(map(sorted, lanes_of_thread.values())) == [[0], [1]]


def test_a_chunk_error_reaches_the_caller_after_every_lane_stops(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    done = []

    def chunk(i, lane):
        if i == 3:
            raise ValueError('chunk 3')
        time.sleep(0.001)
        done.append(i)
    with pytest.raises(ValueError, match='chunk 3'):
        threads.run_chunks(chunk, 8, 2)
    finished = list(done)
    time.sleep(0.05)
    assert done == finished and 3 not in done and len(set(done)) == len(done)


def test_nested_chunks_run_in_their_lane(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    inner = []
    threads.run_chunks(lambda i, lane: threads.run_chunks(
        lambda j, sub: inner.append((lane, sub)), 3, 2), 2, 2)
    assert len(inner) == 6 and all(sub == 0 for _, sub in inner)


def _loadavg(monkeypatch, tmp_path, running):
    """Point threads at a /proc/loadavg stand-in with ``running`` runnable
    tasks (the reader included); returns its path."""
    loadavg = tmp_path / 'loadavg'
    loadavg.write_text('2.00 1.50 1.00 %d/120 4242\n' % running)
    monkeypatch.setattr(threads, 'LOADAVG', str(loadavg))
    return loadavg


def test_lanes_by_size_and_items(monkeypatch, tmp_path):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(threads, '_others', [0.0])    # an idle machine
    _loadavg(monkeypatch, tmp_path, 1)
    big = threads.MIN_SPLIT_MACS
    assert threads.lanes(big - 1, 64) == 1          # small: one thread
    assert threads.lanes(big, 64) == 2
    assert threads.lanes(big, 1) == 1               # one item cannot be shared
    chunk = threads.CHUNK_MACS
    assert threads.parts(2, 64, 100 * chunk) == 2 * threads.CHUNKS_PER_LANE
    assert threads.parts(2, 64, 5 * chunk) == 5      # each chunk keeps CHUNK_MACS
    assert threads.parts(2, 64, chunk) == 2          # but every lane gets one
    assert threads.parts(2, 1, 100 * chunk) == 1 and threads.parts(1, 64, 100 * chunk) == 1
    monkeypatch.setenv('CAFFELITE_THREADS', '1')
    assert threads.lanes(big, 64) == 1
    assert threads.slices(10, 3) == [slice(0, 3), slice(3, 6), slice(6, 10)]


def test_blas_threads_are_set_for_a_block_and_restored():
    libraries = threads._blas_libraries()
    assert len(libraries) >= 1
    before = [lib.num_threads for lib in libraries]
    with threads.blas_threads(1):
        assert [lib.num_threads for lib in libraries] == [1] * len(libraries)
    assert [lib.num_threads for lib in libraries] == before


def test_a_gpu_pass_leaves_blas_alone(monkeypatch):
    fake_cupy.install(monkeypatch)
    caffe.set_mode_gpu()
    try:
        assert isinstance(threads.net_pass(), type(threads.contextlib.nullcontext()))
    finally:
        caffe.set_mode_cpu()


NET = '''force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: %d dim: 4 dim: 9 dim: 9 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 stride: 2 group: 2
                            weight_filler { type: "gaussian" std: 0.3 }
                            bias_filler { type: "gaussian" std: 0.3 } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "up" type: "Deconvolution" bottom: "conv" top: "up"
        convolution_param { num_output: 4 kernel_size: 3 stride: 2 group: 2
                            weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "mix" type: "Convolution" bottom: "up" top: "mix"
        convolution_param { num_output: 5 kernel_size: 1 weight_filler { type: "gaussian" std: 0.3 } } }
layer { name: "norm" type: "LRN" bottom: "mix" top: "norm" lrn_param { local_size: 3 } }
layer { name: "pool" type: "Pooling" bottom: "norm" top: "pool"
        pooling_param { pool: MAX kernel_size: 2 stride: 1 } }
layer { name: "ave" type: "Pooling" bottom: "pool" top: "ave"
        pooling_param { pool: AVE kernel_size: 2 stride: 1 pad: 1 } }
layer { name: "sig" type: "Sigmoid" bottom: "ave" top: "sig" }
layer { name: "ip" type: "InnerProduct" bottom: "sig" top: "ip"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.3 }
                              bias_filler { type: "gaussian" std: 0.3 } } }
'''


def forward_backward(text, output, layers):
    """Forward and backward of the net ``text`` (TRAIN) from seeded random
    weights, data and output diff: [output, data diff, param diffs of
    ``layers``] (the net has an input 'data' and force_backward)."""
    caffe.set_random_seed(3)
    net = caffe.Net(text, caffe.TRAIN)
    rng = np.random.RandomState(0)
    net.blobs['data'].data[...] = rng.randn(*net.blobs['data'].shape)
    net.forward()
    net.blobs[output].diff[...] = rng.randn(*net.blobs[output].shape)
    net.backward()
    return [net.blobs[output].data.copy(), net.blobs['data'].diff.copy()] + [
        p.diff.copy() for layer in layers for p in net.params[layer]]


def run_net(threads_env, monkeypatch, min_macs, batch):
    monkeypatch.setenv('CAFFELITE_THREADS', threads_env)
    monkeypatch.setattr(threads, 'MIN_SPLIT_MACS', min_macs)
    monkeypatch.setattr(threads, 'MIN_SPLIT_MACS_BUSY', min_macs)
    monkeypatch.setattr(threads, 'MIN_SPLIT_ELEMENTS', min_macs)
    monkeypatch.setattr(threads, 'PIECE', 50)
    monkeypatch.setattr(threads, 'CHUNK_MACS', 1)      # as many chunks as allowed
    return forward_backward(NET % batch, 'ip', ('conv', 'up', 'mix', 'ip'))


@pytest.mark.parametrize('batch', [6, 1])
def test_layers_split_over_threads_give_the_one_thread_result(monkeypatch, batch):
    """A batch is split by images; a single image by channels and GEMM rows."""
    one = run_net('1', monkeypatch, 10 ** 12, batch)
    split = run_net('2', monkeypatch, 0, batch)       # every operation split among threads
    for ours, ref in zip(split, one):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_elementwise_pieces_cover_the_array_once(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(threads, 'PIECE', 7)
    for min_split, callers in ((0, None), (101, {threading.get_ident()})):
        monkeypatch.setattr(threads, 'MIN_SPLIT_ELEMENTS', min_split)
        hits = np.zeros(100, np.int32)
        idents = set()

        def piece(s):
            idents.add(threading.get_ident())
            hits[s] += 1
        threads.over_elements(100, piece)
        assert (hits == 1).all()
        assert callers is None or idents == callers     # small: the caller alone


def test_a_forked_child_gets_its_own_workers(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    threads.run_chunks(lambda i, lane: None, 4, 2)            # the parent's pool exists
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                              # the child
        seen = set()
        release = threading.Barrier(2, timeout=10)

        def chunk(i, lane):
            if i < 2:
                release.wait()      # needs a second lane that really runs
            seen.add(lane)
        try:
            threads.run_chunks(chunk, 4, 2)
            os.write(write, b'ok' if seen == {0, 1} else b'no')
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b'ok'


def test_idle_lanes_cut_the_work_whatever_the_load(monkeypatch):
    """The threads a partition is cut for do not follow the load; the
    threads that run it do."""
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    size = threads.MIN_SPLIT_MACS
    for busy in (False, True):
        monkeypatch.setattr(threads, 'busy', lambda: busy)
        monkeypatch.setattr(threads, '_busy_now', lambda: busy)
        assert threads.idle_lanes(size, 64) == 2
        assert threads.idle_lanes(size, 1) == threads.idle_lanes(size - 1, 64) == 1
        assert threads.lanes(size, 64) == (1 if busy else 2)


def test_a_busy_machine_shares_only_large_operations(monkeypatch, tmp_path):
    """The running mean of other runnable tasks (from /proc/loadavg's
    running count, less the reader) decides which threshold applies."""
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(threads, '_others', [0.0])
    loadavg = _loadavg(monkeypatch, tmp_path, 1)
    middle = (threads.MIN_SPLIT_MACS + threads.MIN_SPLIT_MACS_BUSY) // 2
    for running, busy in (('1', False), ('3', True), ('1', False)):
        loadavg.write_text('2.00 1.50 1.00 %s/120 4242\n' % running)
        for _ in range(20):
            threads.sample_load()
        assert threads.busy() == busy
        assert threads.lanes(middle, 8) == (1 if busy else 2)
        assert threads.lanes(threads.MIN_SPLIT_MACS_BUSY, 8) == 2


def test_a_core_taken_right_now_keeps_a_middle_operation_on_one_thread(monkeypatch, tmp_path):
    """Another task runnable at this moment (a program's threads spinning
    after its call) makes lanes use the busy threshold for this operation,
    though the running mean still says idle."""
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(threads, '_others', [0.0])
    _loadavg(monkeypatch, tmp_path, 2)
    assert not threads.busy()
    assert threads.lanes(threads.MIN_SPLIT_MACS, 8) == 1
    assert threads.lanes(threads.MIN_SPLIT_MACS_BUSY, 8) == 2
    _loadavg(monkeypatch, tmp_path, 1)
    assert threads.lanes(threads.MIN_SPLIT_MACS, 8) == 2
