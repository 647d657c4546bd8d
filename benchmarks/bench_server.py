"""Issue 10 measures of ``caffelite serve`` on CPU:

1. ``classify_one.json`` latency for LeNet and for CaffeNet (weights from a
   few training iterations: synthetic for timing purposes), median of
   ``--requests`` requests on a warm server, alternating with
   ``caffelite.Classifier.predict`` in this process on the same image; the
   server should add under 20 ms;
2. the time from a training log line (its glog timestamp, written by the
   worker) to the Server-Sent Event that carries its curve point;
3. the resident memory of the idle server, fresh and after the jobs.

Usage: python benchmarks/bench_server.py [--requests 50]
"""
import argparse
import datetime
import io
import json
import os
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from caffelite.codec import load_mean  # noqa: E402
from caffelite.job_classifier import JobClassifier  # noqa: E402
from caffelite.proto import caffe_pb2  # noqa: E402
from caffelite.protoio import read_text  # noqa: E402
from harness import compare, environment, report  # noqa: E402

GLOG_TIME = re.compile(r'^I(\d{4}) (\d\d:\d\d:\d\d\.\d{6})')


def write_images(folder, size, color, per_class, rng):
    from PIL import Image
    for label in range(3):
        os.makedirs(os.path.join(folder, str(label)), exist_ok=True)
        for i in range(per_class):
            shape = (size, size, 3) if color else (size, size)
            pixels = rng.randint(0, 60, shape) + 80 * label
            Image.fromarray(pixels.astype(np.uint8)).save(
                os.path.join(folder, str(label), '%02d.png' % i))
    return folder


def caffenet_all_in_one():
    """The zoo's CaffeNet train_val as a DIGITS all-in-one network."""
    net = read_text(str(ROOT / 'model_zoo' / 'caffenet' / 'train_val.prototxt'),
                    caffe_pb2.NetParameter())
    for layer in net.layer:
        phase = layer.include[0].phase if len(layer.include) else None
        layer.ClearField('include')
        if layer.type == 'Data':
            layer.include.add(stage=['train' if phase == caffe_pb2.TRAIN else 'val'])
            layer.data_param.ClearField('source')
            layer.data_param.ClearField('backend')
            layer.transform_param.ClearField('mean_file')
        elif layer.type == 'Accuracy':
            layer.include.add(stage=['val'])
        elif layer.type == 'SoftmaxWithLoss':
            layer.exclude.add(stage=['deploy'])
    net.layer[-3].inner_product_param.ClearField('num_output')
    net.layer.add(name='prob', type='Softmax', bottom=['fc8'], top=['prob']).include.add(
        stage=['deploy'])
    return str(net)


class Server:
    def __init__(self, jobs, data):
        self.jobs = jobs
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            self.port = s.getsockname()[1]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, '-m', 'caffelite', 'serve', '--jobs-dir', jobs, '--data-root',
             data, '--port', str(self.port)], env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        import httpx
        self.http = httpx.Client(base_url='http://127.0.0.1:%d' % self.port, timeout=600)
        for _ in range(600):
            try:
                self.http.get('/index.json')
                break
            except httpx.TransportError:
                time.sleep(0.1)
        self.http.post('/login', data={'username': 'bench'})

    def job_dir(self, job_id):
        return os.path.join(self.jobs, job_id)

    def rss_mb(self):
        with open('/proc/%d/status' % self.process.pid) as f:
            kb = int(re.search(r'VmRSS:\s+(\d+)', f.read()).group(1))
        return kb / 1024.0

    def finished(self, job_id):
        while True:
            status = self.http.get('/jobs/%s/status' % job_id).json()
            if status['status'] not in ('Initialized', 'Waiting', 'Running'):
                if status['status'] != 'Done':
                    raise RuntimeError('job %s: %s' % (job_id, status))
                return
            time.sleep(0.2)

    def dataset(self, folder, size, channels):
        job = self.http.post('/datasets/images/classification.json', data=dict(
            method='folder', folder_train=folder, dataset_name='bench', resize_width=size,
            resize_height=size, resize_channels=channels)).json()
        self.finished(job['id'])
        return job['id']

    def model(self, dataset, **form):
        form = dict(dict(model_name='bench', dataset=dataset, train_epochs=1), **form)
        job = self.http.post('/models/images/classification.json', data=form).json()
        if 'id' not in job:
            raise RuntimeError('model not created: %s' % job)
        return job['id']

    def stop(self):
        self.process.terminate()
        self.process.wait(60)


def sse_latency(server, model_id):
    """Seconds from each Train net output log line to its 'graph' event."""
    received = []

    def listen():
        with server.http.stream('GET', '/models/%s/events' % model_id) as response:
            kind = None
            for line in response.iter_lines():
                if line.startswith('event: '):
                    kind = line[7:]
                elif line.startswith('data: '):
                    data = json.loads(line[6:])
                    if kind == 'graph' and data['phase'] == 'train' and data['name'] == 'loss':
                        received.append(time.time())
                    if kind == 'status' and data['status'] == 'Done':
                        return
    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    server.finished(model_id)
    thread.join(30)
    log = pathlib.Path(server.job_dir(model_id)) / 'caffe_output.log'
    year = datetime.date.today().year
    logged = []
    for line in log.read_text().splitlines():
        if 'Train net output' in line and ': loss = ' in line:
            m = GLOG_TIME.match(line)
            stamp = datetime.datetime.strptime('%d%s %s' % (year, m.group(1), m.group(2)),
                                               '%Y%m%d %H:%M:%S.%f')
            logged.append(stamp.timestamp())
    return [r - t for r, t in zip(received, logged[-len(received):])]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--requests', type=int, default=50)
    args = parser.parse_args()
    print(environment())
    rng = np.random.RandomState(0)
    with tempfile.TemporaryDirectory() as tmp:
        data, jobs = os.path.join(tmp, 'data'), os.path.join(tmp, 'jobs')
        gray = write_images(os.path.join(data, 'gray'), 28, False, 20, rng)
        color = write_images(os.path.join(data, 'color'), 256, True, 3, rng)
        server = Server(jobs, data)
        try:
            measure(server, gray, color, args.requests)
        finally:
            server.stop()


def classify_latency(server, name, job_id, dataset_id, image, channels, requests):
    """classify_one.json beside, in this process, Classifier.predict and the
    server's own classifier (DIGITS' preprocessing: the same work without
    HTTP), on the same image."""
    folder = server.job_dir(job_id)
    model = server.http.get('/models/%s.json' % job_id).json()
    dataset_dir = server.job_dir(dataset_id)
    mean_file = os.path.join(dataset_dir, 'mean.binaryproto')
    mean = load_mean(mean_file)
    classifier = caffe.Classifier(
        os.path.join(folder, 'deploy.prototxt'), os.path.join(folder, model['snapshot file']),
        image_dims=mean.shape[1:], mean=mean.mean(axis=(1, 2)), raw_scale=255,
        channel_swap=(2, 1, 0) if channels == 3 else None)
    digits = JobClassifier(os.path.join(folder, 'deploy.prototxt'),
                           os.path.join(folder, model['snapshot file']), mean_file,
                           os.path.join(dataset_dir, 'labels.txt'), model['image dimensions'],
                           model['image resize mode'], 'image')
    picture = caffe.io.load_image(image, color=channels == 3)
    with open(image, 'rb') as f:
        payload = f.read()

    def request():
        r = server.http.post('/models/images/classification/classify_one.json',
                             data={'job_id': job_id}, files={'image_file': ('x.png', payload)})
        assert r.status_code == 200, r.text

    def predict():
        classifier.predict([picture], oversample=False)

    def same_work():
        digits.top(digits.probabilities([digits.load(io.BytesIO(payload))])[0])
    server_name, local_name = 'classify_one.json (server)', 'Classifier.predict (in-process)'
    own_name = 'JobClassifier (in-process)'
    times = compare([(server_name, request), (local_name, predict), (own_name, same_work)],
                    repeats=requests, warmup=3)
    medians = report('%s, one image' % name, times, unit='images')
    for other in (local_name, own_name):
        print('  the server adds %.1f ms to %s'
              % (1e3 * (medians[server_name] - medians[other]), other))


def measure(server, gray, color, requests):
    time.sleep(2)
    print('idle server RSS, fresh: %.1f MB' % server.rss_mb())
    lenet_data = server.dataset(gray, 28, 1)
    lenet = server.model(lenet_data, method='standard', standard_networks='lenet',
                         train_epochs=30, batch_size=8)
    latencies = sse_latency(server, lenet)
    print('log line -> SSE event: median %.1f ms, max %.1f ms over %d curve points'
          % (1e3 * statistics.median(latencies), 1e3 * max(latencies), len(latencies)))
    caffenet_data = server.dataset(color, 256, 3)
    caffenet = server.model(caffenet_data, method='custom',
                            custom_network=caffenet_all_in_one(), batch_size=3)
    server.finished(caffenet)
    classify_latency(server, 'LeNet', lenet, lenet_data, os.path.join(gray, '1', '00.png'), 1,
                     requests)
    classify_latency(server, 'CaffeNet', caffenet, caffenet_data,
                     os.path.join(color, '1', '00.png'), 3, requests)
    time.sleep(2)
    print('idle server RSS after the jobs (2 classifiers loaded): %.1f MB' % server.rss_mb())


if __name__ == '__main__':
    main()
