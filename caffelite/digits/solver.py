"""``solver.prototxt`` from DIGITS' model form (DIGITS' CaffeTrainTask).

Epochs become iterations: ``train_iter = ceil(train images / (batch *
batch accumulation))`` per epoch and ``max_iter = train_iter * epochs``.
Snapshot and validation intervals are in epochs; learning-rate policy
parameters in % of training (``scale = max_iter / 100``). Weight decay is
``base_lr / 100`` and momentum 0.9 (for the solvers that use it).
"""
import math

from ..errors import CaffeError
from ..proto import caffe_pb2
# DIGITS' solver_type choices are the names of Caffe's old SolverType enum,
# which the upgrade of V1 solver files maps to ``type`` names already.
from ..upgrade import SOLVER_TYPES
NO_MOMENTUM = ('ADAGRAD', 'RMSPROP')
LR_POLICIES = ('fixed', 'step', 'multistep', 'exp', 'inv', 'poly', 'sigmoid')
# Each policy's form fields and their defaults, in % of training.
LR_POLICY_DEFAULTS = {
    'fixed': {},
    'step': {'stepsize': 33.0, 'gamma': 0.1},
    'multistep': {'stepvalue': '50,85', 'gamma': 0.5},
    'exp': {'gamma': 0.95},
    'inv': {'gamma': 0.1, 'power': 0.5},
    'poly': {'power': 3.0},
    'sigmoid': {'stepsize': 50.0, 'gamma': 0.1},
}


def interval_iterations(epochs, train_iter, max_iter, at_end):
    """An interval in epochs as iterations, DIGITS' rounding: at least 1,
    truncated when shorter than training, else ``at_end``."""
    iterations = epochs * train_iter
    if 0 < iterations <= 1:
        return 1
    if 1 < iterations < max_iter:
        return int(iterations)
    return at_end


def apply_lr_policy(solver, policy):
    """Set ``lr_policy`` and its fields from ``policy`` ({'policy': name,
    its fields in % of training}) scaled to ``solver.max_iter``."""
    name = policy['policy']
    if name not in LR_POLICIES:
        raise CaffeError('unknown lr_policy %r (use one of %s)' % (name, ', '.join(LR_POLICIES)))
    solver.lr_policy = name
    scale = solver.max_iter / 100.0
    if name in ('step', 'sigmoid'):
        solver.stepsize = int(math.ceil(float(policy['stepsize']) * scale))
    if name in ('step', 'multistep'):
        solver.gamma = policy['gamma']
    if name == 'multistep':
        solver.stepvalue.extend(int(math.ceil(float(v) * scale))
                                for v in str(policy['stepvalue']).split(','))
    elif name == 'exp':
        solver.gamma = math.pow(policy['gamma'], 1.0 / scale)
    elif name == 'inv':
        solver.gamma = policy['gamma'] / scale
    elif name == 'sigmoid':
        solver.gamma = -policy['gamma'] / scale
    if name in ('inv', 'poly'):
        solver.power = policy['power']


def epoch_schedule(solver, train_count, val_count, train_batch, val_batch, train_epochs,
                   snapshot_interval=1.0, val_interval=1.0):
    """Set ``solver``'s max_iter, snapshot, display, test_iter and
    test_interval for ``train_epochs`` epochs as DIGITS does (intervals in
    epochs; ``val_count`` 0 or ``val_batch`` None: no validation; the
    solver's iter_size is the batch accumulation). ``caffelite train
    --epochs`` uses it too."""
    train_iter = int(math.ceil(float(train_count) / (train_batch * solver.iter_size)))
    solver.max_iter = int(math.ceil(train_iter * train_epochs))
    solver.snapshot = interval_iterations(snapshot_interval, train_iter, solver.max_iter, 0)
    if val_count and val_batch and val_interval:
        del solver.test_iter[:]
        solver.test_iter.append(int(math.ceil(float(val_count) / val_batch)))
        solver.test_interval = interval_iterations(val_interval, train_iter, solver.max_iter,
                                                   solver.max_iter)
    # Display 8 times an epoch, or once per 5000 images if that is more often.
    solver.display = max(1, min(
        int(math.floor(float(solver.max_iter) / (train_epochs * 8))),
        int(math.ceil(5000.0 / (train_batch * solver.iter_size)))))
    return solver


def digits_solver(train_count, val_count, train_batch, val_batch, train_epochs=30,
                  snapshot_interval=1.0, val_interval=1.0, learning_rate=0.01,
                  lr_policy=None, solver_type='SGD', batch_accumulation=None,
                  rms_decay=0.99, random_seed=None, gpu=False):
    """The SolverParameter DIGITS writes for a model of ``train_epochs``
    epochs over ``train_count`` training and ``val_count`` validation
    images at batch sizes ``train_batch`` / ``val_batch`` (val_batch None:
    no validation). ``lr_policy`` is {'policy': name, ...}, default step."""
    if solver_type not in SOLVER_TYPES:
        raise CaffeError('unknown solver_type %r (use one of %s)'
                         % (solver_type, ', '.join(SOLVER_TYPES)))
    if train_count <= 0:
        raise CaffeError('the dataset has no training images')
    solver = caffe_pb2.SolverParameter(net='train_val.prototxt', snapshot_prefix='snapshot',
                                       type=SOLVER_TYPES[solver_type])
    solver.solver_mode = caffe_pb2.SolverParameter.GPU if gpu else caffe_pb2.SolverParameter.CPU
    if batch_accumulation:
        solver.iter_size = batch_accumulation
    epoch_schedule(solver, train_count, val_count, train_batch, val_batch, train_epochs,
                   snapshot_interval, val_interval)
    solver.base_lr = learning_rate
    apply_lr_policy(solver, lr_policy or dict(LR_POLICY_DEFAULTS['step'], policy='step'))
    if solver_type not in NO_MOMENTUM:
        solver.momentum = 0.9
    solver.weight_decay = solver.base_lr / 100.0
    if solver_type == 'RMSPROP':
        solver.rms_decay = rms_decay
    if random_seed is not None:
        solver.random_seed = random_seed
    return solver


def snapshot_epoch(iteration, max_iter, train_epochs):
    """The epoch DIGITS labels ``snapshot_iter_<iteration>`` with: 3
    decimals, an int when whole."""
    epoch = round(float(iteration) / (float(max_iter) / train_epochs), 3)
    return int(epoch) if epoch == math.ceil(epoch) else epoch
