"""Image folders given as a URL (``http://host/path/``), as DIGITS' New
Image Classification Dataset form takes them: the web server's index page
of the folder (Apache's or nginx's autoindex, Python's http.server,
lighttpd...) links each sub-folder (a class) and each file; a class's
images are the image files linked from its page and, recursively, from
its sub-folders' pages. DIGITS downloads the images when it builds the
dataset; so does caffelite (:mod:`.image_urls`).

A page's links count when they name a direct child of the folder: the
sorting links of Apache (``?C=N;O=D``), the parent folder, absolute links
elsewhere and hidden names are not entries of the listing. DIGITS only
reads links on a line that also holds a date (the autoindex formats);
Python's http.server index has none, so caffelite reads every link.
"""
import functools
import html.parser
import urllib.parse

from .. import images
from ..errors import CaffeError
from .image_urls import fetch, in_pool

# An index page larger than this is no directory listing.
LISTING_BYTES = 16 << 20
# Nested folders below a class folder: a web server that follows a link
# loop would list folders for ever.
MAX_DEPTH = 32


class _Links(html.parser.HTMLParser):
    """The href of every <a> of a page, in page order (entities decoded)."""

    def __init__(self):
        super().__init__()
        self.hrefs = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get('href') if tag == 'a' else None
        if href:
            self.hrefs.append(href)


def folder_url(url):
    """``url`` ending with '/', as DIGITS completes a folder URL (relative
    links resolve inside the folder)."""
    return url if url.endswith('/') else url + '/'


def relative_name(child, url):
    """The unescaped path of the URL ``child`` inside the folder ``url``
    (ending with '/'), or None when it lies elsewhere."""
    inside = urllib.parse.unquote(child)
    prefix = urllib.parse.unquote(url)
    return inside[len(prefix):] if inside.startswith(prefix) else None


def parse_listing(page, url):
    """(sub-folder URLs, image URLs) linked from the index ``page`` (text)
    of the folder ``url`` (ending with '/'), each sorted by name as a
    local folder's entries are, without repeats (Apache links an entry
    from its icon and its name)."""
    links = _Links()
    links.feed(page)
    links.close()
    folders, files = set(), set()
    for href in links.hrefs:
        child = urllib.parse.urljoin(url, href)
        parts = urllib.parse.urlsplit(child)
        name = relative_name(child, url)
        if parts.query or parts.fragment or not name or name.startswith('.'):
            continue
        if name.endswith('/') and name != '/' and '/' not in name[:-1]:
            folders.add(child)
        elif '/' not in name and name.lower().endswith(images.IMAGE_EXTENSIONS):
            files.add(child)
    by_name = functools.partial(relative_name, url=url)
    return sorted(folders, key=by_name), sorted(files, key=by_name)


def list_folder(url):
    """(sub-folder URLs, image URLs) of the folder ``url`` (see
    :func:`parse_listing`); image_urls.FetchError naming the URL when its
    page cannot be had."""
    url = folder_url(url)
    page = fetch(url, LISTING_BYTES, 'folder listing')
    return parse_listing(page.decode('utf-8', 'replace'), url)


def subfolders(url):
    """The sorted names of the sub-folders the folder ``url`` lists (the
    classes of an image folder), unescaped, as DIGITS names classes."""
    url = folder_url(url)
    return sorted(relative_name(child, url).rstrip('/') for child in list_folder(url)[0])


def class_images(url, classes):
    """[(image URL, name relative to ``url``, label)] of the ``classes``
    (sub-folder names) of the folder ``url``: each class's images, then
    each of its sub-folders', recursively, as a local folder walk gives
    them. The classes' pages are read a few classes at a time."""
    root = folder_url(url)
    walks = in_pool(lambda label: _walk(root, classes[label], label), range(len(classes)))
    return [found for walk in walks for found in walk]


def _walk(root, name, label):
    """[(image URL, name relative to ``root``, ``label``)] of the class
    folder ``name`` of the folder URL ``root``, depth first."""
    found = []
    pending = [(root + urllib.parse.quote(name) + '/', 0)]
    while pending:
        folder, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise CaffeError('%s: folders nested deeper than %d levels (a link loop?)'
                             % (folder, MAX_DEPTH))
        folders, files = list_folder(folder)
        found += [(image, relative_name(image, root), label) for image in files]
        pending += [(child, depth + 1) for child in reversed(folders)]
    return found
