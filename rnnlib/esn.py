r"""Echo state networks: a fixed random reservoir and a linear readout fitted in closed form.

An echo state network (jaeger2001, jaeger2004, lukosevicius2012) is a recurrent network
whose input and recurrent weights are drawn once and never trained. Only the readout
:math:`W_{hy}, b_y` is fitted, by ridge regression on the collected states. The
reservoir is a leaky-integrator network :cite:`jaeger2007`, in the primer's row-vector form:

.. math::

    h_t = (1 - \alpha)\, h_{t-1} + \alpha \tanh(u_t W_{uh} + h_{t-1} W_{hh} + y_{t-1} W_{yh} + b),
    \qquad y_t = h_t W_{hy} + b_y,

with leak rate :math:`\alpha \in (0, 1]` (:math:`\alpha = 1` is the plain tanh RNN of
:func:`rnnlib.rnn.rnn_forward`) and the optional output feedback :math:`y_{t-1} W_{yh}`.
The secret is in the initialization: the spectral radius of :math:`W_{hh}`, its
sparsity and the input scaling. Derived in the chapter "Echo state networks".

Pure functions first (:func:`init_reservoir`, :func:`reservoir_states`,
:func:`ridge_readout`, :func:`ridge_path`, :func:`spectral_radius_estimate`,
:func:`echo_state_property`, :func:`free_run_nrmse`, :func:`fit_ridge_on_validation`),
then the thin :class:`EchoStateNetwork` that holds the arrays, fits, predicts one step
ahead, generates free-running and saves to / loads from ``.npz``.
"""
import os

import numpy as np

from ._validation import (ArgumentTypeError, check_array, check_bool, check_choice,
                          check_generator, check_indices, check_int, check_number)
from .analysis import spectral_radius as _exact_spectral_radius
from .io import load_archive, save_archive

#: The format marker and version stored in every saved network (under the keys
#: ``__format__`` and ``__version__``, as in :mod:`rnnlib.io`).
FORMAT = "rnnlib-esn"
VERSION = 1


def _leak_rate(leak_rate):
    return check_number("leak_rate", leak_rate, low=0.0, high=1.0, low_open=True)


def _as_batch(name, a, feature, size=None, dtype=None):
    """Accept (T, K) or (N, T, K); return the (N, T, K) view and whether it was batched."""
    check_array(name, a, dtype=dtype)
    if a.ndim not in (2, 3):
        raise ValueError(f"{name} must have shape (T, {feature}) or (N, T, {feature}); "
                         f"got {a.shape}")
    if size is not None and a.shape[-1] != size:
        raise ValueError(f"{name} must have {size} features in its last axis "
                         f"({feature}={size}); got shape {a.shape}")
    if a.shape[-2] == 0:
        raise ValueError(f"{name} must hold at least one time step; got shape {a.shape}")
    if a.ndim == 3 and a.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sequence; got shape {a.shape}")
    if a.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one feature; got shape {a.shape}")
    return (a, True) if a.ndim == 3 else (a[None], False)


def spectral_radius_estimate(W, *, n_iter=200, n_vectors=4, method="auto", rng=None):
    r"""Spectral radius :math:`\rho(W) = \max_i |\lambda_i(W)|` of a square matrix.

    Parameters
    ----------
    W : ndarray, shape (H, H)
        The matrix, e.g. the recurrent weights :math:`W_{hh}`.
    n_iter : int
        Number of products :math:`W V` of the iterative estimate.
    n_vectors : int
        Number of random start vectors (columns of :math:`V`); the estimate is their
        median, which is robust to a start vector nearly orthogonal to the dominant
        eigenvectors.
    method : {"auto", "eig", "iterative"}
        ``"eig"``: exact, :func:`rnnlib.analysis.spectral_radius` (all eigenvalues),
        :math:`O(H^3)` time.
        ``"iterative"``: the growth rate below, :math:`O(n_{iter} H^2)`.
        ``"auto"``: exact for :math:`H \le 256`, iterative above.
    rng : numpy.random.Generator, optional
        Source of the start vectors; a fixed seed if None (the estimate is then
        deterministic).

    Returns
    -------
    rho : float

    Notes
    -----
    Gelfand's formula :math:`\rho(W) = \lim_k \|W^k\|^{1/k}` suggests the growth rate of
    :math:`\|W^k v\|`. Power iteration renormalizes :math:`v` after every product and
    records :math:`g_k = \log \|W v_k\|`; the estimate is
    :math:`\exp(\operatorname{mean}_{k > n_{iter}/2}\, g_k)`, the average log growth
    over the second half of the iterations (the first half lets the dominant
    eigenvalues take over). Averaging the log growth over a window, rather than
    reading one ratio, is what makes it work when the dominant eigenvalues are a
    complex pair: :math:`\|W^k v\|` then oscillates with :math:`k` but its growth over
    a window of :math:`m` steps is :math:`\rho^m` up to a bounded factor, so the error
    of the logarithm shrinks like :math:`1/m`. For random reservoirs, whose
    eigenvalues fill a disc, the estimate is typically within 1-2 % of the exact
    value (tested against ``np.linalg.eigvals``) and costs a few hundred matrix
    products instead of an :math:`O(H^3)` eigen-decomposition.
    """
    check_array("W", W, ndim=2)
    H = W.shape[0]
    if W.shape != (H, H) or H == 0:
        raise ValueError(f"W must be a non-empty square matrix (H, H); got shape {W.shape}")
    check_choice("method", method, ("auto", "eig", "iterative"))
    n_iter = check_int("n_iter", n_iter)
    n_vectors = check_int("n_vectors", n_vectors)
    if rng is not None:
        check_generator("rng", rng)
    if method == "eig" or (method == "auto" and H <= 256):
        return _exact_spectral_radius(W)
    rng = np.random.default_rng(0) if rng is None else check_generator("rng", rng)
    V = rng.standard_normal((H, n_vectors))
    V /= np.linalg.norm(V, axis=0)
    log_growth = np.empty((n_iter, n_vectors))
    for k in range(n_iter):
        V = W @ V
        norms = np.linalg.norm(V, axis=0)
        if np.any(norms == 0):  # W^k v = 0: this v lies in a nilpotent part
            return 0.0 if np.all(norms == 0) else spectral_radius_estimate(
                W, n_iter=n_iter, n_vectors=n_vectors, method="eig")
        log_growth[k] = np.log(norms)
        V /= norms
    return float(np.median(np.exp(log_growth[n_iter // 2:].mean(axis=0))))


def init_reservoir(n_inputs, n_units, *, spectral_radius=0.9, sparsity=0.9,
                   input_scaling=1.0, bias_scaling=0.0, rng):
    r"""Draw the fixed weights of a reservoir.

    Parameters
    ----------
    n_inputs : int
        D, the input size.
    n_units : int
        H, the number of reservoir units.
    spectral_radius : float
        :math:`\rho > 0`: :math:`W_{hh}` is rescaled so that its spectral radius is
        :math:`\rho` (up to the accuracy of :func:`spectral_radius_estimate`).
    sparsity : float
        Fraction of zero entries of :math:`W_{hh}`, in [0, 1).
    input_scaling : float
        :math:`W_{uh}` is uniform in [-input_scaling, input_scaling].
    bias_scaling : float
        :math:`b` is uniform in [-bias_scaling, bias_scaling].
    rng : numpy.random.Generator

    Returns
    -------
    W_uh : ndarray, shape (D, H)
    W_hh : ndarray, shape (H, H)
        Gaussian nonzero entries on a random sparsity pattern, rescaled to the
        spectral radius.
    b : ndarray, shape (H,)
    """
    D = check_int("n_inputs", n_inputs)
    H = check_int("n_units", n_units)
    spectral_radius = check_number("spectral_radius", spectral_radius, low=0.0, low_open=True)
    sparsity = check_number("sparsity (the fraction of zero weights)", sparsity, low=0.0,
                            high=1.0, high_open=True)
    input_scaling = check_number("input_scaling", input_scaling, low=0.0)
    bias_scaling = check_number("bias_scaling", bias_scaling, low=0.0)
    check_generator("rng", rng)
    W_uh = rng.uniform(-input_scaling, input_scaling, size=(D, H))
    W_hh = rng.standard_normal((H, H))
    W_hh *= rng.random((H, H)) >= sparsity
    rho = spectral_radius_estimate(W_hh, rng=rng)
    if rho == 0:
        raise ValueError(f"the random W_hh of {H} units with sparsity {sparsity} has "
                         "spectral radius 0 (too few nonzero weights); use more units "
                         "or a smaller sparsity")
    W_hh *= spectral_radius / rho
    b = rng.uniform(-bias_scaling, bias_scaling, size=H)
    return W_uh, W_hh, b


def _recurrent_product(W_hh):
    r"""The function :math:`h \mapsto h W_{hh}` for h (N, H), by columns of nonzeros when
    ``W_hh`` is sparse.

    When no column holds more than H/10 nonzeros (a reservoir of sparsity 0.99 has about
    H/100), column j is kept as its m row indices and values (padded with zeros to the
    longest column) and :math:`(h W_{hh})_j = \sum_k h_{r_{jk}} v_{jk}`: H m products
    per state instead of :math:`H^2`. Equal to ``h @ W_hh`` up to rounding."""
    nonzero = W_hh != 0
    m = int(nonzero.sum(axis=0).max(initial=0))
    if W_hh.shape[0] < 100 or m > W_hh.shape[0] // 10:
        return lambda h: h @ W_hh
    rows = np.argsort(~nonzero, axis=0, kind="stable")[:m]       # (m, H), nonzeros first
    vals = np.take_along_axis(W_hh, rows, axis=0).T.copy()        # (H, m), 0 where padded
    rows = rows.T.copy()

    def product(h):
        return np.einsum("nhm,hm->nh", h[:, rows], vals)
    return product


def _leaky_step(h, drive, product, leak_rate):
    r"""One leaky reservoir update: returns
    :math:`(1-\alpha) h + \alpha \tanh(\text{drive} + h W_{hh})`; drive (N, H), h (N, H),
    ``product`` the map :math:`h \mapsto h W_{hh}` (:func:`_recurrent_product`)."""
    pre = product(h)
    pre += drive
    np.tanh(pre, out=pre)
    if leak_rate == 1.0:
        return pre
    pre *= leak_rate
    pre += (1.0 - leak_rate) * h
    return pre


def reservoir_states(u, W_uh, W_hh, b, leak_rate=1.0, h0=None, *, W_yh=None, feedback=None):
    r"""Drive the reservoir with an input sequence and collect its states.

    .. math::
        h_t = (1 - \alpha)\, h_{t-1} + \alpha \tanh(u_t W_{uh} + h_{t-1} W_{hh} + y_{t-1} W_{yh} + b)

    Parameters
    ----------
    u : ndarray, shape (T, D) or (N, T, D)
        Input sequence (or a batch of N sequences).
    W_uh : ndarray, shape (D, H)
    W_hh : ndarray, shape (H, H)
    b : ndarray, shape (H,)
    leak_rate : float
        :math:`\alpha \in (0, 1]`.
    h0 : ndarray, shape (H,) or (N, H), optional
        Initial state :math:`h_0`; zeros if None.
    W_yh : ndarray, shape (K, H), optional
        Output-feedback weights; requires ``feedback``.
    feedback : ndarray, shape (T, K) or (N, T, K), optional
        The fed-back outputs, ``feedback[t]`` entering step t (that is
        :math:`y_{t-1}`). Passing the true targets shifted by one step is teacher forcing.

    Returns
    -------
    states : ndarray, shape (T, H) or (N, T, H)
        :math:`h_1, \dots, h_T` (without :math:`h_0`), batched like ``u``.
    """
    u3, batched = _as_batch("u", u, "D")
    dtype = u.dtype
    N, T, D = u3.shape
    check_array("W_uh", W_uh, ndim=2, dtype=dtype)
    if W_uh.shape[0] != D:
        raise ValueError(f"W_uh must have shape (D, H) with D={D} matching u; got {W_uh.shape}")
    H = W_uh.shape[1]
    check_array("W_hh", W_hh, shape=(H, H), dtype=dtype)
    check_array("b", b, shape=(H,), dtype=dtype)
    leak_rate = _leak_rate(leak_rate)
    if h0 is None:
        h = np.zeros((N, H), dtype=dtype)
    else:
        check_array("h0", h0, shape=(N, H) if batched else (H,), dtype=dtype)
        h = h0.reshape(N, H)
    drive = np.matmul(u3.reshape(N * T, D), W_uh).reshape(N, T, H)
    drive += b
    if (W_yh is None) != (feedback is None):
        raise ValueError("W_yh and feedback go together: pass both for output feedback, "
                         "or neither")
    if W_yh is not None:
        check_array("W_yh", W_yh, ndim=2, dtype=dtype)
        K = W_yh.shape[0]
        if W_yh.shape[1] != H:
            raise ValueError(f"W_yh must have shape (K, H) with H={H}; got {W_yh.shape}")
        fb3, fb_batched = _as_batch("feedback", feedback, "K", size=K, dtype=dtype)
        if fb_batched != batched or fb3.shape[:2] != (N, T):
            raise ValueError(f"feedback must have shape {u.shape[:-1] + (K,)} like u; "
                             f"got {feedback.shape}")
        drive += np.matmul(fb3.reshape(N * T, K), W_yh).reshape(N, T, H)
    states = np.empty((N, T, H), dtype=dtype)
    product = _recurrent_product(W_hh)
    for t in range(T):
        h = _leaky_step(h, drive[:, t], product, leak_rate)
        states[:, t] = h
    return states if batched else states[0]


def _readout_data(states, targets):
    """Check states and targets; return the centered (T, H), (T, K) data and the means."""
    check_array("states", states)
    check_array("targets", targets, dtype=states.dtype)
    if states.ndim not in (2, 3) or targets.ndim != states.ndim \
            or targets.shape[:-1] != states.shape[:-1]:
        raise ValueError("states and targets must have shapes (T, H) and (T, K) (or "
                         f"(N, T, H) and (N, T, K)) with the same T; got {states.shape} "
                         f"and {targets.shape}")
    H, K = states.shape[-1], targets.shape[-1]
    if states.size == 0 and H > 0:
        raise ValueError(f"states must hold at least one time step; got shape {states.shape}")
    if H == 0 or K == 0:
        raise ValueError("states and targets must have at least one feature; got shapes "
                         f"{states.shape} and {targets.shape}")
    X, Y = states.reshape(-1, H), targets.reshape(-1, K)
    h_mean, y_mean = X.mean(axis=0), Y.mean(axis=0)
    return X - h_mean, Y - y_mean, h_mean, y_mean


def _triangular_factor(Xc, Yc, ridge=0.0):
    """R (H, H) and z = Q^T Y (H, K) of the QR factorization of [X; sqrt(ridge) I], from
    one Householder QR of the stacked [X Y] (the last columns of R are Q^T Y)."""
    H, K = Xc.shape[1], Yc.shape[1]
    A = np.zeros((Xc.shape[0] + (H if ridge else 0), H + K), dtype=Xc.dtype)
    A[:Xc.shape[0], :H], A[:Xc.shape[0], H:] = Xc, Yc
    if ridge:
        A[Xc.shape[0] + np.arange(H), np.arange(H)] = np.sqrt(ridge)
    R = np.linalg.qr(A, mode="r")
    return R[:H, :H], R[:H, H:]


def ridge_readout(states, targets, ridge=1e-8, *, method="normal"):
    r"""Fit the linear readout :math:`y = h W_{hy} + b_y` by ridge regression, in closed form.

    Minimizes :math:`\sum_t \|h_t W_{hy} + b_y - y_t\|^2 + \beta \|W_{hy}\|_F^2`
    (the bias is not regularized). With the column means :math:`\bar h, \bar y` and
    centered data :math:`X = H - \bar h`, :math:`Y = Y - \bar y`:

    .. math::
        W_{hy} = (X^\top X + \beta I)^{-1} X^\top Y, \qquad b_y = \bar y - \bar h W_{hy},

    without an explicit inverse and without iterative training.

    Parameters
    ----------
    states : ndarray, shape (T, H) or (N, T, H)
        Collected reservoir states (after the washout).
    targets : ndarray, shape (T, K) or (N, T, K)
        Desired outputs, batched like ``states``.
    ridge : float
        :math:`\beta \ge 0`.
    method : {"normal", "qr"}
        ``"normal"``: the normal equations above, :math:`X^\top X` formed and solved
        with ``np.linalg.solve`` (fast, :math:`T H^2 + H^3/3` operations); forming
        :math:`X^\top X` squares the condition number, so in float64 it fails once
        :math:`\beta` is below about :math:`10^{-16} \sigma_{max}(X)^2`.
        ``"qr"``: a Householder QR factorization of the stacked
        :math:`[X;\ \sqrt{\beta} I]` and a triangular solve, accurate to the
        condition number of :math:`X` itself (about :math:`2 (T + H) H^2` operations).

    Returns
    -------
    W_hy : ndarray, shape (H, K)
    b_y : ndarray, shape (K,)
    """
    check_choice("method", method, ("normal", "qr"))
    ridge = check_number("ridge", ridge, low=0.0)
    Xc, Yc, h_mean, y_mean = _readout_data(states, targets)
    if method == "qr":
        R, z = _triangular_factor(Xc, Yc, ridge)
        W_hy = np.linalg.solve(R, z)
    else:
        A = Xc.T @ Xc
        A[np.diag_indices(A.shape[0])] += ridge
        W_hy = np.linalg.solve(A, Xc.T @ Yc)
    return W_hy, y_mean - h_mean @ W_hy


def ridge_path(states, targets, ridges):
    r"""Ridge readouts for several :math:`\beta` from one factorization, to choose
    :math:`\beta` on validation data.

    With the QR factorization :math:`X = Q R` of the centered states and the singular
    value decomposition :math:`R = U S V^\top`,
    :math:`W_{hy}(\beta) = V \operatorname{diag}(s_i / (s_i^2 + \beta)) U^\top Q^\top Y`
    for every :math:`\beta` at the cost of one product; the accuracy is that of
    ``ridge_readout(..., method="qr")``.

    Parameters
    ----------
    states : ndarray, shape (T, H) or (N, T, H)
    targets : ndarray, shape (T, K) or (N, T, K)
    ridges : sequence of float
        The :math:`\beta \ge 0` to try.

    Returns
    -------
    readouts : list of (W_hy, b_y)
        One pair per ridge, in the order given.
    singular_values : ndarray, shape (H,)
        :math:`s_i` of the centered states, largest first (their ratio is the condition
        number of the regression).
    """
    if isinstance(ridges, (str, bytes)) or not hasattr(ridges, "__len__") or len(ridges) == 0:
        raise ValueError(f"ridges must be a non-empty sequence of numbers; got {ridges!r}")
    ridges = [check_number(f"ridges[{i}]", r, low=0.0) for i, r in enumerate(ridges)]
    Xc, Yc, h_mean, y_mean = _readout_data(states, targets)
    R, z = _triangular_factor(Xc, Yc)
    U, S, Vt = np.linalg.svd(R)
    Uz = U.T @ z
    readouts = []
    for ridge in ridges:
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = np.where(S > 0, S / (S ** 2 + ridge), 0.0)
        W_hy = Vt.T @ (gain[:, None] * Uz)
        readouts.append((W_hy, y_mean - h_mean @ W_hy))
    return readouts, S


def echo_state_property(u, W_uh, W_hh, b, leak_rate=1.0, *, n_states=2, rng, tol=1e-6):
    r"""Check the echo state property: do different initial states forget themselves?

    Drives ``n_states`` copies of the reservoir, started from states drawn uniformly in
    :math:`[-1, 1]^H`, with the same input and measures how far they stay apart. With
    the echo state property (jaeger2001) the state is a function of the input history
    alone, so the distance decays to zero.

    Parameters
    ----------
    u : ndarray, shape (T, D)
        The common input sequence.
    W_uh, W_hh, b, leak_rate
        The reservoir, as in :func:`reservoir_states`.
    n_states : int
        Number of initial states (at least 2).
    rng : numpy.random.Generator
        Source of the initial states.
    tol : float
        The property is taken to hold if the final distance is at most ``tol``.

    Returns
    -------
    holds : bool
        ``distance[-1] <= tol``.
    distance : ndarray, shape (T,)
        :math:`\max_i \|h^{(i)}_t - h^{(0)}_t\|` at every step t.
    """
    check_array("u", u, ndim=2)
    check_array("W_hh", W_hh, ndim=2)
    n_states = check_int("n_states", n_states, low=2)
    check_generator("rng", rng)
    tol = check_number("tol", tol, low=0.0)
    H = W_hh.shape[0]
    h0 = rng.uniform(-1.0, 1.0, size=(n_states, H)).astype(u.dtype)
    u_batch = np.broadcast_to(u, (n_states,) + u.shape)
    states = reservoir_states(u_batch, W_uh, W_hh, b, leak_rate, h0)
    distance = np.linalg.norm(states[1:] - states[0], axis=-1).max(axis=0)
    return bool(distance[-1] <= tol), distance


def free_run_nrmse(esn, series, starts, horizon, *, h0=None, scale=None):
    r"""Free-running error of a fitted network against a series, at every horizon.

    The network is driven by the true ``series`` from ``h0`` (teacher forcing); from the
    state reached after ``series[s]``, for every ``s`` in ``starts``, it runs free for
    ``horizon`` steps (:meth:`EchoStateNetwork.generate`) and its outputs are compared
    with ``series[s + 1 : s + 1 + horizon]``:

    .. math::
        \mathrm{NRMSE}_k = \sqrt{\langle (\hat y_{s+k} - y_{s+k})^2 \rangle_{s}}\ /\ s_y,

    the mean over start points and output components, :math:`s_y` the standard
    deviation of the series (or ``scale``). ``NRMSE_84`` of jaeger2004 is ``curve[83]``.

    Parameters
    ----------
    esn : EchoStateNetwork
        Fitted, without output feedback, with n_outputs == n_inputs = D.
    series : ndarray, shape (T, D)
    starts : ndarray of int, shape (M,)
        Start indices, with ``s + horizon < T``.
    horizon : int
    h0 : ndarray, shape (H,), optional
        State before ``series[0]``; zeros if None (then the first starts still
        remember it).
    scale : float, optional
        The normalizing standard deviation :math:`s_y`; ``np.std(series)`` if None.

    Returns
    -------
    curve : ndarray, shape (horizon,)
        ``curve[k - 1]`` is the NRMSE after k free-running steps.
    """
    if not isinstance(esn, EchoStateNetwork):
        raise ArgumentTypeError(f"esn must be an EchoStateNetwork; got {type(esn).__name__}")
    esn._check_fitted()
    if esn.W_yh is not None:
        raise ValueError("free_run_nrmse needs a network without output feedback")
    horizon = check_int("horizon", horizon)
    check_array("series", series, ndim=2, shape=(None, esn.W_uh.shape[0]), dtype=esn.W_hh.dtype)
    T = series.shape[0]
    check_indices("starts", starts, T - horizon, ndim=1)
    if starts.size == 0:
        raise ValueError("starts must hold at least one start index")
    scale = float(np.std(series)) if scale is None else check_number(
        "scale", scale, low=0.0, low_open=True)
    if scale == 0:
        raise ValueError("series is constant: its standard deviation is 0; pass scale")
    states = reservoir_states(series[:starts.max() + 1], esn.W_uh, esn.W_hh, esn.b,
                              esn.leak_rate, h0)
    gen = esn.generate(horizon, states[starts])                    # (M, horizon, D)
    truth = series[starts[:, None] + 1 + np.arange(horizon)]       # (M, horizon, D)
    return np.sqrt(np.mean((gen - truth) ** 2, axis=(0, 2))) / scale


def fit_ridge_on_validation(esn, series, n_train, n_val, ridges, *, washout=100,
                            horizon=84, n_starts=20, method="qr"):
    r"""Fit the readout of ``esn`` for next-step prediction of ``series``, with the ridge
    :math:`\beta` chosen by the free-running error on a validation segment.

    The readout is fitted on ``series[:n_train]`` (input ``series[t]``, target
    ``series[t + 1]``, the first ``washout`` states dropped) for every ridge of
    ``ridges`` at once (:func:`ridge_path`); each is scored by
    :func:`free_run_nrmse` at ``horizon`` from ``n_starts`` start points in the
    following ``n_val`` steps; the best is refitted with :meth:`EchoStateNetwork.fit`
    (``method``). Nothing after ``n_train + n_val`` is read, so a test segment after it
    stays unseen.

    Parameters
    ----------
    esn : EchoStateNetwork
        Without output feedback, one input and one output of the same size D.
    series : ndarray, shape (T, D)
        With ``T >= n_train + n_val``.
    n_train, n_val : int
    ridges : sequence of float
    washout, horizon, n_starts : int
    method : {"normal", "qr"}

    Returns
    -------
    scores : ndarray, shape (len(ridges),)
        Validation NRMSE at ``horizon`` for each ridge (inf where generation diverged);
        ``esn.ridge`` is set to the ridge of the smallest one and ``esn`` is fitted.
    """
    if not isinstance(esn, EchoStateNetwork):
        raise ArgumentTypeError(f"esn must be an EchoStateNetwork; got {type(esn).__name__}")
    n_train, n_val = check_int("n_train", n_train, low=2), check_int("n_val", n_val)
    horizon, n_starts = check_int("horizon", horizon), check_int("n_starts", n_starts)
    check_array("series", series, ndim=2, shape=(None, esn.W_uh.shape[0]), dtype=esn.W_hh.dtype)
    if series.shape[0] < n_train + n_val:
        raise ValueError(f"series must hold n_train + n_val = {n_train + n_val} steps; "
                         f"got {series.shape[0]}")
    if n_val <= horizon:
        raise ValueError(f"n_val must exceed horizon={horizon}; got {n_val}")
    washout = check_int("washout", washout, low=0, high=n_train - 2)
    u = series[:n_train + n_val]
    states = reservoir_states(u, esn.W_uh, esn.W_hh, esn.b, esn.leak_rate)
    check_choice("method", method, ("normal", "qr"))
    if method == "qr":
        readouts, _ = ridge_path(states[washout:n_train - 1], u[washout + 1:n_train], ridges)
    else:                       # the normal equations' own solutions, one Gram matrix
        Xc, Yc, h_mean, y_mean = _readout_data(states[washout:n_train - 1],
                                               u[washout + 1:n_train])
        A, XtY, readouts = Xc.T @ Xc, Xc.T @ Yc, []
        for i, ridge in enumerate(ridges):
            W_hy = np.linalg.solve(A + check_number(f"ridges[{i}]", ridge, low=0.0)
                                   * np.eye(A.shape[0]), XtY)
            readouts.append((W_hy, y_mean - h_mean @ W_hy))
    starts = n_train + np.linspace(0, n_val - horizon - 1, n_starts).astype(int)
    scale = float(np.std(series[:n_train]))
    gen_states = states[starts]
    truth = u[starts[:, None] + 1 + np.arange(horizon)]
    scores = np.empty(len(readouts))
    product = _recurrent_product(esn.W_hh)
    with np.errstate(over="ignore", invalid="ignore"):
        for i, (esn.W_hy, esn.b_y) in enumerate(readouts):
            y = gen_states @ esn.W_hy + esn.b_y
            h = gen_states
            for _ in range(horizon - 1):
                h = _leaky_step(h, y @ esn.W_uh + esn.b, product, esn.leak_rate)
                y = h @ esn.W_hy + esn.b_y
            err = np.sqrt(np.mean((y - truth[:, -1]) ** 2)) / scale
            scores[i] = err if np.isfinite(err) else np.inf
    esn.ridge = float(ridges[int(np.argmin(scores))])
    esn.fit(series[:n_train - 1], series[1:n_train], washout=washout, method=method)
    return scores


class EchoStateNetwork:
    r"""A leaky-integrator echo state network with a ridge-regression readout.

    Holds the fixed reservoir (:func:`init_reservoir`) and the fitted readout, and
    wraps the pure functions of this module: :meth:`fit` collects states with
    :func:`reservoir_states` and solves :func:`ridge_readout`; :meth:`predict` gives
    the one-step outputs for given inputs; :meth:`generate` runs free, feeding each
    prediction back as the next input.

    Parameters
    ----------
    n_inputs : int
        D.
    n_units : int
        H, the reservoir size.
    n_outputs : int, optional
        K; default ``n_inputs`` (the prediction of the next input).
    spectral_radius, sparsity, input_scaling, bias_scaling
        See :func:`init_reservoir`.
    leak_rate : float
        :math:`\alpha \in (0, 1]`.
    feedback_scaling : float
        If > 0, output feedback :math:`y_{t-1} W_{yh}` with :math:`W_{yh}` uniform in
        [-feedback_scaling, feedback_scaling], shape (K, H); 0 means no feedback.
    ridge : float
        :math:`\beta` of the readout.
    rng : numpy.random.Generator

    Attributes
    ----------
    W_uh, W_hh, b, W_yh
        The reservoir (``W_yh`` is None without feedback).
    W_hy : ndarray, shape (H, K)
    b_y : ndarray, shape (K,)
        The readout, None before :meth:`fit`.
    state_ : ndarray, shape (H,) or (N, H)
        The last reservoir state of the data given to :meth:`fit`, from which
        :meth:`generate` can continue the training sequence.
    """

    def __init__(self, n_inputs, n_units, *, n_outputs=None, spectral_radius=0.9,
                 sparsity=0.9, input_scaling=1.0, bias_scaling=0.0, leak_rate=1.0,
                 feedback_scaling=0.0, ridge=1e-8, rng):
        n_inputs = check_int("n_inputs", n_inputs)
        self.leak_rate = _leak_rate(leak_rate)
        self.ridge = check_number("ridge", ridge, low=0.0)
        feedback_scaling = check_number("feedback_scaling", feedback_scaling, low=0.0)
        K = n_inputs if n_outputs is None else check_int("n_outputs", n_outputs)
        self.W_uh, self.W_hh, self.b = init_reservoir(
            n_inputs, n_units, spectral_radius=spectral_radius, sparsity=sparsity,
            input_scaling=input_scaling, bias_scaling=bias_scaling, rng=rng)
        self.W_yh = (rng.uniform(-feedback_scaling, feedback_scaling, size=(K, n_units))
                     if feedback_scaling > 0 else None)
        self.n_outputs = K
        self.W_hy = self.b_y = None
        self.state_ = None

    def __repr__(self):
        D, H = self.W_uh.shape
        return (f"EchoStateNetwork(n_inputs={D}, n_units={H}, n_outputs={self.n_outputs}, "
                f"leak_rate={self.leak_rate}, feedback={self.W_yh is not None}, "
                f"ridge={self.ridge}, fitted={self.W_hy is not None})")

    def _readout(self, h):
        return h @ self.W_hy + self.b_y

    def _check_fitted(self):
        if self.W_hy is None:
            raise ValueError("this EchoStateNetwork is not fitted yet; call fit(u, y) first")

    def fit(self, u, y, *, washout=100, method="normal"):
        r"""Collect states for ``u`` from :math:`h_0 = 0` and fit the readout to ``y``.

        With output feedback the targets are fed back (teacher forcing):
        :math:`y_{t-1}` enters step t, zeros at t = 0.

        Parameters
        ----------
        u : ndarray, shape (T, D) or (N, T, D)
        y : ndarray, shape (T, K) or (N, T, K)
            Targets, batched like ``u``.
        washout : int
            The first ``washout`` states (still remembering :math:`h_0`) are not used
            in the regression.
        method : {"normal", "qr"}
            How the ridge regression is solved, see :func:`ridge_readout`.

        Returns
        -------
        self
        """
        u3, batched = _as_batch("u", u, "D", size=self.W_uh.shape[0], dtype=self.W_hh.dtype)
        y3, y_batched = _as_batch("y", y, "K", size=self.n_outputs, dtype=self.W_hh.dtype)
        if y_batched != batched or y3.shape[:2] != u3.shape[:2]:
            raise ValueError(f"y must have shape {u.shape[:-1] + (self.n_outputs,)} "
                             f"matching u; got {y.shape}")
        T = u3.shape[1]
        washout = check_int(f"washout (T={T} steps)", washout, low=0, high=T - 1)
        check_choice("method", method, ("normal", "qr"))
        feedback = None
        if self.W_yh is not None:
            feedback = np.zeros_like(y3)
            feedback[:, 1:] = y3[:, :-1]
        states = reservoir_states(u3, self.W_uh, self.W_hh, self.b, self.leak_rate,
                                  W_yh=self.W_yh, feedback=feedback)
        self.W_hy, self.b_y = ridge_readout(states[:, washout:], y3[:, washout:], self.ridge,
                                            method=method)
        self.state_ = states[:, -1] if batched else states[0, -1]
        return self

    def predict(self, u, *, h0=None, feedback=None, return_state=False):
        r"""One-step outputs :math:`y_t = h_t W_{hy} + b_y` for the given inputs.

        Parameters
        ----------
        u : ndarray, shape (T, D) or (N, T, D)
        h0 : ndarray, shape (H,) or (N, H), optional
            Initial state; zeros if None. Pass ``self.state_`` to continue the
            training sequence.
        feedback : ndarray, shape (T, K) or (N, T, K), optional
            With output feedback only: the outputs fed back (teacher forcing,
            ``feedback[t]`` is :math:`y_{t-1}`). If None, the network's own previous
            outputs are fed back, starting from :math:`h_0 W_{hy} + b_y`.
        return_state : bool
            Also return the last state (to continue with :meth:`generate`).

        Returns
        -------
        y : ndarray, shape (T, K) or (N, T, K)
        h_last : ndarray, shape (H,) or (N, H)
            Only if ``return_state``.
        """
        self._check_fitted()
        return_state = check_bool("return_state", return_state)
        if feedback is not None and self.W_yh is None:
            raise ValueError("feedback is given but this network has no output feedback "
                             "(feedback_scaling=0)")
        if self.W_yh is None or feedback is not None:
            states = reservoir_states(u, self.W_uh, self.W_hh, self.b, self.leak_rate, h0,
                                      W_yh=self.W_yh, feedback=feedback)
            y = self._readout(states)
            h_last = states[..., -1, :]
        else:
            u3, batched = _as_batch("u", u, "D", size=self.W_uh.shape[0],
                                    dtype=self.W_hh.dtype)
            h = self._initial_state(h0, u3.shape[0], batched)
            y, h_last = self._closed_loop(h, u3.shape[1], u3)
            if not batched:
                y, h_last = y[0], h_last[0]
        return (y, h_last) if return_state else y

    def generate(self, n_steps, h0):
        r"""Free-running generation: each prediction is fed back as the next input.

        Starting from the state :math:`h_0` reached after the last observed input,
        :math:`\hat y_0 = h_0 W_{hy} + b_y` predicts the next input; then
        :math:`u_{t+1} = \hat y_t` (and, with output feedback, also :math:`y_t = \hat y_t`
        is fed back). Requires K = D.

        Parameters
        ----------
        n_steps : int
        h0 : ndarray, shape (H,) or (N, H)
            E.g. ``self.state_`` after :meth:`fit`, or the state returned by
            :meth:`predict` with ``return_state=True``.

        Returns
        -------
        y : ndarray, shape (n_steps, K) or (N, n_steps, K)
        """
        self._check_fitted()
        n_steps = check_int("n_steps", n_steps)
        D = self.W_uh.shape[0]
        if self.n_outputs != D:
            raise ValueError(f"generate feeds outputs back as inputs and needs n_outputs "
                             f"== n_inputs; got {self.n_outputs} and {D}")
        check_array("h0", h0, dtype=self.W_hh.dtype)
        if h0.ndim == 2 and h0.shape[0] == 0:
            raise ValueError(f"h0 must hold at least one state; got shape {h0.shape}")
        batched = h0.ndim == 2
        h = self._initial_state(h0, h0.shape[0] if batched else 1, batched)
        first = self._readout(h)
        rest, _ = self._closed_loop(h, n_steps - 1)
        y = np.concatenate([first[:, None], rest], axis=1)
        return y if batched else y[0]

    def _initial_state(self, h0, N, batched):
        H = self.W_hh.shape[0]
        if h0 is None:
            return np.zeros((N, H), dtype=self.W_hh.dtype)
        check_array("h0", h0, shape=(N, H) if batched else (H,), dtype=self.W_hh.dtype)
        return h0.reshape(N, H)

    def _closed_loop(self, h, n_steps, u=None):
        """Run n_steps with the previous output fed back (as input if u is None).
        h (N, H), u (N, n_steps, D) or None; returns outputs (N, n_steps, K) and h."""
        y_prev = self._readout(h)
        out = np.empty((h.shape[0], n_steps, self.n_outputs), dtype=h.dtype)
        product = _recurrent_product(self.W_hh)
        for t in range(n_steps):
            drive = (y_prev if u is None else u[:, t]) @ self.W_uh + self.b
            if self.W_yh is not None:
                drive += y_prev @ self.W_yh
            h = _leaky_step(h, drive, product, self.leak_rate)
            y_prev = out[:, t] = self._readout(h)
        return out, h

    def _arrays(self):
        """The arrays that :meth:`save` writes, by their names in the file."""
        arrays = dict(W_uh=self.W_uh, W_hh=self.W_hh, b=self.b, W_hy=self.W_hy, b_y=self.b_y,
                      state_=self.state_, leak_rate=np.array(self.leak_rate),
                      ridge=np.array(self.ridge))
        if self.W_yh is not None:
            arrays["W_yh"] = self.W_yh
        return arrays

    def save(self, path):
        """Save the network to a NumPy ``.npz`` file (no pickle), with a format marker
        and version. Load it with :meth:`EchoStateNetwork.load`.

        The arrays are checked as :meth:`load` checks them before anything is written,
        so a file written by ``save`` always loads.

        Parameters
        ----------
        path : str or os.PathLike
            Target file; ``.npz`` is appended when missing (as ``numpy.savez`` does).

        Returns
        -------
        path : str
            The file written.
        """
        self._check_fitted()
        arrays = self._arrays()
        _check_saved_arrays(arrays, "the network to save")
        return save_archive(path, FORMAT, VERSION, arrays)

    @classmethod
    def load(cls, path):
        """Load a network saved by :meth:`save`; it gives identical predictions.

        Every entry is checked before the network is built: the names (no entry
        missing or unexpected), the shapes (``W_uh`` (D, H), ``W_hh`` (H, H), ``b`` (H,),
        ``W_hy`` (H, K), ``b_y`` (K,), ``state_`` (H,) or (N, H), ``W_yh`` (K, H)), one
        float32 or float64 dtype for all arrays, finite values, ``leak_rate`` in (0, 1] and
        ``ridge`` >= 0.

        Raises
        ------
        ValueError
            If ``path`` is not an ``.npz`` file written by :meth:`save` (or was written
            by an incompatible version, or misses arrays, or holds arrays of the wrong
            shape, dtype or value).
        FileNotFoundError
            If there is no file at ``path``.
        """
        data = load_archive(path, FORMAT, VERSION, "a saved EchoStateNetwork")
        del data["__format__"], data["__version__"]
        where = f"{os.fspath(path)!r}"
        leak_rate, ridge = _check_saved_arrays(data, where)
        esn = cls.__new__(cls)
        for name in ("W_uh", "W_hh", "b", "W_hy", "b_y", "state_"):
            setattr(esn, name, data[name])
        esn.W_yh = data.get("W_yh")
        esn.leak_rate, esn.ridge = leak_rate, ridge
        esn.n_outputs = esn.W_hy.shape[1]
        return esn


_SAVED = ("W_uh", "W_hh", "b", "W_hy", "b_y", "state_", "leak_rate", "ridge")


def _check_saved_arrays(data, where):
    """Check the arrays of a saved network (names, shapes, dtypes, values) and return
    ``(leak_rate, ridge)`` as floats; ``where`` names the file in the messages."""
    missing = set(_SAVED) - set(data)
    unexpected = set(data) - set(_SAVED) - {"W_yh"}
    if missing or unexpected:
        raise ValueError(f"{where} is not a complete saved EchoStateNetwork: "
                         + (f"missing {sorted(missing)}" if missing else "")
                         + ("; " if missing and unexpected else "")
                         + (f"unexpected {sorted(unexpected)}" if unexpected else ""))

    def array(name, **kwargs):
        try:
            return check_array(name, data[name], **kwargs)
        except ValueError as err:
            raise type(err)(f"{where}: {err}") from None

    W_uh = array("W_uh", ndim=2)
    dtype = W_uh.dtype
    D, H = W_uh.shape
    if D == 0 or H == 0:
        raise ValueError(f"{where}: W_uh must have shape (D, H) with D, H >= 1; got {W_uh.shape}")
    array("W_hh", shape=(H, H), dtype=dtype)
    array("b", shape=(H,), dtype=dtype)
    W_hy = array("W_hy", ndim=2, dtype=dtype)
    if W_hy.shape[0] != H or W_hy.shape[1] == 0:
        raise ValueError(f"{where}: W_hy must have shape (H, K) with H={H} and K >= 1; "
                         f"got {W_hy.shape}")
    K = W_hy.shape[1]
    array("b_y", shape=(K,), dtype=dtype)
    state = array("state_", dtype=dtype)
    if not (state.shape == (H,) or (state.ndim == 2 and state.shape[1] == H
                                    and state.shape[0] >= 1)):
        raise ValueError(f"{where}: state_ must have shape ({H},) or (N, {H}); "
                         f"got {state.shape}")
    if "W_yh" in data:
        array("W_yh", shape=(K, H), dtype=dtype)
    scalars = []
    for name, bounds in (("leak_rate", dict(low=0.0, high=1.0, low_open=True)),
                         ("ridge", dict(low=0.0))):
        value = array(name, shape=())
        try:
            scalars.append(check_number(name, value.item(), **bounds))
        except ValueError as err:
            raise type(err)(f"{where}: {err}") from None
    return tuple(scalars)
