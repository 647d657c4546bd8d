"""caffelite.ops.solver_updates.update: weight decay, the rule, the
finiteness check and data -= diff on cache-sized pieces give the numbers of
the separate whole-array steps, report a non-finite step wherever it is and
never write it into the weights."""
import numpy as np
import pytest

from caffelite import divergence, threads
from caffelite.ops import solver_updates as updates

# Several pieces, enough elements for threads to share them, and a shape:
# the pieces are cut from the flat arrays, not from the first axis.
SHAPE = (3, threads.MIN_SPLIT_ELEMENTS // 3 + 1001)
RULES = [(updates.sgd, 1, (0.9, 0.01)), (updates.nesterov, 1, (0.9, 0.01)),
         (updates.adagrad, 1, (1e-8, 0.01)), (updates.rmsprop, 1, (0.98, 1e-8, 0.01)),
         (updates.adadelta, 2, (0.95, 1e-6, 1.0)), (updates.adam, 2, (0.9, 0.999, 1e-8, 0.01))]


def arrays(count, seed=0):
    rng = np.random.RandomState(seed)
    return [rng.randn(*SHAPE).astype(np.float32) for _ in range(count)]


def test_sgd_with_decay_equals_caffes_whole_array_steps():
    diff, data, history = arrays(3)
    d, h, w = diff.copy(), history.copy(), data.copy()
    d += np.float32(5e-4) * w
    h = np.float32(0.9) * h + np.float32(0.01) * d
    assert updates.update(diff, data, [history], updates.sgd, (0.9, 0.01), 5e-4, 'L2')
    np.testing.assert_array_equal(history, h)
    np.testing.assert_array_equal(diff, h)
    np.testing.assert_array_equal(data, w - h)


@pytest.mark.parametrize('rule,histories,scalars', RULES, ids=[r[0].__name__ for r in RULES])
@pytest.mark.parametrize('decay,kind', [(0, 'L2'), (5e-4, 'L2'), (1e-3, 'L1')])
def test_update_equals_regularize_then_rule(rule, histories, scalars, decay, kind):
    diff, data, *hist = arrays(2 + histories)
    hist = [np.abs(h) for h in hist]
    ref = [a.copy() for a in [diff] + hist]
    if decay:
        updates.regularize(ref[0], data, decay, kind)
    rule(*ref, *scalars)
    weights = data - ref[0]
    assert updates.update(diff, data, hist, rule, scalars, decay, kind)
    for got, expected in zip([diff, data] + hist, [ref[0], weights] + ref[1:]):
        np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize('value,finite', [(np.nan, False), (np.inf, False), (-np.inf, False),
                                          (1e30, True)])
def test_update_reports_a_non_finite_step_in_any_piece(value, finite):
    diff, data, history = arrays(3)
    diff.reshape(-1)[-7] = value    # the last piece; 1e30 overflows the squares
    before = data.copy()
    assert updates.update(diff, data, [history], updates.sgd, (0.0, 1.0), 0, 'L2') == finite
    assert np.isfinite(data).all()
    # The first piece is applied either way; the last one only when finite.
    np.testing.assert_array_equal(data.reshape(-1)[:10], (before - diff).reshape(-1)[:10])
    assert (data.reshape(-1)[-7] == before.reshape(-1)[-7]) != finite


def test_finite_tells_overflowing_squares_from_infinities():
    big = np.full(10, 3e38, np.float32)
    assert divergence.finite(big)
    big[3] = np.inf
    assert not divergence.finite(big)
    assert not divergence.finite(np.array([1, np.nan], np.float32))


def test_update_refuses_a_strided_view():
    diff, data, history = arrays(3)
    with pytest.raises(ValueError, match='C-contiguous'):
        updates.update(diff[:, ::2], data[:, ::2], [history[:, ::2]], updates.sgd,
                       (0.9, 0.01), 0, 'L2')


def test_clear_zeroes_every_piece():
    diff, = arrays(1)
    updates.clear(diff)
    assert not diff.any()
