"""Sliding-window detection (batched, equal to the course's per-window
loop) and the FCN heatmap, from Python and from the command line."""
import json
import os

import numpy as np
import pytest

import caffelite as caffe
from caffelite.cli import main
from caffelite.detection.sliding_window import WindowClassifier, cell_geometry
from conftest import reference_path

DEPLOY = os.path.join(os.path.dirname(__file__), '..', '..', 'model_zoo', 'lenet',
                      'deploy.prototxt')


@pytest.fixture(scope='module')
def lenet():
    return str(reference_path('weights', 'lenet_iter_10000.caffemodel'))


@pytest.fixture(scope='module')
def tiles(tmp_path_factory):
    """A 3x4 grid of the reference 28x28 digits (84x112), and its labels."""
    from PIL import Image
    root = reference_path('data', 'images')
    picks = [(k % 10, sorted(os.listdir(root / str(k % 10)))[k // 10]) for k in range(12)]
    grid = np.block([[np.asarray(Image.open(root / str(label) / name))
                      for label, name in picks[r * 4:r * 4 + 4]] for r in range(3)])
    path = tmp_path_factory.mktemp('tiles') / 'tiles.png'
    Image.fromarray(grid).save(path)
    return str(path), np.array([label for label, _ in picks]).reshape(3, 4)


def course_loop(deploy, weights, image, size):
    """The course's loop: one Classifier.predict per grid square (with the
    deploy's batch made 1, as the course's deploy files have it)."""
    from caffelite.surgery import EditableNet
    edit = EditableNet(deploy)
    edit.layer('data').input_param.shape[0].dim[0] = 1
    net = caffe.Classifier(edit.param, weights, raw_scale=1.0)
    rows, cols = image.shape[0] // size, image.shape[1] // size
    return np.array([[net.predict([image[i * size:(i + 1) * size, j * size:(j + 1) * size]],
                                  oversample=False)[0] for j in range(cols)]
                     for i in range(rows)])


@pytest.mark.parametrize('scale', [1, 2])
def test_batched_windows_equal_the_course_loop(lenet, tiles, scale):
    path, truth = tiles
    image = caffe.io.load_image(path, color=False)
    if scale != 1:
        image = caffe.io.resize_image(image, (image.shape[0] * scale, image.shape[1] * scale))
    grid = WindowClassifier(DEPLOY, lenet, raw_scale=1.0, batch_size=5).classify(image, 28 * scale)
    want = course_loop(DEPLOY, lenet, image, 28 * scale)
    np.testing.assert_allclose(grid.probs, want, rtol=1e-4, atol=1e-6)
    assert (grid.labels == truth).mean() >= 0.75
    assert grid.boxes[1, 2].tolist() == [56 * scale, 28 * scale, 84 * scale, 56 * scale]


def test_overlapping_windows_and_bad_window(lenet, tiles):
    image = caffe.io.load_image(tiles[0], color=False)
    classifier = WindowClassifier(DEPLOY, lenet, raw_scale=1.0)
    grid = classifier.classify(image, 28, stride=14)
    assert grid.labels.shape == (5, 7)
    with pytest.raises(caffe.CaffeError, match='does not fit'):
        classifier.classify(image, 100)


def test_detect_command_and_fcn_heatmap(lenet, tiles, tmp_path, capsys):
    path, truth = tiles
    out = str(tmp_path / 'out')
    assert main(['detect', '--model', DEPLOY, '--weights', lenet, '--window', '28',
                 '--raw-scale', '1', '--out', out, path]) == 0
    result = json.load(open(os.path.join(out, 'tiles.json')))
    assert (result['rows'], result['cols'], result['window']) == (3, 4, 28)
    assert (np.array(result['labels']) == truth).mean() >= 0.75
    assert os.path.getsize(os.path.join(out, 'tiles.png')) > 0
    fcn = str(tmp_path / 'fcn')
    assert main(['surgery', 'fcn', '--model', DEPLOY, '--weights', lenet, '--out', fcn]) == 0
    assert main(['detect', '--fcn', '--model', fcn + '/deploy.prototxt', '--weights',
                 fcn + '/weights.caffemodel', '--raw-scale', '1', '--out', out, path]) == 0
    heat = json.load(open(os.path.join(out, 'tiles.json')))
    # 84x112 input, 28-pixel window, stride 4: (84 - 28) / 4 + 1 = 15 rows
    assert (heat['rows'], heat['cols'], heat['window'], heat['stride']) == (15, 22, 28, 4)
    # cells on the grid of the 28x28 squares classify as the windows did
    assert np.array(heat['labels'])[::7, ::7].tolist() == result['labels']
    assert len(heat['heatmaps']) == 10
    assert 'heatmap cells' in capsys.readouterr().out


def test_cell_geometry_of_converted_caffenet():
    from caffelite.surgery import to_fully_convolutional
    deploy = os.path.join(os.path.dirname(DEPLOY), '..', 'caffenet', 'deploy.prototxt')
    param, _ = to_fully_convolutional(deploy)
    assert cell_geometry(param.layer) == ((227, 227), (32, 32))
