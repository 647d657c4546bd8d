"""Drawing a network definition as a graph (pycaffe's caffe.draw), via pydot.

Layers are boxes (colored by type, labelled with their key parameters),
blobs are octagons, and edges follow bottoms and tops. ``phase`` keeps only
the layers a net in that phase would include.
"""
from .netgraph import layer_included
from .proto import caffe_pb2

BLOB_STYLE = {'shape': 'octagon', 'fillcolor': '#E0E0E0', 'style': 'filled'}
LAYER_COLORS = {'Convolution': '#FF5050', 'Deconvolution': '#FF5050', 'Pooling': '#FF9900',
                'InnerProduct': '#CC33FF'}


def _spatial(param, name, default):
    """'k' or 'kh x kw' from a conv/pool parameter's square or _h/_w fields."""
    h, w = getattr(param, name + '_h', 0), getattr(param, name + '_w', 0)
    if h or w:
        return '%d x %d' % (h, w)
    value = getattr(param, name + ('_size' if name == 'kernel' else ''))
    value = list(value) if hasattr(value, '__len__') else [value]
    return str(value[0] if value else default)


def layer_label(layer, separator, show_lr=False):
    """Display text of a layer: name, type and its size parameters."""
    parts = [layer.name, '(%s)' % layer.type]
    if layer.type in ('Convolution', 'Deconvolution'):
        p = layer.convolution_param
        parts.append('kernel size: %s' % _spatial(p, 'kernel', 1))
        parts.append('stride: %s' % _spatial(p, 'stride', 1))
        parts.append('pad: %s' % _spatial(p, 'pad', 0))
    elif layer.type == 'Pooling':
        p = layer.pooling_param
        parts.append('pool: %s' % caffe_pb2.PoolingParameter.PoolMethod.Name(p.pool))
        parts.append('kernel size: %s' % _spatial(p, 'kernel', 1))
        parts.append('stride: %s' % _spatial(p, 'stride', 1))
        parts.append('pad: %s' % _spatial(p, 'pad', 0))
    if show_lr and len(layer.param):
        parts.append('lr mult: %s' % ', '.join('%g' % s.lr_mult for s in layer.param))
        parts.append('decay mult: %s' % ', '.join('%g' % s.decay_mult for s in layer.param))
    return separator.join(parts)


def edge_label(layer):
    """Text on a layer's outgoing edges: batch size or number of outputs."""
    if layer.type in ('Data', 'ImageData', 'HDF5Data'):
        for field in ('data_param', 'image_data_param', 'hdf5_data_param'):
            if layer.HasField(field):
                return 'Batch %d' % getattr(layer, field).batch_size
    if layer.type in ('Convolution', 'Deconvolution'):
        return str(layer.convolution_param.num_output)
    if layer.type == 'InnerProduct':
        return str(layer.inner_product_param.num_output)
    return '""'


def get_pydot_graph(net, rankdir, label_edges=True, phase=None, display_lrm=False):
    """A pydot.Dot graph of ``net`` (a NetParameter)."""
    import pydot
    graph = pydot.Dot(net.name or 'Net', graph_type='digraph', rankdir=rankdir,
                      compound='true')
    state = caffe_pb2.NetState(phase=phase) if phase is not None else None
    blobs, edges = {}, []
    for i, layer in enumerate(net.layer):
        if state is not None and not layer_included(layer, state):
            continue
        node = '%s_%s_%d' % (layer.name, layer.type, i)
        separator = r'\n' if rankdir in ('TB', 'BT') else ' '
        graph.add_node(pydot.Node(_quote(node), label=_quote(layer_label(layer, separator,
                                                                          display_lrm)),
                                  fillcolor=LAYER_COLORS.get(layer.type, '#6495ED'),
                                  shape='record', style='filled'))
        for bottom in layer.bottom:
            blobs.setdefault(bottom, bottom + '_blob')
            edges.append((blobs[bottom], node, None))
        label = edge_label(layer) if label_edges else None
        for top in layer.top:
            blobs[top] = top + '_blob'
            edges.append((node, blobs[top], label))
    for name, node in blobs.items():
        graph.add_node(pydot.Node(_quote(node), label=_quote(name), **BLOB_STYLE))
    for src, dst, label in edges:
        attrs = {'label': _quote(label)} if label and label != '""' else {}
        graph.add_edge(pydot.Edge(_quote(src), _quote(dst), **attrs))
    return graph


def _quote(text):
    return '"%s"' % str(text).replace('"', r'\"')


def draw_net(net, rankdir, ext='png', phase=None, display_lrm=False):
    """The graph rendered to bytes in format ``ext`` (needs Graphviz)."""
    return get_pydot_graph(net, rankdir, phase=phase, display_lrm=display_lrm).create(
        format=ext)


def draw_net_to_file(net, filename, rankdir='LR', phase=None, display_lrm=False):
    """Render the graph into ``filename``; the extension picks the format
    (``.dot``/``.gv`` write the Graphviz source and need no Graphviz)."""
    from .protoio import atomic_open
    ext = filename.rsplit('.', 1)[-1].lower()
    graph = get_pydot_graph(net, rankdir, phase=phase, display_lrm=display_lrm)
    data = graph.to_string().encode() if ext in ('dot', 'gv') else graph.create(format=ext)
    with atomic_open(filename, 'wb') as f:
        f.write(data)
