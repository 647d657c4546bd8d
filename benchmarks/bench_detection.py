"""Issue 12's measurements, caffelite beside its peer in one run, alternating:

1. sliding window: ``caffelite detect``'s batched classification of every
   256x256 square of a 1024x768 image against the course's loop (one
   ``Classifier.predict`` per square, as the course calls it: oversampled
   10 crops; and with oversample=False), on a 2-class CaffeNet (random
   weights: only the time matters);
2. DetectNet (model_zoo/detectnet, GoogLeNet trunk) forward at 1248x384,
   batch 1, up to its coverage and bbox maps, against the same net in
   PyTorch (torch_peer.py); the clustering Python layer timed apart.

Usage: python benchmarks/bench_detection.py [--repeats 3]
"""
import argparse
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from caffelite.detection.sliding_window import WindowClassifier  # noqa: E402
from caffelite.surgery import EditableNet  # noqa: E402
from harness import compare, environment, report  # noqa: E402


def two_class_caffenet(folder):
    """(deploy path, weights path) of CaffeNet with a 2-way fc8 and random
    weights, batch 1 like a DIGITS deploy file."""
    edit = EditableNet(str(ROOT / 'model_zoo' / 'caffenet' / 'deploy.prototxt'))
    edit.layer('data').input_param.shape[0].dim[0] = 1
    edit.layer('fc8').inner_product_param.num_output = 2
    deploy = os.path.join(folder, 'deploy.prototxt')
    edit.save(deploy)
    net = caffe.Net(deploy, caffe.TEST)
    rng = np.random.RandomState(0)
    for blobs in net.params.values():
        for blob in blobs:
            blob.data[...] = rng.standard_normal(blob.shape) * 0.01
    weights = os.path.join(folder, 'weights.caffemodel')
    net.save(weights)
    return deploy, weights


def bench_sliding_window(folder, repeats):
    deploy, weights = two_class_caffenet(folder)
    image = np.random.RandomState(1).rand(768, 1024, 3).astype(np.float32)
    mean = np.full((256, 256, 3), 0.5, np.float32)
    size = 256
    batched = WindowClassifier(deploy, weights, batch_size=12)
    classifier = caffe.Classifier(deploy, weights, channel_swap=(2, 1, 0), raw_scale=255)

    def course(oversample):
        def loop():
            for i in range(image.shape[0] // size):
                for j in range(image.shape[1] // size):
                    square = image[i * size:(i + 1) * size, j * size:(j + 1) * size]
                    classifier.predict([square - mean], oversample=oversample).argmax()
        return loop

    batched.mean = ('image', mean)
    times = compare([('batched (caffelite detect)', lambda: batched.classify(image, size)),
                     ('course loop, predict()', course(True)),
                     ('loop, oversample=False', course(False))], repeats)
    report('sliding window: 12 squares of 256x256 in a 1024x768 image, CaffeNet 2-class',
           times, 12, 'windows')


def bench_detectnet(repeats):
    import torch
    from torch_peer import TorchPeer
    net = caffe.Net(str(ROOT / 'model_zoo' / 'detectnet' / 'deploy.prototxt'), caffe.TEST)
    x = np.random.RandomState(0).uniform(0, 255, net.blobs['data'].shape).astype(np.float32)
    net.blobs['data'].data[...] = x
    peer = TorchPeer(net).eval()
    tx = torch.from_numpy(x.copy())

    last = net.layer_index('bbox/regressor')

    def ours():
        net._forward(0, last)

    def theirs():
        with torch.no_grad():
            peer(data=tx)

    times = compare([('caffelite', ours), ('PyTorch', theirs)], repeats)
    report('DetectNet forward, 1x3x384x1248, up to coverage and bboxes', times, 1, 'images')
    cluster = net.layer_dict['cluster']
    bottom = [net.blobs['coverage'], net.blobs['bboxes']]
    start = time.perf_counter()
    cluster.forward(bottom, [net.blobs['bbox-list']])
    print('  ClusterDetections (Python layer, host): %.1f ms' % (1e3 * (time.perf_counter()
                                                                    - start)))


def main():
    import tempfile
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--only', choices=('sliding', 'detectnet'), default=None)
    args = parser.parse_args()
    print(environment())
    print('load average %.2f %.2f %.2f' % os.getloadavg())
    if args.only != 'detectnet':
        with tempfile.TemporaryDirectory() as folder:
            bench_sliding_window(folder, args.repeats)
        print('load average %.2f %.2f %.2f' % os.getloadavg())
    if args.only != 'sliding':
        bench_detectnet(args.repeats)
        print('load average %.2f %.2f %.2f' % os.getloadavg())


if __name__ == '__main__':
    main()
