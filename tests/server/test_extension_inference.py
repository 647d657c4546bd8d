"""DIGITS' extension inference of a feature at its own size: a fully
convolutional net is reshaped to the image, a net with an InnerProduct
after its convolutions is refused in one line naming that layer."""
import numpy as np
import pytest
from starlette.exceptions import HTTPException

from caffelite.codec import array_to_blobproto
from caffelite.job_classifier import JobClassifier
from caffelite.net import TEST, Net
from caffelite.server.extension_inference import own_size_outputs

CONV = '''
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 8 dim: 8 } } }
layer { name: "score" type: "Convolution" bottom: "data" top: "score"
        convolution_param { num_output: 2 kernel_size: 3 pad: 1
                            weight_filler { type: "gaussian" std: 0.1 } } }
'''
FC = CONV + '''
layer { name: "fc" type: "InnerProduct" bottom: "score" top: "fc"
        inner_product_param { num_output: 4 weight_filler { type: "gaussian" std: 0.1 } } }
'''


def classifier(tmp_path, text, mean=None):
    """A JobClassifier of deploy ``text`` with its filler's weights,
    subtracting a 1 x 8 x 8 ``mean`` image."""
    deploy = tmp_path / 'deploy.prototxt'
    deploy.write_text(text)
    weights = str(tmp_path / 'weights.caffemodel')
    Net(str(deploy), TEST).save(weights)
    if mean is None:
        return JobClassifier(str(deploy), weights, use_mean='none')
    (tmp_path / 'mean.binaryproto').write_bytes(
        array_to_blobproto(mean.reshape(1, 1, 8, 8)).SerializeToString())
    return JobClassifier(str(deploy), weights, str(tmp_path / 'mean.binaryproto'),
                         use_mean='image')


def convolved(net, picture):
    """2 x H x W: the net's 3 x 3 'score' convolution (pad 1) of H x W ``picture``."""
    weights, bias = net.params['score'][0].data, net.params['score'][1].data
    height, width = picture.shape
    padded = np.pad(picture, 1)
    return sum(weights[:, 0, dy, dx, None, None] * padded[None, dy:dy + height, dx:dx + width]
               for dy in range(3) for dx in range(3)) + bias[:, None, None]


def test_fully_convolutional_net_reshaped_to_the_image(tmp_path):
    model = classifier(tmp_path, CONV)
    feature = np.arange(10 * 12, dtype=np.float32).reshape(10, 12, 1)
    scores = own_size_outputs(model, feature)['score']
    assert scores.shape == (1, 2, 10, 12)
    np.testing.assert_allclose(scores[0], convolved(model.net, feature[:, :, 0]),
                               rtol=1e-5, atol=1e-4)
    # a picture at the net's size still goes through the resizing path
    assert model.outputs([feature[:8, :8]])['score'].shape == (1, 2, 8, 8)
    # a mean image is resized to the image, as DIGITS' transformer does
    with_mean = classifier(tmp_path, CONV, np.full((8, 8), 7.0))
    np.testing.assert_allclose(own_size_outputs(with_mean, feature + 7)['score'][0],
                               convolved(with_mean.net, feature[:, :, 0]), rtol=1e-5, atol=1e-4)


def test_inner_product_net_refused_naming_the_layer(tmp_path):
    model = classifier(tmp_path, FC)
    with pytest.raises(HTTPException) as raised:
        own_size_outputs(model, np.zeros((10, 12, 1), np.float32))
    assert raised.value.status_code == 400
    message = raised.value.detail
    assert '\n' not in message and "the 10 x 12 image" in message
    assert "layer 'fc' (InnerProduct)" in message
    # the net still answers at its own size afterwards
    assert model.outputs([np.zeros((8, 8, 1), np.float32)])['fc'].shape == (1, 4)
