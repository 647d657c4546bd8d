"""Images named by http(s) URLs, which DIGITS fetches wherever it takes an
image path (its image loader reads a URL over the network): Test One's
"Image URL", the lines of Test Many's list and of a textfile dataset's
lists. One fetcher for them all: http and https only (urllib's default
opener would also follow ftp and file URLs), redirects followed, a time
limit and a size limit.
"""
import os
import urllib.error
import urllib.request

from .. import images
from ..errors import CaffeError

TIMEOUT = 30
_OPENER = urllib.request.OpenerDirector()
for _handler in (urllib.request.HTTPHandler, urllib.request.HTTPSHandler,
                 urllib.request.HTTPRedirectHandler, urllib.request.HTTPDefaultErrorHandler,
                 urllib.request.HTTPErrorProcessor):
    _OPENER.add_handler(_handler())


def fetch(url, max_bytes):
    """The bytes at the http(s) ``url``, at most ``max_bytes``; CaffeError
    naming the URL when they cannot be had."""
    try:
        with _OPENER.open(url, timeout=TIMEOUT) as answer:
            data = answer.read(max_bytes + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise CaffeError('cannot fetch the image %s: %s' % (url, e)) from None
    if len(data) > max_bytes:
        raise CaffeError('the image %s is larger than the %d MB limit'
                         % (url, max_bytes >> 20))
    return data


class Downloads:
    """Local copies, in ``folder``, of the URL images a dataset's lists
    name, so that the dataset is built from files: :meth:`save` fetches a
    URL once, :meth:`read` reads a listed path, a URL from its copy."""

    def __init__(self, folder, max_bytes):
        self.folder, self.max_bytes = folder, max_bytes
        self.files = {}

    def save(self, url):
        """Fetch ``url`` into the folder (once); CaffeError naming it when
        it cannot be had."""
        if url not in self.files:
            data = fetch(url, self.max_bytes)
            os.makedirs(self.folder, exist_ok=True)
            path = os.path.join(self.folder, '%08d' % len(self.files))
            with open(path, 'wb') as f:
                f.write(data)
            self.files[url] = path
        return self.files[url]

    def read(self, path, color):
        """The pixels of a listed image, as images.read_like_digits gives
        them; a fetched URL's errors name the URL."""
        if path not in self.files:
            return images.read_like_digits(path, color)
        with open(self.files[path], 'rb') as f:
            return images.read_like_digits(f.read(), color, name=path)
