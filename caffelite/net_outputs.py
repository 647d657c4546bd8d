"""A net's outputs: their mean over N forward passes, and the lines Caffe
logs for them (with the loss they contribute). Shared by the solver's
testing and display and by ``caffelite test``."""
import numpy as np


def mean_outputs(net, iterations, stop_requested=None, on_batch=None):
    """Run ``iterations`` forward passes of ``net``.

    Returns (mean loss, {output name: mean output, a float64 array shaped
    like the blob}), or None when ``stop_requested()`` is true before a
    pass. ``on_batch(i, outputs)`` sees each pass's {name: float64 array}.
    With no pass (``iterations`` <= 0) there is no output and the mean loss
    is NaN, Caffe's 0/0.
    """
    if iterations <= 0:
        return float('nan'), {}
    totals, loss = {}, 0.0
    for i in range(iterations):
        if stop_requested is not None and stop_requested():
            return None
        loss += net._forward()
        outputs = {name: np.array(net.blobs[name].data, np.float64) for name in net.outputs}
        if on_batch is not None:
            on_batch(i, outputs)
        for name, value in outputs.items():
            totals[name] = totals.get(name, 0) + value
    return loss / iterations, {name: total / iterations for name, total in totals.items()}


def output_lines(net, values):
    """(name, value, note) for every element of every output of ``net`` in
    Caffe's order, ``values`` giving {name: array} (an output it lacks, as
    after no pass, has no line); ``note`` is `` (* weight = weighted loss)``
    for loss outputs, '' for the others."""
    for name in [name for name in net.outputs if name in values]:
        weight = net.blob_loss_weights[name]
        for value in np.asarray(values[name], np.float64).ravel():
            note = ' (* %g = %g loss)' % (weight, weight * value) if weight else ''
            yield name, float(value), note
