"""Layer implementations, one class per Caffe layer type, by family.

Importing this package registers every type; ``create_layer(param)`` builds
one from its LayerParameter.
"""
from .base import Layer, create_layer, layer_type_list, register
from . import (common, data, data_sources, detectnet, detectnet_layers, loss, neuron,  # noqa: F401
               normalization, python, recurrent, vision)  # (imported to register their layer types)

__all__ = ['Layer', 'create_layer', 'layer_type_list', 'register']


def __getattr__(type_name):
    """pycaffe's NetSpec builder under its usual name: with
    ``from caffelite import layers as L``, ``L.Convolution(bottom, ...)``
    records a layer of that type (any capitalized Caffe type name)."""
    if type_name.startswith('_'):
        raise AttributeError(type_name)
    from ..net_spec import layers as builder
    return getattr(builder, type_name)
