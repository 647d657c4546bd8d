"""Drawing a network definition as a graph, as pycaffe's ``caffe.draw``
draws it (via pydot; rendering an image needs Graphviz's ``dot``).

Layers are record boxes labelled with their name, type (``(Pooling MAX)``
for pooling) and, for Convolution/Deconvolution/Pooling, kernel size,
stride and pad; optionally ``lr mult: 1.0, 2.0`` for learning layers.
Words of a label go on separate lines in a left-to-right graph and on one
line in a top-to-bottom one. Convolutions are red, pooling orange, inner
products purple, in-place neuron layers (ReLU on its own bottom) light
green, the rest blue. Blobs are grey octagons, except that, as in pycaffe,
a blob whose last mention is as a top (a loss, an output) keeps Graphviz's
plain ellipse. Edges out of a Data layer say ``Batch N``, out of a
convolution or inner product its ``num_output``.
"""
from .errors import MissingProgramError, NetError
from .proto import caffe_pb2

LAYER_STYLE_DEFAULT = {'shape': 'record', 'fillcolor': '#6495ED', 'style': 'filled'}
NEURON_LAYER_STYLE = {'shape': 'record', 'fillcolor': '#90EE90', 'style': 'filled'}
BLOB_STYLE = {'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'}
LAYER_COLORS = {'Convolution': '#FF5050', 'Deconvolution': '#FF5050', 'Pooling': '#FF9900',
                'InnerProduct': '#CC33FF'}
LEARNING_LAYERS = ('Convolution', 'Deconvolution', 'InnerProduct')
EMPTY_LABEL = '""'


def get_pooling_types_dict():
    """Pooling method number -> name (0 -> 'MAX', ...)."""
    values = caffe_pb2.PoolingParameter.PoolMethod.DESCRIPTOR.values
    return {v.number: v.name for v in values}


def get_edge_label(layer):
    """Label of a layer's outgoing edges: ``Batch N`` for Data layers, the
    number of outputs for convolutions and inner products, else ``""``."""
    if layer.type == 'Data':
        return 'Batch %d' % layer.data_param.batch_size
    if layer.type in ('Convolution', 'Deconvolution'):
        return str(layer.convolution_param.num_output)
    if layer.type == 'InnerProduct':
        return str(layer.inner_product_param.num_output)
    return EMPTY_LABEL


def get_layer_lr_mult(layer):
    """(weights lr_mult, bias lr_mult) of a learning layer; 1.0 where its
    ``param`` specs leave it unset. A ValueError (NetError) for other layer
    types or more than two ``param`` specs, as in pycaffe."""
    if layer.type not in LEARNING_LAYERS:
        raise NetError("layer '%s': %s layers do not have a learning rate multiplier"
                       % (layer.name, layer.type))
    if len(layer.param) > 2:
        raise NetError("layer '%s': could not parse the learning rate multiplier "
                       "(%d param specs)" % (layer.name, len(layer.param)))
    mults = [spec.lr_mult for spec in layer.param]
    return tuple(mults + [1.0] * (2 - len(mults)))


def _spatial_descriptors(layer):
    """['kernel size: k', 'stride: s', 'pad: p'] read as pycaffe reads them:
    the first value of a convolution's repeated fields (1, 1, 0 when
    absent), a pooling's scalar fields (its _h/_w forms are not shown)."""
    if layer.type == 'Pooling':
        p = layer.pooling_param
        kernel, stride, pad = p.kernel_size, p.stride, p.pad
    else:
        p = layer.convolution_param
        first = lambda values, default: values[0] if len(values) else default
        kernel, stride, pad = first(p.kernel_size, 1), first(p.stride, 1), first(p.pad, 0)
    return ['kernel size: %d' % kernel, 'stride: %d' % stride, 'pad: %d' % pad]


def layer_label(layer, separator, display_lrm=False):
    """The words of a layer's label joined by ``separator``, unquoted."""
    if layer.type == 'Pooling':
        words = [layer.name, '(Pooling %s)' % get_pooling_types_dict()[layer.pooling_param.pool]]
    else:
        words = [layer.name, '(%s)' % layer.type]
    if layer.type in ('Convolution', 'Deconvolution', 'Pooling'):
        words += _spatial_descriptors(layer)
    if display_lrm and layer.type in LEARNING_LAYERS:
        weights, bias = get_layer_lr_mult(layer)
        if weights or bias:
            words.append('lr mult: %.1f, %.1f' % (weights, bias))
    return separator.join(words)


def get_layer_label(layer, rankdir, display_lrm=False):
    """A layer's node label, double-quoted for Graphviz: words on separate
    lines (a ``\\n`` escape) for 'LR' or 'RL' graphs, spaces for 'TB' and
    'BT' ones, where width is free and height is not."""
    separator = ' ' if rankdir in ('TB', 'BT') else r'\n'
    return '"%s"' % layer_label(layer, separator, display_lrm)


def choose_color_by_layertype(layertype):
    return LAYER_COLORS.get(layertype, LAYER_STYLE_DEFAULT['fillcolor'])


def phase_includes(layer, phase):
    """pycaffe's phase filter: a layer without ``include`` rules is drawn
    unless an ``exclude`` rule names ``phase``; with ``include`` rules it is
    drawn when one names ``phase`` (a rule's unset phase reads as TRAIN).
    Stages and levels are not considered. Both kinds of rules on one layer
    are a ValueError (NetError)."""
    if len(layer.include) and len(layer.exclude):
        raise NetError("layer '%s' has both include and exclude specified." % layer.name)
    included = not len(layer.include) or any(r.phase == phase for r in layer.include)
    return included and not any(r.phase == phase for r in layer.exclude)


def get_pydot_graph(caffe_net, rankdir, label_edges=True, phase=None, display_lrm=False):
    """A pydot.Dot of ``caffe_net`` (a NetParameter), laid out in
    ``rankdir`` ('LR', 'TB', 'BT'); with ``phase`` (caffe.TRAIN or
    caffe.TEST) only that phase's layers."""
    import pydot
    graph = pydot.Dot(caffe_net.name or 'Net', graph_type='digraph', rankdir=rankdir)
    nodes, edges = {}, []
    for layer in caffe_net.layer:
        if phase is not None and not phase_includes(layer, phase):
            continue
        label = get_layer_label(layer, rankdir, display_lrm)
        node = '%s_%s' % (layer.name, layer.type)
        in_place = len(layer.bottom) == 1 and list(layer.top) == list(layer.bottom)
        style = NEURON_LAYER_STYLE if in_place else dict(
            LAYER_STYLE_DEFAULT, fillcolor=choose_color_by_layertype(layer.type))
        nodes[node] = pydot.Node(label, **style)
        for bottom in layer.bottom:
            nodes[bottom + '_blob'] = pydot.Node(bottom, **BLOB_STYLE)
            edges.append((bottom + '_blob', node, EMPTY_LABEL))
        edge_label = get_edge_label(layer) if label_edges else EMPTY_LABEL
        for top in layer.top:
            nodes[top + '_blob'] = pydot.Node(top)
            edges.append((node, top + '_blob', edge_label))
    for node in nodes.values():
        graph.add_node(node)
    for src, dst, label in edges:
        graph.add_edge(pydot.Edge(nodes[src], nodes[dst], label=label))
    return graph


def draw_net(caffe_net, rankdir, ext='png', phase=None, display_lrm=False):
    """The graph rendered by Graphviz in format ``ext``, as bytes."""
    graph = get_pydot_graph(caffe_net, rankdir, phase=phase, display_lrm=display_lrm)
    try:
        return graph.create(format=ext)
    except FileNotFoundError as e:
        # pydot's own message ('"dot" not found in path') says neither what
        # dot is nor that the Graphviz source needs no program at all.
        raise MissingProgramError(
            "drawing a .%s needs Graphviz's 'dot' program, which is not on PATH "
            "(install Graphviz: apt install graphviz, brew install graphviz, "
            "conda install graphviz); a .dot, .gv or .raw file is the Graphviz "
            "source and needs no program" % ext) from e


# Extensions written as the Graphviz source itself, without running Graphviz
# (pycaffe's docstring: '.raw' gives text to feed to graphviz by hand).
SOURCE_EXTENSIONS = ('raw', 'dot', 'gv')


def draw_net_to_file(caffe_net, filename, rankdir='LR', phase=None, display_lrm=False):
    """Draw into ``filename`` in the format its extension names (png, svg,
    pdf... through Graphviz; raw, dot or gv: the Graphviz source). The file
    is written atomically."""
    from .protoio import atomic_open
    ext = filename[filename.rfind('.') + 1:]
    if ext.lower() in SOURCE_EXTENSIONS:
        graph = get_pydot_graph(caffe_net, rankdir, phase=phase, display_lrm=display_lrm)
        data = graph.to_string().encode()
    else:
        data = draw_net(caffe_net, rankdir, ext, phase, display_lrm)
    with atomic_open(filename, 'wb') as f:
        f.write(data)
