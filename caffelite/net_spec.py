"""NetSpec: writing networks in Python (pycaffe's ``caffe.NetSpec``,
``caffe.layers`` as ``L`` and ``caffe.params`` as ``P``).

``n.conv = L.Convolution(n.data, kernel_size=5, num_output=20)`` records a
Function with its inputs and parameters; ``n.to_proto()`` walks the graph
from the named tops and emits one LayerParameter per Function, naming
layers after their first top, and unnamed tops ``<Type><k>``.
"""
import collections
import importlib
import importlib.util

from .errors import NetSpecError, NotATopError, UnknownTopError
from .proto import caffe_pb2


def param_name_dict():
    """Map layer type names to their ``*_param`` field prefix, e.g.
    'Convolution' -> 'convolution', derived from the schema."""
    layer = caffe_pb2.LayerParameter()
    mapping = {}
    for field in layer.DESCRIPTOR.fields:
        if field.name.endswith('_param') and field.message_type is not None:
            type_name = field.message_type.name
            if type_name.endswith('Parameter'):
                mapping[type_name[:-len('Parameter')]] = field.name[:-len('_param')]
    return mapping


_PARAM_NAMES = param_name_dict()


def assign_proto(proto, name, value):
    """Set ``proto.name`` from a Python value: scalars, lists (repeated
    fields; lists of dicts add messages) and dicts (nested messages)."""
    field = getattr(proto, name)
    repeated = hasattr(field, 'extend')
    if repeated and not isinstance(value, (list, tuple)):
        value = [value]
    if isinstance(value, (list, tuple)):
        if value and isinstance(value[0], dict):
            for item in value:
                message = field.add()
                for k, v in item.items():
                    assign_proto(message, k, v)
        else:
            field.extend(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            assign_proto(field, k, v)
    else:
        setattr(proto, name, value)


class Top:
    """One output of a Function (what ``L.X(...)`` returns)."""

    def __init__(self, fn, n):
        self.fn, self.n = fn, n

    def to_proto(self):
        """A NetParameter holding this top and everything it depends on."""
        return to_proto(self)

    def _to_proto(self, layers, names, autonames):
        return self.fn._to_proto(layers, names, autonames)


class Function:
    """A layer application: type, input Tops and keyword parameters
    (``ntop`` and ``in_place`` are consumed here, the rest go to the proto)."""

    def __init__(self, type_name, inputs, params):
        self.type_name = type_name
        for index, value in enumerate(inputs):
            if not isinstance(value, Top):
                raise NetSpecError('%s input %d is not a Top (type is %s)'
                                   % (type_name, index, type(value)))
        self.inputs = inputs
        self.params = dict(params)
        self.ntop = self.params.pop('ntop', 1)
        self.in_place = self.params.pop('in_place', False)
        self.tops = tuple(Top(self, n) for n in range(self.ntop))

    def _auto_name(self, autonames):
        autonames[self.type_name] += 1
        return self.type_name + str(autonames[self.type_name])

    def _top_name(self, top, names, autonames):
        if top not in names:
            names[top] = top.fn._auto_name(autonames)
        return names[top]

    def _layer_name(self, names, autonames):
        if self not in names:
            names[self] = (self._top_name(self.tops[0], names, autonames) if self.ntop
                           else self._auto_name(autonames))
        return names[self]

    def _to_proto(self, layers, names, autonames):
        if self in layers:
            return
        bottoms = []
        for inp in self.inputs:
            inp._to_proto(layers, names, autonames)
            bottoms.append(layers[inp.fn].top[inp.n])
        layer = caffe_pb2.LayerParameter(type=self.type_name)
        layer.bottom.extend(bottoms)
        if self.in_place:
            layer.top.extend(layer.bottom)
        else:
            layer.top.extend(self._top_name(t, names, autonames) for t in self.tops)
        layer.name = self._layer_name(names, autonames)
        for key, value in self.params.items():
            if key.endswith('param'):
                assign_proto(layer, key, value)
                continue
            prefix = _PARAM_NAMES.get(self.type_name)
            if prefix is None:          # a type without a <type>_param message
                assign_proto(layer, key, value)
                continue
            try:
                assign_proto(getattr(layer, prefix + '_param'), key, value)
            except AttributeError:      # not a field of it: a LayerParameter field
                assign_proto(layer, key, value)
        layers[self] = layer


def _check_top(value, what):
    # A Function stands for a layer without tops (``L.Silence(x, ntop=0)``):
    # pycaffe emits it, named after its NetSpec attribute.
    if not isinstance(value, (Top, Function)):
        hint = ('; a layer with several tops returns a tuple: pass or name each top'
                if isinstance(value, tuple) else '')
        raise NotATopError('%s is not a Top (type is %s)%s' % (what, type(value), hint))


def to_proto(*tops):
    """A NetParameter with every layer needed to compute ``tops``."""
    layers = collections.OrderedDict()
    autonames = collections.Counter()
    for index, top in enumerate(tops):
        _check_top(top, 'to_proto argument %d' % index)
        top._to_proto(layers, {}, autonames)
    net = caffe_pb2.NetParameter()
    net.layer.extend(layers.values())
    return net


class NetSpec:
    """Named tops of a network under construction; assigning an attribute
    names a top (and the layer producing it)."""

    def __init__(self):
        super().__setattr__('tops', collections.OrderedDict())

    def __setattr__(self, name, value):
        self.tops[name] = value

    def __getattr__(self, name):
        try:
            return self.tops[name]
        except KeyError:
            raise UnknownTopError('NetSpec has no top named %r' % name, name) from None

    __setitem__ = __setattr__

    def __getitem__(self, name):
        return self.__getattr__(name)

    def __delitem__(self, name):
        del self.tops[name]

    def keys(self):
        return list(self.tops.keys())

    def to_proto(self):
        for name, top in self.tops.items():
            _check_top(top, 'NetSpec top %r' % name)
        names = {top: name for name, top in self.tops.items()}
        autonames = collections.Counter()
        layers = collections.OrderedDict()
        for top in self.tops.values():
            top._to_proto(layers, names, autonames)
        net = caffe_pb2.NetParameter()
        net.layer.extend(layers.values())
        return net


def implementation_module(name):
    """The module ``caffelite.layers.<name>`` of the layer implementation
    package, or None when there is none."""
    qualified = __package__ + '.layers.' + name
    if importlib.util.find_spec(qualified) is None:
        return None
    return importlib.import_module(qualified)


class Layers:
    """``L.Convolution(...)``: an attribute is a layer type constructor.

    A lowercase attribute that names a module of the implementation package
    is that module, so ``caffe.layers.detectnet.clustering`` reaches the
    Python layers shipped there, as in NVIDIA's Caffe.
    """

    def __getattr__(self, type_name):
        if type_name.startswith('_'):
            raise AttributeError(type_name)
        if type_name.islower():
            module = implementation_module(type_name)
            if module is not None:
                return module

        def make(*args, **kwargs):
            fn = Function(type_name, args, kwargs)
            if fn.ntop == 0:
                return fn
            return fn.tops[0] if fn.ntop == 1 else fn.tops
        return make


class Parameters:
    """``P.Pooling.MAX``: enum values of the ``<Type>Parameter`` messages."""

    def __getattr__(self, type_name):
        message = getattr(caffe_pb2, type_name + 'Parameter')

        class Param:
            def __getattr__(self, name):
                return getattr(message, name)
        return Param()


layers = Layers()
params = Parameters()
