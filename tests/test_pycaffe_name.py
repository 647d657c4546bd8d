"""caffelite.pycaffe_name: after ``import caffelite``, code written for
pycaffe that says ``import caffe`` gets caffelite."""
import importlib.machinery
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

HELPER = '''import caffe
import caffe.io
from caffe.proto import caffe_pb2
'''

CHECK = '''import sys
import caffelite as caffe
import notebook_helper
assert notebook_helper.caffe is caffe
assert notebook_helper.caffe.io is caffe.io
assert notebook_helper.caffe_pb2 is sys.modules['caffelite.proto.caffe_pb2']
assert caffe.layers is not sys.modules['caffelite.layers']   # NetSpec's namespace kept
print('ok')
'''


@pytest.mark.skipif(importlib.machinery.PathFinder.find_spec('caffe') is not None,
                    reason='a package named caffe is installed: it keeps the name')
def test_a_module_imported_by_hand_before_any_net_gets_caffelite(tmp_path):
    # The pascal multilabel notebook imports its data layer module (which
    # says `import caffe`) itself, before any net is built.
    (tmp_path / 'notebook_helper.py').write_text(HELPER)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT, str(tmp_path)]))
    out = subprocess.run([sys.executable, '-c', CHECK], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == 'ok'
