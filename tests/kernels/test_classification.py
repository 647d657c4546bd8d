"""kernels/classification.cu (SoftmaxWithLoss and Accuracy), compiled for
the host and run serially, equals NumPy computations of the same results;
it also compiles for the GPU."""
import numpy as np
from hypothesis import given, settings, strategies as st

import kernel_harness

f32 = np.float32
SETTINGS = settings(max_examples=20, deadline=None)


@SETTINGS
@given(st.integers(1, 3), st.integers(2, 5), st.integers(1, 4), st.integers(1, 3),
       st.integers(0, 2 ** 16))
def test_softmax_loss_and_accuracy(outer, channels, inner, top_k, seed):
    rng = np.random.RandomState(seed)
    scores = rng.randn(outer, channels, inner).astype(f32)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    prob = (e / e.sum(axis=1, keepdims=True)).astype(f32)
    label = rng.randint(0, channels, (outer, inner)).astype(f32)
    ignore = int(label[0, 0])
    positions = outer * inner
    loss, valid = np.empty(positions, f32), np.empty(positions, f32)
    labels = dict(label=label, channels=channels, inner=inner)
    kernel_harness.call('classification', 'softmax_loss_forward', positions, prob=prob,
                        has_ignore=1, ignore_label=ignore, loss=loss, valid=valid, **labels)
    picked = np.take_along_axis(prob, label.astype(int)[:, None], axis=1)[:, 0]
    keep = label != ignore
    np.testing.assert_allclose(loss, np.where(keep, -np.log(picked), 0).ravel(), rtol=1e-5)
    np.testing.assert_array_equal(valid, keep.ravel())
    dx = np.empty_like(prob)
    kernel_harness.call('classification', 'softmax_loss_backward', prob.size, prob=prob,
                        has_ignore=1, ignore_label=ignore, scale=0.5, dx=dx, **labels)
    onehot = np.arange(channels)[None, :, None] == label[:, None, :]
    np.testing.assert_allclose(dx, (prob - onehot) * keep[:, None, :] * 0.5, rtol=1e-6)
    correct = np.empty(positions, f32)
    kernel_harness.call('classification', 'accuracy_forward', positions, scores=scores,
                        top_k=top_k, has_ignore=0, ignore_label=0, correct=correct, valid=valid,
                        **labels)
    truth = np.take_along_axis(scores, label.astype(int)[:, None], axis=1)
    better = (scores >= truth).sum(axis=1) - 1
    np.testing.assert_array_equal(correct, (better < top_k).ravel())



def test_compiles_for_the_gpu(tmp_path):
    kernel_harness.check_gpu_build('classification', tmp_path)
