r"""The vanilla (Elman) recurrent network: one step and a whole sequence, forward and backward.

The recurrence of the primer, in row-vector form (a batch of N rows):

.. math::

    a_t = h_{t-1} W_{hh} + u_t W_{uh} + b_h, \qquad h_t = \sigma_h(a_t),

with :math:`W_{uh}` = ``Wx`` of shape (D, H), :math:`W_{hh}` = ``Wh`` of shape (H, H),
:math:`b_h` = ``b`` of shape (H,), and :math:`\sigma_h` either ``"tanh"`` or ``"relu"``
(the rectifier RNN). Derived in the chapters "Notation and the RNN model" and
"Backpropagation through time".

The step functions are written for reading. The sequence functions compute the same
numbers shaped for speed: the input projections of all time steps are one matrix
product before the loop, the loop holds only the recurrent product and in-place
element-wise work on preallocated buffers, and the weight gradients are single large
products over all steps after the loop.
"""
from typing import NamedTuple

import numpy as np

from ._validation import check_array, check_cache, check_sequence_args, check_step_args
from .activations import get_activation
from .gates import _scratch


class RNNStepCache(NamedTuple):
    """What :func:`rnn_step_forward` keeps for :func:`rnn_step_backward`."""

    x: np.ndarray          #: (N, D), the input u_t
    prev_h: np.ndarray     #: (N, H), h_{t-1}
    Wx: np.ndarray         #: (D, H)
    Wh: np.ndarray         #: (H, H)
    next_h: np.ndarray     #: (N, H), h_t (a copy of the returned state)
    activation: str        #: "tanh" or "relu"


class RNNCache(NamedTuple):
    """What :func:`rnn_forward` keeps for :func:`rnn_backward`."""

    xs: np.ndarray         #: (T, N, D), the inputs, time-major
    hs: np.ndarray         #: (T+1, N, H), h_0 .. h_T
    Wx: np.ndarray         #: (D, H)
    Wh: np.ndarray         #: (H, H)
    activation: str        #: "tanh" or "relu"


def rnn_step_forward(x, prev_h, Wx, Wh, b, activation="tanh"):
    r"""One step of the vanilla RNN: :math:`h_t = \sigma_h(h_{t-1} W_{hh} + u_t W_{uh} + b_h)`.

    Parameters
    ----------
    x : ndarray, shape (N, D)
        Inputs :math:`u_t` of a batch of N sequences.
    prev_h : ndarray, shape (N, H)
        Previous hidden state :math:`h_{t-1}`.
    Wx : ndarray, shape (D, H)
        Input-to-hidden weights :math:`W_{uh}`.
    Wh : ndarray, shape (H, H)
        Hidden-to-hidden weights :math:`W_{hh}`.
    b : ndarray, shape (H,)
        Bias :math:`b_h`.
    activation : {"tanh", "relu"}
        The nonlinearity :math:`\sigma_h`.

    Returns
    -------
    next_h : ndarray, shape (N, H)
        The new hidden state :math:`h_t`.
    cache : RNNStepCache
        What :func:`rnn_step_backward` needs (a named tuple).
    """
    f, _ = get_activation(activation)
    check_step_args(x, prev_h, Wx, Wh, b)
    next_h = f(prev_h @ Wh + x @ Wx + b)
    return next_h, RNNStepCache(x, prev_h, Wx, Wh, next_h.copy(), activation)


def rnn_step_backward(dnext_h, cache):
    r"""Backward pass of :func:`rnn_step_forward`.

    With :math:`\delta = \frac{\partial L}{\partial h_t} \odot \sigma_h'(a_t)`:
    :math:`\partial L/\partial u_t = \delta W_{uh}^\top`,
    :math:`\partial L/\partial h_{t-1} = \delta W_{hh}^\top`,
    :math:`\partial L/\partial W_{uh} = u_t^\top \delta`,
    :math:`\partial L/\partial W_{hh} = h_{t-1}^\top \delta`,
    :math:`\partial L/\partial b_h = \sum_n \delta_n`.

    Parameters
    ----------
    dnext_h : ndarray, shape (N, H)
        Upstream gradient :math:`\partial L / \partial h_t`.
    cache : RNNStepCache
        From :func:`rnn_step_forward`.

    Returns
    -------
    dx : ndarray, shape (N, D)
    dprev_h : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
    """
    x, prev_h, Wx, Wh, next_h, activation = check_cache(cache, RNNStepCache, "rnn_step_forward")
    check_array("dnext_h", dnext_h, shape=next_h.shape, dtype=next_h.dtype)
    _, df = get_activation(activation)
    delta = dnext_h * df(next_h)
    return delta @ Wx.T, delta @ Wh.T, x.T @ delta, prev_h.T @ delta, delta.sum(axis=0)


def _forward_loop(a, hs, Wh, activation):
    r"""The time loop of :func:`rnn_forward`, in place: ``hs[t + 1] = f(a[t] + hs[t] Wh)``.

    ``a`` (T, ..., H) holds the input projections plus bias of every step (overwritten)
    and ``hs`` (T+1, ..., H) the states, ``hs[0]`` set; any axes between time and H are
    batch axes (the sequences, and in :mod:`rnnlib.batched` the models, with ``Wh`` of
    shape (S, H, H))."""
    rec = np.empty(hs.shape[1:], dtype=hs.dtype)
    f, _ = get_activation(activation)
    for t in range(len(a)):
        np.matmul(hs[t], Wh, out=rec)
        a[t] += rec
        f(a[t], out=hs[t + 1])


def _backward_loop(delta, dhs, WhT):
    r"""The time loop of :func:`rnn_backward`, in place: ``delta[t]`` (T, ..., H), which
    holds :math:`\sigma_h'(a_t)`, becomes :math:`\delta_t = (\partial L/\partial h_t +
    \delta_{t+1} W_{hh}^\top) \odot \sigma_h'(a_t)`; ``dhs`` (T, ..., H) are the upstream
    gradients and ``WhT`` :math:`W_{hh}^\top` (contiguous). Returns
    :math:`\delta_1 W_{hh}^\top = \partial L/\partial h_0`."""
    dprev = np.zeros(delta.shape[1:], dtype=delta.dtype)   # delta_{t+1} W_hh^T
    total = np.empty(delta.shape[1:], dtype=delta.dtype)
    for t in range(len(delta) - 1, -1, -1):
        np.add(dhs[t], dprev, out=total)
        delta[t] *= total
        np.matmul(delta[t], WhT, out=dprev)
    return dprev


def rnn_forward(x, h0, Wx, Wh, b, activation="tanh"):
    r"""Run the vanilla RNN over a whole sequence.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Input sequences :math:`u_1, \dots, u_T`.
    h0 : ndarray, shape (N, H)
        Initial hidden state :math:`h_0`.
    Wx : ndarray, shape (D, H)
    Wh : ndarray, shape (H, H)
    b : ndarray, shape (H,)
    activation : {"tanh", "relu"}

    Returns
    -------
    h : ndarray, shape (N, T, H)
        Hidden states :math:`h_1, \dots, h_T`.
    cache : RNNCache
        What :func:`rnn_backward` needs (a named tuple): the time-major inputs, all
        hidden states (with :math:`h_0`), the weights and the activation. The final
        state :math:`h_T` is ``h[:, -1]``.
    """
    get_activation(activation)
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b)
    xs = np.ascontiguousarray(x.transpose(1, 0, 2))        # (T, N, D), time-major
    a = np.matmul(xs.reshape(T * N, D), Wx,                # u_t W_uh for every t
                  out=_scratch("rnn.a", (T * N, H), x.dtype)).reshape(T, N, H)
    a += b
    hs = np.empty((T + 1, N, H), dtype=x.dtype)            # hs[t] = h_t, hs[0] = h_0
    hs[0] = h0
    _forward_loop(a, hs, Wh, activation)
    h = hs[1:].transpose(1, 0, 2).copy()                  # never a view of the cache
    return h, RNNCache(xs, hs, Wx, Wh, activation)


def rnn_backward(dh, cache):
    r"""Backpropagation through time for :func:`rnn_forward`.

    The error at step t collects the upstream gradient and the error from step t+1,
    :math:`\delta_t = (\partial L/\partial h_t + \delta_{t+1} W_{hh}^\top) \odot
    \sigma_h'(a_t)`; the weight gradients sum over time, e.g.
    :math:`\partial L/\partial W_{hh} = \sum_t h_{t-1}^\top \delta_t`, computed as one
    product over all steps.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Upstream gradients :math:`\partial L/\partial h_t` on every hidden state.
    cache : RNNCache
        From :func:`rnn_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
    """
    xs, hs, Wx, Wh, activation = check_cache(cache, RNNCache, "rnn_forward")
    T, N, D = xs.shape
    H = Wh.shape[0]
    check_array("dh", dh, shape=(N, T, H), dtype=xs.dtype)
    _, df = get_activation(activation)
    if activation == "tanh":                               # sigma'(a_t) = 1 - h_t^2
        delta = _scratch("rnn.delta", (T, N, H), xs.dtype)
        np.multiply(hs[1:], hs[1:], out=delta)
        np.subtract(1, delta, out=delta)
    else:
        delta = df(hs[1:])                                 # sigma'(a_t) for every t
    # Wh^T contiguous: BLAS is faster on it than on the transposed view
    dprev = _backward_loop(delta, dh.transpose(1, 0, 2), np.ascontiguousarray(Wh.T))
    delta2 = delta.reshape(T * N, H)
    dWx = xs.reshape(T * N, D).T @ delta2
    dWh = hs[:-1].reshape(T * N, H).T @ delta2
    dx = (delta2 @ Wx.T).reshape(T, N, D).transpose(1, 0, 2)
    return dx, dprev, dWx, dWh, delta2.sum(axis=0)
