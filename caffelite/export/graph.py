"""GraphBuilder: an ONNX graph under construction, in single-assignment
form, with the opset-dependent spellings of a few operators in one place.

Tensor names are unique: Caffe's in-place tops (a ReLU writing back into
its bottom) become a new name per write, and the last write of a Caffe
blob takes the blob's own name, so the graph's outputs are named as the
net's. Weights become initializers; small constants too.
"""
import numpy as np

from .. import errors

# ONNX element types by NumPy dtype (the ones the exporter creates).
_ELEM_TYPES = {np.dtype(np.float32): 1, np.dtype(np.int64): 7, np.dtype(np.bool_): 9}


def onnx_module():
    """The ``onnx`` package, or a CaffeError saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise errors.CaffeError('ONNX export needs the onnx package: '
                                'pip install "caffelite[onnx]"') from None
    return onnx


class GraphBuilder:
    """Nodes, initializers, inputs and outputs of one ONNX graph.

    ``opset`` is the default-domain opset the graph targets; ``reserved``
    names (Caffe blob names) are only handed out on request, never as
    temporaries.
    """

    def __init__(self, opset, reserved=()):
        self.onnx = onnx_module()
        self.opset = opset
        self.nodes, self.initializers, self.inputs, self.outputs = [], [], [], []
        self._used = set()
        self._reserved = set(reserved)
        self._counter = 0
        self._consts = {}

    # --- names ---------------------------------------------------------
    def fresh(self, base):
        """A tensor name not used yet, ``base`` if free."""
        name, k = base, 0
        while name in self._used or name in self._reserved:
            k += 1
            name = '%s_%d' % (base, k)
        self._used.add(name)
        return name

    def claim(self, name):
        """Take the reserved name ``name`` (a Caffe blob's final version)."""
        if name in self._used:
            raise errors.CaffeError("ONNX tensor name '%s' used twice" % name)
        self._reserved.discard(name)
        self._used.add(name)
        return name

    def release(self, name):
        """Give back a claimed name that no node produced (a layer that
        passed its bottom through), so an output can still take it."""
        self._used.discard(name)
        self._reserved.add(name)

    # --- graph pieces --------------------------------------------------
    def initializer(self, array, base):
        """An initializer holding ``array`` (float32 unless int64/bool)."""
        array = np.asarray(array)
        if array.dtype not in _ELEM_TYPES:
            array = array.astype(np.float32)
        name = self.fresh(base)
        self.initializers.append(self.onnx.numpy_helper.from_array(
            np.array(array, order="C"), name))
        return name

    def const(self, values, dtype=np.float32):
        """A small constant (shapes, axes, scalars), shared by value."""
        array = np.asarray(values, dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._consts:
            self._consts[key] = self.initializer(array, 'const')
        return self._consts[key]

    def ints(self, values):
        """An int64 1-d constant (Reshape targets, axes, pads...)."""
        return self.const(list(values), np.int64)

    def op(self, op_type, inputs, out=None, outputs=1, where='', **attrs):
        """Add one node; returns its output name (or the list of names when
        ``outputs`` > 1). ``out`` names the first output, or is a list with
        a name or None (a fresh name) per output; ``where`` (a layer name)
        prefixes temporaries and the node name."""
        self._counter += 1
        prefix = where or op_type
        wanted = out if isinstance(out, list) else [out] + [None] * (outputs - 1)
        names = [name or self.fresh('%s/%s%s' % (prefix, op_type, i or ''))
                 for i, name in enumerate(wanted)]
        self.nodes.append(self.onnx.helper.make_node(
            op_type, list(inputs), names, name='%s/%s_%d' % (prefix, op_type, self._counter),
            **attrs))
        return names[0] if len(names) == 1 else names

    def value_info(self, name, shape, doc=''):
        """A float tensor's description: shape entries are ints or symbolic
        names; ``doc`` goes to its doc_string."""
        return self.onnx.helper.make_tensor_value_info(name, 1, list(shape), doc_string=doc)

    # --- operators whose spelling changes with the opset ----------------
    def reduce(self, op_type, x, axes, keepdims, where=''):
        """ReduceSum/Mean/L1/SumSquare/Max over ``axes``: axes became an
        input in opset 13 for ReduceSum and in opset 18 for the others."""
        axes = [int(a) for a in axes]
        if op_type == 'ReduceSum' or self.opset >= 18:
            return self.op(op_type, [x, self.ints(axes)], where=where, keepdims=int(keepdims))
        return self.op(op_type, [x], where=where, axes=axes, keepdims=int(keepdims))

    def split(self, x, sizes, axis, outs, where=''):
        """Split ``x`` along ``axis`` into pieces of ``sizes`` named ``outs``
        (``None`` entries get fresh names); returns the names."""
        names = self.op('Split', [x, self.ints(sizes)], out=list(outs), where=where,
                        axis=int(axis))
        return names if isinstance(names, list) else [names]

    def model(self, name, producer):
        """The ModelProto of the graph, with the lowest IR version that
        carries this opset (so older runtimes load it)."""
        onnx = self.onnx
        graph = onnx.helper.make_graph(self.nodes, name or 'caffelite', self.inputs,
                                       self.outputs, self.initializers)
        opsets = [onnx.helper.make_opsetid('', self.opset)]
        model = onnx.helper.make_model(graph, opset_imports=opsets, producer_name=producer)
        model.ir_version = onnx.helper.find_min_ir_version_for(opsets)
        return model
