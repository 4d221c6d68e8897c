"""The sequence functions reuse scratch arrays between calls (``rnnlib.gates._scratch``):
nothing a call returns or caches may live in them. Interleaving the calls of two models
of the same shapes (as a bidirectional layer or two models trained side by side do) must
give every result bit for bit as when each model runs alone, and results already returned
must not change when later calls run."""
import numpy as np
import pytest

import rnnlib

N, T, D, H = 3, 7, 4, 5


def _model(kind, dtype, seed):
    rng = np.random.default_rng(seed)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    args = [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            0.5 * rng.standard_normal((D, G * H)), 0.5 * rng.standard_normal((H, G * H)),
            0.1 * rng.standard_normal(G * H)]
    if kind == "gru":
        args.append(0.1 * rng.standard_normal(H))
    dh = rng.standard_normal((N, T, H))
    return [a.astype(dtype) for a in args], dh.astype(dtype)


FORWARD = {"rnn": rnnlib.rnn_forward, "lstm": rnnlib.lstm_forward, "gru": rnnlib.gru_forward}
BACKWARD = {"rnn": rnnlib.rnn_backward, "lstm": rnnlib.lstm_backward,
            "gru": rnnlib.gru_backward}


def _alone(kind, args, dh):
    h, cache = FORWARD[kind](*args)
    return [h.copy()] + [g.copy() for g in BACKWARD[kind](dh, cache)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_interleaved_models_give_the_results_of_each_model_alone(kind, dtype):
    (args_a, dh_a), (args_b, dh_b) = _model(kind, dtype, 0), _model(kind, dtype, 1)
    want_a, want_b = _alone(kind, args_a, dh_a), _alone(kind, args_b, dh_b)
    assert not np.array_equal(want_a[0], want_b[0])            # the two models differ

    h_a, cache_a = FORWARD[kind](*args_a)
    h_b, cache_b = FORWARD[kind](*args_b)                      # overwrites A's scratch
    grads_b = BACKWARD[kind](dh_b, cache_b)
    grads_a = BACKWARD[kind](dh_a, cache_a)                    # A's cache must be intact
    FORWARD[kind](*args_b)                                      # later calls change nothing
    BACKWARD[kind](dh_b, cache_b)

    for got, want in zip([h_a] + list(grads_a), want_a):
        np.testing.assert_array_equal(got, want)
    for got, want in zip([h_b] + list(grads_b), want_b):
        np.testing.assert_array_equal(got, want)
