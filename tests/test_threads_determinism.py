"""A seeded CPU training run gives the same weights bit for bit, for a
given thread count, whatever the machine's load (which decides how many
threads run a layer's chunks) and whichever thread takes which chunk:
convolutions (im2col, grouped, Winograd) and a deconvolution whose weight
gradients sum over chunks of the batch."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import threads
from caffelite.layers import vision

NET = '''name: "Chunks"
layer { name: "data" type: "Input" top: "data" top: "label"
  input_param { shape { dim: 8 dim: 4 dim: 10 dim: 10 } shape { dim: 8 } } }
layer { name: "wino" type: "Convolution" bottom: "data" top: "wino"
  convolution_param { num_output: 8 kernel_size: 3 pad: 1 weight_filler { type: "xavier" } } }
layer { name: "grouped" type: "Convolution" bottom: "wino" top: "grouped"
  convolution_param { num_output: 6 kernel_size: 5 group: 2 weight_filler { type: "xavier" } } }
layer { name: "up" type: "Deconvolution" bottom: "grouped" top: "up"
  convolution_param { num_output: 4 kernel_size: 2 stride: 2 weight_filler { type: "xavier" } } }
layer { name: "pool" type: "Pooling" bottom: "up" top: "pool"
  pooling_param { pool: AVE kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
  inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }
'''
SOLVER = '''net: "%s"
base_lr: 0.1
momentum: 0.9
lr_policy: "fixed"
max_iter: 10
display: 0
snapshot: 0
random_seed: 3
'''


def reverse_on_other_lanes(fn, chunks, lanes):
    """run_chunks with the chunks taken last first, chunk 0 on lane 1 (a
    worker's scratch), as threads racing for them might."""
    for chunk in reversed(range(chunks)):
        fn(chunk, (chunk + 1) % max(lanes, 2))


def train(tmp_path):
    """The weights (as bytes) after three steps from the same seed."""
    (tmp_path / 'net.prototxt').write_text(NET)
    (tmp_path / 'solver.prototxt').write_text(SOLVER % (tmp_path / 'net.prototxt'))
    solver = caffe.SGDSolver(str(tmp_path / 'solver.prototxt'))
    rng = np.random.RandomState(0)
    solver.net.blobs['data'].data[...] = rng.randn(8, 4, 10, 10)
    solver.net.blobs['label'].data[...] = rng.randint(0, 5, 8)
    solver.step(3)
    return [blob.data.tobytes() for blob in solver.net.learnable_params]


@pytest.fixture
def small_layers_split(monkeypatch):
    """Two threads, and every layer large enough to share and to run in
    several chunks (patch matrices of about two images: 4 chunks); the
    3x3 layer runs Winograd."""
    monkeypatch.setenv('CAFFELITE_THREADS', '2')
    monkeypatch.setattr(vision, 'HOST_PATCH_BUDGET', 8000)
    monkeypatch.setattr(threads, 'MIN_SPLIT_MACS', 1)
    monkeypatch.setattr(threads, 'CHUNK_MACS', 1)
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_CHANNELS', 4)
    monkeypatch.setattr(vision, 'WINOGRAD_MIN_TILES', 1)


# (busy on average, busy now, the size from which a busy machine shares,
# run_chunks replaced)
LOADS = {
    'idle': (False, False, threads.MIN_SPLIT_MACS_BUSY, None),
    'busy, one thread': (True, True, threads.MIN_SPLIT_MACS_BUSY, None),
    'busy, shared': (True, False, 1, None),
    'busy now': (False, True, threads.MIN_SPLIT_MACS_BUSY, None),
    'chunks reversed': (False, False, threads.MIN_SPLIT_MACS_BUSY, reverse_on_other_lanes),
}


def test_training_repeats_whatever_the_load(small_layers_split, monkeypatch, tmp_path):
    runs = {}
    for name, (average, now, busy_split, run_chunks) in LOADS.items():
        with monkeypatch.context() as patch:
            patch.setattr(threads, 'busy', lambda: average)
            patch.setattr(threads, '_busy_now', lambda: now)
            patch.setattr(threads, 'MIN_SPLIT_MACS_BUSY', busy_split)
            if run_chunks:
                patch.setattr(threads, 'run_chunks', run_chunks)
            (tmp_path / name).mkdir()
            runs[name] = train(tmp_path / name)
    for name, weights in runs.items():
        assert weights == runs['idle'], name


def test_chunk_results_add_in_chunk_order():
    """Results finished out of order wait for the chunks before them: in
    float32, (1 + 1e8) - 1e8 is 0, (-1e8 + 1e8) + 1 (their arrival order)
    is 1."""
    total = np.zeros(1, np.float32)
    added = threads.OrderedSum(total)
    added.done(3, np.float32([-1e8]))
    added.done(2, np.float32([1e8]))
    added.done(0, None)
    assert total[0] == 0
    added.done(1, np.float32([1]))
    assert total[0] == 0
    added.done(4, np.float32([1]))
    assert total[0] == 1
