"""``caffelite train``: Caffe's ``caffe train`` with DIGITS' extras
(--epochs, a JSON-lines training log beside the snapshots, a progress bar)."""
import json
import logging
import os
import signal
import sys

from .. import solver as solvers
from ..errors import CaffeError
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


def load_param(args):
    """The solver file through the library's loader, with -level and -stage
    set on the train net's state as ``caffe train`` does."""
    param = solvers.load_solver_param(args.solver)
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
        if args.epochs is not None:
            solver.set_epochs(args.epochs)
        log_path = args.log or (param.snapshot_prefix or 'caffelite') + '_log.jsonl'
        solver.listeners.append(JsonLog(log_path, solver.iterations_per_epoch()))
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
