"""The Layer contract (Caffe's) and the registry of layer types.

A layer receives lists of bottom and top :class:`~caffelite.blob.Blob`:

* ``setup(bottom, top)``: read parameters, create ``self.blobs`` (learnable
  params); called once.
* ``reshape(bottom, top)``: size the tops (and buffers) from the bottoms;
  called before every forward, so input shape changes flow through the net.
* ``forward(bottom, top)``: compute top data from bottom data.
* ``backward(top, propagate_down, bottom)``: write bottom diffs where
  ``propagate_down[i]`` and *accumulate* param diffs where
  ``self.param_propagate_down[j]``, as Caffe does.

Math goes through ``self.xp`` (NumPy or CuPy) and the blobs' ``xdata`` /
``xdiff``, so one implementation serves both modes.
"""

import math

import numpy as np

from .. import backend, threads
from ..blob import Blob
from ..errors import KeywordArgumentError, LayerError
from ..registry import Registry
from ..workspace import Workspace

_REGISTRY = Registry()
register = _REGISTRY.register   # class decorator: @register('Convolution')


def layer_type_list():
    """Registered layer type names, sorted (pycaffe's ``layer_type_list``)."""
    return _REGISTRY.names()


def layer_class(type_name, layer_name='?'):
    try:
        return _REGISTRY[type_name]
    except KeyError:
        raise LayerError(layer_name, type_name,
                         "unknown layer type '%s' (a custom layer of a Caffe fork?); the "
                         "known types are BVLC Caffe's and NVIDIA's: %s"
                         % (type_name, ', '.join(layer_type_list()))) from None


def create_layer(param):
    """Instantiate the layer described by a LayerParameter."""
    cls = layer_class(param.type, param.name)
    return cls.create(param)


class BlobVec(list):
    """A layer's param blobs (pycaffe's ``BlobVec``): a list of Blobs that a
    Python layer grows in ``setup`` with ``self.blobs.add_blob(*shape)``.
    The net registers them after setup like any layer's params: learnable
    (lr_mult 1 unless ``param`` says otherwise), saved by ``net.save``,
    loaded by ``copy_from``."""

    def add_blob(self, *shape, **kwargs):
        """Append a zero-filled Blob of dimensions ``shape`` (ints)."""
        if kwargs:
            raise KeywordArgumentError('BlobVec.add_blob takes no kwargs')
        self.append(Blob(tuple(int(d) for d in shape)))


class Layer:
    """Base class of every layer, native or Python (pycaffe's ``caffe.Layer``)."""

    type = None
    # Blob count constraints, checked before setup (None: unconstrained).
    exact_num_bottom = None
    min_bottom = None
    max_bottom = None
    exact_num_top = None
    min_top = None
    max_top = None
    equal_num_bottom_top = False
    # Whether the net may create anonymous tops up to the required count.
    auto_top_blobs = False

    def __init__(self, param):
        self.layer_param = param
        self.name = param.name
        self.phase = param.phase
        self.blobs = BlobVec()
        self.param_propagate_down = []
        self.loss_weights = []
        # Scratch buffers: the owning Net's, which it sets when it adds the layer.
        self.workspace = Workspace()

    @classmethod
    def create(cls, param):
        return cls(param)

    # --- the contract, overridden by subclasses ----------------------------
    def setup(self, bottom, top):
        """One-time setup from the parameters and the bottom shapes."""

    def reshape(self, bottom, top):
        raise NotImplementedError

    def forward(self, bottom, top):
        raise NotImplementedError

    def backward(self, top, propagate_down, bottom):
        """Default for layers without a gradient: refuse to propagate."""
        if any(propagate_down):
            self.fail('this layer cannot backpropagate to its bottoms')

    def allow_force_backward(self, bottom_index):
        return True

    # --- helpers for subclasses --------------------------------------------
    @property
    def xp(self):
        return backend.xp()

    def over_batch(self, num, elements, fn, size=0):
        """fn(batch slice) over a batch of ``num``: on the CPU in parts that
        threads share when the work (``elements`` elementwise operations)
        is large, and whose share of the largest array (of ``size``
        elements) stays in the cache (caffelite.threads.over_batch); on the
        GPU at once."""
        if self.xp is not np:
            fn(slice(None))
            return
        threads.over_batch(num, elements, fn, size)

    def over_elements(self, size, fn):
        """fn(slice) over flat elementwise work of ``size``: on the CPU in
        cache-sized pieces that threads share when large
        (caffelite.threads.over_elements); on the GPU at once."""
        if self.xp is not np:
            fn(slice(None))
            return
        threads.over_elements(size, fn)

    def fail(self, message):
        """Raise a LayerError naming this layer."""
        raise LayerError(self.name, self.type, message)

    def check(self, condition, message):
        if not condition:
            self.fail(message)

    # --- called by the Net ---------------------------------------------------
    def check_blob_counts(self, bottom, top):
        nb, nt = len(bottom), len(top)
        checks = [
            (self.exact_num_bottom, nb == self.exact_num_bottom, 'exactly %s bottom'),
            (self.min_bottom, nb >= (self.min_bottom or 0), 'at least %s bottom'),
            (self.max_bottom, nb <= (self.max_bottom or 0), 'at most %s bottom'),
            (self.exact_num_top, nt == self.exact_num_top, 'exactly %s top'),
            (self.min_top, nt >= (self.min_top or 0), 'at least %s top'),
            (self.max_top, nt <= (self.max_top or 0), 'at most %s top'),
        ]
        for bound, ok, what in checks:
            if bound is not None and not ok:
                self.fail('takes %s blob(s); got %d bottom and %d top'
                          % (what % bound, nb, nt))
        if self.equal_num_bottom_top and nb != nt:
            self.fail('needs as many tops as bottoms; got %d and %d' % (nb, nt))

    def layer_setup(self, bottom, top):
        """Caffe's Layer::SetUp: check, setup, reshape, loss weights."""
        self.check_blob_counts(bottom, top)
        self.setup(bottom, top)
        self.reshape(bottom, top)
        self._set_loss_weights(top)

    def default_loss_weight(self, top_index):
        return 0.0

    def _set_loss_weights(self, top):
        weights = list(self.layer_param.loss_weight)
        if weights and len(weights) != len(top):
            self.fail('loss_weight must be given for every top (%d) or none (got %d)'
                      % (len(top), len(weights)))
        if not weights:
            weights = [self.default_loss_weight(i) for i in range(len(top))]
        self.loss_weights = [float(w) for w in weights]
        for blob, w in zip(top, self.loss_weights):
            if w:
                blob.xdiff[...] = w

    def loss(self, top_index):
        return self.loss_weights[top_index] if top_index < len(self.loss_weights) else 0.0

    def layer_forward(self, bottom, top):
        """Caffe's Layer::Forward: reshape, forward, weighted loss of the tops."""
        self.reshape(bottom, top)
        self.forward(bottom, top)
        loss = 0.0
        for blob, w in zip(top, self.loss_weights):
            if w:
                loss += float(self.xp.vdot(blob.xdata.ravel(), blob.xdiff.ravel()))
        return loss

    def layer_backward(self, top, propagate_down, bottom):
        self.backward(top, propagate_down, bottom)

    def set_param_propagate_down(self, index, value):
        while len(self.param_propagate_down) <= index:
            self.param_propagate_down.append(True)
        self.param_propagate_down[index] = bool(value)

    def add_param(self, shape):
        """Append a learnable parameter blob of ``shape`` and return it."""
        self.blobs.add_blob(*shape)
        self.param_propagate_down.append(True)
        return self.blobs[-1]

    def __repr__(self):
        return '<%s layer %r>' % (self.type, self.name)


# Helpers shared by several layer modules.

def outer_inner(shape, axis, length=1):
    """(outer, inner) counts around axes ``axis`` .. ``axis + length - 1``."""
    return (math.prod(shape[:axis]),
            math.prod(shape[axis + length:]))


def scatter_add(xp, target, index, values):
    """target[index] += values with repeated indices accumulating."""
    if xp is np:
        np.add.at(target, index, values)
    else:
        import cupyx
        cupyx.scatter_add(target, index, values)
