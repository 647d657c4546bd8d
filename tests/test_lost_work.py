"""Nothing lost or clobbered: temporary files and half-made databases of a
killed process are cleaned up by the next run into their folder, finished
files are flushed to disk before they get their name, and a file name that
cannot go into a dataset skips that image, not the dataset."""
import os
import subprocess
import sys

import numpy as np
from PIL import Image

from caffelite import protoio
from caffelite.cli import main


def dead_pid():
    """The pid of a process that has exited."""
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def test_next_run_removes_what_a_killed_run_left(tmp_path, capsys):
    from caffelite.tools.imageset import convert_imageset
    pid = dead_pid()
    leftovers = ['.lenet_iter_20.caffemodel.%d.ab12cd_3.tmp' % pid, '.db.%d.x7y8z9w0' % pid]
    (tmp_path / leftovers[0]).write_bytes(b'half a snapshot')
    (tmp_path / leftovers[1]).mkdir()
    (tmp_path / leftovers[1] / 'data.mdb').write_bytes(b'half a database')
    mine = '.other.caffemodel.%d.abcdefgh.tmp' % os.getpid()      # a live writer's
    (tmp_path / mine).write_bytes(b'in progress')
    (tmp_path / '.hidden_user_file').write_text('keep me')
    img = tmp_path / 'img'
    img.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(img / 'a.png')
    (tmp_path / 'list.txt').write_text('a.png 0\n')
    convert_imageset(str(img) + '/', str(tmp_path / 'list.txt'), str(tmp_path / 'db'), gray=True)
    assert sorted(os.listdir(tmp_path)) == sorted(['.hidden_user_file', mine, 'db', 'img',
                                                   'list.txt'])


def test_atomic_writes_are_flushed_before_the_rename(tmp_path, monkeypatch):
    synced, renamed = [], []
    fsync, replace = os.fsync, os.replace
    monkeypatch.setattr(os, 'fsync', lambda fd: synced.append(fd) or fsync(fd))
    monkeypatch.setattr(os, 'replace',
                        lambda a, b: renamed.append((len(synced), b)) or replace(a, b))
    with protoio.atomic_open(str(tmp_path / 'w.caffemodel')) as f:
        f.write(b'weights')
    assert renamed and renamed[0][0] >= 1       # the data was synced before the rename
    assert (tmp_path / 'w.caffemodel').read_bytes() == b'weights'


def test_bad_file_names_skip_the_image_not_the_dataset(tmp_path, capsys):
    images = os.fsencode(tmp_path / 'images')
    for label in (b'a', b'b'):
        os.makedirs(os.path.join(images, label))
        for k in range(3):
            Image.fromarray(np.full((4, 4), 40 * k, np.uint8)).save(
                os.path.join(images, label, b'%d.png' % k).decode())
    bad = [b'caf\xe9.png', b'two\nlines.png']
    for name in bad:
        with open(os.path.join(images, b'a', name), 'wb') as f:
            Image.fromarray(np.zeros((4, 4), np.uint8)).save(f, format='PNG')
    # a longer name than an LMDB key takes, inside a sub-folder
    deep = os.path.join(images, b'b', b'y' * 200, b'w' * 200)
    os.makedirs(deep)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(os.path.join(deep, b'z' * 200 + b'.png').decode())
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', str(tmp_path / 'images'), str(out), '--width', '4',
                 '--height', '4', '--gray', '--val-percent', '0']) == 0
    printed = capsys.readouterr().out
    assert 'skipped 3 images:' in printed
    assert 'caf\ufffd.png: the file name is not valid UTF-8' in printed
    assert "lines.png': the file name contains a line break" in printed
    assert 'the file name is too long for an LMDB key (617 bytes, at most 511)' in printed
    listed = (out / 'train.txt').read_text().splitlines()
    assert len(listed) == 6 and all('caf' not in line for line in listed)


def test_signals_are_honoured_during_the_test_phase(tmp_path, capsys, monkeypatch):
    """SIGHUP (snapshot) and SIGINT (stop) arriving while the test net runs
    act as they do during training, as in Caffe's Solver::Test."""
    import signal
    from caffelite import solver as solvers
    from conftest import REFERENCE
    from refcases import lmdb_trainer
    lmdb_trainer(tmp_path, 'net: "train_val.prototxt"\nbase_lr: 0.01\nlr_policy: "fixed"\n'
                 'max_iter: 9\ndisplay: 0\ntest_iter: 2\ntest_interval: 3\n'
                 'test_initialization: false\nsnapshot: 0\nsnapshot_after_train: false\n'
                 'snapshot_prefix: "%(prefix)s"\n')
    test = solvers.Solver.test
    sent = []

    def signalling_test(self, index=0):
        if len(sent) < 2:
            sent.append(signal.SIGHUP if not sent else signal.SIGINT)
            os.kill(os.getpid(), sent[-1])
        return test(self, index)
    monkeypatch.setattr(solvers.Solver, 'test', signalling_test)
    assert main(['train', '-solver', str(tmp_path / 'solver.prototxt'),
                 '-weights', str(REFERENCE / 'data' / 'init.caffemodel')]) == 0
    log = capsys.readouterr().err
    # SIGHUP during the test at iteration 3: a snapshot, training goes on;
    # SIGINT during the test at iteration 6: the run stops.
    snapshots = sorted(n for n in os.listdir(tmp_path / 'snaps') if '_iter_' in n)
    assert snapshots == ['lenet_iter_3.caffemodel', 'lenet_iter_3.solverstate']
    assert 'Test interrupted.' in log and 'Optimization stopped early' in log
    assert 'Iteration 9, Testing' not in log
