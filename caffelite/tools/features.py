"""Caffe's extract_features: blobs of a trained net, batch after batch, into
LMDBs or LevelDBs of float Datums.

Each image of each batch becomes one Datum holding that image's slice of
the blob as ``float_data`` with the blob's legacy channels/height/width
(a N x D blob gives D x 1 x 1), keyed by its running index as ``%010d``,
as the C++ tool writes them. Each database appears under its name only
when every batch has been written (caffelite.databases).
"""
import contextlib
import logging

from .. import codec
from ..errors import CaffeError
from ..databases import BATCH, LMDB, open_writer

log = logging.getLogger('caffelite.tools')


def _check_blobs(net, blob_names, db_paths, model):
    if len(blob_names) != len(db_paths):
        raise CaffeError('%d feature blob names (%s) but %d dataset names (%s): the numbers '
                         'must be equal' % (len(blob_names), ','.join(blob_names),
                                            len(db_paths), ','.join(db_paths)))
    for name in blob_names:
        if name not in net.blobs:
            raise CaffeError('Unknown feature blob name %s in the network %s' % (name, model))


def _datums(blob):
    """The serialized Datum of each item of ``blob`` (N x ...): its values
    as float_data, shaped by the blob's legacy channels, height and width."""
    shape = (blob.channels, blob.height, blob.width)
    for item in blob.data.reshape(blob.num, *shape):
        datum = codec.array_to_datum(item)
        yield datum.SerializeToString()


def extract_features(net, model, blob_names, db_paths, num_batches, backend=LMDB):
    """Run ``net`` (built from ``model``, weights loaded) forward
    ``num_batches`` times and write each batch's items of ``blob_names[i]``
    to a new ``backend`` database at ``db_paths[i]``. Returns the Datums written per blob."""
    _check_blobs(net, blob_names, db_paths, model)
    with contextlib.ExitStack() as stack:
        dbs = []
        for path in db_paths:
            log.info('Opening dataset %s', path)
            dbs.append(stack.enter_context(open_writer(path, backend)))
        log.info('Extracting Features')
        counts = [0] * len(blob_names)
        for _ in range(num_batches):
            net.forward()
            for i, name in enumerate(blob_names):
                for value in _datums(net.blobs[name]):
                    dbs[i].put('%010d' % counts[i], value)
                    counts[i] += 1
                    if counts[i] % BATCH == 0:
                        log.info('Extracted features of %d query images for feature blob %s',
                                 counts[i], name)
    for name, count in zip(blob_names, counts):
        log.info('Extracted features of %d query images for feature blob %s', count, name)
    log.info('Successfully extracted the features!')
    return counts
