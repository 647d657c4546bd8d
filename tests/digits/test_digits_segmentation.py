"""DIGITS' image-segmentation view: the class map of C x H x W scores, its
colours, legend and the distance of each class pixel to its boundary."""
import numpy as np
import pytest

from caffelite.digits import segmentation
from caffelite.errors import CaffeError


def scores_of(classes, count):
    """C x H x W scores whose argmax is ``classes``."""
    return np.stack([(classes == c).astype(np.float32) for c in range(count)])


def test_class_map_legend_and_colours():
    classes = np.zeros((6, 7), np.uint8)
    classes[1:5, 1:6] = 1
    view = segmentation.segmentation_view(scores_of(classes, 2), 'dataset',
                                          segmentation.SUNNYBROOK_PALETTE,
                                          segmentation.SUNNYBROOK_LABELS)
    np.testing.assert_array_equal(view['classes'], classes)
    assert view['colours'] == ['#000000', '#ffffff'] and view['is_binary']
    assert view['legend'] == [{'index': 1, 'hex_color': '#ffffff', 'text': 'left ventricle'}]
    # 4 x 5 block: its border 1, the next ring 2, background 0
    assert view['distance'][1].tolist() == [0, 1, 1, 1, 1, 1, 0]
    assert view['distance'][2].tolist() == [0, 1, 2, 2, 2, 1, 0]
    view = segmentation.segmentation_view(scores_of(classes * 2, 3), 'paired')
    assert view['legend'] == [{'index': 2, 'hex_color': '#b2df8a', 'text': 'Class #2'}]
    assert segmentation.segmentation_view(scores_of(classes, 2), 'none')['colours'] == [
        '#000000', '#010101']


def test_view_errors():
    with pytest.raises(CaffeError, match='No palette found in dataset'):
        segmentation.segmentation_view(np.zeros((2, 3, 3)), 'dataset')
    with pytest.raises(CaffeError, match="colormap must be one of .*'jet'"):
        segmentation.segmentation_view(np.zeros((2, 3, 3)), 'jet')
    with pytest.raises(CaffeError, match=r'C x H x W output, this one has shape \(2, 3\)'):
        segmentation.class_map(np.zeros((2, 3)))


def test_display_image_as_digits_shows_it():
    wide = np.arange(0, 1020, 4).reshape(15, 17, 1) + 1000
    shown = segmentation.display_image(wide)
    assert shown.shape == (15, 17) and shown.min() == 0 and shown.max() == 255
    np.testing.assert_array_equal(segmentation.display_image(np.array([[-3, 7]])), [[0, 10]])
