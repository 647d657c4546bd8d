"""``caffelite train``: Caffe's ``caffe train`` with DIGITS' extras
(--epochs, a JSON-lines training log beside the snapshots, a progress bar)."""
import json
import logging
import math
import os
import signal
import sys

from .. import solver as solvers
from ..errors import CaffeError
from ..protoio import read_text
from ..proto import caffe_pb2
from ._common import add_gpu_flag, apply_gpu_flag, flag, setup_logging

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
         help='train for this many passes over the training data (sets max_iter)')
    flag(p, 'level', type=int, default=None, help='NetState level of the train net')
    flag(p, 'stage', default=None, help='comma-separated NetState stages of the train net')
    flag(p, 'log', default=None, help='JSON-lines log path (default: <snapshot_prefix>_log.jsonl)')
    add_gpu_flag(p)
    p.set_defaults(func=run)


class SignalActions:
    """Turns SIGINT/SIGHUP into solver requests, as Caffe's SignalHandler."""

    def __init__(self, sigint, sighup):
        self.pending = None
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
        if effect != 'none':
            self.pending = effect

    def __call__(self):
        request, self.pending = self.pending, None
        return request


def training_set_size(net):
    """Number of records behind the train net's data layer, when known."""
    for layer in net.layers:
        if getattr(layer, 'num_records', None):
            return layer.num_records
    return None


def load_param(args):
    param = read_text(args.solver, caffe_pb2.SolverParameter())
    from ..upgrade import upgrade_solver
    upgrade_solver(param)
    folder = os.path.dirname(os.path.abspath(args.solver))
    for field in ('net', 'train_net'):
        if param.HasField(field) and not os.path.isabs(getattr(param, field)) \
                and not os.path.exists(getattr(param, field)):
            setattr(param, field, os.path.join(folder, getattr(param, field)))
    if args.level is not None:
        param.train_state.level = args.level
    if args.stage:
        param.train_state.stage.extend(args.stage.split(','))
    return param


class JsonLog:
    """Appends one JSON object per solver event; adds epochs when known."""

    def __init__(self, path, iters_per_epoch):
        self.path = path
        self.iters_per_epoch = iters_per_epoch
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self.file = open(path, 'a')

    def __call__(self, event):
        if self.iters_per_epoch and 'iter' in event:
            event = dict(event, epoch=event['iter'] / self.iters_per_epoch)
        self.file.write(json.dumps(event) + '\n')
        self.file.flush()


def run(args):
    setup_logging()
    if args.snapshot and args.weights:
        raise CaffeError('give -snapshot or -weights, not both')
    apply_gpu_flag(args)
    param = load_param(args)
    with SignalActions(args.sigint_effect, args.sighup_effect) as actions:
        solver = solvers.get_solver(param, action_request=actions)
        batch = solver.net.blobs[solver.net._blob_names[0]].shape[0] if solver.net._blobs else 1
        size = training_set_size(solver.net)
        iters_per_epoch = size / (batch * param.iter_size) if size else None
        if args.epochs is not None:
            if not iters_per_epoch:
                raise CaffeError('--epochs needs a Data or ImageData layer to size an epoch')
            solver.param.max_iter = int(math.ceil(args.epochs * iters_per_epoch))
            log.info('%g epochs of %d images at batch %d: max_iter = %d', args.epochs,
                     size, batch * param.iter_size, solver.param.max_iter)
        log_path = args.log or (param.snapshot_prefix or 'caffelite') + '_log.jsonl'
        solver.listeners.append(JsonLog(log_path, iters_per_epoch))
        if args.weights:
            for path in args.weights.split(','):
                log.info('Finetuning from %s', path)
                solver.net.copy_from(path)
                for test_net in solver.test_nets:
                    test_net.copy_from(path)
        _attach_progress(solver)
        solver.solve(args.snapshot)
    return 0


def _attach_progress(solver):
    """A tqdm bar over iterations when stderr is an interactive terminal."""
    if not sys.stderr.isatty():
        return
    from tqdm import tqdm
    bar = tqdm(total=solver.param.max_iter, initial=solver.iter, unit='iter',
               dynamic_ncols=True, leave=False)
    solver.add_callback(lambda: None, lambda: bar.update(1))
