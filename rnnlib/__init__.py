"""rnnlib: recurrent neural networks in NumPy, written alongside the RNN Primer book.

The functional core (step and sequence forward/backward with explicit caches) is
importable from the top level::

    import rnnlib
    h, cache = rnnlib.rnn_forward(x, h0, Wx, Wh, b)

The larger parts live in submodules named for what they hold and are loaded on first
use, so ``rnnlib.esn`` or ``rnnlib.tasks`` work after a plain ``import rnnlib``.
Importing rnnlib has no side effects: no matplotlib style, no global seed, no
warning filters.
"""
import importlib

from ._validation import ArgumentTypeError, NonFiniteError
from .activations import log_softmax, relu, sigmoid, softmax, tanh
from .affine import temporal_affine_backward, temporal_affine_forward
from .embedding import word_embedding_backward, word_embedding_forward
from .gradcheck import numerical_gradient, numerical_gradient_array, rel_error
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .losses import mean_squared_error, temporal_softmax_loss
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .optim import SGD, Adam, clip_grad_norm, clip_grad_value, global_norm
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

__version__ = "0.1.0"

# Submodules loaded lazily on attribute access (PEP 562); each holds one chapter's code.
_SUBMODULES = (
    "analysis", "batched", "cells", "charlm", "cli", "esn", "experiments", "gates", "hf", "init", "interop", "io", "layers",
    "linear_recurrence", "models",
    "plotting", "regularizers", "rtrl", "seq2seq", "signals", "sliders", "stats", "tasks", "train",
)


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'rnnlib' has no attribute {name!r}")


__all__ = [
    "rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
    "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward",
    "gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward",
    "word_embedding_forward", "word_embedding_backward",
    "temporal_affine_forward", "temporal_affine_backward",
    "temporal_softmax_loss", "mean_squared_error",
    "sigmoid", "tanh", "relu", "softmax", "log_softmax",
    "numerical_gradient", "numerical_gradient_array", "rel_error",
    "SGD", "Adam", "clip_grad_norm", "clip_grad_value", "global_norm",
    "ArgumentTypeError", "NonFiniteError",
]
