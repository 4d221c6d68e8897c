r"""Word embeddings: integer symbols to vectors, the input layer of a language model.

Row :math:`k` of ``W`` is the vector of symbol :math:`k`, so the input at step t is
:math:`u_t = W[x_t]`, the same as multiplying a one-hot row vector by ``W``.
"""
from typing import NamedTuple

import numpy as np

from ._validation import check_array, check_cache, check_indices


class EmbeddingCache(NamedTuple):
    """What :func:`word_embedding_backward` needs (a tuple, still unpackable)."""

    x: np.ndarray   #: (N, T), the symbol indices
    W: np.ndarray   #: (V, D), the vectors


def word_embedding_forward(x, W):
    r"""Look up the vectors of integer inputs.

    Parameters
    ----------
    x : ndarray of int, shape (N, T)
        Symbol indices in ``[0, V)``.
    W : ndarray, shape (V, D)
        One D-dimensional vector per symbol.

    Returns
    -------
    out : ndarray, shape (N, T, D)
        A new array (a copy of the rows, never a view of ``W``).
    cache : EmbeddingCache
        ``(x, W)``.
    """
    check_array("W", W, ndim=2)
    V, D = W.shape
    if V == 0 or D == 0:
        raise ValueError(f"W must have shape (V, D) with V, D >= 1; got {W.shape}")
    check_indices("x", x, V, ndim=2)
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have shape (N, T) with N, T >= 1; got {x.shape}")
    return W[x], EmbeddingCache(x, W)


def word_embedding_backward(dout, cache):
    r"""Gradient of :func:`word_embedding_forward` with respect to ``W``.

    Each row of ``W`` collects the gradients of every position that used it,
    :math:`\partial L/\partial W_k = \sum_{n,t:\,x_{nt}=k} \partial L/\partial u_{nt}`.

    Parameters
    ----------
    dout : ndarray, shape (N, T, D)
    cache : EmbeddingCache
        From :func:`word_embedding_forward`.

    Returns
    -------
    dW : ndarray, shape (V, D)
    """
    x, W = check_cache(cache, EmbeddingCache, "word_embedding_forward")
    check_array("dout", dout, shape=x.shape + (W.shape[1],), dtype=W.dtype)
    dW = np.zeros_like(W)
    np.add.at(dW, x.ravel(), dout.reshape(-1, W.shape[1]))
    return dW
