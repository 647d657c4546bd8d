"""pycaffe to the letter (python/caffe/pycaffe.py, _caffe.cpp, net_spec.py,
coord_map.py): forward/backward between named layers, Python layers owning
blobs, the builtin exception types pycaffe raises, and the rest of its top
level (logging, Timer, solver ranks, callbacks, share_weights, restore...).
Each expectation is pycaffe's documented or coded behaviour."""
import logging
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import caffelite as caffe
from caffelite import backend, coord_map
from caffelite import layers as L
from caffelite.proto import caffe_pb2

CHAIN = '''name: "chain" force_backward: true
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "relu" type: "ReLU" bottom: "ip" top: "ip" }
layer { name: "ip2" type: "InnerProduct" bottom: "ip" top: "ip2"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 1 } } }
'''

SCALED = '''name: "scaled"
layer { name: "data" type: "Input" top: "data" top: "target"
  input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 3 } } }
layer { name: "scale" type: "Python" bottom: "data" top: "scaled"
  python_param { module: "pylayers" layer: "ChannelScaleLayer" } }
layer { name: "loss" type: "EuclideanLoss" bottom: "scaled" bottom: "target" top: "loss" }
'''


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.fixture
def chain(tmp_path):
    caffe.set_random_seed(5)
    net = caffe.Net(write(tmp_path, 'chain.prototxt', CHAIN), caffe.TEST)
    net.blobs['data'].data[...] = np.random.RandomState(0).randn(2, 3)
    return net


def ip(net, name, x):
    w, b = (blob.data for blob in net.params[name])
    return x.dot(w.T) + b


# --- 1. forward/backward from and to named layers -----------------------------

def test_forward_returns_the_tops_of_the_end_layer(chain):
    x = chain.blobs['data'].data.copy()
    chain.blobs['ip2'].data[...] = 7
    out = chain.forward(start='ip', end='ip')
    assert list(out) == ['ip']
    np.testing.assert_allclose(out['ip'], ip(chain, 'ip', x), rtol=1e-5)
    assert (chain.blobs['ip2'].data == 7).all()         # layers after 'ip' did not run
    # An in-place layer's tops are its bottom's blob.
    out = chain.forward(end='relu')
    assert list(out) == ['ip'] and (out['ip'] >= 0).all()
    out = chain.forward(start='ip2', blobs=['data'])
    assert set(out) == {'ip2', 'data'}
    np.testing.assert_allclose(out['ip2'], ip(chain, 'ip2', chain.blobs['ip'].data), rtol=1e-5)


def test_top_and_bottom_ids_are_methods_of_a_layer_index(chain):
    # pycaffe.py builds top_names from these: [net._blob_names[i] for i in net._top_ids(li)]
    for li, name in enumerate(chain._layer_names):
        assert [chain._blob_names[i] for i in chain._top_ids(li)] == chain.top_names[name]
        assert [chain._blob_names[i] for i in chain._bottom_ids(li)] == chain.bottom_names[name]


def test_an_in_place_layer_runs_alone(chain):
    chain.blobs['ip'].data[...] = [[-1, 2, -3, 4]] * 2
    out = chain.forward(start='relu', end='relu')
    np.testing.assert_array_equal(out['ip'], [[0, 2, 0, 4]] * 2)


def test_backward_returns_the_bottom_diffs_of_the_end_layer(chain):
    chain.forward()
    chain.blobs['ip2'].diff[...] = 1
    out = chain.backward(start='ip2', end='ip2')
    assert list(out) == ['ip']
    np.testing.assert_allclose(out['ip'], np.ones((2, 2)).dot(chain.params['ip2'][0].data),
                               rtol=1e-5)
    relu_in = chain.blobs['ip'].data.copy()
    chain.blobs['ip'].diff[...] = 1
    out = chain.backward(start='relu', end='relu')
    np.testing.assert_array_equal(out['ip'], (relu_in > 0).astype(np.float32))
    out = chain.backward(start='ip', end='ip', diffs=['ip2'])
    assert set(out) == {'data', 'ip2'}
    np.testing.assert_allclose(out['data'], chain.blobs['ip'].diff.dot(chain.params['ip'][0].data),
                               rtol=1e-5)


@pytest.mark.parametrize('call', ['forward-start', 'forward-end', 'backward-start',
                                  'backward-end'])
def test_an_unknown_layer_name_is_a_value_error(chain, call):
    method, which = call.split('-')
    with pytest.raises(ValueError, match="no layer named 'nope'") as err:
        getattr(chain, method)(**{which: 'nope'})
    assert isinstance(err.value, caffe.CaffeError)


# --- 2. Python layers own blobs ---------------------------------------------------

def test_python_layer_blobs_are_learned_saved_and_loaded(tmp_path):
    net_path = write(tmp_path, 'scaled.prototxt', SCALED)
    solver_path = write(tmp_path, 'solver.prototxt',
                        'net: "%s"\nbase_lr: 0.5\nlr_policy: "fixed"\nmax_iter: 1\n'
                        'snapshot_prefix: "%s"\n' % (net_path, tmp_path / 'snap'))
    solver = caffe.SGDSolver(solver_path)
    net = solver.net
    assert [b.shape for b in net.params['scale']] == [(3,)]
    assert net.params['scale'][0] is net.learnable_params[0]
    x = np.random.RandomState(1).rand(4, 3).astype(np.float32)
    net.blobs['data'].data[...] = x
    net.blobs['target'].data[...] = 2 * x
    solver.step(1)
    # EuclideanLoss: dL/dw_c = sum_n (w x - 2x) x / N = -sum_n x^2 / N at w = 1
    expected = 1 + 0.5 * (x ** 2).sum(axis=0) / 4
    np.testing.assert_allclose(net.params['scale'][0].data, expected, rtol=1e-5)
    weights = str(tmp_path / 'w.caffemodel')
    net.save(weights)
    saved = caffe_pb2.NetParameter.FromString(open(weights, 'rb').read())
    assert [len(layer.blobs) for layer in saved.layer if layer.name == 'scale'] == [1]
    loaded = caffe.Net(net_path, caffe.TEST, weights=weights)
    np.testing.assert_array_equal(loaded.params['scale'][0].data, expected.astype(np.float32))


def test_add_blob_takes_dimensions_only(tmp_path):
    net = caffe.Net(write(tmp_path, 'scaled.prototxt', SCALED), caffe.TEST)
    blobs = net.layer_dict['scale'].blobs
    blobs.add_blob(2, 5)
    assert blobs[-1].shape == (2, 5) and not blobs[-1].data.any()
    with pytest.raises(RuntimeError, match='add_blob takes no kwargs') as err:
        blobs.add_blob(2, shape=5)
    assert isinstance(err.value, TypeError)
    with pytest.raises(RuntimeError, match='reshape takes no kwargs'):
        blobs[0].reshape(3, axis=0)


# --- 3. the exceptions pycaffe raises ---------------------------------------------

def test_netspec_input_that_is_not_a_top_is_a_type_error():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 4]))
    pair = L.Slice(n.data, ntop=2)
    with pytest.raises(TypeError) as err:
        L.Silence(pair, ntop=0)
    assert str(err.value) == "Silence input 0 is not a Top (type is <class 'tuple'>)"
    assert isinstance(err.value, caffe.CaffeError)


def test_to_proto_of_a_non_top_is_an_attribute_error():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 4]))
    n.halves = L.Slice(n.data, ntop=2)
    with pytest.raises(AttributeError, match="NetSpec top 'halves' is not a Top"):
        n.to_proto()
    with pytest.raises(AttributeError, match='to_proto argument 0 is not a Top'):
        caffe.to_proto(n.halves)
    # pycaffe's NetSpec looks attributes up in a dict: KeyError.
    with pytest.raises(KeyError):
        n.missing
    assert not hasattr(n, 'missing')


def test_a_layer_without_tops_is_named_by_its_netspec_attribute():
    n = caffe.NetSpec()
    n.data, n.label = L.Input(shape=[dict(dim=[2, 3]), dict(dim=[2])], ntop=2)
    n.silence = L.Silence(n.label, ntop=0)
    last = n.to_proto().layer[-1]
    assert (last.name, last.type, list(last.bottom), list(last.top)) == (
        'silence', 'Silence', ['label'], [])
    assert caffe.to_proto(L.Silence(n.data, ntop=0)).layer[-1].name == 'Silence1'


def spatial_spec():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 3, 16, 16]))
    n.conv = L.Convolution(n.data, kernel_size=3, pad=1, num_output=2)
    n.pool = L.Pooling(n.conv, kernel_size=2, stride=2)
    n.fc = L.InnerProduct(n.data, num_output=2)
    return n


def test_coord_map_assertions_and_runtime_error():
    n = spatial_spec()
    with pytest.raises(AssertionError, match='scale mismatch on crop') as scale:
        coord_map.crop(n.pool, n.data)
    n.big = L.Convolution(n.data, kernel_size=3, pad=4, num_output=2)
    with pytest.raises(AssertionError, match='cannot crop negative offset') as negative:
        coord_map.crop(n.data, n.big)
    with pytest.raises(RuntimeError, match='are they connected by spatial layers') as apart:
        coord_map.coord_map_from_to(n.fc, n.data)
    assert all(isinstance(e.value, caffe.CaffeError) for e in (scale, negative, apart))


def test_missing_names_are_key_errors_naming_the_net(chain):
    for view in ('blobs', 'params', 'layer_dict', 'blob_loss_weights', 'top_names'):
        with pytest.raises(KeyError) as err:
            getattr(chain, view)['nope']
        assert isinstance(err.value, caffe.CaffeError)
        assert "net 'chain' has no" in str(err.value) and "'nope'" in str(err.value)
    with pytest.raises(KeyError, match="no blob named 'nope'"):
        chain.forward(blobs=['nope'])


def test_missing_files_are_runtime_errors(tmp_path):
    with pytest.raises(RuntimeError, match='Could not open file .*missing.prototxt'):
        caffe.Net(str(tmp_path / 'missing.prototxt'), caffe.TEST)
    net = write(tmp_path, 'chain.prototxt', CHAIN)
    with pytest.raises(RuntimeError, match='Could not open file .*missing.caffemodel') as err:
        caffe.Net(net, caffe.TEST, weights=str(tmp_path / 'missing.caffemodel'))
    assert isinstance(err.value, FileNotFoundError)


def test_set_input_arrays_misfits_are_runtime_errors(tmp_path):
    net = caffe.Net(write(tmp_path, 'mem.prototxt',
                          'layer { name: "m" type: "MemoryData" top: "data" top: "label" '
                          'memory_data_param { batch_size: 2 channels: 1 height: 2 width: 2 } }'),
                    caffe.TEST)
    data = np.arange(16, dtype=np.float32).reshape(4, 1, 2, 2)
    net.set_input_arrays(data, np.arange(4, dtype=np.float32).reshape(4, 1, 1, 1))
    net.forward()
    np.testing.assert_array_equal(net.blobs['label'].data, [0, 1])
    with pytest.raises(RuntimeError, match='data array has wrong number of channels'):
        net.set_input_arrays(np.zeros((2, 3, 2, 2), np.float32), np.zeros(2, np.float32))
    with pytest.raises(RuntimeError, match='data and labels must have the same first'):
        net.set_input_arrays(data, np.zeros(2, np.float32))
    chain = caffe.Net(write(tmp_path, 'chain.prototxt', CHAIN), caffe.TEST)
    with pytest.raises(RuntimeError, match='set_input_arrays may only be called'):
        chain.set_input_arrays(data, np.zeros(4, np.float32))


def test_a_python_layer_error_keeps_its_type(tmp_path):
    net = caffe.Net(write(tmp_path, 'lookup.prototxt',
                          'layer { name: "data" type: "Input" top: "data" '
                          'input_param { shape { dim: 1 } } }\n'
                          'layer { name: "lookup" type: "Python" bottom: "data" top: "out" '
                          'python_param { module: "pylayers" layer: "LookupLayer" } }'),
                    caffe.TEST)
    with pytest.raises(KeyError, match='missing entry') as err:
        net.forward()
    if hasattr(err.value, 'add_note'):                  # Python 3.11+
        assert err.value.__notes__ == ["in forward of Python layer 'lookup'"]


# --- 4. the rest of the top level ---------------------------------------------------

@pytest.fixture
def caffe_logger():
    """Put the caffelite logger back as it was after init_log."""
    logger = logging.getLogger('caffelite')
    saved = list(logger.handlers), logger.level, logger.propagate
    yield logger
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


GLOG_LINE = r'I\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ test_pycaffe_compat\.py:\d+\] %s'


def test_init_log_and_log(caffe_logger, capfd, monkeypatch, tmp_path):
    caffe.init_log(0, True)
    caffe.log('to stderr')
    assert re.search(GLOG_LINE % 'to stderr', capfd.readouterr().err)
    caffe.init_log(1, True)             # minloglevel WARNING: INFO is dropped
    caffe.log('dropped')
    assert 'dropped' not in capfd.readouterr().err
    # As glog without logtostderr: a log file, only ERROR and above on stderr.
    monkeypatch.setenv('GLOG_log_dir', str(tmp_path))
    monkeypatch.delenv('GLOG_logtostderr', raising=False)
    path = caffe.init_log()
    caffe.log('to the file')
    logging.getLogger('caffelite.test').error('an error')
    err = capfd.readouterr().err
    assert 'to the file' not in err and 'an error' in err
    assert '.log.INFO.' in path and path.startswith(str(tmp_path))
    text = open(path).read()
    assert re.search(GLOG_LINE % 'to the file', text) and 'an error' in text


def test_timer_as_caffe(caplog):
    caffe.set_mode_cpu()
    timer = caffe.Timer()
    assert timer.ms == 0                                   # never started: 0, warned
    assert 'never been run' in caplog.text
    timer.start()
    time.sleep(0.03)
    elapsed = timer.ms                                      # reading stops it
    assert 30 <= elapsed < 1000 and elapsed == int(elapsed)  # whole ms on the CPU
    time.sleep(0.01)
    assert timer.ms == elapsed
    timer.start()
    timer.start()                                           # no restart while running
    timer.stop()
    timer.stop()
    assert timer.ms < elapsed


def test_solver_ranks_and_device(monkeypatch):
    monkeypatch.setattr(backend, '_state', dict(backend._state))
    assert (caffe.solver_count(), caffe.solver_rank()) == (1, 0)
    caffe.set_solver_count(4)
    caffe.set_solver_rank(3)
    caffe.set_multiprocess(True)
    assert (caffe.solver_count(), caffe.solver_rank(), backend.multiprocess()) == (4, 3, True)
    assert not backend.root_solver()
    caffe.set_device(0)
    assert backend._state['device'] == 0


def test_layer_phase(tmp_path):
    path = write(tmp_path, 'chain.prototxt', CHAIN)
    for phase in (caffe.TRAIN, caffe.TEST):
        assert {layer.phase for layer in caffe.Net(path, phase).layers} == {phase}


REGRESSION = '''name: "regression"
layer { name: "data" type: "Input" top: "data" top: "target"
  input_param { shape { dim: 4 dim: 3 } shape { dim: 4 dim: 2 } } }
layer { name: "ip" type: "InnerProduct" bottom: "data" top: "ip"
  inner_product_param { num_output: 2 weight_filler { type: "gaussian" std: 0.5 } } }
layer { name: "loss" type: "EuclideanLoss" bottom: "ip" bottom: "target" top: "loss" }
'''


@pytest.fixture
def solver_path(tmp_path):
    net = write(tmp_path, 'regression.prototxt', REGRESSION)
    return write(tmp_path, 'solver.prototxt',
                 'net: "%s"\nbase_lr: 0.1\nmomentum: 0.9\nlr_policy: "step"\ngamma: 0.5\n'
                 'stepsize: 2\nmax_iter: 4\nrandom_seed: 3\nsnapshot_prefix: "%s"\n'
                 % (net, tmp_path / 'snap'))


def new_solver(path):
    solver = caffe.SGDSolver(path)
    rng = np.random.RandomState(2)
    solver.net.blobs['data'].data[...] = rng.rand(4, 3)
    solver.net.blobs['target'].data[...] = rng.rand(4, 2)
    return solver


def test_solver_callbacks_run_around_the_passes(solver_path):
    solver = new_solver(solver_path)
    weight = solver.net.params['ip'][0]
    seen = []
    solver.add_callback(lambda: seen.append(('start', solver.iter, weight.diff.any())),
                        lambda: seen.append(('ready', solver.iter, weight.diff.any())))

    class Both:
        def on_start(self):
            seen.append(('object start', solver.iter))

        def on_gradients_ready(self):
            seen.append(('object ready', solver.iter))
            self.before_update = weight.data.copy()
    both = Both()
    solver.add_callback(both)
    solver.step(2)
    # Diffs are cleared before on_start, computed before on_gradients_ready;
    # the update comes after.
    assert seen == [('start', 0, False), ('object start', 0), ('ready', 0, True),
                    ('object ready', 0), ('start', 1, False), ('object start', 1),
                    ('ready', 1, True), ('object ready', 1)]
    assert not np.array_equal(both.before_update, weight.data)
    assert solver.lr == pytest.approx(0.05)     # step policy: 0.1 * 0.5 ** (2 // 2)


def test_share_weights_and_restore(solver_path, tmp_path):
    solver = new_solver(solver_path)
    test_net = caffe.Net(str(tmp_path / 'regression.prototxt'), caffe.TEST)
    solver.share_weights(test_net)
    solver.step(2)
    np.testing.assert_array_equal(test_net.params['ip'][0].data, solver.net.params['ip'][0].data)
    _, state = solver.snapshot()
    solver.step(2)
    again = new_solver(solver_path)
    again.restore(state)
    assert again.iter == 2
    again.step(2)
    np.testing.assert_array_equal(again.net.params['ip'][0].data,
                                  solver.net.params['ip'][0].data)


def test_net_callbacks_see_every_layer(chain):
    seen = []
    for when in ('before_forward', 'after_forward', 'before_backward', 'after_backward'):
        getattr(chain, when)(lambda i, when=when: seen.append((when, i)))
    chain.forward()
    assert seen == [(w, i) for i in range(4) for w in ('before_forward', 'after_forward')]
    del seen[:]
    chain.backward()
    assert seen == [(w, i) for i in (3, 2, 1, 0) for w in ('before_backward', 'after_backward')]


def test_layer_dict_and_params_in_layer_order(tmp_path):
    text = CHAIN.replace('layer { name: "ip2"', 'layer { name: "scale" type: "Python" '
                         'bottom: "ip" top: "scaled" python_param { module: "pylayers" '
                         'layer: "ChannelScaleLayer" } }\nlayer { name: "ip2"')
    net = caffe.Net(write(tmp_path, 'mixed.prototxt', text.replace('bottom: "ip" top: "ip2"',
                                                                    'bottom: "scaled" top: "ip2"')),
                    caffe.TEST)
    assert list(net.layer_dict) == ['data', 'ip', 'relu', 'scale', 'ip2'] == list(net._layer_names)
    assert all(net.layer_dict[name] is layer for name, layer in zip(net._layer_names, net.layers))
    assert net.layer_dict['relu'].type == 'ReLU'
    # Only layers with blobs, in layer order; each a list of (weights, bias).
    assert list(net.params) == ['ip', 'scale', 'ip2']
    assert [len(blobs) for blobs in net.params.values()] == [2, 1, 2]
    assert net.blobs is net.blobs and net.params is net.params     # cached, as pycaffe


def test_draw_and_coord_map_come_with_the_package():
    # pycaffe's 'import caffe.draw' has no spelling under 'import caffelite as
    # caffe'; a fresh interpreter shows that the package import alone binds them.
    code = ('import caffelite as caffe; '
            'print(caffe.draw.draw_net_to_file.__name__, caffe.coord_map.crop.__name__)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=str(pathlib.Path(caffe.__file__).parents[1]), check=True)
    assert out.stdout.split() == ['draw_net_to_file', 'crop']


def test_save_hdf5_then_load_hdf5_whatever_the_file_name(chain, tmp_path):
    # pycaffe's Net.load_hdf5 (Caffe's CopyTrainedLayersFromHDF5) reads HDF5
    # whatever the name ends with: BVLC's test_net.py saves to a temp file.
    path = str(tmp_path / 'weights_without_extension')
    chain.save_hdf5(path)
    other = caffe.Net(write(tmp_path, 'chain2.prototxt', CHAIN), caffe.TEST)
    assert other.load_hdf5(path) is None
    for name in ('ip', 'ip2'):
        for mine, theirs in zip(other.params[name], chain.params[name]):
            np.testing.assert_array_equal(mine.data, theirs.data)


def test_a_diff_for_a_scalar_loss_that_is_not_scalar_names_the_blob(tmp_path):
    text = SCALED.replace('module: "pylayers" layer: "ChannelScaleLayer"', '').replace(
        'type: "Python"', 'type: "Scale" param { lr_mult: 0 }').replace(
        'python_param {  }', 'scale_param { axis: 0 num_axes: 0 }')
    net = caffe.Net(write(tmp_path, 'loss.prototxt', text), caffe.TRAIN)
    net.forward(data=np.ones((4, 3)), target=np.zeros((4, 3)))
    with pytest.raises(caffe.NetError, match=r"blob 'loss': diff has batch size 3, the net "
                                             r"expects none \(0-d\)"):
        net.backward(loss=np.ones(3))
