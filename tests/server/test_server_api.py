"""caffelite serve end to end over HTTP: a dataset from a folder, LeNet
trained for 2 epochs with its curves growing live, classification, clone,
pretrained model, download, abort, and resume after a server restart."""
import io
import json
import os
import shutil
import tarfile
import threading
import time

import numpy as np
import pytest

import caffelite
from caffelite.codec import load_mean
from server_fixtures import CLASSES, make_dataset, make_images, make_model
from server_fixtures import data_root, dataset, server  # noqa: F401 (fixtures)

pytestmark = pytest.mark.filterwarnings('ignore::ResourceWarning')


class EventReader(threading.Thread):
    """Collects a job's Server-Sent Events in the background."""

    def __init__(self, server, job_id):
        super().__init__(daemon=True)
        self.url = '%s/models/%s/events' % (server.base, job_id)
        self.events = []

    def run(self):
        import httpx
        with httpx.stream('GET', self.url, timeout=60) as response:
            event = None
            for line in response.iter_lines():
                if line.startswith('event: '):
                    event = line[7:]
                elif line.startswith('data: '):
                    self.events.append((event, json.loads(line[6:])))
                    if event == 'status' and self.events[-1][1]['status'] in ('Done', 'Error'):
                        return


def listed_paths(path):
    with open(path) as f:
        return sorted(line.rsplit(' ', 1)[0] for line in f)


def test_dataset_with_a_separate_val_folder(server, data_root, tmp_path):
    """DIGITS' has_val_folder: the val split is all of folder_val and
    folder_pct_val counts as 0, so the training split is all of folder_train."""
    root = data_root / ('separate-%s' % tmp_path.name)
    train, val = make_images(str(root / 'train'), 4, 8), make_images(str(root / 'val'), 2, 8)
    shutil.rmtree(os.path.join(val, 'light'))
    job_id = make_dataset(server, train, 'separate', has_val_folder='y', folder_val=val,
                          folder_pct_val='50', resize_width='8', resize_height='8')
    assert server.wait(job_id)['status'] == 'Done'
    folder = os.path.join(server.jobs_dir, job_id)
    found = lambda top: sorted(os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs)
    assert listed_paths(os.path.join(folder, 'val.txt')) == found(os.path.realpath(val))
    assert listed_paths(os.path.join(folder, 'train.txt')) == found(os.path.realpath(train))
    d = server.client.get('/datasets/%s.json' % job_id).json()
    assert d['distribution']['val'] == [2, 0, 2]  # dark, light, stripes: train's labels
    assert [(t['name'], t['folder'], t['train_count'], t['val_count'], t['label_count'])
            for t in d['ParseFolderTasks']] == [
        ('Parse Folder (train)', os.path.realpath(train), 12, 0, 3),
        ('Parse Folder (val)', os.path.realpath(val), 0, 4, 2)]
    page = server.client.get('/datasets/%s' % job_id).text
    assert os.path.realpath(val) in page and 'Parse Folder (val)' in page


def test_dataset_job_in_digits_layout(server, dataset):
    folder = os.path.join(server.jobs_dir, dataset)
    for name in ('labels.txt', 'train.txt', 'val.txt', 'train_db', 'val_db',
                 'mean.binaryproto', 'mean.jpg', 'status.json', 'create_train_db.log'):
        assert os.path.exists(os.path.join(folder, name)), name
    d = server.client.get('/datasets/%s.json' % dataset).json()
    assert (d['status'], d['image dimensions']) == ('Done', [28, 28, 1])
    assert d['ParseFolderTasks'][0]['label_count'] == 3
    assert {t['name']: t['entries'] for t in d['CreateDbTasks']} == {
        'Create DB (train)': 69, 'Create DB (val)': 21}
    assert d['distribution']['val'] == [7, 7, 7]
    listed = server.client.get('/index.json').json()['datasets']
    assert dataset in [j['id'] for j in listed]
    # DIGITS' home page list: running jobs apart, finished ones by kind
    completed = server.client.get('/completed_jobs.json').json()
    assert set(completed) == {'running', 'datasets', 'models', 'pretrained_models',
                              'model_output_fields'}
    assert dataset in [j['id'] for j in completed['datasets']]
    assert dataset not in [j['id'] for j in completed['running']]


def test_train_watch_classify_clone_pretrained_download(server, dataset, tmp_path):
    job = make_model(server, dataset)
    reader = EventReader(server, job['id'])
    reader.start()
    lengths = []
    while server.client.get('/jobs/%s/status' % job['id']).json()['status'] in (
            'Waiting', 'Running', 'Initialized'):
        lengths.append(len(server.client.get('/models/%s.json' % job['id']).json()
                           .get('train_outputs', {}).get('loss', [])))
        time.sleep(0.05)
    reader.join(30)
    model = server.client.get('/models/%s.json' % job['id']).json()
    assert model['status'] == 'Done', model['error']
    # 69 images at batch 16: 5 iterations an epoch, a snapshot each epoch
    assert model['max_iter'] == 10 and model['snapshots'] == [1, 2]
    assert model['snapshot file'] == 'snapshot_iter_10.caffemodel'
    folder = model['directory']
    for name in ('original.prototxt', 'train_val.prototxt', 'deploy.prototxt',
                 'solver.prototxt', 'caffe_output.log', 'snapshot_iter_5.caffemodel',
                 'snapshot_iter_10.caffemodel', 'snapshot_iter_10.solverstate'):
        assert os.path.exists(os.path.join(folder, name)), name
    assert not os.path.exists(os.path.join(folder, 'snapshot_iter_5.solverstate'))
    # the curves grew while training, and the same points came as events
    loss = model['train_outputs']['loss']
    assert len(loss) >= 5 and loss[-1][1] < loss[0][1]
    assert model['val_outputs']['accuracy'][-1][0] == 2
    # the type of the layer behind each output, which puts it on its axis
    assert model['output_types']['accuracy'] == 'Accuracy'
    assert model['output_types']['loss'] == 'SoftmaxWithLoss'
    assert max(lengths) > min(lengths)
    points = [e for kind, e in reader.events
              if kind == 'graph' and (e['phase'], e['name']) == ('train', 'loss')]
    assert [[p['epoch'], p['value']] for p in points] == loss[-len(points):]
    assert any(kind == 'snapshots' and e['snapshots'] == [1, 2] for kind, e in reader.events)

    image = os.path.join(os.path.dirname(model['directory']), dataset, 'train.txt')
    with open(image) as f:
        path, label = f.readline().rsplit(' ', 1)
    with open(path, 'rb') as f:
        r = server.client.post('/models/images/classification/classify_one.json',
                               data={'job_id': job['id']}, files={'image_file': f})
    predictions = r.json()['predictions']
    assert predictions[0][0] == CLASSES[int(label)] and len(predictions) == 3
    assert sum(p for _, p in predictions) == pytest.approx(100, abs=0.1)
    r = server.client.post('/models/images/classification/classify_one.json',
                           data={'job_id': job['id'], 'image_path': path, 'snapshot_epoch': '1'})
    assert r.json()['predictions'][0][0] == CLASSES[int(label)]
    val_list = os.path.join(os.path.dirname(model['directory']), dataset, 'val.txt')
    with open(val_list, 'rb') as f:
        many = server.client.post('/models/images/classification/classify_many.json',
                                  data={'job_id': job['id']}, files={'image_list': f}).json()
    assert len(many['classifications']) == 21 and many['top1_accuracy'] > 60
    assert np.sum(many['confusion_matrix']) == 21 and len(many['per_class_accuracy']) == 3
    with open(val_list, 'rb') as f:
        best = server.client.post('/models/images/classification/top_n.json',
                                  data={'job_id': job['id'], 'top_n': '2'},
                                  files={'image_list': f}).json()['results']
    assert [r['label'] for r in best] == list(CLASSES)
    for result in best:
        scores = [image['score'] for image in result['images']]
        assert len(scores) == 2 and scores == sorted(scores, reverse=True)
        assert {image['path'] for image in result['images']} <= set(many['classifications'])

    cloned = server.client.get('/clone/%s' % job['id'],
                               headers={'Accept': 'application/json'}).json()
    assert cloned['form']['standard_networks'] == 'lenet'
    assert cloned['form']['train_epochs'] == 2

    r = server.client.get('/models/%s/to_pretrained' % job['id'],
                          headers={'Accept': 'application/json'})
    pretrained = r.json()
    assert pretrained['type'] == 'pretrained_model'
    assert os.path.exists(os.path.join(pretrained['directory'], 'model.caffemodel'))
    tuned = make_model(server, dataset, 'tuned', method='pretrained',
                       pretrained_networks=pretrained['id'], train_epochs='1')
    assert server.wait(tuned['id'])['status'] == 'Done'
    with open(os.path.join(server.jobs_dir, tuned['id'], 'caffe_output.log')) as f:
        first_loss = [line for line in f if 'Train net output' in line][0]
    assert float(first_loss.split('= ')[1].split()[0]) < loss[0][1]

    r = server.client.get('/models/%s/download.tar.gz' % job['id'])
    assert r.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(r.content)) as t:
        t.extractall(tmp_path)
    info = json.loads((tmp_path / 'info.json').read_text())
    assert info['snapshot file'] == 'snapshot_iter_10.caffemodel'
    mean = load_mean(str(tmp_path / 'mean.binaryproto'))
    net = caffelite.Classifier(str(tmp_path / 'deploy.prototxt'),
                               str(tmp_path / 'snapshot_iter_10.caffemodel'),
                               mean=mean.mean(axis=(1, 2)), raw_scale=255)
    picture = caffelite.io.load_image(path, color=False)
    assert np.argmax(net.predict([picture], oversample=False)[0]) == int(label)


# Slow (about 1.6 min here under load): --runslow / CI.
@pytest.mark.slow
def test_abort_then_resume_after_a_server_restart(server, dataset, data_root):
    job = make_model(server, dataset, 'long', train_epochs='20', val_interval='5')
    while not server.client.get('/models/%s.json' % job['id']).json()['snapshots']:
        time.sleep(0.05)
    started = time.time()
    r = server.client.post('/models/%s/abort' % job['id'])
    assert r.status_code == 200 and r.text == 'Job aborted.'
    assert time.time() - started < 2
    aborted = server.client.get('/models/%s.json' % job['id']).json()
    assert aborted['status'] == 'Aborted' and aborted['snapshots'] and aborted['resumable']

    r = server.client.post('/models/%s/resume' % job['id'])
    assert r.status_code == 200
    done_before = aborted['snapshots'][-1]
    while server.client.get('/models/%s.json' % job['id']).json()['snapshots'][-1] <= \
            done_before:
        time.sleep(0.05)
    server.stop(hard=True)
    with open(os.path.join(server.jobs_dir, job['id'], 'status.json')) as f:
        worker = json.load(f)['pid']
    deadline = time.time() + 10
    while os.path.exists('/proc/%d' % worker) and time.time() < deadline:
        time.sleep(0.05)
    assert not os.path.exists('/proc/%d' % worker), 'the worker outlived the server'
    server.start()
    server.login()
    listed = server.client.get('/models/%s.json' % job['id']).json()
    assert listed['status'] == 'Aborted' and listed['error']['type'] == 'Interrupted'
    assert len(listed['train_outputs']['loss']) > 1
    resumed_from = listed['snapshots'][-1]
    assert server.client.post('/jobs/%s/resume' % job['id']).status_code == 200
    assert server.wait(job['id'], timeout=120)['status'] == 'Done'
    final = server.client.get('/models/%s.json' % job['id']).json()
    assert final['snapshots'][-1] == 20 and resumed_from in final['snapshots']
    with open(os.path.join(final['directory'], 'caffe_output.log')) as f:
        assert 'Restoring previous solver status from snapshot_iter_%d.solverstate' % (
            resumed_from * 5) in f.read()
    epochs = [e for e, _ in final['train_outputs']['loss']]
    assert epochs == sorted(epochs)
