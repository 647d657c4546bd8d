"""Reading and writing ``.solverstate`` files in Caffe's two formats.

A name ending in ``.h5`` is Caffe's HDF5 layout (``snapshot_format: HDF5``
writes ``<prefix>_iter_N.solverstate.h5``): scalar int datasets ``iter``
and ``current_step``, a null-terminated string ``learned_net``, and the
history blobs as float datasets ``history/0``, ``history/1``... Any other
name is a binary SolverState. caffelite's resume extension
(caffelite.resume) travels in both: field 1000 of the proto, or its
serialized bytes in an HDF5 dataset ``caffelite_resume`` that Caffe's
reader does not look at. Either way the file appears only when complete.
"""
import os

import numpy as np

from . import codec, protoio
from .errors import CaffeError
from .proto import caffe_pb2


def is_hdf5(path):
    return str(path).endswith('.h5')


def write(path, state):
    """Save a SolverState message at ``path`` in the format its name says."""
    if not is_hdf5(path):
        protoio.write_binary(path, state)
        return
    import h5py
    with protoio.atomic_open(path, 'wb') as f, h5py.File(f, 'w') as h5:
        h5['iter'] = np.int32(state.iter)
        # H5LTmake_dataset_string's layout: fixed length, the NUL included
        name = state.learned_net.encode() + b'\0'
        h5['learned_net'] = np.array(name, dtype='S%d' % len(name))
        h5['current_step'] = np.int32(state.current_step)
        history = h5.create_group('history')
        for i, blob in enumerate(state.history):
            history[str(i)] = codec.blobproto_to_array(blob).astype(np.float32)
        if state.HasField('caffelite_resume'):
            h5['caffelite_resume'] = np.void(state.caffelite_resume.SerializeToString())


def read(path):
    """The SolverState message of the file at ``path``, in either format."""
    if not is_hdf5(path):
        if not os.path.exists(path) and os.path.exists(path + '.h5'):
            raise CaffeError('%s: no such file; %s.h5 is there (snapshot_format: HDF5 '
                             'names solverstates so)' % (path, path))
        state = protoio.read_binary(path, caffe_pb2.SolverState())
        if not state.learned_net and not len(state.history):
            # a solverstate always names its weights and holds a history blob
            # per parameter; a .caffemodel given by mistake parses too
            raise CaffeError('%s is not a solverstate (no learned_net, no history): '
                             'weights to start from go to -weights' % path)
        return state
    import h5py
    try:
        with h5py.File(path, 'r') as h5:
            state = caffe_pb2.SolverState(
                iter=int(h5['iter'][()]),
                learned_net=bytes(h5['learned_net'][()]).rstrip(b'\0').decode())
            if 'current_step' in h5:
                state.current_step = int(h5['current_step'][()])
            history = h5.get('history', {})
            for i in range(len(history)):
                state.history.add().CopyFrom(codec.array_to_blobproto(history[str(i)][()]))
            if 'caffelite_resume' in h5:
                state.caffelite_resume.ParseFromString(h5['caffelite_resume'][()].tobytes())
            return state
    except (OSError, KeyError) as e:
        raise CaffeError('%s: not a Caffe HDF5 solverstate (%s)' % (path, e)) from None
