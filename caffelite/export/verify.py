"""Checking an exported model: ONNX Runtime (CPU) beside caffelite on the
same inputs, every output compared at float32 tolerance.

Random inputs are drawn to suit the layer that reads each input (indices
for Embed and BatchReindex, 0/1 sequence markers for recurrent layers and
selectors for Filter, pixel values for a preprocessed image input, normal
values otherwise); real inputs are given by the caller.
"""
import collections

import numpy as np

from ..errors import CaffeError
from .python_tail import postprocess
from .shapes import input_shapes

# The tolerance of whole-model conformance with Caffe: |ours - ref| <=
# RELATIVE |ref| + ABSOLUTE max|ref|. Different summation orders in two
# float32 implementations stay well inside it; a wrong layer does not.
RELATIVE, ABSOLUTE = 1e-3, 1e-4
DYNAMIC_CHECK_BATCHES = (1, 3)

Difference = collections.namedtuple('Difference', 'feed output max_abs scale excess')


class CheckError(CaffeError, ValueError):
    """The exported model's outputs differ from caffelite's."""


def ort_session(model):
    """An ONNX Runtime CPU session of a ModelProto."""
    try:
        import onnxruntime
    except ImportError:
        raise CaffeError('checking an export needs ONNX Runtime: pip install '
                         '"caffelite[onnx]"') from None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model.SerializeToString(), options,
                                        providers=['CPUExecutionProvider'])


def _consumers(net):
    """{blob: (layer type, bottom index, LayerParameter)} of its first reader."""
    found = {}
    for layer in net.layers:
        lp = layer.layer_param
        for j, blob in enumerate(lp.bottom):
            found.setdefault(blob, (lp.type, j, lp))
    return found


def _random_input(net, blob, reader, rng, pixels):
    """A random array for input ``blob`` at the net's current shape."""
    shape = net.blobs[blob].shape
    kind, index, lp = reader or (None, None, None)
    if kind == 'Embed' and index == 0:
        return rng.randint(0, lp.embed_param.input_dim, shape).astype(np.float32)
    if kind == 'BatchReindex' and index == 1:
        return rng.randint(0, net.blobs[lp.bottom[0]].shape[0], shape).astype(np.float32)
    if (kind in ('LSTM', 'RNN') and index == 1) or (kind == 'LSTMUnit' and index == 2) or (
            kind == 'Filter' and index == len(lp.bottom) - 1):
        marks = (rng.rand(*shape) > 0.3).astype(np.float32)
        if kind in ('LSTM', 'RNN'):
            marks[0] = 0        # every sequence starts at t = 0
        return marks
    if pixels:
        return rng.uniform(0, pixels, shape).astype(np.float32)
    return rng.randn(*shape).astype(np.float32)


def random_feeds(net, shapes, preprocessing, input_name, seed=0):
    """{input: array} for every net input, shaped by {input: shape}."""
    rng = np.random.RandomState(seed)
    readers = _consumers(net)
    pixel_range = 255.0 / (preprocessing.raw_scale or 1.0) if preprocessing else None
    with input_shapes(net, shapes):
        return {blob: _random_input(net, blob, readers.get(blob), rng,
                                    pixel_range if blob == input_name else None)
                for blob in net.inputs}


def caffelite_outputs(net, feed, preprocessing, input_name):
    """{blob: array} of caffelite's forward on graph-input ``feed``."""
    with input_shapes(net, {name: value.shape for name, value in feed.items()}):
        inputs = dict(feed)
        if preprocessing:
            shape = net.blobs[input_name].shape
            inputs[input_name] = preprocessing.apply(input_name, shape, feed[input_name])
        net.forward(**inputs)
        return {name: np.array(blob.data) for name, blob in net.blobs.items()}


def compare(ours, ref, feed_name, output):
    """The Difference of arrays ``ours`` (ONNX Runtime) and ``ref``."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    if ours.shape != ref.shape:
        raise CheckError("output '%s' (%s): ONNX Runtime gives shape %s, caffelite %s"
                         % (output, feed_name, ours.shape, ref.shape))
    nan = np.isnan(ref)
    if np.any(nan != np.isnan(ours)):
        raise CheckError("output '%s' (%s): NaN in different places" % (output, feed_name))
    ours, ref = ours[~nan], ref[~nan]
    if not ref.size:
        return Difference(feed_name, output, 0.0, 0.0, -np.inf)
    scale = max(1e-30, float(np.max(np.abs(ref))))
    diff = np.abs(ours - ref)
    excess = diff - (RELATIVE * np.abs(ref) + ABSOLUTE * scale)
    return Difference(feed_name, output, float(diff.max()), scale, float(excess.max()))


def _check_shapes(model):
    """[(label, {input: shape})] to check: the graph's fixed shapes, or two
    batch sizes when axis 0 is dynamic."""
    dims = {i.name: i.type.tensor_type.shape.dim for i in model.graph.input}
    if not any(d and d[0].dim_param for d in dims.values()):
        shapes = {name: [x.dim_value for x in d] for name, d in dims.items()}
        return [('random inputs', shapes)]
    return [('random batch %d' % b, {name: [b if x.dim_param else x.dim_value for x in d]
                                     for name, d in dims.items()})
            for b in DYNAMIC_CHECK_BATCHES]


def _fitting_feed(model, label, feed):
    """``feed`` as float32 arrays, or a CheckError naming what does not fit
    the graph's inputs (ONNX Runtime's own message loses the details)."""
    dims = {i.name: i.type.tensor_type.shape.dim for i in model.graph.input}
    if not isinstance(feed, dict) or set(feed) != set(dims):
        given = sorted(feed) if isinstance(feed, dict) else type(feed).__name__
        raise CheckError('%s: a feed is a dict of the model inputs %s; got %s'
                         % (label, sorted(dims), given))
    arrays = {k: np.ascontiguousarray(v, np.float32) for k, v in feed.items()}
    for name, array in arrays.items():
        wanted = tuple(d.dim_param or d.dim_value for d in dims[name])
        if len(wanted) != array.ndim or any(
                isinstance(w, int) and w != n for w, n in zip(wanted, array.shape)):
            raise CheckError("%s: input '%s' has shape %s; the model takes %s"
                             % (label, name, array.shape, wanted))
    return arrays


def check_model(model, net, preprocessing=None, input_name=None, feeds=None, random=True):
    """Run ``model`` in ONNX Runtime and ``net`` in caffelite on random
    inputs (unless not ``random``) and on ``feeds``, a list of {input:
    array}; return the list of Differences, or raise CheckError when an
    output is out of tolerance. Python layers recorded for post-processing
    run on ONNX Runtime's outputs and their tops are compared too."""
    input_name = input_name or net.inputs[0]
    session = ort_session(model)
    names = [o.name for o in model.graph.output]
    blobs = [o.doc_string or o.name for o in model.graph.output]
    runs = [(label, random_feeds(net, shapes, preprocessing, input_name, seed=i))
            for i, (label, shapes) in enumerate(_check_shapes(model) if random else [])]
    runs += [('input %d' % (i + 1), feed) for i, feed in enumerate(feeds or [])]
    if not runs:
        raise CaffeError('nothing to check: no random inputs and no feeds')
    report = []
    for label, feed in runs:
        feed = _fitting_feed(model, label, feed)
        try:
            got = session.run(names, feed)
        except Exception as e:       # ONNX Runtime raises its own exception types
            raise CheckError('ONNX Runtime failed on %s: %s' % (label, str(e).splitlines()[0]))
        got = postprocess(model, dict(zip(blobs, got)))
        ref = caffelite_outputs(net, feed, preprocessing, input_name)
        for blob, value in got.items():
            report.append(compare(value, ref[blob], label, blob))
    worst = max(report, key=lambda d: d.excess)
    if worst.excess > 0:
        raise CheckError("output '%s' differs from caffelite by %.3g (%s; largest |output| %.3g) "
                         "beyond float32 tolerance" % (worst.output, worst.max_abs, worst.feed,
                                                       worst.scale))
    return report


def summary(report):
    """One line: the largest difference over every output and input."""
    worst = max(report, key=lambda d: d.max_abs / d.scale if d.scale else 0)
    return ("largest difference %.3g on '%s' (%s, largest |output| %.3g)"
            % (worst.max_abs, worst.output, worst.feed, worst.scale))
