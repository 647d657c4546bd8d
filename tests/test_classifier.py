"""pycaffe's Classifier and caffe.io refuse what they cannot use with a
TypeError/ValueError that says what was expected (before: numpy's own
messages, or a silently wrong result)."""
import numpy as np
import pytest

import caffelite as caffe

DEPLOY = '''name: "rgb"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 2 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
'''


@pytest.fixture
def classifier(tmp_path):
    deploy = tmp_path / 'deploy.prototxt'
    deploy.write_text(DEPLOY)
    weights = tmp_path / 'w.caffemodel'
    caffe.Net(str(deploy), caffe.TEST).save(str(weights))
    return caffe.Classifier(str(deploy), str(weights), channel_swap=(2, 1, 0), raw_scale=255)


@pytest.mark.parametrize('image, expected', [
    (np.zeros((8, 8), np.float32), 'image 0 is a gray H x W image, but the net takes 3-channel'),
    (np.zeros((8, 8, 1), np.float32), r'image 0 is an H x W x 1 image, but the net takes 3-channel'),
])
def test_gray_image_to_rgb_classifier(classifier, image, expected):
    with pytest.raises(ValueError, match=expected):
        classifier.predict([image])


def test_predict_wants_a_list(classifier):
    image = np.zeros((8, 8, 3), np.float32)
    with pytest.raises(TypeError, match=r'got one array of shape \(8, 8, 3\): pass \[image\]'):
        classifier.predict(image)
    with pytest.raises(TypeError, match='list of H x W x K images'):
        classifier.predict(5)
    assert classifier.predict([image], oversample=False).shape == (1, 2)
    assert classifier.predict(np.stack([image, image])).shape == (2, 2)


def test_image_dims_are_kept_as_given(tmp_path, classifier):
    # pycaffe stores image_dims as passed (a tuple prints as one), and the
    # crop size (an array) when none is given.
    weights = str(tmp_path / 'w.caffemodel')
    sized = caffe.Classifier(str(tmp_path / 'deploy.prototxt'), weights, image_dims=(10, 12))
    assert sized.image_dims == (10, 12) and isinstance(sized.image_dims, tuple)
    assert sized.predict([np.zeros((20, 20, 3), np.float32)]).shape == (1, 2)
    assert isinstance(classifier.image_dims, np.ndarray) and list(classifier.image_dims) == [8, 8]


def test_resize_image_sizes():
    image = np.zeros((5, 5, 3), np.float32)
    with pytest.raises(ValueError, match=r'new_dims must be \(height, width\), both at least 1'):
        caffe.io.resize_image(image, (0, 0))
    with pytest.raises(ValueError, match='add a channel axis'):
        caffe.io.resize_image(np.zeros((5, 5), np.float32), (3, 3))
    assert caffe.io.resize_image(image, (2, 3)).shape == (2, 3, 3)
