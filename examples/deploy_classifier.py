"""The course's deployment code, verbatim but for the import: classify one
image with a DIGITS-trained model and its dataset's mean image.

usage: python deploy_classifier.py MODEL_JOB_DIR DATA_JOB_DIR IMAGE
(MODEL_JOB_DIR holds deploy.prototxt and snapshot_iter_N.caffemodel;
DATA_JOB_DIR holds mean.jpg)
"""
import sys

import caffelite as caffe
from caffelite.job_classifier import latest_snapshot


def resize(image, size):
    """cv2.resize when OpenCV is installed, else caffe.io.resize_image."""
    try:
        import cv2
        return cv2.resize(image, size, 0, 0)
    except ImportError:
        return caffe.io.resize_image(image, size[::-1])


def main(model_job_dir, data_job_dir, image_path):
    ARCHITECTURE = model_job_dir + '/deploy.prototxt'
    WEIGHTS = latest_snapshot(model_job_dir)
    DATA_JOB_DIR = data_job_dir
    IMAGE_PATH = image_path

    net = caffe.Classifier(ARCHITECTURE, WEIGHTS, channel_swap=(2, 1, 0), raw_scale=255)
    input_image = caffe.io.load_image(IMAGE_PATH)
    input_image = resize(input_image, (256, 256))
    mean_image = caffe.io.load_image(DATA_JOB_DIR + '/mean.jpg')
    ready_image = input_image - mean_image
    prediction = net.predict([ready_image])
    print(prediction.argmax())
    return prediction


if __name__ == '__main__':
    main(*sys.argv[1:4])
