"""caffelite.codec: arrays to and from BlobProto, BlobProtoVector and Datum
(raw and PNG/JPEG-encoded, decoded as OpenCV does), and Caffe's own mean
files and LMDBs."""
import io

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

import caffelite as caffe
from caffelite import codec
from caffelite.errors import CaffeIOError, ImageReadError
from conftest import reference_path


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, format='PNG')
    return buffer.getvalue()


def encoded_datum(data):
    return caffe.proto.caffe_pb2.Datum(data=data, encoded=True)


# --- protos ----------------------------------------------------------------------
@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=4), st.integers(0, 2 ** 31 - 1))
def test_blobproto_round_trip(shape, seed):
    arr = np.random.RandomState(seed).randn(*shape)
    blob = codec.array_to_blobproto(arr, diff=2 * arr)
    assert list(blob.shape.dim) == shape
    back = codec.blobproto_to_array(blob)
    assert back.shape == tuple(shape) and back.dtype == np.float32
    np.testing.assert_array_equal(back, arr.astype(np.float32))
    np.testing.assert_array_equal(codec.blobproto_to_array(blob, return_diff=True),
                                  (2 * arr).astype(np.float32))


def test_blobproto_legacy_dims():
    blob = caffe.proto.caffe_pb2.BlobProto(num=1, channels=2, height=1, width=3,
                                           data=list(range(6)))
    np.testing.assert_array_equal(codec.blobproto_to_array(blob),
                                  np.arange(6, dtype=np.float32).reshape(1, 2, 1, 3))


def test_blobprotovector_round_trip():
    arrays = [np.arange(6.0).reshape(2, 3), np.ones((1, 2, 2, 1))]
    back = codec.blobprotovector_str_to_arraylist(codec.arraylist_to_blobprotovector_str(arrays))
    assert [a.shape for a in back] == [(2, 3), (1, 2, 2, 1)]
    for a, b in zip(arrays, back):
        np.testing.assert_array_equal(a, b)


def test_datum_round_trips():
    image = np.random.RandomState(9).randint(0, 256, (3, 5, 4)).astype(np.uint8)
    datum = codec.array_to_datum(image, 7)
    assert (datum.channels, datum.height, datum.width, datum.label) == (3, 5, 4, 7)
    assert datum.data == image.tobytes() and not datum.float_data
    back = codec.datum_to_array(caffe.proto.caffe_pb2.Datum.FromString(datum.SerializeToString()))
    assert back.dtype == np.uint8 and back.flags.writeable
    np.testing.assert_array_equal(back, image)

    floats = np.random.RandomState(10).randn(2, 3, 4)
    datum = codec.array_to_datum(floats)
    assert not datum.HasField('label') and not datum.data
    back = codec.datum_to_array(caffe.proto.caffe_pb2.Datum.FromString(datum.SerializeToString()))
    assert back.dtype == np.float64
    np.testing.assert_array_equal(back, floats.astype(np.float32))


def test_array_to_datum_needs_three_axes():
    with pytest.raises(CaffeIOError, match='Incorrect array shape.'):
        codec.array_to_datum(np.zeros((4, 4), np.uint8))


def test_encoded_datums_decode_like_opencv():
    rgb = np.random.RandomState(11).randint(0, 256, (3, 4, 3)).astype(np.uint8)
    color = codec.datum_to_array(encoded_datum(png_bytes(Image.fromarray(rgb))))
    np.testing.assert_array_equal(color, rgb[:, :, ::-1].transpose(2, 0, 1))  # BGR
    rgba = np.random.RandomState(12).randint(0, 256, (3, 4, 4)).astype(np.uint8)
    bgra = codec.datum_to_array(encoded_datum(png_bytes(Image.fromarray(rgba))))
    np.testing.assert_array_equal(bgra, rgba[:, :, [2, 1, 0, 3]].transpose(2, 0, 1))
    gray = rgb[:, :, 0]
    np.testing.assert_array_equal(codec.datum_to_array(encoded_datum(png_bytes(Image.fromarray(gray)))),
                                  gray[None])


def test_encoded_datum_errors():
    wide = Image.fromarray(np.array([[1, 60000]], np.uint16))
    with pytest.raises(CaffeIOError, match='unsigned bytes'):
        codec.datum_to_array(encoded_datum(png_bytes(wide)))
    with pytest.raises(ImageReadError):
        codec.datum_to_array(encoded_datum(b'\x89PNG garbage'))


# --- Caffe's files ---------------------------------------------------------------
def test_reference_mean_files():
    resnet = reference_path('mean', 'ResNet_mean.binaryproto')
    blob = caffe.protoio.read_binary(str(resnet), caffe.proto.caffe_pb2.BlobProto())
    assert codec.blobproto_to_array(blob).shape == (1, 3, 224, 224)
    mean = codec.load_mean(str(resnet))
    assert mean.shape == (3, 224, 224) and mean.dtype == np.float32
    assert 0 < mean.min() and mean.max() < 255
    digits = codec.load_mean(str(reference_path('data', 'mean.binaryproto')))
    assert digits.shape == (1, 28, 28)


def reference_records(name):
    """(key, Datum) of every record of a reference LMDB, in key order."""
    from caffelite.lmdbs import open_readonly
    with open_readonly(str(reference_path('data', name))).begin() as txn:
        return [(key.decode(), caffe.proto.caffe_pb2.Datum.FromString(value))
                for key, value in txn.cursor()]


@pytest.mark.parametrize('name', ['lmdb_raw', 'lmdb_png'])
def test_reference_lmdb_records_decode_to_the_pngs(name):
    listing = reference_path('data', 'train.txt').read_text().split('\n')
    entries = [line.split() for line in listing if line.strip()]
    records = reference_records(name)
    assert [key for key, _ in records] == ['%08d_%s' % (i, path) for i, (path, _) in
                                           enumerate(entries)]
    images = reference_path('data', 'images')
    for (key, datum), (path, label) in zip(records, entries):
        assert datum.encoded == (name == 'lmdb_png') and datum.label == int(label)
        pixels = codec.datum_to_array(datum)
        assert pixels.shape == (1, 28, 28) and pixels.dtype == np.uint8
        np.testing.assert_array_equal(pixels[0], np.asarray(Image.open(images / path)), key)


def test_reference_mean_is_the_mean_of_the_raw_lmdb():
    records = reference_records('lmdb_raw')
    mean = np.mean([codec.datum_to_array(d) for _, d in records], axis=0, dtype=np.float64)
    np.testing.assert_allclose(codec.load_mean(str(reference_path('data', 'mean.binaryproto'))),
                               mean, atol=1e-4)


@pytest.mark.parametrize('values, shape', [(None, r'\(\)'), (774, r'\(1, 1, 28, 28\)')])
def test_a_mean_file_short_of_values_is_named(tmp_path, values, shape):
    """An empty file, or one cut short of values (Caffe CHECKs the count)."""
    path = tmp_path / 'mean.binaryproto'
    if values is None:
        path.write_bytes(b'')
    else:
        blob = caffe.proto.caffe_pb2.BlobProto(num=1, channels=1, height=28, width=28)
        blob.data.extend([0.5] * values)
        path.write_bytes(blob.SerializeToString())
    with pytest.raises(CaffeIOError, match=r'mean\.binaryproto: not a mean image: %d values '
                       r'for the shape %s' % (values or 0, shape)):
        codec.load_mean(str(path))
