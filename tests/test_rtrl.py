"""Real-time recurrent learning: same weight gradients as BPTT, online, with known cost."""
import numpy as np
import pytest

import rnnlib
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.rtrl import rtrl_cost, rtrl_gradients


def random_problem(rng, N, T, D, H, dtype=np.float64):
    x = rng.standard_normal((N, T, D))
    h0 = rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, H)) * 0.5
    Wh = rng.standard_normal((H, H)) * 0.4
    b = rng.standard_normal(H) * 0.2
    dh = rng.standard_normal((N, T, H))
    return [a.astype(dtype) for a in (x, h0, Wx, Wh, b, dh)]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("N", [1, 3])
def test_rtrl_matches_bptt_weight_gradients(rng, activation, N):
    for T, D, H in [(1, 2, 3), (7, 3, 4), (12, 1, 5)]:
        x, h0, Wx, Wh, b, dh = random_problem(rng, N, T, D, H)
        _, cache = rnnlib.rnn_forward(x, h0, Wx, Wh, b, activation)
        _, _, dWx, dWh, db = rnnlib.rnn_backward(dh, cache)
        got = rtrl_gradients(x, h0, Wx, Wh, b, dh, activation)
        for name, g, want in zip(("dWx", "dWh", "db"), got, (dWx, dWh, db)):
            assert np.abs(g - want).max() < 1e-10, (
                f"{name} ({activation}, N={N}, T={T}): RTRL differs from BPTT by "
                f"{np.abs(g - want).max():.2e}")


def test_rtrl_online_loss_matches_finite_differences(rng):
    """A callable injects dL/dh_t of a readout loss computed from the current state
    only; the result is checked against centered differences of that loss."""
    N, T, D, H, M = 2, 6, 3, 4, 2
    x, h0, Wx, Wh, b, _ = random_problem(rng, N, T, D, H)
    Why = rng.standard_normal((H, M))
    target = rng.standard_normal((N, T, M))

    def loss(Wx, Wh, b):
        h, _ = rnnlib.rnn_forward(x, h0, Wx, Wh, b)
        return 0.5 * np.sum((h @ Why - target) ** 2)

    def dloss_dh(t, h_t):
        return (h_t @ Why - target[:, t]) @ Why.T

    got = rtrl_gradients(x, h0, Wx, Wh, b, dloss_dh)
    want = (numerical_gradient(lambda W: loss(W, Wh, b), Wx),
            numerical_gradient(lambda W: loss(Wx, W, b), Wh),
            numerical_gradient(lambda v: loss(Wx, Wh, v), b))
    for name, g, w in zip(("dWx", "dWh", "db"), got, want):
        assert rel_error(g, w) < 1e-8, f"{name}: relative error {rel_error(g, w):.2e}"


def test_rtrl_callable_sees_the_states_of_the_forward_pass(rng):
    x, h0, Wx, Wh, b, dh = random_problem(rng, 2, 5, 3, 4)
    h, _ = rnnlib.rnn_forward(x, h0, Wx, Wh, b)
    seen = []

    def inject(t, h_t):
        seen.append(h_t.copy())
        return dh[:, t]

    from_callable = rtrl_gradients(x, h0, Wx, Wh, b, inject)
    from_array = rtrl_gradients(x, h0, Wx, Wh, b, dh)
    np.testing.assert_allclose(np.stack(seen, axis=1), h, rtol=0, atol=1e-14)
    for g, w in zip(from_callable, from_array):
        np.testing.assert_array_equal(g, w)


def test_rtrl_preserves_float32(rng):
    args = random_problem(rng, 2, 4, 3, 4, dtype=np.float32)
    grads = rtrl_gradients(*args)
    assert all(g.dtype == np.float32 for g in grads)
    ref = rtrl_gradients(*[a.astype(np.float64) for a in args])
    for g, w in zip(grads, ref):
        assert rel_error(g, w) < 1e-5


def test_rtrl_cost_counts_by_hand():
    # D = 1, H = 2: P = 2 * (1 + 2 + 1) = 8 weights, 16 sensitivities.
    cost = rtrl_cost(1, 2, 10)
    assert cost["n_weights"] == 8
    assert cost["rtrl_memory"] == 8 * 2 + 2
    assert cost["rtrl_flops_per_step"] == 2 * 3 + 8 * 2 * 2 + 8 * 2
    assert cost["bptt_flops_per_step"] == 2 * 3 + 2 * 2 + 8
    assert cost["bptt_memory"] == 11 * 2


def test_rtrl_cost_scales_as_h4_against_h2():
    small, large = rtrl_cost(4, 64, 50), rtrl_cost(4, 128, 50)
    assert 15 < large["rtrl_flops_per_step"] / small["rtrl_flops_per_step"] <= 16
    assert 3.5 < large["bptt_flops_per_step"] / small["bptt_flops_per_step"] <= 4
    assert rtrl_cost(4, 8, 10)["bptt_memory"] < rtrl_cost(4, 8, 1000)["bptt_memory"]
    assert rtrl_cost(4, 8, 10)["rtrl_memory"] == rtrl_cost(4, 8, 1000)["rtrl_memory"]


def test_rtrl_rejects_bad_inputs(rng):
    x, h0, Wx, Wh, b, dh = random_problem(rng, 2, 4, 3, 5)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 4, 5\)"):
        rtrl_gradients(x, h0, Wx, Wh, b, dh[:, :3])
    with pytest.raises(ValueError, match="dh must be an array .* or a callable"):
        rtrl_gradients(x, h0, Wx, Wh, b, [[0.0]])
    with pytest.raises(ValueError, match=r"dh at step 0 must have shape \(2, 5\)"):
        rtrl_gradients(x, h0, Wx, Wh, b, lambda t, h_t: np.zeros(5))
    with pytest.raises(ValueError, match="dh has dtype float32"):
        rtrl_gradients(x, h0, Wx, Wh, b, dh.astype(np.float32))
    with pytest.raises(ValueError, match="activation must be one of"):
        rtrl_gradients(x, h0, Wx, Wh, b, dh, activation="sigmoid")
    with pytest.raises(ValueError, match=r"Wh must have shape \(5, 5\)"):
        rtrl_gradients(x, h0, Wx, Wh[:4, :4], b, dh)
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        rtrl_gradients(x[0], h0, Wx, Wh, b, dh)
    for bad in (0, -1, 2.5):
        with pytest.raises(ValueError, match="H must be a positive integer"):
            rtrl_cost(3, bad, 10)
