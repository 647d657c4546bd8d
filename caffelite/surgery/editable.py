"""EditableNet: a network definition as an editable list of layers.

``net = EditableNet('deploy.prototxt')``; ``net.layer('fc8')`` is the live
LayerParameter (change its fields directly, or with :meth:`set`);
:meth:`rename_layer`, :meth:`rename_blob`, :meth:`replace_layer`,
:meth:`insert_layer` and :meth:`remove_layer` edit the list;
:meth:`check` applies the two rules (see :mod:`.checks`) and returns the
blob shapes; :meth:`save` writes the prototxt.
"""
import os

from google.protobuf import text_format

from .. import netgraph, protoio
from ..errors import CaffeError
from ..net import TEST, load_net_param
from ..proto import caffe_pb2
from . import checks


def _as_layer(layer):
    """A LayerParameter from one, or from its prototxt text."""
    if isinstance(layer, caffe_pb2.LayerParameter):
        return layer
    try:
        return text_format.Parse(layer, caffe_pb2.LayerParameter())
    except text_format.ParseError as e:
        raise CaffeError('not a layer definition: %s' % e) from None


def _replace(message, key, value):
    """Set ``message.key`` to ``value`` (a dict sets nested fields)."""
    field = getattr(message, key)
    if isinstance(value, dict):
        for k, v in value.items():
            _replace(field, k, v)
    elif hasattr(field, 'extend'):
        del field[:]
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
            for item in value:
                entry = field.add()
                for k, v in item.items():
                    _replace(entry, k, v)
        else:
            field.extend(value if isinstance(value, (list, tuple)) else [value])
    else:
        setattr(message, key, value)


class EditableNet:
    """A NetParameter under edit; ``source`` is a prototxt path, prototxt
    text or a NetParameter."""

    def __init__(self, source):
        self.param = load_net_param(source)
        self.path = None
        self._lines = {}
        if isinstance(source, (str, os.PathLike)) and os.path.exists(source):
            self.path = os.fspath(source)
            with open(self.path, encoding='utf-8') as f:
                starts = [block[0] for block in protoio.layer_blocks(f.read())]
            if len(starts) == len(self.param.layer):
                self._lines = {l.name: n for l, n in zip(self.param.layer, starts)}
        self.outputs = self._outputs(TEST, ())

    # --- looking -----------------------------------------------------------
    @property
    def layers(self):
        return list(self.param.layer)

    def names(self):
        return [l.name for l in self.param.layer]

    def index(self, name):
        for i, layer in enumerate(self.param.layer):
            if layer.name == name:
                return i
        raise CaffeError("no layer named '%s' (layers: %s)" % (name, ', '.join(self.names())))

    def layer(self, name):
        """The live LayerParameter of layer ``name``."""
        return self.param.layer[self.index(name)]

    def line_of(self, name):
        """The prototxt line where layer ``name`` started (None if unknown)."""
        return self._lines.get(name)

    # --- editing -----------------------------------------------------------
    def set(self, name, **fields):
        """Change fields of layer ``name``, NetSpec-style values, e.g.
        ``set('fc8', convolution_param=dict(num_output=2))``: nested fields
        not named keep their values, repeated ones named are replaced."""
        layer = self.layer(name)
        for key, value in fields.items():
            _replace(layer, key, value)
        return layer

    def rename_layer(self, old, new):
        if new in self.names():
            raise CaffeError("a layer named '%s' already exists" % new)
        self.layer(old).name = new
        if old in self._lines:
            self._lines[new] = self._lines.pop(old)

    def rename_blob(self, old, new):
        """Rename blob ``old`` in every bottom and top."""
        for layer in self.param.layer:
            for field in (layer.bottom, layer.top):
                for i, name in enumerate(field):
                    if name == old:
                        field[i] = new

    def _rebuild(self, layers):
        del self.param.layer[:]
        for layer in layers:
            self.param.layer.add().CopyFrom(layer)

    def replace_layer(self, name, layer):
        """Put ``layer`` (LayerParameter or text) in place of layer ``name``."""
        i = self.index(name)
        layers = self.layers
        layers[i] = _as_layer(layer)
        self._rebuild(layers)
        return self.param.layer[i]

    def insert_layer(self, layer, after=None, before=None):
        """Insert ``layer`` after or before the named layer (default: last)."""
        if after is not None and before is not None:
            raise CaffeError('give after or before, not both')
        layer = _as_layer(layer)
        if layer.name in self.names():
            raise CaffeError("a layer named '%s' already exists" % layer.name)
        layers = self.layers
        position = (self.index(after) + 1 if after is not None
                    else self.index(before) if before is not None else len(layers))
        layers.insert(position, layer)
        self._rebuild(layers)
        return self.param.layer[position]

    def remove_layer(self, name, reconnect=True):
        """Remove layer ``name``. With ``reconnect``, a one-bottom one-top
        layer is bridged: the layers after it that read its top read its
        bottom instead."""
        i = self.index(name)
        layers = self.layers
        removed = layers.pop(i)
        if reconnect and len(removed.bottom) == 1 and len(removed.top) == 1 \
                and removed.top[0] != removed.bottom[0]:
            for layer in layers[i:]:
                for j, bottom in enumerate(layer.bottom):
                    if bottom == removed.top[0]:
                        layer.bottom[j] = removed.bottom[0]
        self._rebuild(layers)
        self._lines.pop(name, None)
        return removed

    # --- checking ----------------------------------------------------------
    def _state_param(self, phase, stages, level=0):
        param = caffe_pb2.NetParameter()
        param.CopyFrom(self.param)
        param.state.phase = phase
        param.state.level = level
        del param.state.stage[:]
        param.state.stage.extend(stages)
        return param

    def _outputs(self, phase, stages):
        """Blobs no layer of that state reads (the net's outputs)."""
        layers = netgraph.filter_net(self._state_param(phase, stages)).layer
        consumed = {b for layer in layers for b in layer.bottom}
        return {t for layer in layers for t in layer.top if t not in consumed}

    def problems(self, phase=TEST, stages=(), outputs=None):
        """(problems, {blob: shape}): the flow checks, then (if the data
        flows) the shape checks, for the layers of that NetState.
        ``outputs``: blobs allowed to end unconsumed (default: the outputs
        the net had when loaded)."""
        param = self._state_param(phase, stages)
        try:
            layers = list(netgraph.filter_net(param).layer)
        except CaffeError as e:
            return [checks.Problem(None, None, None, str(e))], {}
        allowed = set(self.outputs if outputs is None else outputs)
        found = checks.flow_problems(layers, self.line_of, allowed)
        if found:
            return found, {}
        return checks.shape_problems(param, self.line_of)

    def check(self, phase=TEST, stages=(), outputs=None):
        """Raise :class:`SurgeryError` listing every problem; return the
        {blob: shape} of the net when it passes."""
        found, shapes = self.problems(phase, stages, outputs)
        if found:
            raise checks.SurgeryError(found, self.path)
        return shapes

    # --- writing -----------------------------------------------------------
    def text(self):
        return text_format.MessageToString(self.param)

    def save(self, path):
        protoio.write_text(path, self.param)
