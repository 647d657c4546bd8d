"""DIGITS' solver rules against hand-worked cases: 1,000 training and 250
validation images at batch 64 for 30 epochs give 16 iterations an epoch."""
import math

import pytest

from caffelite.digits.solver import digits_solver, snapshot_epoch
from caffelite.errors import CaffeError


def solver(**form):
    args = dict(train_count=1000, val_count=250, train_batch=64, val_batch=64, train_epochs=30)
    args.update(form)
    return digits_solver(**args)


def test_epochs_become_iterations_and_intervals():
    s = solver()
    # ceil(1000/64) = 16 iterations an epoch, 30 epochs.
    assert s.max_iter == 480
    assert s.snapshot == 16 and s.test_interval == 16
    assert list(s.test_iter) == [4]          # ceil(250/64)
    # step policy: 33 % of 480 = 158.4 -> 159
    assert (s.lr_policy, s.stepsize, s.gamma) == ('step', 159, pytest.approx(0.1))
    assert s.base_lr == pytest.approx(0.01) and s.weight_decay == pytest.approx(0.0001)
    assert s.momentum == pytest.approx(0.9) and s.type == 'SGD'
    # display: min(floor(480 / (30 * 8)) = 2, ceil(5000 / 64) = 79)
    assert s.display == 2
    assert (s.net, s.snapshot_prefix) == ('train_val.prototxt', 'snapshot')
    assert not s.HasField('random_seed')


def test_batch_accumulation_counts_in_the_epoch():
    s = solver(batch_accumulation=2, train_epochs=3)
    assert s.iter_size == 2
    assert s.max_iter == 24                  # ceil(1000 / 128) = 8 per epoch
    assert s.display == 1                    # floor(24 / 24)


def test_short_and_long_intervals_round_like_digits():
    s = solver(snapshot_interval=0.01, val_interval=100)
    assert s.snapshot == 1                   # 0.16 iterations: never below 1
    assert s.test_interval == 480            # past the end: test once at the end
    s = solver(snapshot_interval=2.5, val_interval=0.5)
    assert (s.snapshot, s.test_interval) == (40, 8)
    assert solver(snapshot_interval=30).snapshot == 0    # = max_iter: only the final one


def test_no_validation_without_val_images():
    s = solver(val_count=0, val_batch=None)
    assert not len(s.test_iter) and not s.HasField('test_interval')


@pytest.mark.parametrize('policy, expected', [
    ({'policy': 'fixed'}, {}),
    ({'policy': 'multistep', 'stepvalue': '50,85', 'gamma': 0.5},
     {'stepvalue': [240, 408], 'gamma': 0.5}),
    ({'policy': 'exp', 'gamma': 0.95}, {'gamma': 0.95 ** (1 / 4.8)}),
    ({'policy': 'inv', 'gamma': 0.1, 'power': 0.5}, {'gamma': 0.1 / 4.8, 'power': 0.5}),
    ({'policy': 'poly', 'power': 3}, {'power': 3}),
    ({'policy': 'sigmoid', 'stepsize': 50, 'gamma': 0.1}, {'stepsize': 240, 'gamma': -0.1 / 4.8}),
])
def test_lr_policies_in_percent_of_training(policy, expected):
    s = solver(lr_policy=policy)
    assert s.lr_policy == policy['policy']
    for field, value in expected.items():
        got = list(getattr(s, field)) if field == 'stepvalue' else getattr(s, field)
        assert got == pytest.approx(value), field


@pytest.mark.parametrize('kind, type_name, momentum', [
    ('NESTEROV', 'Nesterov', 0.9), ('ADAGRAD', 'AdaGrad', 0), ('RMSPROP', 'RMSProp', 0),
    ('ADADELTA', 'AdaDelta', 0.9), ('ADAM', 'Adam', 0.9)])
def test_solver_types_and_momentum(kind, type_name, momentum):
    s = solver(solver_type=kind, learning_rate=0.5, random_seed=7)
    assert s.type == type_name and s.momentum == pytest.approx(momentum)
    assert s.weight_decay == pytest.approx(0.005) and s.random_seed == 7
    assert s.HasField('rms_decay') == (kind == 'RMSPROP')


def test_bad_choices_are_named():
    with pytest.raises(CaffeError, match='solver_type'):
        solver(solver_type='LBFGS')
    with pytest.raises(CaffeError, match='lr_policy'):
        solver(lr_policy={'policy': 'cosine'})


def test_snapshot_epochs():
    assert snapshot_epoch(16, 480, 30) == 1 and isinstance(snapshot_epoch(16, 480, 30), int)
    assert snapshot_epoch(8, 480, 30) == 0.5
    assert snapshot_epoch(1, 480, 30) == pytest.approx(0.062)
    assert math.isclose(snapshot_epoch(5, 21, 2), 0.476)
