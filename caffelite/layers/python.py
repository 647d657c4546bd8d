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
``caffe.proto.caffe_pb2``...) is caffelite's own modules from the first
Python layer on; an installed pycaffe keeps its name. A prototxt names code to run, so the ``caffelite`` commands
refuse a Python layer of a module outside caffelite unless given
``--allow-python-layers`` (see :func:`refusing_user_modules`); the refusal
comes before anything is imported. Python code using the library keeps
pycaffe's behaviour: it imports what its nets ask for.
"""
import contextlib
import contextvars
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

from ..errors import LayerError
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
        name = _module_name(p.module)
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
        if lp.type == 'Python' and _module_name(lp.python_param.module).split('.')[0] != \
                'caffelite':
            raise LayerError(lp.name, 'Python', 'runs code from module %s (class %s); %s'
                             % (lp.python_param.module, lp.python_param.layer, hint))


class _PycaffeName(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """While ``caffe`` is caffelite, imports ``caffe.<sub>`` as the module
    ``caffelite.<sub>`` (one module object under two names, never a second
    copy of caffelite's files)."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith('caffe.') and sys.modules.get('caffe') is sys.modules['caffelite']:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(_module_name(spec.name))

    def exec_module(self, module):
        """Nothing to run: the caffelite module ran when first imported."""


def _name_caffelite_caffe():
    """Make ``import caffe`` give caffelite, unless a package of that name
    is installed or already imported."""
    if 'caffe' in sys.modules or importlib.machinery.PathFinder.find_spec('caffe'):
        return
    # Loaded modules get their second name now: importing one of them later
    # must not rebind its parent's attribute (caffelite.layers is NetSpec's
    # namespace, not the package of the same name).
    for name, module in list(sys.modules.items()):
        if name == 'caffelite' or name.startswith('caffelite.'):
            sys.modules['caffe' + name[len('caffelite'):]] = module
    # first on the path, so that a caffe.<sub> not loaded yet never reaches
    # the path finder, which would run caffelite's file a second time
    sys.meta_path.insert(0, _PycaffeName())


def _import(name):
    """Import ``name`` from the prototxt's folder, else from sys.path."""
    _name_caffelite_caffe()
    folder = _folder.get()
    if not folder or name in sys.modules:
        return importlib.import_module(name)
    sys.path.insert(0, folder)
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(folder)


def _module_name(name):
    """The module to import for ``python_param.module``: pycaffe's package
    ``caffe`` is caffelite here."""
    return 'caffelite' + name[len('caffe'):] if name.split('.')[0] == 'caffe' else name
