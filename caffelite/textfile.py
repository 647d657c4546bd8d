"""Reading the small text files Caffe's tools take (image lists, labels,
logs), with errors that name the file: a file that is not UTF-8 text is a
ParseError giving the file and the offending byte's line, not a bare
UnicodeDecodeError."""
import os

from .errors import ParseError


def read_lines(path, errors='strict'):
    """The lines of a UTF-8 text file, split at newlines only (as Caffe's
    getline), without their line endings.
    ``errors='surrogateescape'`` keeps undecodable bytes (file names in an
    image list) as the surrogates os functions turn back into those bytes."""
    path = os.fspath(path)
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8', errors)
    except UnicodeDecodeError as e:
        line = data.count(b'\n', 0, e.start) + 1
        raise ParseError('not a UTF-8 text file (byte 0x%02x)' % data[e.start], path,
                         line) from None
    lines = [line[:-1] if line.endswith('\r') else line for line in text.split('\n')]
    return lines[:-1] if lines and not lines[-1] else lines


def read_labels(path):
    """The class names of a labels.txt: one a line, stripped, blank lines
    skipped (as DIGITS reads them)."""
    return [line.strip() for line in read_lines(path) if line.strip()]
