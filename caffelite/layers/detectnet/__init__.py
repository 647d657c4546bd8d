"""NVIDIA Caffe's DetectNet Python layers, importable as pycaffe code names
them (``caffe.layers.detectnet.clustering``, ``...mean_ap``) with
``import caffelite as caffe`` and in a prototxt's ``python_param``."""
from . import clustering, mean_ap  # noqa: F401  (attributes of the package, as pycaffe code uses them)
