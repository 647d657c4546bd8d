"""Every caffelite command ends a failure with one line naming the file,
layer or argument at fault and a non-zero exit, never a traceback (unless
--debug); arguments and prototxt fields are checked before allocating;
classify streams a folder in batches and skips an unreadable image."""
import os
import sys

import lmdb
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite.cli import main
from caffelite.job_classifier import JobClassifier

DEPLOY = '''name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 6 dim: 6 } } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 3 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
'''


def run(argv, capsys):
    """(exit code, the last line on stderr) of ``caffelite argv``."""
    capsys.readouterr()
    code = main([str(a) for a in argv])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    return code, err[-1] if err else ''


def one_line_error(err, command):
    assert err.startswith('caffelite %s: error: ' % command), err
    assert 'Traceback' not in err


@pytest.fixture
def model(tmp_path):
    (tmp_path / 'deploy.prototxt').write_text(DEPLOY)
    caffe.Net(str(tmp_path / 'deploy.prototxt'), caffe.TEST).save(
        str(tmp_path / 'snapshot_iter_1.caffemodel'))
    return tmp_path


def test_pooling_stride_zero_is_a_layer_error(tmp_path, capsys):
    net = tmp_path / 'net.prototxt'
    net.write_text('layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 '
                   'dim: 1 dim: 8 dim: 8 } } }\nlayer { name: "pool" type: "Pooling" bottom: '
                   '"data" top: "p" pooling_param { kernel_size: 2 stride: 0 } }\n')
    code, err = run(['time', '-model', net, '-iterations', '1'], capsys)
    assert code == 1
    one_line_error(err, 'time')
    assert "layer 'pool' (Pooling): stride must be nonzero" in err


@pytest.mark.parametrize('argv, expected', [
    (['test', '-model', 'm', '-weights', 'w', '-iterations', '0'], '--iterations: must be at least 1'),
    (['time', '-model', 'm', '--iterations=-3'], '--iterations: must be at least 1'),
    (['dataset', 'create', 'a', 'b', '--width', '0'], '--width: must be at least 1'),
    (['classify', '--model', 'm', '--top-k', 'x', 'i.png'], "--top-k: expected a whole number, got 'x'"),
])
def test_counts_are_checked_before_anything_runs(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 1
    assert expected in capsys.readouterr().err


def test_memory_error_and_internal_errors_are_one_line(model, capsys, monkeypatch):
    from caffelite.cli import time as time_cli

    def out_of_memory(net, iterations):
        raise MemoryError('Unable to allocate 6.40 GiB for an array with shape (12500, 12500)')
    monkeypatch.setattr(time_cli, 'time_layers', out_of_memory)
    code, err = run(['time', '-model', model / 'deploy.prototxt', '-iterations', '1'], capsys)
    assert code == 1 and err == ('caffelite time: error: out of memory: Unable to allocate '
                                 '6.40 GiB for an array with shape (12500, 12500)')
    monkeypatch.setattr(time_cli, 'time_layers', lambda net, n: {}['bug'])
    code, err = run(['time', '-model', model / 'deploy.prototxt', '-iterations', '1'], capsys)
    assert code == 1
    one_line_error(err, 'time')
    assert "KeyError: 'bug'" in err and '--debug' in err
    capsys.readouterr()
    assert main(['time', '--debug', '-model', str(model / 'deploy.prototxt')]) == 1
    assert 'Traceback (most recent call last)' in capsys.readouterr().err


def test_broken_lmdbs_name_the_database_and_record(tmp_path, capsys):
    corrupt = tmp_path / 'corrupt_db'
    corrupt.mkdir()
    (corrupt / 'data.mdb').write_bytes(b'\x00garbage' * 512)
    code, err = run(['compute_image_mean', corrupt], capsys)
    assert code == 1 and 'corrupt_db' in err
    one_line_error(err, 'compute_image_mean')
    alien = tmp_path / 'alien_db'
    with lmdb.open(str(alien)) as env, env.begin(write=True) as txn:
        txn.put(b'00000000_a.png', b'\xff\xff\xff not a Datum')
    code, err = run(['compute_image_mean', alien], capsys)
    assert code == 1 and "alien_db: record '00000000_a.png' is not a Datum" in err


@pytest.mark.parametrize('module, argv, extra', [
    ('matplotlib', ['plot', 'log.jsonl', 'out.png'], 'plot'),
    ('pydot', ['draw', 'net.prototxt', 'out.dot'], 'draw'),
    ('uvicorn', ['serve', '--jobs-dir', 'jobs'], 'serve'),
])
def test_missing_optional_module_names_its_extra(module, argv, extra, tmp_path, capsys,
                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'log.jsonl').write_text('{"phase": "train", "iter": 0, "loss": 1.0}\n')
    (tmp_path / 'net.prototxt').write_text(DEPLOY)
    monkeypatch.setitem(sys.modules, module, None)
    code, err = run(argv, capsys)
    assert code == 1
    assert err == ("caffelite %s: error: this needs the Python module %s: "
                   "pip install 'caffelite[%s]'" % (argv[0], module, extra))


def write_image_folder(folder, count=6):
    rng = np.random.RandomState(0)
    for label in ('a', 'b'):
        (folder / label).mkdir(parents=True)
        for k in range(count // 2):
            Image.fromarray(rng.randint(0, 256, (6, 6, 3), np.uint8)).save(
                folder / label / ('%d.png' % k))


def test_ctrl_c_in_dataset_tools_exits_130_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    from caffelite import images
    write_image_folder(tmp_path / 'img')
    (tmp_path / 'list.txt').write_text('a/0.png 0\na/1.png 0\nb/0.png 1\n')
    calls = []

    def interrupted(*args, **kwargs):
        calls.append(args)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return read(*args, **kwargs)
    for name in ('read_image', 'read_like_digits'):
        read = getattr(images, name)
        monkeypatch.setattr(images, name, interrupted)
        calls.clear()
        argv = (['convert_imageset', '%s/' % (tmp_path / 'img'), tmp_path / 'list.txt',
                 tmp_path / 'db'] if name == 'read_image' else
                ['dataset', 'create', tmp_path / 'img', tmp_path / 'ds', '--width', '6',
                 '--height', '6'])
        code, err = run(argv, capsys)
        assert code == 130 and err == 'caffelite %s: error: interrupted' % argv[0]
        monkeypatch.setattr(images, name, read)
    assert sorted(os.listdir(tmp_path)) == ['img', 'list.txt']     # no half-made databases


def test_text_files_that_are_not_utf8_are_named(tmp_path, capsys, model):
    bad = tmp_path / 'labels.txt'
    bad.write_bytes(b'cat\n\xff\xfedog\n')
    Image.fromarray(np.zeros((6, 6, 3), np.uint8)).save(tmp_path / 'x.png')
    code, err = run(['classify', '--model', model, '--labels', bad, tmp_path / 'x.png'], capsys)
    assert code == 1 and err.endswith('labels.txt:2: not a UTF-8 text file (byte 0xff)')
    log = tmp_path / 'log.txt'
    log.write_bytes(b'I0101 Iteration 0, loss = 1\n\xff')
    code, err = run(['plot', log, tmp_path / 'out.png'], capsys)
    assert code == 1 and 'log.txt:2: not a UTF-8 text file' in err


def test_net_too_big_for_memory_is_refused_with_the_estimate(monkeypatch):
    from caffelite import memory
    monkeypatch.setattr(memory, 'available_bytes', lambda: 100 << 20)
    big = DEPLOY.replace('dim: 1 dim: 3 dim: 6 dim: 6', 'dim: 64 dim: 3 dim: 512 dim: 512')
    with pytest.raises(caffe.NetError, match=r"net 'tiny' needs at least 210\.0 MB for its "
                                             r'blobs.*more than the 100\.0 MB'):
        caffe.Net(big, caffe.TEST)
    caffe.Net(DEPLOY, caffe.TEST)


def test_classify_streams_batches_and_skips_unreadable_images(model, tmp_path, capsys,
                                                              monkeypatch):
    write_image_folder(tmp_path / 'img', 8)
    (tmp_path / 'img' / 'b' / 'broken.png').write_bytes(b'\x89PNG not really')
    Image.new('RGB', (400, 300)).save(tmp_path / 'img' / 'b' / 'huge.png')
    monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 100000)
    classifier = JobClassifier(str(model))
    sizes = []
    probabilities = classifier.probabilities
    monkeypatch.setattr(classifier, 'probabilities',
                        lambda batch: sizes.append(len(batch)) or probabilities(batch))
    paths = sorted(str(p) for p in (tmp_path / 'img').rglob('*.png'))
    results = list(classifier.classify(paths, top_k=1, batch_size=3))
    assert max(sizes) <= 3 and sum(sizes) == 8
    assert [r[0] for r in results] == paths
    failed = {os.path.basename(path): reason for path, top, reason in results if reason}
    assert sorted(failed) == ['broken.png', 'huge.png']
    assert 'huge.png is 400 x 300 pixels' in failed['huge.png']
    code, err = run(['classify', '--model', model, tmp_path / 'img'], capsys)
    assert code == 1 and err == ('caffelite classify: error: 2 of 10 images could not be read '
                                 '(the others were classified)')


def test_a_reader_that_goes_away_ends_the_command_quietly():
    # 'caffelite zoo list | head -1': the pipe closes after the first line.
    import subprocess
    reader = subprocess.Popen([sys.executable, '-m', 'caffelite', 'zoo', 'list'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    reader.stdout.close()
    assert reader.wait(timeout=60) == 141
    assert reader.stderr.read() == b''


def test_serve_on_a_port_in_use_is_one_line(tmp_path, capsys, monkeypatch):
    import socket
    import uvicorn

    def never(*args, **kwargs):
        raise AssertionError('the server started')
    monkeypatch.setattr(uvicorn, 'run', never)
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, err = run(['serve', '--jobs-dir', tmp_path / 'jobs', '--port', port], capsys)
    assert code == 1
    assert err == ('caffelite serve: error: cannot listen on 127.0.0.1 port %d: Address '
                   'already in use (another server there? give another --port)' % port)


def test_the_caffe_command_speaks_as_caffe(tmp_path, capsys, monkeypatch):
    # setup.py installs the same main as 'caffe', for course material's 'caffe train -solver ...'
    monkeypatch.setattr(sys, 'argv', ['/venv/bin/caffe'])
    code, err = run(['train', '-solver', tmp_path / 'missing.prototxt'], capsys)
    assert code == 1 and err.startswith('caffe train: error: ') and 'missing.prototxt' in err
    with pytest.raises(SystemExit):
        main(['train', '--help'])
    assert capsys.readouterr().out.startswith('usage: caffe train')
