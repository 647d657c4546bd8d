"""The converter registry and what a converter sees of its layer.

A converter is a function registered under a Caffe type name
(``@converter('Convolution')``); it receives a LayerContext and returns the
ONNX tensor names of the layer's tops, in order. It adds nodes through
``ctx.g`` (a GraphBuilder) and names its final node ``ctx.out(i)`` for top
``i``, or returns an existing name (a layer that computes nothing, such as
Dropout at TEST). It reads the layer's parameters from its LayerParameter
and the net's param blobs, never from layer internals.
"""
import numpy as np

from ..errors import LayerError
from ..registry import Registry

CONVERTERS = Registry()
converter = CONVERTERS.register


def canonical_axis(axis, num_axes):
    """Caffe's CanonicalAxisIndex: a negative axis counts from the end."""
    return axis + num_axes if axis < 0 else axis


class LayerContext:
    """One layer of the net being exported.

    ``inputs``: ONNX names of the bottoms; ``bottom_shapes`` and
    ``top_shapes``: the blobs' shapes in the exported net; ``params``:
    float32 arrays of the layer's param blobs; ``free0``: per bottom,
    whether its axis 0 is not fixed in the graph (a dynamic batch, or rows
    kept by a Filter), so shape constants must leave it open. ``params``
    are views of the net's blobs: converters must not write into them.
    """

    def __init__(self, g, net, layer, inputs, outs, free0):
        self.g = g
        self.lp = layer.layer_param
        self.name, self.type = self.lp.name, self.lp.type
        self.phase = net.phase
        self.inputs = list(inputs)
        self.bottom_shapes = [net.blobs[b].shape for b in self.lp.bottom]
        self.top_shapes = [net.blobs[t].shape for t in self.lp.top]
        self.params = [np.asarray(b.data) for b in net.params.get(self.name, [])]
        self._outs = list(outs)
        self.free0 = list(free0)

    def out(self, i=0):
        """The name top ``i``'s final node must produce."""
        return self._outs[i]

    def refuse(self, why):
        """Stop the export: this layer cannot be expressed as asked."""
        raise LayerError(self.name, self.type, 'cannot export to ONNX: %s' % why)

    def op(self, op_type, inputs, out=None, **attrs):
        """One node whose temporaries are named after this layer."""
        return self.g.op(op_type, inputs, out=out, where=self.name, **attrs)

    def reshape(self, x, shape, out=None, free0=None):
        """Reshape ``x`` to ``shape``; axis 0 is left to ONNX (-1) when it is
        not fixed (``free0``, by default that of bottom 0)."""
        free0 = self.free0[0] if free0 is None else free0
        target = list(shape)
        if free0 and target:
            target[0] = -1
        return self.op('Reshape', [x, self.g.ints(target)], out=out)

    def scale(self, x, factor, out=None):
        """x * factor, or x itself when the factor is 1 (a top must still be
        produced under its name, so ``out`` forces an Identity)."""
        if factor == 1:
            return self.op('Identity', [x], out=out) if out else x
        return self.op('Mul', [x, self.g.const(np.float32(factor))], out=out)


def convert_layer(ctx):
    """The top names of ``ctx``'s layer, by its registered converter."""
    fn = CONVERTERS.get(ctx.type)
    if fn is None:
        ctx.refuse('no ONNX converter for layer type %s' % ctx.type)
    tops = fn(ctx)
    if len(tops) != len(ctx.lp.top):
        raise LayerError(ctx.name, ctx.type, 'converter returned %d tops for %d'
                         % (len(tops), len(ctx.lp.top)))
    return tops
