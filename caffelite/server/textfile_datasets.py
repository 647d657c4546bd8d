"""DIGITS' ``method=textfile`` classification datasets: "path label" lists
of train (and optionally val and test) images and a labels file, uploaded
(saved into the job folder as DIGITS names them: ``train.txt``,
``val.txt``, ``test.txt``, ``labels.txt``) or read on the server
(``textfile_use_local_files``); relative paths are joined to the split's
``textfile_<split>_folder``.

The lists are checked when the job is made, so that a bad line is a 400
naming the file and line: every line must parse, its label index the
labels file, its image lie under the server's data roots or be an http(s)
URL (which the worker downloads, as DIGITS does). The job's fact
``textfiles`` is {'labels': path, 'lists': {split: [path, name shown in
errors, images folder or None]}, 'max_url_bytes': n}; the worker reads the
same files.
"""
import os

from starlette.exceptions import HTTPException

from ..digits.forms import REQUIRED, TEXTFILE_SPLITS, textfile_uploads, textfile_uses
from ..digits.textfiles import read_labelled_list
from ..errors import CaffeError
from ..textfile import read_labels
from .security import resolve_server_path
from .web import FormErrors


def _list_field(values, split):
    """The form field that gives ``split``'s list."""
    local = values['textfile_use_local_files']
    return 'textfile_%s%s_images' % ('local_' if local else '', split)


def _labels_field(values):
    return 'textfile_%slabels_file' % ('local_' if values['textfile_use_local_files'] else '')


def _server_path(value, roots, field, errors, kind):
    """The checked real path of a server ``value`` (a file or a folder by
    ``kind``), or None with the error added under ``field``."""
    try:
        path = resolve_server_path(value, roots, field)
    except HTTPException as e:
        errors[field] = [e.detail]
        return None
    exists = os.path.isdir(path) if kind == 'folder' else os.path.isfile(path)
    if not exists:
        errors[field] = ['%s does not exist' % kind]
        return None
    return path


def server_sources(values, files, roots):
    """({split: images folder or None}, {field: local real path}) of a
    textfile form, the uploads it needs being present; FormErrors (DIGITS'
    400) naming the fields at fault."""
    errors = {field: [REQUIRED] for field in textfile_uploads(values) if field not in files}
    splits = [s for s in TEXTFILE_SPLITS if textfile_uses(values, s)]
    folders = {}
    for split in splits:
        field = 'textfile_%s_folder' % split
        text = values[field].strip()
        folders[split] = _server_path(text, roots, field, errors, 'folder') if text else None
    local = {}
    if values['textfile_use_local_files']:
        for field in [_list_field(values, s) for s in splits] + [_labels_field(values)]:
            if values[field] and field not in errors:
                local[field] = _server_path(values[field].strip(), roots, field, errors, 'file')
    if errors:
        raise FormErrors(errors)
    return folders, local


async def read_uploads(values, files):
    """{upload field: (file name, bytes)} of the lists a textfile form uploads."""
    return {field: (files[field].filename, await files[field].read())
            for field in textfile_uploads(values)}


def textfiles_fact(values, folders, paths, shown, max_url_bytes):
    """The job's ``textfiles`` fact from the lists' saved or local
    ``paths`` ({field: path}), the names to show for them ({field: name})
    and the size limit of an image they name by URL."""
    lists = {split: [paths[_list_field(values, split)], shown[_list_field(values, split)],
                     folders[split]] for split in folders}
    labels = _labels_field(values)
    return {'labels': paths[labels], 'labels_name': shown[labels], 'lists': lists,
            'max_url_bytes': max_url_bytes}


def check_lists(values, fact, roots):
    """Read every list of a ``textfiles`` fact as the worker will; raise
    FormErrors naming the field, file and line of the first bad line or
    of an image outside the data ``roots``."""
    try:
        labels = read_labels(fact['labels'])
    except CaffeError as e:
        raise FormErrors({_labels_field(values): [str(e)]}) from None
    if not labels:
        raise FormErrors({_labels_field(values): ['%s: no labels in the labels file'
                                                  % fact['labels_name']]})
    for split, (path, name, folder) in fact['lists'].items():
        try:
            read_labelled_list(path, folder, len(labels), name,
                               check=lambda image: _outside(image, roots))
        except CaffeError as e:
            raise FormErrors({_list_field(values, split): [str(e)]}) from None


def _outside(path, roots):
    """Why the image ``path`` may not be read (outside the data roots), or None."""
    try:
        resolve_server_path(path, roots, 'image')
    except HTTPException as e:
        return e.detail
    return None


def prepare_job_dir(values, uploads, roots, folders, local, job_dir, max_url_bytes):
    """Save the ``uploads`` (see :func:`read_uploads`) into ``job_dir``
    under DIGITS' names, check every list and return the job's
    ``textfiles`` fact (FormErrors when a list is bad); ``folders`` and
    ``local``: what :func:`server_sources` returned; ``max_url_bytes``: the
    size limit of an image a list names by URL (fetched by the worker)."""
    paths, shown = dict(local), dict(local)
    for field, name in textfile_uploads(values).items():
        paths[field] = os.path.join(job_dir, name)
        with open(paths[field], 'wb') as f:
            f.write(uploads[field][1])
        shown[field] = uploads[field][0] or name
    fact = textfiles_fact(values, folders, paths, shown, max_url_bytes)
    check_lists(values, fact, roots)
    return fact
