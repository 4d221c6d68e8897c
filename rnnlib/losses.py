r"""Losses on sequences of outputs, each returning the loss and its gradient.

Both reject NaN or infinite inputs with a ``ValueError``: a loss that silently becomes
NaN is the most common way a training run dies unnoticed.
"""
import numpy as np

from ._validation import check_array, check_finite, check_shape
from .activations import log_softmax


def _check_mask(mask, shape):
    if mask is None:
        return None
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a NumPy array of shape {shape}; got {type(mask).__name__}")
    check_shape("mask", mask, shape)
    if mask.dtype != bool and not np.all((mask == 0) | (mask == 1)):
        raise ValueError("mask must be boolean (or hold only 0 and 1)")
    return mask.astype(bool)


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
    check_array("x", x, ndim=3)
    check_finite("x", x)
    N, T, V = x.shape
    if not isinstance(y, np.ndarray) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be an integer array of shape ({N}, {T}); got "
                         f"{getattr(y, 'dtype', type(y).__name__)}")
    check_shape("y", y, (N, T))
    mask = _check_mask(mask, (N, T))
    if y[mask].size and (y[mask].min() < 0 or y[mask].max() >= V):
        raise ValueError(f"y must hold classes in [0, {V}) on unmasked steps")
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
    check_array("pred", pred)
    check_finite("pred", pred)
    check_array("target", target, shape=pred.shape)
    check_finite("target", target)
    if mask is not None:
        shape = pred.shape[:2] if mask.ndim == 2 and pred.ndim == 3 else pred.shape
        mask = _check_mask(mask, shape)
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
