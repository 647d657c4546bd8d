"""DetectNet's augmentation geometry and colour against OpenCV's functions,
which NVIDIA's layer calls."""
import numpy as np
import pytest

from caffelite.detection import augment
from caffelite.proto import caffe_pb2

cv2 = pytest.importorskip('cv2')


@pytest.mark.parametrize('degrees', [7.5, -33.0, 90.0])
def test_rotation_geometry_is_opencvs(degrees):
    rect = cv2.RotatedRect((64.0, 32.0), (128.0, 64.0), degrees)
    corners = augment._corners((64.0, 32.0), (128.0, 64.0), degrees)
    np.testing.assert_allclose(corners, np.array(rect.points()), atol=1e-4)
    assert augment._bounding_rect(corners) == tuple(rect.boundingRect())
    # the matrix maps the upright corners onto the rotated, shifted ones
    upright = augment._corners((64.0, 32.0), (128.0, 64.0), 0)
    x0, y0 = augment._bounding_rect(corners)[:2]
    shifted = augment._corners((64.0 - x0, 32.0 - y0), (128.0, 64.0), degrees)
    want = cv2.getAffineTransform(upright[:3].astype(np.float32), shifted[:3].astype(np.float32))
    np.testing.assert_allclose(augment.rotation_matrix((128, 64), degrees), want, atol=1e-4)


@pytest.mark.parametrize('degrees', [10.0, -3.3, 45.0, -170.0])
def test_rotate_image_matches_warp_affine_transparent(degrees):
    if int(cv2.__version__.split('.')[0]) >= 5:
        pytest.skip('OpenCV 5 samples float images at exact positions; NVIDIA Caffe ran on '
                    'OpenCV 2-4, whose fixed-point warpAffine this follows')
    img = np.random.RandomState(0).uniform(1, 2, (20, 30, 3)).astype(np.float32)
    w, h = augment.rotated_size((30, 20), degrees)
    want = cv2.warpAffine(img, augment.rotation_matrix((30, 20), degrees), (w, h),
                          dst=np.zeros((h, w, 3), np.float32), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_TRANSPARENT)
    got = augment.rotate_image(img, degrees)
    np.testing.assert_array_equal(got[..., 0] > 0, want[..., 0] > 0)
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_hsv_round_trip_is_opencvs():
    img = np.random.RandomState(1).rand(16, 16, 3).astype(np.float32)
    hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    np.testing.assert_allclose(augment.bgr_to_hsv(img), hsv, atol=1e-3)
    hsv[..., 0] += 250.0          # past 360: wraps around
    hsv[..., 1] *= 0.4
    np.testing.assert_allclose(augment.hsv_to_bgr(hsv), cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR),
                               atol=1e-5)


def test_boxes_follow_flip_scale_rotation_and_crop():
    rows = np.zeros((1, 16), np.float32)
    rows[0, :4] = (10, 20, 30, 40)
    aug = augment.Augmentation(0.0, 1.0, True, (200, 100), 0.0, (5, -3))
    moved = augment.apply_to_boxes(rows, aug, (100, 50))
    # flip: x = 100 - 10 - 30 - 1 = 59; scale x2; crop shifts by (5, -3)
    assert moved[0, :4].tolist() == [59 * 2 - 5, 20 * 2 + 3, 60, 80]
    aug = augment.Augmentation(0.0, 1.0, False, (100, 50), 30.0, (0, 0))
    moved = augment.apply_to_boxes(rows, aug, (100, 50))
    centre = augment.rotation_matrix((100, 50), 30.0) @ np.array([25, 40, 1.0])
    np.testing.assert_allclose(moved[0, :2] + moved[0, 2:4] / 2, centre, atol=1e-4)
    np.testing.assert_allclose(moved[0, 2:4], [30, 40])


def test_draw_follows_the_probabilities_and_crop_rule():
    param = caffe_pb2.DetectNetAugmentationParameter(
        crop_prob=1, shift_x=32, shift_y=16, scale_prob=0, flip_prob=0, rotation_prob=0,
        hue_rotation_prob=0, desaturation_prob=0)
    rng = np.random.RandomState(3)
    aug = augment.draw(rng, param, (300, 120), (256, 96), train=True)
    assert (aug.hue, aug.saturation, aug.flip, aug.scale, aug.rotation) == (
        0.0, 1.0, False, (300, 120), 0.0)
    # offset = round(u * (size - out + shift) - shift / 2), u drawn after the
    # five probability draws and the crop draw
    draws = np.random.RandomState(3).random_sample(8)
    assert aug.offset == (round(draws[6] * (300 - 256 + 32) - 16),
                          round(draws[7] * (120 - 96 + 16) - 8))
    test = augment.draw(rng, param, (300, 120), (256, 96), train=False)
    assert test.scale == (256, 96) and test.offset == (0, 0)
