"""NVIDIA DIGITS' REST walkthrough (docs/API.md, "Image classification")
run with the real curl against caffelite serve: the same commands, only
the host and port differ. Its answers carry the keys the walkthrough shows."""
import json
import shutil
import subprocess
import time

import pytest

from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(shutil.which('curl') is None, reason='curl is not installed')


def curl(server, *args):
    """curl's output for ``curl <base><path> ARGS`` (the first arg is the path)."""
    out = subprocess.run(['curl', '-s', '-S', server.base + args[0]] + list(args[1:]),
                         capture_output=True, text=True, timeout=60, check=True)
    return out.stdout


# Slow (about 1.8 min here under load): --runslow / CI.
@pytest.mark.slow
def test_digits_rest_walkthrough(server, data_root, tmp_path):
    cookie = str(tmp_path / 'digits.cookie')
    mnist = data_root / 'images'
    curl(server, '/login', '-c', cookie, '-XPOST', '-F', 'username=fred')
    assert 'username\tfred' in open(cookie).read()

    dataset = json.loads(curl(
        server, '/datasets/images/classification.json', '-b', cookie, '-XPOST',
        '-F', 'folder_train=%s' % mnist, '-F', 'encoding=png', '-F', 'resize_channels=1',
        '-F', 'resize_width=28', '-F', 'resize_height=28', '-F', 'method=folder',
        '-F', 'dataset_name=mnist_dataset'))
    assert {'id', 'name', 'status'} <= set(dataset) and dataset['name'] == 'mnist_dataset'
    while True:
        status = json.loads(curl(server, '/datasets/%s/status' % dataset['id']))
        if status['status'] not in ('Initialized', 'Waiting', 'Running'):
            break
        time.sleep(0.2)
    assert status == dict(status, status='Done', type='Image Classification Dataset',
                          name='mnist_dataset', error=None)
    shown = json.loads(curl(server, '/datasets/%s.json' % dataset['id']))
    assert {'CreateDbTasks', 'ParseFolderTasks', 'directory', 'id', 'name',
            'status'} <= set(shown)
    assert shown['CreateDbTasks'][0]['image_channels'] == 1
    index = json.loads(curl(server, '/index.json'))
    assert {'datasets', 'models', 'version'} <= set(index)
    assert dataset['id'] in [d['id'] for d in index['datasets']]

    model = json.loads(curl(
        server, '/models/images/classification.json', '-b', cookie, '-XPOST',
        '-F', 'method=standard', '-F', 'standard_networks=lenet', '-F', 'train_epochs=30',
        '-F', 'framework=caffe', '-F', 'model_name=lenet_mnist',
        '-F', 'dataset=%s' % dataset['id']))
    walkthrough_keys = {'creation time', 'dataset_id', 'deploy file', 'framework', 'id',
                        'image dimensions', 'image resize mode', 'job id', 'labels file',
                        'mean file', 'name', 'network file', 'snapshot file', 'solver file',
                        'status', 'train_val file', 'username'}
    assert walkthrough_keys <= set(model)
    assert (model['image dimensions'], model['username']) == ([28, 28, 1], 'fred')
    while True:
        shown = json.loads(curl(server, '/models/%s.json' % model['id']))
        if shown['status'] not in ('Initialized', 'Waiting', 'Running'):
            break
        time.sleep(0.2)
    assert walkthrough_keys | {'directory', 'snapshots'} <= set(shown)
    assert shown['status'] == 'Done' and shown['snapshots'][-1] == 30

    answer = json.loads(curl(
        server, '/models/images/classification/classify_one.json', '-XPOST',
        '-F', 'job_id=%s' % model['id'], '-F', 'image_file=@%s' % (mnist / 'light' / '003.png')))
    assert answer['predictions'][0][0] == 'light'
    val_list = '%s/%s/val.txt' % (server.jobs_dir, dataset['id'])
    many = json.loads(curl(
        server, '/models/images/classification/classify_many.json', '-XPOST',
        '-F', 'job_id=%s' % model['id'], '-F', 'image_list=@%s' % val_list))
    with open(val_list) as f:
        listed = [line.rsplit(' ', 1)[0] for line in f if line.strip()]
    assert sorted(many['classifications']) == sorted(listed)

    assert curl(server, '/models/%s' % model['id'], '-b', cookie, '-X', 'DELETE') == \
        'Job deleted.'
    assert curl(server, '/datasets/%s' % dataset['id'], '-b', cookie, '-X', 'DELETE') == \
        'Job deleted.'
