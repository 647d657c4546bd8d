"""Arrays to and from Caffe's messages: BlobProto (weights, mean files),
BlobProtoVector, Datum (LMDB records, raw or PNG/JPEG-encoded) and
mean.binaryproto files. Layers and tools use this module; ``caffelite.io``
(pycaffe's ``caffe.io``) exposes the pycaffe-named functions from it."""
import numpy as np

from .errors import CaffeError, CaffeIOError
from .images import decode_like_opencv
from .proto import caffe_pb2
from .protoio import blob_shape_of, read_binary, set_packed_floats


def blobproto_to_array(blob, return_diff=False):
    """The data (or diff) of a BlobProto as a float32 array of its shape;
    legacy blobs (num/channels/height/width) come out 4-d."""
    values = np.array(blob.diff if return_diff else blob.data, np.float32)
    if any(blob.HasField(f) for f in ('num', 'channels', 'height', 'width')):
        return values.reshape(blob.num, blob.channels, blob.height, blob.width)
    return values.reshape(tuple(blob.shape.dim))


def array_to_blobproto(arr, diff=None):
    """A BlobProto with ``arr``'s shape and values (and ``diff``, assumed of
    the same shape) stored as float32."""
    arr = np.asarray(arr)
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend(arr.shape)
    set_packed_floats(blob, 'data', arr.astype(np.float64).ravel())
    if diff is not None:
        set_packed_floats(blob, 'diff', np.asarray(diff).astype(np.float64).ravel())
    return blob


def arraylist_to_blobprotovector_str(arraylist):
    """Serialized BlobProtoVector of the arrays."""
    vec = caffe_pb2.BlobProtoVector()
    vec.blobs.extend([array_to_blobproto(arr) for arr in arraylist])
    return vec.SerializeToString()


def blobprotovector_str_to_arraylist(str):  # noqa: A002 (pycaffe's name)
    """Arrays of a serialized BlobProtoVector."""
    vec = caffe_pb2.BlobProtoVector()
    vec.ParseFromString(str)
    return [blobproto_to_array(blob) for blob in vec.blobs]


def array_to_datum(arr, label=None):
    """A Datum from a C x H x W array: uint8 goes to ``data`` bytes, any
    other type to ``float_data``; ``label`` is set when given."""
    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise CaffeIOError('Incorrect array shape.')
    datum = caffe_pb2.Datum()
    datum.channels, datum.height, datum.width = arr.shape
    if arr.dtype == np.uint8:
        datum.data = arr.tobytes()
    else:
        set_packed_floats(datum, 'float_data', arr.astype(np.float64).ravel())
    if label is not None:
        datum.label = label
    return datum


def datum_to_array(datum):
    """The C x H x W array of a Datum (its label stays in datum.label):
    uint8 for byte data, float64 for float_data. Encoded datums (PNG, JPEG,
    ...) are decoded as Caffe's DecodeDatumNative does: gray images give 1
    channel, color ones Caffe's BGR order (BGRA with alpha)."""
    if datum.encoded:
        return decode_like_opencv(datum.data)
    shape = (datum.channels, datum.height, datum.width)
    values = datum.data or datum.float_data
    if len(values) != int(np.prod(shape)):
        # Caffe's DataTransformer CHECKs this count
        raise CaffeIOError('a Datum of %d x %d x %d holds %d values'
                           % (shape + (len(values),)))
    if len(datum.data):
        return np.frombuffer(datum.data, np.uint8).reshape(shape).copy()
    return np.array(datum.float_data, np.float64).reshape(shape)


def load_mean(path):
    """The C x H x W float32 mean image of a mean.binaryproto file (the
    first item of a 4-d blob, as Caffe's DataTransformer uses it)."""
    blob = read_binary(path, caffe_pb2.BlobProto())
    try:
        mean = blobproto_to_array(blob)
    except ValueError:
        # Caffe's Blob::FromProto CHECKs the same count
        raise CaffeIOError('%s: not a mean image: %d values for the shape %s'
                           % (path, len(blob.data), blob_shape_of(blob))) from None
    return mean[0] if mean.ndim == 4 else mean


def decode_datum(datum, where=None):
    """(C, H, W) uint8/float image and its label from a Datum; ``where``
    (a database and key) is named when the image does not decode."""
    try:
        return datum_to_array(datum), datum.label
    except CaffeError as e:
        if where is None:
            raise
        raise CaffeError('%s: %s' % (where, e)) from None
