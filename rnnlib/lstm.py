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
written for reading and the sequence functions for speed:

- the input projections of all steps are one matrix product before the loop, and the
  weight gradients are single products over all steps after it;
- the element-wise factors of the backward pass are computed for all steps at once;
- the arrays of a step are feature-major, (features, N): the recurrent product is
  :math:`W_{hh}^\top h_{t-1}^\top`, each gate block of a step is one contiguous slab,
  and each element-wise operation is a single pass over contiguous memory (NumPy is
  several times slower on the strided column blocks of a batch-major (N, 4H) array);
- the arrays that enter the products over all steps are stored (features, T, N), so
  that they are (features, T N) matrices without a copy;
- one ``np.exp`` serves all four gates of a step (``exp_scale``), and one more gives
  :math:`\tanh(c_t) = 2 / (1 + e^{-2 c_t}) - 1`: NumPy's exp is faster than its tanh
  (1.7 times in float32, 2.3 times in float64 on the machine of ``benchmarks/``);
- the large temporaries (the input projections, the backward factors and the
  pre-activation gradients of all steps) are scratch arrays kept between calls
  (``rnnlib.gates._scratch``): a fresh array costs a page fault per 4 KiB page.
"""
from typing import NamedTuple

import numpy as np

from ._validation import (check_array, check_bool, check_cache, check_sequence_args,
                          check_step_args)
from .activations import sigmoid
from .gates import _gate_projection, _scratch, _views, exp_scale, tanh_from_exponent


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_forward` keeps for :func:`lstm_step_backward`."""

    x: np.ndarray          #: (N, D), the input u_t
    prev_h: np.ndarray     #: (N, H), h_{t-1}
    prev_c: np.ndarray     #: (N, H), c_{t-1}
    Wx: np.ndarray         #: (D, 4H)
    Wh: np.ndarray         #: (H, 4H)
    i: np.ndarray          #: (N, H), input gate
    f: np.ndarray          #: (N, H), forget gate
    o: np.ndarray          #: (N, H), output gate
    g: np.ndarray          #: (N, H), candidate
    tanh_c: np.ndarray     #: (N, H), tanh(c_t)


class LSTMCache(NamedTuple):
    """What :func:`lstm_forward` keeps for :func:`lstm_backward`; every array is
    feature-major (see the module docstring)."""

    xa: np.ndarray         #: (D+1, T, N), the inputs u_t^T with a row of ones
    hs: np.ndarray         #: (H, T+1, N), ``hs[:, t]`` is h_t^T, t = 0..T
    gates: np.ndarray      #: (T, 4H, N), i, f, o, g of every step
    cs: np.ndarray         #: (T+1, H, N), ``cs[t]`` is c_t^T, t = 0..T
    tanh_cs: np.ndarray    #: (T, H, N), tanh(c_t)^T, t = 1..T
    Wx: np.ndarray         #: (D, 4H)
    Wh: np.ndarray         #: (H, 4H)


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
    cache : LSTMStepCache
        What :func:`lstm_step_backward` needs (a named tuple).
    """
    N, D, H = check_step_args(x, prev_h, Wx, Wh, b, gates=4)
    check_array("prev_c", prev_c, shape=(N, H), dtype=x.dtype)
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), sigmoid(a[:, 2 * H:3 * H])
    g = np.tanh(a[:, 3 * H:])
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c)


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
    cache : LSTMStepCache
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
    x, prev_h, prev_c, Wx, Wh, i, f, o, g, tanh_c = check_cache(cache, LSTMStepCache,
                                                                "lstm_step_forward")
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


def lstm_forward(x, h0, Wx, Wh, b, c0=None, return_cell=False):
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
    return_cell : bool
        Also return the final cell state :math:`c_T` (to carry the state into the next
        call, or to start a decoder from it).

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states :math:`h_1, \dots, h_T`.
    c_T : ndarray, shape (N, H)
        The final cell state; only with ``return_cell=True`` (then the result is
        ``(h, c_T, cache)``).
    cache : LSTMCache
        What :func:`lstm_backward` needs (a named tuple); ``cache.cs[t].T`` is
        :math:`c_t`.
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=4)
    return_cell = check_bool("return_cell", return_cell)
    dtype = x.dtype
    if c0 is not None:
        check_array("c0", c0, shape=(N, H), dtype=dtype)
    gin, WhT, xa = _gate_projection(x, Wx, Wh, b, exp_scale(3 * H, H, dtype), "lstm.gin")
    # The cache's arrays are views of one allocation: glibc's malloc then keeps the block
    # for the next call instead of returning it (and its page faults) to the system.
    gates, hs, cs, tanh_cs = _views(dtype, (T, 4 * H, N),       # i, f, o, g of every step
                                    (H, T + 1, N),              # hs[:, t] = h_t^T
                                    (T + 1, H, N), (T, H, N))   # c_t, tanh(c_t)
    hs[:, 0] = h0.T
    cs[0] = 0 if c0 is None else c0.T
    ig = np.empty((H, N), dtype=dtype)
    with np.errstate(over="ignore"):                            # e^m = inf: see exp_scale
        for t in range(T):
            a = gates[t]
            np.matmul(WhT, hs[:, t], out=a)
            np.add(a, gin[:, t], out=a)                         # m = -a (sigmoid), -2a (g)
            np.exp(a, out=a)
            np.add(a, 1, out=a)
            sig, g = a[:3 * H], a[3 * H:]
            np.reciprocal(sig, out=sig)                         # i, f, o = sigma(a)
            np.divide(2, g, out=g)
            np.subtract(g, 1, out=g)                            # g = tanh(a)
            i, f, o = sig[:H], sig[H:2 * H], sig[2 * H:]
            np.multiply(f, cs[t], out=cs[t + 1])
            np.multiply(i, g, out=ig)
            np.add(cs[t + 1], ig, out=cs[t + 1])
            tc = np.multiply(cs[t + 1], -2, out=tanh_cs[t])
            tanh_from_exponent(tc, check=False)                 # tanh(c_t)
            np.multiply(o, tc, out=hs[:, t + 1])
    h = hs[:, 1:].transpose(2, 1, 0).copy()                    # never a view of the cache
    cache = LSTMCache(xa, hs, gates, cs, tanh_cs, Wx, Wh)
    return (h, cs[T].T.copy(), cache) if return_cell else (h, cache)


def lstm_backward(dh, cache, dc_T=None, return_dc0=False):
    r"""Backpropagation through time for :func:`lstm_forward`.

    Only :math:`\partial L/\partial h_t` and :math:`\partial L/\partial c_t` travel
    backwards through the loop; every other factor of the gate gradients depends on the
    forward pass alone and is computed for all steps at once before the loop.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradients on every hidden state.
    cache : LSTMCache
        From :func:`lstm_forward`.
    dc_T : ndarray, shape (N, H), optional
        Upstream gradient on the final cell state :math:`c_T` (when the state is carried
        on, e.g. from an encoder into a decoder); zeros when omitted.
    return_dc0 : bool
        Also return the gradient of the initial cell state :math:`c_0`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dc0 : ndarray, shape (N, H)
        Only with ``return_dc0=True``; the result is then
        ``(dx, dh0, dc0, dWx, dWh, db)``, the order of :func:`lstm_step_backward`.
    dWx : ndarray, shape (D, 4H)
    dWh : ndarray, shape (H, 4H)
    db : ndarray, shape (4H,)
    """
    xa, hs, gates, cs, tanh_cs, Wx, Wh = check_cache(cache, LSTMCache, "lstm_forward")
    D1, T, N = xa.shape
    H = Wh.shape[0]
    dtype = xa.dtype
    check_array("dh", dh, shape=(N, T, H), dtype=dtype)
    return_dc0 = check_bool("return_dc0", return_dc0)
    if dc_T is not None:
        check_array("dc_T", dc_T, shape=(N, H), dtype=dtype)
    i, f, o, g = (gates[:, k * H:(k + 1) * H] for k in range(4))
    # Factors that multiply the travelling gradients, for every step at once:
    # da_i = dc*g*i(1-i), da_f = dc*c_{t-1}*f(1-f), da_o = dh*tanh(c)*o(1-o),
    # da_g = dc*i*(1-g^2)
    k = _scratch("lstm.k", (T, 4 * H, N), dtype)
    sig, dsig = gates[:, :3 * H], k[:, :3 * H]
    np.multiply(sig, sig, out=dsig)
    np.subtract(sig, dsig, out=dsig)                            # s (1 - s)
    k[:, :H] *= g
    k[:, H:2 * H] *= cs[:-1]
    k[:, 2 * H:3 * H] *= tanh_cs
    k_g = k[:, 3 * H:]
    np.multiply(g, g, out=k_g)
    np.subtract(1, k_g, out=k_g)
    k_g *= i
    dc_from_h = _scratch("lstm.dc_from_h", tanh_cs.shape, dtype)  # d c_t / d h_t factor
    np.multiply(tanh_cs, tanh_cs, out=dc_from_h)
    np.subtract(1, dc_from_h, out=dc_from_h)
    dc_from_h *= o
    # The pre-activation gradients go to da[:, t], so that after the loop da is the
    # matrix (4H, T*N) of the weight-gradient products with no copy.
    da = _scratch("lstm.da", (4 * H, T, N), dtype)
    dhs = dh.transpose(1, 2, 0)                                 # (T, H, N) view
    dh_next = np.zeros((H, N), dtype=dtype)
    dc_next = np.zeros((H, N), dtype=dtype) if dc_T is None else dc_T.T.copy()
    dh_t = np.empty((H, N), dtype=dtype)
    dc = np.empty((H, N), dtype=dtype)
    for t in range(T - 1, -1, -1):
        np.add(dhs[t], dh_next, out=dh_t)
        np.multiply(dh_t, dc_from_h[t], out=dc)
        np.add(dc, dc_next, out=dc)
        np.multiply(k[t, :2 * H].reshape(2, H, N), dc, out=da[:2 * H, t].reshape(2, H, N))
        np.multiply(k[t, 2 * H:3 * H], dh_t, out=da[2 * H:3 * H, t])
        np.multiply(k[t, 3 * H:], dc, out=da[3 * H:, t])
        np.multiply(dc, f[t], out=dc_next)
        np.matmul(Wh, da[:, t], out=dh_next)
    # Sums over time and batch as single products: gate rows, (t, n) columns.
    da2 = da.reshape(4 * H, T * N)
    dx = (da2.T @ Wx.T).reshape(T, N, D1 - 1).transpose(1, 0, 2)
    dWxb = da2 @ xa.reshape(D1, T * N).T                        # [dW_uh^T | db]
    dWh = hs[:, :T].reshape(H, T * N) @ da2.T
    dh0 = np.ascontiguousarray(dh_next.T)
    weights = (np.ascontiguousarray(dWxb[:, :-1].T), dWh, dWxb[:, -1].copy())
    if return_dc0:
        return (dx, dh0, np.ascontiguousarray(dc_next.T)) + weights
    return (dx, dh0) + weights
