"""A real ``caffelite serve`` process for the server tests: started on a
free port of 127.0.0.1 with a temporary jobs folder and a data root of
generated images, stopped by the test (or fixture) that started it."""
import functools
import http.server
import os
import pathlib
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
RUNNING = ('Initialized', 'Waiting', 'Running')
CLASSES = ('dark', 'light', 'stripes')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_images(folder, per_class=30, size=28, seed=0):
    """``folder/<class>/NNN.png``: three classes of 28x28 gray images that
    LeNet tells apart in a few iterations (dark, light, striped)."""
    from PIL import Image
    rng = np.random.RandomState(seed)
    for label, name in enumerate(CLASSES):
        os.makedirs(os.path.join(folder, name), exist_ok=True)
        for i in range(per_class):
            pixels = rng.randint(0, 40, (size, size))
            if name == 'light':
                pixels += 180
            elif name == 'stripes':
                pixels[::3] += 200
            Image.fromarray(pixels.astype(np.uint8), 'L').save(
                os.path.join(folder, name, '%03d.png' % i))
    return folder


class LiveServer:
    """``python -m caffelite serve`` in a subprocess, and an HTTP client."""

    def __init__(self, jobs_dir, *options):
        self.jobs_dir, self.options = str(jobs_dir), [str(o) for o in options]
        self.process = None

    def start(self):
        self.port = free_port()
        self.base = 'http://127.0.0.1:%d' % self.port
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (str(REPO), os.environ.get('PYTHONPATH')) if p))
        self.log = open(os.path.join(self.jobs_dir + '.server.log'), 'a')
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'caffelite', 'serve', '--jobs-dir', self.jobs_dir,
             '--port', str(self.port)] + self.options,
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.client = httpx.Client(base_url=self.base, timeout=60)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError('caffelite serve exited with %s' % self.process.returncode)
            try:
                self.client.get('/index.json', headers=self.headers())
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError('caffelite serve did not answer within 60 s')

    def headers(self):
        return {}

    def stop(self, hard=False):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if hard else signal.SIGTERM)
            self.process.wait(30)
        self.client.close()
        self.log.close()

    def login(self, name='fred'):
        r = self.client.post('/login', data={'username': name})
        assert r.status_code == 302 and self.client.cookies.get('username') == name

    def wait(self, job_id, timeout=90, until=None):
        """The job's status once it leaves ``until`` (default: running states)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            status = self.client.get('/jobs/%s/status' % job_id).json()
            if status['status'] not in (until or RUNNING):
                return status
            time.sleep(0.1)
        raise AssertionError('job %s still %s after %d s' % (job_id, status, timeout))

    def job_dirs(self):
        return sorted(d for d in os.listdir(self.jobs_dir) if not d.startswith('.'))


@pytest.fixture(scope='session')
def data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('data')
    make_images(str(root / 'images'))
    return root


@pytest.fixture(scope='session')
def server(tmp_path_factory, data_root):
    live = LiveServer(tmp_path_factory.mktemp('srv') / 'jobs', '--data-root', data_root,
                      '--max-upload-mb', 1).start()
    live.login()
    yield live
    live.stop()


@pytest.fixture(scope='module')
def web_root(data_root):
    """http://127.0.0.1:PORT/ serving the data root (image URLs), stopped after."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(data_root))
    handler.log_message = lambda *args: None
    web = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield 'http://127.0.0.1:%d/' % web.server_address[1]
    web.shutdown()
    web.server_close()


def write_kitti(folder, count, seed):
    """``folder/images/NNN.png`` (48x32 noise) with 1-2 bright squares each,
    and their KITTI ``folder/labels/NNN.txt`` (class Car)."""
    from PIL import Image
    rng = np.random.RandomState(seed)
    for sub in ('images', 'labels'):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
    for i in range(count):
        pixels = rng.randint(0, 50, (32, 48, 3)).astype(np.uint8)
        rows = []
        for _ in range(rng.randint(1, 3)):
            x, y, s = rng.randint(0, 30), rng.randint(0, 16), rng.randint(8, 16)
            pixels[y:y + s, x:x + s] = 220
            rows.append('Car 0.0 0 0.0 %d %d %d %d 0 0 0 0 0 0 0' % (x, y, x + s, y + s))
        Image.fromarray(pixels).save(os.path.join(folder, 'images', '%03d.png' % i))
        with open(os.path.join(folder, 'labels', '%03d.txt' % i), 'w') as f:
            f.write('\n'.join(rows) + '\n')


def tiny_detectnet():
    """DIGITS' all-in-one DetectNet layout with a small trunk, for 64x32 images."""
    from google.protobuf import text_format
    from caffelite.detection import networks
    net = networks.all_in_one(
        lambda n, b, t: networks.small_trunk(n, b, t, widths=(4, 4, 4, 4)), size=(64, 32),
        stride=8, batch=(4, 4), min_cvg_len=4, augmentation=dict(crop_prob=0),
        clustering=dict(min_height=4, group=1, threshold=0.3, eps=0.3))
    return text_format.MessageToString(net)


def make_dataset(server, folder, name='digits', **fields):
    """A classification dataset job of ``folder``; its split shuffled with
    seed 0 unless ``fields`` say otherwise (a blank seed draws one)."""
    form = dict(method='folder', folder_train=str(folder), dataset_name=name, encoding='png',
                resize_channels='1', resize_width='28', resize_height='28', seed='0')
    form.update(fields)
    r = server.client.post('/datasets/images/classification.json', data=form)
    assert r.status_code == 200, r.text
    return r.json()['id']


def make_model(server, dataset, name='lenet', **fields):
    form = dict(method='standard', standard_networks='lenet', train_epochs='2',
                framework='caffe', model_name=name, dataset=dataset, batch_size='16',
                learning_rate='0.02', random_seed='1')
    form.update(fields)
    r = server.client.post('/models/images/classification.json', data=form)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope='session')
def dataset(server, data_root):
    job_id = make_dataset(server, data_root / 'images')
    assert server.wait(job_id)['status'] == 'Done'
    return job_id
