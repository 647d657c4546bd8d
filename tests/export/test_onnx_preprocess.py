"""Preprocessing baked into an exported model: the graph takes what the
course's Classifier takes (RGB images) and applies pycaffe's Transformer
steps itself."""
import numpy as np
import pytest

from caffelite.classifier import make_transformer
from caffelite.job_classifier import load_mean_for
from caffelite.errors import CaffeError
from caffelite.export import Preprocessing, build_model, check_model, to_onnx
from export_helpers import make_net, run_onnx
from refcases import reference_path

CONV = '''layer { name: "c" type: "Convolution" bottom: "data" top: "c"
    convolution_param { num_output: 4 kernel_size: 3 stride: 2 pad: 1 } }
    layer { name: "ip" type: "InnerProduct" bottom: "c" top: "ip"
    inner_product_param { num_output: 5 } }'''


def rgb_net(size=32):
    return make_net({'data': (2, 3, size, size)}, CONV)


def test_rgb_image_in_like_the_classifier(tmp_path):
    """RGB [0, 1] images, raw_scale 255, RGB->BGR, a mean file: the ONNX
    model on the RGB batch equals caffelite on the Classifier's
    Transformer output."""
    mean_file = str(reference_path('mean', 'ResNet_mean.binaryproto'))
    net = rgb_net()
    mean = load_mean_for(mean_file, (3, 32, 32))
    model = to_onnx(net, tmp_path / 'm.onnx', mean=mean_file, raw_scale=255,
                    channel_swap=(2, 1, 0), check=True)
    images = np.random.RandomState(1).rand(2, 32, 32, 3).astype(np.float32)
    transformer = make_transformer(net, mean, None, 255, (2, 1, 0))
    expected = net.forward(data=np.stack([transformer.preprocess('data', im)
                                          for im in images]))['ip']
    got = run_onnx(model, {'data': images.transpose(0, 3, 1, 2)})['ip']
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_mean_file_is_center_cropped_to_the_input():
    """A mean image larger than the input is cropped at its center, as
    Caffe's data layer and ``caffelite classify`` do."""
    mean_file = str(reference_path('mean', 'ResNet_mean.binaryproto'))
    from caffelite.codec import load_mean
    full = load_mean(mean_file)
    crop = Preprocessing(mean=mean_file).mean_array((1, 3, 32, 32))
    assert np.array_equal(crop, full[:, 96:128, 96:128])


def test_pixel_mean_and_input_scale():
    net = rgb_net(16)
    pre = Preprocessing(mean=[104, 117, 123], input_scale=0.017)
    model = build_model(net, preprocessing=pre, batch='dynamic')
    check_model(model, net, pre)
    x = np.random.RandomState(2).uniform(0, 255, (3, 3, 16, 16)).astype(np.float32)
    with_steps = ((x - np.array([104, 117, 123], np.float32)[:, None, None]) * 0.017)
    net.blobs['data'].reshape(3, 3, 16, 16)
    np.testing.assert_allclose(run_onnx(model, {'data': x})['ip'],
                               net.forward(data=with_steps)['ip'], rtol=1e-4, atol=1e-4)


def test_preprocessing_only_touches_the_named_input():
    net = make_net({'a': (1, 3, 4, 4), 'b': (1, 3, 4, 4)}, '''layer { name: "e"
        type: "Eltwise" bottom: "a" bottom: "b" top: "y" }''')
    pre = Preprocessing(channel_swap=(2, 1, 0), raw_scale=2.0)
    model = build_model(net, preprocessing=pre, input='b')
    check_model(model, net, pre, 'b')
    a = np.random.RandomState(0).randn(1, 3, 4, 4).astype(np.float32)
    b = np.random.RandomState(1).randn(1, 3, 4, 4).astype(np.float32)
    np.testing.assert_allclose(run_onnx(model, {'a': a, 'b': b})['y'], a + 2 * b[:, ::-1],
                               rtol=1e-6)


@pytest.mark.parametrize('options, message', [
    (dict(mean=np.zeros(4)), 'fits neither the channels'),
    (dict(channel_swap=(0, 1)), 'is not an order of the 3 input channels'),
])
def test_preprocessing_that_does_not_fit_is_refused(options, message):
    with pytest.raises(CaffeError, match=message):
        build_model(rgb_net(8), preprocessing=Preprocessing(**options))
