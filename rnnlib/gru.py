r"""The gated recurrent unit (Cho et al. 2014) in the variant of PyTorch's ``nn.GRU``.

Gate blocks in the order r, z, n (reset, update, candidate). The reset gate multiplies
the recurrent product *including its bias* :math:`b_{hn}`, as in PyTorch (Cho et al.
apply it to :math:`h_{t-1}` before the product instead):

.. math::

    r &= \sigma(u_t W_{ur} + h_{t-1} W_{hr} + b_r), \qquad
    z = \sigma(u_t W_{uz} + h_{t-1} W_{hz} + b_z), \\
    n &= \tanh\big(u_t W_{un} + b_n + r \odot (h_{t-1} W_{hn} + b_{hn})\big), \qquad
    h_t = (1 - z) \odot n + z \odot h_{t-1}.

``Wx`` (D, 3H) and ``Wh`` (H, 3H) stack the blocks r, z, n; ``b`` (3H,) holds the
input-side biases (for r and z it also absorbs PyTorch's recurrent biases, since they
simply add) and ``bhn`` (H,) the recurrent bias of the candidate. Derived in the chapter
"LSTM and GRU"; the step functions are for reading, the sequence functions for speed,
shaped as explained in :mod:`rnnlib.lstm` (feature-major arrays, one product for the
input projections and one for each weight gradient, exp in place of tanh). The
candidate's recurrent term is kept as :math:`-2 (h_{t-1} W_{hn} + b_{hn})`, the form its
exp needs.
"""
from typing import NamedTuple

import numpy as np

from ._validation import check_array, check_cache, check_sequence_args, check_step_args
from .activations import sigmoid
from .gates import (_gate_projection, _scratch, _views, exp_scale, sigmoid_from_exponent,
                    tanh_from_exponent)


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_forward` keeps for :func:`gru_step_backward`."""

    x: np.ndarray          #: (N, D), the input u_t
    prev_h: np.ndarray     #: (N, H), h_{t-1}
    Wx: np.ndarray         #: (D, 3H)
    Wh: np.ndarray         #: (H, 3H)
    r: np.ndarray          #: (N, H), reset gate
    z: np.ndarray          #: (N, H), update gate
    n: np.ndarray          #: (N, H), candidate
    hn: np.ndarray         #: (N, H), h_{t-1} W_hn + b_hn


class GRUCache(NamedTuple):
    """What :func:`gru_forward` keeps for :func:`gru_backward`; feature-major arrays."""

    xa: np.ndarray         #: (D+1, T, N), the inputs u_t^T with a row of ones
    hs: np.ndarray         #: (H, T+1, N), ``hs[:, t]`` is h_t^T, t = 0..T
    gates: np.ndarray      #: (T, 3H, N), r, z, n of every step
    hns: np.ndarray        #: (T, H, N), -2 (h_{t-1} W_hn + b_hn)^T
    Wx: np.ndarray         #: (D, 3H)
    Wh: np.ndarray         #: (H, 3H)


def gru_step_forward(x, prev_h, Wx, Wh, b, bhn):
    r"""One GRU step (PyTorch's variant, see the module docstring).

    Parameters
    ----------
    x : ndarray, shape (N, D)
    prev_h : ndarray, shape (N, H)
    Wx : ndarray, shape (D, 3H)
    Wh : ndarray, shape (H, 3H)
    b : ndarray, shape (3H,)
    bhn : ndarray, shape (H,)

    Returns
    -------
    next_h : ndarray, shape (N, H)
    cache : GRUStepCache
        What :func:`gru_step_backward` needs (a named tuple).
    """
    N, D, H = check_step_args(x, prev_h, Wx, Wh, b, gates=3)
    check_array("bhn", bhn, shape=(H,), dtype=x.dtype)
    ax = x @ Wx + b
    ah = prev_h @ Wh
    r = sigmoid(ax[:, :H] + ah[:, :H])
    z = sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    hn = ah[:, 2 * H:] + bhn
    n = np.tanh(ax[:, 2 * H:] + r * hn)
    next_h = (1 - z) * n + z * prev_h
    return next_h, GRUStepCache(x, prev_h, Wx, Wh, r, z, n, hn)


def gru_step_backward(dnext_h, cache):
    r"""Backward pass of :func:`gru_step_forward`.

    Parameters
    ----------
    dnext_h : ndarray, shape (N, H)
    cache : GRUStepCache
        From :func:`gru_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dprev_h : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 3H)
    dWh : ndarray, shape (H, 3H)
    db : ndarray, shape (3H,)
    dbhn : ndarray, shape (H,)
    """
    x, prev_h, Wx, Wh, r, z, n, hn = check_cache(cache, GRUStepCache, "gru_step_forward")
    check_array("dnext_h", dnext_h, shape=prev_h.shape, dtype=x.dtype)
    dan = dnext_h * (1 - z) * (1 - n ** 2)        # candidate pre-activation
    daz = dnext_h * (prev_h - n) * z * (1 - z)    # update gate pre-activation
    dar = dan * hn * r * (1 - r)                  # reset gate pre-activation
    dhn = dan * r                                 # recurrent product of the candidate
    dax = np.concatenate([dar, daz, dan], axis=1)         # input side
    dah = np.concatenate([dar, daz, dhn], axis=1)         # recurrent side
    dprev_h = dah @ Wh.T + dnext_h * z
    return dax @ Wx.T, dprev_h, x.T @ dax, prev_h.T @ dah, dax.sum(axis=0), dhn.sum(axis=0)


def gru_forward(x, h0, Wx, Wh, b, bhn):
    r"""Run a GRU over a whole sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx : ndarray, shape (D, 3H)
    Wh : ndarray, shape (H, 3H)
    b : ndarray, shape (3H,)
    bhn : ndarray, shape (H,)

    Returns
    -------
    h : ndarray, shape (N, T, H)
    cache : GRUCache
        What :func:`gru_backward` needs (a named tuple).
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=3)
    dtype = x.dtype
    check_array("bhn", bhn, shape=(H,), dtype=dtype)
    gin, WhT, xa = _gate_projection(x, Wx, Wh, b, exp_scale(2 * H, H, dtype), "gru.gin")
    bhn_col = -2 * bhn[:, None]
    # r, z, n of every step; -2 (W_hn^T h_{t-1} + b_hn); hs[:, t] = h_t^T: views of one
    # allocation, which malloc keeps for the next call (see rnnlib.gates._views)
    gates, hns, hs = _views(dtype, (T, 3 * H, N), (T, H, N), (H, T + 1, N))
    hs[:, 0] = h0.T
    rec = np.empty((3 * H, N), dtype=dtype)
    diff = np.empty((H, N), dtype=dtype)
    with np.errstate(over="ignore"):                            # e^m = inf: see exp_scale
        for t in range(T):
            a = gates[t]
            np.matmul(WhT, hs[:, t], out=rec)
            rz = a[:2 * H]
            np.add(rec[:2 * H], gin[:2 * H, t], out=rz)         # m = -a
            sigmoid_from_exponent(rz, check=False)              # r, z
            np.add(rec[2 * H:], bhn_col, out=hns[t])
            n = a[2 * H:]
            np.multiply(a[:H], hns[t], out=n)
            np.add(n, gin[2 * H:, t], out=n)                    # m = -2 a_n
            tanh_from_exponent(n, check=False)                  # n = tanh(a_n)
            # h_t = n + z * (h_{t-1} - n)
            np.subtract(hs[:, t], n, out=diff)
            np.multiply(diff, a[H:2 * H], out=diff)
            np.add(diff, n, out=hs[:, t + 1])
    h = hs[:, 1:].transpose(2, 1, 0).copy()                    # never a view of the cache
    return h, GRUCache(xa, hs, gates, hns, Wx, Wh)


def gru_backward(dh, cache):
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradients on every hidden state.
    cache : GRUCache
        From :func:`gru_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 3H)
    dWh : ndarray, shape (H, 3H)
    db : ndarray, shape (3H,)
    dbhn : ndarray, shape (H,)
    """
    xa, hs, gates, hns, Wx, Wh = check_cache(cache, GRUCache, "gru_forward")
    D1, T, N = xa.shape
    H = Wh.shape[0]
    dtype = xa.dtype
    check_array("dh", dh, shape=(N, T, H), dtype=dtype)
    r, z, n = (gates[:, k * H:(k + 1) * H] for k in range(3))
    # Factors of the travelling gradient dh_t, for every step at once.
    # (temporaries in scratch arrays, see rnnlib.gates._scratch)
    k_n, k_z, k_r, tmp = (_scratch(f"gru.{name}", (T, H, N), dtype)
                          for name in ("k_n", "k_z", "k_r", "tmp"))
    np.subtract(1, z, out=tmp)
    np.multiply(n, n, out=k_n)
    np.subtract(1, k_n, out=k_n)
    k_n *= tmp                                  # da_n = dh_t * k_n, (1 - z)(1 - n^2)
    np.subtract(hs[:, :T].transpose(1, 0, 2), n, out=k_z)
    k_z *= z
    k_z *= tmp                                  # da_z = dh_t * k_z, (h_{t-1} - n) z (1 - z)
    np.multiply(hns, r, out=k_r)
    np.subtract(r, 1, out=tmp)
    k_r *= tmp
    k_r /= 2                                    # da_r = da_n * k_r (hns is -2 hn)
    # Rows [da_n * r, da_r, da_z, da_n] of da[:, t]: the first three multiply W_hh (its
    # blocks taken in the order n, r, z), the last three W_uh (in its own order r, z, n).
    # After the loop da is the matrix (4H, T*N) of the weight-gradient products.
    da = _scratch("gru.da", (4 * H, T, N), dtype)
    Wh_nrz = np.ascontiguousarray(np.concatenate([Wh[:, 2 * H:], Wh[:, :2 * H]], axis=1))
    dhs = dh.transpose(1, 2, 0)                 # (T, H, N) view
    dh_next = np.zeros((H, N), dtype=dtype)
    dh_t = np.empty((H, N), dtype=dtype)
    direct = np.empty((H, N), dtype=dtype)
    for t in range(T - 1, -1, -1):
        d = da[:, t]
        np.add(dhs[t], dh_next, out=dh_t)
        np.multiply(dh_t, k_n[t], out=d[3 * H:])
        np.multiply(d[3 * H:], k_r[t], out=d[H:2 * H])
        np.multiply(dh_t, k_z[t], out=d[2 * H:3 * H])
        np.multiply(d[3 * H:], r[t], out=d[:H])
        np.matmul(Wh_nrz, d[:3 * H], out=dh_next)
        np.multiply(dh_t, z[t], out=direct)
        np.add(dh_next, direct, out=dh_next)
    # Sums over time and batch as single products: rows as above, (t, n) columns.
    da2 = da.reshape(4 * H, T * N)
    dax, dah = da2[H:], da2[:3 * H]
    dx = (dax.T @ Wx.T).reshape(T, N, D1 - 1).transpose(1, 0, 2)
    dWxb = dax @ xa.reshape(D1, T * N).T                       # [dW_uh^T | db]
    dWh_nrz = hs[:, :T].reshape(H, T * N) @ dah.T
    dWh = np.concatenate([dWh_nrz[:, H:], dWh_nrz[:, :H]], axis=1)
    return (dx, np.ascontiguousarray(dh_next.T), np.ascontiguousarray(dWxb[:, :-1].T), dWh,
            dWxb[:, -1].copy(), dah[:H].sum(axis=1))
