"""pycaffe deployment helpers: Detector windows with context padding and
coord_map crop offsets for FCNs (the draw module: test_draw.py)."""
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite import coord_map
from caffelite import layers as L, params as P

NET = '''layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 8 dim: 8 } } }
layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: AVE global_pooling: true } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 2 } }
layer { name: "prob" type: "Softmax" bottom: "fc" top: "prob" }
'''


@pytest.fixture
def model(tmp_path):
    path = tmp_path / 'net.prototxt'
    path.write_text(NET)
    net = caffe.Net(str(path), caffe.TEST)
    net.params['fc'][0].data[...] = [[-1, -1, -1], [1, 1, 1]]
    net.params['fc'][1].data[...] = 0
    weights = str(tmp_path / 'w.caffemodel')
    net.save(weights)
    return str(path), weights


def test_detector_windows_and_context(model, tmp_path):
    image = np.zeros((40, 60, 3), np.uint8)
    image[:20, :30] = 255
    Image.fromarray(image).save(tmp_path / 'scene.png')
    det = caffe.Detector(*model, mean=np.array([0.5, 0.5, 0.5]), raw_scale=1,
                         channel_swap=(2, 1, 0))
    windows = [(0, 0, 20, 30), (20, 30, 40, 60)]
    out = det.detect_windows([(str(tmp_path / 'scene.png'), windows)])
    assert [d['prediction'].argmax() for d in out] == [1, 0]
    assert out[0]['window'] == windows[0] and out[1]['filename'].endswith('scene.png')
    padded = caffe.Detector(*model, mean=np.array([0.5, 0.5, 0.5]), context_pad=2)
    crop = padded.crop(caffe.io.load_image(str(tmp_path / 'scene.png')), np.array(windows[0]))
    assert crop.shape == (8, 8, 3)


def fcn():
    n = caffe.NetSpec()
    n.data = L.Input(shape=dict(dim=[1, 3, 32, 32]))
    n.conv = L.Convolution(n.data, kernel_size=3, pad=10, num_output=4)
    n.pool = L.Pooling(n.conv, kernel_size=2, stride=2, pool=P.Pooling.MAX)
    n.up = L.Deconvolution(n.pool, convolution_param=dict(kernel_size=4, stride=2,
                                                          num_output=4))
    n.score = coord_map.crop(n.up, n.data)
    return n


def test_coord_map_crop_aligns_the_upsampled_map():
    n = fcn()
    proto = n.to_proto()
    crop = proto.layer[-1]
    assert crop.type == 'Crop' and crop.crop_param.axis == 2
    net = caffe.Net(proto, caffe.TEST)
    assert net.blobs['score'].shape[2:] == (32, 32)
    ax, a, b = coord_map.coord_map_from_to(n.up, n.data)
    assert ax == 1 and np.all(a == 1) and np.all(-b == crop.crop_param.offset[0])
