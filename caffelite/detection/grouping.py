"""OpenCV's ``groupRectangles`` rule in NumPy (DetectNet clusters its
per-cell box proposals with it).

1. Rectangles (x, y, w, h; integers: floats are truncated toward zero, as
   the OpenCV 2/3 Python bindings did) are *similar* when all four edges
   differ by at most ``eps * (min width + min height) / 2``; groups are the
   connected components of that relation, numbered by their first member.
2. Each group becomes the average of its members (float32 sum times 1/n,
   rounded half to even, as ``cvRound``), weighted by its member count.
3. A group is kept when it has more than ``group_threshold`` members and
   does not lie inside (within ``eps`` of its size) another kept-size group
   that has more than ``max(3, n)`` members (or when n < 3, any such group).

With ``group_threshold <= 0`` the rectangles come back unchanged, weight 1.
"""
import numpy as np


def similar(rects, eps):
    """(N, N) booleans: OpenCV's SimilarRects predicate for every pair."""
    x, y, w, h = (rects[:, k] for k in range(4))
    delta = eps * (np.minimum(w[:, None], w[None, :]) + np.minimum(h[:, None], h[None, :])) * 0.5
    right, bottom = x + w, y + h
    return ((np.abs(x[:, None] - x[None, :]) <= delta)
            & (np.abs(y[:, None] - y[None, :]) <= delta)
            & (np.abs(right[:, None] - right[None, :]) <= delta)
            & (np.abs(bottom[:, None] - bottom[None, :]) <= delta))


def components(adjacency):
    """Group index of each node of a symmetric (N, N) adjacency, groups
    numbered in the order of their lowest member (cv::partition's order).
    Every node takes the smallest label among its neighbours until nothing
    changes, so each component ends labelled by its lowest node."""
    n = len(adjacency)
    labels = np.arange(n)
    while True:
        smallest = np.where(adjacency, labels[None, :], n).min(axis=1)
        updated = np.minimum(labels, smallest)
        # jump along the labels' own labels too: halves the rounds needed
        updated = updated[updated]
        if np.array_equal(updated, labels):
            return np.unique(labels, return_inverse=True)[1].reshape(-1)
        labels = updated


def _cv_round(values):
    """cvRound: nearest integer, halves to even."""
    return np.rint(values).astype(np.int64)


def group_rectangles(rects, group_threshold, eps=0.2):
    """(rects (M, 4) int64, weights (M,) int64) as cv2.groupRectangles."""
    rects = np.trunc(np.asarray(rects, np.float64)).astype(np.int64).reshape(-1, 4)
    if group_threshold <= 0 or not len(rects):
        return rects, np.ones(len(rects), np.int64)
    labels = components(similar(rects, eps))
    counts = np.bincount(labels)
    sums = np.zeros((len(counts), 4), np.int64)
    np.add.at(sums, labels, rects)
    inverse = np.float32(1) / counts.astype(np.float32)
    groups = _cv_round(sums.astype(np.float32) * inverse[:, None])
    big = counts > group_threshold
    x, y, w, h = (groups[:, k] for k in range(4))
    dx, dy = _cv_round(w * eps), _cv_round(h * eps)
    # inside[i, j]: group i lies within group j's rectangle grown by eps
    inside = ((x[:, None] >= x[None, :] - dx[None, :])
              & (y[:, None] >= y[None, :] - dy[None, :])
              & (x[:, None] + w[:, None] <= x[None, :] + w[None, :] + dx[None, :])
              & (y[:, None] + h[:, None] <= y[None, :] + h[None, :] + dy[None, :]))
    n1, n2 = counts[:, None], counts[None, :]
    dominated = (inside & big[None, :] & ~np.eye(len(counts), dtype=bool)
                 & ((n2 > np.maximum(3, n1)) | (n1 < 3)))
    keep = big & ~dominated.any(axis=1)
    return groups[keep], counts[keep]
