"""Brain surgery on networks (the course's FC -> conv conversion and more):

* :class:`EditableNet`: a prototxt as an editable list of layers (rename,
  replace, insert, remove, change parameters), checked by
  :meth:`EditableNet.check` against the course's two rules, *data must
  flow* and *the math matters*, with errors naming the layer, the blob and
  the prototxt line;
* :func:`to_fully_convolutional`: every InnerProduct rewritten as a
  Convolution with its weights reshaped, so one forward pass over a large
  image gives a map of class scores.
"""
from .checks import Problem, SurgeryError
from .editable import EditableNet
from .fcn import to_fully_convolutional

__all__ = ['EditableNet', 'Problem', 'SurgeryError', 'to_fully_convolutional']
