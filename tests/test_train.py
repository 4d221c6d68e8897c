"""Tests of rnnlib.models and rnnlib.train (rnnlib.experiments: tests/test_experiments.py)."""

import numpy as np
import pytest

from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.models import SequenceModel
from rnnlib.optim import SGD, Adam
from rnnlib.tasks import get_task
from rnnlib.train import History, NonFiniteError, progress_enabled, train


@pytest.mark.parametrize("cell,task_name", [("rnn", "adding"), ("lstm", "temporal_order"),
                                            ("gru", "memorization")])
def test_model_gradients_match_finite_differences(cell, task_name, rng):
    task = get_task(task_name)
    model = SequenceModel.for_task(task, 4, rng, cell=cell)
    x, y, mask = task.sample(22 if task_name == "memorization" else 12, 3, rng)
    loss, grads, out, _ = model.loss_and_grads(model.params, x, y, mask)
    assert out.shape == (3, x.shape[1], task.output_size)
    np.testing.assert_allclose(model.predict(x), out)
    assert set(grads) == set(model.params)
    for k, p in model.params.items():
        num = numerical_gradient(lambda _: model.loss_and_grads(model.params, x, y, mask)[0], p)
        assert rel_error(grads[k], num) < 1e-6, k


def test_omega_weight_adds_omega_gradient_to_Wh(rng):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 5, rng)
    x, y, mask = task.sample(15, 4, rng)
    plain = model.loss_and_grads(model.params, x, y, mask)
    reg = model.loss_and_grads(model.params, x, y, mask, omega_weight=2.0)
    assert np.isnan(plain.omega) and reg.omega > 0 and reg.loss == plain.loss
    for k in ("Wx", "b", "Wy", "by"):
        np.testing.assert_allclose(reg.grads[k], plain.grads[k], rtol=1e-10, atol=1e-14)
    assert not np.allclose(reg.grads["Wh"], plain.grads["Wh"])
    with pytest.raises(ValueError, match="vanilla RNN"):
        SequenceModel.for_task(task, 5, rng, cell="lstm").loss_and_grads(
            model.params, x, y, mask, omega_weight=1.0)


def test_model_bad_arguments_raise(rng):
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceModel("elman", 2, 3, 1, "mse", rng)
    with pytest.raises(ValueError, match="loss must be one of"):
        SequenceModel("rnn", 2, 3, 1, "mae", rng)
    model = SequenceModel("gru", 2, 3, 1, "mse", rng)
    with pytest.raises(ValueError, match="lack"):
        model.predict(np.zeros((1, 4, 2)), params={"Wx": 0})
    assert "gru" in repr(model)


def test_training_solves_a_short_adding_problem(rng):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 16, rng, init={"scheme": "orthogonal"})
    hist = train(model, None, Adam(0.01), task, 600, T=10, batch_size=32, clip_norm=1.0,
                 eval_every=50, stop_on_success=True, rng=rng, progress=False)
    assert hist.solved_at is not None and hist.eval_success[-1]
    assert hist.steps == hist.solved_at                 # stopped early
    assert len(hist.grad_norm) == len(hist.clipped) == len(hist.time) == hist.steps
    assert np.mean(hist.loss[-20:]) < 0.2 * task.baseline_loss


def test_clip_norm_records_flag_and_norm_before_clipping(rng):
    task = get_task("temporal_order")
    model = SequenceModel.for_task(task, 8, rng)
    x, y, m = task.sample(20, 10, rng)
    norm0 = np.sqrt(sum((g ** 2).sum() for g in model.loss_and_grads(model.params, x, y, m)[1].values()))
    hist = train(model, None, SGD(0.1), (x, y, m), 1, clip_norm=norm0 / 2, batch_size=None,
                 progress=False)
    assert hist.clipped == [True] and hist.grad_norm[0] == pytest.approx(norm0)
    hist = train(model, None, SGD(0.1), (x, y, m), 1, clip_value=1e6, batch_size=None,
                 progress=False)
    assert hist.clipped == [False]


def test_clipped_update_has_bounded_length(rng):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 6, rng)
    before = {k: v.copy() for k, v in model.params.items()}
    train(model, None, SGD(1.0), task, 1, T=10, clip_norm=1e-3, rng=rng, progress=False)
    step = np.sqrt(sum(((model.params[k] - before[k]) ** 2).sum() for k in before))
    assert step == pytest.approx(1e-3, rel=1e-9)


def test_arrays_and_plain_loss_function(rng):
    def loss_and_grads(params, x, y, mask):          # least squares on a scalar
        r = params["w"] * x - y
        return float((r ** 2).mean()), {"w": np.array(2 * (r * x).mean())}, r
    x = rng.standard_normal((50, 1, 1))
    params = {"w": np.array(0.0)}
    hist = train(loss_and_grads, params, SGD(0.2), (x, 3 * x, np.ones((50, 1), bool)), 100,
                 batch_size=10, rng=rng, progress=False)
    assert params["w"] == pytest.approx(3.0, abs=1e-6)
    assert isinstance(hist, History) and hist.arrays()["loss"].shape == (100,)


def test_divergence_raises_naming_the_step(rng):
    def loss_and_grads(params, x, y, mask):          # a far too large step: w -> -1e20 w
        w = params["w"]
        return float(w ** 2), {"w": np.array(1e10 * w)}, x
    params = {"w": np.array(1.0)}                    # loss at step s is 1e(40 (s - 1))
    with pytest.raises(NonFiniteError, match="loss became inf at step 9") as info:
        train(loss_and_grads, params, SGD(1e10), (np.zeros((1, 1, 1)),) * 2 + (None,), 20,
              batch_size=None, progress=False)
    assert isinstance(info.value, FloatingPointError) and isinstance(info.value, ValueError)
    assert info.value.step == 9 and info.value.history.steps == 8   # 8 steps completed


def test_an_update_that_would_diverge_leaves_the_parameters_as_before_that_step():
    # loss w^2, gradient 2w: from w = 1, SGD(lr) multiplies w by (1 - 2 lr) = -1e300 at
    # step 1, fine, and overflows at step 2; the parameters must be those after step 1.
    def loss_and_grads(params, x, y, mask):
        w = params["w"]
        return float(np.sum(w * w)), {"w": 2 * w}, x
    params = {"w": np.array([1.0, -0.5])}
    opt = Adam(1e300)   # Adam's first step is lr * sign(g): w -> w - 1e300 sign(w)
    with pytest.raises(NonFiniteError, match="at step 2") as info:
        train(loss_and_grads, params, opt, (np.zeros((1, 1, 1)),) * 2 + (None,), 10,
              batch_size=None, progress=False)
    expected = np.array([1.0, -0.5]) - 1e300 * np.sign([1.0, -0.5])
    np.testing.assert_allclose(params["w"], expected, rtol=1e-6)
    assert np.all(np.isfinite(params["w"])) and opt.t == 1
    assert info.value.step == 2 and info.value.history.steps == 1


def test_sgd_update_is_all_or_nothing_across_keys():
    params = {"a": np.array([1.0]), "b": np.array([1.0])}
    grads = {"a": np.array([1.0]), "b": np.array([1e308])}
    with pytest.raises(NonFiniteError, match="'b' non-finite"):
        SGD(1e10).step(params, grads)
    assert params["a"][0] == 1.0 and params["b"][0] == 1.0     # 'a' was not written either


def test_nan_loss_raises_naming_the_step(rng):
    calls = []

    def loss_and_grads(params, x, y, mask):
        calls.append(1)
        loss = float("nan") if len(calls) == 37 else 1.0
        return loss, {"w": np.zeros(1)}, x
    with pytest.raises(NonFiniteError, match="loss became nan at step 37"):
        train(loss_and_grads, {"w": np.zeros(1)}, SGD(0.1), (np.zeros((1, 1, 1)),) * 3, 100,
              batch_size=None, progress=False)


def test_train_bad_arguments_raise(rng):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 4, rng)
    with pytest.raises(ValueError, match="at most one"):
        train(model, None, SGD(0.1), task, 5, T=10, clip_norm=1, clip_value=1, rng=rng)
    with pytest.raises(ValueError, match="sequence length T"):
        train(model, None, SGD(0.1), task, 5, rng=rng)
    with pytest.raises(ValueError, match="Generator"):
        train(model, None, SGD(0.1), task, 5, T=10)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train(model, None, SGD(0.1), task, 0, T=10, rng=rng)
    with pytest.raises(ValueError, match="eval_every needs data to be a Task"):
        train(model, None, SGD(0.1), task.sample(10, 4, rng), 5, eval_every=2, rng=rng)
    with pytest.raises(ValueError, match="loss_and_grads"):
        train(3, {}, SGD(0.1), task, 5, T=10, rng=rng)


def test_progress_switch(monkeypatch):
    monkeypatch.setenv("RNNLIB_PROGRESS", "0")
    assert not progress_enabled()
    assert progress_enabled(True)
    monkeypatch.setenv("RNNLIB_PROGRESS", "1")
    assert progress_enabled() and not progress_enabled(False)


def test_progress_bar_writes_to_stderr_only_when_enabled(rng, capsys):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 4, rng)
    train(model, None, SGD(0.01), task, 3, T=10, rng=rng, progress=True)
    assert "3/3" in capsys.readouterr().err
    train(model, None, SGD(0.01), task, 3, T=10, rng=rng, progress=False)
    assert capsys.readouterr().err == ""


def test_exploding_relu_network_stops_with_the_step(rng):
    task = get_task("adding")
    model = SequenceModel.for_task(task, 8, rng, activation="relu",
                                   init={"scheme": "identity", "gain": 60.0})
    with pytest.raises(NonFiniteError, match="at step 1"):
        train(model, None, SGD(0.1), task, 5, T=200, rng=rng, progress=False)


def test_a_layer_model_on_padded_data_reads_only_the_valid_steps():
    from rnnlib.layers import LSTM, Dense, Sequential
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 2))
    lengths = np.array([5, 3, 1])
    mask = np.arange(5) < lengths[:, None]
    y = rng.integers(0, 2, size=(3, 5))
    model = Sequential([LSTM(4, seed=0), Dense(2, seed=1)]).build((None, None, 2))
    junk = x.copy()
    junk[~mask] = 1e3                                 # padding must not matter
    from rnnlib.train import layer_objective
    f = layer_objective(model, "softmax")
    loss_a, grads_a, _ = f(None, x, y, mask)
    loss_b, grads_b, _ = f(None, junk, y, mask)
    assert loss_a == pytest.approx(loss_b, rel=1e-12)
    for k in grads_a:
        np.testing.assert_allclose(grads_a[k], grads_b[k], rtol=1e-10, atol=1e-14)
