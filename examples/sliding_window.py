"""The course's sliding-window detection: slide a 256x256 grid over a large
image and classify each square with a DIGITS-trained model; print a grid of
predicted classes (and which squares hold the class of interest).

usage: python sliding_window.py MODEL_JOB_DIR DATA_JOB_DIR IMAGE [TARGET_CLASS]
"""
import sys

import numpy as np

import caffelite as caffe
from caffelite.job_classifier import latest_snapshot


def detect(model_job_dir, data_job_dir, image_path, target=1, size=256):
    net = caffe.Classifier(model_job_dir + '/deploy.prototxt', latest_snapshot(model_job_dir),
                           channel_swap=(2, 1, 0), raw_scale=255)
    input_image = caffe.io.load_image(image_path)
    mean_image = caffe.io.load_image(data_job_dir + '/mean.jpg')
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
    detect(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]) if len(sys.argv) > 4 else 1)
