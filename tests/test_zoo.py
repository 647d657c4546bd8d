"""The model zoo: every definition builds with its published output shape,
runs forward and backward at batch 1, matches the parameter shapes of the
upstream nets Caffe recorded, and fetch is checksummed and resumable."""
import hashlib
import http.server
import threading

import numpy as np
import pytest

import caffelite as caffe
from caffelite import zoo
from caffelite.cli import main
from caffelite.net import load_net_param
from conftest import REFERENCE
from refcases import synthetic_weights

UPSTREAM = {'caffenet': 'caffenet', 'alexnet': 'alexnet', 'googlenet': 'googlenet',
            'resnet50': 'resnet50', 'squeezenet1.1': 'squeezenet_v1.1', 'fcn32s': 'fcn32s'}
HEAVY = {'vgg16', 'fcn32s'}


def test_manifest_lists_every_model():
    assert zoo.list_models() == sorted(['lenet', 'caffenet', 'alexnet', 'googlenet', 'vgg16',
                                        'resnet50', 'squeezenet1.1', 'fcn32s'])
    for name in zoo.list_models():
        info = zoo.model_info(name)
        assert {'description', 'weights_url', 'sha1', 'input_shape', 'output',
                'output_shape', 'classes', 'license'} <= set(info)
        assert info['sha1'] is None or len(info['sha1']) == 40


@pytest.mark.parametrize('name', sorted(zoo.manifest()))
def test_definition_builds_with_published_output_shape(name):
    info = zoo.model_info(name)
    net = caffe.Net(zoo.deploy_path(name), caffe.TEST)
    assert net.blobs[net.inputs[0]].shape == tuple(info['input_shape'])
    assert net.blobs[info['output']].shape == tuple(info['output_shape'])


@pytest.mark.parametrize('name', sorted(UPSTREAM))
def test_parameters_match_the_upstream_definition(name):
    upstream = REFERENCE / 'models' / UPSTREAM[name] / 'net.prototxt'
    if not upstream.exists():
        pytest.skip('Caffe reference data not found')
    ours = caffe.Net(zoo.deploy_path(name), caffe.TEST)
    theirs = caffe.Net(str(upstream), caffe.TEST)
    shapes = lambda net: {k: [b.shape for b in v] for k, v in net.params.items()}
    assert shapes(ours) == shapes(theirs)


@pytest.mark.parametrize('name', [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in sorted(zoo.manifest())])
def test_forward_backward_at_batch_one(name):
    param = load_net_param(zoo.deploy_path(name))
    param.force_backward = True
    shape = param.layer[0].input_param.shape[0]
    shape.dim[0] = 1
    if name == 'fcn32s':       # fully convolutional: a small image keeps this quick
        shape.dim[2] = shape.dim[3] = 64
    net = caffe.Net(param, caffe.TEST)
    synthetic_weights(net)
    rng = np.random.RandomState(0)
    data = net.blobs[net.inputs[0]]
    data.data[...] = rng.rand(*data.shape)
    out = net.forward()
    output = zoo.model_info(name)['output']
    assert np.all(np.isfinite(out[output]))
    grads = net.backward(**{output: rng.randn(*out[output].shape).astype(np.float32)})
    assert grads[net.inputs[0]].shape == data.shape
    assert np.any(grads[net.inputs[0]] != 0)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server (with Range support) serving tmp_path/served."""
    served = tmp_path / 'served'
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **k):
            super().__init__(*a, directory=str(served), **k)

        def log_message(self, *args):
            pass

        def send_head(self):
            start = self.headers.get('Range')
            if not start:
                return super().send_head()
            offset = int(start.split('=')[1].rstrip('-'))
            path = served / self.path.lstrip('/')
            data = path.read_bytes()[offset:]
            self.send_response(206)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            import io
            return io.BytesIO(data)

    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, 'http://127.0.0.1:%d/' % httpd.server_address[1]
    httpd.shutdown()


def test_download_verifies_and_resumes(server, tmp_path):
    served, url = server
    payload = bytes(range(256)) * 4000
    (served / 'w.caffemodel').write_bytes(payload)
    sha1 = hashlib.sha1(payload).hexdigest()
    dest = tmp_path / 'w.caffemodel'
    (tmp_path / 'w.caffemodel.part').write_bytes(payload[:1000])   # an interrupted download
    assert zoo.download(url + 'w.caffemodel', str(dest), sha1, progress=False) == sha1
    assert dest.read_bytes() == payload and not (tmp_path / 'w.caffemodel.part').exists()


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    served, url = server
    (served / 'w.caffemodel').write_bytes(b'corrupted')
    dest = tmp_path / 'w.caffemodel'
    with pytest.raises(caffe.CaffeError, match='checksum mismatch'):
        zoo.download(url + 'w.caffemodel', str(dest), '0' * 40, progress=False)
    assert not dest.exists() and not (tmp_path / 'w.caffemodel.part').exists()


def test_offline_is_a_clear_error(tmp_path):
    import socket
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()                            # nothing listens there now
    with pytest.raises(caffe.CaffeError, match='offline'):
        zoo.download('http://127.0.0.1:%d/x.caffemodel' % port, str(tmp_path / 'x'),
                     progress=False, timeout=5)


def test_zoo_cli(capsys):
    assert main(['zoo', 'list']) == 0
    assert 'googlenet' in capsys.readouterr().out
    assert main(['zoo', 'fetch', 'resnet50']) == 1      # no direct download exists
