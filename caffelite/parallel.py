"""Multi-GPU training as Caffe does it (its parallel.cpp), through NCCL via
CuPy's bindings (``cupy.cuda.nccl``): one solver per GPU, each in its own
process, as BVLC's python/train.py drives them and ``caffelite train -gpu
0,1`` does.

``NCCL(solver, uid)`` joins a solver to the others made with the same
``uid`` (``NCCL.new_uid()``, made once by the parent process). It moves the
solver's learnable params into one device buffer for data and one for
diffs, so that one NCCL call covers them all. ``bcast()`` gives every
solver rank 0's weights. Registered with ``solver.add_callback(nccl)`` it
replaces each solver's gradients, before every update, by their sum over
the solvers times 1/solver_count; with the solver's ``layer_wise_reduce``
(on by default) it must also be registered with
``solver.net.after_backward(nccl)``, which reduces each layer's gradients
as soon as backward has produced them, on a stream of its own.

Each solver reads its own ``batch_size`` records (the Data and HDF5Data
layers split the records among solvers), so N solvers train as one solver
with N times the batch would. Only the root solver (rank 0) tests,
displays (its own smoothed loss, not an average over solvers) and
snapshots.
"""
import logging
import multiprocessing
import multiprocessing.connection
import signal
import time

import numpy as np

from . import backend
from .errors import CaffeRuntimeError

log = logging.getLogger('caffelite.parallel')

UID_BYTES = 128     # NCCL_UNIQUE_ID_BYTES


def _nccl():
    nccl = backend.nccl_or_none()
    if nccl is None:
        raise CaffeRuntimeError('multi-GPU training needs NCCL through CuPy '
                                '(cupy.cuda.nccl); pip install caffelite[gpu] with NCCL')
    return nccl


def _signed_chars(uid):
    """The 128 signed chars of an NCCL unique id given as bytes."""
    uid = bytes(uid)
    if len(uid) != UID_BYTES:
        raise CaffeRuntimeError('an NCCL uid has %d bytes, got %d' % (UID_BYTES, len(uid)))
    return tuple(b - 256 if b > 127 else b for b in uid)


class NCCL:
    """pycaffe's ``caffe.NCCL(solver, uid)``: this process's solver in a
    multi-GPU run. Set the device, GPU mode, ``set_solver_count`` and
    ``set_solver_rank`` before creating the solver and this."""

    @staticmethod
    def new_uid():
        """A new NCCL unique id, as bytes, to give every rank's NCCL. It
        does not touch CUDA, so the parent can call it before forking."""
        return bytes(c & 0xFF for c in _nccl().get_unique_id())

    def __init__(self, solver, uid):
        if backend.mode() != backend.GPU:
            raise CaffeRuntimeError('NCCL needs GPU mode: call caffe.set_device(id) and '
                                    'caffe.set_mode_gpu() before creating the solver')
        nccl = _nccl()
        import cupy
        self.solver = solver
        self.count, self.rank = backend.solver_count(), backend.solver_rank()
        params = solver.net.learnable_params
        self.size = max(1, sum(p.count for p in params))     # NCCL needs one element
        self.data = cupy.zeros(self.size, np.float32)
        self.diff = cupy.zeros(self.size, np.float32)
        self.regions = {}       # id(param Blob) -> (start, end) in the buffers
        start = 0
        for blob in params:
            end = start + blob.count
            blob.use_device_storage(self.data[start:end], self.diff[start:end])
            self.regions[id(blob)] = (start, end)
            start = end
        self.layer_wise = solver.param.layer_wise_reduce
        self.stream = None
        if self.layer_wise:
            self._check_layer_wise()
            self.stream = cupy.cuda.Stream(non_blocking=True)
        backend.set_multiprocess(True)
        self.comm = nccl.NcclCommunicator(self.count, _signed_chars(uid), self.rank)
        self._layers_reduced = 0

    def _check_layer_wise(self):
        """Layer-wise reduction takes each layer's params as one stretch of
        the buffer, which shared params break (Caffe checks the same)."""
        net = self.solver.net
        if sum(len(layer.blobs) for layer in net.layers) != len(net.learnable_params):
            raise CaffeRuntimeError('Layer-wise reduce is not supported for nets with shared '
                                    'weights; set layer_wise_reduce: false in the solver')

    def _reduce(self, start, end, stream):
        """Sum ``diff[start:end]`` over the solvers, then scale by 1/count."""
        nccl = _nccl()
        region = self.diff[start:end]
        self.comm.allReduce(region.data.ptr, region.data.ptr, end - start, nccl.NCCL_FLOAT32,
                            nccl.NCCL_SUM, stream.ptr)
        with stream:
            region *= np.float32(1.0 / self.count)

    def bcast(self):
        """Overwrite every solver's weights with rank 0's."""
        import cupy
        nccl = _nccl()
        stream = cupy.cuda.get_current_stream()
        self.comm.bcast(self.data.data.ptr, self.size, nccl.NCCL_FLOAT32, 0, stream.ptr)
        stream.synchronize()

    # --- solver callback ---------------------------------------------------
    def on_start(self):
        self._layers_reduced = 0

    def on_gradients_ready(self):
        import cupy
        if not self.layer_wise:
            self._reduce(0, self.size, cupy.cuda.get_current_stream())
            return
        if not self._layers_reduced and self.solver.net.learnable_params:
            raise CaffeRuntimeError('layer_wise_reduce is set but no layer was reduced: '
                                    'register the NCCL with solver.net.after_backward(nccl) '
                                    'too, or set layer_wise_reduce: false')
        self.stream.synchronize()

    # --- net callback (after_backward) -----------------------------------------
    def run(self, layer):
        """Reduce layer ``layer``'s param diffs (layer-wise reduction)."""
        import cupy
        if not self.layer_wise:
            raise CaffeRuntimeError('NCCL registered with after_backward but the solver has '
                                    'layer_wise_reduce: false')
        blobs = self.solver.net.layers[layer].blobs
        if not len(blobs):
            return
        # The layer's gradients are being written on the current stream.
        cupy.cuda.get_current_stream().synchronize()
        start, end = self.regions[id(blobs[0])][0], self.regions[id(blobs[-1])][1]
        self._reduce(start, end, self.stream)
        self._layers_reduced += 1


def join(solver, uid):
    """What BVLC's train.py does with a new solver: its NCCL, rank 0's
    weights, and the gradient reduction hooked in. Returns the NCCL."""
    nccl = NCCL(solver, uid)
    nccl.bcast()
    solver.add_callback(nccl)
    if solver.param.layer_wise_reduce:
        solver.net.after_backward(nccl)
    return nccl


def become_rank(gpus, rank):
    """Set up this process as solver ``rank`` on GPU ``gpus[rank]``."""
    backend.set_device(gpus[rank])
    backend.set_mode_gpu()
    backend.set_solver_count(len(gpus))
    backend.set_solver_rank(rank)
    backend.set_multiprocess(True)


# Fresh interpreters for the solver processes: a forked child cannot use a
# CUDA context its parent has made (and asking for the device count makes one).
START_METHOD = 'spawn'
# How long the other ranks may run on once rank 0 is done: after an early
# stop they wait in an all-reduce that rank 0 will not join.
GRACE_SECONDS = 10.0


def _rank_entry(target, rank, args):
    # Ctrl-C and SIGHUP reach the whole process group; the parent handles them.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, 'SIGHUP'):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    target(rank, *args)


def run_ranks(target, count, args=(), poll=None, interval=0.1):
    """Run ``target(rank, *args)`` in ``count`` processes and wait for them.
    ``poll()``, when given, is called every ``interval`` seconds meanwhile
    (to pass on signals). If a rank fails the others are stopped and a
    CaffeRuntimeError names it; once rank 0 is done, ranks still running
    after GRACE_SECONDS are stopped."""
    context = multiprocessing.get_context(START_METHOD)
    procs = [context.Process(target=_rank_entry, args=(target, rank, args),
                             name='caffelite-rank-%d' % rank, daemon=True)
             for rank in range(count)]
    for proc in procs:
        proc.start()
    try:
        _wait(procs, poll, interval)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
            proc.join()


def _wait(procs, poll, interval):
    root_done_at = None
    while True:
        # Exit codes are read after the liveness check, so that ranks that
        # all fail at once (each refusing the same missing database) are
        # still seen as failed, not as a run that ended.
        alive = [proc for proc in procs if proc.is_alive()]
        for rank, proc in enumerate(procs):
            if proc.exitcode not in (None, 0):
                raise CaffeRuntimeError('solver rank %d failed (exit code %d); stopped the '
                                        'others' % (rank, proc.exitcode))
        if not alive:
            return
        if root_done_at is not None and time.monotonic() - root_done_at > GRACE_SECONDS:
            log.info('rank 0 is done; stopping the ranks still waiting for it')
            return
        multiprocessing.connection.wait([p.sentinel for p in alive], interval)
        if poll is not None:
            poll()
        if procs[0].exitcode == 0 and root_done_at is None:
            root_done_at = time.monotonic()
