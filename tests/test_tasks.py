"""Tests of rnnlib.tasks: shapes, definitions, success criteria, baselines, validation."""
import math

import numpy as np
import pytest

from rnnlib.tasks import TASKS, get_task


@pytest.mark.parametrize("name", sorted(TASKS))
def test_sample_shapes_dtypes_and_mask(name, rng):
    task = TASKS[name]
    x, y, mask = task.sample(40, 7, rng)
    assert x.shape == (7, 40, task.input_size) and x.dtype == np.float64
    assert mask.shape == (7, 40) and mask.dtype == bool
    if task.kind == "regression":
        assert y.shape == (7, 40, task.output_size) and y.dtype == np.float64
    else:
        assert y.shape == (7, 40) and np.issubdtype(y.dtype, np.integer)
        assert y[mask].min() >= 0 and y[mask].max() < task.output_size
    x32 = task.sample(40, 2, rng, dtype=np.float32)[0]
    assert x32.dtype == np.float32


@pytest.mark.parametrize("name", sorted(TASKS))
def test_sampling_is_reproducible_from_the_seed(name):
    a = TASKS[name].sample(30, 3, np.random.default_rng(5))
    b = TASKS[name].sample(30, 3, np.random.default_rng(5))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)


@pytest.mark.parametrize("name,combine", [("adding", lambda a, b: (a + b) / 2),
                                          ("multiplication", lambda a, b: a * b)])
def test_marked_value_tasks(name, combine, rng):
    T = 50
    x, y, mask = TASKS[name].sample(T, 200, rng)
    markers = x[:, :, 0]
    assert np.all(markers.sum(axis=1) == 2)
    pos = np.sort(np.argwhere(markers == 1)[:, 1].reshape(200, 2), axis=1)
    assert np.all(pos[:, 0] < T // 10) and np.all((pos[:, 1] >= T // 10) & (pos[:, 1] < T // 2))
    vals = x[np.arange(200)[:, None], pos, 1]
    np.testing.assert_allclose(y[:, -1, 0], combine(vals[:, 0], vals[:, 1]))
    assert np.all(mask[:, -1]) and mask.sum() == 200


@pytest.mark.parametrize("name,windows", [("temporal_order", [(0.1, 0.2), (0.5, 0.6)]),
                                          ("temporal_order_3bit",
                                           [(0.1, 0.2), (0.3, 0.4), (0.6, 0.7)])])
def test_temporal_order_symbols_and_labels(name, windows, rng):
    T = 60
    x, y, mask = TASKS[name].sample(T, 100, rng)
    assert np.all(x.sum(axis=2) == 1)                  # one-hot
    sym = x.argmax(axis=2)
    for n in range(100):
        pos = np.flatnonzero(sym[n] < 2)
        assert len(pos) == len(windows)
        for p, (lo, hi) in zip(pos, windows):
            assert int(lo * T) <= p < int(hi * T)
        assert y[n, -1] == sum(int(sym[n, p]) << i for i, p in enumerate(pos))
    assert mask[:, -1].all() and mask.sum() == 100


def test_permutation_target_is_first_symbol(rng):
    x, y, mask = TASKS["permutation"].sample(20, 50, rng)
    sym = x.argmax(axis=2)
    assert np.all(sym[:, 0] < 2) and np.all(sym[:, 1:] >= 2)
    np.testing.assert_array_equal(y[:, -1], sym[:, 0])


def test_memorization_recalls_the_first_symbols_after_go(rng):
    T = 30
    x, y, mask = get_task("copy").sample(T, 10, rng)
    sym = x.argmax(axis=2)
    assert np.all(sym[:, T - 10] == 6)                  # go signal
    np.testing.assert_array_equal(y[:, -10:], sym[:, :10])
    assert np.all(mask[:, -10:]) and mask.sum() == 100
    assert np.all(sym[:, 10:T - 10] == 5) and np.all(sym[:, T - 9:] == 5)   # blanks


def _predict_targets(task, y, mask, noise=0.0):
    """Perfect predictions (one-hot scores or exact values), optionally perturbed."""
    if task.kind == "regression":
        return y + noise
    return np.eye(task.output_size)[y] * 5.0


@pytest.mark.parametrize("name", sorted(TASKS))
def test_perfect_predictions_succeed(name, rng):
    task = TASKS[name]
    x, y, mask = task.sample(30, 50, rng)
    pred = _predict_targets(task, y, mask)
    assert task.error_rate(pred, y, mask) == 0.0
    assert task.success(pred, y, mask)


def test_regression_tolerance_is_squared_error_004(rng):
    task = TASKS["adding"]
    x, y, mask = task.sample(30, 4, rng)
    assert not task.errors(y + 0.19, y, mask).any()      # 0.19^2 < 0.04
    assert task.errors(y + 0.21, y, mask).all()
    # Hochreiter & Schmidhuber's absolute error 0.04 is a squared tolerance 0.04^2
    assert task.errors(y + 0.05, y, mask, tolerance=0.04 ** 2).all()


def test_success_needs_fewer_than_one_percent_errors(rng):
    task = TASKS["temporal_order"]
    x, y, mask = task.sample(30, 200, rng)
    pred = _predict_targets(task, y, mask)
    wrong = np.roll(pred, 1, axis=2)
    pred[:2] = wrong[:2]                                 # 2 of 200 = 1%: not < 1%
    assert task.error_rate(pred, y, mask) == 0.01
    assert not task.success(pred, y, mask)
    pred[1] = _predict_targets(task, y, mask)[1]         # 0.5%
    assert task.success(pred, y, mask)


def test_classification_errors_ignore_unmasked_steps(rng):
    task = TASKS["memorization"]
    x, y, mask = task.sample(25, 5, rng)
    pred = _predict_targets(task, y, mask)
    pred[:, :5] = np.roll(pred[:, :5], 1, axis=2)        # garbage where no target
    assert task.error_rate(pred, y, mask) == 0.0
    pred[0, -1] = np.roll(pred[0, -1], 1)
    np.testing.assert_array_equal(task.errors(pred, y, mask), [True, False, False, False, False])


@pytest.mark.parametrize("name", ["adding", "multiplication"])
def test_regression_baselines_match_monte_carlo(name, rng):
    task = TASKS[name]
    x, y, mask = task.sample(20, 200_000, rng)
    target = y[:, -1, 0]
    assert abs(target.var() - task.baseline_loss) < 0.002
    mean = 0.5 if name == "adding" else 0.25
    pred = np.where(mask[..., None], mean, 0.0)
    assert abs(task.error_rate(pred, y, mask) - task.baseline_error) < 0.005


@pytest.mark.parametrize("name", ["temporal_order", "temporal_order_3bit", "permutation",
                                  "memorization", "selective_copy"])
def test_classification_baselines_match_uniform_guessing(name, rng):
    task = TASKS[name]
    x, y, mask = task.sample(30, 20_000, rng)
    counts = np.bincount(y[mask], minlength=task.output_size) / mask.sum()
    nonzero = counts[counts > 0]
    entropy = -(nonzero * np.log(nonzero)).sum() * mask.sum(axis=1).mean()
    assert abs(entropy - task.baseline_loss) < 0.01 * task.baseline_loss
    k = len(nonzero)
    assert math.isclose(task.baseline_error, 1 - k ** -int(mask[0].sum()))


@pytest.mark.parametrize("name", sorted(TASKS))
def test_too_short_sequences_raise(name, rng):
    task = TASKS[name]
    with pytest.raises(ValueError, match=f"T >= {task.min_length}"):
        task.sample(task.min_length - 1, 3, rng)
    task.sample(task.min_length, 3, rng)


@pytest.mark.parametrize("T,batch", [(0, 3), (30, 0), (30, -2), (30.0, 3), (True, 3)])
def test_non_positive_sizes_raise(T, batch, rng):
    with pytest.raises(ValueError, match="positive integer"):
        TASKS["adding"].sample(T, batch, rng)


def test_bad_rng_and_unknown_name_raise():
    with pytest.raises(ValueError, match="Generator"):
        TASKS["adding"].sample(30, 2, 0)
    with pytest.raises(ValueError, match="adding.*temporal_order"):
        get_task("adition")
    with pytest.raises(ValueError, match="string"):
        get_task(3)


def test_prediction_shape_is_checked(rng):
    task = TASKS["temporal_order"]
    x, y, mask = task.sample(30, 4, rng)
    with pytest.raises(ValueError, match=r"\(N, T, 4\)"):
        task.error_rate(np.zeros((4, 30, 3)), y, mask)


def test_selective_copy_recalls_the_scattered_symbols_in_order(rng):
    T, N, L = 35, 200, 10
    task = get_task("selective_copy")
    x, y, mask = task.sample(T, N, rng)
    assert np.all(x.sum(axis=2) == 1)                   # one-hot
    sym = x.argmax(axis=2)
    assert np.all(sym[:, T - L] == 6) and np.all(sym[:, T - L + 1:] == 5)   # go, blanks
    assert np.all(mask[:, T - L:]) and mask.sum() == N * L
    first = sym[:, :T - L]
    assert np.all((first < 5).sum(axis=1) == L) and not np.any(first == 6)
    positions = [np.flatnonzero(row < 5) for row in first]
    for n in range(N):
        np.testing.assert_array_equal(y[n, T - L:], first[n, positions[n]])
    # The positions are drawn anew for each sequence, all of them reachable, and not
    # those of the plain copy task (the first L steps).
    assert len({tuple(p) for p in positions}) > N // 2
    assert np.bincount(np.concatenate(positions), minlength=T - L).min() > 0
    # At the minimal length, T = 2L + 1, one of the first L + 1 steps is blank.
    xs = task.sample(2 * L + 1, 50, rng)[0].argmax(axis=2)
    assert np.all((xs[:, :L + 1] == 5).sum(axis=1) == 1) and np.all(xs[:, L + 1] == 6)


def test_selective_copy_positions_are_uniform(rng):
    # Each of the T - L positions holds a symbol with probability L / (T - L).
    T, L = 30, 10
    x = get_task("selective_copy").sample(T, 20_000, rng)[0]
    frequency = (x[:, :T - L, :5].sum(axis=2)).mean(axis=0)
    assert np.all(np.abs(frequency - L / (T - L)) < 0.015)
