"""Exact resume: what a snapshot keeps besides the weights and the solver
history, so that a stopped and resumed run repeats the uninterrupted run's
losses and weights bit for bit (on the CPU).

Kept in the ``.solverstate`` itself, in the caffelite extension field
``SolverState.caffelite_resume`` (number 1000, see proto/caffe.proto): the
state is one file written atomically, a copied or renamed snapshot keeps
its position, and Caffe's reader skips the unknown field. It holds the
solver's random generator, each data layer's position (the next database
record, or the epoch's order and index of an image list or HDF5 rows, and
the layer's own generator) in the train and test nets, and the window of
losses behind the displayed, smoothed loss, and a digest of the weights
saved beside it, so that a learned_net rewritten since is refused. A
solverstate without it (one Caffe wrote) resumes as Caffe resumes: the data
layers start over.
"""
import hashlib
import logging

import numpy as np

from . import backend
from .backend import to_host
from .errors import SolverError
from .proto import caffe_pb2

log = logging.getLogger('caffelite.solver')


def rng_to_proto(state, message):
    """Fill a CaffeliteRandomState from a RandomState.get_state() tuple."""
    _, key, pos, has_gauss, cached = state
    message.key[:] = np.asarray(key, np.uint32).tolist()
    message.pos, message.has_gauss, message.cached_gaussian = int(pos), int(has_gauss), cached
    return message


def rng_from_proto(message):
    """The RandomState.set_state() tuple of a CaffeliteRandomState."""
    return ('MT19937', np.array(message.key, np.uint32), message.pos, message.has_gauss,
            message.cached_gaussian)


def _nets(solver):
    """(label, net) of the solver's train and test nets."""
    yield 'train', solver.net
    for i, net in enumerate(solver.test_nets):
        yield 'test%d' % i, net


def _positioned_layers(net):
    return [layer for layer in net.layers if hasattr(layer, 'position')]


def positions(solver):
    """{(net label, layer name): position} of every data layer."""
    return {(label, layer.name): layer.position() for label, net in _nets(solver)
            for layer in _positioned_layers(net)}


def capture(solver, data_positions=None):
    """The CaffeliteResumeState of ``solver`` now; ``data_positions``
    (from positions()) replaces the data layers' current ones."""
    state = caffe_pb2.CaffeliteResumeState()
    rng_to_proto(backend.rng().get_state(), state.solver_rng)
    for (label, name), where in (data_positions or positions(solver)).items():
        entry = state.data.add(net=label, layer=name)
        rng_to_proto(where['rng'], entry.rng)
        if 'key' in where:
            entry.key = where['key']
        if 'order' in where:
            entry.order[:] = np.asarray(where['order'], np.int64).tolist()
            entry.index = where['index']
        if 'list_digest' in where:
            entry.list_digest = where['list_digest']
    losses, smoothed = solver.loss_window()
    state.recent_losses[:] = losses
    state.smoothed_loss = smoothed
    state.weights_digest = weights_digest(solver.net)
    return state


def weights_digest(net):
    """SHA-256 of every layer's blobs of ``net`` (float32, in layer order):
    what a .caffemodel written from the net holds, whatever its format."""
    digest = hashlib.sha256()
    for layer in net.layers:
        for blob in layer.blobs:
            # the contiguous array itself, no bytes copy of the weights
            digest.update(np.ascontiguousarray(to_host(blob.xdata), np.float32))
    return digest.digest()


def check_weights(solver, state, where, weights):
    """Refuse to resume when the weights just loaded from ``weights`` are
    not those the solverstate ``where`` was saved with."""
    if state.HasField('weights_digest') and state.weights_digest != weights_digest(solver.net):
        raise SolverError(
            '%s: %s is not the weights file this solverstate was saved with (rewritten '
            'since, by a run killed mid-snapshot under the same snapshot_prefix?); resume '
            'from a snapshot whose two files belong together, or start from the weights '
            'with -weights' % (where, weights))


def restore(solver, state, where):
    """Put ``solver`` where a CaffeliteResumeState says (``where`` names
    the file in warnings).

    In a multi-GPU run every solver restores the snapshot rank 0 wrote. The
    other ranks keep their own random generators (seeded random_seed + rank,
    as Caffe's are) and take up only the positions of the sources whose
    records the solvers share out (LMDB, LevelDB, HDF5), which each turns into its
    own share; an image list, read whole by every solver, starts over on
    them, as Caffe's worker solvers start over."""
    worker = not backend.root_solver()
    if not worker:
        backend.rng().set_state(rng_from_proto(state.solver_rng))
    layers = {(label, layer.name): layer for label, net in _nets(solver)
              for layer in _positioned_layers(net)}
    for entry in state.data:
        layer = layers.pop((entry.net, entry.layer), None)
        if layer is None:
            log.warning('%s: no data layer %s in the %s net to resume; ignored',
                        where, entry.layer, entry.net)
            continue
        if worker and not getattr(layer, 'shares_records', False):
            log.info('solver rank %d: data layer %s of the %s net starts over',
                     backend.solver_rank(), entry.layer, entry.net)
            continue
        position = {'rng': layer.position()['rng'] if worker else rng_from_proto(entry.rng)}
        if entry.HasField('key'):
            position['key'] = entry.key
        else:
            position.update(order=np.array(entry.order, np.int64), index=entry.index)
        if entry.HasField('list_digest'):
            position['list_digest'] = entry.list_digest
        layer.seek(position)
    for label, name in layers:
        log.warning('%s: no position for data layer %s of the %s net; it starts over',
                    where, name, label)
    solver.resume_loss_window(list(state.recent_losses), state.smoothed_loss)
