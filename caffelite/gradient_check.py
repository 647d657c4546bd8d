"""Finite-difference gradient checking of a layer, in the spirit of Caffe's
GradientChecker, for native and Python layers alike.

The objective is ``L = sum_t <top_t, R_t>`` for fixed random ``R_t``; the
analytic gradient comes from one backward with top diffs ``R_t``, the
numeric one from central differences on each checked element. Loss layers
work unchanged: they scale their gradient by their top's diff.
"""
import numpy as np

from . import backend
from .errors import CaffeError


def _objective(layer, bottom, top, weights):
    layer.layer_forward(bottom, top)
    return sum(float(np.vdot(backend.to_host(t.xdata).astype(np.float64), w))
               for t, w in zip(top, weights))


def _analytic(layer, bottom, top, weights, targets, propagate):
    for blob in layer.blobs:
        blob.xdiff[...] = 0
    for blob in bottom:
        blob.xdiff[...] = 0
    layer.layer_forward(bottom, top)
    xp = backend.xp()
    for t, w in zip(top, weights):
        t.xdiff[...] = xp.asarray(w.astype(np.float32))
    layer.layer_backward(top, propagate, bottom)
    return [backend.to_host(b.xdiff).astype(np.float64).copy() for b in targets]


def check_gradient(layer, bottom, top, check_bottom=None, check_params=True,
                   stepsize=1e-2, threshold=1e-2, kink=0.0, kink_range=-1.0,
                   seed=1701, max_elements=None):
    """Compare analytic and numeric gradients; raise CaffeError on mismatch.

    ``layer`` must already be set up on ``bottom``/``top`` (lists of Blobs).
    ``check_bottom``: indices of bottoms to check (default all).
    ``max_elements``: check only a random subset of each blob's elements.
    Elements within ``kink_range`` of ``kink`` (non-differentiable points)
    are skipped. Returns the number of elements compared.
    """
    rng = np.random.RandomState(seed)
    layer.reshape(bottom, top)
    layer.layer_forward(bottom, top)
    weights = [rng.standard_normal(t.shape) for t in top]
    idx = range(len(bottom)) if check_bottom is None else check_bottom
    propagate = [i in idx for i in range(len(bottom))]
    targets = [bottom[i] for i in idx]
    if check_params:
        targets += list(layer.blobs)
        for i in range(len(layer.blobs)):
            layer.set_param_propagate_down(i, True)
    analytic = _analytic(layer, bottom, top, weights, targets, propagate)
    compared = 0
    for blob, grad in zip(targets, analytic):
        flat = blob.data.reshape(-1)
        elements = np.arange(flat.size)
        if max_elements is not None and flat.size > max_elements:
            elements = rng.choice(flat.size, max_elements, replace=False)
        for e in elements:
            original = float(flat[e])
            flat[e] = original + stepsize
            plus = _objective(layer, bottom, top, weights)
            flat = blob.data.reshape(-1)
            flat[e] = original - stepsize
            minus = _objective(layer, bottom, top, weights)
            flat = blob.data.reshape(-1)
            flat[e] = original
            if kink_range > 0 and abs(original - kink) < kink_range:
                continue
            numeric = (plus - minus) / (2 * stepsize)
            computed = grad.reshape(-1)[e]
            scale = max(abs(computed), abs(numeric), 1.0)
            if not abs(computed - numeric) <= threshold * scale:   # NaN fails too
                raise CaffeError('%s gradient mismatch at %s element %d: analytic %g, '
                                 'numeric %g' % (layer.name, blob.shape, e, computed, numeric))
            compared += 1
    return compared
