r"""Numerically stable activations and their derivatives.

Every function accepts arrays of any shape and magnitude: ``sigmoid(1e3)``,
``softmax`` and ``log_softmax`` of scores near :math:`\pm 10^3` give finite values
without floating-point warnings.
"""
import numpy as np


def sigmoid(a, out=None):
    r"""Logistic function :math:`\sigma(a) = 1 / (1 + e^{-a})`.

    Computed as :math:`\tfrac12 (1 + \tanh(a/2))`, which never overflows and is accurate
    to about :math:`10^{-16}` in absolute terms (values below that round to 0 or 1).
    ``out`` may be ``a`` itself for an in-place update.
    """
    out = np.multiply(a, 0.5, out=out)
    np.tanh(out, out=out)
    out *= 0.5
    out += 0.5
    return out


def tanh(a, out=None):
    r"""Hyperbolic tangent, :math:`\tanh'(a) = 1 - \tanh(a)^2`."""
    return np.tanh(a, out=out)


def relu(a, out=None):
    r"""Rectifier :math:`\max(a, 0)`, the activation of rectifier-unit RNNs."""
    return np.maximum(a, 0, out=out)


def log_softmax(scores, axis=-1):
    r"""Logarithm of the softmax along ``axis``, stable by subtracting the maximum:
    :math:`\log p_k = s_k - m - \log \sum_j e^{s_j - m}` with :math:`m = \max_j s_j`."""
    shifted = scores - scores.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(scores, axis=-1):
    r"""Softmax :math:`p_k = e^{s_k} / \sum_j e^{s_j}` along ``axis``, stable for
    scores of any magnitude."""
    e = np.exp(scores - scores.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


#: Activations of the vanilla RNN by name: the function and its derivative written in
#: terms of the activation's *output* h (what the backward pass has at hand).
ACTIVATIONS = {
    "tanh": (tanh, lambda h: 1.0 - h * h),
    "relu": (relu, lambda h: (h > 0).astype(h.dtype)),
}


def get_activation(name):
    """Return ``(f, df_from_output)`` for an activation name, or raise ValueError."""
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation must be one of {sorted(ACTIVATIONS)}; got {name!r}") from None
