"""Layers that route or reshape blobs and general-purpose layers
(Split, Concat, Slice, Flatten, Reshape, InnerProduct, Softmax, Eltwise...)."""
from .base import Layer, register


@register('Split')
class SplitLayer(Layer):
    """Copies one bottom to several tops sharing its data; backward sums the
    tops' diffs. Inserted by the Net wherever a blob has several consumers."""
    exact_num_bottom = 1
    min_top = 1

    def reshape(self, bottom, top):
        for blob in top:
            blob.reshape_like(bottom[0])
            blob.share_data(bottom[0])

    def forward(self, bottom, top):
        """Data is shared: nothing to copy."""

    def backward(self, top, propagate_down, bottom):
        if not propagate_down[0]:
            return
        total = bottom[0].xdiff
        total[...] = top[0].xdiff
        for blob in top[1:]:
            total += blob.xdiff
