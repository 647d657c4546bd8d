"""``type: "Python"`` layers: a user class loaded from ``python_param``.

As in pycaffe, the class is ``python_param.layer`` in module
``python_param.module`` (a ``caffe.`` prefix read as ``caffelite.``, so
pycaffe's own layers such as ``caffe.layers.detectnet.clustering`` load
from caffelite) and subclasses ``caffelite.Layer`` (alias of the
native base class, so user layers follow the same contract); it sees
``self.param_str`` and ``self.phase``.
"""
import importlib

from ..errors import LayerError
from .base import Layer, register


@register('Python')
class PythonLayer(Layer):
    """Factory entry for Python layers; ``create`` returns the user's layer."""

    @classmethod
    def create(cls, param):
        p = param.python_param
        try:
            module = importlib.import_module(_module_name(p.module))
            user_cls = getattr(module, p.layer)
        except (ImportError, AttributeError) as e:
            raise LayerError(param.name, 'Python', "cannot load %s.%s: %s"
                             % (p.module, p.layer, e)) from e
        if not (isinstance(user_cls, type) and issubclass(user_cls, Layer)):
            raise LayerError(param.name, 'Python', '%s.%s is not a subclass of '
                             'caffelite.Layer' % (p.module, p.layer))
        layer = user_cls(param)
        layer.type = 'Python'
        layer.param_str = p.param_str
        return layer


def _module_name(name):
    """The module to import for ``python_param.module``: pycaffe's package
    ``caffe`` is caffelite here."""
    return 'caffelite' + name[len('caffe'):] if name.split('.')[0] == 'caffe' else name
