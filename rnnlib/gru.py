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
"LSTM and GRU"; the step functions are for reading, the sequence functions for speed.
"""
import numpy as np

from ._validation import check_array, check_sequence_args, check_step_args
from .activations import sigmoid


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
    cache : tuple
        What :func:`gru_step_backward` needs.
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
    return next_h, (x, prev_h, Wx, Wh, r, z, n, hn)


def gru_step_backward(dnext_h, cache):
    r"""Backward pass of :func:`gru_step_forward`.

    Parameters
    ----------
    dnext_h : ndarray, shape (N, H)
    cache : tuple
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
    x, prev_h, Wx, Wh, r, z, n, hn = cache
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
    cache : tuple
        What :func:`gru_backward` needs.
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=3)
    dtype = x.dtype
    check_array("bhn", bhn, shape=(H,), dtype=dtype)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))              # (T, N, D)
    gates = np.matmul(xs.reshape(T * N, D), Wx).reshape(T, N, 3 * H)
    gates += b
    # sigma(a) = (1 + tanh(a/2)) / 2: halve the r, z pre-activations (exact in floating
    # point) and the sigmoid costs one tanh and an affine map.
    gates[..., :2 * H] *= 0.5
    Wh_half = Wh.copy()
    Wh_half[:, :2 * H] *= 0.5
    hns = np.empty((T, N, H), dtype=dtype)                       # h_{t-1} W_hn + b_hn
    hs = np.empty((T + 1, N, H), dtype=dtype)
    hs[0] = h0
    rec = np.empty((N, 3 * H), dtype=dtype)
    rhn = np.empty((N, H), dtype=dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(hs[t], Wh_half, out=rec)
        rz = a[:, :2 * H]
        rz += rec[:, :2 * H]
        np.tanh(rz, out=rz)
        rz *= 0.5
        rz += 0.5                                                # r, z
        np.add(rec[:, 2 * H:], bhn, out=hns[t])
        n = a[:, 2 * H:]
        np.multiply(a[:, :H], hns[t], out=rhn)
        n += rhn
        np.tanh(n, out=n)
        # h_t = n + z * (h_{t-1} - n)
        np.subtract(hs[t], n, out=hs[t + 1])
        hs[t + 1] *= a[:, H:2 * H]
        hs[t + 1] += n
    h = np.ascontiguousarray(hs[1:].transpose(1, 0, 2))
    return h, (xs, hs, gates, hns, Wx, Wh)


def gru_backward(dh, cache):
    r"""Backpropagation through time for :func:`gru_forward`.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradients on every hidden state.
    cache : tuple
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
    xs, hs, gates, hns, Wx, Wh = cache
    T, N, D = xs.shape
    H = Wh.shape[0]
    dtype = xs.dtype
    check_array("dh", dh, shape=(N, T, H), dtype=dtype)
    r, z, n = (gates[..., k * H:(k + 1) * H] for k in range(3))
    # Factors of the travelling gradient dh_t, for every step at once.
    k_n = (1 - z) * (1 - n * n)                 # da_n = dh_t * k_n
    k_z = (hs[:-1] - n) * z * (1 - z)           # da_z = dh_t * k_z
    k_r = hns * r * (1 - r)                     # da_r = da_n * k_r
    dah = np.empty((T, N, 3 * H), dtype=dtype)  # recurrent side [da_r, da_z, da_n * r]
    dan = np.empty((T, N, H), dtype=dtype)      # input side of the candidate
    dhs = dh.transpose(1, 0, 2)
    dh_next = np.zeros((N, H), dtype=dtype)
    dh_t = np.empty((N, H), dtype=dtype)
    direct = np.empty((N, H), dtype=dtype)
    WhT = np.ascontiguousarray(Wh.T)       # BLAS is faster on it than on the transposed view
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh_t)
        np.multiply(dh_t, k_n[t], out=dan[t])
        np.multiply(dan[t], k_r[t], out=dah[t, :, :H])
        np.multiply(dh_t, k_z[t], out=dah[t, :, H:2 * H])
        np.multiply(dan[t], r[t], out=dah[t, :, 2 * H:])
        np.matmul(dah[t], WhT, out=dh_next)
        np.multiply(dh_t, z[t], out=direct)
        dh_next += direct
    xs2 = xs.reshape(T * N, D)
    dah2 = dah.reshape(T * N, 3 * H)
    dan2 = dan.reshape(T * N, H)
    dWx = np.empty_like(Wx)
    dWx[:, :2 * H] = xs2.T @ dah2[:, :2 * H]
    dWx[:, 2 * H:] = xs2.T @ dan2
    dWh = hs[:-1].reshape(T * N, H).T @ dah2
    dx = dah2[:, :2 * H] @ Wx[:, :2 * H].T
    dx += dan2 @ Wx[:, 2 * H:].T
    db = np.concatenate([dah2[:, :2 * H].sum(axis=0), dan2.sum(axis=0)])
    dbhn = dah2[:, 2 * H:].sum(axis=0)
    return dx.reshape(T, N, D).transpose(1, 0, 2), dh_next, dWx, dWh, db, dbhn
