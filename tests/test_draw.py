"""caffelite.draw draws as pycaffe's python/caffe/draw.py: labels (words on
lines for LR graphs, spaced for TB, ``(Pooling MAX)``, kernel/stride/pad,
``lr mult: 1.0, 2.0``), colours (in-place neuron layers light green), blob
octagons, edge labels and phase filtering."""
import pytest

import caffelite as caffe
from caffelite import draw
from caffelite.protoio import parse_text
from caffelite.proto import caffe_pb2

pytest.importorskip('pydot')

LENET = '''name: "LeNet"
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TRAIN }
  data_param { source: "train_lmdb" batch_size: 64 backend: LMDB } }
layer { name: "mnist" type: "Data" top: "data" top: "label" include { phase: TEST }
  data_param { source: "test_lmdb" batch_size: 100 backend: LMDB } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 } param { lr_mult: 2 }
  convolution_param { num_output: 20 kernel_size: 5 stride: 1 } }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1"
  pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip1" type: "InnerProduct" bottom: "pool1" top: "ip1"
  param { lr_mult: 0 } param { lr_mult: 0 } inner_product_param { num_output: 500 } }
layer { name: "relu1" type: "ReLU" bottom: "ip1" top: "ip1" }
layer { name: "ip2" type: "InnerProduct" bottom: "ip1" top: "ip2"
  inner_product_param { num_output: 10 } }
layer { name: "accuracy" type: "Accuracy" bottom: "ip2" bottom: "label" top: "accuracy"
  include { phase: TEST } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "ip2" bottom: "label" top: "loss" }
'''


@pytest.fixture
def lenet():
    return parse_text(LENET, caffe_pb2.NetParameter())


def layer(net, name):
    return next(lp for lp in net.layer if lp.name == name)


def test_labels_separate_words_by_newline_for_lr_and_space_for_tb(lenet):
    pool = layer(lenet, 'pool1')
    assert draw.get_layer_label(pool, 'LR') == \
        r'"pool1\n(Pooling MAX)\nkernel size: 2\nstride: 2\npad: 0"'
    assert draw.get_layer_label(pool, 'TB') == \
        '"pool1 (Pooling MAX) kernel size: 2 stride: 2 pad: 0"'
    assert draw.get_layer_label(layer(lenet, 'relu1'), 'BT') == '"relu1 (ReLU)"'


def test_lr_mult_of_learning_layers(lenet):
    assert draw.get_layer_label(layer(lenet, 'conv1'), 'LR', display_lrm=True) == \
        r'"conv1\n(Convolution)\nkernel size: 5\nstride: 1\npad: 0\nlr mult: 1.0, 2.0"'
    # Unset multipliers read 1.0; a frozen layer (both 0) shows none.
    assert draw.get_layer_label(layer(lenet, 'ip2'), 'TB', display_lrm=True) == \
        '"ip2 (InnerProduct) lr mult: 1.0, 1.0"'
    assert draw.get_layer_label(layer(lenet, 'ip1'), 'TB', display_lrm=True) == \
        '"ip1 (InnerProduct)"'
    assert draw.get_layer_label(layer(lenet, 'conv1'), 'LR').count('lr mult') == 0
    with pytest.raises(ValueError):
        draw.get_layer_lr_mult(layer(lenet, 'relu1'))


def nodes_and_edges(graph):
    nodes = {node.get_name(): node.get_attributes() for node in graph.get_nodes()}
    edges = {(e.get_source(), e.get_destination()): e.get('label') for e in graph.get_edges()}
    return nodes, edges


def test_colours_shapes_and_edge_labels(lenet):
    nodes, edges = nodes_and_edges(draw.get_pydot_graph(lenet, 'TB', phase=caffe.TRAIN))
    colour = {name.split(' ')[0].strip('"'): attrs.get('fillcolor')
              for name, attrs in nodes.items() if attrs.get('shape') == 'record'}
    assert colour == {'mnist': '#6495ED', 'conv1': '#FF5050', 'pool1': '#FF9900',
                      'ip1': '#CC33FF', 'relu1': '#90EE90', 'ip2': '#CC33FF',
                      'loss': '#6495ED'}
    # Blobs are octagons, but one last seen as a top keeps the plain ellipse.
    assert nodes['label']['shape'] == 'octagon' and 'shape' not in nodes['loss']
    mnist = '"mnist (Data)"'
    conv = '"conv1 (Convolution) kernel size: 5 stride: 1 pad: 0"'
    assert edges[(mnist, 'data')] == 'Batch 64'
    assert edges[('data', conv)] == '""' and edges[(conv, 'conv1')] == '20'


def test_phase_filter_as_pycaffe(lenet):
    def names(phase):
        nodes, _ = nodes_and_edges(draw.get_pydot_graph(lenet, 'LR', phase=phase))
        return {n.split(r'\n')[0].strip('"') for n, a in nodes.items() if a.get('shape') == 'record'}
    assert 'accuracy' in names(caffe.TEST) and 'accuracy' not in names(caffe.TRAIN)
    assert 'accuracy' in names(None)
    _, edges = nodes_and_edges(draw.get_pydot_graph(lenet, 'LR', phase=caffe.TEST))
    assert edges[('"mnist\\n(Data)"', 'data')] == 'Batch 100'
    both = layer(lenet, 'loss')
    both.include.add(phase=caffe.TRAIN)
    both.exclude.add(phase=caffe.TEST)
    with pytest.raises(ValueError, match='both include and exclude'):
        draw.get_pydot_graph(lenet, 'LR', phase=caffe.TRAIN)


def test_unlabelled_edges_and_source_files(lenet, tmp_path):
    _, edges = nodes_and_edges(draw.get_pydot_graph(lenet, 'LR', label_edges=False))
    assert set(edges.values()) == {'""'}
    for ext in ('raw', 'dot'):
        out = str(tmp_path / ('net.' + ext))
        draw.draw_net_to_file(lenet, out, 'TB', caffe.TRAIN, display_lrm=True)
        assert open(out).read() == draw.get_pydot_graph(
            lenet, 'TB', phase=caffe.TRAIN, display_lrm=True).to_string()


def test_image_without_graphviz_names_the_program_and_the_way_out(lenet, tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    with pytest.raises(FileNotFoundError, match="Graphviz's 'dot' program.*a .dot, .gv"):
        draw.draw_net_to_file(lenet, str(tmp_path / 'net.png'))
    assert not (tmp_path / 'net.png').exists()
