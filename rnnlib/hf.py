r"""Hessian-free optimization of the vanilla RNN :cite:`martens2010,martens2011`.

The network is the vanilla RNN of :mod:`rnnlib.rnn` with a linear readout and a loss that
matches it (the output nonlinearity is folded into the loss):

.. math::

    h_t = \sigma_h(h_{t-1} W_{hh} + u_t W_{uh} + b_h), \qquad
    y_t = h_t W_{hy} + b_y, \qquad L = L(y, \text{targets}),

with :math:`L` the mean squared error (``loss="mse"``) or the softmax cross-entropy
(``loss="softmax"``) of :mod:`rnnlib.losses`. The parameters are a dict
``{"Wx", "Wh", "b", "Wy", "by"}`` (the keys of :class:`rnnlib.models.SequenceModel`);
:func:`pack` and :func:`unpack` flatten them to one vector :math:`\theta` for the
conjugate-gradient solver.

One Hessian-free step at :math:`\theta` minimizes the damped quadratic model

.. math::

    q(\delta) = \nabla L^\top \delta + \tfrac12 \delta^\top (G + \lambda I) \delta
        + \tfrac12 \lambda \mu\, \delta^\top J_h^\top H_S J_h \delta

by conjugate gradient, where :math:`\nabla L` is the gradient,
:math:`G = J^\top (\nabla^2_y L) J` the
Gauss-Newton matrix (:math:`J` the Jacobian of all outputs :math:`y_t` with respect to
:math:`\theta`, :math:`\nabla^2_y L` the Hessian of the loss with respect to the outputs),
:math:`\lambda` the Levenberg-Marquardt damping and the last term the *structural
damping* of :cite:`martens2011` (:math:`J_h` the Jacobian of the hidden states,
:math:`H_S = I/N` the Hessian of the penalty
:math:`S = \frac{1}{2N}\sum_{n,t} \|h_t(\theta + \delta) - h_t(\theta)\|^2`).

:math:`G v` is computed exactly, without finite differences and without forming
:math:`G`: a forward pass of the R-operator (Pearlmutter 1994, Schraudolph 2002) gives
:math:`J_h v` and :math:`J v` (:func:`r_forward`), the loss Hessian weights the result
(:func:`loss_hessian_product`), and the ordinary backward pass of the core
(:func:`rnnlib.affine.temporal_affine_backward`, :func:`rnnlib.rnn.rnn_backward`), which is linear
in its upstream gradient, multiplies by :math:`J^\top` (:func:`gauss_newton_product`).
One product costs about as much as one gradient.

Derived in the chapter "Second-order methods".
"""
import math
import time
from typing import NamedTuple

import numpy as np

from ._validation import (NonFiniteError, check_array, check_choice, check_finite, check_int,
                          check_number)
from .activations import get_activation, softmax
from .affine import temporal_affine_backward, temporal_affine_forward
from .models import data_loss, forward_pass
from .rnn import rnn_backward

#: The parameter names, in the order :func:`pack` concatenates them.
PARAM_NAMES = ("Wx", "Wh", "b", "Wy", "by")
#: The losses with a matching linear readout.
LOSSES = ("mse", "softmax")


# --------------------------------------------------------------------------- parameters
def _check_params(params):
    """Validate a parameter dict and return (D, H, K)."""
    if not isinstance(params, dict) or set(params) != set(PARAM_NAMES):
        got = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params must be a dict with the keys {list(PARAM_NAMES)}; got {got}")
    check_array("params['Wx']", params["Wx"], ndim=2)
    dtype = params["Wx"].dtype
    D, H = params["Wx"].shape
    check_array("params['Wh']", params["Wh"], shape=(H, H), dtype=dtype)
    check_array("params['b']", params["b"], shape=(H,), dtype=dtype)
    check_array("params['Wy']", params["Wy"], ndim=2, shape=(H, None), dtype=dtype)
    K = params["Wy"].shape[1]
    check_array("params['by']", params["by"], shape=(K,), dtype=dtype)
    return D, H, K


def _check_like(name, v, params):
    """Raise unless the dict ``v`` has the keys, shapes and dtype of ``params``."""
    if not isinstance(v, dict) or set(v) != set(PARAM_NAMES):
        got = sorted(v) if isinstance(v, dict) else type(v).__name__
        raise ValueError(f"{name} must be a dict with the keys {list(PARAM_NAMES)}; got {got}")
    for k in PARAM_NAMES:
        check_array(f"{name}[{k!r}]", v[k], shape=params[k].shape, dtype=params[k].dtype)


def pack(params):
    r"""Flatten a parameter dict into one vector :math:`\theta`.

    Parameters
    ----------
    params : dict of ndarray
        ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,), ``Wy`` (H, K), ``by`` (K,).

    Returns
    -------
    theta : ndarray, shape (P,)
        The arrays raveled in C order and concatenated in the order of
        :data:`PARAM_NAMES`; P = DH + H^2 + H + HK + K.
    """
    _check_params(params)
    return np.concatenate([params[k].ravel() for k in PARAM_NAMES])


def unpack(theta, like):
    r"""Inverse of :func:`pack`: split :math:`\theta` into arrays shaped like ``like``.

    Parameters
    ----------
    theta : ndarray, shape (P,)
    like : dict of ndarray
        A parameter dict giving the shapes (its values are not used).

    Returns
    -------
    params : dict of ndarray
        Views into ``theta`` (copy them before changing ``theta``).
    """
    _check_params(like)
    sizes = [like[k].size for k in PARAM_NAMES]
    check_array("theta", theta, ndim=1, shape=(sum(sizes),))
    ends = np.cumsum(sizes)
    return {k: theta[e - s:e].reshape(like[k].shape)
            for k, s, e in zip(PARAM_NAMES, sizes, ends)}


# --------------------------------------------------------------- linearization at theta
class Linearization(NamedTuple):
    r"""Everything a Hessian-free step needs at the current :math:`\theta` on one batch.

    Built by :func:`linearize`; consumed by :func:`r_forward`,
    :func:`loss_hessian_product` and :func:`gauss_newton_product`.
    """

    #: dict of ndarray, the parameters :math:`\theta`.
    params: dict
    #: float, the loss :math:`L(\theta)` on the batch.
    loss: float
    #: dict of ndarray, the gradient :math:`\nabla L(\theta)` (keys of ``params``).
    grads: dict
    #: ndarray, shape (N, T, H): the hidden states.
    h: np.ndarray
    #: tuple, the cache of :func:`rnnlib.rnn.rnn_forward`.
    cache: tuple
    #: tuple, the cache of :func:`rnnlib.affine.temporal_affine_forward`.
    out_cache: tuple
    #: ndarray, shape (T, N, H): :math:`\sigma_h'(a_t)`, time-major.
    fprime: np.ndarray
    #: str, ``"mse"`` or ``"softmax"``.
    kind: str
    #: ndarray, shape (N, T, K) or (N, T, 1): the loss Hessian's weights (see
    #: :func:`loss_hessian_product`).
    weights: np.ndarray
    #: ndarray, shape (N, T, K), or None: softmax probabilities (``"softmax"`` only).
    probs: np.ndarray


def _forward(params, inputs, targets, mask, loss, activation):
    """Forward pass and loss of :func:`rnnlib.models.forward_pass` with the vanilla RNN:
    (value, dout, h, cache, out, out_cache)."""
    check_choice("loss", loss, LOSSES)
    check_choice("activation", activation, ("tanh", "relu"))
    D, H, K = _check_params(params)
    check_array("inputs", inputs, ndim=3, shape=(None, None, D), dtype=params["Wx"].dtype)
    h, cache, out, out_cache = forward_pass("rnn", params, inputs, activation=activation)
    value, dout = data_loss(loss, out, targets, mask)
    return value, dout, h, cache, out, out_cache


def objective(params, inputs, targets, mask, loss="mse", activation="tanh"):
    """The loss :math:`L(\\theta)` of the network on a batch (forward pass only).

    Parameters as in :func:`linearize`. Returns a float.
    """
    return _forward(params, inputs, targets, mask, loss, activation)[0]


def linearize(params, inputs, targets, mask=None, loss="mse", activation="tanh"):
    r"""Forward pass, loss, gradient and loss curvature at ``params`` on one batch.

    Parameters
    ----------
    params : dict of ndarray
        ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,), ``Wy`` (H, K), ``by`` (K,).
    inputs : ndarray, shape (N, T, D)
    targets : ndarray
        Float (N, T, K) for ``loss="mse"``, int (N, T) for ``loss="softmax"``.
    mask : ndarray of bool, shape (N, T), optional for ``"mse"``
        The steps that carry a target.
    loss : {"mse", "softmax"}
        :func:`rnnlib.losses.mean_squared_error` or :func:`rnnlib.losses.temporal_softmax_loss`.
    activation : {"tanh", "relu"}

    Returns
    -------
    Linearization
    """
    value, dout, h, cache, out, out_cache = _forward(params, inputs, targets, mask, loss,
                                                      activation)
    dh, dWy, dby = temporal_affine_backward(dout, out_cache)
    _, _, dWx, dWh, db = rnn_backward(dh, cache)
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
    N, T, K = out.shape
    if loss == "mse":   # L = sum of squares / count:  H_l = (2 / count) diag(mask)
        m = np.ones(out.shape, dtype=out.dtype) if mask is None else \
            np.broadcast_to(mask.reshape(N, T, -1), out.shape).astype(out.dtype)
        weights, probs = m * (2.0 / m.sum()), None
    else:               # per step (diag(p) - p p^T) * mask / N
        weights, probs = (mask.astype(out.dtype) / N)[..., None], softmax(out)
    _, df = get_activation(activation)
    return Linearization(params, float(value), grads, h, cache, out_cache, df(cache.hs[1:]),
                         loss, weights, probs)


# ------------------------------------------------------------- curvature-vector products
def r_forward(lin, v):
    r"""Directional derivatives of the hidden states and outputs: :math:`J_h v`, :math:`J v`.

    The R-operator :math:`\mathcal R\{\cdot\} = \frac{d}{d\epsilon}(\cdot)(\theta +
    \epsilon v)|_{\epsilon=0}` applied to the forward pass (forward-mode differentiation):

    .. math::

        \mathcal R\{a_t\} = \mathcal R\{h_{t-1}\} W_{hh} + h_{t-1} V_{hh} + u_t V_{uh} + v_b,
        \quad \mathcal R\{h_t\} = \sigma_h'(a_t) \odot \mathcal R\{a_t\},
        \quad \mathcal R\{y_t\} = \mathcal R\{h_t\} W_{hy} + h_t V_{hy} + v_{by},

    with :math:`\mathcal R\{h_0\} = 0` and :math:`V` the blocks of ``v``.

    Parameters
    ----------
    lin : Linearization
    v : dict of ndarray
        A direction with the keys and shapes of ``lin.params``.

    Returns
    -------
    Rh : ndarray, shape (N, T, H)
    Ry : ndarray, shape (N, T, K)
    """
    _check_like("v", v, lin.params)
    xs, hs, _, Wh, _ = lin.cache
    T, N, D = xs.shape
    H = Wh.shape[0]
    Ra = (xs.reshape(T * N, D) @ v["Wx"] + hs[:-1].reshape(T * N, H) @ v["Wh"]).reshape(T, N, H)
    Ra += v["b"]
    Rh = np.empty_like(Ra)
    prev = np.zeros((N, H), dtype=Ra.dtype)
    for t in range(T):
        Ra[t] += prev @ Wh
        np.multiply(lin.fprime[t], Ra[t], out=Rh[t])
        prev = Rh[t]
    Rh = Rh.transpose(1, 0, 2)
    Ry = temporal_affine_forward(Rh, lin.params["Wy"], v["by"])[0]
    Ry += temporal_affine_forward(lin.h, v["Wy"], np.zeros_like(v["by"]))[0]
    return Rh, Ry


def loss_hessian_product(lin, Ry):
    r"""Multiply by the Hessian of the loss with respect to the outputs, :math:`\nabla^2_y L\,Ry`.

    For the mean squared error over ``count`` unmasked entries
    :math:`\nabla^2_y L = \frac{2}{\text{count}}\,\mathrm{diag}(m)`; for the softmax
    cross-entropy averaged over the batch, per step
    :math:`\nabla^2_y L = \frac{m_{nt}}{N}(\mathrm{diag}(p) - p p^\top)` with
    :math:`p = \mathrm{softmax}(y_t)`. Both are positive semi-definite, which makes the
    Gauss-Newton matrix :math:`J^\top (\nabla^2_y L) J` positive semi-definite.

    Parameters
    ----------
    lin : Linearization
    Ry : ndarray, shape (N, T, K)

    Returns
    -------
    ndarray, shape (N, T, K)
    """
    N, T = lin.h.shape[:2]
    check_array("Ry", Ry, shape=(N, T, lin.params["by"].shape[0]), dtype=lin.h.dtype)
    if lin.kind == "mse":
        return lin.weights * Ry
    p = lin.probs
    return lin.weights * (p * Ry - p * np.sum(p * Ry, axis=-1, keepdims=True))


def gauss_newton_product(lin, v, damping=0.0, structural=0.0):
    r"""The damped Gauss-Newton matrix times a vector, exactly.

    .. math::

        \big(G + \lambda I + \lambda\mu\, J_h^\top H_S J_h\big) v, \qquad
        G = J^\top (\nabla^2_y L) J, \quad H_S = I / N,

    computed as :func:`r_forward` (:math:`J_h v`, :math:`J v`), then
    :func:`loss_hessian_product`, then the backward passes of the core with
    :math:`(\nabla^2_y L) J v` as the upstream gradient on the outputs and
    :math:`\lambda\mu J_h v / N` added on the hidden states (multiplication by
    :math:`J^\top` and :math:`J_h^\top`). The structural term is the Gauss-Newton
    matrix of the penalty :math:`\frac{1}{2N}\sum_{n,t}\|h_t(\theta+\delta) -
    h_t(\theta)\|^2` of :cite:`martens2011`.

    Parameters
    ----------
    lin : Linearization
    v : dict of ndarray
        Keys and shapes of ``lin.params``.
    damping : float
        :math:`\lambda \ge 0`.
    structural : float
        :math:`\mu \ge 0`, the weight of structural damping relative to :math:`\lambda`.

    Returns
    -------
    dict of ndarray
        Keys and shapes of ``lin.params``.
    """
    damping = check_number("damping", damping, low=0)
    structural = check_number("structural", structural, low=0)
    Rh, Ry = r_forward(lin, v)
    dh, dWy, dby = temporal_affine_backward(loss_hessian_product(lin, Ry), lin.out_cache)
    if damping * structural > 0:
        dh += (damping * structural / Rh.shape[0]) * Rh
    _, _, dWx, dWh, db = rnn_backward(dh, lin.cache)
    Gv = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}
    if damping > 0:
        for k in PARAM_NAMES:
            Gv[k] += damping * v[k]
    return Gv


# ----------------------------------------------------------------- conjugate gradient
class CGResult(NamedTuple):
    """What :func:`conjugate_gradient` returns."""

    #: ndarray, shape (P,): the last iterate.
    x: np.ndarray
    #: list of (int, ndarray): the stored iterates (iteration number, copy of x), in order,
    #: always ending with the last one.
    iterates: list
    #: list of float: :math:`q(x_i)` for i = 0, 1, ..., iterations.
    q: list
    #: int: the number of CG iterations run.
    iterations: int
    #: int: the number of products with A (iterations, plus one for a nonzero x0).
    products: int


def conjugate_gradient(A, b, x0=None, max_iters=50, tol=5e-4, store_ratio=1.3):
    r"""Minimize :math:`q(x) = \tfrac12 x^\top A x - b^\top x` (solve :math:`Ax = b`) for a
    symmetric positive definite A given only as products, within a budget.

    Plain CG (Hestenes-Stiefel) with the stopping rule of :cite:`martens2010`: stop at
    iteration i when :math:`i > k`, :math:`q(x_i) < 0` and
    :math:`(q(x_i) - q(x_{i-k})) / q(x_i) < k\,\text{tol}` with
    :math:`k = \max(10, 0.1\,i)`, i.e. when the relative progress of the last k steps is
    small; or after ``max_iters``; or when the residual vanishes. A warm start ``x0``
    with :math:`q(x_0) > 0 = q(0)` is discarded for :math:`x_0 = 0`. Iterates are stored
    at iterations :math:`\lceil \text{store\_ratio}^j \rceil` for the backtracking of
    :cite:`martens2010`.

    Parameters
    ----------
    A : callable
        ``A(x) -> ndarray`` of shape (P,), a symmetric positive definite linear map.
    b : ndarray, shape (P,)
    x0 : ndarray, shape (P,), optional
        Initial guess (default zeros).
    max_iters : int
        Budget of iterations (products with A), > 0.
    tol : float
        :math:`\epsilon \ge 0` of the stopping rule; 0 runs the full budget (unless the
        residual vanishes).
    store_ratio : float
        Growth factor (> 1) of the stored iterations.

    Returns
    -------
    CGResult
    """
    if not callable(A):
        raise ValueError(f"A must be a callable x -> A x; got {type(A).__name__}")
    check_array("b", b, ndim=1)
    check_finite("b", b)
    if x0 is None:
        x0 = np.zeros_like(b)
    check_array("x0", x0, shape=b.shape, dtype=b.dtype)
    max_iters = check_int("max_iters", max_iters)
    tol = check_number("tol", tol, low=0)
    store_ratio = check_number("store_ratio", store_ratio, low=1, low_open=True)
    x, products = x0.copy(), 0
    r = b.copy()
    if np.any(x):
        r -= A(x)
        products += 1
        if -0.5 * x @ (b + r) > 0:      # q(x0) > q(0): a bad warm start
            x, r = np.zeros_like(b), b.copy()
    rr = r @ r
    p = r.copy()
    q = [float(-0.5 * x @ (b + r))]
    iterates, next_store, i = [], 1.0, 0
    stop_rr = (1e-14 * max(float(b @ b), np.finfo(b.dtype).tiny))
    while i < max_iters and rr > stop_rr:
        Ap = A(p)
        products += 1
        pAp = p @ Ap
        if not pAp > 0:
            raise ValueError(f"A is not positive definite: p^T A p = {pAp} at CG iteration {i}")
        alpha = rr / pAp
        x += alpha * p
        r -= alpha * Ap
        i += 1
        q.append(float(-0.5 * x @ (b + r)))
        if i >= next_store:
            iterates.append((i, x.copy()))
            while next_store <= i:
                next_store = math.ceil(next_store * store_ratio) if next_store > 1 else 2
        k = max(10, int(0.1 * i))
        if tol > 0 and i > k and q[i] < 0 and (q[i] - q[i - k]) / q[i] < k * tol:
            break
        rr_new = r @ r
        p *= rr_new / rr
        p += r
        rr = rr_new
    if not iterates or iterates[-1][0] != i:
        iterates.append((i, x.copy()))
    return CGResult(x, iterates, q, i, products)


# --------------------------------------------------------------------------- damping
def reduction_ratio(actual, predicted):
    r"""The reduction ratio :math:`r = \dfrac{L(\theta + \delta) - L(\theta)}{M(\delta) -
    M(0)}` of :cite:`martens2010`: actual over predicted change of the objective.

    Parameters
    ----------
    actual : float
        :math:`L(\theta + \delta) - L(\theta)` (``inf`` when the trial step blew up).
    predicted : float
        :math:`M(\delta) - M(0) < 0`, the change the (undamped) quadratic model predicts.

    Returns
    -------
    float
        Near 1 when the model is trustworthy, small or negative when it is not; ``-inf``
        for a step that blew up.
    """
    predicted = check_number("predicted", predicted)
    actual = check_number("actual", actual, infinite=True)
    if not predicted < 0:
        raise ValueError(f"predicted reduction must be negative (a descent step); "
                         f"got {predicted}")
    return actual / predicted if math.isfinite(actual) else -math.inf


def update_damping(damping, rho, lower=0.25, upper=0.75, increase=1.5, decrease=2 / 3):
    r"""The Levenberg-Marquardt rule of :cite:`martens2010`.

    .. math::

        \lambda \leftarrow \begin{cases} \tfrac32\lambda & r < \tfrac14 \\
        \tfrac23\lambda & r > \tfrac34 \\ \lambda & \text{otherwise.}\end{cases}

    A poor model (small or negative :math:`r`) means the step left the region where
    the quadratic is trustworthy: damp more, i.e. take shorter, more gradient-like steps.

    Parameters
    ----------
    damping : float
        :math:`\lambda > 0`.
    rho : float
        The reduction ratio :math:`r` (:func:`reduction_ratio`); ``-inf`` counts as poor.
    lower, upper : float
        Thresholds, ``lower < upper``.
    increase, decrease : float
        Factors, ``increase > 1 > decrease > 0``.

    Returns
    -------
    float
        The new damping.
    """
    damping = check_number("damping", damping, low=0, low_open=True)
    rho = check_number("rho", rho, infinite=True)
    lower, upper = check_number("lower", lower), check_number("upper", upper)
    increase, decrease = check_number("increase", increase), check_number("decrease", decrease)
    if not lower < upper:
        raise ValueError(f"need lower < upper; got {lower} and {upper}")
    if not (increase > 1 and 0 < decrease < 1):
        raise ValueError(f"need increase > 1 and 0 < decrease < 1; got {increase} and "
                         f"{decrease}")
    if rho < lower:
        return damping * increase
    if rho > upper:
        return damping * decrease
    return damping


# ------------------------------------------------------------------------ the optimizer
class StepInfo(NamedTuple):
    """What :meth:`HessianFree.update_on_batch` reports about one update."""

    #: float, the loss on the batch before the step.
    loss: float
    #: float, the loss on the batch after the step (equal to ``loss`` if rejected).
    new_loss: float
    #: float, the reduction ratio of the chosen CG iterate.
    rho: float
    #: float, the damping used for this step (before the update of the rule).
    damping: float
    #: int, CG iterations run.
    cg_iters: int
    #: int, the CG iterate chosen by backtracking.
    chosen_iter: int
    #: int, Gauss-Newton-vector products (CG plus one for the undamped model).
    products: int
    #: int, forward-only loss evaluations of the backtracking.
    loss_evals: int
    #: bool, whether the parameters changed.
    accepted: bool
    #: float, wall-clock seconds of the step.
    seconds: float


class HessianFree:
    r"""Hessian-free optimization of a vanilla RNN with a linear readout
    :cite:`martens2010,martens2011`.

    Each :meth:`update_on_batch` (named so because, unlike the ``step(params, grads)``
    of :mod:`rnnlib.optim`, it needs the batch itself, not a gradient): linearize (loss, gradient :math:`\nabla L`); run
    :func:`conjugate_gradient` on :math:`(G + \lambda I + \lambda\mu J_h^\top H_S J_h)\,
    \delta = -\nabla L` from the previous solution times ``decay``, with :math:`G` (and the
    structural term) measured on the first ``curvature_size`` sequences of the batch; backtrack over the stored CG
    iterates, going back while the loss of the earlier iterate is lower; accept the step
    if it lowers the loss; set :math:`\lambda` by :func:`update_damping` from the
    reduction ratio against the undamped model :math:`M(\delta) = \nabla L^\top\delta +
    \frac12\delta^\top G \delta`.

    Parameters
    ----------
    loss : {"mse", "softmax"}
    activation : {"tanh", "relu"}
    damping : float
        Initial :math:`\lambda > 0`.
    structural : float
        :math:`\mu \ge 0`; 0 turns structural damping off.
    max_cg_iters : int
        CG budget per step.
    decay : float
        Warm start: CG starts from ``decay`` times the previous CG solution,
        :math:`0 \le \text{decay} \le 1` (0.95 in :cite:`martens2010`).
    cg_tol : float
        ``tol`` of :func:`conjugate_gradient`.
    curvature_size : int, optional
        If given, the Gauss-Newton products use only the first ``curvature_size``
        sequences of each batch, while the gradient, the backtracking and the reduction
        ratio use all of it: a large batch keeps the noise of :math:`\nabla L` and :math:`r`
        low, a small one keeps the dozens of products per step cheap
        :cite:`martens2010`. Default: the whole batch.

    Attributes
    ----------
    damping : float
        The current :math:`\lambda`.
    history : list of StepInfo
    """

    def __init__(self, loss="mse", activation="tanh", damping=1.0, structural=0.0,
                 max_cg_iters=50, decay=0.95, cg_tol=5e-4, curvature_size=None):
        check_choice("loss", loss, LOSSES)
        check_choice("activation", activation, ("tanh", "relu"))
        damping = check_number("damping", damping, low=0, low_open=True)
        structural = check_number("structural", structural, low=0)
        decay = check_number("decay", decay, low=0, high=1)
        cg_tol = check_number("cg_tol", cg_tol, low=0, low_open=True)
        max_cg_iters = check_int("max_cg_iters", max_cg_iters)
        if curvature_size is not None:
            curvature_size = check_int("curvature_size", curvature_size)
        self.curvature_size = curvature_size
        self.loss, self.activation = loss, activation
        self.damping, self.structural = float(damping), float(structural)
        self.max_cg_iters, self.decay, self.cg_tol = max_cg_iters, decay, cg_tol
        self.history = []
        self._previous = None

    def _trial_loss(self, params, delta, batch):
        trial = {k: params[k] + delta[k] for k in PARAM_NAMES}
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                return objective(trial, *batch, loss=self.loss, activation=self.activation)
            except NonFiniteError:             # non-finite outputs: the step blew up
                return math.inf

    def update_on_batch(self, params, inputs, targets, mask=None):
        """One Hessian-free update of ``params`` (in place) on a batch.

        Parameters
        ----------
        params : dict of ndarray
            ``Wx``, ``Wh``, ``b``, ``Wy``, ``by`` (see :func:`pack`).
        inputs, targets, mask :
            One batch, as for :func:`linearize`.

        Returns
        -------
        StepInfo
            Also appended to :attr:`history`.
        """
        start = time.perf_counter()
        batch = (inputs, targets, mask)
        lin = linearize(params, *batch, loss=self.loss, activation=self.activation)
        g = pack(lin.grads)
        if not np.all(np.isfinite(g)):
            raise ValueError("the gradient is not finite; lower the initial weights")
        lam = self.damping
        curv = lin
        if self.curvature_size is not None and self.curvature_size < inputs.shape[0]:
            n = self.curvature_size
            curv = linearize(params, inputs[:n], targets[:n], None if mask is None else mask[:n],
                             loss=self.loss, activation=self.activation)

        def A(x):
            return pack(gauss_newton_product(curv, unpack(x, params), lam, self.structural))

        x0 = None
        if self._previous is not None and self._previous.shape == g.shape:
            x0 = self.decay * self._previous
        cg = conjugate_gradient(A, -g, x0, self.max_cg_iters, self.cg_tol)
        self._previous = cg.x

        # backtracking over the stored iterates (Martens 2010, section 4.6)
        j = len(cg.iterates) - 1
        best = self._trial_loss(params, unpack(cg.iterates[j][1], params), batch)
        evals = 1
        while j > 0:
            earlier = self._trial_loss(params, unpack(cg.iterates[j - 1][1], params), batch)
            evals += 1
            if not earlier < best:
                break
            best, j = earlier, j - 1
        chosen, delta = cg.iterates[j]
        Gd = pack(gauss_newton_product(curv, unpack(delta, params)))
        predicted = float(g @ delta + 0.5 * delta @ Gd)
        rho = reduction_ratio(best - lin.loss, predicted) if predicted < 0 else -math.inf
        accepted = best < lin.loss
        if accepted:
            for k, d in unpack(delta, params).items():
                params[k] += d
        self.damping = update_damping(lam, rho)
        info = StepInfo(lin.loss, best if accepted else lin.loss, rho, lam, cg.iterations,
                        chosen, cg.products + 1, evals, accepted,
                        time.perf_counter() - start)
        self.history.append(info)
        return info
