"""Building and running one layer outside a Net, for the layer tests
(tests/layers/test_<module>.py), and the gradient-check cases each of those
modules lists beside its other tests (the GPU suites rerun them: rerun.py).

``make`` is the one maker of a layer from LayerParameter text; ``setup``
wires it to blobs holding arrays; ``build`` does both (and forwards)."""
import collections

import numpy as np
import pytest
from google.protobuf import text_format

import caffelite as caffe
from caffelite.blob import Blob
from caffelite.gradient_check import check_gradient
from caffelite.layers import create_layer
from caffelite.proto import caffe_pb2


def make(text, phase=None, seed=None):
    """A layer from the text of a LayerParameter, named 'layer' unless the
    text names it, in ``phase`` when given, else the text's, else TEST.
    ``seed`` sets the global random seed first (the fillers draw from it)."""
    param = text_format.Parse(text, caffe_pb2.LayerParameter())
    param.name = param.name or 'layer'
    if phase is not None:
        param.phase = phase
    elif not param.HasField('phase'):
        param.phase = caffe_pb2.TEST
    if seed is not None:
        caffe.set_random_seed(seed)
    return create_layer(param)


def blob(value):
    """A Blob holding a host array."""
    b = Blob(np.shape(value))
    b.data[...] = value
    return b


def setup(layer, *bottoms, tops=1, in_place=False):
    """(bottom blobs, top blobs) holding the ``bottoms`` arrays, set up for
    ``layer``; in place, the one top is the first bottom."""
    bottom = [blob(x) for x in bottoms]
    top = bottom[:1] if in_place else [Blob() for _ in range(tops)]
    layer.layer_setup(bottom, top)
    return bottom, top


def build(text, *bottoms, tops=1, phase=None, seed=None, forward=True):
    """(layer, bottom blobs, top blobs) of ``make(text, phase, seed)`` set
    up on the ``bottoms`` arrays, and forwarded unless ``forward`` is false."""
    layer = make(text, phase, seed)
    bottom, top = setup(layer, *bottoms, tops=tops)
    if forward:
        layer.layer_forward(bottom, top)
    return layer, bottom, top


def run(layer, x, dy=None, in_place=False):
    """Set up and forward ``layer`` on x (and backward dy): (y, dx) copies."""
    (bottom,), (top,) = setup(layer, x, in_place=in_place)
    layer.layer_forward([bottom], [top])
    y = top.data.copy()
    if dy is None:
        return y, None
    top.diff[...] = dy
    layer.layer_backward([top], [True], [bottom])
    return y, bottom.diff.copy()


def forward_backward(layer, bottom, top, checked=None, seed=3):
    """Forward, then backward (to the ``checked`` bottoms, default all) from
    fixed random top diffs; host copies of the tops, those bottom diffs and
    the param diffs."""
    layer.layer_forward(bottom, top)
    rng = np.random.RandomState(seed)
    for t in top:
        t.diff[...] = rng.randn(*t.shape)
    for b in layer.blobs:
        b.diff[...] = 0
    down = [checked is None or i in checked for i in range(len(bottom))]
    layer.layer_backward(top, down, bottom)
    return ([t.data.copy() for t in top], [b.diff.copy() for b, d in zip(bottom, down) if d],
            [b.diff.copy() for b in layer.blobs])


# --- gradient-check cases ----------------------------------------------------
def labels(n, classes, shape=None):
    return lambda rng: rng.randint(0, classes, shape or (n,)).astype(np.float32)


def normal(*shape):
    return lambda rng: rng.randn(*shape).astype(np.float32)


def positive(*shape):
    return lambda rng: (rng.rand(*shape) + 0.5).astype(np.float32)


def fixed(x):
    return lambda rng: x


class LayerCase(collections.namedtuple(
        'LayerCase', 'id definition makers checked tops options seed',
        defaults=(None, 1, {}, 1))):
    """One layer on random bottoms: ``makers`` draw each bottom from a
    RandomState; ``checked`` lists the bottoms to gradient-check (None: all);
    ``options`` go to check_gradient; ``seed`` seeds the fillers (and, + 6,
    the bottoms)."""

    def build(self, seed=None):
        """(layer, bottom, top) set up (not forwarded)."""
        seed = self.seed if seed is None else seed
        rng = np.random.RandomState(seed + 6)
        bottoms = [make_bottom(rng) for make_bottom in self.makers]
        return build('name: "%s" %s' % (self.id, self.definition), *bottoms, tops=self.tops,
                     seed=seed, forward=False)


def gradient_test(cases):
    """A test checking every case's gradients by finite differences
    (caffelite.gradient_check); a layer test module binds it as
    ``test_gradient = gradient_test(GRADIENT_CASES)``."""
    @pytest.mark.parametrize('case', cases, ids=[c.id for c in cases])
    def test_gradient(case):
        layer, bottom, top = case.build()
        assert check_gradient(layer, bottom, top, check_bottom=case.checked,
                              **case.options) > 0
    return test_gradient
