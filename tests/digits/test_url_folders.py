"""Image folders given as a URL (DIGITS reads the web server's listing) and
the pooled fetch of URL images, against http.server on 127.0.0.1 (started
and stopped here) and saved listing pages of Apache and nginx."""
import contextlib
import functools
import http.server
import os
import socket
import threading
import time

import pytest
from PIL import Image

from caffelite.cli import main
from caffelite.digits import image_urls, url_folders
from caffelite.digits.image_urls import Downloads, FetchError
from caffelite.errors import CaffeError
from caffelite.lmdbs import open_readonly
from caffelite.tools import dataset

# Apache 2.4's fancy index of /data/: sorting links, the parent folder, an
# icon and a name linking each entry, dates on every entry line.
APACHE = '''<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /data</title></head><body>
<h1>Index of /data</h1>
<table>
<tr><th valign="top"><img src="/icons/blank.gif" alt="[ICO]"></th><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=A">Size</a></th></tr>
<tr><td valign="top"><a href="/"><img src="/icons/back.gif" alt="[PARENTDIR]"></a></td><td><a href="/">Parent Directory</a></td><td>&nbsp;</td><td align="right">  - </td></tr>
<tr><td valign="top"><a href="golden%20retriever/"><img src="/icons/folder.gif" alt="[DIR]"></a></td><td><a href="golden%20retriever/">golden retriever/</a></td><td align="right">2016-05-04 10:11  </td><td align="right">  - </td></tr>
<tr><td valign="top"><a href="tabby/"><img src="/icons/folder.gif" alt="[DIR]"></a></td><td><a href="tabby/">tabby/</a></td><td align="right">2016-05-04 10:11  </td><td align="right">  - </td></tr>
<tr><td valign="top"><a href="Cover.JPG"><img src="/icons/image2.gif" alt="[IMG]"></a></td><td><a href="Cover.JPG">Cover.JPG</a></td><td align="right">2016-05-04 10:12  </td><td align="right">31K</td></tr>
<tr><td valign="top"><a href="notes.txt"><img src="/icons/text.gif" alt="[TXT]"></a></td><td><a href="notes.txt">notes.txt</a></td><td align="right">2016-05-04 10:12  </td><td align="right">120</td></tr>
</table>
<address>Apache/2.4.18 (Ubuntu) Server at h Port 80</address>
</body></html>
'''
# nginx's autoindex of /data/: a <pre> of links, the parent first; the
# name shown is cut short, the href is whole.
NGINX = '''<html>
<head><title>Index of /data/</title></head>
<body>
<h1>Index of /data/</h1><hr><pre><a href="../">../</a>
<a href="golden%20retriever/">golden retriever/</a>                                  04-May-2016 10:11       -
<a href="tabby/">tabby/</a>                                             04-May-2016 10:11       -
<a href="a%26b_with_a_very_long_name.png">a&amp;b_with_a_very_long_name.png..&gt;</a> 04-May-2016 10:12   5120
<a href="Cover.JPG">Cover.JPG</a>                                          04-May-2016 10:12   31744
<a href=".hidden.png">.hidden.png</a>                                        04-May-2016 10:12   9
</pre><hr></body>
</html>
'''
BASE = 'http://h/data/'


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    # socketserver's listen backlog of 5 would drop some of the pool's
    # connections (sent again a second later)
    request_queue_size = 64


@contextlib.contextmanager
def serve(folder, handler=Quiet):
    """http://127.0.0.1:PORT/ serving ``folder`` until the block ends."""
    web = Server(('127.0.0.1', 0), functools.partial(handler, directory=folder))
    threading.Thread(target=web.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield 'http://127.0.0.1:%d/' % web.server_address[1]
    finally:
        web.shutdown()
        web.server_close()


def free_url():
    """The URL of a port of 127.0.0.1 that nothing listens on."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return 'http://127.0.0.1:%d/' % s.getsockname()[1]


@pytest.mark.parametrize('page, files', [
    (APACHE, ['Cover.JPG']),
    (NGINX, ['Cover.JPG', 'a%26b_with_a_very_long_name.png'])])
def test_listing_pages_of_apache_and_nginx(page, files):
    """Only the folder's own entries count: not the sorting links, the
    parent, hidden names or files that are no image; each entry once."""
    assert url_folders.parse_listing(page, BASE) == (
        [BASE + 'golden%20retriever/', BASE + 'tabby/'], [BASE + f for f in files])


def test_entries_sort_by_name_not_by_escaped_url():
    """'a b.png' < 'a-b.png' < 'a~b.png', as a local folder sorts them,
    although their escaped URLs sort 'a%20b', 'a-b', 'a%7Eb' (old quoting)."""
    page = '<a href="a%7Eb.png">~</a><a href="a-b.png">-</a><a href="a%20b.png">sp</a>'
    assert url_folders.parse_listing(page, BASE)[1] == [
        BASE + 'a%20b.png', BASE + 'a-b.png', BASE + 'a%7Eb.png']


def test_links_outside_the_folder_are_no_entries():
    page = ('<a href="http://elsewhere/x.png">x</a><a href="/data/sub/">same folder, '
            'absolute</a><a href=sub/deeper/>deeper</a><a href="#top">top</a>'
            '<A HREF="/other/y.png">y</A><a href="z.png?download=1">z</a><a name="n">n</a>')
    assert url_folders.parse_listing(page, BASE) == ([BASE + 'sub/'], [])


def make_tree(root):
    """root/images: classes 'dogs' and 'my cats' (a space in the URL), a
    nested folder, a hidden file and a file that is no image."""
    for path in ('my cats/a.png', 'my cats/z/b.png', 'my cats/c.png', 'dogs/d.png',
                 'dogs/.hidden.png', 'dogs/notes.txt'):
        full = os.path.join(root, 'images', path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        Image.new('L', (3, 2), len(path)).save(full, format='PNG')
    return os.path.join(root, 'images')


def test_a_folder_url_scans_as_the_same_folder_on_disk(tmp_path):
    """The classes, the names and the order of a folder read over HTTP
    (Python's http.server listing, no slash at the end, as DIGITS takes
    it) are those of the folder read from disk; the items are URLs."""
    local = make_tree(str(tmp_path))
    with serve(str(tmp_path)) as url:
        classes, items = dataset.scan_folder(url + 'images')
    assert (classes, [i.name for i in items], [i.label for i in items]) == (
        ['dogs', 'my cats'], ['dogs/d.png', 'my cats/a.png', 'my cats/c.png', 'my cats/z/b.png'],
        [0, 1, 1, 1])
    assert dataset.scan_folder(local)[0] == classes
    assert [i.name for i in dataset.scan_folder(local)[1]] == [i.name for i in items]
    assert items[1].path == url + 'images/my%20cats/a.png'


def test_a_link_loop_on_the_server_is_named_not_walked_for_ever(tmp_path):
    local = make_tree(str(tmp_path))
    # http.server lists a link to the folder above as a sub-folder
    os.symlink('..', os.path.join(local, 'dogs', 'loop'))
    with serve(str(tmp_path)) as url:
        with pytest.raises(CaffeError, match=r'^%simages/dogs/(loop/dogs/)+loop/: folders nested deeper '
                                             r'than 32 levels' % url):
            dataset.scan_folder(url + 'images/')


def test_an_unreachable_folder_url_is_one_line_naming_it():
    url = free_url() + 'images/'
    with pytest.raises(FetchError) as e:
        dataset.class_folders(url)
    assert str(e.value).startswith('cannot fetch the folder listing %s: ' % url)
    assert '\n' not in str(e.value) and e.value.url == url


class Counting(Quiet):
    """Answers after ``delay`` seconds, counting the requests in flight."""
    delay, lock, active, most = 0.05, threading.Lock(), 0, 0

    def do_GET(self):
        cls = type(self)
        with cls.lock:
            cls.active += 1
            cls.most = max(cls.most, cls.active)
        time.sleep(cls.delay)
        with cls.lock:
            cls.active -= 1
        super().do_GET()


def test_urls_are_fetched_a_few_at_a_time_into_files_in_list_order(tmp_path):
    """A few requests overlap (never more than the pool's threads); each
    URL's copy is its bytes and is named by its place in the list."""
    for i in range(24):
        (tmp_path / ('%02d.png' % i)).write_bytes(b'image %d' % i)
    Counting.most = 0
    downloads = Downloads(str(tmp_path / 'copies'), 1 << 20)
    with serve(str(tmp_path), Counting) as url:
        urls = [url + '%02d.png' % i for i in (3, 1, 3, 2)] + [
            url + '%02d.png' % i for i in range(4, 24)]
        downloads.save_all(urls)
        downloads.save_all(urls[:4])
    assert 2 <= Counting.most <= image_urls.THREADS
    assert list(downloads.files) == list(dict.fromkeys(urls))
    for place, (link, path) in enumerate(downloads.files.items()):
        assert os.path.basename(path) == '%08d' % place
        with open(path, 'rb') as f:
            assert f.read() == b'image %d' % int(link[-6:-4])


def test_the_first_failing_url_in_list_order_is_named(tmp_path):
    """However the fetches end, the error names the first URL (in list
    order) that cannot be had, as a fetch one at a time would."""
    for i in range(12):
        (tmp_path / ('%02d.png' % i)).write_bytes(b'x')
    with serve(str(tmp_path), Counting) as url:
        urls = [url + '%02d.png' % i for i in range(12)]
        urls[9] = url + 'gone-late.png'
        urls[5] = url + 'gone.png'
        with pytest.raises(FetchError, match=r'^cannot fetch the image %sgone.png: HTTP '
                                             r'Error 404' % url):
            Downloads(str(tmp_path / 'copies'), 1 << 20).save_all(urls)
        with pytest.raises(FetchError, match=r'^the image %s00.png is larger than the 0 MB '
                                             r'limit$' % url):
            Downloads(str(tmp_path / 'small'), 0).save_all(urls[:1])


def lmdb_values(folder):
    with open_readonly(folder).begin() as txn:
        return list(txn.cursor())


def test_the_command_line_builds_a_folder_url_as_the_folder_on_disk(tmp_path):
    """``caffelite dataset create URL OUT``, with a separate validation
    folder URL: the same records as from disk; the lists keep the URLs."""
    local = make_tree(str(tmp_path / 'web'))
    flags = ['--width', '3', '--height', '2', '--gray', '--seed', '0']
    with serve(str(tmp_path / 'web')) as url:
        assert main(['dataset', 'create', url + 'images/', str(tmp_path / 'out'),
                     '--val-folder', url + 'images', *flags]) == 0
    assert main(['dataset', 'create', local, str(tmp_path / 'disk'), '--val-folder', local,
                 *flags]) == 0
    for split in ('train', 'val'):
        assert lmdb_values(str(tmp_path / 'out' / (split + '_db'))) == lmdb_values(
            str(tmp_path / 'disk' / (split + '_db')))
    listed = (tmp_path / 'out' / 'val.txt').read_text()
    assert listed == (tmp_path / 'disk' / 'val.txt').read_text().replace(
        local + '/', url + 'images/').replace('my cats', 'my%20cats')
