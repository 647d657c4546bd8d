"""SoftmaxWithLoss and Accuracy math on (outer, channels, inner) arrays with
integer-valued float labels (outer, inner); the GPU half runs
kernels/classification.cu. ``ignore`` is a label to skip, or None."""
import numpy as np

from .. import cuda
from ..dispatch import op

launch = cuda.launcher(__name__)


def _valid_labels(labels, ignore):
    """(labels as int, clipped to 0 where ignored; valid mask)."""
    ints = labels.astype(np.int64)
    valid = ints != ignore if ignore is not None else np.ones(ints.shape, bool)
    return np.where(valid, ints, 0), valid


def _label_args(labels, channels, inner, ignore):
    """The label arguments every kernel of classification.cu takes."""
    return dict(label=labels, channels=channels, inner=inner, has_ignore=ignore is not None,
                ignore_label=0 if ignore is None else int(ignore))


@op
def softmax_loss_forward(prob, labels, ignore):
    """(sum of -log p[label] over valid positions, number of valid positions)."""
    safe, valid = _valid_labels(labels, ignore)
    picked = np.take_along_axis(prob, safe[:, None, :], axis=1)[:, 0]
    tiny = np.float32(np.finfo(np.float32).tiny)
    return float(-(np.log(np.maximum(picked, tiny)) * valid).sum()), int(valid.sum())


@softmax_loss_forward.gpu
def softmax_loss_forward(prob, labels, ignore):
    outer, channels, inner = prob.shape
    loss, valid = cuda.empty(outer * inner), cuda.empty(outer * inner)
    launch('softmax_loss_forward', outer * inner, prob=prob, loss=loss, valid=valid,
           **_label_args(labels, channels, inner, ignore))
    return float(loss.sum()), int(valid.sum())


@op
def softmax_loss_backward(prob, labels, ignore, scale):
    """(prob - onehot(label)) * scale, zero at ignored positions."""
    safe, valid = _valid_labels(labels, ignore)
    grad = prob - (np.arange(prob.shape[1])[None, :, None] == safe[:, None, :])
    return (grad * valid[:, None, :] * np.float32(scale)).astype(np.float32)


@softmax_loss_backward.gpu
def softmax_loss_backward(prob, labels, ignore, scale):
    outer, channels, inner = prob.shape
    dx = cuda.empty(prob.shape)
    launch('softmax_loss_backward', prob.size, prob=prob, scale=scale, dx=dx,
           **_label_args(labels, channels, inner, ignore))
    return dx


@op
def accuracy(scores, labels, top_k, ignore):
    """(correct, valid) masks per (outer, inner) position: correct when fewer
    than ``top_k`` scores are >= the true class's (ties count against)."""
    safe, valid = _valid_labels(labels, ignore)
    truth = np.take_along_axis(scores, safe[:, None, :], axis=1)
    better = (scores >= truth).sum(axis=1) - 1
    return (better < top_k) & valid, valid


@accuracy.gpu
def accuracy(scores, labels, top_k, ignore):
    outer, channels, inner = scores.shape
    correct, valid = cuda.empty(outer * inner), cuda.empty(outer * inner)
    launch('accuracy_forward', outer * inner, scores=scores, top_k=top_k, correct=correct,
           valid=valid, **_label_args(labels, channels, inner, ignore))
    return (correct.reshape(outer, inner) > 0), (valid.reshape(outer, inner) > 0)
