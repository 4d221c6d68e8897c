"""Tests of the gated-cell gradient norms of rnnlib.analysis against finite differences."""
import numpy as np
import pytest

import rnnlib
from rnnlib import analysis
from rnnlib.gradcheck import numerical_gradient


def _params(rng, gates, N=2, T=5, D=3, H=4):
    return (rng.standard_normal((N, T, D)), 0.3 * rng.standard_normal((N, H)),
            0.5 * rng.standard_normal((D, gates * H)), 0.5 * rng.standard_normal((H, gates * H)),
            0.3 * rng.standard_normal(gates * H), rng.standard_normal((N, H)))


def test_lstm_gradient_norms_match_finite_differences(rng):
    x, h0, Wx, Wh, b, dout = _params(rng, 4)
    c0 = 0.3 * rng.standard_normal(h0.shape)
    got = analysis.lstm_gradient_norms(x, h0, Wx, Wh, b, dout, c0=c0)
    N, T, _ = x.shape
    H = h0.shape[1]
    # States h_k, c_k and output gates o_k of the reference forward pass.
    hs, cs, os_ = [h0], [c0], [None]
    for t in range(T):
        h, c, _ = rnnlib.lstm_step_forward(x[:, t], hs[-1], cs[-1], Wx, Wh, b)
        a = x[:, t] @ Wx + hs[-1] @ Wh + b
        hs.append(h)
        cs.append(c)
        os_.append(rnnlib.sigmoid(a[:, 2 * H:3 * H]))

    def loss_from(k, h_k, c_k):    # L = sum(h_T * dout), run on from step k
        if k == T:
            return float(np.sum(h_k * dout))
        h = rnnlib.lstm_forward(x[:, k:], h_k, Wx, Wh, b, c0=c_k)[0]
        return float(np.sum(h[:, -1] * dout))

    for k in range(T + 1):
        dh = numerical_gradient(lambda z: loss_from(k, z, cs[k]), hs[k].copy())
        if k == 0:      # h_0 is given, not computed from c_0
            dc = numerical_gradient(lambda z: loss_from(0, hs[0], z), cs[0].copy())
        else:           # c_k changes h_k = o_k tanh(c_k) too
            dc = numerical_gradient(lambda z: loss_from(k, os_[k] * np.tanh(z), z),
                                    cs[k].copy())
        assert got.h[k] == pytest.approx(np.linalg.norm(dh), rel=1e-7), f"dL/dh_{k}"
        assert got.c[k] == pytest.approx(np.linalg.norm(dc), rel=1e-7), f"dL/dc_{k}"


def test_lstm_gradient_norms_shape_and_last_step(rng):
    x, h0, Wx, Wh, b, dout = _params(rng, 4, T=7)
    got = analysis.lstm_gradient_norms(x, h0, Wx, Wh, b, dout)
    assert got.h.shape == got.c.shape == (8,)
    assert got.h[-1] == pytest.approx(np.linalg.norm(dout))


def test_lstm_forget_gate_bias_lengthens_the_cell_memory(rng):
    """With zero weights, dL/dc shrinks by exactly sigma(b_f) per step."""
    N, T, D, H = 2, 10, 3, 4
    x = rng.standard_normal((N, T, D))
    Wx, Wh = np.zeros((D, 4 * H)), np.zeros((H, 4 * H))
    for bf in (0.0, 1.0):
        b = np.zeros(4 * H)
        b[H:2 * H] = bf
        c = analysis.lstm_gradient_norms(x, np.zeros((N, H)), Wx, Wh, b,
                                         np.ones((N, H))).c
        f = 1 / (1 + np.exp(-bf))
        np.testing.assert_allclose(c[:-2] / c[1:-1], f, rtol=1e-12)


def test_gru_gradient_norms_match_finite_differences(rng):
    x, h0, Wx, Wh, b, dout = _params(rng, 3)
    bhn = 0.3 * rng.standard_normal(h0.shape[1])
    got = analysis.gru_gradient_norms(x, h0, Wx, Wh, b, bhn, dout)
    T = x.shape[1]
    h_all = rnnlib.gru_forward(x, h0, Wx, Wh, b, bhn)[0]
    hs = [h0] + [h_all[:, t] for t in range(T)]

    def loss_from(k, h_k):
        if k == T:
            return float(np.sum(h_k * dout))
        return float(np.sum(rnnlib.gru_forward(x[:, k:], h_k, Wx, Wh, b, bhn)[0][:, -1] * dout))

    assert got.shape == (T + 1,)
    for k in range(T + 1):
        dh = numerical_gradient(lambda z: loss_from(k, z), hs[k].copy())
        assert got[k] == pytest.approx(np.linalg.norm(dh), rel=1e-7), f"dL/dh_{k}"


def test_gated_gradient_norms_reject_bad_dout(rng):
    x, h0, Wx, Wh, b, dout = _params(rng, 4)
    with pytest.raises(ValueError, match="dout"):
        analysis.lstm_gradient_norms(x, h0, Wx, Wh, b, dout[:, :2])
    x, h0, Wx, Wh, b, dout = _params(rng, 3)
    with pytest.raises(ValueError, match="dout"):
        analysis.gru_gradient_norms(x, h0, Wx, Wh, b, np.zeros(4), dout[:1])
    with pytest.raises(ValueError, match="Wx"):
        analysis.gru_gradient_norms(x, h0, Wx[:, :-1], Wh, b, np.zeros(4), dout)
