"""DIGITS' extension inference of a feature at its own size: a fully
convolutional net is reshaped to the image, a net with an InnerProduct
after its convolutions is refused in one line naming that layer."""
import numpy as np
import pytest
from starlette.exceptions import HTTPException

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


def classifier(tmp_path, text):
    """A JobClassifier of deploy ``text`` with its filler's weights."""
    deploy = tmp_path / 'deploy.prototxt'
    deploy.write_text(text)
    weights = str(tmp_path / 'weights.caffemodel')
    Net(str(deploy), TEST).save(weights)
    return JobClassifier(str(deploy), weights, use_mean='none')


def test_fully_convolutional_net_reshaped_to_the_image(tmp_path):
    model = classifier(tmp_path, CONV)
    feature = np.arange(10 * 12, dtype=np.float32).reshape(10, 12, 1)
    scores = own_size_outputs(model, feature)['score']
    assert scores.shape == (1, 2, 10, 12)
    net = model.net
    weights, bias = net.params['score'][0].data, net.params['score'][1].data
    padded = np.pad(feature[:, :, 0], 1)
    expected = sum(weights[:, 0, dy, dx, None, None] * padded[None, dy:dy + 10, dx:dx + 12]
                   for dy in range(3) for dx in range(3)) + bias[:, None, None]
    np.testing.assert_allclose(scores[0], expected, rtol=1e-5, atol=1e-4)
    # a picture at the net's size still goes through the resizing path
    assert model.outputs([feature[:8, :8]])['score'].shape == (1, 2, 8, 8)


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
