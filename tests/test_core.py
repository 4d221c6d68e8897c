"""The core beyond gradients: sequence functions equal their step functions run in a loop,
float32 stays float32, closed forms, numerical stability, optimizers and clipping."""
import numpy as np
import pytest

import rnnlib


def params(rng, D, H, G, dtype=np.float64):
    p = [0.5 * rng.standard_normal(s) for s in ((D, G * H), (H, G * H), (G * H,))]
    return [a.astype(dtype) for a in p]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_forward_equals_a_loop_of_steps(activation):
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 6, 4, 5
    x, h = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = params(rng, D, H, 1)
    hs, _ = rnnlib.rnn_forward(x, h, Wx, Wh, b, activation)
    for t in range(T):
        h, _ = rnnlib.rnn_step_forward(x[:, t], h, Wx, Wh, b, activation)
        np.testing.assert_allclose(hs[:, t], h, rtol=0, atol=1e-13)


def test_lstm_and_gru_forward_equal_a_loop_of_steps():
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 5, 3, 4
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = params(rng, D, H, 4)
    hs, _ = rnnlib.lstm_forward(x, h0, Wx, Wh, b)
    h, c = h0, np.zeros((N, H))
    for t in range(T):
        h, c, _ = rnnlib.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        np.testing.assert_allclose(hs[:, t], h, rtol=0, atol=1e-13)
    Wx, Wh, b = params(rng, D, H, 3)
    bhn = rng.standard_normal(H)
    hs, _ = rnnlib.gru_forward(x, h0, Wx, Wh, b, bhn)
    h = h0
    for t in range(T):
        h, _ = rnnlib.gru_step_forward(x[:, t], h, Wx, Wh, b, bhn)
        np.testing.assert_allclose(hs[:, t], h, rtol=0, atol=1e-13)


def test_linear_rnn_has_the_closed_form_of_a_matrix_power():
    """With relu on positive data and weights, h_t = h_0 W^t + sum_k u_k Wx W^(t-k)."""
    rng = np.random.default_rng(2)
    N, T, D, H = 2, 4, 3, 3
    x = rng.random((N, T, D))
    h0 = rng.random((N, H))
    Wx, Wh, b = rng.random((D, H)), 0.3 * rng.random((H, H)), np.zeros(H)
    h, _ = rnnlib.rnn_forward(x, h0, Wx, Wh, b, "relu")
    expected = h0 @ np.linalg.matrix_power(Wh, T) + sum(
        x[:, k] @ Wx @ np.linalg.matrix_power(Wh, T - 1 - k) for k in range(T))
    np.testing.assert_allclose(h[:, -1], expected, rtol=1e-12)


def test_one_unit_lstm_step_matches_hand_computation():
    x = np.array([[1.0]])
    Wx = np.array([[0.5, -1.0, 2.0, 0.3]])      # i, f, o, g
    Wh = np.zeros((1, 4))
    b = np.zeros(4)
    h, c, _ = rnnlib.lstm_step_forward(x, np.zeros((1, 1)), np.array([[2.0]]), Wx, Wh, b)
    s = lambda a: 1 / (1 + np.exp(-a))
    c_exp = s(-1.0) * 2.0 + s(0.5) * np.tanh(0.3)
    assert c[0, 0] == pytest.approx(c_exp, rel=1e-14)
    assert h[0, 0] == pytest.approx(s(2.0) * np.tanh(c_exp), rel=1e-14)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_is_preserved_end_to_end(kind):
    rng = np.random.default_rng(3)
    N, T, D, H = 2, 4, 3, 5
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    x = rng.standard_normal((N, T, D)).astype(np.float32)
    h0 = np.zeros((N, H), np.float32)
    p = params(rng, D, H, G, np.float32)
    fwd, bwd = {"rnn": (rnnlib.rnn_forward, rnnlib.rnn_backward),
                "lstm": (rnnlib.lstm_forward, rnnlib.lstm_backward),
                "gru": (rnnlib.gru_forward, rnnlib.gru_backward)}[kind]
    extra = [np.zeros(H, np.float32)] if kind == "gru" else []
    h, cache = fwd(x, h0, *p, *extra)
    grads = bwd(np.ones_like(h), cache)
    assert h.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads)
    h64, _ = fwd(x.astype(np.float64), h0.astype(np.float64), *[a.astype(np.float64) for a in p],
                 *[a.astype(np.float64) for a in extra])
    np.testing.assert_allclose(h, h64, atol=1e-5)


def test_activations_are_finite_without_warnings_at_large_magnitude():
    a = np.array([-1e3, -50.0, 0.0, 50.0, 1e3])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # numpy ignores underflow by default
        s = rnnlib.sigmoid(a)
        sm = rnnlib.softmax(np.stack([a, -a]))
        lsm = rnnlib.log_softmax(np.stack([a, -a]))
    # the tanh form is accurate to 1e-16 in absolute terms (tiny values round to 0)
    np.testing.assert_allclose(s, [0.0, 1 / (1 + np.exp(50)), 0.5, 1 / (1 + np.exp(-50)), 1.0],
                               rtol=1e-15, atol=1e-16)
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(lsm))
    np.testing.assert_allclose(sm.sum(axis=-1), 1.0)
    assert lsm[0, -1] == pytest.approx(0.0) and lsm[0, 0] == pytest.approx(-2e3)


def test_softmax_loss_of_uniform_scores_is_log_vocabulary_size():
    N, T, V = 3, 4, 7
    x = np.zeros((N, T, V))
    y = np.zeros((N, T), dtype=int)
    mask = np.ones((N, T), bool)
    mask[0, 0] = False
    loss, _ = rnnlib.temporal_softmax_loss(x, y, mask)
    assert loss == pytest.approx((N * T - 1) * np.log(V) / N)


def test_softmax_loss_handles_huge_scores():
    x = np.array([[[1e3, -1e3, 0.0]]])
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # numpy ignores underflow by default
        loss, dx = rnnlib.temporal_softmax_loss(x, np.array([[1]]), np.ones((1, 1), bool))
    assert loss == pytest.approx(2e3) and np.all(np.isfinite(dx))


def test_mean_squared_error_closed_form_and_mask():
    pred = np.array([[[1.0], [2.0], [5.0]]])
    target = np.zeros((1, 3, 1))
    assert rnnlib.mean_squared_error(pred, target)[0] == pytest.approx(10.0)
    loss, d = rnnlib.mean_squared_error(pred, target, np.array([[False, False, True]]))
    assert loss == pytest.approx(25.0)
    np.testing.assert_allclose(d[0, :, 0], [0.0, 0.0, 10.0])


def test_word_embedding_looks_up_rows():
    W = np.arange(12.0).reshape(4, 3)
    out, _ = rnnlib.word_embedding_forward(np.array([[3, 0]]), W)
    np.testing.assert_array_equal(out[0], W[[3, 0]])


def test_clip_grad_norm_rescales_to_the_threshold_and_keeps_direction():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    norm = rnnlib.clip_grad_norm(grads, 1.0)
    assert norm == pytest.approx(5.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    np.testing.assert_allclose(grads["b"], [[0.8]])
    assert rnnlib.clip_grad_norm(grads, 2.0) == pytest.approx(1.0)  # below: unchanged
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])


def test_clip_grad_value_clips_entries_and_returns_the_norm_before():
    grads = {"a": np.array([3.0, -0.5]), "b": np.array([[-4.0]])}
    norm = rnnlib.clip_grad_value(grads, 1.0)
    assert norm == pytest.approx(np.sqrt(9 + 0.25 + 16))
    np.testing.assert_allclose(grads["a"], [1.0, -0.5])
    np.testing.assert_allclose(grads["b"], [[-1.0]])


def test_sgd_descends_a_quadratic_to_its_minimum():
    target = np.array([1.0, -2.0])
    for opt in (rnnlib.SGD(0.1), rnnlib.SGD(0.05, momentum=0.9), rnnlib.Adam(0.1)):
        p = {"w": np.zeros(2)}
        for _ in range(500):
            opt.step(p, {"w": 2 * (p["w"] - target)})
        np.testing.assert_allclose(p["w"], target, atol=1e-3, err_msg=type(opt).__name__)
