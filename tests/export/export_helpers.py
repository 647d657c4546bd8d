"""Building small nets from prototxt text for export tests, and running
an exported model in ONNX Runtime."""
import numpy as np
import pytest

import caffelite
from caffelite.export import build_model, check_model
from caffelite.export.verify import ort_session
from refcases import synthetic_weights

# The [onnx] extra (also in [test]); without it these tests cannot run.
pytest.importorskip('onnx')
pytest.importorskip('onnxruntime')


def net_text(inputs, body):
    """A NetParameter text: one Input layer per {blob: shape}, then body."""
    layers = ''.join(
        'layer { name: "input_%s" type: "Input" top: "%s" input_param { shape { %s } } }\n'
        % (name, name, ' '.join('dim: %d' % d for d in shape)) for name, shape in inputs.items())
    return 'name: "case"\n' + layers + body


def make_net(inputs, body, phase=caffelite.TEST):
    """The net with the reference README's synthetic weights."""
    net = caffelite.Net(net_text(inputs, body), phase)
    synthetic_weights(net)
    return net


def export_and_check(net, **options):
    """Export, then compare every output with caffelite on random inputs
    (check_model raises CheckError on a mismatch); returns the model."""
    model = build_model(net, **options)
    check_model(model, net, options.get('preprocessing'), options.get('input'))
    return model


def run_onnx(model, feed):
    """{output name: array} of ONNX Runtime on ``feed``."""
    session = ort_session(model)
    names = [o.name for o in model.graph.output]
    inputs = {i.name for i in model.graph.input}
    return dict(zip(names, session.run(names, {k: np.asarray(v, np.float32)
                                                for k, v in feed.items() if k in inputs})))
