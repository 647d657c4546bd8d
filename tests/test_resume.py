"""Exact resume and divergence: a run stopped at a snapshot and resumed
repeats the uninterrupted run's losses, test outputs and weights bit for
bit; Caffe's own reader accepts the solverstate caffelite writes, and
Caffe's solverstates still resume; a run that diverges stops at the first
non-finite loss or update, names where it went non-finite and keeps the
last finite snapshot."""
import os
import re
import warnings

import numpy as np
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

import caffelite as caffe
from caffelite.cli import main
from caffelite.errors import DivergenceError
from caffelite.proto import caffe_pb2
from conftest import REFERENCE
from refcases import reference_path

# LeNet on the reference LMDB with everything that draws random numbers:
# random crops and mirrors (the data layers' generators), dropout (the
# solver's), and a test net reading the same database.
NET = '''name: "LeNetResume"
layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  transform_param { scale: 0.00390625 crop_size: 24 mirror: true }
  data_param { source: "%(db)s" backend: LMDB batch_size: 16 } }
layer { name: "v" type: "Data" top: "data" top: "label" include { phase: TEST }
  transform_param { scale: 0.00390625 crop_size: 24 }
  data_param { source: "%(db)s" backend: LMDB batch_size: 20 } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  convolution_param { num_output: 8 kernel_size: 5 weight_filler { type: "xavier" } } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1" inner_product_param { num_output: 50 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "drop1" type: "Dropout" bottom: "ip1" top: "ip1" dropout_param { dropout_ratio: 0.3 } }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 10 weight_filler { type: "xavier" } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
layer { name: "acc" type: "Accuracy" bottom: "ip2" bottom: "label" top: "acc" include { phase: TEST } }
'''
SOLVER = '''net: "net.prototxt"
type: "Adam"
base_lr: %(lr)g
momentum: 0.9
momentum2: 0.999
lr_policy: "fixed"
max_iter: 16
display: 1
average_loss: 4
test_iter: 2
test_interval: 5
snapshot: 0
snapshot_prefix: "%(prefix)s"
random_seed: 7
'''


@pytest.fixture
def job(tmp_path):
    db = reference_path('data', 'lmdb_raw')
    (tmp_path / 'net.prototxt').write_text(NET % {'db': db})
    (tmp_path / 'solver.prototxt').write_text(SOLVER % {'lr': 0.002,
                                                        'prefix': tmp_path / 'snap' / 'lenet'})
    return tmp_path


def weights(solver):
    return [blob.data.copy() for blob in solver.net.learnable_params] + \
        [blob.data.copy() for blob in solver.history]


def run(solver, iterations):
    """Per-iteration (loss, smoothed loss) and the test outputs of
    ``iterations`` steps in one step() call, as solve() makes them."""
    records, tests = [], []
    solver.listeners.append(lambda e: tests.append(e['outputs']) if e['phase'] == 'test' else 0)
    solver.add_callback(lambda: None, lambda: records.append(
        (float(solver.net.blobs['loss'].data), solver.smoothed_loss)))
    solver.step(iterations)
    return records, tests


def test_stopped_and_resumed_run_repeats_the_uninterrupted_one(job):
    whole = caffe.get_solver(str(job / 'solver.prototxt'))
    reference, reference_tests = run(whole, 16)
    first = caffe.get_solver(str(job / 'solver.prototxt'))
    head, head_tests = run(first, 10)
    _, state = first.snapshot()
    del first
    second = caffe.get_solver(str(job / 'solver.prototxt'))   # a fresh process would do this
    second.restore(state)
    tail, tail_tests = run(second, 6)
    assert head + tail == reference            # losses and smoothed losses, bit for bit
    assert head_tests + tail_tests == reference_tests
    for mine, theirs in zip(weights(second), weights(whole)):
        np.testing.assert_array_equal(mine, theirs)


def test_without_the_extension_data_starts_over_as_in_caffe(job):
    solver = caffe.get_solver(str(job / 'solver.prototxt'))
    run(solver, 3)
    _, state = solver.snapshot()
    message = caffe_pb2.SolverState.FromString(open(state, 'rb').read())
    message.ClearField('caffelite_resume')
    open(state, 'wb').write(message.SerializeToString())
    fresh = caffe.get_solver(str(job / 'solver.prototxt'))
    first_batch = fresh.net.layers[0].position()['key']
    fresh.restore(state)
    assert fresh.iter == 3 and fresh.net.layers[0].position()['key'] == first_batch



def test_a_solverstate_whose_weights_were_rewritten_is_refused(job):
    """The weights file of a snapshot overwritten since (a run killed
    between writing its .caffemodel and its .solverstate) is not resumed."""
    solver = caffe.get_solver(str(job / 'solver.prototxt'))
    run(solver, 1)
    model, state = solver.snapshot()
    run(solver, 1)
    solver.net.save(model)
    fresh = caffe.get_solver(str(job / 'solver.prototxt'))
    with pytest.raises(caffe.errors.SolverError, match=r'lenet_iter_1\.solverstate: .*'
                       r'lenet_iter_1\.caffemodel is not the weights file this solverstate '
                       r'was saved with'):
        fresh.restore(state)


def test_an_image_list_changed_since_the_snapshot_is_refused(tmp_path):
    """The position is an order of the list's lines: other lines, even as
    many, would make the resumed run read other images."""
    from PIL import Image
    lines = []
    for k in range(4):
        Image.fromarray(np.full((4, 4), 60 * k, np.uint8)).save(tmp_path / ('%d.png' % k))
        lines.append('%d.png %d' % (k, k % 2))
    (tmp_path / 'list.txt').write_text('\n'.join(lines) + '\n')
    (tmp_path / 'net.prototxt').write_text(
        'layer { name: "d" type: "ImageData" top: "data" top: "label" image_data_param { '
        'source: "%s" root_folder: "%s/" batch_size: 2 shuffle: true is_color: false } }\n'
        'layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip" '
        'inner_product_param { num_output: 2 } }\n'
        'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip" bottom: "label" top: "loss" }'
        % (tmp_path / 'list.txt', tmp_path))
    (tmp_path / 'solver.prototxt').write_text(
        'net: "%s"\nbase_lr: 0.1\nlr_policy: "fixed"\nmax_iter: 4\nsnapshot_prefix: "%s"\n'
        % (tmp_path / 'net.prototxt', tmp_path / 'snap'))
    solver = caffe.get_solver(str(tmp_path / 'solver.prototxt'))
    solver.step(1)
    _, state = solver.snapshot()
    (tmp_path / 'list.txt').write_text('\n'.join(lines[1::-1] + lines[2:]) + '\n')
    fresh = caffe.get_solver(str(tmp_path / 'solver.prototxt'))
    with pytest.raises(caffe.errors.CaffeError, match=r'list\.txt is not the list the snapshot '
                       r'was taken with'):
        fresh.restore(state)

def caffe_schema_solver_state():
    """SolverState as BVLC Caffe's caffe.proto declares it (no field 1000)."""
    file_proto = descriptor_pb2.FileDescriptorProto()
    caffe_pb2.DESCRIPTOR.CopyToProto(file_proto)
    kept = [m for m in file_proto.message_type if not m.name.startswith('Caffelite')]
    del file_proto.message_type[:]
    file_proto.message_type.extend(kept)
    state = next(m for m in file_proto.message_type if m.name == 'SolverState')
    [extension] = [f for f in state.field if f.number == 1000]
    state.field.remove(extension)
    pool = descriptor_pool.DescriptorPool()       # apart from caffelite's own
    pool.Add(file_proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName('caffe.SolverState'))


def test_caffes_reader_accepts_the_solverstate(job):
    solver = caffe.get_solver(str(job / 'solver.prototxt'))
    run(solver, 2)
    _, path = solver.snapshot()
    data = open(path, 'rb').read()
    theirs = caffe_schema_solver_state().FromString(data)
    mine = caffe_pb2.SolverState.FromString(data)
    assert (theirs.iter, theirs.learned_net, theirs.current_step) == \
        (mine.iter, mine.learned_net, mine.current_step) == (2, mine.learned_net, 0)
    assert len(theirs.history) == len(mine.history) == 2 * len(solver.net.learnable_params)
    assert len(mine.caffelite_resume.data) == 2       # the train and test data layers
    assert theirs.SerializeToString() == data          # the extension rides along unknown


def test_caffe_made_solverstate_still_resumes(monkeypatch):
    folder = reference_path('solvers', 'sgd_inv')
    monkeypatch.chdir(folder)
    solver = caffe.get_solver('solver.prototxt')
    solver.restore('snap_iter_15.solverstate')
    assert solver.iter == 15
    batches = np.load(str(REFERENCE / 'solvers' / 'batches.npz'))
    ref = np.load(str(folder / 'losses.npy'))
    solver.net.blobs['data'].data[...] = batches['data'][15]
    solver.net.blobs['label'].data[...] = batches['label'][15]
    solver.step(1)
    assert abs(float(solver.net.blobs['loss'].data) - ref[15]) < 1e-3 * max(1, abs(ref[15]))


def test_divergence_stops_training_and_names_where(job, capsys):
    (job / 'solver.prototxt').write_text(
        (SOLVER % {'lr': 1000, 'prefix': job / 'snap' / 'lenet'})
        .replace('type: "Adam"', 'type: "SGD"').replace('snapshot: 0', 'snapshot: 2'))
    capsys.readouterr()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        assert main(['train', '-solver', str(job / 'solver.prototxt')]) == 1
    assert not caught     # NumPy's 'overflow encountered in matmul' printed before the line
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith('caffelite train: error: iteration ')
    assert "first non-finite: layer '" in last and 'Training stopped' in last
    assert not re.search(r'Iteration \d+ \(.*loss = nan', err)    # stopped before displaying it
    kept = last.split('the last snapshot, ')[1].split(', holds')[0]
    net = caffe.Net(str(job / 'net.prototxt'), caffe.TEST, weights=kept)
    assert all(np.isfinite(b.data).all() for blobs in net.params.values() for b in blobs)
    snapshots = sorted(os.listdir(job / 'snap'))
    assert os.path.basename(kept) == max((s for s in snapshots if s.endswith('.caffemodel')),
                                         key=lambda s: int(s.split('_iter_')[1].split('.')[0]))
    with pytest.raises(DivergenceError):
        caffe.get_solver(str(job / 'solver.prototxt')).solve()
