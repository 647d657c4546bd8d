"""``import caffe`` gives caffelite where no pycaffe is installed.

Code written for pycaffe says ``import caffe``: Python layers, and the
helper modules course notebooks import beside them (``tools.py``, a data
layer module imported by hand before any net is built). Once caffelite is
imported, that name and every ``caffe.<sub>`` (``caffe.io``,
``caffe.proto.caffe_pb2``...) are caffelite's own modules, one module
object under two names, never a second copy of caffelite's files. An
installed or already imported package named ``caffe`` keeps its name.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys


class _PycaffeName(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """While ``caffe`` is caffelite, imports ``caffe.<sub>`` as the module
    ``caffelite.<sub>``."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith('caffe.') and sys.modules.get('caffe') is sys.modules['caffelite']:
            return importlib.util.spec_from_loader(name, self)
        return None

    def create_module(self, spec):
        return importlib.import_module(caffelite_name(spec.name))

    def exec_module(self, module):
        """Nothing to run: the caffelite module ran when first imported."""


def caffelite_name(name):
    """The module to import for a module name pycaffe code uses: its
    package ``caffe`` is caffelite here."""
    return 'caffelite' + name[len('caffe'):] if name.split('.')[0] == 'caffe' else name


def install():
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
