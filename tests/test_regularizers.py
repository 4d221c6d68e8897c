"""Tests of the Omega regularizer of Pascanu et al. (2013)."""
import numpy as np
import pytest

from rnnlib import analysis
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.regularizers import omega


def _pass(rng, activation="tanh", N=3, T=7, D=2, H=5):
    x = rng.standard_normal((N, T, D))
    Wx, Wh = rng.standard_normal((D, H)), rng.standard_normal((H, H)) * 0.6
    b = rng.standard_normal(H) * 0.1
    h, caches = analysis.rnn_forward_steps(x, np.zeros((N, H)), Wx, Wh, b, activation)
    dh = np.zeros_like(h)
    dh[:, -1] = rng.standard_normal((N, H))
    dh_total = analysis.rnn_backward_steps(dh, caches)[5]
    return h, dh_total, Wh


def test_value_matches_the_definition(rng):
    h, v, Wh = _pass(rng)
    N, T, H = h.shape
    expected = 0.0
    for n in range(N):
        for k in range(1, T):           # transitions h_k -> h_{k+1}, 1-based k = 1..T-1
            J = np.diag(1 - h[n, k] ** 2) @ Wh.T            # dh_{k+1}/dh_k
            expected += (np.linalg.norm(v[n, k] @ J) / np.linalg.norm(v[n, k]) - 1) ** 2
    value, _ = omega(h, v, Wh)
    assert value == pytest.approx(expected / N, rel=1e-12)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gradient_matches_finite_differences_of_the_approximation(activation, rng):
    h, v, Wh = _pass(rng, activation)
    _, dWh = omega(h, v, Wh, activation)
    # h and the propagated errors v are held fixed: only the explicit Wh varies.
    num = numerical_gradient(lambda W: omega(h, v, W, activation)[0], Wh.copy())
    assert rel_error(dWh, num) < 1e-7


def test_norm_preserving_jacobians_give_zero(rng):
    H = 4
    Q = np.linalg.qr(rng.standard_normal((H, H)))[0]
    h = np.zeros((2, 5, H))                  # tanh'(0) = 1: Jacobian = Q^T, orthogonal
    v = rng.standard_normal((2, 5, H))
    value, dWh = omega(h, v, Q)
    assert value == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(dWh, 0.0, atol=1e-12)


def test_zero_errors_are_skipped(rng):
    h, v, Wh = _pass(rng)
    v[:, :-1] = 0.0                           # only the last error is non-zero
    value, dWh = omega(h, v, Wh)
    r = np.linalg.norm((v[:, -1] * (1 - h[:, -1] ** 2)) @ Wh.T, axis=1) / np.linalg.norm(v[:, -1], axis=1)
    assert value == pytest.approx(np.mean((r - 1) ** 2))
    assert np.all(np.isfinite(dWh))


def test_bad_shapes_raise(rng):
    h, v, Wh = _pass(rng)
    with pytest.raises(ValueError, match="dh_total must have shape"):
        omega(h, v[:, 1:], Wh)
    with pytest.raises(ValueError, match="Wh must have shape"):
        omega(h, v, Wh[:4])
    with pytest.raises(ValueError, match="activation"):
        omega(h, v, Wh, activation="sigmoid")
