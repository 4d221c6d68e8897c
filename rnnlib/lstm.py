r"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers
et al. 2000): one step and a whole sequence, forward and backward.

With the four gate blocks stacked in the order i, f, o, g (input, forget, output gate and
the candidate), in row-vector form:

.. math::

    [a^i, a^f, a^o, a^g] &= u_t W_{uh} + h_{t-1} W_{hh} + b, \\
    i = \sigma(a^i),\; f &= \sigma(a^f),\; o = \sigma(a^o),\; g = \tanh(a^g), \\
    c_t = f \odot c_{t-1} + i \odot g, &\qquad h_t = o \odot \tanh(c_t),

with ``Wx`` of shape (D, 4H), ``Wh`` of shape (H, 4H) and ``b`` of shape (4H,).
Derived in the chapter "LSTM and GRU". As in :mod:`rnnlib.rnn`, the step functions are
written for reading and the sequence functions for speed (input projections hoisted out
of the loop, element-wise factors of the backward pass precomputed for all steps,
weight gradients as single products). Inside the sequence functions the gate blocks are
reordered to o, i, f, g, and every per-step array is feature-major, (features, N): the
recurrent product is :math:`W_{hh}^\top h_{t-1}^\top`, and each gate block of a step is
then one contiguous slab, so each element-wise operation is a single pass over
contiguous memory (NumPy is several times slower on the strided column blocks of a
batch-major (N, 4H) array).
"""
import numpy as np

from ._validation import check_array, check_sequence_args, check_step_args
from .activations import sigmoid


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    r"""One LSTM step.

    Parameters
    ----------
    x : ndarray, shape (N, D)
    prev_h : ndarray, shape (N, H)
    prev_c : ndarray, shape (N, H)
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)

    Returns
    -------
    next_h : ndarray, shape (N, H)
    next_c : ndarray, shape (N, H)
    cache : tuple
        What :func:`lstm_step_backward` needs.
    """
    N, D, H = check_step_args(x, prev_h, Wx, Wh, b, gates=4)
    check_array("prev_c", prev_c, shape=(N, H), dtype=x.dtype)
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    r"""Backward pass of :func:`lstm_step_forward`.

    The cell state receives the gradient from the output and from the next step,
    :math:`\partial L/\partial c_t = \partial L/\partial c_t^{\text{next}} +
    \partial L/\partial h_t \odot o \odot (1 - \tanh^2 c_t)`, and passes it back through
    the forget gate only: :math:`\partial L/\partial c_{t-1} = f \odot
    \partial L/\partial c_t` (the "constant error carousel").

    Parameters
    ----------
    dnext_h, dnext_c : ndarray, shape (N, H)
    cache : tuple
        From :func:`lstm_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dprev_h : ndarray, shape (N, H)
    dprev_c : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = cache
    check_array("dnext_h", dnext_h, shape=prev_h.shape, dtype=x.dtype)
    check_array("dnext_c", dnext_c, shape=prev_c.shape, dtype=x.dtype)
    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)
    da = np.concatenate([
        dc * g * i * (1 - i),                  # input gate
        dc * prev_c * f * (1 - f),             # forget gate
        dnext_h * tanh_c * o * (1 - o),        # output gate
        dc * i * (1 - g ** 2),                 # candidate
    ], axis=1)
    return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def _gate_major(Wx, Wh, b):
    """Wx, Wh, b with the gate blocks reordered from i, f, o, g to o, i, f, g, and the
    column order used. The sigmoid gates (o, i, f) then sit side by side, and so do the
    gates that the cell gradient multiplies (i, f, g)."""
    H = Wh.shape[0]
    order = np.r_[2 * H:3 * H, 0:2 * H, 3 * H:4 * H]
    return Wx[:, order], Wh[:, order], b[order], order


def _feature_major_projection(x, Wx, Wh, b, n_sigmoid):
    r"""The input projection of a gated sequence function, feature-major.

    :math:`\sigma(a) = (1 + \tanh(a/2)) / 2`: with the weights and bias of the first
    ``n_sigmoid`` rows (the sigmoid gates) halved, exact in floating point, one tanh over
    all blocks serves every gate.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    Wx : ndarray, shape (D, G)
    Wh : ndarray, shape (H, G)
    b : ndarray, shape (G,)
    n_sigmoid : int

    Returns
    -------
    gates : ndarray, shape (T, G, N)
        :math:`(u_t W_{uh} + b)^\top` for every t, sigmoid rows halved.
    WhT : ndarray, shape (G, H)
        :math:`W_{hh}^\top`, C-contiguous, sigmoid rows halved.
    xa : ndarray, shape (T, D+1, N)
        :math:`u_t^\top` with a row of ones below, for the weight and bias gradients.
    """
    N, T, D = x.shape
    half = np.ones((Wh.shape[1], 1), dtype=x.dtype)
    half[:n_sigmoid] = 0.5
    WxbT = np.empty((Wx.shape[1], D + 1), dtype=x.dtype)       # [W_uh^T | b]
    WxbT[:, :D] = Wx.T
    WxbT[:, D] = b
    WxbT *= half
    xa = np.empty((T, D + 1, N), dtype=x.dtype)
    xa[:, :D] = x.transpose(1, 2, 0)
    xa[:, D] = 1
    return np.matmul(WxbT, xa), np.ascontiguousarray(Wh.T * half), xa


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    r"""Run an LSTM over a whole sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx : ndarray, shape (D, 4H)
    Wh : ndarray, shape (H, 4H)
    b : ndarray, shape (4H,)
    c0 : ndarray, shape (N, H), optional
        Initial cell state; zeros when omitted.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states :math:`h_1, \dots, h_T`.
    cache : tuple
        What :func:`lstm_backward` needs. ``cache[3]`` holds the cell states
        :math:`c_0, \dots, c_T` feature-major, shape (T+1, H, N): ``cache[3][t].T`` is
        :math:`c_t`.
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=4)
    dtype = x.dtype
    if c0 is not None:
        check_array("c0", c0, shape=(N, H), dtype=dtype)
    Wx_, Wh_, b_, order = _gate_major(Wx, Wh, b)
    gates, WhT, xa = _feature_major_projection(x, Wx_, Wh_, b_, n_sigmoid=3 * H)
    hs = np.empty((T + 1, H, N), dtype=dtype)
    cs = np.empty((T + 1, H, N), dtype=dtype)
    tanh_cs = np.empty((T, H, N), dtype=dtype)
    hs[0] = h0.T
    cs[0] = 0 if c0 is None else c0.T
    rec = np.empty((4 * H, N), dtype=dtype)
    ig = np.empty((H, N), dtype=dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(WhT, hs[t], out=rec)
        np.add(a, rec, out=a)
        np.tanh(a, out=a)                                       # tanh(a/2) for o, i, f
        sig = a[:3 * H]
        np.multiply(sig, 0.5, out=sig)
        np.add(sig, 0.5, out=sig)                               # o, i, f = sigma(a)
        o, i, f, g = a[:H], a[H:2 * H], a[2 * H:3 * H], a[3 * H:]
        np.multiply(f, cs[t], out=cs[t + 1])
        np.multiply(i, g, out=ig)
        np.add(cs[t + 1], ig, out=cs[t + 1])
        np.tanh(cs[t + 1], out=tanh_cs[t])
        np.multiply(o, tanh_cs[t], out=hs[t + 1])
    h = np.ascontiguousarray(hs[1:].transpose(2, 0, 1))
    return h, (xa, hs, gates, cs, tanh_cs, Wx_, Wh_, order)


def lstm_backward(dh, cache):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Only :math:`\partial L/\partial h_t` and :math:`\partial L/\partial c_t` travel
    backwards through the loop; every other factor of the gate gradients depends on the
    forward pass alone and is computed for all steps at once before the loop.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradients on every hidden state.
    cache : tuple
        From :func:`lstm_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    xa, hs, gates, cs, tanh_cs, Wx_, Wh_, order = cache
    T, D1, N = xa.shape
    H = Wh_.shape[0]
    dtype = xa.dtype
    check_array("dh", dh, shape=(N, T, H), dtype=dtype)
    o, i, f, g = (gates[:, k * H:(k + 1) * H] for k in range(4))
    # Factors that multiply the travelling gradients, for every step at once (gate
    # order o, i, f, g): da_o = dh*tanh(c)*o(1-o), da_i = dc*g*i(1-i),
    # da_f = dc*c_{t-1}*f(1-f), da_g = dc*i*(1-g^2)
    da = np.empty((T, 4 * H, N), dtype=dtype)
    sig, dsig = gates[:, :3 * H], da[:, :3 * H]
    np.multiply(sig, sig, out=dsig)
    np.subtract(sig, dsig, out=dsig)                            # s (1 - s)
    da[:, :H] *= tanh_cs
    da[:, H:2 * H] *= g
    da[:, 2 * H:3 * H] *= cs[:-1]
    da_g = da[:, 3 * H:]
    np.multiply(g, g, out=da_g)
    np.subtract(1, da_g, out=da_g)
    da_g *= i
    dc_from_h = tanh_cs * tanh_cs                               # d c_t / d h_t factor
    np.subtract(1, dc_from_h, out=dc_from_h)
    dc_from_h *= o
    dhs = dh.transpose(1, 2, 0)                                 # (T, H, N) view
    dh_next = np.zeros((H, N), dtype=dtype)
    dc_next = np.zeros((H, N), dtype=dtype)
    dh_t = np.empty((H, N), dtype=dtype)
    dc = np.empty((H, N), dtype=dtype)
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh_t)
        np.multiply(dh_t, dc_from_h[t], out=dc)
        np.add(dc, dc_next, out=dc)
        da_o = da[t, :H]
        np.multiply(da_o, dh_t, out=da_o)
        da_c = da[t, H:].reshape(3, H, N)                       # the blocks times dc
        np.multiply(da_c, dc, out=da_c)
        np.multiply(dc, f[t], out=dc_next)
        np.matmul(Wh_, da[t], out=dh_next)
    # Sums over time and batch as single products: gate-major rows, (t, n) columns.
    da2 = da.transpose(1, 0, 2).reshape(4 * H, T * N)
    dx = (da2.T @ Wx_.T).reshape(T, N, D1 - 1).transpose(1, 0, 2)
    dWxb = da2 @ xa.transpose(1, 0, 2).reshape(D1, T * N).T    # [dW_uh^T | db]
    dWh = hs[:-1].transpose(1, 0, 2).reshape(H, T * N) @ da2.T
    # back to the gate order i, f, o, g of the weights
    inverse = np.argsort(order)
    return (dx, np.ascontiguousarray(dh_next.T), np.ascontiguousarray(dWxb[inverse, :-1].T),
            dWh[:, inverse], dWxb[inverse, -1])
