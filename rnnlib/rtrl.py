r"""Real-time recurrent learning (RTRL): forward-mode gradients of the vanilla RNN.

Backpropagation through time stores the whole sequence and runs backwards after it.
Real-time recurrent learning :cite:`williams1989` instead carries, along with the state,
the sensitivities of the state to every weight, :math:`P_t = \partial h_t / \partial
\theta`, and accumulates the loss gradient online, one step at a time:

.. math::

    P_t = \left( P_{t-1} W_{hh} + \frac{\partial a_t}{\partial \theta} \right)
          \operatorname{diag}(\sigma_h'(a_t)), \qquad
    \frac{\partial L}{\partial \theta} \mathrel{+}=
          P_t \left(\frac{\partial L}{\partial h_t}\right)^{\top},

where, for one sequence, :math:`P_t` has shape :math:`(|\theta|, H)`, one row per weight
and one column per unit, :math:`(P_t)_{pk} = \partial h_{t,k}/\partial\theta_p` (the code
stores it as ``(N, rows, H, H)`` with indices ``[n, i, j, k]``), and :math:`P_0 = 0` (the initial state does not depend on the weights). Every weight
:math:`\theta_{ij}` of :math:`W_{uh}`, :math:`W_{hh}` and :math:`b_h` feeds unit
:math:`j` from a presynaptic value :math:`s_i` (:math:`u_{t,i}`, :math:`h_{t-1,i}` or 1),
so :math:`\partial a_{t,k} / \partial \theta_{ij} = s_i \delta_{jk}`.

The result equals the weight gradients of :func:`rnnlib.rnn.rnn_backward`; the price is
the cost. With :math:`|\theta| = H(D + H + 1)` weights the sensitivities hold
:math:`|\theta| H` numbers per sequence, and propagating them costs :math:`|\theta| H^2 = O(H^4)` multiply-adds per step,
against :math:`O(H^2)` per step (and :math:`O(TH)` memory) for BPTT
(:func:`rtrl_cost`). Derived in the chapter "Backpropagation through time".
"""
import numpy as np

from ._validation import ArgumentTypeError, check_array, check_int, check_sequence_args
from .activations import get_activation
from .rnn import rnn_step_forward


def _propagate(P, Wh, source, fprime):
    r"""One RTRL step for the weights fed by ``source``.

    :math:`P_{n,i,j,k} \leftarrow \sigma'_{n,k} \big( \sum_m P_{n,i,j,m} (W_{hh})_{m,k}
    + s_{n,i} \delta_{jk} \big)`.

    P : (N, R, H, H) sensitivities :math:`\partial h_{t-1,k} / \partial \theta_{ij}`;
    source : (N, R) presynaptic values :math:`s_i`; fprime : (N, H).
    """
    P = P @ Wh
    diag = np.arange(Wh.shape[0])
    P[:, :, diag, diag] += source[:, :, None]
    P *= fprime[:, None, None, :]
    return P


def rtrl_gradients(x, h0, Wx, Wh, b, dh, activation="tanh"):
    r"""Weight gradients of the vanilla RNN by real-time recurrent learning.

    Runs the recurrence :math:`h_t = \sigma_h(h_{t-1} W_{hh} + u_t W_{uh} + b_h)` forward
    once, carrying the sensitivities :math:`P_t = \partial h_t / \partial \theta` of the
    state to each weight matrix, and adds the error injected at each step,
    :math:`\partial L/\partial \theta \mathrel{+}= \sum_k (\partial L/\partial h_{t,k})
    (P_t)_{\cdot,k}`, as soon as it is known. Nothing is stored for a backward pass.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Input sequences :math:`u_1, \dots, u_T`.
    h0 : ndarray, shape (N, H)
        Initial state :math:`h_0` (treated as a constant).
    Wx : ndarray, shape (D, H)
        :math:`W_{uh}`.
    Wh : ndarray, shape (H, H)
        :math:`W_{hh}`.
    b : ndarray, shape (H,)
        :math:`b_h`.
    dh : ndarray, shape (N, T, H), or callable
        The error :math:`\partial L/\partial h_t` injected at each step: an array (as the
        ``dh`` of :func:`rnnlib.rnn.rnn_backward`), or a function ``dh(t, h_t) -> ndarray
        (N, H)`` called at step ``t = 0, ..., T-1`` with (a copy of) the new state,
        which makes the learning truly online (e.g. the gradient of a readout loss at
        that step).
    activation : {"tanh", "relu"}

    Returns
    -------
    dWx : ndarray, shape (D, H)
    dWh : ndarray, shape (H, H)
    db : ndarray, shape (H,)
        The same numbers as the weight gradients of :func:`rnnlib.rnn.rnn_backward`.

    Notes
    -----
    Memory :math:`O(N H^2 (D + H))`, independent of T; time :math:`O(N H^3 (D + H))`
    per step. See :func:`rtrl_cost` for the exact counts.
    """
    _, df = get_activation(activation)
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b)
    dtype = x.dtype
    if callable(dh):
        inject = dh
    elif isinstance(dh, np.ndarray):
        check_array("dh", dh, shape=(N, T, H), dtype=dtype)

        def inject(t, h_t):
            return dh[:, t]
    else:
        raise ArgumentTypeError(f"dh must be an array of shape ({N}, {T}, {H}) or a callable "
                         f"dh(t, h_t); got {type(dh).__name__}")
    P_x = np.zeros((N, D, H, H), dtype=dtype)   # dh_t[k] / dWx[i, j]
    P_h = np.zeros((N, H, H, H), dtype=dtype)   # dh_t[k] / dWh[i, j]
    P_b = np.zeros((N, 1, H, H), dtype=dtype)   # dh_t[k] / db[j], input s = 1
    ones = np.ones((N, 1), dtype=dtype)
    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)
    h = h0
    for t in range(T):
        h_next, _ = rnn_step_forward(x[:, t], h, Wx, Wh, b, activation)
        fprime = df(h_next)
        P_x = _propagate(P_x, Wh, x[:, t], fprime)
        P_h = _propagate(P_h, Wh, h, fprime)     # uses h_{t-1}
        P_b = _propagate(P_b, Wh, ones, fprime)
        e = check_array(f"dh at step {t}", inject(t, h_next.copy()), shape=(N, H),
                        dtype=dtype)
        dWx += np.einsum("nijk,nk->ij", P_x, e)
        dWh += np.einsum("nijk,nk->ij", P_h, e)
        db += np.einsum("nijk,nk->j", P_b, e)
        h = h_next
    return dWx, dWh, db


def rtrl_cost(D, H, T):
    r"""Exact operation and memory counts of RTRL and BPTT for one sequence.

    Counts multiply-adds of the weight-gradient computation of a vanilla RNN with D
    inputs, H hidden units and :math:`P = H(D + H + 1)` weights, over T steps.

    - RTRL, per step: the forward step :math:`H(D+H)`, the sensitivity update
      :math:`P_{t-1} W_{hh}`, i.e. :math:`PH \cdot H`, and the accumulation
      :math:`PH`. Memory: the :math:`PH` sensitivities and the state, independent of T.
    - BPTT, per step: the forward step :math:`H(D+H)`, the error propagation
      :math:`\delta_{t+1} W_{hh}^\top`, :math:`H^2`, and the weight gradients
      :math:`P`. Memory: the T + 1 stored states :math:`TH + H`.

    Parameters
    ----------
    D, H, T : int
        Input size, hidden size (both >= 1) and sequence length (>= 1).

    Returns
    -------
    dict
        ``rtrl_flops_per_step``, ``rtrl_memory``, ``bptt_flops_per_step``,
        ``bptt_memory`` (numbers of multiply-adds and of stored floats) and
        ``n_weights`` (P).
    """
    D, H, T = check_int("D", D), check_int("H", H), check_int("T", T)
    P = H * (D + H + 1)
    forward = H * (D + H)
    return {
        "n_weights": P,
        "rtrl_flops_per_step": forward + P * H * H + P * H,
        "rtrl_memory": P * H + H,
        "bptt_flops_per_step": forward + H * H + P,
        "bptt_memory": (T + 1) * H,
    }
