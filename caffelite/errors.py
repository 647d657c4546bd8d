"""Exceptions raised by caffelite. Every failure is one of these (or a plain
ValueError/TypeError subclass of them), never a process abort, and its message
names the file, line, layer or blob at fault."""


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
    """A network definition is inconsistent (unknown bottom, bad shape...)."""


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


class DivergenceError(CaffeError):
    """Training produced a non-finite loss or weight update."""
