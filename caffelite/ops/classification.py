"""SoftmaxWithLoss and Accuracy math on (outer, channels, inner) arrays with
integer-valued float labels (outer, inner), with the kernels of
kernels/loss.cu on the GPU. ``ignore`` is a label to skip, or None."""
import numpy as np

from .. import cuda


def _valid_labels(xp, labels, ignore):
    """(labels as int, clipped to 0 where ignored; valid mask)."""
    ints = labels.astype(np.int64)
    valid = ints != ignore if ignore is not None else xp.ones(ints.shape, bool)
    return xp.where(valid, ints, 0), valid


def _ignore_args(ignore):
    return (1, int(ignore)) if ignore is not None else (0, 0)


def softmax_loss_forward(prob, labels, ignore):
    """(sum of -log p[label] over valid positions, number of valid positions)."""
    outer, channels, inner = prob.shape
    if cuda.on_gpu(prob):
        import cupy
        loss = cupy.empty(outer * inner, np.float32)
        valid = cupy.empty(outer * inner, np.float32)
        cuda.launch('loss', 'softmax_loss_forward', outer * inner, cupy.ascontiguousarray(prob),
                    cupy.ascontiguousarray(labels, np.float32), channels, inner,
                    *_ignore_args(ignore), loss, valid)
        return float(loss.sum()), int(valid.sum())
    safe, valid = _valid_labels(np, labels, ignore)
    picked = np.take_along_axis(prob, safe[:, None, :], axis=1)[:, 0]
    tiny = np.float32(np.finfo(np.float32).tiny)
    return float(-(np.log(np.maximum(picked, tiny)) * valid).sum()), int(valid.sum())


def softmax_loss_backward(prob, labels, ignore, scale):
    """(prob - onehot(label)) * scale, zero at ignored positions."""
    outer, channels, inner = prob.shape
    if cuda.on_gpu(prob):
        import cupy
        dx = cupy.empty(prob.shape, np.float32)
        cuda.launch('loss', 'softmax_loss_backward', prob.size, cupy.ascontiguousarray(prob),
                    cupy.ascontiguousarray(labels, np.float32), channels, inner,
                    *_ignore_args(ignore), np.float32(scale), dx)
        return dx
    safe, valid = _valid_labels(np, labels, ignore)
    grad = prob - (np.arange(channels)[None, :, None] == safe[:, None, :])
    return (grad * valid[:, None, :] * np.float32(scale)).astype(np.float32)


def accuracy(scores, labels, top_k, ignore):
    """(correct, valid) masks per (outer, inner) position: correct when fewer
    than ``top_k`` scores are >= the true class's (ties count against)."""
    outer, channels, inner = scores.shape
    if cuda.on_gpu(scores):
        import cupy
        correct = cupy.empty(outer * inner, np.float32)
        valid = cupy.empty(outer * inner, np.float32)
        cuda.launch('loss', 'accuracy_forward', outer * inner, cupy.ascontiguousarray(scores),
                    cupy.ascontiguousarray(labels, np.float32), channels, inner, top_k,
                    *_ignore_args(ignore), correct, valid)
        return (correct.reshape(outer, inner) > 0), (valid.reshape(outer, inner) > 0)
    safe, valid = _valid_labels(np, labels, ignore)
    truth = np.take_along_axis(scores, safe[:, None, :], axis=1)
    better = (scores >= truth).sum(axis=1) - 1
    return (better < top_k) & valid, valid
