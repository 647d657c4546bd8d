"""The single-image test's layer visualizations: tiles, statistics, and one
entry per weight blob and per activation of a small net."""
import numpy as np

import caffelite
from caffelite.server import layer_views

NET = '''
name: "small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "ip" type: "InnerProduct" bottom: "conv" top: "ip"
        inner_product_param { num_output: 3 weight_filler { type: "gaussian" std: 1 } } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
'''


def test_tile_grid_places_tiles_with_white_gaps():
    tiles = np.arange(5 * 2 * 3, dtype=np.float32).reshape(5, 2, 3)
    grid = layer_views.tile_grid(tiles)
    assert grid.shape == (2 * 3 - 1, 3 * 4 - 1)
    assert grid[0, 0] == 0 and grid[1, 2] == round(255 * 5 / 29)  # tile 0, normalized together
    assert (grid[2, :] == 255).all() and (grid[:, 3] == 255).all()
    assert (grid[3:, 8:] == 255).all()  # the sixth place is empty
    assert layer_views.tile_grid(np.zeros((4, 2, 2, 3))).shape == (5, 5, 3)


def test_square_tiles_pad_each_row_with_its_smallest_value():
    tiles = layer_views.square_tiles(np.array([[1., 2, 3, 4, 5], [9, 8, 7, 6, 5]]))
    assert tiles.shape == (2, 3, 3)
    assert tiles[0].ravel().tolist() == [1, 2, 3, 4, 5, 1, 1, 1, 1]
    assert tiles[1].ravel()[5:].tolist() == [5, 5, 5, 5]


def test_statistics_histogram_counts_every_value():
    values = np.random.RandomState(0).randn(1000)
    stats = layer_views.statistics(values)
    assert abs(stats['mean'] - values.mean()) < 1e-12 and abs(stats['std'] - values.std()) < 1e-12
    histogram = stats['histogram']
    assert sum(histogram['counts']) == 1000 and len(histogram['edges']) == 21
    assert max(histogram['heights']) == 1.0


def test_visualizations_of_each_weight_and_activation():
    net = caffelite.Net(NET, caffelite.TEST)
    net.blobs['data'].data[...] = np.random.RandomState(1).rand(1, 3, 8, 8)
    net.forward()
    entries, total = layer_views.layer_visualizations(net)
    described = [(e['name'], e['type'], e['shape']) for e in entries]
    assert described == [('conv', 'Weights (Convolution layer)', [4, 3, 3, 3]),
                         ('conv', 'Activation', [4, 6, 6]),
                         ('ip', 'Weights (InnerProduct layer)', [3, 144]),
                         ('ip', 'Activation', [3]),
                         ('prob', 'Activation', [3])]
    assert total == 4 * 27 + 4 + 3 * 144 + 3 == sum(e.get('parameters', 0) for e in entries)
    assert all(e['src'].startswith('data:image/png;base64,') for e in entries)
    assert entries[1]['mean'] >= 0  # the activation after the in-place ReLU
