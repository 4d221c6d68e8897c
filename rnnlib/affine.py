r"""The temporal affine readout :math:`y_t = h_t W_{hy} + b_y`, applied at every step."""
from typing import NamedTuple

import numpy as np

from ._validation import check_array, check_cache


class AffineCache(NamedTuple):
    """What :func:`temporal_affine_backward` needs (a tuple, still unpackable)."""

    x: np.ndarray   #: (N, T, H), the input
    w: np.ndarray   #: (H, M), the weights


def temporal_affine_forward(x, w, b):
    r"""Apply the same affine map at every time step.

    Parameters
    ----------
    x : ndarray, shape (N, T, H)
        Hidden states :math:`h_t`.
    w : ndarray, shape (H, M)
        Readout weights :math:`W_{hy}`.
    b : ndarray, shape (M,)
        Readout bias :math:`b_y`.

    Returns
    -------
    out : ndarray, shape (N, T, M)
        The pre-activations :math:`h_t W_{hy} + b_y` (apply :math:`\sigma_y` in the loss),
        a new array.
    cache : AffineCache
        ``(x, w)``.
    """
    check_array("x", x, ndim=3)
    N, T, H = x.shape
    if N == 0 or T == 0 or H == 0:
        raise ValueError(f"x must have shape (N, T, H) with N, T, H >= 1; got {x.shape}")
    check_array("w", w, ndim=2, dtype=x.dtype)
    if w.shape[0] != H or w.shape[1] == 0:
        raise ValueError(f"w must have shape (H, M) with H={H} matching x and M >= 1; "
                         f"got {w.shape}")
    check_array("b", b, shape=(w.shape[1],), dtype=x.dtype)
    out = (x.reshape(N * T, H) @ w).reshape(N, T, -1)
    out += b
    return out, AffineCache(x, w)


def temporal_affine_backward(dout, cache):
    r"""Backward pass of :func:`temporal_affine_forward`.

    Parameters
    ----------
    dout : ndarray, shape (N, T, M)
    cache : AffineCache
        From :func:`temporal_affine_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, H)
    dw : ndarray, shape (H, M)
    db : ndarray, shape (M,)
    """
    x, w = check_cache(cache, AffineCache, "temporal_affine_forward")
    N, T, H = x.shape
    M = w.shape[1]
    check_array("dout", dout, shape=(N, T, M), dtype=x.dtype)
    d2 = dout.reshape(N * T, M)
    dx = (d2 @ w.T).reshape(N, T, H)
    return dx, x.reshape(N * T, H).T @ d2, d2.sum(axis=0)
