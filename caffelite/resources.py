"""Folders of files that ship with caffelite (CUDA sources, the model zoo):
installed inside the package as caffelite/<name>, or at the top of a source
checkout as <name>/."""
import os

from .errors import CaffeError


def shipped_dir(name, marker):
    """The folder ``name`` that holds the file ``marker``."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, name), os.path.join(os.path.dirname(here), name)):
        if os.path.exists(os.path.join(candidate, marker)):
            return candidate
    raise CaffeError('caffelite %s files not found beside %s' % (name, here))
