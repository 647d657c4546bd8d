"""DetectNetTransformation (label encoding, images, augmentation) and L1Loss."""
import numpy as np
import pytest

from caffelite.blob import Blob
from caffelite.errors import CaffeError, LayerError
from caffelite.gradient_check import check_gradient
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2
from google.protobuf import text_format

TRUTH = ('stride: 16 scale_cvg: 0.4 gridbox_type: GRIDBOX_MIN min_cvg_len: 20 '
         'obj_norm: true image_size_x: 128 image_size_y: 64 crop_bboxes: true '
         'object_class { src: 1 dst: 0 } object_class { src: 2 dst: 1 }')


def layer(truth=TRUTH, augmentation='', transform='mean_value: 127', phase=caffe_pb2.TEST):
    text = ('name: "t" type: "DetectNetTransformation" detectnet_groundtruth_param { %s } '
            'detectnet_augmentation_param { %s } transform_param { %s }'
            % (truth, augmentation, transform))
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    param.phase = phase
    return create_layer(param)


def labels(*images, slots=4):
    """DIGITS label blobs: per image a list of (x, y, w, h, class)."""
    out = np.zeros((len(images), 1, slots + 1, 16), np.float32)
    for i, boxes in enumerate(images):
        out[i, 0, 0, :2] = (len(boxes), 16)
        for j, (x, y, w, h, c) in enumerate(boxes):
            out[i, 0, 1 + j, [0, 1, 2, 3, 5]] = (x, y, w, h, c)
    return out


def run(lay, images, label_rows):
    bottom = [Blob(images.shape), Blob(label_rows.shape)]
    bottom[0].data[...] = images
    bottom[1].data[...] = label_rows
    top = [Blob(), Blob()]
    lay.layer_setup(bottom, top)
    lay.layer_forward(bottom, top)
    return top[0].data.copy(), top[1].data.copy()


def test_label_encoding_of_hand_made_boxes():
    images = np.zeros((1, 3, 64, 128), np.float32)
    # a 40x30 car: coverage 20x20 about (30, 20) covers cells x 1-2, y 0-1;
    # a 20x20 van of class 2 at (60, 20): cells x 3-4, y 1-2
    _, out = run(layer(), images, labels([(10, 5, 40, 30, 1), (60, 20, 20, 20, 2)]))
    assert out.shape == (1, 8 + 2, 4, 8)
    car = np.zeros((4, 8), bool)
    car[0:2, 1:3] = True
    van = np.zeros((4, 8), bool)
    van[1:3, 3:5] = True
    np.testing.assert_array_equal(out[0, 0], car | van)
    np.testing.assert_array_equal(out[0, 8], car)
    np.testing.assert_array_equal(out[0, 9], van)
    # corners minus the cell's top-left corner, in pixels
    assert out[0, 1:5, 1, 2].tolist() == [10 - 32, 5 - 16, 50 - 32, 35 - 16]
    assert out[0, 1:5, 2, 4].tolist() == [60 - 64, 20 - 32, 80 - 64, 40 - 32]
    np.testing.assert_allclose(out[0, 5:7, 0, 1], [1 / 40, 1 / 30], rtol=1e-6)
    np.testing.assert_allclose(out[0, 5:7, 2, 3], [1 / 20, 1 / 20], rtol=1e-6)
    # obj_norm: stride^2 / coverage area
    np.testing.assert_allclose(out[0, 7][car | van], 256 / 400, rtol=1e-6)
    assert not out[0, :, ~(car | van)].any()


def test_later_box_overwrites_an_overlapping_one():
    # two cars sharing cell (1, 1): the second (nearer in DIGITS' order) wins
    _, out = run(layer(), np.zeros((1, 3, 64, 128), np.float32),
                 labels([(0, 0, 40, 40, 1), (20, 20, 40, 40, 1)]))
    assert out[0, 1:5, 1, 1].tolist() == [20 - 16, 20 - 16, 60 - 16, 60 - 16]
    assert out[0, 1:5, 0, 0].tolist() == [0, 0, 40, 40]


def test_coverage_bounds_and_obj_norm_off():
    # GRIDBOX_MIN keeps a small box's coverage at its own size; GRIDBOX_MAX
    # caps a big one; without obj_norm the norm is at least 1
    truth = TRUTH.replace('obj_norm: true', 'obj_norm: false')
    _, out = run(layer(truth), np.zeros((1, 3, 64, 128), np.float32),
                 labels([(33, 17, 10, 10, 1)]))
    assert np.argwhere(out[0, 0]).tolist() == [[1, 2]]
    assert out[0, 7, 1, 2] == pytest.approx(256 / 100)
    truth = TRUTH.replace('gridbox_type: GRIDBOX_MIN', 'gridbox_type: GRIDBOX_MAX max_cvg_len: 8')
    _, out = run(layer(truth), np.zeros((1, 3, 64, 128), np.float32),
                 labels([(0, 0, 128, 64, 1)]))
    assert np.argwhere(out[0, 0]).tolist() == [[1, 3], [1, 4], [2, 3], [2, 4]]
    assert out[0, 7, 1, 3] == pytest.approx(256 / 64)


def test_boxes_clipped_to_the_image_and_other_classes_ignored():
    _, out = run(layer(), np.zeros((1, 3, 64, 128), np.float32),
                 labels([(-20, 40, 60, 60, 1), (50, 10, 30, 30, 7), (200, 0, 10, 10, 1)]))
    # clipped to x 0..40, y 40..64: 1/w and 1/h of the clipped box
    assert out[0, 0].sum() > 0 and out[0, 8].sum() == out[0, 0].sum()
    ys, xs = np.nonzero(out[0, 0])
    np.testing.assert_allclose(out[0, 5, ys, xs], 1 / 40, rtol=1e-6)
    np.testing.assert_allclose(out[0, 6, ys, xs], 1 / 24, rtol=1e-6)
    assert (out[0, 1, ys, xs] == -16 * xs).all()


def test_padding_rows_and_counts_per_image():
    images = np.zeros((2, 3, 64, 128), np.float32)
    rows = labels([(0, 0, 32, 32, 1)], [])
    rows[1, 0, 1, [0, 2, 3, 5]] = (0, 32, 32, 1)      # past image 1's count of 0
    _, out = run(layer(), images, rows)
    assert out[0, 0].any() and not out[1].any()


def test_test_phase_subtracts_the_mean_and_resizes():
    images = np.random.RandomState(0).uniform(0, 255, (2, 3, 64, 128)).astype(np.float32)
    data, _ = run(layer(), images, labels([], []))
    np.testing.assert_allclose(data, images - 127, atol=1e-4)
    small = images[:, :, :32, :64]
    data, out = run(layer(), small, labels([(8, 4, 16, 16, 1)], []))
    assert data.shape == (2, 3, 64, 128)
    # boxes are scaled with the image: (16, 8, 32, 32) at the output size
    assert out[0, 1:5, 0, 1].tolist() == [16 - 16, 8, 48 - 16, 40]


def test_mean_file_of_another_size(tmp_path):
    from caffelite import codec, protoio
    path = str(tmp_path / 'mean.binaryproto')
    protoio.write_binary(path, codec.array_to_blobproto(np.full((1, 3, 16, 32), 100, np.float32)))
    images = np.random.RandomState(0).uniform(0, 255, (1, 3, 64, 128)).astype(np.float32)
    data, _ = run(layer(transform='mean_file: "%s"' % path), images, labels([]))
    np.testing.assert_allclose(data, images - 100, atol=1e-3)


def test_train_flip_moves_image_and_boxes_and_is_seeded():
    from caffelite import backend
    aug = ('crop_prob: 0 scale_prob: 0 flip_prob: 1 rotation_prob: 0 '
           'hue_rotation_prob: 0 desaturation_prob: 0')
    images = np.random.RandomState(1).uniform(0, 255, (1, 3, 64, 128)).astype(np.float32)
    data, out = run(layer(augmentation=aug, phase=caffe_pb2.TRAIN), images,
                    labels([(10, 5, 40, 30, 1)]))
    np.testing.assert_allclose(data, images[:, :, :, ::-1] - 127, atol=1e-4)
    # x -> W - x - w - 1
    assert out[0, 1, 0, 5] == 128 - 10 - 40 - 1 - 80
    aug = 'shift_x: 32 shift_y: 16 scale_prob: 1 hue_rotation_prob: 1 desaturation_prob: 1'
    backend.set_random_seed(5)
    first = run(layer(augmentation=aug, phase=caffe_pb2.TRAIN), images,
                labels([(10, 5, 40, 30, 1)]))
    backend.set_random_seed(5)
    again = run(layer(augmentation=aug, phase=caffe_pb2.TRAIN), images,
                labels([(10, 5, 40, 30, 1)]))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_bad_inputs_name_the_layer():
    with pytest.raises(LayerError, match="layer 't'.*3-channel"):
        run(layer(), np.zeros((1, 1, 64, 128), np.float32), labels([]))
    rows = labels([(0, 0, 8, 8, 1)])
    rows[0, 0, 0, 0] = 9
    with pytest.raises(CaffeError, match='9 boxes'):
        run(layer(), np.zeros((1, 3, 64, 128), np.float32), rows)


def l1(bottoms):
    lay = create_layer(text_format.Parse('name: "l1" type: "L1Loss"', caffe_pb2.LayerParameter()))
    blobs = []
    for x in bottoms:
        blobs.append(Blob(x.shape))
        blobs[-1].data[...] = x
    top = [Blob()]
    lay.layer_setup(blobs, top)
    return lay, blobs, top


def test_l1_loss_value_and_gradient():
    rng = np.random.RandomState(0)
    a = rng.standard_normal((3, 4, 2, 2)).astype(np.float32)
    b = a + np.sign(rng.standard_normal(a.shape)) * rng.uniform(0.1, 1, a.shape).astype(np.float32)
    lay, bottom, top = l1([a, b])
    lay.layer_forward(bottom, top)
    assert float(top[0].data) == pytest.approx(np.abs(a - b).sum() / 3, rel=1e-5)
    # |a - b| >= 0.1 everywhere, so a step of 1e-2 never crosses the kink
    assert check_gradient(lay, bottom, top, stepsize=1e-2, threshold=1e-2) == a.size * 2
    lay.layer_forward(bottom, top)
    top[0].diff[...] = 2.0
    lay.layer_backward(top, [True, True], bottom)
    np.testing.assert_allclose(bottom[0].diff, 2.0 * np.sign(a - b) / 3)
    np.testing.assert_allclose(bottom[1].diff, -2.0 * np.sign(a - b) / 3)


def test_l1_loss_refuses_different_sizes():
    with pytest.raises(LayerError, match='same dimension'):
        l1([np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)])
