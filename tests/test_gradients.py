"""Every backward pass of the core against centered finite differences (float64).

Shapes include N=1, T=1 and D != H. The relative error (rnnlib.rel_error, a norm ratio)
must stay below 1e-7; a wrong gradient gives errors near 1.
"""
import numpy as np
import pytest

import rnnlib
from rnnlib.gradcheck import numerical_gradient, numerical_gradient_array, rel_error

TOL = 1e-7
SHAPES = [(1, 1, 3, 4), (2, 5, 3, 4), (3, 4, 6, 2)]  # (N, T, D, H)


def randn(rng, *shape, scale=1.0):
    return scale * rng.standard_normal(shape)


def rnn_params(rng, D, H, gates=1):
    return (randn(rng, D, gates * H, scale=0.5), randn(rng, H, gates * H, scale=0.5),
            randn(rng, gates * H, scale=0.3))


def assert_close(analytic, numeric, what):
    err = rel_error(analytic, numeric)
    assert err < TOL, f"{what}: relative error {err:.2e} >= {TOL:.0e}"


def check_all(f, args, grads, names, upstream):
    """Compare each analytic gradient with finite differences of sum(f(args) * upstream)."""
    for k, (name, g) in enumerate(zip(names, grads)):
        if g is None:
            continue

        def fk(z, k=k):
            a = list(args)
            a[k] = z
            return f(*a)

        assert_close(g, numerical_gradient_array(fk, args[k], upstream), name)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_step_backward_matches_finite_differences(N, T, D, H, activation):
    rng = np.random.default_rng(1)
    x, h = randn(rng, N, D), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H)
    dnext = randn(rng, N, H)
    _, cache = rnnlib.rnn_step_forward(x, h, Wx, Wh, b, activation)
    grads = rnnlib.rnn_step_backward(dnext, cache)
    f = lambda *a: rnnlib.rnn_step_forward(*a, activation)[0]
    check_all(f, (x, h, Wx, Wh, b), grads, ("dx", "dprev_h", "dWx", "dWh", "db"), dnext)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_backward_matches_finite_differences(N, T, D, H, activation):
    rng = np.random.default_rng(2)
    x, h0 = randn(rng, N, T, D), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H)
    dh = randn(rng, N, T, H)
    _, cache = rnnlib.rnn_forward(x, h0, Wx, Wh, b, activation)
    grads = rnnlib.rnn_backward(dh, cache)
    f = lambda *a: rnnlib.rnn_forward(*a, activation)[0]
    check_all(f, (x, h0, Wx, Wh, b), grads, ("dx", "dh0", "dWx", "dWh", "db"), dh)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_step_backward_matches_finite_differences(N, T, D, H):
    rng = np.random.default_rng(3)
    x, h, c = randn(rng, N, D), randn(rng, N, H), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H, gates=4)
    dnh, dnc = randn(rng, N, H), randn(rng, N, H)
    _, _, cache = rnnlib.lstm_step_forward(x, h, c, Wx, Wh, b)
    dx, dh, dc, dWx, dWh, db = rnnlib.lstm_step_backward(dnh, dnc, cache)

    def loss(x, h, c, Wx, Wh, b):
        nh, nc, _ = rnnlib.lstm_step_forward(x, h, c, Wx, Wh, b)
        return float(np.sum(nh * dnh) + np.sum(nc * dnc))

    args = [x, h, c, Wx, Wh, b]
    for k, (name, g) in enumerate(zip(("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
                                      (dx, dh, dc, dWx, dWh, db))):
        def fk(z, k=k):
            a = list(args)
            a[k] = z
            return loss(*a)
        assert_close(g, numerical_gradient(fk, args[k]), name)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_backward_matches_finite_differences(N, T, D, H):
    rng = np.random.default_rng(4)
    x, h0 = randn(rng, N, T, D), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H, gates=4)
    dh = randn(rng, N, T, H)
    _, cache = rnnlib.lstm_forward(x, h0, Wx, Wh, b)
    grads = rnnlib.lstm_backward(dh, cache)
    f = lambda *a: rnnlib.lstm_forward(*a)[0]
    check_all(f, (x, h0, Wx, Wh, b), grads, ("dx", "dh0", "dWx", "dWh", "db"), dh)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_step_backward_matches_finite_differences(N, T, D, H):
    rng = np.random.default_rng(5)
    x, h = randn(rng, N, D), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H, gates=3)
    bhn = randn(rng, H, scale=0.3)
    dnext = randn(rng, N, H)
    _, cache = rnnlib.gru_step_forward(x, h, Wx, Wh, b, bhn)
    grads = rnnlib.gru_step_backward(dnext, cache)
    f = lambda *a: rnnlib.gru_step_forward(*a)[0]
    check_all(f, (x, h, Wx, Wh, b, bhn), grads,
              ("dx", "dprev_h", "dWx", "dWh", "db", "dbhn"), dnext)


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_backward_matches_finite_differences(N, T, D, H):
    rng = np.random.default_rng(6)
    x, h0 = randn(rng, N, T, D), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H, gates=3)
    bhn = randn(rng, H, scale=0.3)
    dh = randn(rng, N, T, H)
    _, cache = rnnlib.gru_forward(x, h0, Wx, Wh, b, bhn)
    grads = rnnlib.gru_backward(dh, cache)
    f = lambda *a: rnnlib.gru_forward(*a)[0]
    check_all(f, (x, h0, Wx, Wh, b, bhn), grads,
              ("dx", "dh0", "dWx", "dWh", "db", "dbhn"), dh)


def test_lstm_backward_with_initial_cell_state_matches_finite_differences():
    rng = np.random.default_rng(7)
    N, T, D, H = 2, 3, 3, 4
    x, h0, c0 = randn(rng, N, T, D), randn(rng, N, H), randn(rng, N, H)
    Wx, Wh, b = rnn_params(rng, D, H, gates=4)
    dh = randn(rng, N, T, H)
    _, cache = rnnlib.lstm_forward(x, h0, Wx, Wh, b, c0=c0)
    dx, dh0, dWx, _, _ = rnnlib.lstm_backward(dh, cache)
    f = lambda z: rnnlib.lstm_forward(z, h0, Wx, Wh, b, c0=c0)[0]
    assert_close(dx, numerical_gradient_array(f, x, dh), "dx")
    f = lambda z: rnnlib.lstm_forward(x, h0, z, Wh, b, c0=c0)[0]
    assert_close(dWx, numerical_gradient_array(f, Wx, dh), "dWx")


def test_temporal_affine_backward_matches_finite_differences():
    rng = np.random.default_rng(8)
    x, w, b = randn(rng, 2, 3, 4), randn(rng, 4, 5), randn(rng, 5)
    dout = randn(rng, 2, 3, 5)
    _, cache = rnnlib.temporal_affine_forward(x, w, b)
    grads = rnnlib.temporal_affine_backward(dout, cache)
    f = lambda *a: rnnlib.temporal_affine_forward(*a)[0]
    check_all(f, (x, w, b), grads, ("dx", "dw", "db"), dout)


def test_word_embedding_backward_matches_finite_differences():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 5, size=(3, 4))
    x[0, :2] = 2  # a repeated symbol accumulates gradients from several positions
    W = randn(rng, 5, 3)
    dout = randn(rng, 3, 4, 3)
    _, cache = rnnlib.word_embedding_forward(x, W)
    dW = rnnlib.word_embedding_backward(dout, cache)
    f = lambda z: rnnlib.word_embedding_forward(x, z)[0]
    assert_close(dW, numerical_gradient_array(f, W, dout), "dW")


def test_temporal_softmax_loss_gradient_matches_finite_differences():
    rng = np.random.default_rng(10)
    N, T, V = 4, 5, 6
    x = randn(rng, N, T, V)
    y = rng.integers(0, V, size=(N, T))
    mask = rng.random((N, T)) > 0.3
    _, dx = rnnlib.temporal_softmax_loss(x, y, mask)
    num = numerical_gradient(lambda z: rnnlib.temporal_softmax_loss(z, y, mask)[0], x)
    assert_close(dx, num, "dx")


@pytest.mark.parametrize("masked", [False, True])
def test_mean_squared_error_gradient_matches_finite_differences(masked):
    rng = np.random.default_rng(11)
    pred, target = randn(rng, 3, 4, 2), randn(rng, 3, 4, 2)
    mask = (rng.random((3, 4)) > 0.4) if masked else None
    _, dpred = rnnlib.mean_squared_error(pred, target, mask)
    num = numerical_gradient(lambda z: rnnlib.mean_squared_error(z, target, mask)[0], pred)
    assert_close(dpred, num, "dpred")


def test_a_wrong_gradient_is_caught_by_the_check():
    """The check itself must be able to fail: a gradient off by a factor 1.01 is flagged."""
    rng = np.random.default_rng(12)
    x = randn(rng, 3, 4)
    f = lambda z: float(np.sum(np.tanh(z)))
    good = 1 - np.tanh(x) ** 2
    assert rel_error(good, numerical_gradient(f, x)) < TOL
    assert rel_error(1.01 * good, numerical_gradient(f, x)) > 1e-3
