"""Caffe's HDF5 solver state, ``<prefix>_iter_N.solverstate.h5``, written
when the solver says ``snapshot_format: HDF5``.

Caffe's layout (SGDSolver::SnapshotSolverStateToHDF5): scalar int datasets
``iter`` and ``current_step``, a string dataset ``learned_net`` (the
weights file) and a group ``history`` with one float dataset per history
blob, named ``0``, ``1``... caffelite's resume extension (data positions,
random state; SolverState field 1000 in the binary form) is kept in one
more dataset, an opaque byte string that Caffe's reader never looks at.
"""
import numpy as np

from . import protoio
from .proto import caffe_pb2

RESUME = 'caffelite_resume'


def is_hdf5_state(path):
    """True for a state file Caffe's Solver::Restore reads as HDF5."""
    return path.endswith('.h5')


def write(path, state, history):
    """Write SolverState ``state`` (its history given as the arrays
    ``history``, not as its BlobProtos) to ``path`` atomically."""
    import h5py
    with protoio.atomic_open(path, 'wb') as f, h5py.File(f, 'w') as h5:
        h5['iter'] = np.int32(state.iter)
        h5['learned_net'] = np.bytes_(state.learned_net.encode())
        h5['current_step'] = np.int32(state.current_step)
        group = h5.create_group('history')
        for i, values in enumerate(history):
            group[str(i)] = np.asarray(values, np.float32)
        if state.HasField('caffelite_resume'):
            h5[RESUME] = np.void(state.caffelite_resume.SerializeToString())


def read(path):
    """(SolverState without history, [history arrays in order]) of the HDF5
    state file ``path``."""
    import h5py
    state = caffe_pb2.SolverState()
    with h5py.File(path, 'r') as h5:
        state.iter = int(h5['iter'][()])
        state.current_step = int(h5['current_step'][()]) if 'current_step' in h5 else 0
        if 'learned_net' in h5:
            name = h5['learned_net'][()]
            state.learned_net = name.decode() if isinstance(name, bytes) else str(name)
        group = h5['history']
        history = [group[k][...] for k in sorted(group, key=int)]
        if RESUME in h5:
            state.caffelite_resume.ParseFromString(h5[RESUME][()].tobytes())
    return state, history
