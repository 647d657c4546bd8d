"""The course's sliding-window detection: slide a grid of squares (256 x
256 in the course, the dataset's image size by default) over a large image
and classify each square with a DIGITS-trained model; print a grid of
predicted classes (and which squares hold the class of interest). Images
are loaded in color or gray as the net takes them (the demo's LeNet reads
gray digits).

usage: python sliding_window.py MODEL_JOB_DIR DATA_JOB_DIR IMAGE [TARGET_CLASS]
(after ``caffelite demo``: caffelite-demo/model caffelite-demo/dataset IMAGE,
IMAGE a mosaic of 28 x 28 digits)
"""
import sys

import numpy as np

import caffelite as caffe
from caffelite.job_classifier import input_shape
from caffelite.model_folder import latest_snapshot


def detect(model_job_dir, data_job_dir, image_path, target=1, size=None):
    deploy = model_job_dir + '/deploy.prototxt'
    color = input_shape(deploy)[1] == 3
    net = caffe.Classifier(deploy, latest_snapshot(model_job_dir),
                           channel_swap=(2, 1, 0) if color else None, raw_scale=255)
    input_image = caffe.io.load_image(image_path, color=color)
    mean_image = caffe.io.load_image(data_job_dir + '/mean.jpg', color=color)
    size = size or mean_image.shape[0]
    if mean_image.shape[:2] != (size, size):
        mean_image = caffe.io.resize_image(mean_image, (size, size))
    rows, cols = input_image.shape[0] // size, input_image.shape[1] // size
    detections = np.zeros((rows, cols), int)
    for i in range(rows):
        for j in range(cols):
            grid_square = input_image[i * size:(i + 1) * size, j * size:(j + 1) * size]
            ready_image = grid_square - mean_image
            prediction = net.predict([ready_image])
            detections[i, j] = prediction.argmax()
    print(detections)
    print('squares with class %d: %d of %d' % (target, (detections == target).sum(),
                                               detections.size))
    return detections


if __name__ == '__main__':
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    detect(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
