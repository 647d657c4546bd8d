"""Weights that do not load are never silent: an empty or cut caffemodel
is a WeightsError naming it; layers left without weights are named in a
warning (with the renamed layer of the file when there is one); the
command line and Classifier refuse a file from which nothing loaded."""
import logging
import os
import warnings

import numpy as np
import pytest

import caffelite as caffe
from caffelite.cli import main
from caffelite.errors import WeightsError
from caffelite.weights import WeightsWarning

NET = '''name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 4 dim: 4 } } }
layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1" inner_product_param { num_output: 5 weight_filler { type: "gaussian" } } }
layer { name: "%s" type: "InnerProduct" bottom: "ip1" top: "ip2" inner_product_param { num_output: 2 weight_filler { type: "gaussian" } } }
layer { name: "prob" type: "Softmax" bottom: "ip2" top: "prob" }
'''


@pytest.fixture
def model(tmp_path):
    """(deploy path, weights path) of a trained tiny net whose last layer is 'ip2'."""
    deploy = tmp_path / 'deploy.prototxt'
    deploy.write_text(NET % 'ip2')
    net = caffe.Net(str(deploy), caffe.TEST)
    weights = tmp_path / 'trained.caffemodel'
    net.save(str(weights))
    return deploy, weights


def cut(weights, layers, tmp_path, name='cut.caffemodel'):
    """A copy of ``weights`` cut after its first ``layers`` layer records."""
    full = caffe.proto.caffe_pb2.NetParameter.FromString(weights.read_bytes())
    part = caffe.proto.caffe_pb2.NetParameter(name=full.name)
    part.layer.extend(full.layer[:layers])
    path = tmp_path / name
    path.write_bytes(part.SerializeToString())
    assert full.SerializeToString().startswith(path.read_bytes()[:20])
    return path


def test_empty_and_truncated_files_name_the_file(model, tmp_path):
    deploy, weights = model
    net = caffe.Net(str(deploy), caffe.TEST)
    empty = tmp_path / 'empty.caffemodel'
    empty.write_bytes(b'')
    with pytest.raises(WeightsError, match=r'empty\.caffemodel is empty'):
        net.copy_from(str(empty))
    short = tmp_path / 'short.caffemodel'
    short.write_bytes(weights.read_bytes()[:-7])
    with pytest.raises(WeightsError, match=r'short\.caffemodel is cut short'):
        net.copy_from(str(short))
    with pytest.raises(WeightsError, match='empty.caffemodel'):
        caffe.Classifier(str(deploy), str(empty))



def test_hdf5_weights_cut_short_or_of_another_format_name_the_file(model, tmp_path):
    deploy, weights = model
    net = caffe.Net(str(deploy), caffe.TEST)
    net.save_hdf5(str(tmp_path / 'w.caffemodel.h5'))
    short = tmp_path / 'short.caffemodel.h5'
    short.write_bytes((tmp_path / 'w.caffemodel.h5').read_bytes()[:-100])
    with pytest.raises(WeightsError, match=r'short\.caffemodel\.h5: not HDF5 weights .*truncated'):
        net.copy_from(str(short))
    with pytest.raises(WeightsError, match=r'trained\.caffemodel: not HDF5 weights'):
        net.load_hdf5(str(weights))


def test_non_finite_weights_are_named_in_a_warning(model, tmp_path):
    deploy, weights = model
    param = caffe.proto.caffe_pb2.NetParameter.FromString(weights.read_bytes())
    param.layer[-2].blobs[1].data[0] = float('inf')
    damaged = tmp_path / 'diverged.caffemodel'
    damaged.write_bytes(param.SerializeToString())
    with pytest.warns(WeightsWarning, match=r"diverged\.caffemodel holds NaN or infinite values "
                      r"\(in param 1 of layer 'ip2'\)"):
        caffe.Net(str(deploy), caffe.TEST, weights=str(damaged))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        caffe.Net(str(deploy), caffe.TEST, weights=str(weights))

def test_layers_without_weights_are_named_in_a_warning(model, tmp_path):
    deploy, weights = model
    net = caffe.Net(str(deploy), caffe.TEST)
    path = cut(weights, 2, tmp_path)      # data, ip1
    with pytest.warns(WeightsWarning, match=r"cut\.caffemodel: no weights for layer 'ip2'"):
        report = net.copy_from(str(path))
    assert report.loaded == ['ip1'] and report.missing == ['ip2']
    # what a notebook cell ending in net.copy_from(...) displays
    assert repr(report) == ('<WeightsReport %s: 1 layer loaded, 1 left as initialized (ip2)>'
                            % path)
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert net.copy_from(str(weights)).missing == []


def test_renamed_layer_is_reported(model, tmp_path):
    deploy, weights = model
    tuned = tmp_path / 'tuned.prototxt'
    tuned.write_text(NET % 'ip2_ft')
    tuned_weights = tmp_path / 'tuned.caffemodel'
    caffe.Net(str(tuned), caffe.TEST).save(str(tuned_weights))
    # The deploy net still names the layer 'ip2', the weights call it 'ip2_ft'.
    net = caffe.Net(str(deploy), caffe.TEST)
    with pytest.warns(WeightsWarning, match=r"'ip2' is 'ip2_ft' in the file \(same shapes"):
        net.copy_from(str(tuned_weights))


def test_file_layers_the_net_lacks_are_logged_as_caffe_does(model, tmp_path, caplog):
    deploy, weights = model
    tuned = tmp_path / 'tuned.prototxt'
    tuned.write_text(NET % 'ip2_ft')
    net = caffe.Net(str(tuned), caffe.TEST)
    with caplog.at_level('INFO', logger='caffelite'), warnings.catch_warnings():
        warnings.simplefilter('ignore', WeightsWarning)
        net.copy_from(str(weights))
    assert 'Ignoring source layer ip2' in caplog.messages


def test_nothing_loaded_is_refused_by_classifier_and_commands(model, tmp_path, capsys):
    deploy, weights = model
    other = tmp_path / 'other.prototxt'
    other.write_text((NET % 'fc').replace('"ip1"', '"fc0"'))
    foreign = tmp_path / 'foreign.caffemodel'
    caffe.Net(str(other), caffe.TEST).save(str(foreign))
    with pytest.warns(WeightsWarning):
        caffe.Net(str(deploy), caffe.TEST, weights=str(foreign))      # pycaffe: loads nothing
    with pytest.raises(WeightsError, match=r"foreign\.caffemodel: none of the net's layers"):
        caffe.Classifier(str(deploy), str(foreign))
    with pytest.raises(TypeError, match='pretrained_file is None'):
        caffe.Classifier(str(deploy), None)
    image = tmp_path / 'x.png'
    from PIL import Image
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(image)
    for argv in (['test', '-model', str(deploy), '-weights', str(foreign), '-iterations', '1'],
                 ['classify', '--model', str(deploy), '--weights', str(foreign), str(image)],
                 ['classify', '--model', str(deploy), '--weights',
                  str(cut(weights, 1, tmp_path)), str(image)],
                 # these wrote the net's initial values as if they were the weights
                 ['export', 'onnx', '--model', str(deploy), '--weights', str(foreign),
                  '--out', str(tmp_path / 'tiny.onnx')],
                 ['surgery', 'fcn', '--model', str(deploy), '--weights', str(foreign),
                  '--out', str(tmp_path / 'fcn')]):
        capsys.readouterr()
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()[-1]
        assert err.startswith('caffelite %s: error: ' % argv[0]) and '.caffemodel' in err, err
    assert not os.path.exists(tmp_path / 'tiny.onnx') and not os.path.exists(tmp_path / 'fcn')


def test_a_command_that_logs_nothing_still_names_layers_left_without_weights(
        model, tmp_path, capsys, monkeypatch):
    deploy, weights = model
    part = cut(weights, 2, tmp_path)        # the Input and ip1: no 'ip2'
    monkeypatch.setattr(logging.getLogger(), 'handlers', [])    # pytest's log capture: none
    capsys.readouterr()
    assert main(['export', 'onnx', '--model', str(deploy), '--weights', str(part),
                 '--out', str(tmp_path / 'tiny.onnx')]) == 0
    assert ("caffelite export: warning: %s: no weights for layer 'ip2' (left as initialized)"
            % part) in capsys.readouterr().err.splitlines()
