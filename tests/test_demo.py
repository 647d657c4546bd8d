"""The README's main command: the embedded demo reaches 97% test accuracy
(full size, slow); ``caffelite demo`` runs the same library code and exits 0."""
import re

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
    assert list((tmp_path / 'demo' / 'snapshots').glob('*.caffemodel'))


def test_demo_command_one_epoch_reports_accuracy(tmp_path, capsys):
    """One epoch (23 iterations) through the CLI verb: well above chance
    (10%), the accuracy printed, exit status 0."""
    assert main(['demo', '--dir', str(tmp_path / 'demo'), '--epochs', '1']) == 0
    out = capsys.readouterr().out
    accuracy = float(re.search(r'test accuracy: ([\d.]+)% on 180 held-out images', out).group(1))
    assert accuracy >= 50, out
    assert (tmp_path / 'demo' / 'snapshots' / 'lenet_iter_23.caffemodel').exists()
