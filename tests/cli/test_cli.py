"""The caffelite command: Caffe's train/test/time/device_query flags and log
format, resuming, signals, plot, draw and upgrade."""
import json
import os
import signal

import pytest

from caffelite.cli import main
from caffelite.training_log import parse_log
from conftest import REFERENCE
from refcases import lmdb_trainer, reference_path


@pytest.fixture
def trainer(tmp_path):
    """The reference LMDB trainer, with snapshots and a test net into tmp_path."""
    return lmdb_trainer(tmp_path, 'net: "train_val.prototxt"\ntype: "SGD"\nbase_lr: 0.02\n'
                        'momentum: 0.9\nlr_policy: "fixed"\nmax_iter: 20\ndisplay: 5\n'
                        'test_iter: 2\ntest_interval: 10\nsnapshot: 10\n'
                        'snapshot_prefix: "%(prefix)s"\n')


def test_train_logs_like_caffe_and_snapshots(trainer, capsys):
    assert main(['train', '-solver', str(trainer / 'solver.prototxt'),
                 '-weights', str(REFERENCE / 'data' / 'init.caffemodel')]) == 0
    log = capsys.readouterr().err
    assert 'Iteration 5 (' in log and ', loss = ' in log
    assert 'Iteration 10, lr = 0.02' in log
    assert 'Test net output #0: acc = ' in log
    assert 'Train net output #0: loss = ' in log
    snaps = trainer / 'snaps'
    assert sorted(os.listdir(snaps)) == ['deploy.prototxt',  # the model folder for classify
                                         'lenet_iter_10.caffemodel', 'lenet_iter_10.solverstate',
                                         'lenet_iter_20.caffemodel', 'lenet_iter_20.solverstate',
                                         'lenet_log.jsonl', 'mean.binaryproto']
    events = [json.loads(line) for line in (snaps / 'lenet_log.jsonl').read_text().splitlines()]
    phases = {e['phase'] for e in events}
    assert phases == {'train', 'test', 'lr', 'snapshot'}
    assert all(e['epoch'] == pytest.approx(e['iter'] * 16 / 320.0) for e in events)
    text_log = trainer / 'caffe.log'
    text_log.write_text(log)
    parsed = parse_log(str(text_log))
    assert [p['iter'] for p in parsed['train']] == [0, 5, 10, 15, 20]   # 20: the final loss
    assert [p['iter'] for p in parsed['test']] == [0, 10, 20]


def test_resume_from_snapshot_continues(trainer, capsys):
    solver = str(trainer / 'solver.prototxt')
    main(['train', '-solver', solver, '-weights', str(REFERENCE / 'data' / 'init.caffemodel')])
    capsys.readouterr()
    state = str(trainer / 'snaps' / 'lenet_iter_10.solverstate')
    assert main(['train', '-solver', solver, '-snapshot', state]) == 0
    log = capsys.readouterr().err
    assert 'Iteration 10' in log and 'Iteration 0 ' not in log
    assert main(['train', '-solver', solver, '-snapshot', state, '-weights', 'x']) == 1


def test_epochs_sets_max_iter(trainer, capsys):
    assert main(['train', '-solver', str(trainer / 'solver.prototxt'), '--epochs', '1.5']) == 0
    assert 'max_iter = 30' in capsys.readouterr().err
    assert (trainer / 'snaps' / 'lenet_iter_30.caffemodel').exists()


def test_train_without_snapshot_prefix_uses_caffes_default(trainer, capsys):
    """As caffe.get_solver(path).solve(): snapshots named after the solver
    file, beside it (the CLI reads the solver through the library's loader)."""
    text = (trainer / 'solver.prototxt').read_text()
    solver = trainer / 'quick_solver.prototxt'
    solver.write_text(text[:text.index('snapshot: 10')].replace('max_iter: 20', 'max_iter: 3'))
    assert main(['train', '-solver', str(solver)]) == 0
    assert 'snapshot_prefix was not specified' in capsys.readouterr().err
    assert (trainer / 'quick_solver_iter_3.caffemodel').exists()
    assert (trainer / 'quick_solver_iter_3.solverstate').exists()
    assert (trainer / 'quick_solver_log.jsonl').exists()


def test_sigint_snapshot_then_stop(trainer, capsys, monkeypatch):
    from caffelite import solver as solvers
    original = solvers.Solver.apply_update

    def interrupt(self):
        original(self)
        if self.iter == 2:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(solvers.Solver, 'apply_update', interrupt)
    assert main(['train', '-solver', str(trainer / 'solver.prototxt'),
                 '-sigint_effect', 'stop']) == 0
    assert (trainer / 'snaps' / 'lenet_iter_3.caffemodel').exists()
    assert 'Optimization stopped early' in capsys.readouterr().err


def test_test_and_time_commands(trainer, capsys):
    weights = str(REFERENCE / 'data' / 'init.caffemodel')
    model = str(trainer / 'train_val.prototxt')
    assert main(['test', '-model', model, '-weights', weights, '-iterations', '2']) == 0
    log = capsys.readouterr().err
    assert 'Batch 1, acc = ' in log and 'Loss: ' in log
    assert main(['time', '-model', model, '-iterations', '2']) == 0
    log = capsys.readouterr().err
    assert 'conv1\tforward: ' in log and 'Average Forward-Backward: ' in log


def test_plot_draws_curves(trainer, tmp_path):
    pytest.importorskip('matplotlib')
    main(['train', '-solver', str(trainer / 'solver.prototxt')])
    out = tmp_path / 'curves.png'
    assert main(['plot', str(trainer / 'snaps' / 'lenet_log.jsonl'), str(out)]) == 0
    assert out.read_bytes()[:4] == b'\x89PNG'


def test_draw_writes_graph(tmp_path):
    pytest.importorskip('pydot')
    model = str(reference_path('models', 'lenet_real', 'net.prototxt'))
    dot = tmp_path / 'net.dot'
    assert main(['draw', model, str(dot), '--rankdir', 'TB']) == 0
    text = dot.read_text()
    assert 'conv1' in text and 'Convolution' in text and 'kernel size: 5' in text
    import shutil
    if shutil.which('dot'):
        png = tmp_path / 'net.png'
        assert main(['draw', model, str(png)]) == 0
        assert png.read_bytes()[:4] == b'\x89PNG'


def test_upgrade_command_writes_current_format(tmp_path, capsys):
    legacy = reference_path('legacy', 'lenet_v1')
    out = tmp_path / 'net.prototxt'
    assert main(['upgrade', str(legacy / 'net.prototxt'), str(out)]) == 0
    text = out.read_text()
    assert 'layers {' not in text and 'type: "Convolution"' in text and 'lr_mult: 2' in text
    weights = tmp_path / 'w.caffemodel'
    assert main(['upgrade', str(legacy / 'weights.caffemodel'), str(weights)]) == 0
    import caffelite as caffe
    net = caffe.Net(str(out), caffe.TEST, weights=str(weights))
    assert net.params['conv1'][0].data.shape == (20, 1, 5, 5)


def test_errors_are_reported_not_raised(tmp_path, capsys):
    bad = tmp_path / 'bad.prototxt'
    bad.write_text('layer { name: "x" typo: 1 }')
    assert main(['time', '-model', str(bad), '-iterations', '1']) == 1
    err = capsys.readouterr().err
    assert 'bad.prototxt:1' in err and 'typo' in err


def test_gpu_flag_without_a_gpu_is_a_clear_error(capsys):
    from caffelite import backend
    if backend.gpu_available():
        pytest.skip('a GPU is present')
    assert main(['time', '-model', str(reference_path('models', 'lenet_real', 'net.prototxt')),
                 '-gpu', '0']) == 1
    assert 'CuPy with a CUDA device is required' in capsys.readouterr().err


def test_caffes_verbs_log_net_construction_and_caffelites_own_do_not(tmp_path, capsys):
    """`caffe time` prints Net::Init's lines as Caffe's tool does; a verb of
    caffelite's own (classify here) builds its net without them."""
    import numpy as np
    from PIL import Image
    from model_files import tiny_model
    model, weights = tiny_model(tmp_path, (1, 3, 8, 8))
    assert main(['time', '-model', model, '-iterations', '1']) == 0
    assert 'Creating Layer ip' in capsys.readouterr().err
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / 'i.png')
    assert main(['classify', '--model', model, '--weights', weights,
                 str(tmp_path / 'i.png')]) == 0
    assert 'Creating Layer' not in capsys.readouterr().err
