"""The one dispatch between an op's host half and its device half.

An op of ``caffelite/ops`` is written twice: a host half over NumPy, and a
device half that launches the kernels of ``kernels/<name>.cu`` on CuPy
arrays. ``@op`` declares the host half and ``@<op>.gpu`` attaches the
device half under the same name (as ``property.setter`` does); a call runs
the half that owns the op's first array argument::

    @op
    def relu_forward(x, slope):
        ...NumPy...

    @relu_forward.gpu
    def relu_forward(x, slope):
        ...cuda.launch...
"""
import functools

from .backend import on_gpu


def _first_array(args):
    """The argument that decides where an op runs: its first positional
    argument, or the first item of it when that is a list of arrays."""
    first = args[0] if args else None
    if isinstance(first, (list, tuple)) and first:
        return first[0]
    return first


class Op:
    """A callable op with a host half and a device half (every op in
    caffelite/ops has both; tests/test_dispatch.py checks)."""

    def __init__(self, host):
        functools.update_wrapper(self, host)
        self.host = host
        self.device = None

    def gpu(self, device):
        """Attach the device half; returns the op so the half can reuse its name."""
        self.device = device
        return self

    def __call__(self, *args, **kwargs):
        half = self.device if on_gpu(_first_array(args)) else self.host
        return half(*args, **kwargs)


def op(host):
    """Declare an op by its host half."""
    return Op(host)
