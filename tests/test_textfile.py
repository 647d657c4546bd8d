"""caffelite.textfile: the one reader of labels.txt files, whose errors
name the file and line (classify, the server, sliding-window detection)."""
import pytest

from caffelite.detection.sliding_window import read_labels as window_labels
from caffelite.errors import ParseError
from caffelite.server import datasets
from caffelite.textfile import read_labels


def test_labels_are_stripped_lines_without_blanks(tmp_path):
    (tmp_path / 'labels.txt').write_bytes(b' cat \r\n\n dog\n\n')
    assert read_labels(tmp_path / 'labels.txt') == ['cat', 'dog']
    assert datasets.read_labels(str(tmp_path)) == ['cat', 'dog']
    assert window_labels(str(tmp_path / 'labels.txt'), 2) == ['cat', 'dog']


@pytest.mark.parametrize('read', [lambda folder: datasets.read_labels(str(folder)),
                                  lambda folder: window_labels(str(folder / 'labels.txt'), 2)])
def test_a_labels_file_that_is_not_utf8_is_named_with_its_line(tmp_path, read):
    (tmp_path / 'labels.txt').write_bytes(b'cat\n\xff\xfedog\n')
    with pytest.raises(ParseError, match=r'labels\.txt:2: not a UTF-8 text file'):
        read(tmp_path)
