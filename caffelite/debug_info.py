"""Caffe's ``debug_info``: with ``debug_info: true`` in a solver (or a net),
each layer's pass logs the mean absolute value of what it wrote, in Caffe's
words, which is how Caffe users find the layer where values blow up:

    [Forward] Layer conv1, top blob conv1 data: 0.0723
    [Forward] Layer conv1, param blob 0 data: 0.0148
    [Backward] Layer conv1, bottom blob data diff: 1.2e-05
    [Backward] Layer conv1, param blob 0 diff: 0.00031
    [Backward] All net params (data, diff): L1 norm = (..., ...); L2 norm = (..., ...)

The solver's train net logs them on display iterations, its test nets on
every pass, as in Caffe, on the root solver of a multi-GPU run (the norms
line on every one). The net is read through pycaffe's surface.
"""
import logging
import math

import numpy as np

from .net_log import says_info

log = logging.getLogger('caffelite.net')


def _abs_mean(values):
    return float(np.abs(values).sum(dtype=np.float64)) / max(values.size, 1)


def _param_name(layer, j):
    """Caffe's display name of a layer's param ``j``: its ParamSpec name, or ``j``."""
    specs = layer.layer_param.param
    return specs[j].name if j < len(specs) and specs[j].name else str(j)


def log_forward(net, i):
    """After layer ``i``'s forward: its tops' and params' data."""
    if not says_info(log):
        return
    name, layer = net._layer_names[i], net.layers[i]
    for b in net._top_ids(i):
        log.info('    [Forward] Layer %s, top blob %s data: %g', name, net._blob_names[b],
                 _abs_mean(net._blobs[b].data))
    for j, param in enumerate(layer.blobs):
        log.info('    [Forward] Layer %s, param blob %s data: %g', name,
                 _param_name(layer, j), _abs_mean(param.data))


def log_backward(net, i):
    """After layer ``i``'s backward: the diffs of the bottoms it fed and of
    the params it computed."""
    if not says_info(log):
        return
    name, layer = net._layer_names[i], net.layers[i]
    for b, needed in zip(net._bottom_ids(i), net.bottom_need_backward[i]):
        if needed:
            log.info('    [Backward] Layer %s, bottom blob %s diff: %g', name,
                     net._blob_names[b], _abs_mean(net._blobs[b].diff))
    for j, param in enumerate(layer.blobs):
        if layer.param_propagate_down[j]:
            log.info('    [Backward] Layer %s, param blob %d diff: %g', name, j,
                     _abs_mean(param.diff))


def log_params(net):
    """After a whole backward: L1 and L2 norms of every learnable param
    (Caffe logs this line as an ERROR)."""
    sums = np.zeros(4)
    for param in net.learnable_params:
        data = np.asarray(param.data, np.float64)
        diff = np.asarray(param.diff, np.float64)
        sums += (np.abs(data).sum(), np.abs(diff).sum(), (data * data).sum(), (diff * diff).sum())
    log.error('    [Backward] All net params (data, diff): L1 norm = (%g, %g); '
              'L2 norm = (%g, %g)', sums[0], sums[1], math.sqrt(sums[2]), math.sqrt(sums[3]))
