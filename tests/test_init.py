"""Tests of rnnlib.init: statistical and algebraic properties of each initialiser."""
import numpy as np
import pytest

from rnnlib import init
from rnnlib.analysis import spectral_radius


def test_gaussian_has_requested_std(rng):
    W = init.gaussian((300, 200), 0.1, rng)
    assert W.shape == (300, 200)
    assert abs(W.std() - 0.1) < 0.002 and abs(W.mean()) < 0.002


@pytest.mark.parametrize("distribution", ["uniform", "normal"])
def test_glorot_variance_is_2_over_fan_sum(distribution, rng):
    W = init.glorot((400, 200), rng, distribution=distribution)
    assert abs(W.var() - 2 / 600) < 0.03 * 2 / 600
    if distribution == "uniform":
        assert np.abs(W).max() <= np.sqrt(6 / 600)


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal_is_orthogonal(gain, rng):
    W = init.orthogonal(40, rng, gain=gain)
    np.testing.assert_allclose(W.T @ W, gain ** 2 * np.eye(40), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), gain, rtol=1e-12)


def test_orthogonal_sign_fix_gives_haar_distribution():
    # Without the sign fix the diagonal of Q is biased towards positive values.
    diag = np.array([init.orthogonal(3, np.random.default_rng(s))[0, 0] for s in range(2000)])
    assert abs(diag.mean()) < 0.05


def test_identity():
    np.testing.assert_array_equal(init.identity(4, scale=0.5), 0.5 * np.eye(4))


def test_scale_to_spectral_radius(rng):
    W = rng.standard_normal((30, 30))
    V = init.scale_to_spectral_radius(W, 0.9)
    assert abs(spectral_radius(V) - 0.9) < 1e-12
    np.testing.assert_allclose(V / W, V[0, 0] / W[0, 0])     # a pure rescaling


def test_sparse_has_k_nonzeros_per_unit_and_radius(rng):
    W = init.sparse(50, 15, rng)
    assert np.all((W != 0).sum(axis=0) == 15)                # incoming weights per unit
    assert abs(spectral_radius(W) - 1.1) < 1e-12
    raw = init.sparse(50, 15, rng, spectral_radius=None, std=2.0)
    assert abs(raw[raw != 0].std() - 2.0) < 0.15


def test_rnn_params_schemes(rng):
    for scheme in init.RECURRENT_SCHEMES:
        p = init.rnn_params(3, 20, rng, scheme=scheme)
        assert p["Wx"].shape == (3, 20) and p["Wh"].shape == (20, 20)
        np.testing.assert_array_equal(p["b"], np.zeros(20))
    p = init.rnn_params(3, 20, rng, scheme="identity", input_std=0.001)
    np.testing.assert_array_equal(p["Wh"], np.eye(20))
    assert p["Wx"].std() < 0.002
    p = init.rnn_params(3, 20, rng, scheme="glorot", spectral_radius=0.8)
    assert abs(spectral_radius(p["Wh"]) - 0.8) < 1e-12
    p = init.rnn_params(3, 20, rng, scheme="sparse", k=5, spectral_radius=0.95)
    assert np.all((p["Wh"] != 0).sum(axis=0) == 5) and abs(spectral_radius(p["Wh"]) - 0.95) < 1e-12
    assert init.rnn_params(3, 4, rng, dtype=np.float32)["Wh"].dtype == np.float32


def test_lstm_params_forget_bias_and_orthogonal_blocks(rng):
    p = init.lstm_params(3, 8, rng, forget_bias=2.0)
    assert p["Wx"].shape == (3, 32) and p["Wh"].shape == (8, 32) and p["b"].shape == (32,)
    np.testing.assert_array_equal(p["b"][8:16], 2.0)
    np.testing.assert_array_equal(np.delete(p["b"], np.s_[8:16]), 0.0)
    for g in range(4):
        block = p["Wh"][:, 8 * g:8 * (g + 1)]
        np.testing.assert_allclose(block.T @ block, np.eye(8), atol=1e-12)


def test_gru_params_shapes(rng):
    p = init.gru_params(3, 8, rng, recurrent="glorot")
    assert {k: v.shape for k, v in p.items()} == {
        "Wx": (3, 24), "Wh": (8, 24), "b": (24,), "bhn": (8,)}


def test_initialisers_are_reproducible():
    a = init.rnn_params(3, 10, np.random.default_rng(1), scheme="sparse")
    b = init.rnn_params(3, 10, np.random.default_rng(1), scheme="sparse")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_bad_arguments_raise(rng):
    with pytest.raises(ValueError, match="Generator"):
        init.gaussian((2, 2), 0.1, 0)
    with pytest.raises(ValueError, match="std must be positive"):
        init.gaussian((2, 2), 0.0, rng)
    with pytest.raises(ValueError, match="shape must be a tuple"):
        init.glorot(3, rng)
    with pytest.raises(ValueError, match="distribution"):
        init.glorot((2, 2), rng, distribution="laplace")
    with pytest.raises(ValueError, match="n must be a positive integer"):
        init.orthogonal(0, rng)
    with pytest.raises(ValueError, match="k must be at most n=4"):
        init.sparse(4, 5, rng)
    with pytest.raises(ValueError, match="rho must be positive"):
        init.scale_to_spectral_radius(np.eye(3), -1.0)
    with pytest.raises(ValueError, match="spectral radius 0"):
        init.scale_to_spectral_radius(np.triu(np.ones((3, 3)), 1), 1.0)
    with pytest.raises(ValueError, match="scheme must be one of"):
        init.rnn_params(2, 3, rng, scheme="xavier")
    with pytest.raises(ValueError, match="recurrent must be one of"):
        init.lstm_params(2, 3, rng, recurrent="identity")
