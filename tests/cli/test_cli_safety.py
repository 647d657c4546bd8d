"""Safer by default: the caffelite commands build a prototxt's Python
layers only with --allow-python-layers, checked before anything is
imported (the Python API keeps pycaffe's behaviour); modules are found in
the prototxt's folder, then sys.path; the zoo manifest's file names must
be plain names and only http(s) URLs are followed, redirects included."""
import http.server
import sys
import threading

import pytest

import caffelite as caffe
from caffelite import zoo
from caffelite.cli import main

MODULE = '''import pathlib
import caffelite as caffe
pathlib.Path(__file__).with_name('imported.flag').write_text('imported')


class Twice(caffe.Layer):
    def setup(self, bottom, top):
        pass

    def reshape(self, bottom, top):
        top[0].reshape(*bottom[0].data.shape)

    def forward(self, bottom, top):
        top[0].data[...] = 2 * bottom[0].data

    def backward(self, top, propagate_down, bottom):
        bottom[0].diff[...] = 2 * top[0].diff
'''
NET = '''layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "twice" type: "Python" bottom: "data" top: "out"
        python_param { module: "%s" layer: "Twice" } }
'''


@pytest.fixture
def python_net(tmp_path, monkeypatch):
    """A prototxt whose Python layer's module sits beside it (and nowhere
    on sys.path); the module leaves imported.flag when imported."""
    folder = tmp_path / 'model'
    folder.mkdir()
    name = 'user_layer_%d' % id(tmp_path)
    (folder / (name + '.py')).write_text(MODULE)
    (folder / 'net.prototxt').write_text(NET % name)
    monkeypatch.chdir(tmp_path)
    yield folder
    sys.modules.pop(name, None)


def run(argv, capsys):
    capsys.readouterr()
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err.strip().splitlines()[-1:]


@pytest.mark.parametrize('argv', [['time', '-model', '{net}', '-iterations', '1'],
                                  ['test', '-model', '{net}', '-weights', '{net}'],
                                  ['draw', '{net}', 'out.dot']])
def test_commands_refuse_python_layers_before_importing(python_net, argv, capsys):
    net = python_net / 'net.prototxt'
    code, err = run([a.format(net=net) for a in argv], capsys)
    assert code == 1
    assert ("layer 'twice' (Python): runs code from module user_layer_" in err[0]
            and err[0].endswith('only with --allow-python-layers'))
    assert not (python_net / 'imported.flag').exists()


def test_allowed_python_layers_come_from_the_prototxt_folder(python_net, capsys):
    net = python_net / 'net.prototxt'
    code, _ = run(['time', '-model', net, '-iterations', '1', '--allow-python-layers'], capsys)
    assert code == 0 and (python_net / 'imported.flag').exists()


def test_python_api_keeps_pycaffes_behaviour(python_net):
    net = caffe.Net(str(python_net / 'net.prototxt'), caffe.TEST)
    assert net.forward(data=[[1.0, 2.0]])['out'].tolist() == [[2.0, 4.0]]


@pytest.mark.parametrize('field, value, expected', [
    ('weights_file', '../../.bashrc', 'not a plain file name'),
    ('weights_file', '/etc/passwd', 'not a plain file name'),
    ('weights_file', '.hidden', 'not a plain file name'),
    ('weights_url', 'file:///etc/passwd', 'not an http or https URL'),
    ('weights_url', 'ftp://example.org/w.caffemodel', 'not an http or https URL'),
])
def test_zoo_manifest_names_and_urls_are_checked(field, value, expected, tmp_path, monkeypatch):
    entry = {'weights_url': 'https://example.org/w.caffemodel', 'mirrors': [],
             'weights_file': 'w.caffemodel', 'size_bytes': 3}
    entry[field] = value
    monkeypatch.setattr(zoo, 'manifest', lambda: {'evil': entry})
    with pytest.raises(caffe.CaffeError, match=expected):
        zoo.fetch('evil', str(tmp_path / 'dl'), progress=False)
    assert not (tmp_path / 'dl').exists()


class Redirect(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(302)
        self.send_header('Location', 'ftp://127.0.0.1/w.caffemodel')
        self.end_headers()


def test_zoo_redirect_to_another_scheme_is_refused(tmp_path, monkeypatch):
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Redirect)
    threading.Thread(target=httpd.serve_forever, kwargs=dict(poll_interval=0.02),
                     daemon=True).start()
    try:
        url = 'http://127.0.0.1:%d/w.caffemodel' % httpd.server_address[1]
        monkeypatch.setattr(zoo, 'manifest', lambda: {'m': {
            'weights_url': url, 'mirrors': [], 'weights_file': 'w.caffemodel'}})
        with pytest.raises(caffe.CaffeError, match="redirect from .*'ftp://127.0.0.1/w.caffemodel' is "
                                                   'not an http or https URL'):
            zoo.fetch('m', str(tmp_path), progress=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not list(tmp_path.glob('w.caffemodel*'))
