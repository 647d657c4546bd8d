"""caffelite.selective_search: proposals on a synthetic scene with known
objects (coloured rectangles on a noisy background) include a box that
overlaps each object with IoU > 0.7; the grouping's building blocks."""
import numpy as np
import pytest

pytest.importorskip('skimage', reason='selective search segments with scikit-image')
from caffelite import selective_search  # noqa: E402

# (ymin, xmin, ymax, xmax) -> RGB colour
OBJECTS = {(20, 15, 60, 70): (0.9, 0.1, 0.1), (70, 30, 110, 80): (0.1, 0.8, 0.2),
           (25, 100, 95, 145): (0.1, 0.2, 0.9)}


def scene(seed=0):
    rng = np.random.RandomState(seed)
    image = 0.5 + 0.05 * rng.randn(120, 160, 3)
    for (y0, x0, y1, x1), colour in OBJECTS.items():
        image[y0:y1, x0:x1] = np.array(colour) + 0.03 * rng.randn(y1 - y0, x1 - x0, 3)
    return np.clip(image, 0, 1).astype(np.float32)


def iou(a, boxes):
    """IoU of box ``a`` with each row of ``boxes`` (max exclusive)."""
    h = np.clip(np.minimum(a[2], boxes[:, 2]) - np.maximum(a[0], boxes[:, 0]), 0, None)
    w = np.clip(np.minimum(a[3], boxes[:, 3]) - np.maximum(a[1], boxes[:, 1]), 0, None)
    area = lambda b: (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return h * w / (area(np.asarray(a)) + area(boxes) - h * w)


def test_proposals_find_each_object():
    boxes = selective_search.proposals(scene())
    assert boxes.dtype == np.int64 and boxes.shape[1] == 4
    for obj in OBJECTS:
        assert iou(obj, boxes).max() > 0.7, obj
    # inside the image, at least min_box a side, no duplicates
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= 120).all() and (boxes[:, 3] <= 160).all()
    assert ((boxes[:, 2:] - boxes[:, :2]) >= 20).all()
    assert len(np.unique(boxes, axis=0)) == len(boxes)


def test_one_strategy_groups_down_to_the_whole_image():
    image = scene()
    labels = selective_search.segment(image, 100, 0.8)
    count = labels.max() + 1
    boxes = selective_search.hierarchical_grouping(image, labels)
    assert len(boxes) == 2 * count - 1          # every merge adds one region
    np.testing.assert_array_equal(boxes[-1], [0, 0, 120, 160])
    np.testing.assert_array_equal(boxes[:count],
                                  selective_search.bounding_boxes(labels, count))


def test_similarity_prefers_alike_small_regions_that_fill_their_box():
    # Four regions in a 2 x 4 grid of 1 x 1 cells: 0 and 1 alike (dark),
    # 2 and 3 bright; 0 touches 1, 1 touches 2, 2 touches 3.
    image = np.zeros((2, 4, 3))
    image[:, 2:] = 0.9
    labels = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    regions = selective_search.Regions(image, labels)
    alike, unlike = regions.similarity(np.array([0, 1]), np.array([1, 2]))
    assert alike > unlike
    np.testing.assert_allclose(regions.colour.sum(axis=1)[:4], 1)
    merged = regions.merge(0, 1)
    assert regions.size[merged] == 4
    np.testing.assert_array_equal(regions.box[merged], [0, 0, 2, 2])


def test_adjacent_pairs_are_the_touching_labels():
    labels = np.array([[0, 0, 1], [2, 2, 1], [2, 3, 3]])
    pairs = selective_search.adjacent_pairs(labels)
    assert pairs.tolist() == [[0, 1], [0, 2], [1, 2], [1, 3], [2, 3]]
