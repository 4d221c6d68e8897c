"""rnnlib.batched: S models as one stack give each model's numbers of a run alone.

References: rnnlib.rnn's sequence functions for each model separately, and
rnnlib.train.train / rnnlib.experiments.run_config for each seed separately (float64,
the same data drawn from the same generators).
"""
from dataclasses import replace

import numpy as np
import pytest

from rnnlib import batched
from rnnlib.experiments import EXPERIMENTS, run_config
from rnnlib.models import SequenceModel
from rnnlib.optim import SGD, Adam
from rnnlib.rnn import rnn_backward, rnn_forward
from rnnlib.tasks import get_task
from rnnlib.train import NonFiniteError, train

TOL = 1e-10


def stack_case(S=3, N=4, T=7, D=3, H=5, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((S, N, T, D)), 0.3 * rng.standard_normal((S, N, H)),
            0.5 * rng.standard_normal((S, D, H)), 0.4 * rng.standard_normal((S, H, H)),
            0.1 * rng.standard_normal((S, H)), rng.standard_normal((S, N, T, H)))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_stack_forward_and_backward_equal_each_model_alone(activation):
    x, h0, Wx, Wh, b, dh = stack_case()
    h, cache = batched.rnn_forward_stack(x, h0, Wx, Wh, b, activation)
    grads = batched.rnn_backward_stack(dh, cache)
    for s in range(x.shape[0]):
        h_s, cache_s = rnn_forward(x[s], h0[s], Wx[s], Wh[s], b[s], activation)
        np.testing.assert_allclose(h[s], h_s, rtol=0, atol=TOL)
        for name, g, g_s in zip(("dx", "dh0", "dWx", "dWh", "db"), grads,
                                rnn_backward(dh[s], cache_s)):
            np.testing.assert_allclose(g[s], g_s, rtol=0, atol=TOL, err_msg=f"{name}, model {s}")


def single_run(task, seed, steps, T, H, cfg, batch_size, eval_every, stop, eval_size=40):
    rng = np.random.default_rng(seed)
    model = SequenceModel.for_task(task, H, rng, activation=cfg["activation"], init=cfg["init"])
    opt = Adam(cfg["lr"]) if cfg["optimizer"] == "adam" else SGD(cfg["lr"])
    try:
        hist = train(model, None, opt, task, steps, T=T, batch_size=batch_size,
                     clip_norm=cfg["clip_norm"], eval_every=eval_every, eval_size=eval_size,
                     stop_on_success=stop, rng=rng, progress=False)
        diverged = False
    except NonFiniteError as err:
        hist, diverged = err.history, True
    return model.params, hist, diverged


CASES = {
    "temporal order, Adam, clip": ("temporal_order", 12, dict(
        activation="tanh", init={"scheme": "orthogonal"}, optimizer="adam", lr=0.01,
        clip_norm=1.0)),
    "temporal order, SGD, sparse": ("temporal_order", 12, dict(
        activation="tanh", init={"scheme": "sparse", "k": 3, "spectral_radius": 0.95},
        optimizer="sgd", lr=0.5, clip_norm=None)),
    "adding, relu, Adam": ("adding", 15, dict(
        activation="relu", init={"scheme": "identity", "input_std": 0.001}, optimizer="adam",
        lr=1e-3, clip_norm=1.0)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_train_seeds_equals_each_seed_trained_alone(case):
    task_name, T, cfg = CASES[case]
    task, seeds, steps, H = get_task(task_name), [3, 0, 7], 25, 8
    runs = batched.train_seeds(task, seeds, steps, T=T, hidden_size=H, batch_size=6,
                               eval_every=10, eval_size=40, **cfg)
    assert len(runs) == len(seeds)
    for seed, run in zip(seeds, runs):
        params, hist, diverged = single_run(task, seed, steps, T, H, cfg, 6, 10, False)
        assert run["diverged"] is diverged is False
        for k in params:
            np.testing.assert_allclose(run["params"][k], params[k], rtol=0, atol=TOL,
                                       err_msg=f"{k}, seed {seed}")
        np.testing.assert_allclose(run["history"].loss, hist.loss, rtol=TOL, atol=0)
        np.testing.assert_allclose(run["history"].grad_norm, hist.grad_norm, rtol=TOL, atol=0)
        assert run["history"].clipped == hist.clipped
        assert run["history"].eval_step == hist.eval_step == [10, 20, 25]
        assert run["history"].eval_error == hist.eval_error


def test_a_diverging_seed_leaves_the_stack_with_the_parameters_before_its_step():
    # SGD at a huge learning rate without clipping: the runs blow up at different steps.
    task, seeds, steps, T, H = get_task("temporal_order"), [4, 0, 5, 1], 60, 12, 8
    cfg = dict(activation="relu", init={"scheme": "gaussian", "std": 1.0},
               optimizer="sgd", lr=30.0, clip_norm=None)
    runs = batched.train_seeds(task, seeds, steps, T=T, hidden_size=H, batch_size=6, **cfg)
    singles = [single_run(task, s, steps, T, H, cfg, 6, None, False) for s in seeds]
    assert [d for _, _, d in singles] == [True, False, True, False], "the case needs both"
    for seed, run, (params, hist, diverged) in zip(seeds, runs, singles):
        assert run["diverged"] is diverged, f"seed {seed}"
        assert run["history"].steps == hist.steps
        for k in params:
            np.testing.assert_allclose(run["params"][k], params[k], rtol=1e-9, atol=TOL)


def test_run_config_seeds_stops_each_seed_as_run_config_does():
    exp = EXPERIMENTS["init"]
    config = exp.configs["orthogonal"]
    steps, T = 30, 10
    exp_small = type(exp)(exp.description, exp.task, exp.T, 8, exp.configs, batch_size=10,
                          eval_every=5)
    got = batched.run_config_seeds(exp_small, config, [0, 1], steps, T=T)
    for seed, res in zip([0, 1], got):
        ref = run_config(exp_small, config, seed, steps, T=T, progress=False)
        for key in ("solved_at", "diverged", "error"):
            assert res[key] == ref[key], (key, seed)
        assert res["loss"] == pytest.approx(ref["loss"], rel=TOL)
        assert res["history"].steps == ref["history"].steps


def test_run_config_seeds_refuses_what_it_does_not_run():
    exp = EXPERIMENTS["adding"]
    with pytest.raises(ValueError, match="vanilla-RNN"):
        batched.run_config_seeds(exp, exp.configs["GRU"], [0], 10)
    clip = EXPERIMENTS["clipping"]
    with pytest.raises(ValueError, match="Omega"):
        batched.run_config_seeds(clip, clip.configs["SGD + clip + Omega"], [0], 10)
    # an experiment with its own success rule (Hochreiter & Schmidhuber's tolerance)
    strict = replace(clip, tolerance=0.04 ** 2)
    with pytest.raises(ValueError, match="success rule"):
        batched.run_config_seeds(strict, strict.configs["SGD"], [0], 10)


@pytest.mark.parametrize("bad, match", [
    (dict(seeds=[1, 1]), "distinct"), (dict(seeds=[]), "non-empty"),
    (dict(seeds=[-1]), "seeds\\[0\\]"), (dict(seeds="01"), "seeds"),
    (dict(optimizer="rmsprop"), "optimizer"), (dict(stop_on_success=True), "eval_every"),
    (dict(T=3), "T"),
])
def test_train_seeds_refuses_bad_arguments(bad, match):
    kwargs = dict(seeds=[0, 1], T=12, hidden_size=4)
    kwargs.update(bad)
    seeds = kwargs.pop("seeds")
    with pytest.raises(ValueError, match=match):
        batched.train_seeds(get_task("temporal_order"), seeds, 2, **kwargs)


def test_stack_functions_refuse_mismatched_shapes():
    x, h0, Wx, Wh, b, dh = stack_case()
    with pytest.raises(ValueError, match="Wx"):
        batched.rnn_forward_stack(x, h0, Wx[:2], Wh, b)
    with pytest.raises(ValueError, match="h0"):
        batched.rnn_forward_stack(x, h0[:, :2], Wx, Wh, b)
    _, cache = batched.rnn_forward_stack(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match="dh"):
        batched.rnn_backward_stack(dh[:, :, :3], cache)


class EasyTemporalOrder(type(get_task("temporal_order"))):
    """The temporal order task with a criterion some seeds meet within a few steps."""

    def success(self, predictions, targets, mask, **kwargs):
        return self.error_rate(predictions, targets, mask) < 0.62


def test_a_seed_that_succeeds_leaves_the_stack_at_that_evaluation():
    base = get_task("temporal_order")
    task = EasyTemporalOrder(**{f: getattr(base, f) for f in base.__dataclass_fields__})
    name, T, cfg = CASES["temporal order, Adam, clip"]
    seeds, steps, H = [0, 1, 2, 3, 4, 5], 40, 8
    runs = batched.train_seeds(task, seeds, steps, T=T, hidden_size=H, batch_size=6,
                               eval_every=5, eval_size=40, stop_on_success=True, **cfg)
    stopped = []
    for seed, run in zip(seeds, runs):
        params, hist, _ = single_run(task, seed, steps, T, H, cfg, 6, 5, True)
        assert run["history"].solved_at == hist.solved_at
        assert run["history"].steps == hist.steps
        assert run["history"].eval_error == hist.eval_error
        for k in params:
            np.testing.assert_allclose(run["params"][k], params[k], rtol=0, atol=TOL)
        stopped.append(hist.steps < steps)
    assert any(stopped) and not all(stopped), f"the case needs both kinds of seed: {stopped}"


# --- scratch arrays (rnnlib.gates._scratch), which the stack and the cells share --------

def _cell_case(model, seed, N=3, T=6, D=2, H=4):
    rng = np.random.default_rng(seed)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[model]
    args = [rng.standard_normal((N, T, D)), 0.3 * rng.standard_normal((N, H)),
            0.4 * rng.standard_normal((D, G * H)), 0.4 * rng.standard_normal((H, G * H)),
            0.1 * rng.standard_normal(G * H)]
    if model == "gru":
        args.append(0.1 * rng.standard_normal(H))
    return args, rng.standard_normal((N, T, H))


def _arrays(obj):
    if isinstance(obj, np.ndarray):
        return [obj]
    if isinstance(obj, (tuple, list)):
        return [a for item in obj for a in _arrays(item)]
    return []


@pytest.mark.parametrize("model", ["rnn", "lstm", "gru"])
def test_scratch_arrays_never_leave_a_call(model):
    import rnnlib
    from rnnlib import gates
    forward, backward = getattr(rnnlib, f"{model}_forward"), getattr(rnnlib, f"{model}_backward")
    (args_a, dh_a), (args_b, dh_b) = _cell_case(model, 1), _cell_case(model, 2)
    # Two forward passes before their backward passes (an encoder and a decoder), each
    # against the same pass run alone on fresh arguments.
    h_a, cache_a = forward(*args_a)
    h_b, cache_b = forward(*args_b)
    grads_a, grads_b = backward(dh_a, cache_a), backward(dh_b, cache_b)
    for args, dh, h, grads in ((args_a, dh_a, h_a, grads_a), (args_b, dh_b, h_b, grads_b)):
        h_ref, cache_ref = forward(*args)
        np.testing.assert_array_equal(h, h_ref)
        for g, g_ref in zip(grads, backward(dh, cache_ref)):
            np.testing.assert_array_equal(g, g_ref)
    pool = list(gates._SCRATCH.arrays.values())
    assert pool, "the sequence functions use scratch arrays"
    for out in _arrays((h_a, cache_a, grads_a, h_b, cache_b, grads_b)):
        assert not any(np.shares_memory(out, s) for s in pool)


def test_stack_results_do_not_share_memory_with_scratch_arrays():
    from rnnlib import gates
    x, h0, Wx, Wh, b, dh = stack_case()
    h, cache = batched.rnn_forward_stack(x, h0, Wx, Wh, b)
    grads = batched.rnn_backward_stack(dh, cache)
    batched.train_seeds(get_task("temporal_order"), [0, 1], 2, T=10, hidden_size=4)
    pool = list(gates._SCRATCH.arrays.values())
    for out in _arrays((h, cache, grads)):
        assert not any(np.shares_memory(out, s) for s in pool)
