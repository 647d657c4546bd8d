"""The course code in examples/ and `caffelite classify`, on a small model
built here: a DIGITS-style job that tells bright images from dark ones."""
import json
import pathlib
import runpy
import sys

import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite.cli import main

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / 'examples'
DEPLOY = '''name: "brightness"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 32 dim: 32 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: AVE global_pooling: true } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 2 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
'''


@pytest.fixture
def jobs(tmp_path):
    """(model job folder, dataset job folder) like DIGITS writes them."""
    model, data = tmp_path / 'model_job', tmp_path / 'data_job'
    model.mkdir()
    data.mkdir()
    (model / 'deploy.prototxt').write_text(DEPLOY)
    net = caffe.Net(str(model / 'deploy.prototxt'), caffe.TEST)
    net.params['fc'][0].data[...] = [[-0.05] * 3, [0.05] * 3]
    net.params['fc'][1].data[...] = 0
    net.save(str(model / 'snapshot_iter_10.caffemodel'))
    (model / 'labels.txt').write_text('dark\nbright\n')
    Image.fromarray(np.full((256, 256, 3), 128, np.uint8)).save(data / 'mean.jpg')
    from caffelite.tools.imageset import write_mean
    write_mean(np.full((3, 256, 256), 128, np.float32), str(data / 'mean.binaryproto'))
    return model, data


def save(path, value, size=(300, 280)):
    Image.fromarray(np.full(size + (3,), value, np.uint8)).save(path)
    return str(path)


def run_example(name, args, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [name] + [str(a) for a in args])
    return runpy.run_path(str(EXAMPLES / name), run_name='not_main')


def test_course_deployment_code(jobs, tmp_path, capsys, monkeypatch):
    model, data = jobs
    module = run_example('deploy_classifier.py', [], monkeypatch)
    bright = module['main'](str(model), str(data), save(tmp_path / 'b.png', 230))
    dark = module['main'](str(model), str(data), save(tmp_path / 'd.png', 20))
    assert bright.shape == (1, 2) and bright.argmax() == 1 and dark.argmax() == 0
    assert capsys.readouterr().out.split() == ['1', '0']


def test_course_sliding_window_detection(jobs, tmp_path, monkeypatch):
    model, data = jobs
    image = np.full((512, 768, 3), 20, np.uint8)
    image[256:, 256:512] = 230
    Image.fromarray(image).save(tmp_path / 'scene.png')
    module = run_example('sliding_window.py', [], monkeypatch)
    grid = module['detect'](str(model), str(data), str(tmp_path / 'scene.png'))
    np.testing.assert_array_equal(grid, [[0, 0, 0], [0, 1, 0]])


@pytest.mark.parametrize('name', ['deploy_classifier.py', 'sliding_window.py'])
def test_course_scripts_without_arguments_print_their_usage(name, monkeypatch):
    monkeypatch.setattr(sys, 'argv', [name])
    with pytest.raises(SystemExit) as exit:
        runpy.run_path(str(EXAMPLES / name), run_name='__main__')
    assert 'usage: python %s MODEL_JOB_DIR DATA_JOB_DIR IMAGE' % name in exit.value.code


def test_classify_cli_json_from_job_folder(jobs, tmp_path, capsys):
    model, data = jobs
    images = tmp_path / 'images'
    images.mkdir()
    save(images / 'a.png', 240)
    save(images / 'b.jpg', 10)
    assert main(['classify', '--model', str(model), '--mean',
                 str(data / 'mean.binaryproto'), '--json', '--top-k', '1', str(images)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [r['predictions'][0]['label'] for r in out] == ['bright', 'dark']
    assert 0.5 < out[0]['predictions'][0]['probability'] <= 1


def test_classify_cli_text_and_missing_weights(jobs, tmp_path, capsys):
    model, _ = jobs
    path = save(tmp_path / 'x.png', 240)
    assert main(['classify', '--model', str(model / 'deploy.prototxt'), '--weights',
                 str(model / 'snapshot_iter_10.caffemodel'), path]) == 0
    assert 'x.png' in capsys.readouterr().out
    assert main(['classify', '--model', str(model / 'deploy.prototxt'), path]) == 1


def test_finetune_example_keeps_pretrained_layers(tmp_path, monkeypatch):
    from refcases import reference_path
    data = reference_path('data')
    monkeypatch.chdir(data / 'data_lmdb_raw')
    module = runpy.run_path(str(EXAMPLES / 'finetune.py'), run_name='not_main')
    out = tmp_path / 'ft'
    assert module['main'](['train.prototxt', 'solver.prototxt', str(data / 'init.caffemodel'),
                           '10', str(out), '--layer', 'ip2', '--iterations', '4']) == 0
    tuned = caffe.Net(str(out / 'finetune_train_val.prototxt'), caffe.TEST,
                      weights=str(out / 'finetune_iter_4.caffemodel'))
    start = caffe.Net('train.prototxt', caffe.TEST, weights=str(data / 'init.caffemodel'))
    assert 'ip2_ft' in tuned.params and 'ip2' not in tuned.params
    # Pretrained layers moved only a little from their starting point.
    w0, w1 = start.params['conv1'][0].data, tuned.params['conv1'][0].data
    assert 0 < np.abs(w1 - w0).max() < 0.1 * np.abs(w0).max()
    # The deploy net it writes names the renamed layer, so every layer loads.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        deploy = caffe.Classifier(str(out / 'deploy.prototxt'),
                                  str(out / 'finetune_iter_4.caffemodel'))
    assert deploy.blobs['prob'].shape == (1, 10) and deploy.blobs['data'].shape == (1, 1, 28, 28)
    np.testing.assert_array_equal(deploy.params['ip2_ft'][0].data, tuned.params['ip2_ft'][0].data)
