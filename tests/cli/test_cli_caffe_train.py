"""``caffe train``/``caffe time`` behaviours of tools/caffe.cpp: the solver
file's ``weights`` (replaced by -weights, dropped by -snapshot), its
``solver_mode``, and the log lines around training and timing."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite import backend
from caffelite.cli import main

NET = '''name: "tiny"
layer { name: "data" type: "DummyData" top: "data" top: "target"
  dummy_data_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 }
                     data_filler { type: "gaussian" } data_filler { type: "constant" } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
'''


@pytest.fixture
def folder(tmp_path):
    (tmp_path / 'net.prototxt').write_text(NET)
    net = caffe.Net(str(tmp_path / 'net.prototxt'), caffe.TEST)
    net.params['ip'][0].data[...] = 7
    net.save(str(tmp_path / 'sevens.caffemodel'))
    return tmp_path


def solver_file(folder, extra=''):
    """A solver of the net in ``folder``; the fields of ``extra`` replace the
    defaults (a field given twice is a parse error, as in Caffe)."""
    path = folder / 'solver.prototxt'
    given = {line.split(':')[0] for line in extra.splitlines()}
    defaults = ['net: "%s"' % (folder / 'net.prototxt'), 'base_lr: 0', 'lr_policy: "fixed"',
                'max_iter: 2', 'display: 1', 'snapshot_prefix: "%s"' % (folder / 'snap')]
    path.write_text(''.join(line + '\n' for line in defaults if line.split(':')[0] not in given)
                    + extra)
    return str(path)


def trained_ip(folder, iteration=2):
    net = caffe.Net(str(folder / 'net.prototxt'), caffe.TEST,
                    weights=str(folder / ('snap_iter_%d.caffemodel' % iteration)))
    return net.params['ip'][0].data


def test_the_solver_files_weights_load_unless_replaced_or_resuming(folder, capsys):
    solver = solver_file(folder, 'weights: "%s"\n' % (folder / 'sevens.caffemodel'))
    assert main(['train', '-solver', solver]) == 0
    assert np.all(trained_ip(folder) == 7)
    assert 'Finetuning from %s' % (folder / 'sevens.caffemodel') in capsys.readouterr().err
    assert np.all(caffe.get_solver(solver).net.params['ip'][0].data == 7)   # pycaffe too
    # -weights replaces the file's list; resuming drops it (a missing file is not read)
    missing = solver_file(folder, 'weights: "%s"\n' % (folder / 'gone.caffemodel'))
    assert main(['train', '-solver', missing, '-weights', str(folder / 'sevens.caffemodel')]) == 0
    assert main(['train', '-solver', missing, '-snapshot',
                 str(folder / 'snap_iter_2.solverstate')]) == 0
    capsys.readouterr()
    assert main(['train', '-solver', missing]) == 1
    assert 'gone.caffemodel' in capsys.readouterr().err


def test_level_replaces_the_solver_files_as_caffe_does(folder, capsys):
    # tools/caffe.cpp: set_level(FLAGS_level) whatever the solver file says
    # (0 when -level is not given). The layer kept only from level 2 reads a
    # blob nothing makes, so the net builds only when the level is below 2.
    (folder / 'net.prototxt').write_text(NET + 'layer { name: "extra" type: "Power" '
                                         'bottom: "nowhere" top: "extra" '
                                         'include { min_level: 2 } }\n')
    solver = solver_file(folder, 'train_state { level: 2 }\n')
    assert main(['train', '-solver', solver]) == 0
    capsys.readouterr()
    assert main(['train', '-solver', solver, '-level', '2']) == 1
    assert 'extra' in capsys.readouterr().err


def test_train_logs_caffes_lines_around_solving(folder, capsys):
    solver = solver_file(folder)
    assert main(['train', '-solver', solver]) == 0
    main(['train', '-solver', solver, '-snapshot', str(folder / 'snap_iter_2.solverstate')])
    lines = [line.split('] ', 1)[1] for line in capsys.readouterr().err.splitlines()
             if '] ' in line]
    resumed = lines[lines.index('Use CPU.', 1):]
    at = resumed.index('Resuming from %s' % (folder / 'snap_iter_2.solverstate'))
    assert resumed[at + 1] == 'Starting Optimization'
    # as in Caffe, the solver builds its nets between the two
    assert 'Network initialization done.' in resumed[1:at]
    assert resumed[-1] == 'Optimization Done.'


def test_a_solver_file_asking_for_a_gpu_trains_on_the_cpu_without_one(folder, capsys,
                                                                        monkeypatch):
    monkeypatch.setattr(backend, 'gpu_available', lambda: False)
    assert main(['train', '-solver', solver_file(folder, 'solver_mode: GPU\n')]) == 0
    log = capsys.readouterr().err
    assert 'solver_mode: GPU, but there is no CUDA device' in log and 'Use CPU.' in log


def test_time_logs_each_iteration(folder, capsys):
    assert main(['time', '-model', str(folder / 'net.prototxt'), '-iterations', '2']) == 0
    log = capsys.readouterr().err
    assert 'Iteration: 1 forward-backward time: ' in log
    assert 'Iteration: 2 forward-backward time: ' in log


def test_hdf5_snapshots_are_caffes_solverstate_h5_and_resume(folder, capsys):
    h5py = pytest.importorskip('h5py')
    solver = solver_file(folder, 'snapshot_format: HDF5\nsnapshot: 1\nmomentum: 0.9\n'
                                 'base_lr: 0.1\n')
    assert main(['train', '-solver', solver]) == 0
    state = folder / 'snap_iter_1.solverstate.h5'
    with h5py.File(state, 'r') as h5:     # the datasets Caffe's RestoreSolverStateFromHDF5 reads
        assert int(h5['iter'][()]) == 1 and int(h5['current_step'][()]) == 0
        assert h5['learned_net'][()] == str(folder / 'snap_iter_1.caffemodel.h5').encode()
        assert sorted(h5['history']) == ['0', '1'] and h5['history/0'].shape == (2, 3)
    capsys.readouterr()
    assert main(['train', '-solver', solver, '-snapshot', str(state)]) == 0
    log = capsys.readouterr().err
    assert 'Iteration 1, lr' in log and 'Iteration 0, lr' not in log
    binary_name = str(folder / 'snap_iter_1.solverstate')
    assert main(['train', '-solver', solver, '-snapshot', binary_name]) == 1
    assert 'snap_iter_1.solverstate.h5 is there' in capsys.readouterr().err


def test_time_takes_the_weights_flag_of_caffes_docs(folder, capsys):
    assert main(['time', '-model', str(folder / 'net.prototxt'), '-weights',
                 str(folder / 'sevens.caffemodel'), '-iterations', '1']) == 0
    assert 'Not loading %s' % (folder / 'sevens.caffemodel') in capsys.readouterr().err


def test_caffe_logs_with_nan_and_inf_values_parse(tmp_path):
    from caffelite.training_log import parse_log
    log = tmp_path / 'caffe.log'
    log.write_text(
        'I1201 10:00:00.000000 1 solver.cpp:218] Iteration 0 (0 iter/s, 0.1s/100 iters), '
        'loss = 2.3\n'
        'I1201 10:00:01.000000 1 solver.cpp:218] Iteration 100 (9 iter/s, 11s/100 iters), '
        'loss = -nan\n'
        'I1201 10:00:01.000000 1 solver.cpp:237]     Train net output #0: loss = -nan '
        '(* 1 = -nan loss)\n'
        'I1201 10:00:01.000000 1 sgd_solver.cpp:105] Iteration 100, lr = 1e-05\n'
        'I1201 10:00:02.000000 1 solver.cpp:330] Iteration 200, Testing net (#0)\n'
        'I1201 10:00:02.000000 1 solver.cpp:397]     Test net output #0: loss = -inf '
        '(* 1 = -inf loss)\n')
    parsed = parse_log(str(log))
    assert [p['iter'] for p in parsed['train']] == [0, 100] and np.isnan(parsed['train'][1]['loss'])
    assert parsed['lr'] == [{'iter': 100, 'lr': 1e-05, 'epoch': None}]
    assert parsed['test'] == [{'iter': 200, 'epoch': None, 'loss': -np.inf}]


def test_a_caffemodel_given_to_snapshot_is_named_as_such(folder, capsys):
    solver = solver_file(folder)
    capsys.readouterr()
    assert main(['train', '-solver', solver, '-snapshot', str(folder / 'sevens.caffemodel')]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == (
        'caffelite train: error: %s is not a solverstate (no learned_net, no history): '
        'weights to start from go to -weights' % (folder / 'sevens.caffemodel'))


def test_flags_may_come_before_the_command_as_gflags_reads_them(folder, capsys):
    assert main(['-solver', solver_file(folder), 'train']) == 0
    assert main(['--debug', 'time', '-model', str(folder / 'net.prototxt'),
                 '-iterations', '1']) == 0
    assert 'Optimization Done.' in capsys.readouterr().err


def test_train_log_lines_up_with_caffes_lenet_log(tmp_path, capsys):
    """The head of a ``caffe train`` log of LeNet on an LMDB, as BVLC Caffe
    1.0 writes it: the train_state with -stage's empty stage, each rule that
    filters a layer out, the factory's "Creating layer" before Net::Init's
    "Creating Layer", the database opened when the Data layer is made, the
    DataTransformer's mean file line, SoftmaxWithLoss's inner softmax."""
    from refcases import lmdb_trainer, reference_path
    folder = lmdb_trainer(tmp_path, 'net: "train_val.prototxt"\nbase_lr: 0.01\n'
                          'lr_policy: "fixed"\nmax_iter: 1\ndisplay: 1\n'
                          'snapshot_prefix: "%(prefix)s"\n')
    assert main(['train', '-solver', str(folder / 'solver.prototxt')]) == 0
    err = capsys.readouterr().err
    said = [line.split('] ', 1)[1] for line in err.splitlines()
            if line[:1] in 'IWE' and '] ' in line]
    assert said[1] == 'Initializing solver from parameters: '
    assert 'train_state {\n  level: 0\n  stage: ""\n}\n' in err
    assert 'state {\n  phase: TRAIN\n  level: 0\n  stage: ""\n}\n' in err
    lmdb, mean = reference_path('data', 'lmdb_raw'), reference_path('data', 'mean.binaryproto')
    at = [i for i, m in enumerate(said) if m.startswith('Creating training net')][0]
    assert said[at + 1:at + 6] == [
        'The NetState phase (0) differed from the phase (1) specified by a rule in layer acc',
        'Initializing net from parameters: ',
        'Creating layer d', 'Opened lmdb %s' % lmdb, 'Creating Layer d']
    at = said.index('Loading mean file from: %s' % mean)
    assert said[at - 2:at + 3] == ['d -> data', 'd -> label',
                                   'Loading mean file from: %s' % mean,
                                   'output data size: 16,1,28,28', 'Setting up d']
    at = said.index('loss -> loss')
    assert said[at:at + 3] == ['loss -> loss', 'Creating layer loss', 'Setting up loss']


def test_time_builds_its_net_with_caffes_empty_stage(folder, capsys):
    # caffe.cpp splits an empty -stage into one empty stage, which the net's state shows
    assert main(['time', '-model', str(folder / 'net.prototxt'), '-iterations', '1']) == 0
    assert 'state {\n  phase: TRAIN\n  level: 0\n  stage: ""\n}\n' in capsys.readouterr().err
