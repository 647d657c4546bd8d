"""Layer implementations, one class per Caffe layer type, in modules by
concept (routing, affine, arithmetic, vision, neuron, normalization, loss,
recurrent, data, window_data, input, output, python).

Importing this package registers every type; ``create_layer(param)`` builds
one from its LayerParameter. pycaffe's NetSpec ``caffe.layers`` (``L``) is
:data:`caffelite.net_spec.layers`, not this package.
"""
from .base import Layer, create_layer, layer_type_list, register
# (imported to register their layer types)
from . import (affine, arithmetic, data, detectnet, detectnet_layers, input, loss,  # noqa: F401
               neuron, normalization, output, python, recurrent, routing, vision,
               window_data)

__all__ = ['Layer', 'create_layer', 'layer_type_list', 'register']
