"""``to_onnx``: a caffelite Net as an ONNX model, layer by layer.

The graph's inputs are the net's Input blobs (optionally preprocessed,
see caffelite.export.preprocess), its outputs the net's output blobs under
their Caffe names. Every layer goes through the converter registered for
its type (caffelite.export.convert); a layer without an ONNX form stops
the export with its name and type. The model is checked with
onnx.checker, optionally verified against caffelite in ONNX Runtime
(caffelite.export.verify), and written atomically.
"""
import collections

from ..errors import CaffeError
from ..protoio import atomic_open
from . import (affine, arithmetic, neuron, normalization, recurrent, refusals,  # noqa: F401
               routing, vision)  # (imported to register their converters)
from .convert import LayerContext, convert_layer
from .graph import GraphBuilder, onnx_module
from .python_tail import record, tail_python_layers
from .preprocess import Preprocessing
from .shapes import input_batch, probe_batch

DEFAULT_OPSET = 18
OPSETS = range(13, 22)
BATCH_DIM = 'N'


def _opset(opset):
    if opset not in OPSETS:
        raise CaffeError('ONNX opset %s is not supported; choose %d to %d'
                         % (opset, OPSETS[0], OPSETS[-1]))
    return int(opset)


def _batch(batch):
    """None (the net's batch), 'dynamic' or a positive int."""
    if batch is None or batch == 'dynamic':
        return batch
    if isinstance(batch, str) and batch.isdigit():
        batch = int(batch)
    if not isinstance(batch, int) or isinstance(batch, bool) or batch <= 0:
        raise CaffeError("batch must be 'dynamic' or a positive integer, got %r" % (batch,))
    return batch


class _Exporter:
    """Walks the net once, naming tensors in single-assignment form."""

    def __init__(self, net, opset, probe, preprocessing, input_name, outputs, skip):
        self.net = net
        self.skip = set(skip)
        self.outputs = self._graph_outputs(list(outputs))
        self.probe = probe
        self.preprocessing = preprocessing
        self.input_name = input_name
        self.inputs = set(net.inputs)
        tops = [t for layer in net.layers if layer.layer_param.type != 'Input'
                for t in layer.layer_param.top]
        self.writes_left = collections.Counter(tops)
        self.g = GraphBuilder(opset, reserved=set(tops) | self.inputs)
        self.current = {}        # Caffe blob -> ONNX tensor of its latest value
        self.free0 = {}          # Caffe blob -> axis 0 open in the graph
        self.filtered = set()    # blobs whose axis 0 follows a Filter's data
        self.symbols = {}

    def _graph_outputs(self, extra):
        """The net's outputs, except those of skipped layers, whose bottoms
        become outputs instead; then ``extra``. A net whose every top is
        consumed gives the blobs its Silence layers take: a deploy net that
        ends in Silence (colorization's class8_ab) is read through them."""
        skipped = [self.net.layers[i].layer_param for i in sorted(self.skip)]
        made_by_skipped = {t for lp in skipped for t in lp.top}
        handed_over = [b for lp in skipped for b in lp.bottom if b not in made_by_skipped]
        kept = [b for b in self.net.outputs if b not in made_by_skipped]
        outputs = list(dict.fromkeys(kept + handed_over + extra))
        if not outputs:
            outputs = list(dict.fromkeys(b for layer in self.net.layers
                                         if layer.layer_param.type == 'Silence'
                                         for b in layer.layer_param.bottom))
        return outputs

    def _axis0(self, blob):
        """A symbolic name for blob's axis 0 when it is open."""
        if blob in self.filtered:
            return self.symbols.setdefault(blob, '%s_rows' % blob)
        one, two = self.probe[blob]
        first = self.probe[self.net.inputs[0]]
        if one[0] == first[0][0] and two[0] == first[1][0]:
            return BATCH_DIM
        return self.symbols.setdefault(blob, '%s_axis0' % blob)

    def _shape(self, blob):
        shape = list(self.net.blobs[blob].shape)
        if shape and self.free0[blob]:
            shape[0] = self._axis0(blob)
        return shape

    def _open0(self, blob):
        if self.probe is None:
            return False
        one, two = self.probe[blob]
        return bool(one) and one[0] != two[0]

    def add_inputs(self):
        for blob in self.net.inputs:
            self.free0[blob] = self._open0(blob)
            name = self.g.claim(blob)
            self.g.inputs.append(self.g.value_info(name, self._shape(blob)))
            if blob == self.input_name and self.preprocessing:
                name = self.preprocessing.emit(self.g, name, self.net.blobs[blob].shape,
                                               blob + '/preprocess')
            self.current[blob] = name

    def _top_name(self, blob):
        """The name the next write of ``blob`` takes: its own for the last
        (an input keeps its own name for the graph input)."""
        self.writes_left[blob] -= 1
        if self.writes_left[blob] == 0 and blob not in self.inputs:
            return self.g.claim(blob)
        return self.g.fresh(blob)

    def add_layer(self, layer):
        lp = layer.layer_param
        bottoms = list(lp.bottom)
        inputs = [self.current[b] for b in bottoms]
        outs = [self._top_name(t) for t in lp.top]
        ctx = LayerContext(self.g, self.net, layer, inputs, outs,
                           [self.free0[b] for b in bottoms])
        tops = convert_layer(ctx)
        filtered = lp.type == 'Filter' or any(b in self.filtered for b in bottoms)
        for blob, tensor, out in zip(lp.top, tops, outs):
            if tensor != out:
                self.g.release(out)
            self.current[blob] = tensor
            if filtered and self.net.blobs[blob].shape:
                self.filtered.add(blob)
            self.free0[blob] = self._open0(blob) or blob in self.filtered

    def add_outputs(self):
        for blob in self.outputs:
            if blob not in self.current:
                raise CaffeError("net '%s' has no blob '%s' to output" % (self.net.name, blob))
            tensor = self.current[blob]
            if tensor != blob:
                # The last writer returned an existing tensor (Dropout,
                # Split...): name the output after the blob all the same.
                name = self.g.claim(blob) if blob not in self.inputs else self.g.fresh(blob)
                tensor = self.g.op('Identity', [tensor], out=name, where=blob)
            # The doc string names the Caffe blob even where an input's
            # in-place rewrite had to take another name.
            self.g.outputs.append(self.g.value_info(tensor, self._shape(blob), blob))

    def run(self):
        self.add_inputs()
        for i, layer in enumerate(self.net.layers):
            if layer.layer_param.type != 'Input' and i not in self.skip:
                self.add_layer(layer)
        self.add_outputs()
        return self.g.model(self.net.name, 'caffelite')


def build_model(net, opset=DEFAULT_OPSET, batch=None, preprocessing=None, input=None,
                extra_outputs=(), python_tail=False):
    """The checked ONNX ModelProto of ``net`` (see to_onnx); blobs named in
    ``extra_outputs`` become graph outputs too, after the net's."""
    opset, batch = _opset(opset), _batch(batch)
    if not net.inputs:
        raise CaffeError("net '%s' has no Input layer; ONNX export needs a deploy net whose "
                         "inputs are Input layers" % net.name)
    input_name = input or net.inputs[0]
    if input_name not in net.inputs:
        raise CaffeError("'%s' is not an input of net '%s' (inputs: %s)"
                         % (input_name, net.name, ', '.join(net.inputs)))
    probe = probe_batch(net) if batch == 'dynamic' else None
    tail = tail_python_layers(net) if python_tail else []
    with input_batch(net, batch if isinstance(batch, int) else None):
        model = _Exporter(net, opset, probe, preprocessing or Preprocessing(), input_name,
                          extra_outputs, tail).run()
    if tail:
        record(model, net, tail)
    onnx = onnx_module()
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        raise CaffeError('the exported ONNX model of %s fails onnx.checker: %s'
                         % (net.name, str(e).strip().splitlines()[0])) from e
    return model


def save_model(model, path):
    """Write ``model`` to ``path`` atomically."""
    with atomic_open(path, 'wb') as f:
        f.write(model.SerializeToString())


def to_onnx(net, path=None, opset=DEFAULT_OPSET, batch=None, mean=None, raw_scale=None,
            channel_swap=None, input_scale=None, input=None, check=False, check_inputs=None,
            python_tail=False):
    """Export ``net`` (a TEST-phase caffelite Net with its weights) to ONNX.

    ``path``: where to write the .onnx file (None: only return the model).
    ``opset``: the ONNX opset, 13 to 21. ``batch``: None keeps the net's
    batch size, an int fixes another, 'dynamic' leaves axis 0 of the
    inputs open (refused when a layer's shapes depend on it otherwise).
    ``mean``, ``raw_scale``, ``channel_swap``, ``input_scale``: pycaffe
    Transformer steps baked in front of input ``input`` (default the
    first); e.g. ``channel_swap=(2, 1, 0), mean='mean.binaryproto'`` makes
    the model take RGB 0-255 images. ``check``: before writing, run the
    model in ONNX Runtime on random inputs and on ``check_inputs`` (a list
    of {input: array} feeds) and raise CheckError if any output differs
    from caffelite's beyond float32 tolerance. ``python_tail``: leave the
    Python layers that end the net (DetectNet's clustering) out of the
    graph, whose outputs become their bottoms; caffelite.export.postprocess
    runs them after ONNX Runtime (see caffelite.export.postprocess).
    Returns the ONNX ModelProto.
    """
    from .verify import check_model
    preprocessing = Preprocessing(mean, raw_scale, channel_swap, input_scale)
    model = build_model(net, opset, batch, preprocessing, input, python_tail=python_tail)
    if check:
        check_model(model, net, preprocessing, input, feeds=check_inputs)
    if path is not None:
        save_model(model, path)
    return model
