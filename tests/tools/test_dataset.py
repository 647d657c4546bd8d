"""Dataset tools: convert_imageset and compute_image_mean against Caffe's
own outputs, OpenCV's imread/resize arithmetic, DIGITS' resize modes and
splits, and ``caffelite dataset create`` end to end."""
import os

import numpy as np
import pytest
from PIL import Image

import caffelite as caffe
from caffelite import codec
from caffelite.cli import main
from caffelite.errors import CaffeError
from caffelite.proto import caffe_pb2
from caffelite.lmdbs import open_readonly
from caffelite import databases, images
from caffelite.tools import dataset, imageset
from conftest import reference_path


def records(path):
    """[(key, value)] of an LMDB, in key order."""
    with open_readonly(str(path)).begin() as txn:
        return list(txn.cursor())


def datums(path):
    return [(key.decode(), caffe_pb2.Datum.FromString(value)) for key, value in records(path)]


def convert(data, out, *flags):
    """Run ``caffelite convert_imageset`` on the reference images."""
    return main(['convert_imageset', *flags, str(data / 'images') + '/',
                 str(data / 'train.txt'), str(out)])


# --- convert_imageset and compute_image_mean against Caffe -----------------

@pytest.mark.parametrize('reference, flags', [
    ('lmdb_raw', ['--gray']),
    ('lmdb_png', ['-gray', '-encoded', '-encode_type', 'png'])])
def test_convert_imageset_writes_caffes_records(reference, flags, tmp_path):
    data = reference_path('data')
    assert convert(data, tmp_path / 'db', *flags) == 0
    ours, caffes = records(tmp_path / 'db'), records(data / reference)
    assert [k for k, _ in ours] == [k for k, _ in caffes]
    assert ours == caffes


def test_reencoded_png_decodes_to_caffes_pixels(tmp_path):
    # A resize (even to the same size) makes Caffe re-encode instead of
    # copying the file: the bytes change, the pixels must not.
    data = reference_path('data')
    assert convert(data, tmp_path / 'db', '--gray', '--encode_type', 'png',
                   '--resize_height', '28', '--resize_width', '28') == 0
    ours, caffes = datums(tmp_path / 'db'), datums(data / 'lmdb_png')
    assert [k for k, _ in ours] == [k for k, _ in caffes]
    for (_, mine), (_, theirs) in zip(ours, caffes):
        assert mine.encoded and mine.label == theirs.label
        np.testing.assert_array_equal(caffe.io.datum_to_array(mine),
                                      caffe.io.datum_to_array(theirs))


def test_caffes_png_datums_hold_the_image_files():
    data = reference_path('data')
    for key, datum in datums(data / 'lmdb_png')[:10]:
        path = data / 'images' / key.split('_', 1)[1]
        np.testing.assert_array_equal(caffe.io.datum_to_array(datum)[0],
                                      np.asarray(Image.open(path)))


@pytest.mark.parametrize('db', ['lmdb_raw', 'lmdb_png'])
def test_compute_image_mean_matches_caffe(db, tmp_path, capsys):
    data = reference_path('data')
    out = tmp_path / 'mean.binaryproto'
    assert main(['compute_image_mean', str(data / db), str(out)]) == 0
    ours = codec.load_mean(str(out))
    theirs = codec.load_mean(str(data / 'mean.binaryproto'))
    assert ours.shape == theirs.shape == (1, 28, 28)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-4)
    # Summed in float32 one image at a time like Caffe: the same file.
    assert out.read_bytes() == (data / 'mean.binaryproto').read_bytes()
    assert 'Processed 320 files.' in capsys.readouterr().err


def test_unknown_backends_and_the_other_backends_databases_are_refused_clearly(tmp_path,
                                                                              capsys):
    argv = ['convert_imageset', '-backend', 'rocksdb', 'a/', 'b.txt', str(tmp_path / 'db')]
    assert main(argv) == 1
    assert "unknown database backend 'rocksdb': give lmdb or leveldb" in capsys.readouterr().err
    assert not (tmp_path / 'db').exists()
    lmdb = reference_path('data') / 'lmdb_raw'
    assert main(['compute_image_mean', '--backend=leveldb', str(lmdb)]) == 1
    assert 'lmdb_raw is an LMDB, not a LevelDB: give backend lmdb' in capsys.readouterr().err


def test_compute_image_mean_rejects_a_non_database(tmp_path, capsys):
    assert main(['compute_image_mean', str(tmp_path)]) == 1
    assert 'is not a database' in capsys.readouterr().err


def write_list(path, lines):
    path.write_text(''.join(line + '\n' for line in lines))
    return path


def test_convert_imageset_skips_unreadable_images_and_keeps_line_indices(tmp_path, capsys):
    Image.fromarray(np.full((4, 5, 3), 9, np.uint8)).save(tmp_path / 'a.png')
    (tmp_path / 'broken.png').write_bytes(b'\x89PNG not really')
    listing = write_list(tmp_path / 'list.txt',
                         ['a.png 3', 'broken.png 1', 'missing.jpg 2', '', 'a.png 5', 'a.png'])
    assert main(['convert_imageset', str(tmp_path) + '/', str(listing),
                 str(tmp_path / 'db')]) == 0
    err = capsys.readouterr().err
    assert 'broken.png' in err and 'missing.jpg' in err
    got = datums(tmp_path / 'db')
    assert [k for k, _ in got] == ['00000000_a.png', '00000004_a.png', '00000005_a.png']
    assert [d.label for _, d in got] == [3, 5, 0]
    first = got[0][1]
    assert (first.channels, first.height, first.width, first.encoded) == (3, 4, 5, False)
    assert first.data == bytes([9]) * 60


def test_convert_imageset_shuffle_is_seeded(tmp_path):
    data = reference_path('data')
    for name in ('one', 'two'):
        assert convert(data, tmp_path / name, '--gray', '--shuffle', '--seed', '5') == 0
    keys = [k.decode() for k, _ in records(tmp_path / 'one')]
    assert keys == [k.decode() for k, _ in records(tmp_path / 'two')]
    names = [k.split('_', 1)[1] for k in keys]
    listed = [line.split()[0] for line in (data / 'train.txt').read_text().splitlines()]
    assert sorted(names) == sorted(listed) and names != listed


def test_check_size_fails_without_leaving_a_database(tmp_path):
    Image.fromarray(np.zeros((4, 5), np.uint8)).save(tmp_path / 'a.png')
    Image.fromarray(np.zeros((6, 5), np.uint8)).save(tmp_path / 'b.png')
    listing = write_list(tmp_path / 'list.txt', ['a.png 0', 'b.png 1'])
    with pytest.raises(CaffeError, match='differs'):
        imageset.convert_imageset(str(tmp_path), str(listing), str(tmp_path / 'db'),
                                  gray=True, check_size=True)
    assert sorted(os.listdir(tmp_path)) == ['a.png', 'b.png', 'list.txt']


def test_convert_imageset_resizes_and_reencodes_like_caffe(tmp_path):
    rgb = np.zeros((6, 8, 3), np.uint8)
    rgb[..., 0], rgb[..., 2] = 200, 50
    Image.fromarray(rgb).save(tmp_path / 'c.png')
    listing = write_list(tmp_path / 'list.txt', ['c.png 1'])
    imageset.convert_imageset(str(tmp_path), str(listing), str(tmp_path / 'raw'),
                              resize_height=3, resize_width=4)
    imageset.convert_imageset(str(tmp_path), str(listing), str(tmp_path / 'jpg'),
                              encode_type='jpg')
    (_, raw), = datums(tmp_path / 'raw')
    assert (raw.channels, raw.height, raw.width) == (3, 3, 4)
    np.testing.assert_array_equal(caffe.io.datum_to_array(raw)[:, 0, 0], [50, 0, 200])  # BGR
    (_, jpg), = datums(tmp_path / 'jpg')
    assert jpg.encoded and jpg.data[:2] == b'\xff\xd8' and jpg.channels == 0
    assert np.abs(caffe.io.datum_to_array(jpg).astype(int)[:, 3, 4] - [50, 0, 200]).max() <= 3


def test_read_list_parses_like_caffe(tmp_path):
    listing = write_list(tmp_path / 'l.txt', ['dir with space/x.png 7', 'nolabel.png', '',
                                              'y.jpg 2\r'])
    assert imageset.read_list(str(listing)) == [('dir with space/x.png', 7),
                                                ('nolabel.png', 0), ('', 0), ('y.jpg', 2)]
    write_list(listing, ['x.png seven'])
    with pytest.raises(CaffeError, match=r'l\.txt:1'):
        imageset.read_list(str(listing))


def test_lmdb_map_grows_as_needed(tmp_path, monkeypatch):
    monkeypatch.setattr(databases, 'INITIAL_MAP_SIZE', 1 << 20)
    monkeypatch.setattr(databases, 'BATCH', 4)
    blob = bytes(300000)
    with databases.LmdbWriter(str(tmp_path / 'db')) as db:
        for i in range(12):
            db.put('%02d' % i, blob)
    got = records(tmp_path / 'db')
    assert len(got) == 12 and all(v == blob for _, v in got)


def test_mean_accumulator_sums_in_float32():
    acc = imageset.MeanAccumulator()
    acc.add(np.full((1, 1, 1), 2 ** 24, np.float32), 'a')
    acc.add(np.ones((1, 1, 1), np.uint8), 'b')
    assert acc.total[0, 0, 0] == 2 ** 24  # float32 drops the +1, as Caffe's sum does
    with pytest.raises(CaffeError, match='shape'):
        acc.add(np.ones((1, 2, 1), np.uint8), 'c')


# --- OpenCV's imread and resize ---------------------------------------------

SRC = np.array([[7, 158, 53, 204, 99, 250, 145], [40, 191, 86, 237, 132, 27, 178],
                [73, 224, 119, 14, 165, 60, 211], [106, 1, 152, 47, 198, 93, 244],
                [139, 34, 185, 80, 231, 126, 21]], np.uint8)
# cv2.resize(SRC, (width, height)) from OpenCV 5.0.
OPENCV_RESIZED = {
    (3, 4): [[74, 83, 123, 163], [130, 106, 146, 154], [88, 161, 201, 102]],
    (8, 10): [[7, 90, 132, 58, 151, 167, 106, 212, 203, 145],
              [21, 104, 146, 73, 166, 182, 115, 143, 156, 159],
              [42, 125, 167, 93, 176, 192, 129, 55, 97, 180],
              [63, 146, 187, 114, 92, 108, 149, 76, 117, 201],
              [83, 122, 148, 130, 61, 77, 170, 97, 138, 221],
              [104, 55, 49, 143, 82, 98, 190, 117, 159, 242],
              [124, 67, 57, 163, 102, 118, 211, 138, 115, 119],
              [139, 81, 72, 177, 117, 133, 226, 152, 79, 21]],
    (5, 3): [[108, 204, 215], [141, 237, 77], [174, 14, 110], [36, 47, 143], [69, 80, 91]]}


@pytest.mark.parametrize('size', sorted(OPENCV_RESIZED))
def test_resize_like_opencv_is_bit_exact(size):
    np.testing.assert_array_equal(images.resize_like_opencv(SRC, *size), OPENCV_RESIZED[size])
    color = np.stack([SRC, SRC[::-1], SRC], axis=2)
    out = images.resize_like_opencv(color, *size)
    np.testing.assert_array_equal(out[..., 0], OPENCV_RESIZED[size])
    np.testing.assert_array_equal(out[..., 2], OPENCV_RESIZED[size])
    np.testing.assert_array_equal(out[..., 1], images.resize_like_opencv(SRC[::-1], *size))


PIXELS = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [17, 200, 99], [250, 251, 3],
                    [1, 2, 254]]], np.uint8)
# cv2.imread(file, IMREAD_GRAYSCALE) of PIXELS saved in each format (OpenCV 5.0).
OPENCV_GRAY = {'png': [76, 149, 29, 133, 222, 30], 'bmp': [76, 150, 29, 134, 222, 30]}


@pytest.mark.parametrize('ext', sorted(OPENCV_GRAY))
def test_read_like_opencv_makes_gray_as_opencv_decoders_do(ext, tmp_path):
    path = tmp_path / ('px.' + ext)
    Image.fromarray(PIXELS).save(path)
    np.testing.assert_array_equal(images.read_like_opencv(str(path), False)[0], OPENCV_GRAY[ext])
    np.testing.assert_array_equal(images.read_like_opencv(str(path), True), PIXELS)


def test_read_like_opencv_rotates_by_exif_and_keeps_the_high_byte(tmp_path):
    img = Image.fromarray(np.zeros((4, 6, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    img.save(tmp_path / 'r.jpg', exif=exif)
    assert images.read_like_opencv(str(tmp_path / 'r.jpg'), True).shape == (6, 4, 3)
    Image.fromarray(np.array([[0x12FF, 0xAB00]], np.uint16)).save(tmp_path / 'w.png')
    np.testing.assert_array_equal(images.read_like_opencv(str(tmp_path / 'w.png'), False),
                                  [[0x12, 0xAB]])


def test_transparency_opencv_drops_it_digits_lays_it_on_white(tmp_path):
    rgba = np.array([[[10, 20, 30, 0], [10, 20, 30, 255]]], np.uint8)
    Image.fromarray(rgba).save(tmp_path / 't.png')
    np.testing.assert_array_equal(images.read_like_opencv(str(tmp_path / 't.png'), True),
                                  [[[10, 20, 30], [10, 20, 30]]])
    np.testing.assert_array_equal(images.read_like_digits(str(tmp_path / 't.png'), True),
                                  [[[255, 255, 255], [10, 20, 30]]])


def test_unreadable_image_is_a_caffe_error(tmp_path):
    (tmp_path / 'x.jpg').write_bytes(b'nope')
    for read in (images.read_like_opencv, images.read_like_digits):
        with pytest.raises(CaffeError, match='x.jpg'):
            read(str(tmp_path / 'x.jpg'), True)


# --- DIGITS' resize modes and splits ----------------------------------------

WIDE = np.arange(10 * 30 * 3, dtype=np.uint8).reshape(10, 30, 3)


@pytest.mark.parametrize('mode', images.RESIZE_MODES)
@pytest.mark.parametrize('image', [WIDE, WIDE.transpose(1, 0, 2), WIDE[..., 0]])
def test_resize_modes_reach_the_size(mode, image):
    out = images.resize_like_digits(image, 16, 12, mode, np.random.RandomState(0))
    assert out.shape == (16, 12) + image.shape[2:] and out.dtype == np.uint8


def thirds(value_left, value_mid, value_right, height=10):
    """A height x 30 gray image in three vertical bands."""
    image = np.empty((height, 30), np.uint8)
    image[:, :10], image[:, 10:20], image[:, 20:] = value_left, value_mid, value_right
    return image


def test_squash_keeps_a_flat_image_flat():
    out = images.resize_like_digits(np.full((10, 30), 77, np.uint8), 16, 16, 'squash')
    assert (out == 77).all()


def test_crop_keeps_the_center():
    out = images.resize_like_digits(thirds(0, 255, 0), 10, 10, 'crop')
    assert (out == 255).all()


def test_crop_rounds_halves_up_like_python2():
    image = np.tile(np.arange(17, dtype=np.uint8), (16, 1))
    out = images.resize_like_digits(image, 16, 16, 'crop')
    np.testing.assert_array_equal(out[0], np.arange(1, 17))


def test_fill_pads_both_ends_with_the_same_noise():
    out = images.resize_like_digits(np.full((10, 30), 100, np.uint8), 16, 16, 'fill',
                                    np.random.RandomState(3))
    # 30 -> 16 wide, 10 -> 5.33 -> 5 tall, grown to 6 for an even pad of 5.
    assert (out[5:11] == 100).all()
    np.testing.assert_array_equal(out[:5], out[11:])
    assert out[:5].max() <= 254 and len(np.unique(out[:5])) > 10


def test_half_crop_cuts_the_long_side_and_pads_the_short():
    out = images.resize_like_digits(thirds(50, 100, 50), 16, 16, 'half_crop',
                                    np.random.RandomState(0))
    # ratios 1.875 and 0.625 average 1.25: 10x30 -> 8x24, cut to 8x16, padded by 4 + 4.
    np.testing.assert_array_equal(out[:4], out[12:])
    band = out[4:12]
    # the bands, 8 pixels each after scaling, lose 4 pixels at either end
    assert (band[:, :3] == 50).all() and (band[:, 5:11] == 100).all()
    assert (band[:, 13:] == 50).all()


@pytest.mark.parametrize('mode', images.RESIZE_MODES)
def test_same_aspect_ratio_squashes_in_every_mode(mode):
    out = images.resize_like_digits(np.full((8, 8), 9, np.uint8), 16, 16, mode)
    assert (out == 9).all()


def test_unknown_resize_mode():
    with pytest.raises(CaffeError, match='resize mode'):
        images.resize_like_digits(WIDE, 4, 4, 'stretch')


@pytest.mark.parametrize('total, val, test, sizes', [
    (10, 20, 10, (7, 2, 1)), (3, 10, 10, (1, 1, 1)), (5, 0, 0, (5, 0, 0)),
    (4, 100, 0, (0, 4, 0)), (4, 0, 100, (0, 0, 4)), (30, 20, 10, (21, 6, 3)),
    (2, 25, 0, (1, 1, 0)), (1, 50, 0, (1, 0, 0))])
def test_split_sizes_round_like_digits(total, val, test, sizes):
    assert dataset.split_sizes(total, val, test) == sizes


def test_split_percentages_are_checked():
    with pytest.raises(CaffeError, match='percentages'):
        dataset.split_sizes(10, 60, 50)


# --- caffelite dataset create -------------------------------------------------

COLORS = {'apple': (200, 30, 10), 'kiwi': (40, 180, 20), 'plum': (90, 10, 120)}


def make_tree(root, per_class=10, size=(12, 20)):
    """An image folder: one flat-colored PNG per image (the class color plus
    the image index in blue), and a corrupt JPEG among the kiwis."""
    for name, (r, g, b) in COLORS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.fromarray(np.full(size + (3,), (r, g, b + i), np.uint8)).save(
                root / name / ('%02d.png' % i))
    (root / 'kiwi' / 'broken.jpg').write_bytes(b'not an image')
    (root / 'kiwi' / 'notes.txt').write_text('ignored: not an image extension')
    return root


def test_dataset_create_from_folder(tmp_path, capsys):
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', str(make_tree(tmp_path / 'img')), str(out),
                 '--width', '8', '--height', '6', '--val-percent', '20', '--test-percent', '10',
                 '--encoding', 'none', '--seed', '3']) == 0
    printed = capsys.readouterr().out
    assert 'broken.jpg' in printed and 'skipped 1' in printed
    assert (out / 'labels.txt').read_text() == 'apple\nkiwi\nplum\n'
    assert [p for p in os.listdir(tmp_path) if p.startswith('.')] == []

    # Each class is cut 70/20/10 %: 10 images -> 7/2/1, kiwi's 11 -> 8/2/1,
    # 22/6/3 in all; broken.jpg fell in one split and was skipped there.
    seen, counts = {}, []
    for split, size in (('train', 22), ('val', 6), ('test', 3)):
        got = datums(out / (split + '_db'))
        listed = [line.split() for line in (out / (split + '.txt')).read_text().splitlines()]
        assert len(got) == len(listed) in (size, size - 1)
        counts.append(str(len(got)))
        for (key, datum), (path, label) in zip(got, listed):
            index, name = key.split('_', 1)
            assert len(index) == 8 and path.endswith(name) and os.path.isabs(path)
            cls = name.split('/')[0]
            assert datum.label == int(label) == sorted(COLORS).index(cls)
            assert (datum.channels, datum.height, datum.width) == (3, 6, 8)
            assert not datum.HasField('encoded')  # DIGITS' raw Datums, as pycaffe makes them
            pixels = caffe.io.datum_to_array(datum)
            r, g, b = COLORS[cls]
            np.testing.assert_array_equal(pixels[:, 0, 0], [b + int(name[-6:-4]), g, r])  # BGR
            seen[name] = split
    assert len(seen) == 30
    for cls in COLORS:
        split_of = [split for name, split in seen.items() if name.startswith(cls)]
        expected = [7, 2, 1] if cls != 'kiwi' else [8, 2, 1]
        got = [split_of.count(split) for split in ('train', 'val', 'test')]
        assert got == expected or cls == 'kiwi' and sum(got) == 10
    total_row = [line.split() for line in printed.splitlines() if line.startswith('total')]
    assert total_row == [['total'] + counts + ['30']]

    train = np.stack([caffe.io.datum_to_array(d) for _, d in datums(out / 'train_db')])
    mean = codec.load_mean(str(out / 'mean.binaryproto'))
    np.testing.assert_allclose(mean, train.mean(axis=0), rtol=0, atol=1e-4)
    again = tmp_path / 'm.binaryproto'
    assert main(['compute_image_mean', str(out / 'train_db'), str(again)]) == 0
    assert again.read_bytes() == (out / 'mean.binaryproto').read_bytes()
    with Image.open(out / 'mean.jpg') as picture:
        assert picture.size == (8, 6) and picture.mode == 'RGB'
        np.testing.assert_allclose(np.asarray(picture)[3, 4], mean[::-1, 3, 4], atol=4)


def test_class_folder_underscores_are_spaces_as_in_digits(tmp_path):
    """DIGITS' parse_folder names a class golden_retriever 'golden
    retriever' in labels.txt; a separate val folder's classes match by the
    same names."""
    for root in ('img', 'val'):
        for name in ('golden_retriever', 'pug'):
            (tmp_path / root / name).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(np.full((4, 4, 3), 9 * i, np.uint8)).save(
                    tmp_path / root / name / ('%d.png' % i))
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', str(tmp_path / 'img'), str(out), '--width', '4',
                 '--height', '4', '--val-folder', str(tmp_path / 'val'), '--seed', '1']) == 0
    assert (out / 'labels.txt').read_text() == 'golden retriever\npug\n'
    assert sorted(set(line.rsplit(' ', 1)[1] for line in (out / 'val.txt').read_text()
                      .splitlines())) == ['0', '1']


def test_dataset_split_depends_on_seed_only(tmp_path):
    tree = make_tree(tmp_path / 'img')
    lists = []
    for name, seed in (('a', 1), ('b', 1), ('c', 2)):
        classes, items = dataset.scan_folder(str(tree))
        dataset.create_dataset(str(tmp_path / name), items, classes, 4, 4, seed=seed)
        lists.append((tmp_path / name / 'val.txt').read_text())
    assert lists[0] == lists[1] != lists[2]


@pytest.mark.parametrize('encoding', ['png', 'jpg'])
def test_dataset_encoded_gray_datums(encoding, tmp_path):
    classes, items = dataset.scan_folder(str(make_tree(tmp_path / 'img', per_class=3)))
    report = dataset.create_dataset(str(tmp_path / 'ds'), items, classes, 10, 10, color=False,
                                    resize_mode='crop', val_percent=0, encoding=encoding)
    assert sum(report.counts['train'].values()) == 9 and len(report.skipped) == 1
    assert not (tmp_path / 'ds' / 'val_db').exists()
    for key, datum in datums(tmp_path / 'ds' / 'train_db'):
        assert datum.encoded and (datum.channels, datum.height, datum.width) == (1, 10, 10)
        pixels = caffe.io.datum_to_array(datum)
        r, g, b = COLORS[key.split('_', 1)[1].split('/')[0]]
        expected = np.asarray(Image.new('RGB', (1, 1), (r, g, b + int(key[-6:-4]))).convert('L'))
        tolerance = 0 if encoding == 'png' else 2
        assert pixels.shape == (1, 10, 10)
        assert np.abs(pixels.astype(int) - int(expected[0, 0])).max() <= tolerance


def test_dataset_from_list_with_labels(tmp_path, capsys):
    tree = make_tree(tmp_path / 'img', per_class=2)
    listing = write_list(tmp_path / 'list.txt', ['apple/00.png 1', 'plum/01.png 0',
                                                 'kiwi/00.png 1', 'apple/01.png 0'])
    names = write_list(tmp_path / 'names.txt', ['zero', 'one'])
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', '--list', str(listing), '--root', str(tree),
                 '--labels', str(names), str(out), '-width', '5', '-height', '5',
                 '--val-percent', '0', '--resize-mode', 'half_crop']) == 0
    assert (out / 'labels.txt').read_text() == 'zero\none\n'
    keys = sorted(k.split('_', 1)[1] for k, _ in datums(out / 'train_db'))
    assert keys == ['apple/00.png', 'apple/01.png', 'kiwi/00.png', 'plum/01.png']
    assert 'zero' in capsys.readouterr().out


def test_dataset_create_refuses_bad_requests(tmp_path, capsys):
    tree = make_tree(tmp_path / 'img', per_class=2)
    (tmp_path / 'taken').mkdir()
    assert main(['dataset', 'create', str(tree), str(tmp_path / 'taken')]) == 1
    assert 'already exists' in capsys.readouterr().err
    assert main(['dataset', 'create', str(tmp_path / 'ds')]) == 1
    assert 'IMAGE_DIR or --list' in capsys.readouterr().err
    assert os.listdir(tmp_path / 'taken') == []


def test_failed_dataset_leaves_nothing_behind(tmp_path):
    (tmp_path / 'img' / 'only').mkdir(parents=True)
    (tmp_path / 'img' / 'only' / 'bad.png').write_bytes(b'broken')
    classes, items = dataset.scan_folder(str(tmp_path / 'img'))
    with pytest.raises(CaffeError, match='no readable training images'):
        dataset.create_dataset(str(tmp_path / 'ds'), items, classes, 4, 4, val_percent=0)
    assert os.listdir(tmp_path) == ['img']


def make_val_folder(root, counts):
    """A separate validation folder: ``counts`` {class: images} of the
    class's flat color."""
    for name, n in counts.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((6, 6, 3), COLORS[name], np.uint8)).save(
                root / name / ('v%d.png' % i))
    return root


def read_split(path):
    return sorted(line.rsplit(' ', 1) for line in path.read_text().splitlines())


def test_dataset_with_a_separate_val_folder(tmp_path):
    """The val split is all of the val folder, labelled by the training
    classes; the training split keeps all of the training folder even
    though val_percent is 50."""
    classes, items = dataset.scan_folder(str(make_tree(tmp_path / 'img', per_class=3)))
    folder = str(make_val_folder(tmp_path / 'val', {'plum': 2, 'apple': 1}))
    val = dataset.relabel(*dataset.scan_folder(folder), classes, folder)
    report = dataset.create_dataset(str(tmp_path / 'ds'), items, classes, 4, 4,
                                    val_percent=50, fixed={'val': val})
    assert classes == ['apple', 'kiwi', 'plum']
    assert report.counts['train'] == {0: 3, 1: 3, 2: 3} and not report.counts['test']
    assert report.counts['val'] == {0: 1, 2: 2}
    assert read_split(tmp_path / 'ds' / 'val.txt') == [
        [str(tmp_path / 'val' / 'apple' / 'v0.png'), '0'],
        [str(tmp_path / 'val' / 'plum' / 'v0.png'), '2'],
        [str(tmp_path / 'val' / 'plum' / 'v1.png'), '2']]
    trained = read_split(tmp_path / 'ds' / 'train.txt')
    assert len(trained) == 9 and all(path.startswith(str(tmp_path / 'img')) for path, _ in trained)


def test_separate_folder_with_an_unknown_class_is_refused(tmp_path):
    folder = str(make_val_folder(tmp_path / 'val', {'plum': 1, 'kiwi': 1}))
    with pytest.raises(CaffeError, match='val has class folder.* kiwi$'):
        dataset.relabel(*dataset.scan_folder(folder), ['apple', 'plum'], folder)


def test_dataset_create_cli_with_a_test_folder(tmp_path, capsys):
    tree = make_tree(tmp_path / 'img', per_class=2)
    folder = make_val_folder(tmp_path / 'held-out', {'kiwi': 2})
    out = tmp_path / 'ds'
    assert main(['dataset', 'create', str(tree), str(out), '-width', '4', '-height', '4',
                 '--val-percent', '0', '--test-percent', '50',
                 '--test-folder', str(folder)]) == 0
    assert read_split(out / 'test.txt') == [[str(folder / 'kiwi' / ('v%d.png' % i)), '1']
                                            for i in range(2)]
    assert len(read_split(out / 'train.txt')) == 6
    assert 'test: 2 images in' in capsys.readouterr().out


def test_dataset_create_draws_and_prints_a_seed(tmp_path, capsys):
    """Without --seed each dataset gets a new shuffle seed (as the server
    draws one per job), printed; --seed with it repeats the split."""
    tree = make_tree(tmp_path / 'img')
    seeds = []
    for name in ('a', 'b'):
        assert main(['dataset', 'create', str(tree), str(tmp_path / name), '--width', '4',
                     '--height', '4', '--val-percent', '50']) == 0
        printed = [line for line in capsys.readouterr().out.splitlines()
                   if line.startswith('shuffle seed ')]
        seeds.append(int(printed[0].split()[2]))
    assert seeds[0] != seeds[1]
    assert main(['dataset', 'create', str(tree), str(tmp_path / 'again'), '--width', '4',
                 '--height', '4', '--val-percent', '50', '--seed', str(seeds[0])]) == 0
    assert 'shuffle seed %d ' % seeds[0] in capsys.readouterr().out
    assert (tmp_path / 'again' / 'val.txt').read_text() == (tmp_path / 'a' / 'val.txt').read_text()
