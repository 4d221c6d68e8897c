r"""Word embeddings: integer symbols to vectors, the input layer of a language model.

Row :math:`k` of ``W`` is the vector of symbol :math:`k`, so the input at step t is
:math:`u_t = W[x_t]`, the same as multiplying a one-hot row vector by ``W``.
"""
import numpy as np

from ._validation import check_array


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
    cache : tuple
        ``(x, W)``.
    """
    check_array("W", W, ndim=2)
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.integer):
        raise ValueError(f"x must be an integer array of symbol indices; got "
                         f"{getattr(x, 'dtype', type(x).__name__)}")
    check_array("x", x, ndim=2, floating=False)
    V = W.shape[0]
    if x.size and (x.min() < 0 or x.max() >= V):
        raise ValueError(f"x must hold indices in [0, {V}) for W of shape {W.shape}; "
                         f"got values in [{x.min()}, {x.max()}]")
    return W[x], (x, W)


def word_embedding_backward(dout, cache):
    r"""Gradient of :func:`word_embedding_forward` with respect to ``W``.

    Each row of ``W`` collects the gradients of every position that used it,
    :math:`\partial L/\partial W_k = \sum_{n,t:\,x_{nt}=k} \partial L/\partial u_{nt}`.

    Parameters
    ----------
    dout : ndarray, shape (N, T, D)
    cache : tuple
        From :func:`word_embedding_forward`.

    Returns
    -------
    dW : ndarray, shape (V, D)
    """
    x, W = cache
    check_array("dout", dout, shape=x.shape + (W.shape[1],), dtype=W.dtype)
    dW = np.zeros_like(W)
    np.add.at(dW, x.ravel(), dout.reshape(-1, W.shape[1]))
    return dW
