"""The model zoo: prototxt definitions shipped with caffelite (deploy nets
for every model, train_val + solver where Caffe published them) and their
official weights, fetched with checksums and resumable downloads.

Downloads stream into ``<file>.part`` (resumed with an HTTP Range request
when the server allows) and are renamed to the final name only once the
published size and checksums match, so a file under the final name is
always complete.

The manifest is data from outside: a weights file name must be a plain file
name (no folder, no leading dot), and only http and https URLs are
followed, redirects included.
"""
import hashlib
import http.client
import json
import os
import urllib.error
import urllib.parse
import urllib.request

from .errors import CaffeError
from .progress import progress_bar
from .resources import shipped_dir

DIGESTS = ('sha1', 'sha256')
CHUNK = 1 << 16
SCHEMES = ('http', 'https')


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """Follows redirects to http and https URLs only (urllib's own handler
    also goes to ftp)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_url(newurl, 'redirect from %s' % req.full_url)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_HttpRedirectsOnly)


def check_url(url, where):
    """Raise CaffeError unless ``url`` is an http or https URL."""
    if urllib.parse.urlsplit(url).scheme.lower() not in SCHEMES:
        raise CaffeError('%s: %r is not an http or https URL; refusing to follow it'
                         % (where, url))


def check_file_name(name, where):
    """Raise CaffeError unless ``name`` is a plain file name."""
    plain = (isinstance(name, str) and name and name == os.path.basename(name)
             and '\\' not in name and '\0' not in name and not name.startswith('.'))
    if not plain:
        raise CaffeError('%s: weights_file %r is not a plain file name' % (where, name))


def zoo_dir():
    """caffelite/model_zoo when installed, model_zoo/ of a source checkout."""
    return shipped_dir('model_zoo', 'manifest.json')


def manifest():
    """{name: info} from model_zoo/manifest.json."""
    with open(os.path.join(zoo_dir(), 'manifest.json'), encoding='utf-8') as f:
        return json.load(f)['models']


def list_models():
    return sorted(manifest())


def model_info(name):
    """The manifest entry of ``name`` (with its ``name``): weights URL and
    mirrors, file name, size, checksums, license, input/output shapes."""
    models = manifest()
    if name not in models:
        raise CaffeError("no zoo model named '%s' (known: %s)" % (name, ', '.join(sorted(models))))
    return dict(models[name], name=name)


def definitions(name):
    """Kinds of prototxt shipped for ``name``: 'deploy', and 'train_val'
    and 'solver' where published."""
    model_info(name)
    folder = os.path.join(zoo_dir(), name)
    return sorted(f[:-len('.prototxt')] for f in os.listdir(folder) if f.endswith('.prototxt'))


def prototxt_path(name, kind='deploy'):
    """Path of the zoo's ``<kind>.prototxt`` of ``name``."""
    kinds = definitions(name)
    if kind not in kinds:
        raise CaffeError("zoo model '%s' has no %s.prototxt (it has: %s)"
                         % (name, kind, ', '.join(kinds)))
    return os.path.join(zoo_dir(), name, kind + '.prototxt')


def deploy_path(name):
    """Path of the zoo's deploy.prototxt of ``name``."""
    return prototxt_path(name, 'deploy')


def file_digests(path):
    """{'sha1': hex, 'sha256': hex} of the file, in one read."""
    hashes = {name: hashlib.new(name) for name in DIGESTS}
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            for h in hashes.values():
                h.update(block)
    return {name: h.hexdigest() for name, h in hashes.items()}


def mismatches(path, expected):
    """What in ``path`` differs from ``expected`` (a manifest entry or a
    dict with any of size_bytes, sha1, sha256; None values are unknown)."""
    problems = []
    size = os.path.getsize(path)
    if expected.get('size_bytes') is not None and size != expected['size_bytes']:
        problems.append('size %d, expected %d' % (size, expected['size_bytes']))
    if any(expected.get(name) for name in DIGESTS):
        digests = file_digests(path)
        problems += ['%s %s, expected %s' % (name, digests[name], expected[name])
                     for name in DIGESTS if expected.get(name) and digests[name] != expected[name]]
    return problems


def download(url, dest, expected=None, progress=True, timeout=60):
    """Download ``url`` to ``dest`` through ``dest + '.part'``, resuming a
    partial download when the server honours Range requests. ``expected``
    (size_bytes, sha1, sha256; any may be missing) is checked before the
    rename; on a mismatch the download is deleted and CaffeError raised.
    Network errors raise CaffeError and keep the part for a later resume."""
    expected = expected or {}
    part = dest + '.part'
    have = os.path.getsize(part) if os.path.exists(part) else 0
    size = expected.get('size_bytes')
    if size is not None and have > size:
        have = 0                  # longer than the file: not a prefix of it
    if size is None or have < size:
        _transfer(url, part, have, progress, timeout)
    problems = mismatches(part, expected)
    if problems:
        os.unlink(part)
        raise CaffeError('checksum mismatch for %s: %s (the download was deleted)'
                         % (url, '; '.join(problems)))
    os.replace(part, dest)
    return dest


def _transfer(url, part, have, progress, timeout):
    """Append the rest of ``url`` to ``part`` (``have`` bytes long), or
    rewrite it when the server sends the whole file."""
    response, offset = _open(url, have, timeout)
    if response is None:
        return
    with response:
        length = response.headers.get('Content-Length')
        total = offset + int(length) if length is not None else None
        _stream(response, part, offset, total, progress)
    got = os.path.getsize(part)
    if total is not None and got < total:
        raise CaffeError('download of %s stopped at %d of %d bytes (kept in %s): '
                         'run again to resume' % (url, got, total, part))


def _open(url, have, timeout):
    """(response, offset its body starts at); (None, have) when the server
    says the requested range is past the end (the part is complete)."""
    headers = {'Range': 'bytes=%d-' % have} if have else {}
    try:
        response = _OPENER.open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:
            return None, have
        raise CaffeError('download of %s failed: HTTP %d %s' % (url, e.code, e.reason)) from None
    except (OSError, http.client.HTTPException) as e:
        raise CaffeError('cannot reach %s (%s): offline, or the server is down?'
                         % (url, getattr(e, 'reason', None) or e)) from None
    if response.status != 206:
        return response, 0
    if _range_start(response) == have:
        return response, have
    response.close()              # a range we did not ask for: start over
    return _open(url, 0, timeout)


def _range_start(response):
    """First byte of a 206 response (``Content-Range: bytes START-END/TOTAL``)."""
    value = response.headers.get('Content-Range', '')
    try:
        return int(value.split()[1].split('-')[0])
    except (IndexError, ValueError):
        return None


def _stream(response, path, offset, total, progress):
    with open(path, 'ab' if offset else 'wb') as f, \
            progress_bar(total=total, initial=offset, unit='B', unit_scale=True, leave=False,
                         desc=os.path.basename(path), enabled=progress) as bar:
        try:
            for block in iter(lambda: response.read(CHUNK), b''):
                f.write(block)
                bar.update(len(block))
        except (OSError, http.client.HTTPException) as e:
            raise CaffeError('download into %s interrupted (%s) after %d bytes: run again '
                             'to resume' % (path, e.__class__.__name__, f.tell())) from None


def fetch(name, dest_dir='.', progress=True, timeout=60):
    """Download the official weights of zoo model ``name`` into ``dest_dir``
    (trying its mirrors in turn) and return their path. A file already there
    that matches the manifest is kept without downloading."""
    info = model_info(name)
    urls = [info['weights_url']] + list(info.get('mirrors', ())) if info.get('weights_url') else []
    if not urls:
        raise CaffeError("zoo model '%s' has no published weights: %s"
                         % (name, info.get('description', '')))
    where = "zoo manifest entry '%s'" % name
    check_file_name(info.get('weights_file'), where)
    for url in urls:
        check_url(url, where)
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, info['weights_file'])
    if os.path.exists(dest) and not mismatches(dest, info):
        return dest
    failures = []
    for url in urls:
        try:
            return download(url, dest, info, progress, timeout)
        except CaffeError as e:
            failures.append(str(e))
    # one line: the command line shows an error's first line only
    raise CaffeError("could not fetch the weights of '%s': %s" % (name, '; '.join(failures)))
