"""Shared pytest fixtures: the Caffe reference folder and GPU markers."""
import os
import pathlib

import pytest

# ../shared/reference beside the checkout; CAFFELITE_REFERENCE names a copy
# elsewhere (a GPU machine gets one carried inside the checkout).
_BESIDE = pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'reference'
REFERENCE = pathlib.Path(os.environ.get('CAFFELITE_REFERENCE') or _BESIDE)


def reference_path(*parts):
    """Path inside the reference folder; skips the test when it is absent."""
    path = REFERENCE.joinpath(*parts)
    if not path.exists():
        pytest.skip('Caffe reference data not found at %s' % path)
    return path


def pytest_addoption(parser):
    parser.addoption('--runslow', action='store_true', default=False,
                     help='also run the tests marked slow (.ci/run does)')


def pytest_configure(config):
    config.addinivalue_line('markers', 'gpu: needs CuPy and a CUDA device')
    config.addinivalue_line('markers', 'slow: takes more than a few seconds')


def pytest_collection_modifyitems(config, items):
    from caffelite import backend
    skips = {}
    if not config.getoption('--runslow'):
        skips['slow'] = pytest.mark.skip(reason='slow: run with --runslow')
    if not backend.gpu_available():
        skips['gpu'] = pytest.mark.skip(reason='no CUDA device / CuPy')
    for item in items:
        for marker, skip in skips.items():
            if marker in item.keywords:
                item.add_marker(skip)
