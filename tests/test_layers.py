"""The layer API of rnnlib.layers: gradients by finite differences (stacks, bidirectional,
masks), mask semantics against the core functions run on the unpadded sequences, wiring and
shape errors, seeded initialisation, summaries and training with the rnnlib optimizers."""
import numpy as np
import pytest

import rnnlib
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.layers import (GRU, LSTM, Bidirectional, Dense, Embedding, ParameterViews,
                           Sequential, SimpleRNN, mask_lengths, reverse_sequences)

GRAD_TOL = 1e-7
LENGTHS = np.array([4, 2, 1, 4])


def padded_mask(lengths, T):
    return np.arange(T) < np.asarray(lengths)[:, None]


def check_gradients(model, x, mask=None, seed=1):
    """Compare model.backward with finite differences of sum(out * dout) for every
    parameter and, for float inputs, for x."""
    out = model.forward(x, mask)
    dout = np.random.default_rng(seed).standard_normal(out.shape)
    dx = model.backward(dout)
    grads = {k: g.copy() for k, g in model.grads.items()}
    loss = lambda _: float(np.sum(model.forward(x, mask) * dout))
    for k, p in model.params.items():
        err = rel_error(grads[k], numerical_gradient(loss, p))
        assert err < GRAD_TOL, f"d{k}: relative error {err:.1e}"
    if dx is not None:
        err = rel_error(dx, numerical_gradient(loss, x))
        assert err < GRAD_TOL, f"dx: relative error {err:.1e}"
    return dx


def cells():
    return [SimpleRNN(3, "tanh", seed=0), SimpleRNN(3, "relu", seed=0), LSTM(3, seed=0),
            GRU(3, seed=0)]


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("index", range(4), ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_recurrent_layer_gradients_with_mask_match_finite_differences(index, return_sequences,
                                                                      rng):
    layer = cells()[index]
    layer.return_sequences = return_sequences
    x = rng.standard_normal((4, 4, 2))
    dx = check_gradients(layer, x, padded_mask(LENGTHS, 4))
    assert np.all(dx[~padded_mask(LENGTHS, 4)] == 0), "padded inputs must get no gradient"


@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_gradients_with_mask_match_finite_differences(merge, return_sequences,
                                                                    rng):
    layer = Bidirectional(GRU(3, return_sequences=return_sequences), merge=merge, seed=2)
    check_gradients(layer, rng.standard_normal((4, 4, 2)), padded_mask(LENGTHS, 4))


def test_stack_gradients_match_finite_differences(rng):
    model = Sequential([SimpleRNN(3, return_sequences=True),
                        Bidirectional(LSTM(2, return_sequences=True)),
                        GRU(3), Dense(2)], seed=3)
    check_gradients(model, rng.standard_normal((4, 4, 2)), padded_mask(LENGTHS, 4))


def test_embedding_stack_gradients_match_finite_differences(rng):
    model = Sequential([Embedding(5, 3), LSTM(3, return_sequences=True), Dense(5)], seed=4)
    x = rng.integers(0, 5, size=(3, 4))
    assert check_gradients(model, x) is None     # integer inputs have no gradient


def core_states(layer, x):
    """Hidden states of one unpadded batch from the core functions and the layer's params."""
    p, h0 = layer.params, np.zeros((x.shape[0], layer.units))
    if isinstance(layer, SimpleRNN):
        return rnnlib.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"], layer.activation)[0]
    if isinstance(layer, LSTM):
        return rnnlib.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])[0]
    return rnnlib.gru_forward(x, h0, p["Wx"], p["Wh"], p["b"], p["bhn"])[0]


@pytest.mark.parametrize("index", range(4), ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_masked_sequences_equal_the_unpadded_sequences_run_alone(index, rng):
    layer = cells()[index]
    layer.return_sequences = True
    x = rng.standard_normal((4, 4, 2))
    mask = padded_mask(LENGTHS, 4)
    h = layer.forward(x, mask)
    for n, L in enumerate(LENGTHS):
        alone = core_states(layer, x[n:n + 1, :L])[0]
        np.testing.assert_allclose(h[n, :L], alone, rtol=0, atol=1e-14)
        # padded steps carry the last valid state unchanged
        np.testing.assert_array_equal(h[n, L:], np.repeat(alone[-1:], 4 - L, axis=0))
    layer.return_sequences = False
    np.testing.assert_array_equal(layer.forward(x, mask), h[np.arange(4), LENGTHS - 1])


def test_padded_inputs_change_nothing(rng):
    model = Sequential([Bidirectional(LSTM(3, return_sequences=True)), GRU(2)], seed=5)
    x = rng.standard_normal((4, 4, 2))
    mask = padded_mask(LENGTHS, 4)
    out = model.forward(x, mask)
    x2 = x.copy()
    x2[~mask] = 1e3 * rng.standard_normal(x2[~mask].shape)
    np.testing.assert_array_equal(model.forward(x2, mask), out)


def test_bidirectional_backward_direction_reads_each_sequence_reversed(rng):
    layer = Bidirectional(SimpleRNN(3, return_sequences=True), seed=6)
    x = rng.standard_normal((4, 4, 2))
    out = layer.forward(x, padded_mask(LENGTHS, 4))
    assert out.shape == (4, 4, 6)
    for n, L in enumerate(LENGTHS):
        fwd = core_states(layer.forward_layer, x[n:n + 1, :L])[0]
        bwd = core_states(layer.backward_layer, x[n:n + 1, L - 1::-1])[0][::-1]
        np.testing.assert_allclose(out[n, :L, :3], fwd, rtol=0, atol=1e-14)
        np.testing.assert_allclose(out[n, :L, 3:], bwd, rtol=0, atol=1e-14)


def test_bidirectional_sum_and_last_state(rng):
    x = rng.standard_normal((4, 4, 2))
    mask = padded_mask(LENGTHS, 4)
    both = Bidirectional(GRU(3, return_sequences=True), seed=7).forward(x, mask)
    summed = Bidirectional(GRU(3, return_sequences=True), merge="sum", seed=7).forward(x, mask)
    last = Bidirectional(GRU(3), seed=7).forward(x, mask)
    np.testing.assert_allclose(summed, both[..., :3] + both[..., 3:], rtol=0, atol=1e-15)
    # forward state at the last valid step, backward state after the whole (reversed) sequence
    np.testing.assert_array_equal(last[:, :3], both[np.arange(4), LENGTHS - 1, :3])
    np.testing.assert_array_equal(last[:, 3:], both[:, 0, 3:])


def test_reverse_sequences_is_an_involution_within_lengths():
    x = np.arange(12.0).reshape(3, 4, 1)
    r = reverse_sequences(x, np.array([4, 2, 1]))
    np.testing.assert_array_equal(r[..., 0], [[3, 2, 1, 0], [5, 4, 6, 7], [8, 9, 10, 11]])
    np.testing.assert_array_equal(reverse_sequences(r, np.array([4, 2, 1])), x)


def test_dense_is_the_affine_map_on_states_and_sequences(rng):
    dense = Dense(3, seed=0)
    x3 = rng.standard_normal((2, 4, 5))
    out3 = dense.forward(x3)
    np.testing.assert_allclose(out3, x3 @ dense.params["W"] + dense.params["b"], atol=1e-14)
    x2 = rng.standard_normal((2, 5))
    np.testing.assert_allclose(dense.forward(x2), x2 @ dense.params["W"], atol=1e-14)
    check_gradients(dense, x2)


def test_lazy_build_leaves_batch_and_time_free(rng):
    layer = LSTM(3, seed=0)
    assert layer.forward(rng.standard_normal((2, 5, 4))).shape == (2, 3)
    assert layer.forward(rng.standard_normal((7, 9, 4))).shape == (7, 3)
    assert layer.input_shape == (None, None, 4)


def test_float32_is_preserved(rng):
    model = Sequential([GRU(3, return_sequences=True, dtype=np.float32),
                        Dense(2, dtype=np.float32)], seed=0)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    out = model.forward(x)
    dx = model.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(g.dtype == np.float32 for g in model.grads.values())
    with pytest.raises(ValueError, match="dtype float64 but the other arrays are float32"):
        model.forward(x.astype(np.float64))


# --- initialisation -----------------------------------------------------------------------

def test_seeded_initialisation_is_reproducible_and_keras_like():
    a, b, c = LSTM(4, seed=1), LSTM(4, seed=1), LSTM(4, seed=2)
    for layer in (a, b, c):
        layer.build((None, None, 3))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.allclose(a.params["Wx"], c.params["Wx"])
    H = 4
    for k in range(4):                                 # orthogonal recurrent blocks
        block = a.params["Wh"][:, k * H:(k + 1) * H]
        np.testing.assert_allclose(block.T @ block, np.eye(H), atol=1e-12)
    assert np.abs(a.params["Wx"]).max() <= np.sqrt(6 / (3 + 16))   # Glorot uniform bound
    expected_b = np.zeros(16)
    expected_b[H:2 * H] = 1.0                          # forget_bias
    np.testing.assert_array_equal(a.params["b"], expected_b)
    d = LSTM(4, forget_bias=0.0, seed=1).build((None, None, 3))
    np.testing.assert_array_equal(d.params["b"], np.zeros(16))


def test_sequential_seed_reproduces_a_model_and_layer_seeds_take_precedence():
    make = lambda: Sequential([SimpleRNN(3, return_sequences=True), GRU(2, seed=9)],
                              seed=0).build((None, None, 2))
    m1, m2 = make(), make()
    for k in m1.params:
        np.testing.assert_array_equal(m1.params[k], m2.params[k])
    alone = GRU(2, seed=9).build((None, None, 3))
    np.testing.assert_array_equal(m1.params["1.Wh"], alone.params["Wh"])


def test_bidirectional_directions_get_different_weights():
    layer = Bidirectional(SimpleRNN(3), seed=0).build((None, None, 2))
    assert not np.allclose(layer.params["forward.Wh"], layer.params["backward.Wh"])
    assert sorted(layer.params) == sorted(f"{d}.{k}" for d in ("forward", "backward")
                                          for k in ("Wx", "Wh", "b"))


# --- summary and parameter views ------------------------------------------------------------

def test_summary_lists_output_shapes_and_parameter_counts():
    model = Sequential([Embedding(10, 4), Bidirectional(LSTM(3, return_sequences=True)),
                        GRU(5), Dense(2)], seed=0).build((None, None))
    lines = []
    model.summary(print_fn=lines.append)
    text = lines[0]
    counts = [10 * 4, 2 * (4 * 12 + 3 * 12 + 12), 6 * 15 + 5 * 15 + 15 + 5, 5 * 2 + 2]
    rows = text.splitlines()
    assert rows[0].split() == ["Layer", "Output", "shape", "Params"]
    assert "(None, None, 4)" in rows[2] and rows[2].endswith(f"{counts[0]:,}")
    assert "(None, None, 6)" in rows[3] and rows[3].endswith(f"{counts[1]:,}")
    assert "(None, 5)" in rows[4] and rows[4].endswith(f"{counts[2]:,}")
    assert "(None, 2)" in rows[5] and rows[5].endswith(f"{counts[3]:,}")
    assert rows[-1] == f"Total params: {sum(counts):,}"
    assert model.count_params() == sum(counts)


def test_single_layer_summary(capsys):
    GRU(4, return_sequences=True, seed=0).build((None, 7, 3)).summary()
    out = capsys.readouterr().out
    assert "(None, 7, 4)" in out and "Total params: 100" in out


def test_parameter_views_are_the_childrens_own_arrays_under_prefixed_names():
    class Pair(ParameterViews):
        def __init__(self):
            self.a = Dense(3, seed=0).build((None, 2))
            self.b = Dense(2, seed=1).build((None, 3))

        def _children(self):
            return [("first", self.a), ("second", self.b)]

    pair = Pair()
    assert list(pair.params) == ["first.W", "first.b", "second.W", "second.b"]
    assert pair.params["second.W"] is pair.b.params["W"]
    pair.b.forward(np.ones((4, 3)))
    pair.b.backward(np.ones((4, 2)))
    assert pair.grads["second.W"] is pair.b.grads["W"]
    np.testing.assert_array_equal(pair.grads["second.W"], np.full((3, 2), 4.0))
    pair.params["first.b"] += 1.5                       # in place reaches the layer
    np.testing.assert_array_equal(pair.a.params["b"], np.full(3, 1.5))
    with pytest.raises(NotImplementedError):
        ParameterViews().params


def test_optimizer_trains_a_whole_model_through_the_views(rng):
    """Adam on model.params/model.grads updates the layers' own arrays and fits a tiny
    copy task: predict the current symbol."""
    model = Sequential([Embedding(4, 6), LSTM(8, return_sequences=True), Dense(4)],
                       seed=0).build((None, None))
    x = rng.integers(0, 4, size=(8, 5))
    mask = padded_mask(rng.integers(2, 6, size=8), 5)
    opt = rnnlib.Adam(0.05)
    Wh = model.layers[1].params["Wh"]
    Wh_before = Wh.copy()
    losses = []
    for _ in range(40):
        loss, dscores = rnnlib.temporal_softmax_loss(model.forward(x, mask), x, mask)
        model.backward(dscores)
        opt.step(model.params, model.grads)
        losses.append(loss)
    assert model.layers[1].params["Wh"] is Wh and not np.allclose(Wh, Wh_before)
    assert losses[-1] < 0.05 * losses[0], f"loss {losses[0]:.3f} -> {losses[-1]:.3f}"


# --- errors ------------------------------------------------------------------------------

def test_wrong_wiring_names_the_layers_and_the_fix():
    msg = (r"layer 1 \(LSTM\) needs sequences \(N, T, D\) but layer 0 \(SimpleRNN\) returns "
           r"its last state \(N, 8\); set return_sequences=True on layer 0")
    with pytest.raises(ValueError, match=msg):
        Sequential([SimpleRNN(8), LSTM(8)])
    with pytest.raises(ValueError, match=r"layer 2 \(GRU\) needs sequences .* layer 1 "
                                         r"\(Bidirectional\(LSTM\)\) returns its last state "
                                         r"\(N, 6\); set return_sequences=True on layer 1"):
        Sequential([SimpleRNN(3, return_sequences=True), Bidirectional(LSTM(3)), GRU(2)])
    with pytest.raises(ValueError, match=r"layer 2 \(LSTM\) needs sequences .* layer 1 "
                                         r"\(Dense\) returns \(N, 4\) without a time axis"):
        Sequential([GRU(3), Dense(4), LSTM(2)])
    with pytest.raises(ValueError, match=r"layer 1 \(Embedding\) .* must be the first layer"):
        Sequential([Dense(3), Embedding(5, 3)])
    with pytest.raises(ValueError, match="one dtype"):
        Sequential([GRU(3, dtype=np.float32), Dense(2)])
    with pytest.raises(ValueError, match="non-empty list of layers"):
        Sequential([])


def test_wrong_input_shapes_raise(rng):
    layer = SimpleRNN(3, seed=0)
    with pytest.raises(ValueError, match=r"x of SimpleRNN must have 3 dimensions; got "
                                         r"shape \(2, 4\)"):
        layer.forward(rng.standard_normal((2, 4)))
    layer.forward(rng.standard_normal((2, 5, 4)))
    with pytest.raises(ValueError, match=r"x of SimpleRNN must have shape \(None, None, 4\); "
                                         r"got \(2, 5, 3\)"):
        layer.forward(rng.standard_normal((2, 5, 3)))
    model = Sequential([Dense(4), LSTM(2)], seed=0)
    with pytest.raises(ValueError, match=r"layer 1 \(LSTM\): LSTM takes inputs with 3 "
                                         r"dimensions"):
        model.forward(rng.standard_normal((2, 3)))
    with pytest.raises(ValueError, match="x of Embedding must have 2 dimensions"):
        Embedding(5, 2, seed=0).build((None, None)).forward(rng.standard_normal((2, 3, 1)))
    with pytest.raises(ValueError, match="x must be an integer array"):
        Embedding(5, 2, seed=0).build((None, None)).forward(rng.standard_normal((2, 3)))


def test_backward_checks_its_input(rng):
    layer = GRU(3, seed=0)
    with pytest.raises(ValueError, match="needs a forward pass first"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(rng.standard_normal((2, 4, 1)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3\)"):
        layer.backward(np.zeros((2, 4, 3)))


def test_mask_validation():
    x = np.zeros((2, 3, 1))
    layer = LSTM(2, seed=0)
    with pytest.raises(ValueError, match=r"mask must have shape \(2, 3\); got \(2, 4\)"):
        layer.forward(x, np.ones((2, 4), bool))
    with pytest.raises(ValueError, match=r"prefix .* row 1 is \[1, 0, 1\]"):
        layer.forward(x, np.array([[1, 1, 1], [1, 0, 1]], bool))
    with pytest.raises(ValueError, match="at least one valid step; row 0"):
        layer.forward(x, np.array([[0, 0, 0], [1, 0, 0]], bool))
    with pytest.raises(ValueError, match="boolean"):
        layer.forward(x, np.full((2, 3), 0.5))
    with pytest.raises(ValueError, match="NumPy array"):
        layer.forward(x, [[1, 1, 1], [1, 1, 1]])
    np.testing.assert_array_equal(mask_lengths(np.array([[1, 1, 0], [1, 1, 1]]), 2, 3), [2, 3])


def test_constructor_arguments_are_validated():
    with pytest.raises(ValueError, match=r"merge must be one of \['concat', 'sum'\]; got 'mul'"):
        Bidirectional(LSTM(3), merge="mul")
    with pytest.raises(ValueError, match="wraps a SimpleRNN, LSTM or GRU; got Dense"):
        Bidirectional(Dense(3))
    with pytest.raises(ValueError, match="unbuilt layer"):
        Bidirectional(GRU(3, seed=0).build((None, None, 2)))
    with pytest.raises(ValueError, match="units must be a positive integer; got 0"):
        GRU(0)
    with pytest.raises(ValueError, match="activation must be one of"):
        SimpleRNN(3, activation="sigmoid")
    with pytest.raises(ValueError, match="dtype must be numpy.float32 or numpy.float64; got int64"):
        Dense(3, dtype=np.int64)
    with pytest.raises(ValueError, match="not built yet"):
        Dense(3).summary()
