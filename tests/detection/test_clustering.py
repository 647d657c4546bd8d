"""groupRectangles in NumPy against OpenCV's, and DetectNet's clustering and
scoring Python layers run the way a DetectNet prototxt names them."""
import numpy as np
import pytest

import caffelite as caffe
from caffelite.detection import grouping



@pytest.fixture
def opencv_group_rectangles():
    cv2 = pytest.importorskip('cv2')
    if not hasattr(cv2, 'groupRectangles'):
        # OpenCV 5.0 took groupRectangles out of its main wheel, with the
        # cascade detectors; setup.py's test extra installs OpenCV 4.
        pytest.skip('OpenCV %s has no groupRectangles' % cv2.__version__)
    return cv2.groupRectangles


def clustered_rects(rng, n):
    """``n`` jittered copies of a few random rectangles (x, y, w, h)."""
    base = rng.randint(0, 300, (rng.randint(1, 7), 4))
    base[:, 2:] += 8
    rects = base[rng.randint(0, len(base), n)] + rng.randint(-5, 6, (n, 4))
    rects[:, 2:] = np.maximum(rects[:, 2:], 1)
    return rects


@pytest.mark.parametrize('seed', range(4))
def test_group_rectangles_equals_opencv_on_random_cases(seed, opencv_group_rectangles):
    rng = np.random.RandomState(seed)
    for _ in range(60):
        rects = clustered_rects(rng, rng.randint(0, 80))
        threshold = int(rng.randint(0, 5))
        eps = float(rng.choice([0.02, 0.05, 0.2, 0.5, 1.0]))
        want_rects, want_weights = opencv_group_rectangles(rects.tolist(), threshold, eps)
        got_rects, got_weights = grouping.group_rectangles(rects, threshold, eps)
        np.testing.assert_array_equal(got_rects, np.reshape(want_rects, (-1, 4)))
        np.testing.assert_array_equal(got_weights, np.reshape(want_weights, (-1,)))


def test_float_rectangles_are_truncated_as_the_old_bindings_did(opencv_group_rectangles):
    rng = np.random.RandomState(7)
    rects = clustered_rects(rng, 40) + rng.uniform(-0.99, 0.99, (40, 4))
    rects[:, 2:] = np.abs(rects[:, 2:]) + 1
    want = opencv_group_rectangles(np.trunc(rects).astype(int).tolist(), 2, 0.2)
    got = grouping.group_rectangles(rects, 2, 0.2)
    np.testing.assert_array_equal(got[0], np.reshape(want[0], (-1, 4)))


def test_pycaffe_module_paths():
    from caffelite.layers.detectnet import clustering, mean_ap
    assert caffe.layers.detectnet.clustering.ClusterDetections is clustering.ClusterDetections
    assert caffe.layers.detectnet.mean_ap.mAP is mean_ap.mAP


def test_components_are_numbered_by_first_member():
    adjacency = np.eye(5, dtype=bool)
    for a, b in ((4, 1), (3, 0), (1, 2)):
        adjacency[a, b] = adjacency[b, a] = True
    assert grouping.components(adjacency).tolist() == [0, 1, 1, 0, 1]


def python_layer(module, layer, param_str, bottoms, tops):
    text = ('name: "%s" type: "Python" python_param { module: "%s" layer: "%s" '
            'param_str: "%s" }' % (layer, module, layer, param_str))
    from google.protobuf import text_format
    from caffelite.layers import create_layer
    lay = create_layer(text_format.Parse(text, caffe.proto.caffe_pb2.LayerParameter()))
    blobs = []
    for x in bottoms:
        blobs.append(caffe.Blob(x.shape))
        blobs[-1].data[...] = x
    out = [caffe.Blob() for _ in range(tops)]
    lay.layer_setup(blobs, out)
    lay.layer_forward(blobs, out)
    return [b.data.copy() for b in out]


def test_cluster_detections_groups_cell_proposals():
    coverage = np.zeros((1, 1, 24, 78), np.float32)
    boxes = np.zeros((1, 4, 24, 78), np.float32)
    # a 64x48 object at (100, 50) proposed by the 3x3 cells around it
    for y in range(3, 6):
        for x in range(6, 9):
            coverage[0, 0, y, x] = 0.9
            boxes[0, :, y, x] = (100 - 16 * x, 50 - 16 * y, 164 - 16 * x, 98 - 16 * y)
    coverage[0, 0, 10, 10] = 0.9                      # a lone cell: too few members
    coverage[0, 0, 23, 40] = 0.9                      # row 23: beyond img_y 352
    (listed,) = python_layer('caffe.layers.detectnet.clustering', 'ClusterDetections',
                             '1248, 352, 16, 0.6, 3, 0.02, 22, 1', [coverage, boxes], 1)
    assert listed.shape == (1, 50, 5)
    np.testing.assert_allclose(listed[0, 0], [100, 50, 164, 98, np.float16(np.log(9))])
    assert not listed[0, 1:].any()


def test_cluster_groundtruth_lists_distinct_boxes():
    coverage = np.zeros((2, 1, 24, 78), np.float32)
    boxes = np.zeros((2, 4, 24, 78), np.float32)
    coverage[0, 0, 1, 1:3] = 1
    boxes[0, :, 1, 1] = (-6, -11, 34, 19)
    boxes[0, :, 1, 2] = (-22, -11, 18, 19)
    (listed,) = python_layer('caffe.layers.detectnet.clustering', 'ClusterGroundtruth',
                             '1248, 352, 16, 1', [coverage, boxes], 1)
    assert listed[0, :2].tolist() == [[10, 5, 50, 35, 0], [0, 0, 0, 0, 0]]
    assert not listed[1].any()


def test_score_detections_and_map():
    truth = np.zeros((1, 50, 5), np.float32)
    found = np.zeros((1, 50, 5), np.float32)
    truth[0, :3, :4] = [[0, 0, 10, 10], [20, 20, 40, 40], [50, 50, 60, 60]]
    # one good match (IoU 0.9 >= 0.7), one poor (IoU 0.5), one stray
    found[0, :3, :4] = [[0, 0, 10, 9], [20, 20, 40, 30], [100, 100, 110, 110]]
    (scored,) = python_layer('caffe.layers.detectnet.mean_ap', 'ScoreDetections', '',
                             [truth, found], 1)
    assert scored[0, :5, 4].tolist() == [1, 2, 2, 3, 3]
    assert scored[0, 0, :4].tolist() == [0, 0, 10, 9]
    avp, precision, recall = python_layer('caffe.layers.detectnet.mean_ap', 'mAP',
                                          '1248, 352, 16', [scored], 3)
    assert precision[0] == pytest.approx(100 / 3) and recall[0] == pytest.approx(100 / 3)
    assert avp[0] == pytest.approx(100 / 9)


def test_bad_param_str_names_the_layer():
    with pytest.raises(caffe.LayerError, match="ClusterDetections.*param_str"):
        python_layer('caffe.layers.detectnet.clustering', 'ClusterDetections', '1248, 352',
                     [np.zeros((1, 1, 24, 78)), np.zeros((1, 4, 24, 78))], 1)
