"""Pictures for the pages: images as ``data:`` URIs, and a gallery of a
dataset's LMDB or HDF5 databases (DIGITS' "Explore the db" page: one page of
images at a time, optionally of one class)."""
import base64
import os
import threading

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from .. import codec
from ..digits import hdf5_db
from ..errors import CaffeError
from ..textfile import read_lines
from ..lmdbs import open_readonly
from ..proto import caffe_pb2
from ..tools.dataset import SPLITS
from ..images import encode, read_like_digits, resize_like_digits
from . import datasets, jobs
from .views_jobs import get_job, server
from .web import render

THUMBNAIL = 96
PAGE_SIZES = (10, 25, 50, 100)
_MIME = ((b'\x89PNG', 'image/png'), (b'\xff\xd8', 'image/jpeg'))


def data_uri(pixels):
    """A PNG ``data:`` URI of H x W (gray) or H x W x 3 (RGB) uint8 pixels."""
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    return 'data:image/png;base64,' + base64.b64encode(encode(pixels, 'png')).decode('ascii')


def datum_uri(datum):
    """A ``data:`` URI of a Datum's image: its PNG/JPEG bytes as they are,
    raw BGR bytes encoded as PNG, float data (16-bit DICOM pixels...)
    stretched from its least to its greatest value over 0-255."""
    if datum.encoded:
        for magic, mime in _MIME:
            if datum.data.startswith(magic):
                return 'data:%s;base64,%s' % (mime, base64.b64encode(datum.data).decode('ascii'))
    chw = codec.datum_to_array(datum)
    if chw.dtype != np.uint8:
        low, span = chw.min(), np.ptp(chw)
        chw = np.rint((chw - low) * (255.0 / span if span else 0))
    pixels = chw[0] if chw.shape[0] == 1 else chw[::-1].transpose(1, 2, 0)
    return data_uri(np.ascontiguousarray(pixels).astype(np.uint8))


def file_thumbnail(path, size=THUMBNAIL):
    """A PNG ``data:`` URI of the image file ``path`` shrunk to fit size x
    size, or None when it cannot be read."""
    try:
        pixels = read_like_digits(path, True)
    except CaffeError:
        return None
    h, w = pixels.shape[:2]
    scale = min(1.0, size / float(max(h, w)))
    return data_uri(resize_like_digits(pixels, max(1, round(h * scale)),
                                       max(1, round(w * scale))))


class DbIndex:
    """The keys and labels of an LMDB's records, in key order, read once per
    database (and again when its data file changes)."""
    _cache = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, db_path):
        data_file = os.path.join(db_path, 'data.mdb')
        stamp = os.path.getmtime(data_file) if os.path.exists(data_file) else None
        with cls._lock:
            cached = cls._cache.get(db_path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, cls._read(db_path))
                cls._cache[db_path] = cached
            return cached[1]

    @staticmethod
    def _read(db_path):
        keys, labels = [], []
        datum = caffe_pb2.Datum()
        with open_readonly(db_path).begin() as txn:
            for key, value in txn.cursor():
                datum.ParseFromString(value)
                keys.append(key)
                labels.append(datum.label)
        return keys, np.array(labels, dtype=np.int64)


def hdf5_page(db_path, page, size, label=None):
    """:func:`db_page` of a DIGITS HDF5 folder (its list.txt's files, in
    order); the key of an image is ``<file>:<row>``."""
    import h5py
    files = [line.strip() for line in read_lines(os.path.join(db_path, hdf5_db.LIST_FILE))
             if line.strip()]
    rows, labels = [], []
    for path in files:
        with h5py.File(path, 'r') as h5:
            found = np.asarray(h5['label'], np.int64)
        rows += [(path, row) for row in range(len(found))]
        labels.append(found)
    labels = np.concatenate(labels) if labels else np.zeros(0, np.int64)
    chosen = np.arange(len(rows)) if label is None else np.flatnonzero(labels == label)
    images = []
    for index in chosen[page * size:(page + 1) * size]:
        path, row = rows[index]
        with h5py.File(path, 'r') as h5:
            chw = np.asarray(h5['data'][row])
        pixels = chw[0] if chw.shape[0] == 1 else chw[::-1].transpose(1, 2, 0)
        images.append({'key': '%s:%d' % (os.path.basename(path), row),
                       'label': int(labels[index]),
                       'src': data_uri(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))})
    return {'images': images, 'total': int(len(chosen))}


def db_page(db_path, page, size, label=None):
    """One page of a database's gallery: {'images': [{'key', 'label',
    'src'}], 'total': records matching ``label`` (all when None)}. An LMDB,
    or a DIGITS HDF5 folder (holding list.txt)."""
    if os.path.isfile(os.path.join(db_path, hdf5_db.LIST_FILE)):
        return hdf5_page(db_path, page, size, label)
    keys, labels = DbIndex.of(db_path)
    chosen = np.arange(len(keys)) if label is None else np.flatnonzero(labels == label)
    images = []
    datum = caffe_pb2.Datum()
    with open_readonly(db_path).begin() as txn:
        for index in chosen[page * size:(page + 1) * size]:
            datum.ParseFromString(txn.get(keys[index]))
            images.append({'key': keys[index].decode('utf-8', 'replace'),
                           'label': int(labels[index]), 'src': datum_uri(datum)})
    return {'images': images, 'total': int(len(chosen))}


def _int_arg(request, name, default, low=0):
    text = request.query_params.get(name, '').strip()
    if not text:
        return default
    if not text.lstrip('-').isdigit() or int(text) < low:
        raise HTTPException(400, '%s must be a whole number of at least %d' % (name, low))
    return int(text)


def _finished_dataset(request):
    job = get_job(request, request.query_params.get('job_id', ''), 'dataset')
    if job['status'] != jobs.DONE:
        # DIGITS answers this with a server error (500) whose text its tests look for
        raise HTTPException(500, 'dataset %s is %s: its status should be Done to explore it'
                            % (job['id'], job['status']))
    return job


async def _explore_page(request, job, db, dbs, db_path, names):
    """The gallery page of ``db`` (one of ``dbs``, at ``db_path``) of a
    dataset job whose classes are ``names`` ([]: no classes)."""
    if db not in dbs or not os.path.isdir(db_path):
        raise HTTPException(404, 'dataset %s has no %s database' % (job['id'], db))
    page, size = _int_arg(request, 'page', 0), _int_arg(request, 'size', 25, 1)
    label = _int_arg(request, 'label', None)
    try:
        found = await run_in_threadpool(db_page, db_path, page, min(size, 500), label)
    except CaffeError as e:
        raise HTTPException(400, str(e)) from None
    pages = max(1, -(-found['total'] // size))
    return render(request, 'datasets/images/classification/explore.html', dict(
        found, job_id=job['id'], name=job['name'], db=db, dbs=dbs, page=page, size=size,
        label=label, labels=names, pages=pages, page_sizes=PAGE_SIZES))


async def explore(request):
    """GET /datasets/images/classification/explore?job_id&db&page&size&label
    (DIGITS' route): a page of one database's images with their labels."""
    job = _finished_dataset(request)
    db = request.query_params.get('db', 'train')
    folder = server(request).store.path(job['id'])
    return await _explore_page(request, job, db, SPLITS, os.path.join(folder, db + '_db'),
                               datasets.read_labels(folder))


# the image databases of an object-detection dataset, as DIGITS names them
DETECTION_DBS = ('train_db/features', 'val_db/features')


async def explore_generic(request):
    """GET /datasets/generic/explore?job_id&db=train_db/features&page&size
    (DIGITS' route): a page of an object-detection dataset's images."""
    job = _finished_dataset(request)
    db = request.query_params.get('db', DETECTION_DBS[0])
    folder = server(request).store.path(job['id'])
    return await _explore_page(request, job, db, DETECTION_DBS, os.path.join(folder, db), [])
