"""The page of a single-image test (DIGITS' classify_one in a browser): the
image as the network saw it, the top-5 predictions and, on request
(``show_visualizations``), every layer's weights and activations as image
tiles with their mean, standard deviation and histogram, and the network's
parameter count. The JSON route stays the API's (``{"predictions"}``)."""
import math

import numpy as np
from starlette.concurrency import run_in_threadpool

from . import views_models
from .gallery import data_uri
from .model_requests import classify_image, loaded_classifier, read_classify_one
from .web import render, wants_json

HISTOGRAM_BINS = 20
MAX_TILES = 400
# Larger single images (an InnerProduct's weight matrix) are shown shrunk.
MAX_SIDE = 256
# A weight matrix with at most this many rows is shown as one tile per row.
FEW_ROWS = 64


def _normalized(values):
    """float values scaled to 0..255 uint8 over their own range."""
    low, high = float(values.min()), float(values.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    return np.rint((values - low) * scale).astype(np.uint8)


def tile_grid(tiles):
    """One picture of ``tiles`` (n, h, w) or (n, h, w, 3), normalized
    together, in a near-square grid with 1-pixel white gaps."""
    n, h, w = tiles.shape[:3]
    cols = int(math.ceil(math.sqrt(n)))
    rows = int(math.ceil(n / float(cols)))
    color = tiles.shape[3:]
    padded = np.full((rows * cols, h + 1, w + 1) + color, 255, np.uint8)
    padded[:n, :h, :w] = _normalized(tiles)
    grid = padded.reshape((rows, cols, h + 1, w + 1) + color).swapaxes(1, 2)
    return grid.reshape((rows * (h + 1), cols * (w + 1)) + color)[:-1, :-1]


def shrunk(picture, side=MAX_SIDE):
    """``picture`` resized (box filter) to at most ``side`` pixels a side."""
    from PIL import Image
    h, w = picture.shape[:2]
    if max(h, w) <= side:
        return picture
    scale = side / float(max(h, w))
    image = Image.fromarray(picture).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                            Image.BOX)
    return np.asarray(image)


def square_tiles(rows):
    """(n, k) values as n square tiles of side ceil(sqrt(k)), padded with
    each row's smallest value."""
    n, k = rows.shape
    side = int(math.ceil(math.sqrt(k)))
    tiles = np.repeat(rows.min(axis=1, keepdims=True), side * side, axis=1)
    tiles[:, :k] = rows
    return tiles.reshape(n, side, side)


def weight_picture(weights):
    """(picture, note) of a layer's first parameter blob: convolution
    filters as tiles (in color when they see 3 channels); a matrix with few
    rows (a classifier) as one square tile per row, a larger one as one
    image."""
    if weights.ndim == 4:
        n, c, h, w = weights.shape
        if c == 3:
            tiles = weights.transpose(0, 2, 3, 1)[:, :, :, ::-1]
        else:
            tiles = weights.reshape(n * c, h, w)
        note = 'first %d of %d filters shown' % (MAX_TILES, len(tiles)) \
            if len(tiles) > MAX_TILES else ''
        return tile_grid(tiles[:MAX_TILES]), note
    matrix = weights.reshape(weights.shape[0], -1) if weights.ndim > 1 else weights[None]
    if matrix.shape[0] <= FEW_ROWS:
        return tile_grid(square_tiles(matrix)), ''
    picture = shrunk(_normalized(matrix))
    note = 'shown at %dx%d' % picture.shape[1::-1] if picture.shape != matrix.shape else ''
    return picture, note


def activation_picture(values):
    """(picture, note) of one image's activations: C x H x W as C tiles,
    a vector as a square of cells."""
    if values.ndim == 3 and values.shape[1] * values.shape[2] > 1:
        note = 'first %d of %d channels shown' % (MAX_TILES, values.shape[0]) \
            if values.shape[0] > MAX_TILES else ''
        return tile_grid(values[:MAX_TILES]), note
    return _normalized(square_tiles(values.reshape(1, -1))[0]), ''


def statistics(values):
    """{'mean', 'std', 'histogram': {'counts', 'edges', 'heights' (0..1)}}."""
    values = np.asarray(values, np.float64).ravel()
    counts, edges = np.histogram(values, HISTOGRAM_BINS)
    peak = float(counts.max()) or 1.0
    return {'mean': float(values.mean()), 'std': float(values.std()),
            'histogram': {'counts': counts.tolist(), 'edges': edges.tolist(),
                          'heights': (counts / peak).tolist()}}


def _entry(name, kind, blob, picture_of):
    picture, note = picture_of(blob)
    return dict(statistics(blob), name=name, type=kind, shape=list(blob.shape),
                src=data_uri(picture), note=note)


def layer_visualizations(net):
    """([visualization entries], learned parameter count) of a net after a
    forward pass of one image: for each layer in order, its weights (when
    it has parameters) and the activations of its tops (each blob once)."""
    entries, total, shown = [], 0, set()
    tops = net.top_names
    for name, layer in net.layer_dict.items():
        if layer.type == 'Input':
            shown.update(tops[name])
            continue
        if layer.blobs:
            count = sum(b.count for b in layer.blobs)
            total += count
            entry = _entry(name, 'Weights (%s layer)' % layer.type,
                           np.asarray(layer.blobs[0].data), weight_picture)
            entry['parameters'] = count
            entries.append(entry)
        for top in tops[name]:
            if top not in shown:
                shown.add(top)
                entries.append(_entry(top, 'Activation', np.asarray(net.blobs[top].data[0]),
                                      activation_picture))
    return entries, total


def inspect(state, job, epoch, image, visualize):
    """{'image': data URI of the image as the net saw it (dataset size and
    resize mode), 'visualizations', 'parameter_count'} for one image."""
    loaded = loaded_classifier(state, job, epoch)
    with loaded.lock:
        if hasattr(image, 'seek'):
            image.seek(0)
        picture = loaded.classifier.load(image)
        details = {'image': data_uri(picture), 'visualizations': None, 'parameter_count': None}
        if visualize:
            loaded.classifier.probabilities([picture])
            details['visualizations'], details['parameter_count'] = layer_visualizations(
                loaded.classifier.net)
    return details


async def classify_one_page(request):
    """POST /models/images/classification/classify_one: the JSON answer is
    the API's; a browser gets the page of the result."""
    if wants_json(request):
        return await views_models.classify_one(request)
    state, fields, job, image, epoch = await read_classify_one(request)
    predictions = await run_in_threadpool(classify_image, state, job, epoch, image)
    visualize = (fields.get('show_visualizations') or '').lower() not in ('', '0', 'false', 'n')
    details = await run_in_threadpool(inspect, state, job, epoch, image, visualize)
    return render(request, 'models/images/classification/classify_one.html', dict(
        details, predictions=predictions, job_id=job['id'], name=job['name'],
        snapshot_epoch=epoch))
