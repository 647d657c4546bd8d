"""Selective search (Uijlings et al., "Selective Search for Object
Recognition", IJCV 2013): object proposals from the hierarchical grouping of
a graph-based over-segmentation.

Each strategy segments the image (Felzenszwalb and Huttenlocher's graph
method, from scikit-image) in one colour space at one scale ``k``, then
repeatedly merges the two most similar adjacent regions until one is left;
every region ever formed is a proposal. Similarity is the sum of colour
(histogram intersection of 25 bins per channel), texture (histograms of
Gaussian derivatives in 8 orientations, 10 bins per channel and
orientation), size (small regions merge first) and fill (regions whose
bounding box they would fill merge first). Proposals of all strategies are
ranked as in the paper (hierarchy level times a random number), and
duplicates and boxes under ``min_box`` pixels a side are dropped, as R-CNN's
``selective_search_rcnn`` did for pycaffe's Detector.

Windows are (ymin, xmin, ymax, xmax) with ymax and xmax exclusive: the
0-based rows and columns pycaffe's Detector crops (``im[ymin:ymax,
xmin:xmax]``).
"""
import heapq

import numpy as np

COLOUR_BINS = 25
TEXTURE_BINS = 10
ORIENTATIONS = 8


def proposals(image, scales=(100, 300), colour_spaces=('hsv', 'lab'), sigma=0.8, min_box=20,
              seed=0):
    """(N, 4) int64 windows of an H x W x 3 float image in [0, 1] (what
    ``caffe.io.load_image`` gives), best ranked first."""
    rng = np.random.RandomState(seed)
    boxes, ranks = [], []
    for space in colour_spaces:
        converted = to_colour_space(image, space)
        for k in scales:
            found = hierarchical_grouping(converted, segment(converted, k, sigma))
            level = np.arange(len(found), 0, -1)    # 1 for the last merge (the whole image)
            boxes.append(found)
            ranks.append(level * rng.rand(len(found)))
    boxes = np.concatenate(boxes)[np.argsort(np.concatenate(ranks), kind='stable')]
    keep = ((boxes[:, 2] - boxes[:, 0]) >= min_box) & ((boxes[:, 3] - boxes[:, 1]) >= min_box)
    boxes = boxes[keep]
    _, first = np.unique(boxes, axis=0, return_index=True)
    return boxes[np.sort(first)]


def to_colour_space(image, space):
    """H x W x 3 in [0, 1] in 'rgb', 'hsv' or 'lab' (L, a, b scaled to [0, 1])."""
    from skimage import color
    image = np.clip(np.asarray(image, np.float64)[:, :, :3], 0, 1)
    if space == 'rgb':
        return image
    if space == 'hsv':
        return color.rgb2hsv(image)
    if space == 'lab':
        lab = color.rgb2lab(image)
        return np.clip((lab + [0, 128, 128]) / [100, 255, 255], 0, 1)
    raise ValueError("unknown colour space %r (use 'rgb', 'hsv' or 'lab')" % space)


def segment(image, k, sigma):
    """H x W int labels 0..R-1 of the graph-based segmentation at scale ``k``
    (also its minimum region size, as in the paper)."""
    from skimage.segmentation import felzenszwalb
    labels = felzenszwalb(image, scale=k, sigma=sigma, min_size=int(k))
    _, labels = np.unique(labels, return_inverse=True)
    return labels.reshape(image.shape[:2])


class Regions:
    """The regions of one grouping: sizes, boxes and L1-normalised colour
    (3 * 25 bins) and texture (3 * 8 * 10 bins) histograms of the R initial
    regions, with room for the R - 1 merges (rows R, R + 1, ...)."""

    def __init__(self, image, labels):
        count = int(labels.max()) + 1
        flat = labels.ravel()
        capacity = 2 * count - 1
        self.count, self.image_size = count, flat.size
        self.size = np.zeros(capacity)
        self.size[:count] = np.bincount(flat, minlength=count)
        self.box = np.zeros((capacity, 4), np.int64)
        self.box[:count] = bounding_boxes(labels, count)
        colour = histograms(flat, image.reshape(flat.size, -1), COLOUR_BINS, count)
        texture = histograms(flat, gradient_responses(image).reshape(flat.size, -1),
                             TEXTURE_BINS, count)
        self.colour = np.zeros((capacity, colour.shape[1]))
        self.colour[:count] = colour
        self.texture = np.zeros((capacity, texture.shape[1]))
        self.texture[:count] = texture

    def similarity(self, i, j):
        """s_colour + s_texture + s_size + s_fill of regions i[k] and j[k]
        (int arrays)."""
        size = self.size[i] + self.size[j]
        box = np.concatenate([np.minimum(self.box[i, :2], self.box[j, :2]),
                              np.maximum(self.box[i, 2:], self.box[j, 2:])], axis=1)
        box_area = (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
        return (np.minimum(self.colour[i], self.colour[j]).sum(axis=1)
                + np.minimum(self.texture[i], self.texture[j]).sum(axis=1)
                + (1 - size / self.image_size)
                + (1 - (box_area - size) / self.image_size))

    def merge(self, i, j):
        """Record the union of regions i and j as the next row; return it."""
        new, total = self.count, self.size[i] + self.size[j]
        self.size[new] = total
        for h in (self.colour, self.texture):
            h[new] = (self.size[i] * h[i] + self.size[j] * h[j]) / total
        self.box[new, :2] = np.minimum(self.box[i, :2], self.box[j, :2])
        self.box[new, 2:] = np.maximum(self.box[i, 2:], self.box[j, 2:])
        self.count += 1
        return new


def bounding_boxes(labels, count):
    """(count, 4) int64 (ymin, xmin, ymax, xmax), max exclusive, of each label."""
    from scipy import ndimage
    slices = ndimage.find_objects(labels + 1, max_label=count)
    return np.array([[rows.start, cols.start, rows.stop, cols.stop] for rows, cols in slices],
                    np.int64).reshape(count, 4)


def histograms(flat, values, bins, count):
    """(count, D * bins) histograms of the D columns of ``values`` (P, D) in
    [0, 1] over the pixels of each label, normalised to sum 1 per region."""
    d = values.shape[1]
    index = np.minimum((values * bins).astype(np.int64), bins - 1)
    index += (flat[:, None] * d + np.arange(d)) * bins
    counts = np.bincount(index.ravel(), minlength=count * d * bins).astype(np.float64)
    counts = counts.reshape(count, d * bins)
    return counts / counts.sum(axis=1, keepdims=True)


def gradient_responses(image):
    """H x W x (3 * 8) Gaussian derivatives (sigma 1) of each channel in 8
    orientations (the positive part, so opposite directions differ), each
    scaled to [0, 1] over the image."""
    from scipy import ndimage
    derivatives = np.stack([
        np.stack([ndimage.gaussian_filter(image[:, :, c], 1.0, order=order)
                  for order in ((0, 1), (1, 0))], axis=-1)
        for c in range(image.shape[2])], axis=2)                        # H x W x 3 x (dx, dy)
    angles = 2 * np.pi * np.arange(ORIENTATIONS) / ORIENTATIONS
    directions = np.stack([np.cos(angles), np.sin(angles)])             # 2 x 8
    responses = np.maximum(derivatives @ directions, 0)                 # H x W x 3 x 8
    peak = responses.max(axis=(0, 1), keepdims=True)
    responses = responses / np.where(peak > 0, peak, 1)
    return responses.reshape(image.shape[:2] + (-1,))


def adjacent_pairs(labels):
    """(M, 2) sorted label pairs that touch horizontally or vertically."""
    a = np.concatenate([labels[:, :-1].ravel(), labels[:-1, :].ravel()])
    b = np.concatenate([labels[:, 1:].ravel(), labels[1:, :].ravel()])
    differ = a != b
    pairs = np.stack([np.minimum(a, b)[differ], np.maximum(a, b)[differ]], axis=1)
    return np.unique(pairs, axis=0)


def hierarchical_grouping(image, labels):
    """(2R - 1, 4) boxes of the R initial regions, then of each merge in
    order (the last is the whole image)."""
    regions = Regions(image, labels)
    pairs = adjacent_pairs(labels)
    neighbours = [set() for _ in range(regions.count)]
    for i, j in pairs.tolist():
        neighbours[i].add(j)
        neighbours[j].add(i)
    heap = [(-s, i, j) for s, (i, j) in
            zip(regions.similarity(pairs[:, 0], pairs[:, 1]).tolist(), pairs.tolist())]
    heapq.heapify(heap)
    merged = set()
    while heap:
        _, i, j = heapq.heappop(heap)
        if i in merged or j in merged:
            continue
        new = regions.merge(i, j)
        merged |= {i, j}
        around = (neighbours[i] | neighbours[j]) - {i, j}
        for m in around:
            neighbours[m] -= {i, j}
            neighbours[m].add(new)
        neighbours.append(around)
        if around:
            others = np.fromiter(around, np.int64, len(around))
            similar = regions.similarity(np.full(len(others), new), others)
            for s, m in zip(similar.tolist(), others.tolist()):
                heapq.heappush(heap, (-s, m, new))
    return regions.box[:regions.count]
