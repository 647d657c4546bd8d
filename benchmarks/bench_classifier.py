"""Issue 4 target: images/second of Classifier.predict on CaffeNet-sized
input (batch 10, 227x227 crops of 256x256 images), oversample on and off,
beside OpenCV's cv2.dnn running the same prototxt and weights, alternating
in one run. Target: caffelite at least as fast as cv2.dnn with oversample off.

The CaffeNet weights are synthetic (the zoo file is 233 MB and the machine
is offline): timing does not depend on the values.

Needs OpenCV 4 (pip install "opencv-python-headless<5"): OpenCV 5 dropped the Caffe importer.

Usage: python benchmarks/bench_classifier.py [--repeats 5]
"""
import argparse
import pathlib
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'benchmarks'))

import caffelite as caffe  # noqa: E402
from harness import compare, environment, report  # noqa: E402


def make_weights(prototxt, folder):
    net = caffe.Net(prototxt, caffe.TEST)
    rng = np.random.RandomState(0)
    for blobs in net.params.values():
        for blob in blobs:
            blob.data[...] = rng.randn(*blob.shape).astype(np.float32) * 0.01
    path = str(pathlib.Path(folder) / 'caffenet_synthetic.caffemodel')
    net.save(path)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=5)
    args = parser.parse_args()
    import cv2
    print(environment())
    print('OpenCV %s' % cv2.__version__)
    prototxt = str(ROOT / 'model_zoo' / 'caffenet' / 'deploy.prototxt')
    with tempfile.TemporaryDirectory() as tmp:
        weights = make_weights(prototxt, tmp)
        clf = caffe.Classifier(prototxt, weights, image_dims=(256, 256), raw_scale=255,
                               channel_swap=(2, 1, 0), mean=np.array([104., 117., 123.]))
        dnn = cv2.dnn.readNetFromCaffe(prototxt, weights)
    rng = np.random.RandomState(1)
    images = [rng.rand(256, 256, 3).astype(np.float32) for _ in range(10)]
    blob = cv2.dnn.blobFromImages([np.uint8(im * 255) for im in images], 1.0, (227, 227),
                                  (104, 117, 123), swapRB=True, crop=True)

    def opencv():
        dnn.setInput(blob)
        dnn.forward()

    for oversample in (False, True):
        crops = 10 if oversample else 1
        times = compare([('caffelite predict', lambda: clf.predict(images, oversample)),
                         ('cv2.dnn (1 crop each)', opencv)], args.repeats)
        report('Classifier.predict, batch 10, oversample=%s (%d crops/image)'
               % (oversample, crops), times, unit_count=10, unit='images')


if __name__ == '__main__':
    main()
