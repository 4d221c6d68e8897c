"""Bad input raises ValueError with a message that names what was expected and what came."""
import numpy as np
import pytest

import rnnlib

rng = np.random.default_rng(0)
N, T, D, H = 2, 3, 4, 5
x = rng.standard_normal((N, T, D))
h0 = np.zeros((N, H))
Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), np.zeros(H)


def test_wrong_ndim_of_x_is_rejected():
    with pytest.raises(ValueError, match=r"x must have 3 dimensions; got shape \(2, 4\)"):
        rnnlib.rnn_forward(x[:, 0], h0, Wx, Wh, b)


def test_input_size_not_matching_Wx_is_rejected():
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, H\) with D=3"):
        rnnlib.rnn_forward(x[..., :3], h0, Wx, Wh, b)


def test_mismatched_hidden_state_is_rejected():
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 5\); got \(2, 4\)"):
        rnnlib.rnn_forward(x, np.zeros((N, 4)), Wx, Wh, b)


def test_wrong_bias_shape_is_rejected():
    with pytest.raises(ValueError, match=r"b must have shape \(5\); got \(1, 5\)"):
        rnnlib.rnn_forward(x, h0, Wx, Wh, b[None])


def test_lstm_weights_without_four_gate_blocks_are_rejected():
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4\*H\)"):
        rnnlib.lstm_forward(x, h0, rng.standard_normal((D, 7)), Wh, b)


def test_gru_wrong_bhn_is_rejected():
    Wx3, Wh3, b3 = np.zeros((D, 3 * H)), np.zeros((H, 3 * H)), np.zeros(3 * H)
    with pytest.raises(ValueError, match=r"bhn must have shape \(5\)"):
        rnnlib.gru_forward(x, h0, Wx3, Wh3, b3, np.zeros(3 * H))


def test_unknown_activation_is_rejected():
    with pytest.raises(ValueError, match=r"activation must be one of \['relu', 'tanh'\]; got 'sigmoid'"):
        rnnlib.rnn_forward(x, h0, Wx, Wh, b, activation="sigmoid")


def test_empty_sequence_is_rejected():
    with pytest.raises(ValueError, match="at least one time step"):
        rnnlib.rnn_forward(np.zeros((N, 0, D)), h0, Wx, Wh, b)


def test_mixed_dtypes_are_rejected():
    with pytest.raises(ValueError, match="dtype float64 but the other arrays are float32"):
        rnnlib.rnn_forward(x.astype(np.float32), h0, Wx, Wh, b)


def test_integer_inputs_to_the_rnn_are_rejected():
    with pytest.raises(ValueError, match="x must be float32 or float64; got int64"):
        rnnlib.rnn_forward(np.zeros((N, T, D), dtype=np.int64), h0, Wx, Wh, b)


def test_lists_are_rejected_with_a_clear_message():
    with pytest.raises(ValueError, match="x must be a NumPy array; got list"):
        rnnlib.rnn_step_forward([[1.0] * D] * N, h0, Wx, Wh, b)


def test_backward_with_a_wrong_upstream_shape_is_rejected():
    _, cache = rnnlib.rnn_forward(x, h0, Wx, Wh, b)
    with pytest.raises(ValueError, match=r"dh must have shape \(2, 3, 5\)"):
        rnnlib.rnn_backward(np.zeros((N, T, 4)), cache)


def test_nan_scores_in_softmax_loss_are_rejected():
    scores = np.zeros((N, T, 3))
    scores[0, 1, 2] = np.nan
    with pytest.raises(ValueError, match="x must be finite"):
        rnnlib.temporal_softmax_loss(scores, np.zeros((N, T), int), np.ones((N, T), bool))


def test_nan_predictions_in_mse_are_rejected():
    pred = np.full((N, T, 1), np.nan)
    with pytest.raises(ValueError, match="pred must be finite"):
        rnnlib.mean_squared_error(pred, np.zeros_like(pred))


def test_softmax_loss_rejects_float_targets_and_out_of_range_classes():
    scores = np.zeros((N, T, 3))
    with pytest.raises(ValueError, match="y must be an integer array"):
        rnnlib.temporal_softmax_loss(scores, np.zeros((N, T)), np.ones((N, T), bool))
    with pytest.raises(ValueError, match=r"y must hold classes in \[0, 3\)"):
        rnnlib.temporal_softmax_loss(scores, np.full((N, T), 3), np.ones((N, T), bool))


def test_mse_with_an_empty_mask_is_rejected():
    with pytest.raises(ValueError, match="mask selects no entries"):
        rnnlib.mean_squared_error(np.zeros((N, T, 1)), np.zeros((N, T, 1)), np.zeros((N, T), bool))


def test_embedding_rejects_out_of_range_and_float_indices():
    W = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"indices in \[0, 4\)"):
        rnnlib.word_embedding_forward(np.array([[4]]), W)
    with pytest.raises(ValueError, match="integer array"):
        rnnlib.word_embedding_forward(np.array([[1.0]]), W)


def test_optimizer_rejects_mismatched_dicts_and_bad_hyperparameters():
    with pytest.raises(ValueError, match="same keys"):
        rnnlib.SGD(0.1).step({"w": np.zeros(2)}, {"v": np.zeros(2)})
    with pytest.raises(ValueError, match="lr must be positive"):
        rnnlib.Adam(lr=0)
    with pytest.raises(ValueError, match="max_norm must be positive"):
        rnnlib.clip_grad_norm({"w": np.zeros(2)}, 0.0)


def test_interop_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        rnnlib.interop.weights_to_torch("transformer", {})
