"""pycaffe's Detector (caffelite/detector.py): windows with context
padding, and detection over selective-search proposals."""
import numpy as np
import pytest
from PIL import Image

import caffelite as caffe

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


def test_detect_selective_search_classifies_the_proposals(model, tmp_path):
    pytest.importorskip('skimage', reason='selective search segments with scikit-image')
    from test_selective_search import OBJECTS, iou, scene
    Image.fromarray((scene() * 255).astype(np.uint8)).save(tmp_path / 'scene.png')
    det = caffe.Detector(*model, raw_scale=1)
    out = det.detect_selective_search([str(tmp_path / 'scene.png')])
    windows = np.array([d['window'] for d in out])
    for obj in OBJECTS:
        assert iou(obj, windows).max() > 0.7, obj
    assert {d['filename'] for d in out} == {str(tmp_path / 'scene.png')}
    assert all(d['prediction'].shape == (2,) for d in out)
    # each prediction is the net's output on that window's crop
    first = det.detect_windows([(str(tmp_path / 'scene.png'), [windows[0]])])[0]
    np.testing.assert_allclose(out[0]['prediction'], first['prediction'], rtol=1e-6)
