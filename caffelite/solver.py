"""Solvers: Caffe's training loop and its six update rules.

``Solver`` reproduces Caffe's Solver::Step (clear diffs, periodic testing,
``iter_size`` forward/backward passes, smoothed loss, display, update,
snapshots) and SGDSolver::ApplyUpdate (learning-rate policy, gradient
clipping, normalization, L1/L2 regularization); subclasses only differ in
``update_rule`` and in how many history blobs they keep.
"""
import logging
import math
import os
import time

import numpy as np

from . import backend, divergence, net_log, net_outputs, protoio, resume, solverstate, upgrade
from .blob import Blob
from .digits.solver import epoch_schedule
from .errors import CaffeRuntimeError, DivergenceError, MissingFileError, SolverError
from .layers import python as python_layers
from .net import Net, TEST, TRAIN, load_net_param, located_in
from .ops import solver_updates as updates
from .proto import caffe_pb2
from .registry import Registry
from .weights import load_net_weights

log = logging.getLogger('caffelite.solver')

_SOLVERS = Registry()
_solver = _SOLVERS.register


def load_solver_param(source):
    """A SolverParameter from a path, prototxt text (several lines) or a
    SolverParameter (copied), upgraded. The one loader of solver files (the
    library and ``caffelite train``): from a path, Caffe's
    ReadSolverParamsFromTextFileOrDie defaults apply, and net files named
    relative to the solver file's folder (and not found from the working
    directory) are given with that folder."""
    if isinstance(source, caffe_pb2.SolverParameter):
        param = caffe_pb2.SolverParameter()
        param.CopyFrom(source)
        return param
    if isinstance(source, str) and not os.path.exists(source) and ':' in source \
            and '\n' in source.strip():
        param = protoio.parse_text(source, caffe_pb2.SolverParameter())
        upgrade.upgrade_solver(param)
        return param
    path = os.fspath(source)
    if not os.path.exists(path):
        raise MissingFileError(path, 'solver file')
    param = protoio.read_text(path, caffe_pb2.SolverParameter())
    upgrade.upgrade_solver(param)
    _default_snapshot_prefix(param, path)
    _resolve_net_files(param, os.path.dirname(os.path.abspath(path)))
    return param


def _default_snapshot_prefix(param, path):
    """Caffe's UpgradeSnapshotPrefixProperty: no snapshot_prefix means the
    solver file's path without its extension; a folder means
    <folder>/<solver file's stem>."""
    if not param.HasField('snapshot_prefix'):
        param.snapshot_prefix = os.path.splitext(path)[0]
        log.info('snapshot_prefix was not specified and is set to %s', param.snapshot_prefix)
    elif os.path.isdir(param.snapshot_prefix):
        stem = os.path.splitext(os.path.basename(path))[0]
        param.snapshot_prefix = os.path.join(param.snapshot_prefix, stem)
        log.info('snapshot_prefix was a directory and is replaced to %s', param.snapshot_prefix)


def _resolve_net_files(param, folder):
    """Net file fields that exist only relative to ``folder`` get its path."""
    def resolved(file):
        candidate = os.path.join(folder, file)
        if not os.path.isabs(file) and not os.path.exists(file) and os.path.exists(candidate):
            return candidate
        return file
    for field in ('net', 'train_net'):
        if param.HasField(field):
            setattr(param, field, resolved(getattr(param, field)))
    param.test_net[:] = [resolved(file) for file in param.test_net]


def learning_rate(param, it, current_step=0):
    """The learning rate of Caffe's ``lr_policy`` at iteration ``it``."""
    policy, base, gamma = param.lr_policy, param.base_lr, param.gamma
    if policy == 'fixed':
        return base
    if policy == 'step':
        if param.stepsize <= 0:
            raise SolverError('lr_policy step needs stepsize > 0')
        return base * gamma ** (it // param.stepsize)
    if policy == 'exp':
        return base * gamma ** it
    if policy == 'inv':
        return base * (1 + gamma * it) ** (-param.power)
    if policy == 'multistep':
        return base * gamma ** current_step
    if policy == 'poly':
        return base * (1 - it / float(param.max_iter)) ** param.power
    if policy == 'sigmoid':
        return base * (1 / (1 + math.exp(-gamma * (it - param.stepsize))))
    if not policy:
        raise SolverError('lr_policy is not set (Caffe has no default; "fixed" keeps base_lr)')
    raise SolverError('unknown lr_policy: %r' % policy)


class Solver:
    """Base solver. Build with ``get_solver(path)`` or a subclass directly:
    ``SGDSolver('solver.prototxt')``. pycaffe attributes: ``net``,
    ``test_nets``, ``iter``, ``step``, ``solve``, ``snapshot``, ``restore``."""

    type = None
    history_sets = 1    # history blobs per learnable param

    def __init__(self, source, action_request=None, where=None):
        """``where``: the solver file to name in errors (``self.where``),
        when ``source`` is a SolverParameter read from it."""
        self.param = load_solver_param(source)
        net_log.root_info(log, 'Initializing solver from parameters: \n%s',
                          net_log.debug_string(self.param))
        if self.param.type != self.type and type(self) is not Solver:
            log.debug('solver type %s used through %s', self.param.type, self.type)
        if self.param.random_seed >= 0:
            # Each solver of a multi-GPU run draws its own numbers (Caffe).
            backend.set_random_seed(self.param.random_seed + backend.solver_rank())
        self.iter = 0
        self.current_step = 0
        self.requested_early_exit = False
        self.action_request = action_request or (lambda: None)
        self.smoothed_loss = 0.0
        self._losses = []
        self._resumed_window = None
        self._window_origin = 0
        self._test_round_positions = None
        self.last_snapshot = None
        self.test_at_end = False      # set_epochs: test after the last iteration too
        self._callbacks = []
        self.listeners = []
        self.where = where or _source_name(source)
        try:
            self._check_params()
            self.net = self._train_net()
            self.test_nets = self._test_nets()
        except SolverError as e:     # a setting of the solver file: name it
            raise SolverError('%s: %s' % (self.where, e)) from None
        net_log.root_info(log, 'Solver scaffolding done.')
        for model_list in self.param.weights:
            load_net_weights(model_list, [self.net] + self.test_nets)
        params = self.net.learnable_params
        self.history = [Blob(p.shape) for _ in range(self.history_sets) for p in params]

    # --- construction ------------------------------------------------------
    def _net_from(self, param, file, state, phase):
        """A net from an inline NetParameter or a file, in NetState
        ``phase`` merged with the solver's train_state/test_state."""
        net_param = load_net_param(param if param is not None else file)
        merged = caffe_pb2.NetState(phase=phase)
        merged.MergeFrom(state)
        net_param.state.CopyFrom(merged)
        # Python layers' modules are looked for beside the net file too.
        folder = os.path.dirname(os.path.abspath(file)) if file else None
        with python_layers.prototxt_folder(folder), located_in(file if param is None else None):
            return Net(net_param, merged.phase)

    def _train_net(self):
        p = self.param
        sources = [('train_net_param', p.HasField('train_net_param')),
                   ('train_net', p.HasField('train_net')),
                   ('net_param', p.HasField('net_param')), ('net', p.HasField('net'))]
        given = [name for name, present in sources if present]
        if len(given) != 1:
            raise SolverError('solver must specify exactly one train net '
                             '(train_net_param, train_net, net_param or net); got %s'
                             % (given or 'none'))
        name = given[0]
        value = getattr(p, name)
        is_param = name.endswith('_param')
        net_log.root_info(log, 'Creating training net %s', 'specified in %s.' % name if is_param
                          else 'from %s file: %s' % (name, value))
        return self._net_from(value if is_param else None, None if is_param else value,
                              p.train_state, TRAIN)

    def _test_nets(self):
        p = self.param
        specific = [(q, None) for q in p.test_net_param] + [(None, f) for f in p.test_net]
        generic = (p.net_param, None) if p.HasField('net_param') else (
            (None, p.net) if p.HasField('net') else None)
        if generic is None and len(p.test_iter) != len(specific):
            raise SolverError('test_iter must be given once per test net (%d), got %d'
                             % (len(specific), len(p.test_iter)))
        if generic is not None and len(p.test_iter) < len(specific):
            raise SolverError('test_iter must be given at least %d times' % len(specific))
        sources = specific + [generic] * (len(p.test_iter) - len(specific))
        if len(p.test_state) and len(p.test_state) != len(sources):
            raise SolverError('test_state must be given once per test net (%d)' % len(sources))
        nets = []
        for i, (q, f) in enumerate(sources):
            field = 'test_net' if i < len(specific) else 'net'
            net_log.root_info(log, 'Creating test net (#%d) specified by %s', i,
                              field + '_param' if q is not None else '%s file: %s' % (field, f))
            nets.append(self._net_from(q, f, p.test_state[i] if len(p.test_state)
                                       else caffe_pb2.NetState(), TEST))
            nets[-1].debug_info = p.debug_info
        return nets

    def _check_params(self):
        """Caffe's checks of the solver's fields, made before any net is built."""
        # test_iter: 0 is no error (Caffe has no such check; zoo solvers
        # such as HED's use it to switch testing off): see mean_outputs.
        if self.param.iter_size < 1:
            raise SolverError('iter_size must be >= 1')

    # --- pycaffe API -------------------------------------------------------
    def add_callback(self, on_start, on_gradients_ready=None):
        """Call ``on_start()`` before each iteration's passes and
        ``on_gradients_ready()`` before its update (pycaffe). With one
        argument, an object with both methods (an NCCL)."""
        if on_gradients_ready is None:
            on_start, on_gradients_ready = on_start.on_start, on_start.on_gradients_ready
        self._callbacks.append((on_start, on_gradients_ready))

    def share_weights(self, net):
        """Make ``net`` use this solver's trained weights (pycaffe's
        ``solver.share_weights(net)``: net.share_with(solver.net))."""
        net.share_with(self.net)

    @property
    def lr(self):
        """The learning rate of the current iteration (SGDSolver's ``lr``)."""
        return self.learning_rate()

    def step(self, iters):
        """Run ``iters`` training iterations (Caffe's Solver::Step)."""
        p = self.param
        start_iter, stop_iter = self.iter, self.iter + int(iters)
        self._losses, self.smoothed_loss = self._resumed_window or ([], 0.0)
        self._resumed_window = None
        tic, shown = time.time(), start_iter
        while self.iter < stop_iter:
            self.net.clear_param_diffs()
            if (p.test_interval and self.iter % p.test_interval == 0
                    and (self.iter > 0 or p.test_initialization)):
                if backend.root_solver():
                    self.test_all()
                if self.requested_early_exit:
                    break
            for on_start, _ in self._callbacks:
                on_start()
            display = p.display and self.iter % p.display == 0
            self.net.debug_info = bool(display and p.debug_info)
            loss = sum(self.net.forward_backward() for _ in range(p.iter_size)) / p.iter_size
            if not math.isfinite(loss):
                self._diverged('loss = %g' % loss)
            self._update_smoothed_loss(loss, start_iter)
            if display and backend.root_solver():
                self._display(self.iter - shown, time.time() - tic)
                tic, shown = time.time(), self.iter
            for _, on_ready in self._callbacks:
                on_ready()
            self.apply_update()
            self.iter += 1
            request = self.action_request()
            if (p.snapshot and self.iter % p.snapshot == 0 and backend.root_solver()) \
                    or request == 'snapshot':
                self.snapshot()
            if request == 'stop':
                self.requested_early_exit = True
                break

    def solve(self, resume_file=None):
        """Train to ``max_iter`` (optionally resuming), snapshot and test.
        Only the root solver solves; the others of a multi-GPU run ``step``."""
        self._check_root('solve')
        p = self.param
        log.info('Solving %s', self.net.name)
        log.info('Learning Rate Policy: %s', p.lr_policy)
        self.requested_early_exit = False
        if resume_file:
            self.restore(resume_file)
        self._warn_test_coverage()
        self.step(p.max_iter - self.iter)
        if p.snapshot_after_train and (not p.snapshot or self.iter % p.snapshot != 0):
            self.snapshot()
        if self.requested_early_exit:
            log.info('Optimization stopped early.')
            return
        if p.display and self.iter % p.display == 0:
            loss = self.net._forward()
            log.info('Iteration %d, loss = %g', self.iter, loss)
        if self.test_at_end or (p.test_interval and self.iter % p.test_interval == 0):
            self.test_all()
        log.info('Optimization Done.')

    def _diverged(self, what):
        """Stop training: log and raise DivergenceError naming the first
        non-finite output or gradient and the last (finite) snapshot."""
        where = divergence.first_non_finite(self.net) or 'every output and gradient is finite'
        kept = ('the last snapshot, %s, holds finite weights' % self.last_snapshot
                if self.last_snapshot else 'no snapshot was written')
        message = ('iteration %d: %s; first non-finite: %s. Training stopped (lower base_lr?); '
                   '%s' % (self.iter, what, where, kept))
        log.error('%s', message)
        raise DivergenceError(message)

    @staticmethod
    def _check_root(action):
        if not backend.root_solver():
            raise CaffeRuntimeError('only the root solver (rank 0) may %s; this is rank %d of %d'
                                    % (action, backend.solver_rank(), backend.solver_count()))

    # --- loss bookkeeping and display ---------------------------------------
    def loss_window(self):
        """(losses behind the smoothed loss, oldest first; smoothed loss)."""
        average = max(1, self.param.average_loss)
        losses = list(self._losses)
        if len(losses) == average:
            # the ring buffer's next slot to overwrite holds the oldest loss
            oldest = (self.iter - self._window_origin) % average
            losses = losses[oldest:] + losses[:oldest]
        return losses, self.smoothed_loss

    def resume_loss_window(self, losses, smoothed):
        """Have the next step() continue this loss window (exact resume)."""
        self._resumed_window = (list(losses), smoothed)

    def _update_smoothed_loss(self, loss, start_iter):
        self._window_origin = start_iter
        average = max(1, self.param.average_loss)
        if len(self._losses) < average:
            self._losses.append(loss)
            n = len(self._losses)
            self.smoothed_loss = (self.smoothed_loss * (n - 1) + loss) / n
        else:
            i = (self.iter - start_iter) % average
            self.smoothed_loss += (loss - self._losses[i]) / average
            self._losses[i] = loss

    def _emit(self, **event):
        for listener in self.listeners:
            listener(event)

    def _display(self, iterations, seconds):
        """Caffe's display line: the rate is over the ``iterations`` run in
        the ``seconds`` since the last display or the start of this step
        call (0 iter/s at its first iteration, as Caffe shows it)."""
        log.info('Iteration %d (%g iter/s, %gs/%d iters), loss = %g', self.iter,
                 iterations / (seconds or 1), seconds, self.param.display, self.smoothed_loss)
        outputs = self._output_lines(self.net, 'Train',
                                     {name: self.net.blobs[name].data for name in self.net.outputs})
        self._emit(phase='train', iter=self.iter, loss=float(self.smoothed_loss),
                   outputs=outputs)

    @staticmethod
    def _output_lines(net, label, values):
        """Log every output element of ``values`` ({name: array}) as Caffe
        does; return {name: mean value}."""
        for index, (name, value, note) in enumerate(net_outputs.output_lines(net, values)):
            log.info('    %s net output #%d: %s = %g%s', label, index, name, value, note)
        return {name: float(np.mean(values[name])) if np.size(values[name]) else 0.0
                for name in net.outputs if name in values}

    # --- testing -----------------------------------------------------------
    def test_all(self):
        # A snapshot taken during the tests resumes before them.
        self._test_round_positions = resume.positions(self)
        try:
            for i in range(len(self.test_nets)):
                if self.requested_early_exit:
                    break
                self.test(i)
        finally:
            self._test_round_positions = None

    def test(self, index=0):
        """Run test net ``index`` for its test_iter batches; log mean outputs."""
        log.info('Iteration %d, Testing net (#%d)', self.iter, index)
        net = self.test_nets[index]
        net.share_with(self.net)
        result = net_outputs.mean_outputs(net, self.param.test_iter[index],
                                          stop_requested=self._stop_requested_while_testing)
        if result is None:
            log.info('Test interrupted.')
            return None
        loss, means = result
        if self.param.test_compute_loss:
            log.info('Test loss: %g', loss)
        scores = self._output_lines(net, 'Test', means)
        self._emit(phase='test', iter=self.iter, net=index, outputs=scores)
        return scores

    def _stop_requested_while_testing(self):
        """Caffe's Solver::Test handling of requests: take every pending one,
        snapshotting for 'snapshot'; True when one was 'stop'."""
        while True:
            request = self.action_request()
            if request is None:
                return self.requested_early_exit
            if request == 'snapshot':
                self.snapshot()
            elif request == 'stop':
                self.requested_early_exit = True

    # --- epochs ------------------------------------------------------------
    def iterations_per_epoch(self):
        """Iterations of one pass over the train net's data source (its
        records / images per iteration), or None when no layer knows its
        size (Data and ImageData layers do)."""
        records = self._records()
        return records / self._images_per_iteration() if records else None

    def set_epochs(self, epochs):
        """Train for ``epochs`` passes over the data source on DIGITS'
        schedule (caffelite.digits.solver.epoch_schedule): max_iter, a
        snapshot every epoch, the loss displayed 8 times an epoch, each test
        net's test_iter covering its data source once and a test every
        epoch; and, unlike Caffe, a test after the last iteration."""
        records = self._records()
        if not records:
            raise SolverError('training for %g epochs needs a Data or ImageData layer to '
                             'size an epoch' % epochs)
        p = self.param
        given = list(p.test_iter)
        tests = [(self._records(net), self._batch(net)) for net in self.test_nets]
        val_count, val_batch = tests[0] if tests else (None, None)
        epoch_schedule(p, records, val_count, self._images_per_iteration() // p.iter_size,
                       val_batch, epochs)
        # every test net of known size covers its data once; the others keep theirs
        p.test_iter[:] = [int(math.ceil(count / batch)) if count else given[i]
                          for i, (count, batch) in enumerate(tests)]
        self.test_at_end = True
        log.info('%g epochs of %d images at %d images per iteration: max_iter = %d, '
                 'snapshot = %d, display = %d%s', epochs, records,
                 self._images_per_iteration(), p.max_iter, p.snapshot, p.display,
                 ', test_iter = %s, test_interval = %d' % (list(p.test_iter), p.test_interval)
                 if tests else '')

    def _warn_test_coverage(self):
        """Warn when a test pass reads more records than its data source
        holds (some are then counted twice)."""
        for i, (net, iters) in enumerate(zip(self.test_nets, self.param.test_iter)):
            count, batch = self._records(net), self._batch(net)
            if count and iters * batch > count:
                log.warning('test net #%d: test_iter %d x batch %d = %d images, more than the '
                            '%d of its data source: %d are tested twice', i, iters, batch,
                            iters * batch, count, iters * batch - count)

    def _records(self, net=None):
        return next((layer.num_records for layer in (net or self.net).layers
                     if getattr(layer, 'num_records', None)), None)

    @staticmethod
    def _batch(net):
        return net.blobs[net._blob_names[0]].shape[0] if net._blobs else 1

    def _images_per_iteration(self):
        """Batch size * iter_size * solvers: every solver of a multi-GPU run
        takes its own batch of the data."""
        return self._batch(self.net) * self.param.iter_size * backend.solver_count()

    # --- the update --------------------------------------------------------
    def learning_rate(self):
        p = self.param
        if p.lr_policy == 'multistep':
            while (self.current_step < len(p.stepvalue)
                   and self.iter >= p.stepvalue[self.current_step]):
                self.current_step += 1
                log.info('MultiStep Status: Iteration %d, step = %d',
                         self.iter, self.current_step)
        try:
            return learning_rate(p, self.iter, self.current_step)
        except SolverError as e:    # Caffe checks the policy here too, at the first update
            raise SolverError('%s: %s' % (self.where, e)) from None

    def apply_update(self):
        """Caffe's SGDSolver::ApplyUpdate: rate, clip, normalize, regularize,
        compute the update into each diff, then data -= diff (in the same
        pass, where the update is finite)."""
        rate = self.learning_rate()
        if self.param.display and self.iter % self.param.display == 0 and backend.root_solver():
            log.info('Iteration %d, lr = %g', self.iter, rate)
            self._emit(phase='lr', iter=self.iter, lr=float(rate))
        self._clip_gradients()
        finite = True
        for i, blob in enumerate(self.net.learnable_params):
            self._normalize(blob)
            rule, histories, scalars = self.update_rule(i, rate * self.net.params_lr[i])
            if blob.count:
                finite &= updates.update(blob.xdiff, blob.xdata, histories, rule, scalars,
                                         *self._decay(i))
        if not finite:
            self._diverged('the weight update is not finite')

    def _clip_gradients(self):
        clip = self.param.clip_gradients
        if clip < 0:
            return
        params = self.net.learnable_params
        norm = math.sqrt(sum(float((p.xdiff.astype(np.float64) ** 2).sum()) for p in params))
        if norm > clip:
            log.info('Gradient clipping: scaling down gradients (L2 norm %g > %g) '
                     'by scale factor %g', norm, clip, clip / norm)
            for p in params:
                p.xdiff[...] *= np.float32(clip / norm)

    def _normalize(self, blob):
        if self.param.iter_size > 1:
            blob.xdiff[...] *= np.float32(1.0 / self.param.iter_size)

    def _decay(self, i):
        """(weight decay, regularization type) of learnable param ``i``."""
        decay = self.param.weight_decay * self.net.params_weight_decay[i]
        kind = self.param.regularization_type
        if decay and kind not in ('L1', 'L2'):
            raise SolverError('unknown regularization_type %r' % kind)
        return decay, kind

    def history_of(self, i, k=0):
        """History blob ``k`` (0 or 1) of learnable param ``i``."""
        return self.history[k * len(self.net.learnable_params) + i]

    def update_rule(self, i, local_rate):
        """(rule op of caffelite.ops.solver_updates, its history arrays, its
        scalars) that turn param ``i``'s regularized gradient into its step."""
        raise NotImplementedError

    # --- snapshots ---------------------------------------------------------
    def _snapshot_base(self):
        prefix = self.param.snapshot_prefix
        if not prefix:
            raise SolverError('snapshot_prefix is not set in the solver')
        return '%s_iter_%d' % (prefix, self.iter)

    def snapshot(self):
        """Write ``<prefix>_iter_N.caffemodel`` and ``.solverstate``; return
        their paths. Only the root solver snapshots."""
        self._check_root('snapshot')
        base = self._snapshot_base()
        folder = os.path.dirname(base)
        if folder:
            os.makedirs(folder, exist_ok=True)
        hdf5 = self.param.snapshot_format == caffe_pb2.SolverParameter.HDF5
        model = base + ('.caffemodel.h5' if hdf5 else '.caffemodel')
        log.info('Snapshotting to %s file %s', 'HDF5' if hdf5 else 'binary proto', model)
        if hdf5:
            self.net.save_hdf5(model, self.param.snapshot_diff)
        else:
            self.net.save(model, self.param.snapshot_diff)
        state_path = base + ('.solverstate.h5' if hdf5 else '.solverstate')
        state = caffe_pb2.SolverState(iter=self.iter, learned_net=model,
                                      current_step=self.current_step)
        for blob in self.history:
            blob.to_proto(state.history.add())
        state.caffelite_resume.CopyFrom(resume.capture(self, self._test_round_positions))
        log.info('Snapshotting solver state to %s file %s', 'HDF5' if hdf5 else 'binary proto',
                 state_path)
        solverstate.write(state_path, state)
        self.last_snapshot = model
        self._emit(phase='snapshot', iter=self.iter, model=model, state=state_path)
        return model, state_path

    def restore(self, state_file):
        """Resume from a ``.solverstate`` (``.solverstate.h5``: Caffe's HDF5
        form): iteration, step, history, weights and, when caffelite wrote
        it, the data positions and random state (caffelite.resume)."""
        state_file = os.fspath(state_file)
        state = solverstate.read(state_file)
        if len(state.history) != len(self.history):
            raise SolverError('%s: %d history blobs, the %s solver needs %d'
                              % (state_file, len(state.history), self.type, len(self.history)))
        self.iter, self.current_step = state.iter, state.current_step
        if state.learned_net:
            weights = self._learned_net_path(state.learned_net, state_file)
            self.net.copy_from(weights).require_some()
            resume.check_weights(self, state.caffelite_resume, state_file, weights)
        for blob, proto in zip(self.history, state.history):
            if not protoio.proto_fits_shape(proto, blob.shape):
                raise SolverError('%s: history blob shape %s does not fit %s'
                                  % (state_file, protoio.blob_shape_of(proto), blob.shape))
            blob.from_proto(proto, reshape=False)
        if state.HasField('caffelite_resume'):
            resume.restore(self, state.caffelite_resume, state_file)

    @staticmethod
    def _learned_net_path(path, state_file):
        """The weights named in a solverstate: as written, else beside it."""
        if os.path.exists(path):
            return path
        beside = os.path.join(os.path.dirname(os.path.abspath(state_file)),
                              os.path.basename(path))
        if os.path.exists(beside):
            return beside
        raise SolverError('%s: learned_net %s not found' % (state_file, path))


@_solver('SGD')
class SGDSolver(Solver):
    """Momentum SGD: history = momentum * history + rate * diff."""

    def update_rule(self, i, local_rate):
        return updates.sgd, [self.history_of(i).xdata], (self.param.momentum, local_rate)


@_solver('Nesterov')
class NesterovSolver(Solver):
    """Nesterov momentum: step by (1 + m) * h_new - m * h_old."""

    def update_rule(self, i, local_rate):
        return updates.nesterov, [self.history_of(i).xdata], (self.param.momentum, local_rate)


class _NoMomentumSolver(Solver):
    def _check_params(self):
        super()._check_params()
        if self.param.momentum != 0:
            raise SolverError('%s does not use momentum; set momentum: 0' % self.type)


@_solver('AdaGrad')
class AdaGradSolver(_NoMomentumSolver):
    """history += diff^2; step = rate * diff / (sqrt(history) + delta)."""

    def update_rule(self, i, local_rate):
        return updates.adagrad, [self.history_of(i).xdata], (self.param.delta, local_rate)


@_solver('RMSProp')
class RMSPropSolver(_NoMomentumSolver):
    """history = d * history + (1 - d) * diff^2; step = rate * diff / (sqrt(h) + delta)."""

    def _check_params(self):
        super()._check_params()
        if not 0 <= self.param.rms_decay <= 1:
            raise SolverError('rms_decay must be in [0, 1]')

    def update_rule(self, i, local_rate):
        return (updates.rmsprop, [self.history_of(i).xdata],
                (self.param.rms_decay, self.param.delta, local_rate))


@_solver('AdaDelta')
class AdaDeltaSolver(Solver):
    """AdaDelta: a second history set holds the squared updates."""
    history_sets = 2

    def update_rule(self, i, local_rate):
        return (updates.adadelta, [self.history_of(i, 0).xdata, self.history_of(i, 1).xdata],
                (self.param.momentum, self.param.delta, local_rate))


@_solver('Adam')
class AdamSolver(Solver):
    """Adam with Caffe's bias correction folded into the rate."""
    history_sets = 2

    def update_rule(self, i, local_rate):
        b1, b2 = self.param.momentum, self.param.momentum2
        t = self.iter + 1
        corrected = local_rate * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return (updates.adam, [self.history_of(i, 0).xdata, self.history_of(i, 1).xdata],
                (b1, b2, self.param.delta, corrected))


def solver_types():
    return _SOLVERS.names()


def get_solver(source, action_request=None, where=None):
    """Build the solver named by the file's ``type`` (pycaffe's get_solver);
    ``where`` as in Solver."""
    param = load_solver_param(source)
    where = where or _source_name(source)
    try:
        cls = _SOLVERS[param.type]
    except KeyError:
        raise SolverError('%s: unknown solver type %r (known: %s)'
                          % (where, param.type, ', '.join(solver_types()))) from None
    return cls(param, action_request, where)


def _source_name(source):
    """The solver file ``source`` names, else 'solver' (text, a message)."""
    if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
        return os.fspath(source)
    return 'solver'
