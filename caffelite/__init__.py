"""caffelite: Caffe's files, pycaffe's API and the caffe command line on
NumPy (CPU) and CuPy (GPU). Use it as ``import caffelite as caffe``."""
from .backend import (has_nccl, set_device, set_mode_cpu, set_mode_gpu, set_multiprocess,
                      set_random_seed, set_solver_count, set_solver_rank, solver_count,
                      solver_rank)
from .blob import Blob
from .errors import CaffeError, LayerError, NetError, ParseError, SolverError, WeightsError
from . import glog, weights
from .glog import init_log, log
# The layer implementation package is imported (and so in sys.modules) before
# the name ``layers`` is bound to NetSpec's namespace below: importing one of
# its submodules later (caffelite.layers.detectnet...) then leaves the name alone.
from .layers import Layer, layer_type_list
from .net import TEST, TRAIN, Net
from .proto import caffe_pb2  # noqa: F401  (caffelite.proto.caffe_pb2 too)
from .solver import (AdaDeltaSolver, AdaGradSolver, AdamSolver, NesterovSolver,
                     RMSPropSolver, SGDSolver, get_solver)
from .net_spec import NetSpec, layers, params, to_proto
from .parallel import NCCL
from .timer import Timer
from . import io  # noqa: F401
# pycaffe's code says ``import caffe.draw`` / ``from caffe.coord_map import
# crop``; under ``import caffelite as caffe`` there is no package named caffe
# to import them from, so the attributes are there from the start.
from . import coord_map, draw  # noqa: F401
from .classifier import Classifier
from .detector import Detector

__version__ = '0.1.0'

# A WeightsWarning repeats a WARNING line of the log: GLOG_minloglevel 2 or
# more, set before the import, keeps both quiet.
glog.ignore_if_warnings_hidden(weights.WeightsWarning)

# Last, once every name above exists: code written for pycaffe that says
# ``import caffe`` (a Python layer, a notebook's helper module) gets caffelite.
from . import pycaffe_name  # noqa: E402
pycaffe_name.install()
