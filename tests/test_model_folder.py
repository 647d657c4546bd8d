"""Finding a model folder's newest snapshot (caffelite.model_folder), the
one lookup behind ``classify --model``, ``export onnx --model``, the demo,
the course examples and the server's model jobs."""
import os

import numpy as np
import pytest

from caffelite import model_folder
from caffelite.cli import main
from caffelite.errors import CaffeError
from caffelite.net import TEST, Net
from caffelite.server import models

DEPLOY = """name: 'tiny'
layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 1 dim: 4 dim: 4 } } }
layer { name: 'ip' type: 'InnerProduct' bottom: 'data' top: 'ip'
        inner_product_param { num_output: 3 weight_filler { type: 'gaussian' std: 1 } } }
layer { name: 'prob' type: 'Softmax' bottom: 'ip' top: 'prob' }
"""


def _touch(path, age=0):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb'):
        pass
    stamp = 1.7e9 - age
    os.utime(path, (stamp, stamp))
    return str(path)


def test_numbered_snapshots_in_snapshots_win_over_a_stray_caffemodel(tmp_path):
    """A folder holding pretrained weights beside ``snapshots/`` (where
    ``caffelite train`` and the detection demo put them): the highest
    iteration, counted as a number, not the stray file nor the newest."""
    _touch(tmp_path / 'bvlc_googlenet.caffemodel')
    _touch(tmp_path / 'snapshots' / 'detectnet_iter_900.caffemodel')
    newest = _touch(tmp_path / 'snapshots' / 'detectnet_iter_1000.caffemodel', age=60)
    assert model_folder.latest_snapshot(str(tmp_path)) == newest


def test_hdf5_snapshots_are_found(tmp_path):
    """snapshot_format: HDF5 writes ``<prefix>_iter_N.caffemodel.h5``."""
    _touch(tmp_path / 'snapshots' / 'lenet_iter_5.caffemodel.h5')
    newest = _touch(tmp_path / 'snapshots' / 'lenet_iter_10.caffemodel.h5')
    assert model_folder.latest_snapshot(str(tmp_path)) == newest


def test_plain_weights_when_nothing_is_numbered(tmp_path):
    """A pretrained or surgery folder: its .caffemodel; none is an error
    naming the folder."""
    with pytest.raises(CaffeError, match=str(tmp_path)):
        model_folder.latest_snapshot(str(tmp_path))
    weights = _touch(tmp_path / 'weights.caffemodel')
    assert model_folder.latest_snapshot(str(tmp_path)) == weights


def test_the_server_lists_the_same_files(tmp_path):
    """A DIGITS model job's snapshots and solverstates, by iteration."""
    for it in (10, 5, 100):
        _touch(tmp_path / ('snapshot_iter_%d.caffemodel' % it))
        _touch(tmp_path / ('snapshot_iter_%d.solverstate' % it))
    job = dict(id='j', max_iter=100, form=dict(train_epochs=10))
    assert [os.path.basename(p) for p, _ in models.snapshots(job, str(tmp_path))] == [
        'snapshot_iter_5.caffemodel', 'snapshot_iter_10.caffemodel',
        'snapshot_iter_100.caffemodel']
    assert [it for it, _ in models.solverstates(str(tmp_path))] == [5, 10, 100]
    assert models.snapshot_path(job, str(tmp_path)) == model_folder.latest_snapshot(
        str(tmp_path))


def test_export_onnx_takes_the_snapshot_not_the_pretrained_weights(tmp_path, capsys):
    """``export onnx --model FOLDER``: the weights in the ONNX model are the
    newest snapshot's, not those of a pretrained file beside it."""
    import onnx
    from onnx import numpy_helper
    (tmp_path / 'deploy.prototxt').write_text(DEPLOY)
    Net(str(tmp_path / 'deploy.prototxt'), TEST).save(str(tmp_path / 'pretrained.caffemodel'))
    os.makedirs(tmp_path / 'snapshots')
    trained = Net(str(tmp_path / 'deploy.prototxt'), TEST)
    trained.params['ip'][0].data[...] += 1
    trained.save(str(tmp_path / 'snapshots' / 'tiny_iter_10.caffemodel'))
    out = tmp_path / 'tiny.onnx'
    assert main(['export', 'onnx', '--model', str(tmp_path), '--out', str(out)]) == 0
    capsys.readouterr()
    weights = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(out)).graph.initializer}
    assert any(np.array_equal(w.reshape(-1), trained.params['ip'][0].data.reshape(-1))
               for w in weights.values())
