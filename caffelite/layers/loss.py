"""Loss layers and Accuracy. Losses share Caffe's normalization rules
(``loss_param.normalization`` FULL / VALID / BATCH_SIZE / NONE, the legacy
``normalize`` flag, ``ignore_label``) and scale their gradients by the loss
weight that the net stores in ``top[0].diff``."""
import numpy as np

from .. import protoio
from ..ops import classification
from ..ops import softmax as softmax_op
from ..proto import caffe_pb2
from .base import Layer, register

Norm = caffe_pb2.LossParameter
LOG_THRESHOLD = np.float32(1e-20)


class LossLayer(Layer):
    """Base: prediction and target bottoms, a scalar loss top (weight 1)."""
    min_bottom = 2
    min_top = 1
    max_top = 1
    # Caffe's LossLayer::AutoTopBlobs: a loss given no top gets an anonymous one.
    auto_top_blobs = True

    def default_loss_weight(self, top_index):
        return 1.0 if top_index == 0 else 0.0

    def allow_force_backward(self, bottom_index):
        return bottom_index != 1

    # Mode when neither normalization nor normalize is given.
    default_normalization = Norm.VALID

    def normalization(self):
        p = self.layer_param.loss_param
        if p.HasField('normalization'):
            return p.normalization
        if p.HasField('normalize'):
            return Norm.VALID if p.normalize else Norm.BATCH_SIZE
        return self.default_normalization

    def normalizer(self, outer, inner, valid_count):
        """Caffe's get_normalizer, never below 1."""
        mode = self.normalization()
        if mode == Norm.FULL or (mode == Norm.VALID and valid_count < 0):
            value = outer * inner
        elif mode == Norm.VALID:
            value = valid_count
        elif mode == Norm.BATCH_SIZE:
            value = outer
        else:
            value = 1
        return max(1.0, float(value))

    def rows_and_labels(self, bottom):
        """(the predictions as an N x K matrix, the N int64 labels, row
        indices 0..N-1): what a per-item loss picks each label's entry with."""
        x = bottom[0].xdata.reshape(bottom[0].shape[0], -1)
        labels = bottom[1].xdata.reshape(-1).astype(np.int64)
        return x, labels, self.xp.arange(x.shape[0])

    def ignore_label(self):
        p = self.layer_param.loss_param
        return p.ignore_label if p.HasField('ignore_label') else None

    def reshape(self, bottom, top):
        self.check(bottom[0].shape[:1] == bottom[1].shape[:1],
                   'the data and label should have the same first dimension '
                   '(%s vs %s)' % (bottom[0].shape, bottom[1].shape))
        top[0].reshape(())

    def loss_weight(self, top):
        return top[0].xdiff.reshape(-1)[0]

    def refuse_label_gradient(self, propagate_down):
        self.check(not propagate_down[1], 'cannot backpropagate to the label input')


class _SoftmaxLabelLoss(LossLayer):
    """Shared by SoftmaxWithLoss and InfogainLoss: softmax over ``axis``,
    integer labels per (outer, inner) position, optional ignore_label."""
    max_top = 2

    def axis_param(self):
        raise NotImplementedError

    def reshape(self, bottom, top):
        self.axis = bottom[0].canonical_axis(self.axis_param())
        self.outer = bottom[0].count_range(0, self.axis)
        self.inner = bottom[0].count_range(self.axis + 1)
        self.check(bottom[1].count == self.outer * self.inner,
                   'number of labels (%d) must match number of predictions (%d); with axis '
                   '%d and prediction shape %s' % (bottom[1].count, self.outer * self.inner,
                                                   self.axis, bottom[0].shape))
        top[0].reshape(())
        if len(top) > 1:
            top[1].reshape_like(bottom[0])

    def _labels(self, bottom):
        """(labels as int (outer, inner), valid mask (outer, inner))."""
        labels = bottom[1].xdata.reshape(self.outer, self.inner).astype(np.int64)
        ignore = self.ignore_label()
        valid = labels != ignore if ignore is not None else self.xp.ones(labels.shape, bool)
        channels = bottom[0].shape[self.axis]
        in_range = (labels >= 0) & (labels < channels)
        self.check(bool((in_range | ~valid).all()), 'labels must lie in [0, %d)' % channels)
        return self.xp.where(valid, labels, 0), valid

    def _softmax(self, bottom, top):
        prob = softmax_op.softmax_forward(bottom[0].xdata, self.axis)
        self.prob = prob.reshape(self.outer, -1, self.inner)
        if len(top) > 1:
            top[1].xdata[...] = prob


@register('SoftmaxWithLoss')
class SoftmaxWithLossLayer(_SoftmaxLabelLoss):
    """Multinomial logistic loss of a softmax over ``softmax_param.axis``."""

    def axis_param(self):
        return self.layer_param.softmax_param.axis

    def _label_grid(self, bottom):
        """Labels (outer, inner), range-checked (ignored labels may be anything)."""
        self._labels(bottom)
        return bottom[1].xdata.reshape(self.outer, self.inner)

    def forward(self, bottom, top):
        self._softmax(bottom, top)
        loss, self.count = classification.softmax_loss_forward(
            self.prob, self._label_grid(bottom), self.ignore_label())
        top[0].xdata[...] = loss / self.normalizer(self.outer, self.inner, self.count)

    def backward(self, top, propagate_down, bottom):
        self.refuse_label_gradient(propagate_down)
        if not propagate_down[0]:
            return
        scale = float(self.loss_weight(top)) / self.normalizer(self.outer, self.inner,
                                                               self.count)
        grad = classification.softmax_loss_backward(self.prob, self._label_grid(bottom),
                                                    self.ignore_label(), scale)
        bottom[0].xdiff[...] = grad.reshape(bottom[0].shape)


@register('InfogainLoss')
class InfogainLossLayer(_SoftmaxLabelLoss):
    """-sum_k H[label, k] log softmax_k, with H from a third bottom or the
    binaryproto named by ``infogain_loss_param.source``."""
    max_bottom = 3

    def axis_param(self):
        return self.layer_param.infogain_loss_param.axis

    def allow_force_backward(self, bottom_index):
        return bottom_index == 0

    def setup(self, bottom, top):
        if len(bottom) < 3:
            source = self.layer_param.infogain_loss_param.source
            self.check(source, 'the infogain matrix source must be given without a 3rd bottom')
            proto = protoio.read_binary(source, caffe_pb2.BlobProto())
            self.infogain = np.asarray(proto.data, np.float32)

    def _matrix(self, bottom, channels):
        h = bottom[2].xdata if len(bottom) == 3 else self.xp.asarray(self.infogain)
        self.check(h.size == channels * channels, 'H must be %dx%d' % (channels, channels))
        return h.reshape(channels, channels)

    def forward(self, bottom, top):
        self._softmax(bottom, top)
        labels, valid = self._labels(bottom)
        h = self._matrix(bottom, self.prob.shape[1])
        rows = h[labels].transpose(0, 2, 1)            # (outer, channels, inner)
        log_p = self.xp.log(self.xp.maximum(self.prob, LOG_THRESHOLD))
        loss = -((rows * log_p).sum(axis=1) * valid).sum()
        self.count = int(valid.sum())
        top[0].xdata[...] = loss / np.float32(self.normalizer(self.outer, self.inner, self.count))

    def backward(self, top, propagate_down, bottom):
        self.refuse_label_gradient(propagate_down)
        self.check(len(propagate_down) < 3 or not propagate_down[2],
                   'cannot backpropagate to the infogain matrix')
        if not propagate_down[0]:
            return
        labels, valid = self._labels(bottom)
        h = self._matrix(bottom, self.prob.shape[1])
        row_sums = h.sum(axis=1)[labels]                # (outer, inner)
        grad = self.prob * row_sums[:, None, :] - h[labels].transpose(0, 2, 1)
        grad *= valid[:, None, :]
        scale = self.loss_weight(top) / np.float32(
            self.normalizer(self.outer, self.inner, self.count))
        bottom[0].xdiff[...] = (grad * scale).reshape(bottom[0].shape)


@register('Accuracy')
class AccuracyLayer(Layer):
    """Fraction of positions whose label is among the ``top_k`` scores (ties
    count against, as in Caffe); optional second top: per-class accuracy."""
    exact_num_bottom = 2
    min_top = 1
    max_top = 2

    def reshape(self, bottom, top):
        p = self.layer_param.accuracy_param
        self.axis = bottom[0].canonical_axis(p.axis)
        self.outer = bottom[0].count_range(0, self.axis)
        self.inner = bottom[0].count_range(self.axis + 1)
        self.check(p.top_k <= bottom[0].count // bottom[1].count,
                   'top_k must be less than or equal to the number of classes')
        self.check(bottom[1].count == self.outer * self.inner,
                   'number of labels must match number of predictions')
        top[0].reshape(())
        if len(top) > 1:
            top[1].reshape((bottom[0].shape[self.axis],))

    def forward(self, bottom, top):
        xp = self.xp
        p = self.layer_param.accuracy_param
        scores = bottom[0].xdata.reshape(self.outer, -1, self.inner)
        labels = bottom[1].xdata.reshape(self.outer, self.inner)
        ignore = p.ignore_label if p.HasField('ignore_label') else None
        correct, valid = classification.accuracy(scores, labels, p.top_k, ignore)
        safe = xp.where(valid, labels.astype(np.int64), 0)
        count = int(valid.sum())
        top[0].xdata[...] = float(correct.sum()) / count if count else 0.0
        if len(top) > 1:
            classes = scores.shape[1]
            seen = xp.bincount(safe[valid], minlength=classes)
            hits = xp.bincount(safe[correct], minlength=classes)
            top[1].xdata[...] = xp.where(seen > 0, hits / xp.maximum(seen, 1), 0)

    def backward(self, top, propagate_down, bottom):
        self.check(not any(propagate_down), 'Accuracy has no gradient')


class PairLossLayer(LossLayer):
    """Base of the losses of a prediction a against a target b of the same
    count, both of which get gradients (Euclidean, DetectNet's L1)."""
    exact_num_bottom = 2

    def allow_force_backward(self, bottom_index):
        return True

    def reshape(self, bottom, top):
        super().reshape(bottom, top)
        self.check(bottom[0].count == bottom[1].count,
                   'inputs must have the same dimension (%s vs %s)'
                   % (bottom[0].shape, bottom[1].shape))

    def difference(self, bottom):
        """a - b, in a's shape."""
        return bottom[0].xdata - bottom[1].xdata.reshape(bottom[0].shape)

    @staticmethod
    def batch(bottom):
        """N, a's first axis (1 for a scalar)."""
        return bottom[0].shape[0] if bottom[0].num_axes else 1

    def backward_pair(self, top, propagate_down, bottom, gradient):
        """a's gradient ``gradient`` * loss weight / N, b's its negative."""
        n = np.float32(self.batch(bottom))
        for i, sign in ((0, 1), (1, -1)):
            if propagate_down[i]:
                scale = sign * self.loss_weight(top) / n
                bottom[i].xdiff[...] = (scale * gradient).reshape(bottom[i].shape)


@register('EuclideanLoss')
class EuclideanLossLayer(PairLossLayer):
    """sum((a - b)^2) / (2 N)."""

    def forward(self, bottom, top):
        self.diff = self.difference(bottom)
        top[0].xdata[...] = (self.diff * self.diff).sum() / np.float32(2 * self.batch(bottom))

    def backward(self, top, propagate_down, bottom):
        self.backward_pair(top, propagate_down, bottom, self.diff)


@register('SigmoidCrossEntropyLoss')
class SigmoidCrossEntropyLossLayer(LossLayer):
    """Cross-entropy of sigmoid(x) against targets in [0, 1], computed
    stably; ``ignore_label`` positions are skipped."""
    exact_num_bottom = 2
    default_normalization = Norm.BATCH_SIZE

    def reshape(self, bottom, top):
        super().reshape(bottom, top)
        self.check(bottom[0].count == bottom[1].count, 'inputs must have the same count')
        self.outer = bottom[0].shape[0]
        self.inner = bottom[0].count // max(self.outer, 1)

    def _valid(self, target):
        ignore = self.ignore_label()
        return (target != ignore) if ignore is not None else self.xp.ones(target.shape, bool)

    def forward(self, bottom, top):
        xp = self.xp
        x = bottom[0].xdata
        t = bottom[1].xdata.reshape(x.shape)
        valid = self._valid(t)
        positive = (x >= 0).astype(np.float32)
        terms = x * (t - positive) - xp.log1p(xp.exp(x - 2 * x * positive))
        self.count = int(valid.sum())
        top[0].xdata[...] = -(terms * valid).sum() / np.float32(
            self.normalizer(self.outer, self.inner, self.count))

    def backward(self, top, propagate_down, bottom):
        self.refuse_label_gradient(propagate_down)
        if not propagate_down[0]:
            return
        x = bottom[0].xdata
        t = bottom[1].xdata.reshape(x.shape)
        sigmoid = 0.5 * self.xp.tanh(0.5 * x) + 0.5
        scale = self.loss_weight(top) / np.float32(
            self.normalizer(self.outer, self.inner, self.count))
        bottom[0].xdiff[...] = (sigmoid - t) * self._valid(t) * scale


@register('HingeLoss')
class HingeLossLayer(LossLayer):
    """One-vs-all hinge loss, L1 or L2 (``hinge_loss_param.norm``), / N."""
    exact_num_bottom = 2

    def _margins(self, bottom):
        x, labels, rows = self.rows_and_labels(bottom)
        sign = self.xp.ones(x.shape, np.float32)
        sign[rows, labels] = -1
        return self.xp.maximum(0, 1 + sign * x), sign

    def forward(self, bottom, top):
        margin, _ = self._margins(bottom)
        n = np.float32(bottom[0].shape[0])
        l2 = self.layer_param.hinge_loss_param.norm == caffe_pb2.HingeLossParameter.L2
        top[0].xdata[...] = ((margin * margin).sum() if l2 else margin.sum()) / n

    def backward(self, top, propagate_down, bottom):
        self.refuse_label_gradient(propagate_down)
        if not propagate_down[0]:
            return
        margin, sign = self._margins(bottom)
        l2 = self.layer_param.hinge_loss_param.norm == caffe_pb2.HingeLossParameter.L2
        scale = self.loss_weight(top) / np.float32(bottom[0].shape[0])
        grad = 2 * margin * sign if l2 else self.xp.sign(margin) * sign
        bottom[0].xdiff[...] = (grad * scale).reshape(bottom[0].shape)


@register('MultinomialLogisticLoss')
class MultinomialLogisticLossLayer(LossLayer):
    """-log(p[label]) / N for probabilities p (no softmax inside)."""
    exact_num_bottom = 2

    def _picked(self, bottom):
        p, labels, rows = self.rows_and_labels(bottom)
        return self.xp.maximum(p[rows, labels], LOG_THRESHOLD), rows, labels

    def forward(self, bottom, top):
        picked, _, _ = self._picked(bottom)
        top[0].xdata[...] = -self.xp.log(picked).sum() / np.float32(bottom[0].shape[0])

    def backward(self, top, propagate_down, bottom):
        self.refuse_label_gradient(propagate_down)
        if not propagate_down[0]:
            return
        picked, rows, labels = self._picked(bottom)
        grad = self.xp.zeros((bottom[0].shape[0], bottom[0].count // bottom[0].shape[0]),
                             np.float32)
        grad[rows, labels] = -self.loss_weight(top) / np.float32(bottom[0].shape[0]) / picked
        bottom[0].xdiff[...] = grad.reshape(bottom[0].shape)


@register('ContrastiveLoss')
class ContrastiveLossLayer(LossLayer):
    """Hadsell et al.'s contrastive loss on feature pairs (a, b) with a
    similarity label y: y d^2 + (1 - y) max(margin - d, 0)^2, / 2N
    (``legacy_version``: max(margin - d^2, 0))."""
    exact_num_bottom = 3

    def allow_force_backward(self, bottom_index):
        return bottom_index != 2

    def reshape(self, bottom, top):
        self.check(bottom[0].shape == bottom[1].shape, 'the two features must match')
        self.check(bottom[2].count == bottom[0].shape[0], 'one similarity label per pair')
        top[0].reshape(())

    def _parts(self, bottom):
        n = bottom[0].shape[0]
        diff = (bottom[0].xdata - bottom[1].xdata).reshape(n, -1)
        dist_sq = (diff * diff).sum(axis=1)
        similar = bottom[2].xdata.reshape(-1).astype(np.int64) != 0
        return diff, dist_sq, similar

    def forward(self, bottom, top):
        p = self.layer_param.contrastive_loss_param
        diff, dist_sq, similar = self._parts(bottom)
        margin = np.float32(p.margin)
        if p.legacy_version:
            away = self.xp.maximum(margin - dist_sq, 0)
        else:
            away = self.xp.maximum(margin - self.xp.sqrt(dist_sq), 0) ** 2
        loss = self.xp.where(similar, dist_sq, away).sum()
        top[0].xdata[...] = loss / np.float32(2 * bottom[0].shape[0])

    def backward(self, top, propagate_down, bottom):
        self.check(not propagate_down[2], 'cannot backpropagate to the similarity labels')
        p = self.layer_param.contrastive_loss_param
        diff, dist_sq, similar = self._parts(bottom)
        margin = np.float32(p.margin)
        n = bottom[0].shape[0]
        if p.legacy_version:
            dissimilar_coeff = -(margin - dist_sq > 0).astype(np.float32)
        else:
            dist = self.xp.sqrt(dist_sq)
            gap = margin - dist
            dissimilar_coeff = -gap / (dist + np.float32(1e-4)) * (gap > 0)
        coeff = self.xp.where(similar, np.float32(1), dissimilar_coeff)[:, None]
        for i, sign in ((0, 1), (1, -1)):
            if propagate_down[i]:
                alpha = sign * self.loss_weight(top) / np.float32(n)
                bottom[i].xdiff[...] = (alpha * coeff * diff).reshape(bottom[i].shape)
