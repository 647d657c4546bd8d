"""``type: "Python"`` layers: a user class loaded from ``python_param``.

As in pycaffe, the class is ``python_param.layer`` in module
``python_param.module`` (a ``caffe.`` prefix read as ``caffelite.``, so
pycaffe's own layers such as ``caffe.layers.detectnet.clustering`` load
from caffelite) and subclasses ``caffelite.Layer`` (alias of the
native base class, so user layers follow the same contract); it sees
``self.param_str`` and ``self.phase``.

The module is looked for in the folder of the prototxt being built, then on
``sys.path``. Such modules were written for pycaffe and say ``import caffe``:
where no package ``caffe`` is installed, that name (and ``caffe.io``,
``caffe.proto.caffe_pb2``...) is caffelite's own modules from the import of
caffelite on (caffelite.pycaffe_name); an installed pycaffe keeps its name. A prototxt names code to run, so the ``caffelite`` commands
refuse a Python layer of a module outside caffelite unless given
``--allow-python-layers`` (see :func:`refusing_user_modules`); the refusal
comes before anything is imported. Python code using the library keeps
pycaffe's behaviour: it imports what its nets ask for.
"""
import contextlib
import contextvars
import importlib
import sys

from ..errors import LayerError
from ..pycaffe_name import caffelite_name
from ..proto import caffe_pb2
from .base import Layer, register

_refuse = contextvars.ContextVar('refuse_user_modules', default=None)
_folder = contextvars.ContextVar('prototxt_folder', default=None)


@contextlib.contextmanager
def refusing_user_modules(hint):
    """Within the block, a Python layer of a module outside caffelite is a
    LayerError (ending with ``hint``, how to allow them) before its import."""
    token = _refuse.set(hint)
    try:
        yield
    finally:
        _refuse.reset(token)


@contextlib.contextmanager
def prototxt_folder(folder):
    """Within the block, Python layers' modules are looked for in
    ``folder`` (the prototxt's) before sys.path."""
    token = _folder.set(folder)
    try:
        yield
    finally:
        _folder.reset(token)


@register('Python')
class PythonLayer(Layer):
    """Factory entry for Python layers; ``create`` returns the user's layer."""

    @classmethod
    def create(cls, param):
        p = param.python_param
        if _refuse.get():
            check_no_user_modules(caffe_pb2.NetParameter(layer=[param]), _refuse.get())
        name = caffelite_name(p.module)
        try:
            module = _import(name)
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


def check_no_user_modules(net_param, hint):
    """Raise LayerError for the first Python layer of ``net_param`` (a
    NetParameter) whose module is outside caffelite; ``hint`` ends it."""
    for lp in net_param.layer:
        if lp.type == 'Python' and caffelite_name(lp.python_param.module).split('.')[0] != \
                'caffelite':
            raise LayerError(lp.name, 'Python', 'runs code from module %s (class %s); %s'
                             % (lp.python_param.module, lp.python_param.layer, hint))


def _import(name):
    """Import ``name`` from the prototxt's folder, else from sys.path."""
    folder = _folder.get()
    if not folder or name in sys.modules:
        return importlib.import_module(name)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)
