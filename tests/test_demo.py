"""The README's main command: the embedded demo reaches 97% test accuracy."""
import pytest

from caffelite import demo


def test_demo_trains_lenet_to_97_percent(tmp_path):
    pytest.importorskip('sklearn', reason='the demo data ships with scikit-learn')
    lines = []
    accuracy = demo.run(str(tmp_path / 'demo'), log=lines.append)
    assert accuracy >= 0.97, lines
    assert (tmp_path / 'demo' / 'dataset' / 'mean.jpg').exists()
    assert list((tmp_path / 'demo' / 'snapshots').glob('*.caffemodel'))
