"""Layer implementations, one class per Caffe layer type, by family.

Importing this package registers every type; ``create_layer(param)`` builds
one from its LayerParameter.
"""
from .base import Layer, create_layer, layer_type_list, register
from . import (common, data, data_sources, loss, neuron, normalization, python,  # noqa: F401
               recurrent, vision)  # (imported to register their layer types)

__all__ = ['Layer', 'create_layer', 'layer_type_list', 'register']
