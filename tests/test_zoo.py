"""The model zoo: the manifest is well formed; every definition parses,
is what model_zoo/generate.py writes, builds with its published output shape
and runs forward and backward; the deploy nets are, setting for setting, the
upstream nets test_reference_models checks against Caffe; the train/val nets
train; fetch is checksummed and resumable and never leaves a partial file
under the final name."""
import hashlib
import http.server
import importlib.util
import os
import re
import socket
import threading

import numpy as np
import pytest

import caffelite as caffe
from caffelite import netgraph, protoio, zoo
from caffelite.cli import main
from caffelite.net import load_net_param
from caffelite.proto import caffe_pb2
from conftest import reference_path
from refcases import synthetic_weights

MODELS = zoo.list_models()
# zoo model -> its upstream deploy net in ../shared/reference/models
UPSTREAM = {'lenet': 'lenet_real', 'caffenet': 'caffenet', 'alexnet': 'alexnet',
            'googlenet': 'googlenet', 'resnet50': 'resnet50',
            'squeezenet1.1': 'squeezenet_v1.1', 'fcn32s': 'fcn32s'}
TRAINABLE = ['lenet', 'caffenet', 'alexnet']
HEAVY = {'vgg16', 'fcn32s'}          # several seconds forward + backward on 2 cores


def require_layer_types(param):
    """Skip when a layer type of ``param`` is not registered (yet)."""
    missing = sorted({layer.type for layer in param.layer} - set(caffe.layer_type_list()))
    if missing:
        pytest.skip('layer types not registered: %s' % ', '.join(missing))


def build(param, phase=caffe.TEST):
    require_layer_types(param)
    return caffe.Net(param, phase)


def zoo_files():
    root = zoo.zoo_dir()
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root)
                  for f in files if f.endswith('.prototxt'))


# --- the manifest ------------------------------------------------------------

HEX = {'sha1': re.compile('^[0-9a-f]{40}$'), 'sha256': re.compile('^[0-9a-f]{64}$')}
KEYS = {'name', 'title', 'description', 'weights_url', 'mirrors', 'weights_file', 'size_bytes',
        'sha1', 'sha256', 'license', 'input_shape', 'output', 'output_shape', 'classes',
        'source', 'checksum_source'}


@pytest.mark.parametrize('name', MODELS)
def test_manifest_entry_is_well_formed(name):
    info = zoo.model_info(name)
    assert set(info) == KEYS
    for url in ([info['weights_url']] if info['weights_url'] else []) + info['mirrors']:
        assert re.match('^https?://', url), url
    if info['weights_url']:
        # whatever is downloadable is verified against a published checksum
        assert info['sha1'] and info['weights_file'] and info['checksum_source']
        assert info['weights_file'].endswith('.caffemodel')
    else:
        assert not info['mirrors'] and info['sha1'] is None
    for digest, pattern in HEX.items():
        assert info[digest] is None or pattern.match(info[digest])
    assert info['size_bytes'] is None or info['size_bytes'] > 0
    assert len(info['input_shape']) == 4 and info['output_shape'][0] == info['input_shape'][0]
    assert info['classes'] == info['output_shape'][1]
    tops = {t for layer in load_net_param(zoo.deploy_path(name)).layer for t in layer.top}
    assert info['output'] in tops


def test_manifest_lists_the_published_models():
    assert MODELS == sorted(['alexnet', 'caffenet', 'fcn32s', 'googlenet', 'lenet',
                             'resnet50', 'squeezenet1.1', 'vgg16'])
    # (model_zoo/detectnet, a network without published weights, is not in
    # the manifest; tests/detection/test_networks.py checks it)
    assert {f for f in zoo_files() if f.split('/')[0] in MODELS} == (
        {'%s/deploy.prototxt' % n for n in MODELS}
        | {'%s/%s.prototxt' % (n, kind) for n in TRAINABLE
           for kind in ('train_val', 'solver')})
    # the official BVLC checksums (models/bvlc_*/readme.md)
    assert zoo.model_info('caffenet')['sha1'] == '4c8d77deb20ea792f84eb5e6d0a11ca0a8660a46'
    assert zoo.model_info('googlenet')['sha1'] == '405fc5acd08a3bb12de8ee5e23a96bec22f08204'


def test_unknown_model_and_definition_are_clear_errors():
    with pytest.raises(caffe.CaffeError, match='no zoo model named .nope.'):
        zoo.model_info('nope')
    with pytest.raises(caffe.CaffeError, match='no solver.prototxt'):
        zoo.prototxt_path('googlenet', 'solver')


# --- the definitions -----------------------------------------------------------

@pytest.mark.parametrize('path', zoo_files())
def test_every_prototxt_parses(path):
    full = os.path.join(zoo.zoo_dir(), path)
    if path.endswith('solver.prototxt'):
        solver = protoio.read_text(full, caffe_pb2.SolverParameter())
        assert os.path.exists(os.path.join(os.path.dirname(full), solver.net))
    else:
        net = protoio.read_text(full, caffe_pb2.NetParameter())
        assert net.name and len(net.layer) > 5


def test_files_are_what_the_generator_writes():
    spec = importlib.util.spec_from_file_location(
        'zoo_generate', os.path.join(zoo.zoo_dir(), 'generate.py'))
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    assert sorted(generate.MODELS) == MODELS
    for name in MODELS:
        for filename, text in generate.render(name).items():
            with open(os.path.join(zoo.zoo_dir(), name, filename), encoding='utf-8') as f:
                assert f.read() == text, '%s/%s differs from generate.py' % (name, filename)


@pytest.mark.parametrize('name', MODELS)
def test_definition_builds_with_published_output_shape(name):
    info = zoo.model_info(name)
    net = build(load_net_param(zoo.deploy_path(name)))
    assert net.blobs[net.inputs[0]].shape == tuple(info['input_shape'])
    assert net.blobs[info['output']].shape == tuple(info['output_shape'])


# Fields that do not change what a deploy net computes.
TRAINING_ONLY = {'param', 'weight_filler', 'bias_filler'}
# Repeated geometry of ConvolutionParameter: Caffe's value when left empty.
REPEATED_DEFAULTS = {'pad': 0, 'stride': 1, 'dilation': 1}


def strip_defaults(message):
    """Clear, recursively, training-only fields and fields set to their
    default value, so that equal messages mean equal computations."""
    for field, value in message.ListFields():
        if field.name in TRAINING_ONLY:
            message.ClearField(field.name)
        elif field.type == field.TYPE_MESSAGE:
            for item in value if field.is_repeated else [value]:
                strip_defaults(item)
        elif not field.is_repeated and value == field.default_value:
            message.ClearField(field.name)
        elif field.is_repeated and set(value) == {REPEATED_DEFAULTS.get(field.name)}:
            message.ClearField(field.name)


def computation(param):
    """The layers of ``param`` as text, defaults stripped; the input layer
    unnamed (upstream files call it 'data' or 'input') and its batch size
    left out (deploy files differ there: Caffe's use 10, ResNet's 1)."""
    layers = []
    for layer in param.layer:
        copy = caffe_pb2.LayerParameter()
        copy.CopyFrom(layer)
        if copy.type == 'Input':
            copy.ClearField('name')
            for shape in copy.input_param.shape:
                del shape.dim[0]
        strip_defaults(copy)
        layers.append(str(copy))
    return layers


@pytest.mark.parametrize('name', sorted(UPSTREAM))
def test_definition_computes_what_the_upstream_one_does(name):
    """Layer for layer (names, blobs, settings) the upstream deploy net that
    test_reference_models checks against Caffe's recorded outputs."""
    upstream = reference_path('models', UPSTREAM[name], 'net.prototxt')
    ours, theirs = load_net_param(zoo.deploy_path(name)), load_net_param(str(upstream))
    assert computation(ours) == computation(theirs)


@pytest.mark.parametrize('name', [pytest.param(n, marks=pytest.mark.slow) if n in HEAVY else n
                                  for n in MODELS])
def test_forward_backward_at_batch_one(name):
    param = load_net_param(zoo.deploy_path(name))
    param.force_backward = True
    shape = param.layer[0].input_param.shape[0]
    shape.dim[0] = 1
    if name == 'fcn32s':       # fully convolutional: a small image keeps this quicker
        shape.dim[2] = shape.dim[3] = 16
    net = build(param)
    synthetic_weights(net)
    rng = np.random.RandomState(0)
    data = net.blobs[net.inputs[0]]
    data.data[...] = rng.rand(*data.shape)
    output = zoo.model_info(name)['output']
    out = net.forward()[output]
    assert out.shape[:2] == (1, zoo.model_info(name)['classes']) and np.all(np.isfinite(out))
    if output == 'prob':
        assert np.allclose(out.reshape(1, -1).sum(axis=1), 1, atol=1e-5)
    grads = net.backward(**{output: rng.randn(*out.shape).astype(np.float32)})
    assert grads[net.inputs[0]].shape == data.shape
    assert np.all(np.isfinite(grads[net.inputs[0]])) and np.any(grads[net.inputs[0]] != 0)


# --- train/val nets and solvers ----------------------------------------------------

def with_input_data(param, batch):
    """``param`` with its Data layers replaced by Input layers of the shape
    they would produce at ``batch`` (data N,C,crop,crop; label N)."""
    out = caffe_pb2.NetParameter()
    out.CopyFrom(param)
    channels, size = (1, 28) if param.name == 'LeNet' else (3, 227)
    for layer in out.layer:
        if layer.type == 'Data':
            layer.type = 'Input'
            layer.ClearField('transform_param')
            layer.ClearField('data_param')
            layer.input_param.shape.add(dim=[batch, channels, size, size])
            layer.input_param.shape.add(dim=[batch])
    return out


def param_shapes(net):
    return {name: [blob.shape for blob in blobs] for name, blobs in net.params.items()}


# bias filler of conv2 in Caffe's published train_val files
CONV2_BIAS = {'lenet': 0.0, 'caffenet': 1.0, 'alexnet': 0.1}


@pytest.mark.parametrize('name', TRAINABLE)
def test_train_val_has_the_deploy_parameters_and_the_published_fillers(name):
    caffe.set_random_seed(1)
    train_val = with_input_data(load_net_param(zoo.prototxt_path(name, 'train_val')), 2)
    deploy = build(load_net_param(zoo.deploy_path(name)))
    net = build(train_val, caffe.TRAIN)
    assert param_shapes(net) == param_shapes(deploy) and net.outputs == ['loss']
    assert np.all(net.params['conv2'][1].data == np.float32(CONV2_BIAS[name]))
    assert np.any(net.params['conv2'][0].data != 0)
    # the TEST phase reads the validation set without mirroring and adds accuracy
    param = load_net_param(zoo.prototxt_path(name, 'train_val'))
    param.state.phase = caffe.TEST
    test = netgraph.filter_net(param)
    data = [layer for layer in test.layer if layer.type == 'Data']
    assert len(data) == 1 and not data[0].transform_param.mirror
    assert data[0].data_param.source.endswith(('val_lmdb', 'test_lmdb'))
    assert [layer.type for layer in test.layer][-2:] == ['Accuracy', 'SoftmaxWithLoss']


def test_lenet_solver_trains_on_a_caffe_lmdb():
    """The zoo's LeNet train_val + solver, reading Caffe's convert_imageset
    LMDB of 320 digits, learns: the loss falls and test accuracy is high."""
    lmdb_path = str(reference_path('data', 'lmdb_raw'))
    net = load_net_param(zoo.prototxt_path('lenet', 'train_val'))
    require_layer_types(net)
    for layer in net.layer:
        if layer.type == 'Data':
            layer.data_param.source = lmdb_path
    param = protoio.read_text(zoo.prototxt_path('lenet', 'solver'), caffe_pb2.SolverParameter())
    param.ClearField('net')
    param.net_param.CopyFrom(net)
    param.test_iter[:] = [3]
    param.test_interval, param.display, param.snapshot, param.random_seed = 10 ** 6, 0, 0, 7
    solver = caffe.get_solver(param)
    losses = []
    for _ in range(20):
        solver.step(1)
        losses.append(float(solver.net.blobs['loss'].data))
    assert losses[0] > 2.0 and np.mean(losses[-5:]) < 0.5 * losses[0], losses
    accuracy = np.mean([solver.test_nets[0].forward()['accuracy'] for _ in range(3)])
    assert accuracy > 0.7


# --- fetching weights ----------------------------------------------------------------

PAYLOAD = bytes(range(256)) * 4000


class Handler(http.server.SimpleHTTPRequestHandler):
    """Serves PAYLOAD at /w.caffemodel honouring ``Range: bytes=N-``,
    ignores ranges at /norange.caffemodel, and at /cut.caffemodel announces
    the whole length but closes the connection halfway."""
    ranges = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        start = 0
        requested = self.headers.get('Range')
        self.ranges.append(requested)
        body, path = PAYLOAD, self.path.lstrip('/')
        if path == 'bad.caffemodel':
            body = b'corrupted'
        elif path not in ('w.caffemodel', 'norange.caffemodel', 'cut.caffemodel'):
            self.send_error(404)
            return
        if requested and path == 'w.caffemodel':
            start = int(requested.split('=')[1].rstrip('-'))
            if start >= len(body):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, len(body) - 1, len(body)))
        else:
            self.send_response(200)
        self.send_header('Content-Length', str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:len(body) // 2] if path == 'cut.caffemodel' else body[start:])


@pytest.fixture
def server():
    Handler.ranges = []
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs=dict(poll_interval=0.02),
                              daemon=True)
    thread.start()
    yield 'http://127.0.0.1:%d/' % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def unused_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]          # nothing listens there once closed


EXPECTED = {'size_bytes': len(PAYLOAD), 'sha1': hashlib.sha1(PAYLOAD).hexdigest(),
            'sha256': hashlib.sha256(PAYLOAD).hexdigest()}


def test_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    assert zoo.download(server + 'w.caffemodel', str(dest), EXPECTED, progress=False) == str(dest)
    assert dest.read_bytes() == PAYLOAD and os.listdir(tmp_path) == ['w.caffemodel']


def test_download_resumes_a_partial_file(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    (tmp_path / 'w.caffemodel.part').write_bytes(PAYLOAD[:1000])    # an interrupted download
    zoo.download(server + 'w.caffemodel', str(dest), EXPECTED, progress=False)
    assert Handler.ranges == ['bytes=1000-']
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / 'w.caffemodel.part').exists()


def test_download_restarts_when_the_server_ignores_ranges(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    (tmp_path / 'w.caffemodel.part').write_bytes(b'x' * 1000)
    zoo.download(server + 'norange.caffemodel', str(dest), EXPECTED, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_is_verified_without_downloading(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    (tmp_path / 'w.caffemodel.part').write_bytes(PAYLOAD)
    zoo.download(server + 'w.caffemodel', str(dest), EXPECTED, progress=False)
    assert Handler.ranges == [] and dest.read_bytes() == PAYLOAD


def test_checksum_mismatch_leaves_no_file(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    with pytest.raises(caffe.CaffeError, match='checksum mismatch.*sha1 [0-9a-f]{40}, expected 0+'):
        zoo.download(server + 'bad.caffemodel', str(dest), {'sha1': '0' * 40}, progress=False)
    assert os.listdir(tmp_path) == []


def test_interrupted_download_keeps_the_part_for_a_resume(server, tmp_path):
    dest = tmp_path / 'w.caffemodel'
    with pytest.raises(caffe.CaffeError, match='resume'):
        zoo.download(server + 'cut.caffemodel', str(dest), EXPECTED, progress=False)
    assert not dest.exists()
    assert (tmp_path / 'w.caffemodel.part').read_bytes() == PAYLOAD[:len(PAYLOAD) // 2]
    zoo.download(server + 'w.caffemodel', str(dest), EXPECTED, progress=False)
    assert Handler.ranges[-1] == 'bytes=%d-' % (len(PAYLOAD) // 2)
    assert dest.read_bytes() == PAYLOAD


def test_http_error_and_offline_are_clear_errors(server, tmp_path):
    with pytest.raises(caffe.CaffeError, match='HTTP 404'):
        zoo.download(server + 'missing.caffemodel', str(tmp_path / 'x'), progress=False)
    with pytest.raises(caffe.CaffeError, match='offline'):
        zoo.download('http://127.0.0.1:%d/x.caffemodel' % unused_port(), str(tmp_path / 'x'),
                     progress=False, timeout=5)
    assert os.listdir(tmp_path) == []


@pytest.fixture
def local_model(server, monkeypatch):
    """A zoo entry whose official URL is unreachable and whose mirror is the
    local server."""
    entry = dict(zoo.model_info('caffenet'), weights_file='w.caffemodel',
                 weights_url='http://127.0.0.1:%d/w.caffemodel' % unused_port(),
                 mirrors=[server + 'w.caffemodel'], **EXPECTED)
    del entry['name']
    monkeypatch.setattr(zoo, 'manifest', lambda: {'local': entry})
    return entry


def test_fetch_falls_back_to_a_mirror_and_keeps_a_verified_file(local_model, tmp_path):
    path = zoo.fetch('local', str(tmp_path / 'weights'), progress=False)
    assert open(path, 'rb').read() == PAYLOAD and len(Handler.ranges) == 1
    assert zoo.fetch('local', str(tmp_path / 'weights'), progress=False) == path
    assert len(Handler.ranges) == 1                   # already there and verified


def test_fetch_reports_every_failed_url(local_model, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(local_model, 'sha1', '0' * 40)
    with pytest.raises(caffe.CaffeError) as error:
        zoo.fetch('local', str(tmp_path), progress=False)
    assert 'offline' in str(error.value) and 'checksum mismatch' in str(error.value)
    assert os.listdir(tmp_path) == []
    # the command's one line of error carries both reasons
    assert main(['zoo', 'fetch', 'local', '--dir', str(tmp_path), '--quiet']) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'offline' in err and 'checksum mismatch' in err


def test_zoo_cli(local_model, tmp_path, capsys, monkeypatch):
    assert main(['zoo', 'fetch', 'local', '--dir', str(tmp_path), '--quiet']) == 0
    assert 'verified: size_bytes, sha1, sha256' in capsys.readouterr().out
    monkeypatch.undo()
    assert main(['zoo', 'list']) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in MODELS)
    assert re.search(r'caffenet\s+10x3x227x227\s+243\.9 MB\s+deploy,solver,train_val', listing)
    assert main(['zoo', 'info', 'resnet50']) == 0
    assert zoo.deploy_path('resnet50') in capsys.readouterr().out
    assert main(['zoo', 'fetch', 'lenet']) == 1          # no official weights exist
    assert 'no published weights' in capsys.readouterr().err

