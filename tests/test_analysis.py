"""Tests of rnnlib.analysis against closed forms and finite differences."""
import numpy as np
import pytest

import rnnlib
from rnnlib import analysis
from rnnlib.gradcheck import numerical_gradient, rel_error


def _rnn(rng, N=3, T=6, D=4, H=5, scale=0.5):
    return (rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.1,
            rng.standard_normal((D, H)) * scale, rng.standard_normal((H, H)) * scale,
            rng.standard_normal(H) * 0.1)


def test_spectral_radius_closed_form():
    R = np.array([[0.0, -2.0], [2.0, 0.0]])            # eigenvalues +-2i
    assert analysis.spectral_radius(R) == pytest.approx(2.0)
    assert analysis.spectral_radius(np.diag([0.3, -0.7, 0.1])) == pytest.approx(0.7)
    with pytest.raises(ValueError, match="square"):
        analysis.spectral_radius(np.ones((2, 3)))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_step_passes_match_core_sequence_functions(activation, rng):
    x, h0, Wx, Wh, b = _rnn(rng)
    h, caches = analysis.rnn_forward_steps(x, h0, Wx, Wh, b, activation)
    h_ref, cache = rnnlib.rnn_forward(x, h0, Wx, Wh, b, activation)
    np.testing.assert_allclose(h, h_ref, rtol=1e-12, atol=1e-14)
    dh = rng.standard_normal(h.shape)
    got = analysis.rnn_backward_steps(dh, caches)
    for g, r in zip(got[:5], rnnlib.rnn_backward(dh, cache)):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


def test_total_hidden_errors_match_finite_differences(rng):
    x, h0, Wx, Wh, b = _rnn(rng, T=5)
    dh = rng.standard_normal((3, 5, 5))
    h, caches = analysis.rnn_forward_steps(x, h0, Wx, Wh, b)
    dh_total = analysis.rnn_backward_steps(dh, caches)[5]
    t = 2   # perturb h_t and rerun the rest of the sequence from there

    def loss(ht):
        rest, _ = rnnlib.rnn_forward(x[:, t + 1:], ht, Wx, Wh, b)
        return np.sum(dh[:, t] * ht) + np.sum(dh[:, t + 1:] * rest)
    num = numerical_gradient(loss, h[:, t].copy())
    assert rel_error(dh_total[:, t], num) < 1e-8


def test_hidden_gradient_norms_match_finite_differences(rng):
    x, h0, Wx, Wh, b = _rnn(rng, N=2, T=6)
    dout = rng.standard_normal((2, 5))
    norms = analysis.hidden_gradient_norms(x, h0, Wx, Wh, b, dout)
    assert norms.shape == (7,)
    assert norms[-1] == pytest.approx(np.linalg.norm(dout))
    num = numerical_gradient(
        lambda h: np.sum(dout * rnnlib.rnn_forward(x, h, Wx, Wh, b)[0][:, -1]), h0.copy())
    assert norms[0] == pytest.approx(np.linalg.norm(num), rel=1e-7)


def test_hidden_gradients_vanish_for_a_contracting_network(rng):
    x, h0, Wx, Wh, b = _rnn(rng, T=40)
    Wh = 0.5 * Wh / np.linalg.norm(Wh, 2)
    norms = analysis.hidden_gradient_norms(x, h0, Wx, Wh, b, np.ones((3, 5)))
    assert np.all(np.diff(norms) > 0)                   # shrink going back in time
    assert norms[0] < 0.5 ** 40 * norms[-1] * 1.0001


def test_jacobian_products_of_a_linear_relu_rnn_are_powers_of_Wh_transposed(rng):
    # Positive weights, inputs and state keep every ReLU in its linear regime.
    H, T = 4, 6
    Wh = rng.uniform(0.05, 0.3, (H, H))
    x = rng.uniform(0.1, 1.0, (1, T, 2))
    h, _ = rnnlib.rnn_forward(x, np.full((1, H), 0.1), rng.uniform(0.1, 1, (2, H)), Wh,
                              np.zeros(H), activation="relu")
    res = analysis.jacobian_products(h[0], Wh, activation="relu")
    for t in range(1, T + 1):
        expected = np.linalg.matrix_power(Wh.T, t)
        np.testing.assert_allclose(res.products[t - 1], expected, rtol=1e-12)
        assert res.sigma_max[t - 1] == pytest.approx(np.linalg.norm(expected, 2))
        assert res.frobenius[t - 1] == pytest.approx(np.linalg.norm(expected))


def test_jacobian_products_match_finite_differences(rng):
    x, h0, Wx, Wh, b = _rnn(rng, N=1, T=5, H=4)
    h, _ = rnnlib.rnn_forward(x, h0, Wx, Wh, b)
    P = analysis.jacobian_products(h[0], Wh).products[-1]    # dh_T / dh_0
    for a in range(4):
        row = numerical_gradient(lambda h0_: rnnlib.rnn_forward(x, h0_, Wx, Wh, b)[0][0, -1, a],
                                 h0.copy())
        assert rel_error(P[a], row[0]) < 1e-8


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_bound_holds_along_trajectories(activation, rng):
    x, h0, Wx, Wh, b = _rnn(rng, N=1, T=30, H=6, scale=0.8)
    h, _ = rnnlib.rnn_forward(x, h0, Wx, Wh, b, activation)
    res = analysis.jacobian_products(h[0], Wh, activation)
    bound = analysis.jacobian_product_bound(Wh, activation, np.arange(1, 31))
    assert bound.shape == (30,)
    assert np.all(res.sigma_max <= bound * (1 + 1e-10))
    s = np.linalg.norm(Wh, 2)
    assert analysis.jacobian_product_bound(Wh, activation, 3) == pytest.approx(s ** 3)


def test_bad_arguments_raise(rng):
    x, h0, Wx, Wh, b = _rnn(rng)
    with pytest.raises(ValueError, match="activation must be one of"):
        analysis.jacobian_products(np.ones((3, 5)), Wh, activation="sigmoid")
    with pytest.raises(ValueError, match="Wh must have shape"):
        analysis.jacobian_products(np.ones((3, 4)), Wh)
    with pytest.raises(ValueError, match="dout must have shape"):
        analysis.hidden_gradient_norms(x, h0, Wx, Wh, b, np.ones((3, 4)))
    with pytest.raises(ValueError, match="steps must be (a )?non-negative"):
        analysis.jacobian_product_bound(Wh, "tanh", -1)
