"""Exceptions raised by caffelite. Every failure is one of these, never a
process abort, and its message names the file, line, layer or blob at fault.
Where pycaffe raises a builtin exception, ours is also that builtin
(KeyError for a missing blob name, TypeError for a NetSpec input that is not
a Top, RuntimeError where pycaffe's C++ threw...), so code written against
pycaffe catches it unchanged."""


class CaffeError(Exception):
    """Base class of every caffelite error."""


class ParseError(CaffeError, ValueError):
    """A prototxt or binary proto file could not be read.

    Attributes: ``path`` (or None for a string), ``line`` and ``column``
    (1-based, None when unknown).
    """

    def __init__(self, message, path=None, line=None, column=None):
        where = path or '<string>'
        if line is not None:
            where += ':%d' % line
            if column is not None:
                where += ':%d' % column
        super().__init__('%s: %s' % (where, message))
        self.path, self.line, self.column = path, line, column


class NetError(CaffeError, ValueError):
    """A network definition is inconsistent (unknown bottom, bad shape...).
    ``layer_name``: the layer at fault, where there is one (so that a net
    built from a file can name the line where that layer opens)."""

    def __init__(self, message, layer_name=None):
        super().__init__(message)
        self.layer_name = layer_name


class SolverError(CaffeError, ValueError):
    """A solver setting Caffe CHECKs is wrong (a momentum AdaGrad cannot
    use, an unknown lr_policy...), or a solver state does not fit."""


class LayerError(CaffeError, ValueError):
    """A layer rejected its parameters or its bottom shapes."""

    def __init__(self, layer_name, layer_type, message):
        super().__init__("layer '%s' (%s): %s" % (layer_name, layer_type, message))
        self.layer_name, self.layer_type = layer_name, layer_type


class WeightsError(CaffeError, ValueError):
    """Weights do not fit the network they are loaded into."""


class CaffeIOError(CaffeError, ValueError):
    """An array, shape or Transformer setting that caffe.io cannot use."""


class ImageReadError(CaffeError, OSError):
    """An image file or encoded Datum that Pillow cannot read."""


class MissingImageError(ImageReadError, FileNotFoundError):
    """An image file that does not exist: FileNotFoundError, as pycaffe's
    load_image (scikit-image's imread) raises. ``filename`` is the path."""

    def __init__(self, message, path):
        super().__init__(message)
        self.filename = path

    def __str__(self):
        # OSError's own would print '[Errno None] None: <path>' once filename is set
        return str(self.args[0])


class DivergenceError(CaffeError):
    """Training produced a non-finite loss or weight update."""


class CaffeRuntimeError(CaffeError, RuntimeError):
    """Where pycaffe's C++ side threw std::runtime_error, which boost.python
    hands to Python as RuntimeError: ``set_input_arrays`` checks, keyword
    arguments to ``Blob.reshape``/``BlobVec.add_blob``, and the multi-GPU
    machinery (NCCL missing, a rank failing). Caffe's CHECK failures
    (bad layer parameters, shape mismatches) stay ValueError subclasses
    (LayerError, NetError...): pycaffe never raised anything for those, the
    process aborted, and ValueError is what Python code expects for them."""


class MissingFileError(CaffeRuntimeError, FileNotFoundError):
    """A model, weights or solver file that does not exist. pycaffe's Net()
    raises RuntimeError('Could not open file ...') for it; it is also a
    FileNotFoundError, as Python code would expect. ``filename`` is the path."""

    def __init__(self, path, what='file'):
        super().__init__('Could not open file %s (no such %s)' % (path, what))
        self.filename = path

    def __str__(self):
        return str(self.args[0])


class MissingProgramError(CaffeError, FileNotFoundError):
    """An outside program a feature runs is not on PATH (Graphviz's ``dot``
    for drawing an image); the message says how to get it or do without.
    A FileNotFoundError, as pydot's own error for it is."""


class NameNotFoundError(CaffeError, KeyError):
    """A name missing from one of a net's name-keyed views (``net.blobs``,
    ``net.params``, ``net.layer_dict``...): a KeyError, as pycaffe's
    OrderedDicts raise, whose message says which net lacks what."""

    def __init__(self, message, key):
        super().__init__(message)
        self.key = key

    def __str__(self):
        return str(self.args[0])


class NetSpecError(CaffeError, TypeError):
    """NetSpec was given something other than a Top where a layer input
    belongs (pycaffe raises TypeError, naming the layer type and input)."""


class NotATopError(NetSpecError, AttributeError):
    """``to_proto`` of a value that is not a Top (a tuple of tops, a number).
    pycaffe fails there with AttributeError when it looks for the value's
    layer; this is that AttributeError and a NetSpecError naming the value."""


class UnknownTopError(NameNotFoundError, AttributeError):
    """A NetSpec attribute that names no top: KeyError as in pycaffe (its
    NetSpec looks attributes up in a dict) and AttributeError, so that
    ``hasattr`` and ``getattr(n, name, default)`` work."""


class CoordMapError(CaffeError, AssertionError):
    """coord_map cannot build the Crop asked for (scale mismatch, negative or
    fractional offset, legacy _h/_w parameters); pycaffe asserts there."""


class UnconnectedTopsError(CaffeError, RuntimeError):
    """coord_map found no common ancestor of two tops through spatial layers
    (pycaffe raises RuntimeError)."""


class UnbatchedOutputError(NetError, TypeError):
    """``forward_all``/``forward_backward_all`` asked to collect a 0-d blob (a
    loss) along a batch axis it lacks: a NetError naming the blob, and the
    TypeError pycaffe raises there (NumPy's "iteration over a 0-d array")."""


class KeywordArgumentError(CaffeRuntimeError, TypeError):
    """Keyword arguments to ``Blob.reshape`` or ``BlobVec.add_blob``, which
    take dimensions only: RuntimeError as in pycaffe, TypeError as Python
    raises for an unexpected keyword."""
