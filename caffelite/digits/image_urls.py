"""Images named by http(s) URLs, which DIGITS fetches wherever it takes an
image path (its image loader reads a URL over the network): Test One's
"Image URL", the lines of Test Many's list and of a textfile dataset's
lists, the images of a folder given as a URL. One fetcher for them all:
http and https only (urllib's default opener would also follow ftp and
file URLs), redirects followed, a time limit and a size limit.

A dataset's URLs are fetched by a few threads at a time (DIGITS' create_db
loads images in a small pool of threads too): the network wait overlaps,
the files and the first failure are those of a fetch in list order.
"""
import concurrent.futures
import os
import urllib.error
import urllib.request

from .. import images
from ..errors import CaffeError

TIMEOUT = 30
# Image "paths" DIGITS fetches instead of reading a file.
URL_SCHEMES = ('http://', 'https://')
# URLs fetched at once for a dataset: enough to hide a slow server's
# latency, few enough not to flood it.
THREADS = 8
_OPENER = urllib.request.OpenerDirector()
for _handler in (urllib.request.HTTPHandler, urllib.request.HTTPSHandler,
                 urllib.request.HTTPRedirectHandler, urllib.request.HTTPDefaultErrorHandler,
                 urllib.request.HTTPErrorProcessor):
    _OPENER.add_handler(_handler())


def is_url(path):
    return path.lower().startswith(URL_SCHEMES)


class FetchError(CaffeError):
    """The bytes at ``url`` cannot be had (the message names it)."""

    def __init__(self, url, message):
        super().__init__(message)
        self.url = url


def fetch(url, max_bytes, what='image'):
    """The bytes at the http(s) ``url``, at most ``max_bytes``; FetchError
    naming the URL (and ``what`` it should be) when they cannot be had."""
    try:
        with _OPENER.open(url, timeout=TIMEOUT) as answer:
            data = answer.read(max_bytes + 1)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise FetchError(url, 'cannot fetch the %s %s: %s' % (what, url, e)) from None
    if len(data) > max_bytes:
        raise FetchError(url, 'the %s %s is larger than the %d MB limit'
                         % (what, url, max_bytes >> 20))
    return data


def in_pool(function, args, threads=THREADS):
    """[function(arg) for arg in args], run by up to ``threads`` threads;
    the exception of the first arg (in order) that fails is raised, the
    calls not yet started are dropped."""
    with concurrent.futures.ThreadPoolExecutor(max(1, min(threads, len(args)))) as pool:
        futures = [pool.submit(function, arg) for arg in args]
        try:
            return [future.result() for future in futures]
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise


class Downloads:
    """Local copies, in ``folder``, of the URL images a dataset names, so
    that the dataset is built from files: :meth:`save_all` fetches URLs
    (each once), :meth:`read` reads a listed path, a URL from its copy."""

    def __init__(self, folder, max_bytes):
        self.folder, self.max_bytes = folder, max_bytes
        self.files = {}

    def save_items(self, groups):
        """:meth:`save_all` of the http(s) URLs that ``groups`` (lists of
        tools.dataset Items: a dataset's splits) name as image paths."""
        self.save_all([item.path for group in groups for item in group if is_url(item.path)])

    def save_all(self, urls):
        """Fetch the ``urls`` not yet fetched into the folder, a few at a
        time; FetchError naming the first (in order) that cannot be had."""
        new = [url for url in dict.fromkeys(urls) if url not in self.files]
        if not new:
            return
        os.makedirs(self.folder, exist_ok=True)
        # files named by list order, whatever order the fetches end in
        paths = {url: os.path.join(self.folder, '%08d' % (len(self.files) + i))
                 for i, url in enumerate(new)}
        in_pool(lambda url: self._save(url, paths[url]), new)
        self.files.update(paths)

    def _save(self, url, path):
        data = fetch(url, self.max_bytes)
        with open(path, 'wb') as f:
            f.write(data)

    def read(self, path, color):
        """The pixels of a listed image, as images.read_like_digits gives
        them; a fetched URL's errors name the URL."""
        if path not in self.files:
            return images.read_like_digits(path, color)
        with open(self.files[path], 'rb') as f:
            return images.read_like_digits(f.read(), color, name=path)
