"""The embedded detection demo: its whole pipeline at reduced size (every
step, files and numbers), and the full run's AP >= 0.8 (slow: about 30 s)."""
import pytest

from caffelite.cli import main
from caffelite.demo import prepare_folder
from caffelite.detection import demo


def test_pipeline_at_reduced_size(tmp_path, capsys, monkeypatch):
    work = tmp_path / 'demo'
    lines = []
    ap, seconds = demo.run(str(work), dict(train=12, val=4, test=4, iterations=3, batch=4),
                           log=lines.append)
    assert 0.0 <= ap <= 1.0 and seconds > 0
    for path in ('dataset/train_db/features', 'dataset/val_db/labels', 'train_val.prototxt',
                 'deploy.prototxt', 'solver.prototxt', 'snapshots/detectnet_iter_3.caffemodel',
                 'detections.png', 'predictions/00000.txt', 'images/test/labels/00003.txt'):
        assert (work / path).exists(), path
    # DIGITS' all-in-one layout of the same net, cut as DIGITS cuts it
    from caffelite.digits import split
    from caffelite.proto import caffe_pb2
    from caffelite.protoio import read_text
    dataset = split.GenericDataset(*['db'] * 4, None, [0.0] * 3, 64, 128, 3)
    network = read_text(str(work / 'detectnet_network.prototxt'), caffe_pb2.NetParameter())
    cut = split.split_generic(network, dataset, use_mean='none')
    assert [lp.name for lp in cut.deploy.layer][-1] == 'cluster'
    # each test covers the 4 validation canvases once (one batch of 16)
    assert 'test_iter: 1\n' in (work / 'solver.prototxt').read_text()
    assert lines[-2].startswith('[5/5] 4 held-out images') and 'VOC AP' in lines[-2]
    # the predictions score with the command line tool
    assert main(['evaluate-detection', str(work / 'predictions'),
                 str(work / 'images' / 'test' / 'labels')]) == 0
    assert 'digit' in capsys.readouterr().out
    # a second run into the folder is refused before it writes anything;
    # --force reaches the demo, which then removes every file of the first
    assert main(['demo', 'detection', '--dir', str(work)]) == 1
    assert 'give --force to build it again' in capsys.readouterr().err
    calls = []
    monkeypatch.setattr(demo, 'run', lambda *args, **kwargs: calls.append(kwargs) or (1.0, 0))
    assert main(['demo', 'detection', '--dir', str(work), '--force']) == 0
    assert calls == [{'force': True}]
    prepare_folder(str(work), True, demo.OUTPUTS)
    assert sorted(p.name for p in work.iterdir()) == []


@pytest.mark.slow
def test_full_demo_reaches_voc_ap_08(tmp_path):
    ap, _ = demo.run(str(tmp_path / 'demo'), log=lambda line: None)
    assert ap >= 0.8
