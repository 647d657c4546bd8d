"""``caffelite export onnx``: the command line around caffelite.export."""
import shutil

import numpy as np
import pytest

from caffelite.cli import main
from export_helpers import run_onnx
from refcases import reference_path


def _load(path):
    import onnx
    return onnx.load(str(path))


@pytest.fixture
def lenet():
    return (str(reference_path('models', 'lenet_real', 'net.prototxt')),
            str(reference_path('weights', 'lenet_iter_10000.caffemodel')))


def test_export_lenet_checked_on_a_real_image(lenet, tmp_path, capsys):
    model, weights = lenet
    image = sorted((reference_path('data', 'images', '3')).iterdir())[0]
    out = tmp_path / 'lenet.onnx'
    assert main(['export', 'onnx', '--model', model, '--weights', weights, '--out', str(out),
                 '--batch', 'dynamic', '--input-scale', '0.00390625', '--opset', '17',
                 '--check', '--check-input', str(image)]) == 0
    line = capsys.readouterr().out.strip()
    assert '\n' not in line and 'wrote %s (opset 17' % out in line
    assert 'ONNX Runtime vs caffelite: largest difference' in line
    onnx_model = _load(out)
    assert onnx_model.opset_import[0].version == 17
    digits = np.random.RandomState(0).uniform(0, 255, (3, 1, 28, 28)).astype(np.float32)
    assert run_onnx(onnx_model, {'data': digits})['prob'].shape == (3, 10)


def test_check_input_takes_arrays(lenet, tmp_path, capsys):
    model, weights = lenet
    digits = tmp_path / 'digits.npy'
    np.save(digits, np.random.RandomState(1).rand(64, 1, 28, 28).astype(np.float32))
    assert main(['export', 'onnx', '--model', model, '--weights', weights,
                 '--out', str(tmp_path / 'm.onnx'), '--check-input', str(digits)]) == 0
    assert 'ONNX Runtime vs caffelite' in capsys.readouterr().out


def test_export_from_a_job_folder(lenet, tmp_path, capsys):
    """A DIGITS-style folder: deploy.prototxt and its latest snapshot."""
    model, weights = lenet
    shutil.copy(model, tmp_path / 'deploy.prototxt')
    shutil.copy(weights, tmp_path / 'snapshot_iter_10000.caffemodel')
    out = tmp_path / 'm.onnx'
    assert main(['export', 'onnx', '--model', str(tmp_path), '--out', str(out)]) == 0
    assert 'deploy.prototxt: wrote' in capsys.readouterr().out
    assert _load(out).graph.output[0].name == 'prob'


@pytest.mark.parametrize('args, message', [
    (['--opset', '9'], 'opset 9 is not supported'),
    (['--batch', 'some'], "batch must be 'dynamic' or a positive integer"),
    (['--bgr-to-rgb'], '--bgr-to-rgb needs a 3-channel input'),
    (['--mean-pixel', '1,x'], '--mean-pixel takes numbers'),
])
def test_bad_options_fail_in_one_line(lenet, tmp_path, capsys, args, message):
    model, weights = lenet
    out = tmp_path / 'x.onnx'
    assert main(['export', 'onnx', '--model', model, '--weights', weights, '--out', str(out)]
                + args) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('caffelite export: error:') and message in err and '\n' not in err
    assert not out.exists()


def test_refused_layer_is_named_and_nothing_is_written(lenet, tmp_path, capsys):
    net = reference_path('layers', 'softmax_loss', 'net.prototxt')
    out = tmp_path / 'x.onnx'
    # (LeNet's weights match no layer of this net; it has no params.)
    assert main(['export', 'onnx', '--model', str(net), '--weights', lenet[1],
                 '--out', str(out)]) == 1
    err = capsys.readouterr().err
    assert "layer 'loss' (SoftmaxWithLoss): cannot export to ONNX" in err
    assert 'Traceback' not in err and not out.exists()


def _refused(capsys, model, weights, out, *args):
    """The one-line error of an export that must fail and write nothing."""
    assert main(['export', 'onnx', '--model', str(model), '--weights', weights,
                 '--out', str(out)] + list(args)) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith('caffelite export: error: ') and '\n' not in err
    assert not out.exists()
    return err


@pytest.mark.parametrize('name, shape, message', [
    ('missing.jpg', None, '--check-input {}: no such file'),
    ('small.npy', (64, 1, 27, 28), '--check-input {}: an array of shape (64, 1, 27, 28); '
                                   'the model input takes (64, 1, 28, 28)'),
    ('three.npy', (3, 1, 28, 28), 'the model input takes (64, 1, 28, 28)'),
])
def test_check_input_that_cannot_feed_the_model_is_named(lenet, tmp_path, capsys, name, shape,
                                                         message):
    """Named in one line, before ONNX Runtime sees it (it used to answer
    with its own dimension error, or '[Errno None] None' for a missing file)."""
    path = tmp_path / name
    if shape:
        np.save(path, np.zeros(shape, np.float32))
    err = _refused(capsys, *lenet, tmp_path / 'x.onnx', '--check-input', str(path))
    assert message.format(path) in err


def test_train_val_net_is_refused_for_its_data_layer_not_its_missing_lmdb(lenet, tmp_path,
                                                                           capsys):
    """A train_val net given for its deploy net, its LMDB not on this
    machine: the refusal names the data layer, as it would with the LMDB."""
    train_val = tmp_path / 'train_val.prototxt'
    train_val.write_text(
        'name: "LeNet"\n'
        'layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST }\n'
        '  data_param { source: "nowhere/mnist_test_lmdb" batch_size: 4 backend: LMDB } }\n'
        'layer { name: "ip1" type: "InnerProduct" bottom: "data" top: "ip1"\n'
        '  inner_product_param { num_output: 10 } }\n'
        'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip1" bottom: "label" '
        'top: "loss" }\n')
    err = _refused(capsys, train_val, lenet[1], tmp_path / 'x.onnx')
    assert "layer 'mnist' (Data): %s: cannot export to ONNX" % train_val in err
    assert 'export a deploy net' in err


def test_python_layer_is_refused_for_onnx_before_asking_to_allow_it(lenet, tmp_path, capsys):
    """Without --python-tail a Python layer cannot export: say so, rather
    than ask for --allow-python-layers, after which it is refused anyway."""
    net = tmp_path / 'py.prototxt'
    net.write_text(
        'layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }\n'
        'layer { name: "ten" type: "Python" bottom: "x" top: "y"\n'
        '  python_param { module: "pylayers" layer: "TimesTenLayer" } }\n')
    err = _refused(capsys, net, lenet[1], tmp_path / 'x.onnx')
    assert "layer 'ten' (Python): %s: cannot export to ONNX" % net in err
    assert '(pylayers.TimesTenLayer)' in err and '--python-tail' in err
    assert '--allow-python-layers' not in err


def test_out_in_a_missing_folder_is_refused_before_the_export(lenet, tmp_path, capsys,
                                                              monkeypatch):
    """Refused before any work (a large net takes minutes to build and
    check), in one line naming the folder."""
    import caffelite.export
    monkeypatch.setattr(caffelite.export, 'build_model', None)    # not reached
    out = tmp_path / 'nowhere' / 'x.onnx'
    err = _refused(capsys, *lenet, out)
    assert err == 'caffelite export: error: --out %s: folder %s does not exist' % (
        out, out.parent)
