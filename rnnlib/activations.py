r"""Numerically stable activations and their derivatives.

Every function accepts float arrays of any shape and magnitude: ``sigmoid`` of 1e3,
``softmax`` and ``log_softmax`` of scores near :math:`\pm 10^3` give finite values
without floating-point warnings. Inputs must be finite float32 or float64 NumPy arrays
(NaN or infinity raise :class:`rnnlib._validation.NonFiniteError`).
"""
import numpy as np

from ._validation import ArgumentTypeError, check_array, check_choice, check_int


def _check_out(a, out):
    """``out`` is None or a float array of ``a``'s shape and dtype (possibly ``a``)."""
    if out is not None:
        check_array("out", out, shape=a.shape, dtype=a.dtype, finite=False)
    return out


def sigmoid(a, out=None):
    r"""Logistic function :math:`\sigma(a) = 1 / (1 + e^{-a})`.

    Computed as :math:`\tfrac12 (1 + \tanh(a/2))`, which never overflows and is accurate
    to about :math:`10^{-16}` in absolute terms (values below that round to 0 or 1).
    ``out`` may be ``a`` itself for an in-place update.
    """
    check_array("a", a)
    out = np.multiply(a, 0.5, out=_check_out(a, out))
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(a, out=None):
    r"""Hyperbolic tangent, :math:`\tanh'(a) = 1 - \tanh(a)^2`."""
    check_array("a", a)
    return np.tanh(a, out=_check_out(a, out))


def relu(a, out=None):
    r"""Rectifier :math:`\max(a, 0)`, the activation of rectifier-unit RNNs."""
    check_array("a", a)
    return np.maximum(a, 0, out=_check_out(a, out))


def _check_scores(scores, axis):
    check_array("scores", scores)
    if scores.ndim == 0:
        raise ValueError("scores must have at least one dimension; got a 0-d array")
    axis = check_int("axis", axis, low=-scores.ndim, high=scores.ndim - 1)
    if scores.shape[axis] == 0:
        raise ValueError(f"scores must hold at least one score along axis {axis}; "
                         f"got shape {scores.shape}")
    return axis


def log_softmax(scores, axis=-1):
    r"""Logarithm of the softmax along ``axis``, stable by subtracting the maximum:
    :math:`\log p_k = s_k - m - \log \sum_j e^{s_j - m}` with :math:`m = \max_j s_j`."""
    axis = _check_scores(scores, axis)
    shifted = scores - scores.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(scores, axis=-1):
    r"""Softmax :math:`p_k = e^{s_k} / \sum_j e^{s_j}` along ``axis``, stable for
    scores of any magnitude."""
    axis = _check_scores(scores, axis)
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _relu(a, out=None):
    return np.maximum(a, 0, out=out)


#: Activations of the vanilla RNN by name: the function and its derivative written in
#: terms of the activation's *output* h (what the backward pass has at hand). These are
#: the unchecked kernels of :func:`tanh` and :func:`relu`, for the sequence functions,
#: which have validated their arguments already.
ACTIVATIONS = {
    "tanh": (np.tanh, lambda h: 1.0 - h * h),
    "relu": (_relu, lambda h: (h > 0).astype(h.dtype)),
}


def get_activation(name):
    """Return ``(f, df_from_output)`` for an activation name, or raise ValueError."""
    if not isinstance(name, str):
        raise ArgumentTypeError(f"activation must be one of {sorted(ACTIVATIONS)}; "
                                f"got {name!r} ({type(name).__name__})")
    return ACTIVATIONS[check_choice("activation", name, ACTIVATIONS)]
