"""WindowData (caffelite/layers/window_data.py) on a small window file of
PNG images: batch layout and fg/bg sampling, the window geometry
(context_pad, warp and square crops, mirror) against crops made here with
OpenCV, mean subtraction and scale, errors naming the file and line, and
the command line's test/time on a WindowData net."""
import cv2
import numpy as np
import pytest

import caffelite as caffe
from caffelite.cli import main
from caffelite.deploy_net import deploy_from_training
from caffelite.errors import LayerError
from caffelite.layers.window_data import read_window_file

SIZES = [(60, 80), (48, 52), (64, 40)]     # (height, width) of img0, img1, img2
# (class, overlap, x1, y1, x2, y2) per image. With fg_threshold 0.5 and
# bg_threshold 0.3: foreground 0.5+ (classes 3 and 5), background below 0.3,
# and the 0.4 windows in neither set.
WINDOWS = [
    [(3, 0.9, 2, 20, 41, 39), (0, 0.1, 0, 0, 79, 59), (7, 0.4, 5, 5, 30, 30)],
    [(5, 0.5, 4, 4, 40, 30), (2, 0.29, 10, 12, 20, 40)],
    [(7, 0.4, 0, 0, 10, 10), (0, 0.0, 3, 3, 35, 60)],
]


def write_window_file(folder, windows=WINDOWS, name='windows.txt'):
    """Images img<i>.png of SIZES with random pixels and a window file
    naming them relative to ``folder`` (root_folder); returns its path."""
    rng = np.random.RandomState(7)
    lines = []
    for i, ((h, w), boxes) in enumerate(zip(SIZES, windows)):
        cv2.imwrite(str(folder / ('img%d.png' % i)), rng.randint(0, 256, (h, w, 3), np.uint8))
        lines += ['# %d' % i, 'img%d.png' % i, '3', str(h), str(w), str(len(boxes))]
        lines += ['%d %g %d %d %d %d' % box for box in boxes]
    path = folder / name
    path.write_text('\n'.join(lines) + '\n')
    return path


def window_net(folder, source, transform='crop_size: 24', window='', batch=8):
    """A TRAIN net of one WindowData layer reading ``source``."""
    path = folder / 'net.prototxt'
    path.write_text(
        'layer { name: "data" type: "WindowData" top: "data" top: "label" '
        'transform_param { %s } window_data_param { source: "%s" root_folder: "%s/" '
        'batch_size: %d fg_threshold: 0.5 bg_threshold: 0.3 %s } }'
        % (transform, source, folder, batch, window))
    caffe.set_random_seed(3)
    return caffe.Net(str(path), caffe.TRAIN)


def test_window_file_sets_follow_the_thresholds(tmp_path):
    source = write_window_file(tmp_path)
    file = read_window_file(str(source), str(tmp_path) + '/', 0.5, 0.3)
    assert file.paths == [str(tmp_path / ('img%d.png' % i)) for i in range(3)]
    assert file.lines == [1, 10, 18]
    # image index, class, box; background classes forced to 0
    np.testing.assert_array_equal(file.fg.boxes, [[0, 3, 2, 20, 41, 39], [1, 5, 4, 4, 40, 30]])
    np.testing.assert_array_equal(file.fg.lines, [7, 16])
    np.testing.assert_array_equal(file.bg.boxes, [[0, 0, 0, 0, 79, 59], [1, 0, 10, 12, 20, 40],
                                                  [2, 0, 3, 3, 35, 60]])
    np.testing.assert_array_equal(file.bg.lines, [8, 17, 25])
    assert file.channels == (3, 20)     # the last image's, line 20


def test_batches_put_fg_fraction_of_foreground_windows_last(tmp_path):
    source = write_window_file(tmp_path)
    net = window_net(tmp_path, source, window='fg_fraction: 0.3')
    for _ in range(3):
        net.forward()
        assert net.blobs['data'].data.shape == (8, 3, 24, 24)
        labels = net.blobs['label'].data
        assert labels.shape == (8,)
        # int(8 * 0.3) = 2 foreground windows, after 6 background ones
        np.testing.assert_array_equal(labels[:6], 0)
        assert set(labels[6:]) <= {3, 5}
    assert np.abs(net.blobs['data'].data).sum(axis=(1, 2, 3)).min() > 0


def single_window_net(folder, transform, window=''):
    """A net whose batches of 4 all show the first window of img0, the
    only foreground window of its window file."""
    source = write_window_file(folder, [WINDOWS[0][:1], [], []])
    transform = 'crop_size: 24 ' + transform
    return window_net(folder, source, transform, 'fg_fraction: 1 context_pad: 4 ' + window,
                      batch=4)


def expected_crop(folder, rows, cols, size, left):
    """The 24 x 24 BGR crop (float32, 0 outside) of img0's ``rows`` and
    ``cols`` resized by OpenCV to ``size`` (height, width) at column ``left``."""
    image = cv2.imread(str(folder / 'img0.png'), cv2.IMREAD_COLOR)
    patch = cv2.resize(image[rows, cols], size[::-1], interpolation=cv2.INTER_LINEAR)
    crop = np.zeros((24, 24, 3), np.float32)
    crop[:size[0], left:left + size[1]] = patch
    return crop.transpose(2, 0, 1)


# Window (2, 20)-(41, 39) of the 80 x 60 img0, crop 24, context_pad 4:
# the box is grown by 24 / (24 - 2*4) = 1.5 about its center (22, 30).
# warp: x from 22 - 20*1.5 = -8 to 52, y from 30 - 10*1.5 = 15 to 45. Width
# 61 is cut to columns 0..52 (53 of them), which take round(53 * 24/61) = 21
# crop columns after round(8 * 24/61) = 3 blank ones; rows 15..45 fill 24.
# square: the half-sides are both 20, so y runs 0..60, cut to rows 0..59,
# which take round(60 * 24/61) = 24 crop rows.
@pytest.mark.parametrize('mode, rows', [('warp', slice(15, 46)), ('square', slice(0, 60))])
def test_context_pad_crop_geometry(tmp_path, mode, rows):
    net = single_window_net(tmp_path, '', 'crop_mode: "%s"' % mode)
    net.forward()
    expected = expected_crop(tmp_path, rows, slice(0, 53), (24, 21), 3)
    for item in net.blobs['data'].data:
        np.testing.assert_array_equal(item, expected)


def test_mirror_flips_the_crop_and_its_padding(tmp_path):
    net = single_window_net(tmp_path, 'mirror: true')
    plain = expected_crop(tmp_path, slice(15, 46), slice(0, 53), (24, 21), 3)
    # flipped, the blank columns (the part left of the image) go right
    flipped = np.zeros_like(plain)
    flipped[:, :, :21] = plain[:, :, 3:][:, :, ::-1]
    seen = []
    for _ in range(4):
        net.forward()
        for item in net.blobs['data'].data:
            flip = np.array_equal(item, flipped)
            assert flip or np.array_equal(item, plain)
            seen.append(flip)
    assert 0 < sum(seen) < len(seen)


def test_mean_file_under_the_crop_and_scale(tmp_path):
    mean = np.random.RandomState(1).uniform(0, 255, (1, 3, 30, 30)).astype(np.float32)
    (tmp_path / 'mean.binaryproto').write_bytes(
        caffe.io.array_to_blobproto(mean).SerializeToString())
    net = single_window_net(tmp_path, 'mean_file: "%s"' % (tmp_path / 'mean.binaryproto'),
                            'scale: 0.5')
    net.forward()
    crop = expected_crop(tmp_path, slice(15, 46), slice(0, 53), (24, 21), 3)
    # the mean's centred 24 x 24 (offset (30 - 24) / 2 = 3), not the blank columns
    expected = (crop - mean[0, :, 3:27, 3:27]) * 0.5
    expected[:, :, :3] = 0
    np.testing.assert_allclose(net.blobs['data'].data[0], expected, rtol=1e-6)


def test_mean_values_per_channel(tmp_path):
    net = single_window_net(tmp_path, 'mean_value: 10 mean_value: 20 mean_value: 30')
    net.forward()
    crop = expected_crop(tmp_path, slice(15, 46), slice(0, 53), (24, 21), 3)
    expected = crop - np.array([10, 20, 30], np.float32).reshape(3, 1, 1)
    expected[:, :, :3] = 0
    np.testing.assert_array_equal(net.blobs['data'].data[1], expected)


def test_cached_images_and_resumed_position_give_the_same_batches(tmp_path):
    source = write_window_file(tmp_path)
    net = window_net(tmp_path, source, 'crop_size: 24 mirror: true')
    cached = window_net(tmp_path, source, 'crop_size: 24 mirror: true', 'cache_images: true')
    layer = net.layers[0]
    position = layer.position()
    net.forward()
    cached.forward()
    first = net.blobs['data'].data.copy()
    np.testing.assert_array_equal(cached.blobs['data'].data, first)
    layer.seek(position)
    net.forward()
    np.testing.assert_array_equal(net.blobs['data'].data, first)


@pytest.mark.parametrize('line, text, match', [
    (7, '3 0.9 2 20 41', r'windows\.txt:7: expected a window'),
    (7, '3 0.9 2 20 41.5 39', r'windows\.txt:7: expected a window'),
    (1, '# 1', r"windows\.txt:1: expected the header '# 0'"),
    (4, 'tall', r'windows\.txt:4: expected the height'),
    (7, '0 0.9 2 20 41 39', r'windows\.txt:7: a foreground window .* positive class'),
    # seven words then five: whole rows in total, but not line by line
    (8, '0 0.1 0 0 79 59 7\n0.4 5 5 30 30', r'windows\.txt:8: expected a window'),
])
def test_bad_window_file_lines_name_file_and_line(tmp_path, line, text, match):
    source = write_window_file(tmp_path)
    lines = source.read_text().split('\n')
    replaced = text.split('\n')
    lines[line - 1:line - 1 + len(replaced)] = replaced
    source.write_text('\n'.join(lines))
    with pytest.raises(LayerError, match=match):
        window_net(tmp_path, source)


def test_missing_window_file_and_image(tmp_path):
    with pytest.raises(LayerError, match=r"'data' \(WindowData\): window file .*nothere"):
        window_net(tmp_path, tmp_path / 'nothere.txt')
    source = write_window_file(tmp_path)
    (tmp_path / 'img1.png').unlink()
    with pytest.raises(LayerError, match=r'windows\.txt:10: cannot read image .*img1'):
        window_net(tmp_path, source)


def test_window_outside_its_image_names_the_line(tmp_path):
    source = write_window_file(tmp_path, [[(3, 0.9, 2, 20, 80, 39)], [], []])
    with pytest.raises(LayerError, match=r'windows\.txt:7: window .* not inside the 80 x 60'):
        window_net(tmp_path, source, window='fg_fraction: 1')


def test_cli_test_and_time_on_a_window_data_net(tmp_path, capsys):
    source = write_window_file(tmp_path)
    model = tmp_path / 'train_val.prototxt'
    model.write_text(
        'layer { name: "data" type: "WindowData" top: "data" top: "label" transform_param '
        '{ crop_size: 8 mirror: true } window_data_param { source: "%s" root_folder: "%s/" '
        'batch_size: 4 context_pad: 1 } }\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" '
        'inner_product_param { num_output: 6 weight_filler { type: "xavier" } } }\n'
        'layer { name: "loss" type: "SoftmaxWithLoss" bottom: "fc" bottom: "label" '
        'top: "loss" }\n' % (source, tmp_path))
    weights = str(tmp_path / 'init.caffemodel')
    caffe.Net(str(model), caffe.TEST).save(weights)
    assert main(['test', '-model', str(model), '-weights', weights, '-iterations', '2']) == 0
    assert 'Loss: ' in capsys.readouterr().err
    assert main(['time', '-model', str(model), '-iterations', '2']) == 0
    assert 'Average Forward-Backward' in capsys.readouterr().err


def test_deploy_net_keeps_window_data_param_scale():
    net = caffe.proto.caffe_pb2.NetParameter()
    caffe.protoio.parse_text(
        'layer { name: "data" type: "WindowData" top: "data" top: "label" transform_param '
        '{ crop_size: 8 } window_data_param { source: "w.txt" batch_size: 2 scale: 0.5 } }\n'
        'layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" '
        'inner_product_param { num_output: 2 } }\n'
        'layer { name: "out" type: "HDF5Output" bottom: "fc" bottom: "label" }', net)
    deploy = deploy_from_training(net, (3, 8, 8))
    assert [(lp.type, lp.power_param.scale) for lp in deploy.layer] == [
        ('Power', 0.5), ('InnerProduct', 1)]


def test_settings_caffe_does_not_read_are_named(tmp_path, caplog):
    source = write_window_file(tmp_path)
    window_net(tmp_path, source, 'crop_size: 24 scale: 0.5', 'mirror: true')
    assert "window_data_param.mirror not read" in caplog.text
    assert 'ignores transform_param.scale (0.5)' in caplog.text
    with pytest.raises(LayerError, match='transform_param.crop_size must be positive'):
        window_net(tmp_path, source, '', 'crop_size: 24')


def test_the_last_image_must_be_listed_with_3_channels(tmp_path):
    source = write_window_file(tmp_path)
    lines = source.read_text().split('\n')
    lines[19] = '1'         # line 20: img2's channels
    source.write_text('\n'.join(lines))
    with pytest.raises(LayerError, match=r'windows\.txt:20: the last image has 1 channels'):
        window_net(tmp_path, source)
