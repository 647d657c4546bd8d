"""DIGITS' "show visualizations" of a classified image: for each layer of
the deploy net, in order, its input activations, its weights and its output
activations as a grid of image tiles, with mean, standard deviation, a
20-bin histogram and (for weights) the parameter count."""
import base64
import io
import math

import numpy as np

MAX_TILES = 256
BINS = 20


def statistics(data):
    """{'mean', 'stddev', 'histogram': {'y', 'x', 'ticks'}} of an array."""
    data = np.asarray(data, np.float64).ravel()
    counts, edges = np.histogram(data, bins=BINS)
    return {'mean': float(data.mean()), 'stddev': float(data.std()),
            'histogram': {'y': counts.tolist(),
                          'x': ((edges[:-1] + edges[1:]) / 2).tolist(),
                          'ticks': [float(edges[0]), float(edges[BINS // 2]),
                                    float(edges[-1])]}}


def _tiles(data):
    """(N, h, w) or (N, h, w, 3) tiles of an activation or weight array."""
    data = np.asarray(data, np.float32)
    if data.ndim == 4:
        if data.shape[1] == 3:
            return data.transpose(0, 2, 3, 1)[..., ::-1]    # BGR filters shown in RGB
        return data[:, 0]
    if data.ndim == 3:
        return data
    flat = data.ravel()
    side = int(math.ceil(math.sqrt(flat.size)))
    return np.pad(flat, (0, side * side - flat.size)).reshape(1, side, side)


def tile_image(data):
    """A PNG data URI of the first MAX_TILES tiles in a square grid, each
    scaled to 0-255 over the whole array, one blank pixel between tiles."""
    tiles = _tiles(data)[:MAX_TILES]
    low, high = float(tiles.min()), float(tiles.max())
    tiles = (tiles - low) * (255.0 / (high - low)) if high > low else tiles * 0
    n = len(tiles)
    side = int(math.ceil(math.sqrt(n)))
    padding = [(0, side * side - n), (0, 1), (0, 1)] + [(0, 0)] * (tiles.ndim - 3)
    tiles = np.pad(tiles, padding)
    h, w = tiles.shape[1:3]
    grid = tiles.reshape((side, side) + tiles.shape[1:]).swapaxes(1, 2).reshape(
        (side * h, side * w) + tiles.shape[3:])
    return png_data_uri(np.uint8(np.clip(grid, 0, 255)))


def png_data_uri(pixels):
    """A ``data:image/png;base64,...`` URI of H x W [x 3] uint8 pixels."""
    from PIL import Image
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format='PNG')
    return 'data:image/png;base64,' + base64.b64encode(buffer.getvalue()).decode('ascii')


def layer_visualizations(net):
    """The visualizations of a Net after its forward pass (first image)."""
    out, seen = [], set()
    params = net.params
    layers = net.layer_dict

    def activation(name):
        if name in seen or name not in net.blobs:
            return
        seen.add(name)
        data = net.blobs[name].data[0]
        out.append(dict(name=name, vis_type='Activation', shape=list(data.shape),
                        image=tile_image(data), **statistics(data)))
    for name, bottoms in net.bottom_names.items():
        for bottom in bottoms:
            activation(bottom)
        if name in params:
            weights = params[name][0].data
            count = sum(int(np.prod(b.data.shape)) for b in params[name])
            kind = layers[name].type
            out.append(dict(name=name, vis_type='Weights', layer_type=kind, param_count=count,
                            shape=list(weights.shape),
                            image=None if kind == 'InnerProduct' else tile_image(weights),
                            **statistics(weights)))
        for top in net.top_names[name]:
            activation(top)
    return out
