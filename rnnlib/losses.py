r"""Losses on sequences of outputs, each returning the loss and its gradient.

Both reject NaN or infinite inputs with :class:`rnnlib._validation.NonFiniteError` (a
``ValueError`` naming the argument): a loss that silently becomes NaN is the most common
way a training run dies unnoticed, and the training loop catches that class to stop a
diverging run.
"""
import numpy as np

from ._validation import ArgumentTypeError, check_array, check_mask
from .activations import log_softmax


def temporal_softmax_loss(x, y, mask):
    r"""Softmax cross-entropy at every unmasked time step.

    .. math::

        L = -\frac{1}{N} \sum_{n=1}^{N} \sum_{t=1}^{T} m_{nt}
            \log \operatorname{softmax}(x_{nt})_{y_{nt}}

    Parameters
    ----------
    x : ndarray, shape (N, T, V)
        Scores over a vocabulary of V symbols.
    y : ndarray of int, shape (N, T)
        Target symbols in ``[0, V)``.
    mask : ndarray of bool, shape (N, T)
        Which steps count (padding and steps with no target are ``False``).

    Returns
    -------
    loss : float
        Summed over unmasked steps, averaged over the batch.
    dx : ndarray, shape (N, T, V)
        Gradient of the loss with respect to ``x``.
    """
    check_array("x", x, ndim=3)       # NonFiniteError for a diverged network's scores
    N, T, V = x.shape
    if N == 0 or T == 0 or V == 0:
        raise ValueError(f"x must have shape (N, T, V) with N, T, V >= 1; got {x.shape}")
    check_array("y", y, floating=False)
    if y.dtype.kind not in "iu":
        raise ArgumentTypeError(f"y must be an integer array of shape ({N}, {T}); got "
                                f"dtype {y.dtype}")
    check_array("y", y, shape=(N, T), floating=False)
    mask = check_mask("mask", mask, (N, T))
    ym = y[mask]
    if ym.size and (ym.min() < 0 or ym.max() >= V):
        raise ValueError(f"y must hold classes in [0, {V}) on unmasked steps; got values "
                         f"from {ym.min()} to {ym.max()}")
    logp = log_softmax(x).reshape(N * T, V)
    rows = np.arange(N * T)
    yf = np.where(mask, y, 0).ravel()
    m = mask.ravel()
    loss = -logp[rows, yf][m].sum() / N
    dx = np.exp(logp)
    dx[rows, yf] -= 1
    dx *= m[:, None] / N
    return float(loss), dx.reshape(N, T, V).astype(x.dtype, copy=False)


def mean_squared_error(pred, target, mask=None):
    r"""Mean squared error over the unmasked entries.

    .. math::

        L = \frac{1}{|M|} \sum_{(n,t,k) \in M} (\hat y_{ntk} - y_{ntk})^2

    Parameters
    ----------
    pred : ndarray, shape (N, T, K) or any shape
        Predictions :math:`\hat y`.
    target : ndarray, same shape as ``pred``
    mask : ndarray of bool, shape (N, T) or the shape of ``pred``, optional
        Which entries count; a mask of shape (N, T) applies to all K outputs of a step.

    Returns
    -------
    loss : float
    dpred : ndarray, same shape as ``pred``
    """
    check_array("pred", pred)         # NonFiniteError for a diverged network's outputs
    check_array("target", target, shape=pred.shape, dtype=pred.dtype)
    if mask is not None:
        check_array("mask", mask, floating=False)
        shape = pred.shape[:2] if mask.ndim == 2 and pred.ndim == 3 else pred.shape
        mask = check_mask("mask", mask, shape)
        if mask.shape != pred.shape:
            mask = np.broadcast_to(mask[..., None], pred.shape)
        count = int(mask.sum())
        if count == 0:
            raise ValueError("mask selects no entries: the mean squared error is undefined")
    else:
        count = pred.size
        if count == 0:
            raise ValueError("pred is empty: the mean squared error is undefined")
    diff = pred - target
    if mask is not None:
        diff = np.where(mask, diff, 0)
    loss = float(np.sum(diff * diff) / count)
    return loss, (2.0 / count) * diff
