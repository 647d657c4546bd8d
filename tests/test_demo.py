"""The README's main command: the embedded demo reaches 97% test accuracy
(full size, slow); ``caffelite demo`` runs the same library code and exits 0."""
import json
import pathlib
import re
import runpy

import numpy as np

import pytest

from caffelite import demo
from caffelite.cli import main

pytest.importorskip('sklearn', reason='the demo data ships with scikit-learn')


@pytest.mark.slow
def test_demo_trains_lenet_to_97_percent(tmp_path):
    lines = []
    accuracy = demo.run(str(tmp_path / 'demo'), log=lines.append)
    assert accuracy >= 0.97, lines
    assert (tmp_path / 'demo' / 'dataset' / 'mean.jpg').exists()
    assert list((tmp_path / 'demo' / 'model').glob('snapshot_iter_*.caffemodel'))


def test_demo_command_one_epoch_reports_accuracy(tmp_path, capsys, monkeypatch):
    """One epoch (23 iterations) through the CLI verb: well above chance
    (10%), the accuracy printed, exit status 0. The dataset and the model
    are DIGITS jobs that ``caffelite serve`` lists (the command printed);
    the model job (or the demo's folder) serves ``caffelite classify
    --model``, ``caffelite export onnx --model`` and the course code as their
    docs say, and a second run into the folder asks for --force."""
    from caffelite.server.jobs import JobStore
    work = tmp_path / 'demo'
    assert main(['demo', '--dir', str(work), '--epochs', '1']) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r'test accuracy: ([\d.]+)% on 180 held-out images', out).group(1))
    assert accuracy >= 50, out
    assert 'caffelite serve --jobs-dir %s' % (work / 'jobs') in out
    store = JobStore(str(work / 'jobs'))
    assert not store.load_all()
    assert sorted((j['type'], j['status']) for j in store.list()) == [
        ('dataset', 'Done'), ('model', 'Done')]
    snapshots = work / 'model'
    assert (snapshots / 'snapshot_iter_23.caffemodel').exists()
    for name in ('deploy.prototxt', 'train_val.prototxt', 'solver.prototxt', 'original.prototxt',
                 'caffe_output.log', 'labels.txt', 'mean.binaryproto', 'mean.jpg'):
        assert (snapshots / name).exists(), name      # DIGITS' model job folder
    digit = sorted((work / 'digits' / '3').iterdir())[0]
    assert main(['classify', '--model', str(snapshots), '--json', '--top-k', '1',
                 str(digit)]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result['predictions'][0]['label'] in [str(k) for k in range(10)]
    for folder in (snapshots, work):    # the job folder, and the demo's folder above it
        assert main(['export', 'onnx', '--model', str(folder),
                     '--out', str(tmp_path / 'demo.onnx')]) == 0
        assert capsys.readouterr().out.startswith(str(snapshots / 'deploy.prototxt'))
    examples = pathlib.Path(__file__).resolve().parents[1] / 'examples'
    deploy = runpy.run_path(str(examples / 'deploy_classifier.py'), run_name='not_main')
    prediction = deploy['main'](str(snapshots), str(work / 'dataset'), str(digit))
    assert prediction.shape == (1, 10) and abs(prediction.sum() - 1) < 1e-4
    from PIL import Image
    tiles = [np.asarray(Image.open(sorted((work / 'digits' / str(k)).iterdir())[0]))
             for k in range(6)]
    Image.fromarray(np.vstack([np.hstack(tiles[:3]), np.hstack(tiles[3:])])).save(
        tmp_path / 'mosaic.png')
    window = runpy.run_path(str(examples / 'sliding_window.py'), run_name='not_main')
    grid = window['detect'](str(snapshots), str(work / 'dataset'), str(tmp_path / 'mosaic.png'))
    assert grid.shape == (2, 3) and ((0 <= grid) & (grid <= 9)).all()
    capsys.readouterr()
    assert main(['demo', '--dir', str(work), '--epochs', '1']) == 1
    assert 'give --force to build it again' in capsys.readouterr().err
    demo.prepare_folder(str(work), force=True)
    assert sorted(p.name for p in work.iterdir()) == []
