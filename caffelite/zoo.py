"""The model zoo: prototxt definitions shipped with caffelite and fetching
their official weights (checksummed, resumable, never leaving a partial
file under the final name)."""
import hashlib
import json
import os
import urllib.error
import urllib.request

from .errors import CaffeError


def zoo_dir():
    """model_zoo/ of a source checkout, or caffelite/model_zoo when installed."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, 'model_zoo'),
                      os.path.join(os.path.dirname(here), 'model_zoo')):
        if os.path.exists(os.path.join(candidate, 'manifest.json')):
            return candidate
    raise CaffeError('caffelite model zoo files not found beside %s' % here)


def manifest():
    with open(os.path.join(zoo_dir(), 'manifest.json')) as f:
        return json.load(f)['models']


def list_models():
    return sorted(manifest())


def model_info(name):
    models = manifest()
    if name not in models:
        raise CaffeError("no zoo model named '%s' (known: %s)" % (name, ', '.join(sorted(models))))
    return models[name]


def deploy_path(name):
    """The zoo's deploy.prototxt of ``name``."""
    model_info(name)
    return os.path.join(zoo_dir(), name, 'deploy.prototxt')


def sha1_of(path, chunk=1 << 20):
    digest = hashlib.sha1()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def download(url, dest, expected_sha1=None, progress=True, timeout=30):
    """Download ``url`` to ``dest`` through ``dest + '.part'``, resuming a
    previous partial download with an HTTP Range request when the server
    allows; rename into place only after the SHA1 matches (when known).
    Returns the SHA1 of the file."""
    part = dest + '.part'
    have = os.path.getsize(part) if os.path.exists(part) else 0
    request = urllib.request.Request(url, headers={'Range': 'bytes=%d-' % have} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:         # the part is already complete
            response = None
        else:
            raise CaffeError('download of %s failed: HTTP %d %s' % (url, e.code, e.reason)) from None
    except (urllib.error.URLError, OSError) as e:
        raise CaffeError('cannot reach %s (%s): are you offline?'
                         % (url, getattr(e, 'reason', e))) from None
    if response is not None:
        resumed = have and response.status == 206
        mode = 'ab' if resumed else 'wb'
        total = response.headers.get('Content-Length')
        total = int(total) + (have if resumed else 0) if total else None
        _stream(response, part, mode, have if resumed else 0, total, progress)
    digest = sha1_of(part)
    if expected_sha1 and digest != expected_sha1:
        os.unlink(part)
        raise CaffeError('checksum mismatch for %s: expected %s, got %s (file removed)'
                         % (url, expected_sha1, digest))
    os.replace(part, dest)
    return digest


def _stream(response, path, mode, start, total, progress):
    from tqdm import tqdm
    with open(path, mode) as f, tqdm(total=total, initial=start, unit='B', unit_scale=True,
                                     disable=not progress, leave=False) as bar:
        while True:
            block = response.read(1 << 16)
            if not block:
                break
            f.write(block)
            bar.update(len(block))


def fetch(name, dest_dir='.', progress=True):
    """Download the official weights of zoo model ``name`` into ``dest_dir``."""
    info = model_info(name)
    url = info.get('weights_url')
    if not url:
        raise CaffeError("zoo model '%s' has no direct weight download: %s"
                         % (name, info.get('source', '')))
    os.makedirs(dest_dir, exist_ok=True)
    dest = os.path.join(dest_dir, os.path.basename(url))
    digest = download(url, dest, info.get('sha1'), progress)
    return dest, digest
