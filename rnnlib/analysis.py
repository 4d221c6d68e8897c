r"""Looking inside backpropagation through time: why gradients explode or vanish.

For the vanilla RNN :math:`h_t = \sigma(h_{t-1} W_{hh} + u_t W_{uh} + b)` the error at
step k is a product of Jacobians (:cite:`bengio1994`, :cite:`hochreiter1991`,
:cite:`pascanu2013`):

.. math::

    \frac{\partial L}{\partial h_k} = \sum_{t \ge k} \frac{\partial L}{\partial h_t}
    \prod_{j=k+1}^{t} \frac{\partial h_j}{\partial h_{j-1}}, \qquad
    \frac{\partial h_j}{\partial h_{j-1}} = \operatorname{diag}(\sigma'(a_j)) W_{hh}^\top

(a Jacobian :math:`J_{ab} = \partial h_j[a] / \partial h_{j-1}[b]`). Since
:math:`\|\operatorname{diag}(\sigma') W_{hh}^\top\| \le \gamma\,\sigma_{\max}(W_{hh})`
with :math:`\gamma = \sup|\sigma'|` (1 for tanh and ReLU), the product of
:math:`t-k` Jacobians is bounded by :math:`(\gamma\,\sigma_{\max})^{t-k}`: when
:math:`\sigma_{\max} < 1/\gamma` the long-term contributions vanish exponentially
(:cite:`pascanu2013`, section 2.1).

This module measures these quantities with the step functions of any cell of the
registry (:mod:`rnnlib.cells`): one loop forwards (:func:`forward_steps`) and one
backwards (:func:`backward_steps`) serve the vanilla RNN, the LSTM and the GRU. It is
the home of the chapter "Difficulties of training".
"""
from typing import NamedTuple

import numpy as np

from ._validation import ArgumentTypeError, check_array, check_int, check_sequence_args
from .activations import get_activation


def get_cell(name):
    """The registry entry of ``name`` (:func:`rnnlib.cells.get_cell`), imported on first
    use: :mod:`rnnlib.init`, which the registry reads, needs :func:`spectral_radius`
    from this module."""
    from .cells import get_cell as lookup
    return lookup(name)

#: The supremum of the activation's derivative, the :math:`\gamma` of the bound.
DERIVATIVE_BOUND = {"tanh": 1.0, "relu": 1.0}


def spectral_radius(W):
    r"""Largest absolute eigenvalue :math:`\rho(W) = \max_i |\lambda_i(W)|`.

    Parameters
    ----------
    W : ndarray, shape (H, H)

    Returns
    -------
    float
    """
    check_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be square and non-empty to have eigenvalues; got shape "
                         f"{W.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(W))))


def forward_steps(cell, x, state0, params, **options):
    r"""Run a cell over a sequence one step at a time, keeping every step's cache.

    The same numbers as the cell's sequence function (which is faster); use this one
    when you need the error at every state, as BPTT computes it.

    Parameters
    ----------
    cell : str
        A name of :data:`rnnlib.cells.CELLS`.
    x : ndarray, shape (N, T, D)
    state0 : tuple of ndarray (N, H)
        The initial state (``(h0,)``, or ``(h0, c0)`` for the LSTM).
    params : dict of ndarray
        The cell's parameters.
    **options
        The cell's options (e.g. ``activation``).

    Returns
    -------
    h : ndarray, shape (N, T, H)
    caches : list of T step caches
    """
    c = get_cell(cell)
    options = c.check_options(options)
    check_array("x", x, ndim=3)
    N, T, _ = x.shape
    if T == 0:
        raise ValueError(f"x must hold at least one time step; got shape {x.shape}")
    state, caches, hs = tuple(state0), [], []
    for t in range(T):
        state, cache = c.step(x[:, t], state, params, **options)
        hs.append(state[0])
        caches.append(cache)
    return np.stack(hs, axis=1), caches


class StepGradients(NamedTuple):
    """What :func:`backward_steps` returns."""

    #: ndarray, shape (N, T, D): gradients of the inputs.
    dx: np.ndarray
    #: tuple of ndarray (N, H): gradients of the initial state.
    dstate0: tuple
    #: dict of ndarray: gradients of the parameters.
    grads: dict
    #: ndarray, shape (N, T, H): the total error dL/dh_t, t = 1..T.
    dh_total: np.ndarray
    #: list of T tuples: the error on the whole state after step t (for the LSTM the
    #: cell-state entry is what arrives from step t+1, before the path through h_t).
    dstates: list


def backward_steps(cell, dh, caches):
    r"""Backpropagation through time with the cell's step backward, returning also the
    total error at every hidden state.

    The total error on :math:`h_t` is its direct (upstream) gradient plus what flows
    back from step t+1:
    :math:`\frac{\partial L}{\partial h_t} = \frac{\partial^+ L}{\partial h_t}
    + \frac{\partial L}{\partial h_{t+1}} \frac{\partial h_{t+1}}{\partial h_t}`.

    Parameters
    ----------
    cell : str
    dh : ndarray, shape (N, T, H)
        Direct gradients :math:`\partial^+ L / \partial h_t` (e.g. from the readout).
    caches : list
        From :func:`forward_steps`.

    Returns
    -------
    StepGradients
    """
    c = get_cell(cell)
    T = len(caches)
    if T == 0:
        raise ValueError("caches must hold at least one step")
    prev_h = caches[0].prev_h
    N, H = prev_h.shape
    check_array("dh", dh, shape=(N, T, H), dtype=prev_h.dtype)
    dx = np.empty((N, T, caches[0].x.shape[1]), dtype=prev_h.dtype)
    dh_total = np.empty_like(dh)
    grads, dstates = None, [None] * T
    dstate = tuple(np.zeros((N, H), dtype=prev_h.dtype) for _ in c.state)
    for t in range(T - 1, -1, -1):
        dstate = (dh[:, t] + dstate[0],) + dstate[1:]
        dh_total[:, t] = dstate[0]
        dstates[t] = dstate
        dx[:, t], dstate, g = c.step_back(dstate, caches[t])
        grads = g if grads is None else {k: grads[k] + g[k] for k in grads}
    return StepGradients(dx, dstate, grads, dh_total, dstates)


def rnn_forward_steps(x, h0, Wx, Wh, b, activation="tanh"):
    """:func:`forward_steps` for the vanilla RNN, with the arguments of
    :func:`rnnlib.rnn.rnn_forward`; returns ``(h, caches)``."""
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b)
    return forward_steps("rnn", x, (h0,), {"Wx": Wx, "Wh": Wh, "b": b}, activation=activation)


def rnn_backward_steps(dh, caches):
    r""":func:`backward_steps` for the vanilla RNN: returns ``(dx, dh0, dWx, dWh, db,
    dh_total)``, the results of :func:`rnnlib.rnn.rnn_backward` and the total error
    :math:`\partial L / \partial h_t`, shape (N, T, H)."""
    r = backward_steps("rnn", dh, caches)
    return r.dx, r.dstate0[0], r.grads["Wx"], r.grads["Wh"], r.grads["b"], r.dh_total


def hidden_gradient_norms(x, h0, Wx, Wh, b, dout, activation="tanh"):
    r"""Norm of :math:`\partial L / \partial h_k` for every k, when the loss sits at the
    last step.

    Runs one forward and one BPTT pass with the upstream gradient ``dout`` on
    :math:`h_T` only. A plot of the result against k shows the gradient vanishing (or
    exploding) as it travels back in time.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx, Wh, b : the RNN parameters, shapes (D, H), (H, H), (H,)
    dout : ndarray, shape (N, H)
        :math:`\partial L / \partial h_T`, e.g. the gradient of a readout at the last step.
    activation : {"tanh", "relu"}

    Returns
    -------
    norms : ndarray, shape (T + 1,)
        ``norms[k]`` is the Frobenius norm over the batch of
        :math:`\partial L / \partial h_k`, for k = 0 (the initial state) .. T.
    """
    h, caches = rnn_forward_steps(x, h0, Wx, Wh, b, activation)
    N, T, H = h.shape
    check_array("dout", dout, shape=(N, H), dtype=x.dtype)
    dh = np.zeros_like(h)
    dh[:, -1] = dout
    r = backward_steps("rnn", dh, caches)
    dh0, dh_total = r.dstate0[0], r.dh_total
    norms = np.empty(T + 1)
    norms[0] = np.linalg.norm(dh0)
    norms[1:] = np.sqrt((dh_total ** 2).sum(axis=(0, 2)))
    return norms


class JacobianProducts(NamedTuple):
    """Result of :func:`jacobian_products`."""

    #: ndarray, shape (T, H, H): ``products[t-1]`` is :math:`\partial h_t / \partial h_0`.
    products: np.ndarray
    #: ndarray, shape (T,): their Frobenius norms.
    frobenius: np.ndarray
    #: ndarray, shape (T,): their largest singular values (the spectral norms).
    sigma_max: np.ndarray


def jacobian_products(h, Wh, activation="tanh"):
    r"""Products of the step Jacobians along one trajectory, with their norms.

    .. math::

        \frac{\partial h_t}{\partial h_0} = \prod_{j=t}^{1}
        \operatorname{diag}(\sigma'(a_j))\, W_{hh}^\top,
        \qquad \sigma'(a_j) = 1 - h_j^2 \ (\tanh), \quad [h_j > 0] \ (\mathrm{ReLU}).

    Parameters
    ----------
    h : ndarray, shape (T, H)
        Hidden states :math:`h_1, \dots, h_T` of one sequence, e.g. ``h[n]`` from
        :func:`rnnlib.rnn.rnn_forward`.
    Wh : ndarray, shape (H, H)
    activation : {"tanh", "relu"}

    Returns
    -------
    JacobianProducts
        ``products`` (T, H, H) with ``products[t-1]`` = :math:`\partial h_t/\partial h_0`
        (entry [a, b] = :math:`\partial h_t[a] / \partial h_0[b]`), and their
        ``frobenius`` norms and ``sigma_max`` (largest singular values), shape (T,).
    """
    _, df = get_activation(activation)
    check_array("h", h, ndim=2)
    T, H = h.shape
    if T == 0 or H == 0:
        raise ValueError(f"h must hold at least one step of at least one unit; got shape "
                         f"{h.shape}")
    check_array("Wh", Wh, shape=(H, H), dtype=h.dtype)
    d = df(h)                                    # sigma'(a_t), (T, H)
    products = np.empty((T, H, H), dtype=h.dtype)
    P = np.eye(H, dtype=h.dtype)
    for t in range(T):
        P = d[t][:, None] * (Wh.T @ P)
        products[t] = P
    frob = np.sqrt((products ** 2).sum(axis=(1, 2)))
    return JacobianProducts(products, frob, np.linalg.norm(products, ord=2, axis=(1, 2)))


def jacobian_product_bound(Wh, activation="tanh", steps=1):
    r"""Upper bound :math:`(\gamma\,\sigma_{\max}(W_{hh}))^{k}` on the spectral norm of a
    product of k step Jacobians, :math:`\gamma = \sup|\sigma'|` (1 for tanh and ReLU).

    Parameters
    ----------
    Wh : ndarray, shape (H, H)
    activation : {"tanh", "relu"}
    steps : int or array of int
        Number of factors k.

    Returns
    -------
    float or ndarray (the shape of ``steps``)
    """
    get_activation(activation)
    check_array("Wh", Wh, ndim=2)
    if Wh.size == 0:
        raise ValueError(f"Wh must not be empty; got shape {Wh.shape}")
    if np.ndim(steps) == 0:
        check_int("steps", steps, low=0)
    steps = np.asarray(steps)
    if steps.dtype.kind not in "iu":
        raise ArgumentTypeError(f"steps must be an integer or an integer array; got {steps!r}")
    if np.any(steps < 0):
        raise ValueError(f"steps must be non-negative; got {steps}")
    rate = DERIVATIVE_BOUND[activation] * np.linalg.norm(Wh, ord=2)
    out = rate ** steps.astype(float)
    return float(out) if out.ndim == 0 else out


# --- Gated cells (chapter "LSTM and GRU") -------------------------------------------


class LSTMGradientNorms(NamedTuple):
    """Result of :func:`lstm_gradient_norms`."""

    #: ndarray, shape (T + 1,): norm of :math:`\partial L/\partial h_k`, k = 0..T.
    h: np.ndarray
    #: ndarray, shape (T + 1,): norm of :math:`\partial L/\partial c_k`, k = 0..T.
    c: np.ndarray


def lstm_gradient_norms(x, h0, Wx, Wh, b, dout, c0=None):
    r"""Norms of :math:`\partial L/\partial h_k` and :math:`\partial L/\partial c_k` for
    every k, for an LSTM whose loss sits at the last step.

    The LSTM counterpart of :func:`hidden_gradient_norms`: one forward pass with
    :func:`rnnlib.lstm.lstm_step_forward`, then BPTT with :func:`rnnlib.lstm.lstm_step_backward`
    from the upstream gradient ``dout`` on :math:`h_T`. The error on the cell state is
    the total one, through the next cell and through :math:`h_k = o_k \odot \tanh c_k`:

    .. math::

        \frac{\partial L}{\partial c_k} = \frac{\partial L}{\partial c_{k+1}} \odot f_{k+1}
        + \frac{\partial L}{\partial h_k} \odot o_k \odot (1 - \tanh^2 c_k).

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx, Wh, b : the LSTM parameters, shapes (D, 4H), (H, 4H), (4H,)
    dout : ndarray, shape (N, H)
        :math:`\partial L/\partial h_T`.
    c0 : ndarray, shape (N, H), optional
        Initial cell state (zeros by default).

    Returns
    -------
    LSTMGradientNorms
        ``h`` and ``c``, each shape (T + 1,), the Frobenius norms over the batch for
        k = 0 (the initial state) .. T.
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=4)
    check_array("dout", dout, shape=(N, H), dtype=x.dtype)
    c0 = np.zeros_like(h0) if c0 is None else check_array("c0", c0, shape=(N, H), dtype=x.dtype)
    _, caches = forward_steps("lstm", x, (h0, c0), {"Wx": Wx, "Wh": Wh, "b": b})
    dh = np.zeros((N, T, H), dtype=x.dtype)
    dh[:, -1] = dout
    r = backward_steps("lstm", dh, caches)
    h_norms, c_norms = np.empty(T + 1), np.empty(T + 1)
    for t, ((dh_t, dc_next), cache) in enumerate(zip(r.dstates, caches), start=1):
        h_norms[t] = np.linalg.norm(dh_t)
        c_norms[t] = np.linalg.norm(dc_next + dh_t * cache.o * (1 - cache.tanh_c ** 2))
    h_norms[0], c_norms[0] = np.linalg.norm(r.dstate0[0]), np.linalg.norm(r.dstate0[1])
    return LSTMGradientNorms(h_norms, c_norms)


def gru_gradient_norms(x, h0, Wx, Wh, b, bhn, dout):
    r"""Norms of :math:`\partial L/\partial h_k` for every k, for a GRU whose loss sits at
    the last step (the GRU counterpart of :func:`hidden_gradient_norms`, with
    :func:`rnnlib.gru.gru_step_forward` and :func:`rnnlib.gru.gru_step_backward`).

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx, Wh, b, bhn : the GRU parameters, shapes (D, 3H), (H, 3H), (3H,), (H,)
    dout : ndarray, shape (N, H)
        :math:`\partial L/\partial h_T`.

    Returns
    -------
    norms : ndarray, shape (T + 1,)
        Frobenius norms over the batch, k = 0 (the initial state) .. T.
    """
    N, T, D, H = check_sequence_args(x, h0, Wx, Wh, b, gates=3)
    check_array("dout", dout, shape=(N, H), dtype=x.dtype)
    check_array("bhn", bhn, shape=(H,), dtype=x.dtype)
    _, caches = forward_steps("gru", x, (h0,), {"Wx": Wx, "Wh": Wh, "b": b, "bhn": bhn})
    dh = np.zeros((N, T, H), dtype=x.dtype)
    dh[:, -1] = dout
    r = backward_steps("gru", dh, caches)
    norms = np.empty(T + 1)
    norms[1:] = np.sqrt((r.dh_total ** 2).sum(axis=(0, 2)))
    norms[0] = np.linalg.norm(r.dstate0[0])
    return norms
