"""Caffe's stand-alone tools under their own names: extract_features, the
MNIST converters (siamese too) and the upgrade_net_proto_text/_binary,
upgrade_solver_proto_text converters."""
import numpy as np
import pytest
from google.protobuf import text_format

import caffelite as caffe
from caffelite import databases
from caffelite.cli import main
from caffelite.proto import caffe_pb2

FEATURE_NET = '''name: "features"
layer { name: "data" type: "DummyData" top: "data"
  dummy_data_param { shape { dim: 3 dim: 2 dim: 2 dim: 2 } data_filler { type: "gaussian" } } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc"
  inner_product_param { num_output: 4 weight_filler { type: "gaussian" } } }
'''


def _records(path, backend='lmdb'):
    return [(key.decode(), value) for key, value in databases.open_cursor(str(path), backend)]


@pytest.mark.parametrize('backend', ['lmdb', 'leveldb'])
def test_extract_features_writes_caffes_float_datums(backend, tmp_path, capsys):
    model = tmp_path / 'net.prototxt'
    model.write_text(FEATURE_NET)
    weights = tmp_path / 'w.caffemodel'
    caffe.Net(str(model), caffe.TEST).save(str(weights))
    fc, data = tmp_path / 'fc_db', tmp_path / 'data_db'
    assert main([str(a) for a in ('extract_features', weights, model, 'fc,data',
                                  '%s,%s' % (fc, data), 2, backend)]) == 0
    assert 'Successfully extracted the features!' in capsys.readouterr().err
    records = _records(fc, backend)
    assert [key for key, _ in records] == ['%010d' % i for i in range(6)]
    datum = caffe_pb2.Datum.FromString(records[0][1])
    assert (datum.channels, datum.height, datum.width, len(datum.float_data)) == (4, 1, 1, 4)
    # the C++ tool's bytes: legacy dims, then float_data unpacked, no label
    expected = caffe_pb2.Datum(channels=4, height=1, width=1)
    expected.float_data.extend(datum.float_data)
    assert records[0][1] == expected.SerializeToString()
    image = caffe_pb2.Datum.FromString(_records(data, backend)[5][1])
    assert (image.channels, image.height, image.width) == (2, 2, 2)


def test_extract_features_refuses_an_unknown_blob_and_writes_nothing(tmp_path, capsys):
    model = tmp_path / 'net.prototxt'
    model.write_text(FEATURE_NET)
    weights = tmp_path / 'w.caffemodel'
    caffe.Net(str(model), caffe.TEST).save(str(weights))
    capsys.readouterr()
    assert main([str(a) for a in ('extract_features', weights, model, 'fc7',
                                  tmp_path / 'db', '1', 'lmdb')]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == ('caffelite extract_features: error: Unknown feature blob name fc7 '
                       'in the network %s' % model)
    assert not (tmp_path / 'db').exists()


V1_NET = '''name: "v1"
input: "data" input_dim: 1 input_dim: 2 input_dim: 3 input_dim: 3
layers { name: "fc" type: INNER_PRODUCT bottom: "data" top: "fc" blobs_lr: 1 blobs_lr: 2
  inner_product_param { num_output: 2 } }
'''


def test_upgrade_net_proto_text_and_binary_keep_their_formats(tmp_path, capsys):
    legacy = tmp_path / 'v1.prototxt'
    legacy.write_text(V1_NET)
    text_out = tmp_path / 'net.out'   # no .prototxt: the tool's name decides the format
    assert main(['upgrade_net_proto_text', str(legacy), str(text_out)]) == 0
    upgraded = caffe_pb2.NetParameter()
    text_format.Parse(text_out.read_text(), upgraded)
    assert [layer.type for layer in upgraded.layer] == ['Input', 'InnerProduct']
    assert [p.lr_mult for p in upgraded.layer[1].param] == [1, 2]
    binary_in = tmp_path / 'v1.caffemodel'
    binary_in.write_bytes(text_format.Parse(V1_NET, caffe_pb2.NetParameter()).SerializeToString())
    binary_out = tmp_path / 'net.prototxt'  # binary, whatever the name says
    assert main(['upgrade_net_proto_binary', str(binary_in), str(binary_out)]) == 0
    assert caffe_pb2.NetParameter.FromString(binary_out.read_bytes()) == upgraded
    capsys.readouterr()
    # a text file given to the binary tool does not parse: Caffe's tool returns 2
    assert main(['upgrade_net_proto_binary', str(legacy), str(tmp_path / 'x')]) == 2
    assert 'not a valid binary NetParameter' in capsys.readouterr().err



def test_an_upgrade_with_problems_writes_the_file_and_returns_1(tmp_path, capsys):
    """Caffe's upgrade tools write what they could upgrade, then return !success."""
    legacy = tmp_path / 'v0.prototxt'
    legacy.write_text('layers { layer { name: "r" type: "relu" num_output: 3 } top: "r" }\n')
    out = tmp_path / 'new.prototxt'
    assert main(['upgrade_net_proto_text', str(legacy), str(out)]) == 1
    assert 'type: "ReLU"' in out.read_text()
    assert capsys.readouterr().err.splitlines()[-1] == (
        '%s: 1 problem while upgrading (see the warnings above): check %s' % (legacy, out))

def test_upgrade_solver_proto_text(tmp_path):
    old = tmp_path / 'old.prototxt'
    old.write_text('net: "n.prototxt"\nsolver_type: NESTEROV\n')
    out = tmp_path / 'new.bin'
    assert main(['upgrade_solver_proto_text', str(old), str(out)]) == 0
    assert out.read_text() == 'net: "n.prototxt"\ntype: "Nesterov"\n'


def test_a_usage_error_is_one_line(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(['convert_imageset', 'root/', 'list.txt'])
    assert exit_.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        'caffelite convert_imageset: error: the following arguments are required: db '
        '(caffelite convert_imageset --help lists the arguments)']


def _idx(path, magic, dims, payload):
    path.write_bytes(np.array([magic] + dims, '>u4').tobytes() + payload.tobytes())


def test_convert_mnist_data_writes_caffes_records(tmp_path, capsys):
    images = np.random.RandomState(0).randint(0, 256, (3, 4, 5)).astype(np.uint8)
    _idx(tmp_path / 'img', 2051, [3, 4, 5], images)
    _idx(tmp_path / 'lab', 2049, [3], np.array([7, 0, 9], np.uint8))
    db = tmp_path / 'mnist_train_lmdb'
    assert main(['convert_mnist_data', str(tmp_path / 'img'), str(tmp_path / 'lab'), str(db),
                 '--backend=lmdb']) == 0
    records = _records(db)
    assert [key for key, _ in records] == ['00000000', '00000001', '00000002']
    # the converter's bytes: channels 1, rows, cols, pixels, label
    expected = caffe_pb2.Datum(channels=1, height=4, width=5, data=images[2].tobytes(), label=9)
    assert records[2][1] == expected.SerializeToString()
    _idx(tmp_path / 'lab2', 2049, [2], np.array([7, 0], np.uint8))
    capsys.readouterr()
    assert main(['convert_mnist_data', str(tmp_path / 'img'), str(tmp_path / 'lab2'),
                 str(tmp_path / 'x')]) == 1
    assert 'holds 3 images but' in capsys.readouterr().err and not (tmp_path / 'x').exists()


def test_convert_mnist_siamese_data_writes_caffes_pairs(tmp_path, capsys):
    # six 2 x 3 images of constant pixels 10..15, digits 1 1 2 3 2 1
    images = np.repeat(np.arange(10, 16, dtype=np.uint8), 6).reshape(6, 2, 3)
    digits = np.array([1, 1, 2, 3, 2, 1], np.uint8)
    _idx(tmp_path / 'img', 2051, [6, 2, 3], images)
    _idx(tmp_path / 'lab', 2049, [6], digits)
    db = tmp_path / 'mnist_siamese_train_leveldb'
    assert main(['convert_mnist_siamese_data', str(tmp_path / 'img'), str(tmp_path / 'lab'),
                 str(db), '-seed', '5']) == 0
    assert 'A total of 6 items.' in capsys.readouterr().err
    records = list(databases.open_cursor(str(db), 'leveldb'))
    assert [key for key, _ in records] == [b'%08d' % i for i in range(6)]
    # Caffe's loop: draws i then j (32-bit Mersenne Twister outputs, as
    # Caffe::set_random_seed(5) would seed them) modulo the image count
    draws = np.random.RandomState(5).randint(0, 2 ** 32, 12, np.uint64).reshape(6, 2) % 6
    for (_, value), (i, j) in zip(records, draws):
        expected = caffe_pb2.Datum(channels=2, height=2, width=3,
                                   data=images[i].tobytes() + images[j].tobytes(),
                                   label=int(digits[i] == digits[j]))
        assert value == expected.SerializeToString()
    labels = [caffe_pb2.Datum.FromString(v).label for _, v in records]
    assert 0 in labels and 1 in labels
    assert main(['convert_mnist_siamese_data', str(tmp_path / 'img'), str(tmp_path / 'lab'),
                 str(db)]) == 1
    assert 'already exists' in capsys.readouterr().err


def test_convert_mnist_data_writes_a_leveldb(tmp_path):
    images = np.arange(8, dtype=np.uint8).reshape(2, 1, 4)
    _idx(tmp_path / 'img', 2051, [2, 1, 4], images)
    _idx(tmp_path / 'lab', 2049, [2], np.array([3, 4], np.uint8))
    db = tmp_path / 'mnist_train_leveldb'
    assert main(['convert_mnist_data', '-backend', 'leveldb', str(tmp_path / 'img'),
                 str(tmp_path / 'lab'), str(db)]) == 0
    records = list(databases.open_cursor(str(db), 'leveldb'))
    expected = caffe_pb2.Datum(channels=1, height=1, width=4, data=images[1].tobytes(), label=4)
    assert records[1] == (b'00000001', expected.SerializeToString())

def test_convert_cifar_data_writes_both_databases(tmp_path, monkeypatch):
    from caffelite.tools import binary_datasets
    monkeypatch.setattr(binary_datasets, 'CIFAR_BATCH', 10)   # 10000 records a file in CIFAR-10
    rng = np.random.RandomState(0)
    for name in ['data_batch_%d.bin' % i for i in range(1, 6)] + ['test_batch.bin']:
        records = rng.randint(0, 256, (10, 3073)).astype(np.uint8)
        records[:, 0] = rng.randint(0, 10, 10)
        (tmp_path / name).write_bytes(records.tobytes())
    out = tmp_path / 'out'
    out.mkdir()
    assert main(['convert_cifar_data', str(tmp_path), str(out), 'lmdb']) == 0
    train, test = _records(out / 'cifar10_train_lmdb'), _records(out / 'cifar10_test_lmdb')
    assert (len(train), train[-1][0], len(test), test[0][0]) == (50, '00049', 10, '00000')
    raw = (tmp_path / 'data_batch_2.bin').read_bytes()[3073 * 5:3073 * 6]
    expected = caffe_pb2.Datum(channels=3, height=32, width=32, data=raw[1:], label=raw[0])
    assert dict(train)['00015'] == expected.SerializeToString()


def test_a_file_that_cannot_be_written_is_named_not_its_temporary(tmp_path, capsys):
    legacy = tmp_path / 'v1.prototxt'
    legacy.write_text(V1_NET)
    out = tmp_path / 'missing' / 'net.prototxt'
    assert main(['upgrade', str(legacy), str(out)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "caffelite upgrade: error: [Errno 2] No such file or directory: '%s'" % out]


def test_caffes_tool_programs_run_their_verbs(tmp_path, monkeypatch, capsys):
    import pathlib
    import re
    import sys
    from caffelite.cli import CAFFE_TOOLS, build_parser, tool_main
    setup = (pathlib.Path(__file__).resolve().parents[2] / 'setup.py').read_text()
    installed = re.search(r"\['%s=caffelite\.cli:tool_main' % name for name in \((.*?)\)\]",
                          setup, re.S).group(1)
    assert re.findall(r"'(\w+)'", installed) == list(CAFFE_TOOLS)
    verbs = build_parser()._subparsers._group_actions[0].choices
    assert set(CAFFE_TOOLS) <= set(verbs)
    legacy = tmp_path / 'v1.prototxt'
    legacy.write_text(V1_NET)
    # as a link from Caffe's build folder would call it
    monkeypatch.setattr(sys, 'argv', ['build/tools/upgrade_net_proto_text.bin', str(legacy),
                                      str(tmp_path / 'new.prototxt')])
    assert tool_main() == 0 and (tmp_path / 'new.prototxt').exists()
    monkeypatch.setattr(sys, 'argv', ['/usr/bin/caffe_thing'])
    assert tool_main() == 1
    assert 'caffe_thing is not one of the Caffe tools' in capsys.readouterr().err
