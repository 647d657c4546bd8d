"""caffelite.threads: chunks shared by lanes, BLAS threads per operation,
and layers that split their work giving the one-thread result."""
import threading

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
        done.append(i)
    with pytest.raises(ValueError, match='chunk 3'):
        threads.run_chunks(chunk, 8, 2)
    assert 3 not in done and len(done) == 7


def test_nested_chunks_run_in_their_lane(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    inner = []
    threads.run_chunks(lambda i, lane: threads.run_chunks(
        lambda j, sub: inner.append((lane, sub)), 3, 2), 2, 2)
    assert len(inner) == 6 and all(sub == 0 for _, sub in inner)


def test_plan_by_size_and_items(monkeypatch):
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    big = threads.MIN_SPLIT_MACS
    assert threads.plan(big - 1, 64) == (1, 1)          # small: one thread
    assert threads.plan(big, 64) == (2, 1)              # lanes, single-threaded BLAS
    assert threads.plan(big, 1) == (1, 2)               # one item: BLAS's threads
    monkeypatch.setenv('CAFFELITE_THREADS', '1')
    assert threads.plan(big, 64) == (1, 1)
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
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 6 dim: 4 dim: 9 dim: 9 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 6 kernel_size: 3 pad: 1 stride: 2 group: 2
                            weight_filler { type: "gaussian" std: 0.3 }
                            bias_filler { type: "gaussian" std: 0.3 } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "norm" type: "LRN" bottom: "conv" top: "norm" lrn_param { local_size: 3 } }
layer { name: "pool" type: "Pooling" bottom: "norm" top: "pool"
        pooling_param { pool: MAX kernel_size: 2 stride: 1 } }
layer { name: "ave" type: "Pooling" bottom: "pool" top: "ave"
        pooling_param { pool: AVE kernel_size: 2 stride: 1 pad: 1 } }
layer { name: "sig" type: "Sigmoid" bottom: "ave" top: "sig" }
layer { name: "ip" type: "InnerProduct" bottom: "sig" top: "ip"
        inner_product_param { num_output: 5 weight_filler { type: "gaussian" std: 0.3 }
                              bias_filler { type: "gaussian" std: 0.3 } } }
'''


def run_net(threads_env, monkeypatch, min_macs):
    monkeypatch.setenv('CAFFELITE_THREADS', threads_env)
    monkeypatch.setattr(threads, 'MIN_SPLIT_MACS', min_macs)
    monkeypatch.setattr(threads, 'MIN_SPLIT_ELEMENTS', min_macs)
    monkeypatch.setattr(threads, 'PIECE', 50)
    caffe.set_random_seed(3)
    net = caffe.Net(NET, caffe.TRAIN)
    rng = np.random.RandomState(0)
    net.blobs['data'].data[...] = rng.randn(*net.blobs['data'].shape)
    net.forward()
    net.blobs['ip'].diff[...] = rng.randn(*net.blobs['ip'].shape)
    net.backward()
    return [net.blobs['ip'].data.copy(), net.blobs['data'].diff.copy()] + [
        p.diff.copy() for layer in ('conv', 'ip') for p in net.params[layer]]


def test_layers_split_over_threads_give_the_one_thread_result(monkeypatch):
    one = run_net('1', monkeypatch, 10 ** 12)
    split = run_net('2', monkeypatch, 0)       # every operation split among threads
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
