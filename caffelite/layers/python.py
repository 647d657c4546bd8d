"""``type: "Python"`` layers: a user class loaded from ``python_param``.

As in pycaffe, the class is ``python_param.layer`` in module
``python_param.module`` and subclasses ``caffelite.Layer`` (alias of the
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
            module = importlib.import_module(p.module)
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
