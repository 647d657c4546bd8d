"""Running other test modules' tests again inside a GPU test module, and
the gradient-check cases of the layer test modules."""
import functools
import importlib
import pathlib
import sys

import pytest

TESTS = pathlib.Path(__file__).resolve().parent

# The layer test modules (tests/layers/): behaviour tests and gradient checks.
LAYER_MODULES = tuple('layers/test_' + name for name in (
    'routing', 'affine', 'arithmetic', 'vision', 'neuron', 'normalization', 'loss',
    'recurrent', 'data', 'window_data', 'output', 'python'))
# Caffe's layer and model cases, the layer modules (Python layers aside:
# they compute on the host), the DataTransformer, the solver trajectories.
MODULES = (('test_reference_layers', 'test_reference_models')
           + tuple(m for m in LAYER_MODULES if m != 'layers/test_python')
           + ('test_data_transform', 'test_solver'))


def import_test_module(path):
    """The test module at ``path`` (relative to tests/, no .py), imported
    under the name pytest's default import mode gives it (dotted inside a
    package folder, else its basename), so both share one module object."""
    parts = pathlib.PurePosixPath(path).parts
    folder = TESTS.joinpath(*parts[:-1])
    if (folder / '__init__.py').exists():
        folder, name = TESTS, '.'.join(parts)
    else:
        name = parts[-1]
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
    return importlib.import_module(name)


def gradient_cases():
    """Every layer module's GRADIENT_CASES, in LAYER_MODULES order."""
    return [case for path in LAYER_MODULES
            for case in getattr(import_test_module(path), 'GRADIENT_CASES', [])]


def collect_again(namespace, modules=MODULES, slow=()):
    """Add every test function of ``modules`` to ``namespace`` (a test
    module's globals) as ``test_again_<module>__<name>``, so pytest runs it
    there too, under that module's marks and autouse fixtures; the reruns
    of the modules in ``slow`` are marked slow (the originals are not)."""
    for path in modules:
        module = import_test_module(path)
        for name, test in vars(module).items():
            if name.startswith('test_') and callable(test):
                short = module.__name__.replace('.test_', '_')
                namespace['test_again_%s__%s' % (short.replace('test_', '', 1), name[5:])] = (
                    marked_slow(test) if path in slow else test)


def marked_slow(test):
    """A copy of ``test`` (same signature and marks) also marked slow."""
    @functools.wraps(test)
    def again(*args, **kwargs):
        return test(*args, **kwargs)
    again.pytestmark = list(getattr(test, 'pytestmark', [])) + [pytest.mark.slow.mark]
    return again
