"""Net: a directed acyclic graph of layers built from a NetParameter, with
pycaffe's Python surface (``blobs``, ``params``, ``forward``, ``backward``...).

Construction follows Caffe's Net::Init: filter layers by NetState, insert
splits, connect bottoms and tops (in-place when a top repeats its bottom),
set up each layer, decide which layers and blobs need backward, then tie
shared parameters together.
"""
import collections
import contextlib
import os

import numpy as np

from . import debug_info, memory, net_log, netgraph, protoio, threads, upgrade
from .blob import Blob
from .errors import (CaffeError, CaffeRuntimeError, LayerError, MissingFileError,
                     NameNotFoundError, NetError, UnbatchedOutputError, WeightsError)
from .layers import create_layer
from .layers import python as python_layers
from .ops import solver_updates
from .proto import caffe_pb2
from .weights import copy_weights
from .workspace import Workspace

TRAIN = caffe_pb2.TRAIN
TEST = caffe_pb2.TEST


def load_net_param(source):
    """A NetParameter from a prototxt path, prototxt text (a string holding
    a ``{``) or a NetParameter, upgraded from legacy formats as needed."""
    if isinstance(source, caffe_pb2.NetParameter):
        param = caffe_pb2.NetParameter()
        param.CopyFrom(source)
        name = None
    elif isinstance(source, str) and not os.path.exists(source) and '{' in source:
        param = protoio.parse_text(source, caffe_pb2.NetParameter())
        name = None
    else:
        name = os.fspath(source)
        if not os.path.exists(name):
            raise MissingFileError(name, 'network definition file')
        param = protoio.read_text(name, caffe_pb2.NetParameter())
    upgrade.upgrade_net(param, name)
    return param


def _parse_args(args, kwargs):
    """Sort out pycaffe's two constructor forms:
    Net(model, phase, weights=None, level=0, stages=None) and the legacy
    Net(model, weights, phase)."""
    if not args:
        raise TypeError('Net() needs a network definition')
    model, rest = args[0], list(args[1:])
    weights = kwargs.pop('weights', None)
    phase = kwargs.pop('phase', None)
    level = kwargs.pop('level', None)
    stages = kwargs.pop('stages', None)
    if kwargs:
        raise TypeError('unexpected Net() arguments: %s' % ', '.join(kwargs))
    legacy = bool(rest) and isinstance(rest[0], (str, bytes, os.PathLike))
    if legacy:
        weights = rest.pop(0)
    if rest:
        phase = rest.pop(0)
    if rest:
        raise TypeError('too many positional arguments to Net()')
    if phase is None:
        raise TypeError('Net() needs a phase (caffelite.TRAIN or caffelite.TEST)')
    if phase not in (TRAIN, TEST):
        raise ValueError('phase must be caffelite.TRAIN or caffelite.TEST, got %r' % (phase,))
    if legacy:
        net_log.log_legacy_constructor(model, weights, phase)
    return model, phase, weights, level, stages


def _batch_size(shape):
    """How an error names the batch size of ``shape``: its first axis."""
    return shape[0] if shape else 'none (0-d)'


def layer_failure(error, layer_name, layer_type, stage):
    """The exception to raise for ``error``, raised by a layer's ``stage``
    (setup, forward or backward). A LayerError as it is. A Python layer's
    own exception keeps its type, with a note naming the layer: pycaffe
    lets them through, so callers may catch them by type. Other bad-value
    errors become a LayerError naming the layer, a missing file a
    MissingFileError naming the layer; the rest pass unchanged."""
    if isinstance(error, LayerError):
        return error
    if layer_type == 'Python':
        add_note = getattr(error, 'add_note', None)     # Python 3.11+
        if add_note is not None:
            add_note("in %s of Python layer '%s'" % (stage, layer_name))
        return error
    if isinstance(error, (CaffeError, ValueError, TypeError, IndexError)):
        # Messages meant to stand alone (a data source's) may name the layer already.
        message = str(error)
        named = "layer '%s': " % layer_name
        if message.startswith(named):
            message = message[len(named):]
        return LayerError(layer_name, layer_type, '%s failed: %s' % (stage, message))
    if isinstance(error, FileNotFoundError) and error.filename:
        return MissingFileError(error.filename, "file, read by layer '%s' (%s) in %s"
                                % (layer_name, layer_type, stage))
    return error


@contextlib.contextmanager
def failures_named(layer_name, layer_type, stage):
    """Raise what a layer raises inside, in ``stage``, as layer_failure says."""
    try:
        yield
    except Exception as e:
        failure = layer_failure(e, layer_name, layer_type, stage)
        if failure is e:
            raise
        raise failure from e


@contextlib.contextmanager
def located_in(path):
    """Prefix a LayerError, or a NetError that names its layer, raised
    inside with prototxt ``path`` (None: no file) and the line where that
    layer opens there, when it can be found, so that a refusal reads
    ``deploy.prototxt:120: layer 'up' (Interp): ...``."""
    try:
        yield
    except (LayerError, NetError) as e:
        if path is not None and e.layer_name is not None:
            with open(path, encoding='utf-8', errors='replace') as f:
                line = protoio.layer_line(f.read(), e.layer_name)
            # a layer that is not in the text as such (one a legacy upgrade
            # made, a nameless one) still has its file named
            where = os.fspath(path) if line is None else '%s:%d' % (os.fspath(path), line)
            if not e.args[0].startswith(os.fspath(path)):
                e.args = ('%s: %s' % (where, e.args[0]),) + e.args[1:]
        raise


class NamedDict(collections.OrderedDict):
    """An OrderedDict of a net's blobs, layers or params by name. A missing
    name raises NameNotFoundError: the KeyError pycaffe's dicts raise, with
    a message saying which net has no such thing."""

    def __init__(self, items=(), what='entry', net_name=''):
        super().__init__(items)
        self._what, self._net_name = what, net_name

    def __missing__(self, key):
        raise NameNotFoundError("net '%s' has no %s named %r" % (self._net_name, self._what, key),
                                key)


class Net:
    """A network. ``Net(model_file, phase, weights=None, level=0, stages=None)``
    or the legacy ``Net(model_file, weights_file, phase)``; ``model_file`` may
    also be a NetParameter or prototxt text."""

    def __init__(self, *args, **kwargs):
        model, phase, weights, level, stages = _parse_args(args, kwargs)
        param = load_net_param(model)
        param.state.phase = phase
        # As Caffe's Net(file, phase, level, stages) (pycaffe's and the caffe
        # tool's): the level is set, 0 unless given, and the stages are
        # added to the file's own. A NetParameter (the solver's nets, merged
        # with its train_state/test_state) keeps a level not given.
        if level is not None or not isinstance(model, caffe_pb2.NetParameter):
            param.state.level = level or 0
        param.state.stage.extend(stages or [])
        folder = (os.path.dirname(os.path.abspath(model))
                  if isinstance(model, (str, os.PathLike)) and os.path.exists(model) else None)
        with python_layers.prototxt_folder(folder), located_in(model if folder else None):
            self._init(param)
        if weights is not None:
            if not isinstance(weights, caffe_pb2.NetParameter) and not os.path.exists(weights):
                raise MissingFileError(os.fspath(weights), 'weights file')
            self.copy_from(weights)

    # --- construction ------------------------------------------------------
    def _init(self, in_param):
        self.phase = in_param.state.phase
        # The scratch buffers of this net's layers (caffelite.workspace).
        self.workspace = Workspace()
        filtered = netgraph.filter_net(in_param, net_log.log_rule_breach)
        net_log.log_definition(filtered)
        param = netgraph.insert_splits(filtered)
        self.name = param.name
        self._param = param
        # Caffe's debug_info_: log each layer's mean |values| (caffelite.debug_info)
        self.debug_info = param.debug_info
        self._views = {}
        self._callbacks = {'before_forward': [], 'after_forward': [],
                           'before_backward': [], 'after_backward': []}
        self._blobs = []            # Blob objects by blob id
        self._blob_names = []
        self._blob_need_backward = []
        self._blob_loss_weights = []
        self.layers = []
        self._layer_names = []
        self._layer_bottom_ids, self._layer_top_ids = [], []
        self._bottom_need_backward, self._layer_need_backward = [], []
        self._inputs, self._params, self._param_layer_index = [], [], []
        self._param_owners, self._param_names_index = [], {}
        self.learnable_params, self._learnable_param_ids = [], []
        self.params_lr, self.params_weight_decay = [], []
        self._has_params_lr, self._has_params_decay = [], []
        self._top_floats = 0    # Caffe's memory_used_: the counts of every top so far
        name_to_id, available = {}, []
        for layer_param in param.layer:
            if not layer_param.HasField('phase'):
                layer_param.phase = self.phase
            self._add_layer(layer_param, name_to_id, available)
        needs_backward = self._prune_backward(param.force_backward)
        self._outputs = [name_to_id[n] for n in sorted(set(available))]
        self._share_weights()
        net_log.log_done(self, needs_backward)
        memory.check_fits(self)

    def _add_layer(self, lp, name_to_id, available):
        if len(lp.propagate_down) and len(lp.propagate_down) != len(lp.bottom):
            raise NetError("layer '%s': propagate_down must be given 0 or %d times"
                           % (lp.name, len(lp.bottom)), lp.name)
        net_log.log_creating(lp.name)
        with failures_named(lp.name, lp.type, 'setup'):
            layer = create_layer(lp)    # a Data layer opens its database here, as Caffe's
        layer.workspace = self.workspace
        layer_id = len(self.layers)
        self.layers.append(layer)
        self._layer_names.append(lp.name)
        bottoms, bottom_need = [], []
        need_backward = False
        for j, name in enumerate(lp.bottom):
            if name not in available:
                raise NetError("unknown bottom blob '%s' (layer '%s', bottom index %d)"
                               % (name, lp.name, j), lp.name)
            available.remove(name)
            blob_id = name_to_id[name]
            bottoms.append(blob_id)
            need = self._blob_need_backward[blob_id]
            if len(lp.propagate_down):
                need = bool(lp.propagate_down[j])
            bottom_need.append(need)
            need_backward |= self._blob_need_backward[blob_id]
        tops = [self._append_top(lp, j, name, name_to_id, available)
                for j, name in enumerate(lp.top)]
        if lp.type == 'Input':
            self._inputs.extend(tops)
        if layer.auto_top_blobs:
            needed = max(layer.min_top or 0, layer.exact_num_top or 0)
            while len(tops) < needed:
                tops.append(self._new_blob('(automatic)'))
        self._layer_bottom_ids.append(bottoms)
        self._layer_top_ids.append(tops)
        self._bottom_need_backward.append(bottom_need)
        net_log.log_connections(self, layer_id)
        net_log.log_inner_layers(lp)
        with failures_named(lp.name, layer.type, 'setup'):
            layer.layer_setup(self._vec(bottoms), self._vec(tops))
        for j, blob_id in enumerate(tops):
            self._blob_loss_weights[blob_id] = layer.loss(j)
        self._top_floats += sum(self._blobs[b].count for b in tops)
        net_log.log_setup(self, layer_id, self._top_floats)
        need_backward |= self._register_params(layer, lp, layer_id)
        self._layer_need_backward.append(need_backward)
        if need_backward:
            for blob_id in tops:
                self._blob_need_backward[blob_id] = True

    def _new_blob(self, name):
        self._blobs.append(Blob())
        self._blob_names.append(name)
        self._blob_need_backward.append(False)
        self._blob_loss_weights.append(0.0)
        return len(self._blobs) - 1

    def _append_top(self, lp, j, name, name_to_id, available):
        if j < len(lp.bottom) and lp.bottom[j] == name:
            blob_id = name_to_id[name]          # in-place computation
        elif name in name_to_id:
            raise NetError("top blob '%s' of layer '%s' is produced by multiple sources"
                           % (name, lp.name), lp.name)
        else:
            blob_id = self._new_blob(name)
            name_to_id[name] = blob_id
        available.append(name)
        return blob_id

    def _register_params(self, layer, lp, layer_id):
        """Record the layer's param blobs (lr/decay mults, sharing by name);
        return whether any of them is learned (lr_mult != 0)."""
        if len(lp.param) > len(layer.blobs):
            raise NetError("too many param specs for layer '%s' (%d for %d blobs)"
                           % (lp.name, len(lp.param), len(layer.blobs)), lp.name)
        any_learned = False
        for i in range(len(layer.blobs)):
            spec = lp.param[i] if i < len(lp.param) else caffe_pb2.ParamSpec()
            learned = spec.lr_mult != 0
            any_learned |= learned
            layer.set_param_propagate_down(i, learned)
            self._append_param(layer, lp, layer_id, i, spec)
        return any_learned

    def _append_param(self, layer, lp, layer_id, i, spec):
        net_param_id = len(self._params)
        self._params.append(layer.blobs[i])
        self._param_layer_index.append((layer_id, i))
        name = spec.name
        if not name or name not in self._param_names_index:
            self._param_owners.append(-1)
            if name:
                self._param_names_index[name] = net_param_id
            self._learnable_param_ids.append(len(self.learnable_params))
            self.learnable_params.append(layer.blobs[i])
            self._has_params_lr.append(spec.HasField('lr_mult'))
            self._has_params_decay.append(spec.HasField('decay_mult'))
            self.params_lr.append(spec.lr_mult)
            self.params_weight_decay.append(spec.decay_mult)
            return
        owner = self._param_names_index[name]
        self._param_owners.append(owner)
        owner_layer = self._param_layer_index[owner][0]
        mine, theirs = layer.blobs[i], self._params[owner]
        permissive = spec.share_mode == caffe_pb2.ParamSpec.PERMISSIVE
        if (mine.count != theirs.count) if permissive else (mine.shape != theirs.shape):
            raise NetError("cannot share param '%s' owned by layer '%s' with layer '%s': "
                           "owner shape %s, sharing layer expects %s"
                           % (name, self._layer_names[owner_layer], lp.name,
                              theirs.shape, mine.shape), lp.name)
        learnable_id = self._learnable_param_ids[owner]
        self._learnable_param_ids.append(learnable_id)
        for has, values, field in ((self._has_params_lr, self.params_lr, 'lr_mult'),
                                   (self._has_params_decay, self.params_weight_decay,
                                    'decay_mult')):
            if not spec.HasField(field):
                continue
            if has[learnable_id] and values[learnable_id] != getattr(spec, field):
                raise NetError("shared param '%s' has mismatched %s" % (name, field))
            has[learnable_id] = True
            values[learnable_id] = getattr(spec, field)

    def _prune_backward(self, force_backward):
        """Caffe's pass from the last layer back: skip backward for layers
        that do not contribute to a loss or whose bottoms all skip it.
        Returns each layer's flag as decided before force_backward."""
        under_loss, skip_backprop = set(), set()
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            tops = [self._blob_names[t] for t in self._layer_top_ids[i]]
            contributes = any(layer.loss(j) or name in under_loss
                              for j, name in enumerate(tops))
            all_skip = all(name in skip_backprop for name in tops)
            if self._layer_need_backward[i] and all_skip:
                self._layer_need_backward[i] = False
                self._bottom_need_backward[i] = [False] * len(self._layer_bottom_ids[i])
            if not contributes:
                self._layer_need_backward[i] = False
            for j, blob_id in enumerate(self._layer_bottom_ids[i]):
                name = self._blob_names[blob_id]
                if contributes:
                    under_loss.add(name)
                else:
                    self._bottom_need_backward[i][j] = False
                if not self._bottom_need_backward[i][j]:
                    skip_backprop.add(name)
        decided = list(self._layer_need_backward)
        if force_backward:
            for i, layer in enumerate(self.layers):
                self._layer_need_backward[i] = True
                for j, blob_id in enumerate(self._layer_bottom_ids[i]):
                    need = self._bottom_need_backward[i][j] or layer.allow_force_backward(j)
                    self._bottom_need_backward[i][j] = need
                    self._blob_need_backward[blob_id] |= need
                for k in range(len(layer.blobs)):
                    layer.set_param_propagate_down(k, True)
        return decided

    def _share_weights(self):
        for i, owner in enumerate(self._param_owners):
            if owner >= 0:
                self._params[i].share_data(self._params[owner])
                self._params[i].share_diff(self._params[owner])

    def _vec(self, ids):
        return [self._blobs[i] for i in ids]

    # --- pycaffe views -----------------------------------------------------
    def _view(self, key, what, items):
        """The NamedDict ``key`` of this net, built from ``items()`` once (as
        pycaffe caches its views: the names and Blob objects never change)."""
        if key not in self._views:
            self._views[key] = NamedDict(items(), what, self.name)
        return self._views[key]

    @property
    def blobs(self):
        """Blob name -> Blob, in creation order (input to output)."""
        return self._view('blobs', 'blob', lambda: zip(self._blob_names, self._blobs))

    @property
    def blob_loss_weights(self):
        return self._view('loss_weights', 'blob',
                          lambda: zip(self._blob_names, self._blob_loss_weights))

    @property
    def params(self):
        """Layer name -> its param Blobs, for the layers that have any, in
        layer order (pycaffe's ``net.params``)."""
        return self._view('params', 'layer with params', lambda: (
            (name, layer.blobs) for name, layer in zip(self._layer_names, self.layers)
            if len(layer.blobs)))

    @property
    def layer_dict(self):
        """Layer name -> Layer, in layer order."""
        return self._view('layer_dict', 'layer', lambda: zip(self._layer_names, self.layers))

    @property
    def inputs(self):
        return [self._blob_names[i] for i in self._inputs]

    @property
    def outputs(self):
        return [self._blob_names[i] for i in self._outputs]

    @property
    def top_names(self):
        """Layer name -> the names of its tops."""
        return self._view('top_names', 'layer', lambda: (
            (name, [self._blob_names[i] for i in ids])
            for name, ids in zip(self._layer_names, self._layer_top_ids)))

    @property
    def bottom_names(self):
        """Layer name -> the names of its bottoms."""
        return self._view('bottom_names', 'layer', lambda: (
            (name, [self._blob_names[i] for i in ids])
            for name, ids in zip(self._layer_names, self._layer_bottom_ids)))

    def _top_ids(self, i):
        """The blob indices of layer ``i``'s tops (pycaffe's ``net._top_ids(i)``)."""
        return list(self._layer_top_ids[i])

    def _bottom_ids(self, i):
        """The blob indices of layer ``i``'s bottoms (pycaffe's ``net._bottom_ids(i)``)."""
        return list(self._layer_bottom_ids[i])

    @property
    def layer_need_backward(self):
        return list(self._layer_need_backward)

    @property
    def bottom_need_backward(self):
        """Per layer, whether each bottom gets a gradient (Caffe's Net accessor)."""
        return [list(flags) for flags in self._bottom_need_backward]

    @property
    def blob_need_backward(self):
        return collections.OrderedDict(zip(self._blob_names, self._blob_need_backward))

    def layer_index(self, name):
        """The index of the first layer named ``name``; a ValueError (as
        pycaffe's ``list.index``) naming the net when there is none."""
        try:
            return self._layer_names.index(name)
        except ValueError:
            raise NetError("net '%s' has no layer named %r" % (self.name, name)) from None

    # --- computation -------------------------------------------------------
    def _forward(self, start=0, end=None):
        """Run layers ``start`` .. ``end`` (inclusive); return the total loss
        (Caffe's ForwardFromTo, pycaffe's ``net._forward``)."""
        end = len(self.layers) - 1 if end is None else end
        loss = 0.0
        with threads.net_pass():
            for i in range(start, end + 1):
                self._run_callbacks('before_forward', i)
                loss += self._run_layer(i, 'forward')
                if self.debug_info:
                    debug_info.log_forward(self, i)
                self._run_callbacks('after_forward', i)
        return loss

    def _backward(self, start=None, end=0):
        """Backpropagate from layer ``start`` down to ``end`` (inclusive);
        the callbacks see every layer, backpropagating or not, as in Caffe."""
        start = len(self.layers) - 1 if start is None else start
        with threads.net_pass():
            for i in range(start, end - 1, -1):
                self._run_callbacks('before_backward', i)
                if self._layer_need_backward[i]:
                    self._run_layer(i, 'backward')
                    if self.debug_info:
                        debug_info.log_backward(self, i)
                self._run_callbacks('after_backward', i)

    def _run_callbacks(self, when, layer_index):
        for callback in self._callbacks[when]:
            callback(layer_index)

    def _add_callback(self, when, callback):
        """Register ``callback(layer_index)``; an object with a ``run``
        method (an NCCL) has that method registered, as in pycaffe."""
        run = getattr(callback, 'run', callback)
        if not callable(run):
            raise TypeError('%s needs a callable taking a layer index, got %r'
                            % (when, callback))
        self._callbacks[when].append(run)

    def before_forward(self, callback):
        """Call ``callback(i)`` before layer ``i`` runs forward."""
        self._add_callback('before_forward', callback)

    def after_forward(self, callback):
        """Call ``callback(i)`` after layer ``i`` ran forward."""
        self._add_callback('after_forward', callback)

    def before_backward(self, callback):
        """Call ``callback(i)`` before layer ``i``'s turn in backward."""
        self._add_callback('before_backward', callback)

    def after_backward(self, callback):
        """Call ``callback(i)`` after layer ``i``'s turn in backward; an NCCL
        registered here all-reduces each layer's gradients as soon as they
        are ready (``layer_wise_reduce``)."""
        self._add_callback('after_backward', callback)

    def _run_layer(self, i, direction):
        layer = self.layers[i]
        bottom, top = self._vec(self._layer_bottom_ids[i]), self._vec(self._layer_top_ids[i])
        try:        # not failures_named: a generator context costs time on this hot path
            if direction == 'forward':
                return layer.layer_forward(bottom, top)
            layer.layer_backward(top, list(self._bottom_need_backward[i]), bottom)
        except Exception as e:
            failure = layer_failure(e, layer.name, layer.type, direction)
            if failure is e:
                raise
            raise failure from e

    def forward_backward(self):
        """Forward then backward over the whole net; returns the loss."""
        loss = self._forward()
        self._backward()
        if self.debug_info:
            debug_info.log_params(self)
        return loss

    def forward(self, blobs=None, start=None, end=None, **kwargs):
        """pycaffe's forward: set the inputs named in ``kwargs`` (arrays of
        the net's batch size), run layers ``start`` through ``end`` (layer
        names; the first and last layer by default) and return {blob name:
        data} of the tops of ``end`` (of the net's outputs when ``end`` is
        not given) plus the blobs named in ``blobs``."""
        blobs = list(blobs or [])
        start_i = 0 if start is None else self.layer_index(start)
        if end is None:
            end_i, outs = len(self.layers) - 1, self.outputs + blobs
        else:
            end_i, outs = self.layer_index(end), self.top_names[end] + blobs
        self._fill('data', kwargs, self.inputs, 'Input blob arguments do not match net inputs.')
        self._forward(start_i, end_i)
        return {name: self.blobs[name].data for name in dict.fromkeys(outs)}

    def backward(self, diffs=None, start=None, end=None, **kwargs):
        """pycaffe's backward: set the output diffs named in ``kwargs``, run
        backward from layer ``start`` down to layer ``end`` (the last and
        first layer by default) and return {blob name: diff} of the bottoms
        of ``end`` (of the net's inputs when ``end`` is not given) plus the
        blobs named in ``diffs``."""
        diffs = list(diffs or [])
        start_i = len(self.layers) - 1 if start is None else self.layer_index(start)
        if end is None:
            end_i, outs = 0, self.inputs + diffs
        else:
            end_i, outs = self.layer_index(end), self.bottom_names[end] + diffs
        self._fill('diff', kwargs, self.outputs, 'Top diff arguments do not match net outputs.')
        self._backward(start_i, end_i)
        return {name: self.blobs[name].diff for name in dict.fromkeys(outs)}

    def _fill(self, field, arrays, expected, message):
        if not arrays:
            return
        if set(arrays) != set(expected):
            raise NetError('%s Expected %s, got %s' % (message, sorted(expected), sorted(arrays)))
        for name, value in arrays.items():
            blob = self.blobs[name]
            value = np.asarray(value)
            if value.shape[:1] != blob.shape[:1]:
                raise NetError("blob '%s': %s has batch size %s, the net expects %s"
                               % (name, field, _batch_size(value.shape),
                                  _batch_size(blob.shape)))
            try:
                getattr(blob, field)[...] = value
            except ValueError as e:     # numpy's message names no blob
                raise NetError("blob '%s': cannot set its %s (shape %s) from an array of "
                               "shape %s: %s" % (name, field, blob.shape, value.shape, e)) from None

    def forward_all(self, blobs=None, **kwargs):
        """Forward over inputs of any batch size, in net-sized batches;
        returns {blob: array of all results}."""
        if not kwargs:
            raise NetError('forward_all needs input arrays (net inputs %s), got none'
                           % (self.inputs,))
        outs = self._batched_outputs('forward_all', blobs)
        results = {name: [] for name in outs}
        for batch, pad in self._batches(kwargs):
            out = self.forward(blobs=blobs, **batch)
            for name in outs:
                results[name].append(np.array(out[name][:len(out[name]) - pad]))
        return {name: np.concatenate(v) if v else np.empty(0, np.float32)
                for name, v in results.items()}

    def forward_backward_all(self, blobs=None, diffs=None, **kwargs):
        """forward_all and backward over batches; kwargs hold inputs and
        output diffs. Returns (all_outs, all_diffs), padding dropped."""
        ins = {k: v for k, v in kwargs.items() if k in self.inputs}
        top_diffs = {k: v for k, v in kwargs.items() if k in self.outputs}
        if not ins and not top_diffs:
            raise NetError('forward_backward_all needs input arrays or output diffs, got '
                           'neither (net inputs %s, outputs %s)' % (self.inputs, self.outputs))
        outs = self._batched_outputs('forward_backward_all', blobs)
        douts = list(dict.fromkeys(self.inputs + list(diffs or [])))
        results = {name: [] for name in outs}
        dresults = {name: [] for name in douts}
        for (batch, pad), (dbatch, dpad) in zip(self._batches(ins), self._batches(top_diffs)):
            pad = max(pad, dpad)
            out = self.forward(blobs=blobs, **batch)
            dout = self.backward(diffs=diffs, **dbatch)
            for acc, names, src in ((results, outs, out), (dresults, douts, dout)):
                for name in names:
                    acc[name].append(np.array(src[name][:len(src[name]) - pad]))
        cat = lambda d: {k: np.concatenate(v) for k, v in d.items()}
        return cat(results), cat(dresults)

    def _batched_outputs(self, caller, blobs):
        """The net's outputs and ``blobs``, which ``caller`` collects along
        their batch axis: a 0-d one (a loss) has none."""
        outs = list(dict.fromkeys(self.outputs + list(blobs or [])))
        for name in outs:
            if not self.blobs[name].shape:
                raise UnbatchedOutputError(
                    "%s: output '%s' is 0-d (a loss?): it has no batch axis to collect; "
                    "use a deploy net, or forward() per batch" % (caller, name))
        return outs

    def _batches(self, arrays):
        """Yield ({name: batch}, padding) over ``arrays`` in net batch size;
        the last batch is zero-padded, as pycaffe does. No arrays yield
        empty batches without end (forward_backward_all zips them)."""
        if not arrays:
            while True:
                yield {}, 0
        batch_size = self.blobs[next(iter(arrays))].shape[0]
        total = len(next(iter(arrays.values())))
        for first in range(0, total, batch_size):
            batch, pad = {}, 0
            for name, values in arrays.items():
                chunk = np.asarray(values[first:first + batch_size])
                pad = batch_size - len(chunk)
                if pad:
                    chunk = np.concatenate([chunk, np.zeros((pad,) + chunk.shape[1:], chunk.dtype)])
                batch[name] = chunk
            yield batch, pad

    def set_input_arrays(self, data, labels):
        """Feed (N, C, H, W) ``data`` and (N,) or (N, 1, 1, 1) ``labels`` to
        the net's MemoryData layer (pycaffe's Net.set_input_arrays; pycaffe
        looks only at the first layer). Misfits raise CaffeRuntimeError, the
        RuntimeError pycaffe raises."""
        for layer in self.layers:
            if layer.type == 'MemoryData':
                return layer.set_input_arrays(data, labels)
        raise CaffeRuntimeError("net '%s': set_input_arrays may only be called if the net "
                                "has a MemoryData layer" % self.name)

    def reshape(self):
        """Propagate input shape changes through every layer."""
        for i, layer in enumerate(self.layers):
            layer.reshape(self._vec(self._layer_bottom_ids[i]), self._vec(self._layer_top_ids[i]))

    def clear_param_diffs(self):
        for blob in self.learnable_params:
            solver_updates.clear(blob.xdiff)

    # --- weights -----------------------------------------------------------
    def copy_from(self, weights):
        """Load trained weights (a .caffemodel path, a NetParameter, or an
        .h5/.hdf5 file) into layers with the same names; other layers of the
        file are ignored, and layers with parameters that the file lacks are
        named in a WeightsWarning. Returns a caffelite.weights.WeightsReport."""
        return copy_weights(self, weights)

    def share_with(self, other):
        """Share the param data of same-named layers of ``other`` (a Net)."""
        mine = self.layer_dict
        for name, layer in other.layer_dict.items():
            target = mine.get(name)
            if target is None or not layer.blobs:
                continue
            if len(target.blobs) != len(layer.blobs):
                raise WeightsError("layer '%s': %d params vs %d"
                                   % (name, len(target.blobs), len(layer.blobs)))
            for k, (t, s) in enumerate(zip(target.blobs, layer.blobs)):
                if t.shape != s.shape:
                    raise WeightsError("cannot share param %d of layer '%s': %s vs %s"
                                       % (k, name, s.shape, t.shape))
                t.share_data(s)

    def to_proto(self, write_diff=False):
        """The NetParameter of this net with every layer's blobs."""
        out = caffe_pb2.NetParameter()
        out.name = self.name
        for lp, layer in zip(self._param.layer, self.layers):
            dst = out.layer.add()
            dst.CopyFrom(lp)
            del dst.blobs[:]
            for blob in layer.blobs:
                blob.to_proto(dst.blobs.add(), write_diff)
        return out

    def save(self, filename, write_diff=False):
        """Write the weights as a binary .caffemodel (atomically)."""
        protoio.write_binary(filename, self.to_proto(write_diff))

    def save_hdf5(self, filename, write_diff=False):
        import h5py
        with protoio.atomic_open(filename, 'wb') as f, h5py.File(f, 'w') as h5:
            for name, blobs in self.params.items():
                for k, blob in enumerate(blobs):
                    h5['data/%s/%d' % (name, k)] = blob.data
                    if write_diff:
                        h5['diff/%s/%d' % (name, k)] = blob.diff

    def load_hdf5(self, filename):
        """pycaffe's load_hdf5: copy_from for weights that save_hdf5 wrote,
        read as HDF5 whatever the file name ends with."""
        copy_weights(self, filename, hdf5=True)

    def __repr__(self):
        return '<Net %r: %d layers, %d blobs>' % (self.name, len(self.layers), len(self._blobs))
