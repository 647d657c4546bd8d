"""DIGITS' text lists of labelled images (the ``textfile`` dataset method,
and the image lists of classify_many): one ``path label`` a line, the path
maybe holding spaces, the label a non-negative integer that indexes the
labels file (0 is its first line). Relative paths are joined to the list's
image folder; an http(s) URL names an image DIGITS downloads.

DIGITS skips a line it cannot read; caffelite refuses the list instead,
with a ParseError naming the file and the line, so that a typo does not
silently drop images from a dataset.
"""
import os
import re

from ..errors import CaffeError, ParseError
from .image_urls import FetchError, is_url
from ..textfile import read_lines

# DIGITS' line rule: everything up to the last run of blanks, then digits.
LABELLED_LINE = re.compile(r'(.*\S)\s+(\d+)\s*$')
def split_line(line):
    """(path, label) of one list line (label None when it has none); None
    for a blank line."""
    line = line.strip()
    if not line:
        return None
    match = LABELLED_LINE.match(line)
    return (match.group(1), int(match.group(2))) if match else (line, None)


def joined(path, image_folder):
    """``path`` joined to ``image_folder`` when it is relative and not a URL."""
    if image_folder and not os.path.isabs(path) and not is_url(path):
        return os.path.join(image_folder, path)
    return path


def _located(path, image_folder, check):
    """The absolute path of a listed image, or its URL; CaffeError saying
    why it may not be read."""
    if is_url(path):
        return path
    full = joined(path, image_folder)
    if not os.path.isabs(full):
        raise CaffeError('%s is a relative path and no images folder was given for this list'
                         % path)
    full = os.path.normpath(full)
    refusal = check(full) if check else None
    if refusal:
        raise CaffeError(refusal)
    return full


def read_labelled_list(list_file, image_folder, label_count, shown_name=None, check=None,
                       fetch=None):
    """[(image path as listed, absolute path or URL, label)] of a dataset
    list ``list_file``. ``check(absolute path)``, when given, returns why
    an image file may not be read (None when it may); ``fetch(urls)``, when
    given, downloads the listed URLs' images once the whole list is read
    (an image_urls.FetchError naming the first that cannot be had).
    ``image_folder`` (or None) prefixes relative paths; labels must be
    below ``label_count`` (the lines of the labels file). ``shown_name``
    names the file in errors (an upload's name). Raises ParseError naming
    the file and line of the first bad line (or URL that cannot be
    fetched), or the file when it lists no image."""
    name = shown_name or list_file
    entries, first_line = [], {}
    for number, line in enumerate(read_lines(list_file, 'surrogateescape'), 1):
        parsed = split_line(line)
        if parsed is None:
            continue
        path, label = parsed
        if label is None:
            raise ParseError('expected "path label" (label: an integer), got %r' % line.strip(),
                             name, number)
        if label >= label_count:
            raise ParseError('label %d but the labels file has %d line(s) (labels 0 to %d)'
                             % (label, label_count, label_count - 1), name, number)
        try:
            entries.append((path, _located(path, image_folder, check), label))
        except CaffeError as e:
            raise ParseError(str(e), name, number) from None
        first_line.setdefault(entries[-1][1], number)
    if not entries:
        raise ParseError('no valid lines in input file (expected "path label" lines)', name)
    if fetch:
        try:
            fetch([full for _, full, _ in entries if is_url(full)])
        except FetchError as e:
            raise ParseError(str(e), name, first_line[e.url]) from None
    return entries
