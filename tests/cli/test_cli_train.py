"""caffelite train: one run per snapshot prefix, a new log for a new run
(a resumed run continues its own), --epochs on DIGITS' schedule with a
test at the end and a warning when a test pass reads records twice, and
a model folder beside the snapshots."""
import json
import os
import signal

import pytest

from caffelite.cli import main
from caffelite.run_lock import prefix_lock
from refcases import lmdb_trainer, reference_path


@pytest.fixture
def trainer(tmp_path):
    """The reference LMDB LeNet (320 images, batch 16) with a test net."""
    return lmdb_trainer(tmp_path, 'net: "train_val.prototxt"\nbase_lr: 0.01\nmomentum: 0.9\n'
                        'lr_policy: "fixed"\nmax_iter: 6\ndisplay: 1\ntest_iter: 2\n'
                        'test_interval: 3\nsnapshot: 3\nsnapshot_prefix: "%(prefix)s"\n')


def train(trainer, capsys, *extra):
    capsys.readouterr()
    code = main(['train', '-solver', str(trainer / 'solver.prototxt')] + list(extra))
    return code, capsys.readouterr().err


def events(trainer):
    return [json.loads(line) for line in
            (trainer / 'snaps' / 'lenet_log.jsonl').read_text().splitlines()]


def test_a_second_run_on_the_same_prefix_is_refused(trainer, capsys):
    with prefix_lock(str(trainer / 'snaps' / 'lenet')):
        code, err = train(trainer, capsys)
    assert code == 1
    last = err.strip().splitlines()[-1]
    assert 'snapshot prefix %s is in use by caffelite train (pid %d' % (
        trainer / 'snaps' / 'lenet', os.getpid()) in last
    assert not os.path.exists(trainer / 'snaps' / 'lenet_iter_3.caffemodel')
    assert train(trainer, capsys)[0] == 0                  # free again once released
    assert not os.path.exists(trainer / 'snaps' / 'lenet.lock')


def test_a_new_run_starts_a_new_log_and_a_resumed_one_continues_it(trainer, capsys,
                                                                    monkeypatch):
    assert train(trainer, capsys)[0] == 0
    assert train(trainer, capsys)[0] == 0
    first = [e['iter'] for e in events(trainer) if e['phase'] == 'train']
    assert first == [0, 1, 2, 3, 4, 5]                    # one run, not two
    from caffelite import solver as solvers
    update = solvers.Solver.apply_update

    def interrupted(self):
        update(self)
        if self.iter == 4:
            os.kill(os.getpid(), signal.SIGINT)
    monkeypatch.setattr(solvers.Solver, 'apply_update', interrupted)
    assert train(trainer, capsys)[0] == 0                  # stops at 5 with a snapshot
    monkeypatch.undo()
    assert train(trainer, capsys, '-snapshot',
                 str(trainer / 'snaps' / 'lenet_iter_3.solverstate'))[0] == 0
    log = events(trainer)
    iters = [e['iter'] for e in log if e['phase'] == 'train']
    assert iters == [0, 1, 2, 3, 4, 5]                    # 3 and 4 not logged twice
    assert [e['iter'] for e in log if e['phase'] == 'test'] == [0, 3, 6]
    assert [e['iter'] for e in log if e['phase'] == 'snapshot'] == [3, 6]


def test_epochs_follow_digits_schedule_and_test_at_the_end(trainer, capsys):
    code, err = train(trainer, capsys, '--epochs', '1.5')
    assert code == 0
    # 320 images at batch 16: 20 iterations an epoch
    assert ('max_iter = 30, snapshot = 20, display = 2, test_iter = [20], test_interval = 20'
            in err)
    assert [e['iter'] for e in events(trainer) if e['phase'] == 'test'] == [0, 20, 30]
    assert [e['iter'] for e in events(trainer) if e['phase'] == 'snapshot'] == [20, 30]
    assert 'tested twice' not in err


def test_test_passes_reading_records_twice_are_warned(trainer, capsys):
    text = (trainer / 'solver.prototxt').read_text().replace('test_iter: 2', 'test_iter: 25')
    (trainer / 'solver.prototxt').write_text(text.replace('max_iter: 6', 'max_iter: 1'))
    code, err = train(trainer, capsys)
    assert code == 0
    assert ('test net #0: test_iter 25 x batch 16 = 400 images, more than the 320 of its '
            'data source: 80 are tested twice') in err


def test_snapshot_folder_is_a_model_folder(trainer, capsys):
    assert train(trainer, capsys)[0] == 0
    snaps = trainer / 'snaps'
    assert (snaps / 'deploy.prototxt').exists() and (snaps / 'mean.binaryproto').exists()
    image = reference_path('data', 'images', '3')
    first = sorted(os.listdir(image))[0]
    capsys.readouterr()
    assert main(['classify', '--model', str(snaps), '--json', str(image / first)]) == 0
    assert json.loads(capsys.readouterr().out)[0]['predictions']


def test_a_full_disk_names_the_training_log(tmp_path):
    import errno

    from caffelite.cli.train import JsonLog

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    log = JsonLog(str(tmp_path / 'snap_log.jsonl'), 0)
    log.file.close()
    log.file = FullDisk()
    with pytest.raises(OSError, match='snap_log.jsonl'):
        log({'phase': 'train', 'iter': 1, 'loss': 0.5})
