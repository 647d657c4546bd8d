"""DIGITS' image-segmentation view: the class map of C x H x W scores, its
colours, legend and the distance of each class pixel to its boundary."""
import numpy as np
import pytest

from caffelite.digits import segmentation
from caffelite.errors import CaffeError


def scores_of(classes, count):
    """C x H x W scores whose argmax is ``classes``."""
    return np.stack([(classes == c).astype(np.float32) for c in range(count)])


def test_class_map_legend_and_segment_values():
    classes = np.zeros((6, 7), np.uint8)
    classes[1:5, 1:6] = 1
    view = segmentation.segmentation_view(scores_of(classes, 2), 'dataset',
                                          segmentation.SUNNYBROOK_PALETTE,
                                          segmentation.SUNNYBROOK_LABELS)
    np.testing.assert_array_equal(view['classes'], classes)
    assert view['colours'] == ['#000000', '#ffffff'] and view['is_binary']
    assert view['legend'] == [{'index': 1, 'hex_color': '#ffffff', 'text': 'left ventricle'}]
    # 128 + the signed distance to the boundary halfway between pixels,
    # truncated: the block's edge 128.5, its next ring 129.5, the pixels
    # beside it 127.5, the corners 128.5 - sqrt(2); the image border is no boundary
    assert view['segment'][0].tolist() == [127] * 7
    assert view['segment'][1].tolist() == [127, 128, 128, 128, 128, 128, 127]
    assert view['segment'][2].tolist() == [127, 128, 129, 129, 129, 128, 127]
    assert segmentation.segmentation_view(scores_of(classes, 2), 'none')['colours'] == [
        '#000000', '#010101']
    # far from any class the value bottoms out at 1; a class touching the
    # border measures its depth to its real boundary only
    wide = np.zeros((1, 200), np.uint8)
    wide[0, :140] = 1
    values = segmentation.segment_values(wide)[0]
    assert values[0] == 255 and values[139] == 128 and values[140] == 127 and values[-1] == 68
    assert segmentation.segment_values(np.zeros((40, 40), np.uint8)).max() == 0
    assert segmentation.segment_values(np.ones((2, 2), np.uint8)).tolist() == [[255, 255]] * 2


def digits_paired(classes):
    """DIGITS' colours of a class map under its 'paired' colormap: one
    ScalarMappable of matplotlib's Paired with no norm, applied to the
    class map (which normalises it to its own min-max), then to each found
    class for the legend. Returns (H x W x 3 fill, {class: legend hex})."""
    import matplotlib
    from matplotlib import cm, colors
    mapper = cm.ScalarMappable(norm=None, cmap=matplotlib.colormaps['Paired'])
    fill = (mapper.to_rgba(classes) * 255).astype(np.uint8)[:, :, :3]
    return fill, {int(c): colors.rgb2hex(mapper.to_rgba([c])[0, :3]) for c in np.unique(classes)}


@pytest.mark.parametrize('count, found', [(2, (0, 1)), (5, (0, 1, 2, 3, 4)), (5, (0, 2))])
def test_paired_colours_as_digits_applies_matplotlib(count, found):
    """A 2-class and a 5-class map: each pixel's colour and each legend
    entry is what DIGITS' ScalarMappable gives (fill truncated to 8 bits,
    so within 1); a 5-class map of only classes 0 and 2 stretches them to
    Paired's first and last colours."""
    classes = np.resize(np.repeat(np.array(found, np.uint8), 3), (6, 8))
    view = segmentation.segmentation_view(scores_of(classes, count), 'paired')
    fill, legend = digits_paired(classes)
    ours = np.array([[int(h[i:i + 2], 16) for i in (1, 3, 5)] for h in view['colours']])
    assert np.abs(ours[classes].astype(int) - fill).max() <= 1
    assert [e['hex_color'] for e in view['legend']] == [legend[c] for c in found if c]
    assert view['class_range'] == (0, max(found))
    assert view['colours'][found[-1]] == '#b15928'          # Paired's last, not colour #found
    # a page of many keeps the first image's range, as DIGITS' one ScalarMappable does
    later = segmentation.segmentation_view(scores_of(classes, count), 'paired',
                                           class_range=(0, 11))
    assert later['colours'][1] == '#1f78b4'


def test_display_options_as_digits_names_them():
    assert segmentation.display_options({}) == {
        'opacity': 0.3, 'mask': 0.0, 'threshold': 0, 'line_width': 3, 'gamma': 1.0}
    assert segmentation.display_options({'threshold': '-20', 'gamma': '0.5'})['threshold'] == -20
    with pytest.raises(CaffeError, match=r"threshold must be an integer from -126 to 127, not '200'"):
        segmentation.display_options({'threshold': '200'})
    with pytest.raises(CaffeError, match=r"opacity must be a number from 0.0 to 1.0, not 'x'"):
        segmentation.display_options({'opacity': 'x'})


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
