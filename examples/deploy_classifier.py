"""The course's deployment code, verbatim but for the import and two
generalizations: images are loaded in color or gray as the net takes them
(the course's nets take color images, the demo's LeNet gray digits), and
the input is resized to the dataset's size, the size of its mean image
(256 x 256 in the course, 28 x 28 in the demo).

usage: python deploy_classifier.py MODEL_JOB_DIR DATA_JOB_DIR IMAGE
(MODEL_JOB_DIR holds deploy.prototxt and the snapshot_iter_N.caffemodel
files, or a sub-folder of snapshots; DATA_JOB_DIR holds mean.jpg. After
``caffelite demo``: caffelite-demo/model caffelite-demo/dataset IMAGE)
"""
import sys

import caffelite as caffe
from caffelite.job_classifier import input_shape
from caffelite.model_folder import latest_snapshot


def resize(image, size):
    """cv2.resize when OpenCV is installed (keeping a 1-channel image's
    channel axis, which OpenCV drops), else caffe.io.resize_image."""
    try:
        import cv2
        resized = cv2.resize(image, size, 0, 0)
        return resized.reshape(resized.shape[:2] + image.shape[2:])
    except ImportError:
        return caffe.io.resize_image(image, size[::-1])


def main(model_job_dir, data_job_dir, image_path):
    ARCHITECTURE = model_job_dir + '/deploy.prototxt'
    WEIGHTS = latest_snapshot(model_job_dir)
    DATA_JOB_DIR = data_job_dir
    IMAGE_PATH = image_path
    COLOR = input_shape(ARCHITECTURE)[1] == 3

    net = caffe.Classifier(ARCHITECTURE, WEIGHTS, channel_swap=(2, 1, 0) if COLOR else None,
                           raw_scale=255)
    input_image = caffe.io.load_image(IMAGE_PATH, color=COLOR)
    mean_image = caffe.io.load_image(DATA_JOB_DIR + '/mean.jpg', color=COLOR)
    input_image = resize(input_image, mean_image.shape[1::-1])
    ready_image = input_image - mean_image
    prediction = net.predict([ready_image])
    print(prediction.argmax())
    return prediction


if __name__ == '__main__':
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:4])
