"""``caffelite train``: Caffe's ``caffe train`` (``-gpu 0,1`` or ``all``
trains on several GPUs as Caffe does) with DIGITS' extras (--epochs on
DIGITS' schedule, a JSON-lines training log beside the snapshots, a
progress bar on a terminal, the model folder of caffelite.model_folder).
One run at a time uses a snapshot prefix (caffelite.run_lock)."""
import json
import logging
import multiprocessing
import os
import signal
import sys

from .. import backend, parallel
from .. import solver as solvers
from ..errors import CaffeError
from ..model_folder import write_model_folder
from ..progress import progress_bar
from ..protoio import atomic_open, remove_stale_temps, writes_named
from ..run_lock import prefix_lock
from ._common import (accept_caffe_flags, add_python_layers_flag, apply_gpu_flag, flag,
                      log_training_gpus, parse_gpus, setup_logging)

log = logging.getLogger('caffelite.train')
EFFECTS = ('stop', 'snapshot', 'none')


def register(subparsers):
    p = subparsers.add_parser('train', help='train a network from a solver.prototxt')
    flag(p, 'solver', required=True, help='the solver definition (solver.prototxt)')
    flag(p, 'weights', default=None,
         help='comma-separated .caffemodel files to initialize from (fine-tuning)')
    flag(p, 'snapshot', default=None, help='a .solverstate to resume from')
    flag(p, 'sigint_effect', default='stop', choices=EFFECTS,
         help='what Ctrl-C does: stop (after a snapshot), snapshot and go on, or none')
    flag(p, 'sighup_effect', default='snapshot', choices=EFFECTS,
         help='what SIGHUP does')
    flag(p, 'epochs', type=float, default=None,
         help="train for this many passes over the training data, on DIGITS' schedule "
              '(max_iter; snapshot and test every epoch, test_iter covering the validation '
              'data, display 8 times an epoch; a test at the end)')
    flag(p, 'level', type=int, default=0,
         help="NetState level of the train net (replaces the solver file's, as Caffe's)")
    flag(p, 'stage', default=None, help='comma-separated NetState stages of the train net')
    flag(p, 'log', default=None, help='JSON-lines log path (default: <snapshot_prefix>_log.jsonl)')
    flag(p, 'gpu', default=None,
         help="GPU ids: 0 or 0,1,... or 'all'; several train together as in Caffe "
              "(omit for CPU)")
    add_python_layers_flag(p)
    accept_caffe_flags(p)
    p.set_defaults(func=run)


class SignalActions:
    """Turns SIGINT/SIGHUP into solver requests, as Caffe's SignalHandler."""

    def __init__(self, sigint, sighup):
        self.pending = []
        self.effects = {signal.SIGINT: sigint}
        if hasattr(signal, 'SIGHUP'):
            self.effects[signal.SIGHUP] = sighup
        self.previous = {}

    def __enter__(self):
        for sig in self.effects:
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, sig, frame):
        effect = self.effects[sig]
        if effect != 'none' and effect not in self.pending:
            self.pending.append(effect)   # both signals may be pending at once

    def __call__(self):
        return self.pending.pop(0) if self.pending else None


def load_param(args):
    """The solver file through the library's loader, with -level and -stage
    set on the train net's state and -weights replacing the file's
    ``weights`` (which resuming from -snapshot drops), as ``caffe train``
    does."""
    param = solvers.load_solver_param(args.solver)
    if args.snapshot or args.weights:
        del param.weights[:]
    if args.weights:
        param.weights.append(args.weights)
    # caffe.cpp sets the level whether -level is given or not (default 0), and adds
    # the pieces of -stage split at commas: without -stage, the one empty stage ""
    param.train_state.level = args.level
    param.train_state.stage.extend((args.stage or '').split(','))
    if args.gpu is not None:
        param.device_id = parse_gpus(args.gpu)[0]     # caffe.cpp's set_device_id(gpus[0])
    return param


class JsonLog:
    """Writes one JSON object per solver event; adds epochs when known. A new
    run starts a new log; a resumed run continues its log from the first
    iteration it logs, dropping what the stopped run logged from there on
    (but the snapshot it was resumed from)."""

    def __init__(self, path, iters_per_epoch, resuming=False):
        self.path = path
        self.iters_per_epoch = iters_per_epoch
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.file = open(path, 'a' if resuming else 'w')
        self.resuming = resuming

    def _keep_before(self, iteration):
        """Rewrite the log without the events from ``iteration`` on."""
        self.file.close()
        with open(self.path) as f:
            kept = [line for line in f if _before(line, iteration)]
        with atomic_open(self.path, 'w') as f:
            f.writelines(kept)
        self.file = open(self.path, 'a')

    def __call__(self, event):
        if self.resuming and 'iter' in event:
            self._keep_before(event['iter'])
            self.resuming = False
        if self.iters_per_epoch and 'iter' in event:
            event = dict(event, epoch=event['iter'] / self.iters_per_epoch)
        with writes_named(self.path):
            self.file.write(json.dumps(event) + '\n')
            self.file.flush()


def _before(line, iteration):
    """Whether a log line precedes a run resumed at ``iteration``."""
    try:
        event = json.loads(line)
    except ValueError:
        return False
    return event.get('iter', 0) < iteration or (event.get('iter') == iteration
                                                 and event.get('phase') == 'snapshot')


def run(args):
    setup_logging()
    if args.snapshot and args.weights:
        raise CaffeError('give -snapshot or -weights, not both')
    param = load_param(args)
    args.gpu = gpu_of(args.gpu, param)
    with prefix_lock(param.snapshot_prefix):
        # what a killed run of this prefix left half-written
        remove_stale_temps(os.path.dirname(os.path.abspath(param.snapshot_prefix)))
        gpus = parse_gpus(args.gpu)
        if len(gpus) > 1:
            return train_on_gpus(args, gpus)
        apply_gpu_flag(args, train=True)
        with SignalActions(args.sigint_effect, args.sighup_effect) as actions:
            solver = build_solver(args, actions)
            if args.snapshot:
                log.info('Resuming from %s', args.snapshot)
            log.info('Starting Optimization')
            solver.solve(args.snapshot)
    log.info('Optimization Done.')
    return 0


def gpu_of(flag_value, param):
    """The -gpu flag, else the solver file's ``solver_mode: GPU`` (on its
    ``device_id``), as ``caffe train`` reads them; a solver file asking for
    a GPU on a machine without one trains on the CPU, saying so."""
    if flag_value is not None or not param.HasField('solver_mode') \
            or param.solver_mode != param.GPU:
        return flag_value
    if not backend.gpu_available():
        log.info('The solver asks for solver_mode: GPU, but there is no CUDA device '
                 '(CuPy with a GPU): training on the CPU')
        return None
    return str(param.device_id)


def build_solver(args, action_request=None):
    """The solver of ``args`` (-weights loaded) with the DIGITS extras:
    --epochs, the JSON log and a progress bar (on the root solver)."""
    param = load_param(args)
    solver = solvers.get_solver(param, action_request=action_request, where=args.solver)
    if args.epochs is not None:
        solver.set_epochs(args.epochs)
    if backend.root_solver():
        log_path = args.log or (param.snapshot_prefix or 'caffelite') + '_log.jsonl'
        solver.listeners.append(JsonLog(log_path, solver.iterations_per_epoch(),
                                        resuming=bool(args.snapshot)))
        _attach_progress(solver)
        write_model_folder(solver, os.path.dirname(os.path.abspath(param.snapshot_prefix)))
    return solver


# Solver requests passed from the parent, which receives the signals, to rank 0.
REQUESTS = (None, 'stop', 'snapshot')


def train_on_gpus(args, gpus):
    """Caffe's multi-GPU training: one solver process per GPU, joined by
    NCCL (caffelite.parallel); rank 0 tests, logs and snapshots."""
    log_training_gpus(gpus)
    uid = parallel.NCCL.new_uid()
    request = multiprocessing.get_context(parallel.START_METHOD).Value('i', 0)
    with SignalActions(args.sigint_effect, args.sighup_effect) as actions:
        def pass_on_signals():
            pending = actions()
            if pending:
                request.value = REQUESTS.index(pending)
        parallel.run_ranks(_train_rank, len(gpus), (args, gpus, uid, request),
                           poll=pass_on_signals)
    log.info('Optimization Done.')
    return 0


def _train_rank(rank, args, gpus, uid, request):
    """One solver process of ``train_on_gpus`` (as Caffe's NCCL::Run and
    its Workers: all restore the snapshot, rank 0 solves, the others step)."""
    setup_logging()
    try:
        parallel.become_rank(gpus, rank)

        def take_request():
            with request.get_lock():
                code, request.value = request.value, 0
            return REQUESTS[code]
        solver = build_solver(args, take_request if rank == 0 else None)
        if args.snapshot:
            solver.restore(args.snapshot)
        parallel.join(solver, uid)
        if rank == 0:
            solver.solve()
        else:
            solver.step(solver.param.max_iter - solver.iter)
    except CaffeError as e:
        print('caffelite train: error (solver rank %d): %s' % (rank, e), file=sys.stderr)
        sys.exit(1)


def _attach_progress(solver):
    """A bar over iterations, drawn when stderr is a terminal."""
    bar = progress_bar(total=solver.param.max_iter, unit='iter', leave=False)
    # the iteration it has reached, after a resume too
    solver.add_callback(lambda: None, lambda: bar.update(solver.iter + 1 - bar.n))
