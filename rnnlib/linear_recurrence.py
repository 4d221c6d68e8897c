r"""Recurrences linear in the state: the associative scan, minGRU and the LRU.

A recurrence whose new state is an element-wise affine function of the old one,

.. math::

    h_t = a_t \odot h_{t-1} + b_t, \qquad t = 1, \dots, T,

where :math:`a_t` and :math:`b_t` may depend on the inputs but not on the state, can be
computed in :math:`\lceil \log_2 T \rceil` vectorized passes instead of :math:`T`
sequential steps, because the composition of affine maps is associative
(:func:`linear_scan`). Two recent recurrent networks are built on it:

* minGRU :cite:`feng2024`: a GRU whose gate and candidate depend on the input only,
  :math:`z_t = \sigma(u_t W_z + b_z)`, :math:`\tilde h_t = u_t W_h + b_h`,
  :math:`h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t`
  (:func:`mingru_forward`, :func:`mingru_backward`);
* the linear recurrent unit (LRU) :cite:`orvieto2023`: a diagonal complex linear
  recurrence :math:`h_t = \lambda \odot h_{t-1} + \gamma \odot (u_t B)`,
  :math:`y_t = \mathrm{Re}(h_t C) + u_t D`, with the stable exponential parametrization
  :math:`\lambda = \exp(-e^{\nu} + i e^{\theta})` and the normalization
  :math:`\gamma = \sqrt{1 - |\lambda|^2}` (:func:`lru_forward`, :func:`lru_backward`).

Row vectors and batch-first arrays as in the rest of :mod:`rnnlib`: inputs
:math:`u_t` are rows of ``x`` of shape (N, T, D), states rows of shape (N, H). Every
backward pass returns the gradients of a real loss; for a complex array :math:`z` the
gradient is :math:`\partial L/\partial \mathrm{Re}\, z + i\, \partial L/\partial
\mathrm{Im}\, z`. For training on a :class:`rnnlib.tasks.Task`, :func:`mingru_init` /
:func:`mingru_loss_and_grads` and :func:`lru_init` / :func:`lru_loss_and_grads` give
parameter dicts and loss functions in the contract of :func:`rnnlib.train.train`.

Derived in the chapter "Linear recurrences".
"""
from typing import NamedTuple

import numpy as np

from ._validation import (ArgumentTypeError, check_array, check_choice, check_finite,
                          check_float_dtype, check_generator, check_int, check_number,
                          check_shape)
from .activations import sigmoid
from .affine import temporal_affine_backward, temporal_affine_forward
from .models import LOSSES, data_loss

SCAN_DTYPES = (np.float32, np.float64, np.complex64, np.complex128)
METHODS = ("scan", "sequential")


class MinGRUCache(NamedTuple):
    """What :func:`mingru_backward` needs from :func:`mingru_forward`."""

    x: np.ndarray         #: (N, T, D) inputs
    h0: np.ndarray        #: (N, H) initial state
    Wz: np.ndarray        #: (D, H)
    Wh: np.ndarray        #: (D, H)
    z: np.ndarray         #: (N, T, H) update gates
    htilde: np.ndarray    #: (N, T, H) candidates
    h: np.ndarray         #: (N, T, H) states
    method: str


class LRUCache(NamedTuple):
    """What :func:`lru_backward` needs from :func:`lru_forward`."""

    h: np.ndarray         #: (N, T, H) complex states
    x: np.ndarray         #: (N, T, D) inputs
    h0: np.ndarray        #: (N, H) complex initial state
    p: np.ndarray         #: (N, T, H) complex input projections u_t B
    lam: np.ndarray       #: (H,) complex eigenvalues
    gamma: np.ndarray     #: (H,) normalization
    e_nu: np.ndarray      #: (H,) exp(nu)
    nu: np.ndarray
    theta: np.ndarray
    B_re: np.ndarray
    B_im: np.ndarray
    C_re: np.ndarray
    C_im: np.ndarray
    D: np.ndarray
    method: str


def _check_cache(cache, kind, forward):
    if not isinstance(cache, kind):
        raise ArgumentTypeError(f"cache must be the {kind.__name__} returned by {forward}; "
                                f"got {type(cache).__name__}")
    return cache


# ----------------------------------------------------------------------------------
# The scan
# ----------------------------------------------------------------------------------

def _check_scan_array(name, a, shape=None, dtype=None):
    """A plain real or complex float array (complex is what :func:`check_array` does
    not cover), finite in its real and imaginary parts."""
    check_array(name, a, floating=False)
    if a.dtype.type not in SCAN_DTYPES:
        raise ArgumentTypeError(f"{name} must be a float32, float64, complex64 or "
                                f"complex128 array; got {a.dtype}")
    if shape is not None:
        check_shape(name, a, shape)
    if dtype is not None and a.dtype != dtype:
        raise ArgumentTypeError(f"{name} has dtype {a.dtype} but the other arrays are "
                                f"{np.dtype(dtype)}; use one dtype for all arrays of a call")
    check_finite(name, a.real)
    if np.iscomplexobj(a):
        check_finite(f"{name} (imaginary part)", a.imag)
    return a


def _check_scan_args(a, b, h0, b_name="b"):
    _check_scan_array("a", a)
    if a.ndim != 3:
        raise ValueError(f"a must have shape (N, T, H); got {a.shape}")
    N, T, H = a.shape
    if N == 0 or T == 0 or H == 0:
        raise ValueError(f"a must hold at least one sequence, step and unit; got {a.shape}")
    _check_scan_array(b_name, b, shape=(N, T, H), dtype=a.dtype)
    _check_scan_array("h0", h0, shape=(N, H), dtype=a.dtype)


def _scan(a, b):
    """Inclusive Hillis-Steele scan over axis 1 of the pairs (a, b); returns the b part.

    After the pass with offset k, (A_t, B_t) is the composition of the steps
    max(1, t-2k+1), ..., t, so after ceil(log2 T) passes it is steps 1..t.
    """
    A, B = a.copy(), b.copy()
    T = a.shape[1]
    k = 1
    while k < T:
        # (A_t, B_t) <- (A_t, B_t) o (A_{t-k}, B_{t-k}) = (A_t A_{t-k}, A_t B_{t-k} + B_t);
        # the right-hand sides are evaluated from the old arrays before assignment.
        B[:, k:] += A[:, k:] * B[:, :-k]
        if 2 * k < T:            # A is not needed after the last pass
            A[:, k:] = A[:, k:] * A[:, :-k]
        k *= 2
    return B


def linear_scan(a, b, h0):
    r"""The linear recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` by an associative scan.

    The step :math:`t` is the affine map :math:`f_t(h) = a_t \odot h + b_t`, the pair
    :math:`(a_t, b_t)`. Composing two steps gives another affine map,

    .. math::

        (a_2, b_2) \circ (a_1, b_1) = (a_2 \odot a_1,\ a_2 \odot b_1 + b_2),

    and composition is associative, so the prefixes :math:`f_t \circ \dots \circ f_1`
    can be formed by recursive doubling (Hillis-Steele :cite:`hillis1986`; the
    work-efficient variant is Blelloch's :cite:`blelloch1990`, the use for linear RNNs
    :cite:`martin2018`): in pass :math:`k = 1, 2, 4,
    \dots` every step is composed with the one :math:`k` steps earlier. After
    :math:`\lceil \log_2 T \rceil` vectorized passes over the whole (N, T, H) array (work
    :math:`O(T \log T)`) step :math:`t` holds the composition of steps 1 to :math:`t`.
    The initial state is folded into the first step, :math:`b_1 \leftarrow a_1 \odot
    h_0 + b_1`.

    Parameters
    ----------
    a : ndarray, shape (N, T, H), float or complex
        The multipliers :math:`a_t`.
    b : ndarray, shape (N, T, H), same dtype
        The inputs :math:`b_t`.
    h0 : ndarray, shape (N, H), same dtype
        The initial state.

    Returns
    -------
    h : ndarray, shape (N, T, H)
        The states :math:`h_1, \dots, h_T`, equal to :func:`linear_scan_sequential` up to
        rounding.
    """
    _check_scan_args(a, b, h0)
    b = b.copy()
    b[:, 0] += a[:, 0] * h0
    return _scan(a, b)


def linear_scan_sequential(a, b, h0):
    r"""The same recurrence :math:`h_t = a_t \odot h_{t-1} + b_t` by the plain loop over t.

    :math:`T` steps of :math:`O(NH)` work each: on a CPU and for moderate sizes usually
    faster than :func:`linear_scan`, which does :math:`\log_2 T` times more arithmetic.
    Arguments and result as in :func:`linear_scan`.
    """
    _check_scan_args(a, b, h0)
    return _sequential(a, b, h0)


def _sequential(a, b, h0):
    h = np.empty_like(b)
    prev = h0
    for t in range(a.shape[1]):
        prev = h[:, t] = a[:, t] * prev + b[:, t]
    return h


def linear_scan_backward(dh, a, h, h0, method="scan"):
    r"""Gradients of the linear recurrence by the reverse-time recurrence of the adjoint.

    With :math:`e_t` the error the loss injects at :math:`h_t` directly (``dh[:, t]``),
    the total gradient on :math:`h_t` adds what comes back from step :math:`t+1`,

    .. math::

        \frac{\partial L}{\partial h_T} = e_T, \qquad
        \frac{\partial L}{\partial h_t} = \bar a_{t+1} \odot
        \frac{\partial L}{\partial h_{t+1}} + e_t,

    again a linear recurrence, run backwards in time (and by the same scan). Then
    :math:`\partial L/\partial b_t = \partial L/\partial h_t`, :math:`\partial L/\partial
    a_t = \partial L/\partial h_t \odot \bar h_{t-1}` and :math:`\partial L/\partial h_0 =
    \bar a_1 \odot \partial L/\partial h_1` (the bars are complex conjugates, no-ops for
    real arrays).

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        :math:`e_t`, the error the loss injects at each output state.
    a : ndarray, shape (N, T, H)
    h : ndarray, shape (N, T, H)
        The states returned by the forward pass.
    h0 : ndarray, shape (N, H)
    method : {"scan", "sequential"}

    Returns
    -------
    da, db : ndarray, shape (N, T, H)
    dh0 : ndarray, shape (N, H)
    """
    check_choice("method", method, METHODS)
    _check_scan_args(a, h, h0, b_name="h")
    _check_scan_array("dh", dh, shape=a.shape, dtype=a.dtype)
    return _scan_backward(dh, a, h, h0, method)


def _scan_backward(dh, a, h, h0, method):
    # Reverse time: s = T-1-t, g'_s = A'_s g'_{s-1} + dh'_s with A'_s = conj(a_{t+1}).
    A = np.zeros_like(a)
    A[:, :-1] = a[:, 1:].conj()
    A, d = A[:, ::-1], dh[:, ::-1]
    g = _scan(A, d) if method == "scan" else _sequential(A, d, np.zeros_like(h0))
    g = g[:, ::-1]
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    return g * prev.conj(), g, a[:, 0].conj() * g[:, 0]


def _run(a, b, h0, method):
    b = b.copy()
    b[:, 0] += a[:, 0] * h0
    return _scan(a, b) if method == "scan" else _sequential(a, b, np.zeros_like(h0))


# ----------------------------------------------------------------------------------
# minGRU
# ----------------------------------------------------------------------------------

def _check_input(x, name="x"):
    check_array(name, x, ndim=3)
    N, T, D = x.shape
    if N == 0 or T == 0 or D == 0:
        raise ValueError(f"{name} must hold at least one sequence, step and input; "
                         f"got shape {x.shape}")
    return N, T, D


def mingru_forward(x, h0, Wz, Wh, bz, bh, method="scan"):
    r"""minGRU over a sequence :cite:`feng2024`.

    .. math::

        z_t = \sigma(u_t W_z + b_z), \qquad \tilde h_t = u_t W_h + b_h, \qquad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t.

    Neither the gate nor the candidate sees :math:`h_{t-1}`, so the recurrence is
    :func:`linear_scan` with :math:`a_t = 1 - z_t` and :math:`b_t = z_t \odot \tilde h_t`.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Inputs :math:`u_t`.
    h0 : ndarray, shape (N, H)
    Wz, Wh : ndarray, shape (D, H)
    bz, bh : ndarray, shape (H,)
    method : {"scan", "sequential"}
        The associative scan or the plain loop (same result up to rounding).

    Returns
    -------
    h : ndarray, shape (N, T, H)
    cache : MinGRUCache
        For :func:`mingru_backward`.
    """
    N, T, D = _check_input(x)
    check_choice("method", method, METHODS)
    check_array("Wz", Wz, ndim=2, dtype=x.dtype)
    if Wz.shape[0] != D or Wz.shape[1] == 0:
        raise ValueError(f"Wz must have shape (D, H) with D={D} matching x; got {Wz.shape}")
    H = Wz.shape[1]
    check_array("Wh", Wh, shape=(D, H), dtype=x.dtype)
    check_array("bz", bz, shape=(H,), dtype=x.dtype)
    check_array("bh", bh, shape=(H,), dtype=x.dtype)
    check_array("h0", h0, shape=(N, H), dtype=x.dtype)
    x2 = x.reshape(N * T, D)
    z = sigmoid((x2 @ Wz + bz).reshape(N, T, H))
    htilde = (x2 @ Wh + bh).reshape(N, T, H)
    a = 1.0 - z
    h = _run(a, z * htilde, h0, method)
    return h, MinGRUCache(x, h0, Wz, Wh, z, htilde, h, method)


def mingru_backward(dh, cache):
    r"""Backward pass of :func:`mingru_forward`.

    The adjoint :math:`g_t` of :func:`linear_scan_backward` gives
    :math:`\partial L/\partial z_t = g_t \odot (\tilde h_t - h_{t-1})` and
    :math:`\partial L/\partial \tilde h_t = g_t \odot z_t`; the gate's pre-activation
    receives :math:`\partial L/\partial z_t \odot z_t (1 - z_t)`, and the weights the
    products with the inputs.

    Parameters
    ----------
    dh : ndarray, shape (N, T, H)
        Gradient of the loss on every state.
    cache : MinGRUCache
        From :func:`mingru_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H)
    dWz, dWh : ndarray, shape (D, H)
    dbz, dbh : ndarray, shape (H,)
    """
    x, h0, Wz, Wh, z, htilde, h, method = _check_cache(cache, MinGRUCache, "mingru_forward")
    N, T, D = x.shape
    H = Wz.shape[1]
    check_array("dh", dh, shape=(N, T, H), dtype=x.dtype)
    da, db, dh0 = _scan_backward(dh, 1.0 - z, h, h0, method)
    dpre_z = (db * htilde - da) * z * (1.0 - z)     # dz = -da + db * htilde
    dhtilde = db * z
    x2 = x.reshape(N * T, D)
    dz2, dt2 = dpre_z.reshape(N * T, H), dhtilde.reshape(N * T, H)
    dx = (dz2 @ Wz.T + dt2 @ Wh.T).reshape(N, T, D)
    return dx, dh0, x2.T @ dz2, x2.T @ dt2, dz2.sum(axis=0), dt2.sum(axis=0)


def mingru_params(input_size, hidden_size, rng, chrono=None, dtype=np.float64):
    r"""Initial minGRU weights ``{"Wz", "Wh", "bz", "bh"}``.

    ``Wz`` and ``Wh`` uniform in :math:`\pm 1/\sqrt{D}` (PyTorch's ``nn.Linear``
    default), ``bh = 0``. The gate bias sets the memory of the untrained network: unit
    :math:`j` keeps a fraction :math:`1 - z \approx 1 - \sigma(b_{z,j})` of its state
    per step. ``chrono=None`` draws ``bz`` like the weights (:math:`z \approx 1/2`, a
    memory of a few steps); ``chrono=T_max`` uses the chrono initialization of
    :cite:`tallec2018`, :math:`b_z = -\log U[1, T_\text{max}]`, memories spread
    between 1 and about :math:`T_\text{max}` steps.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    rng : numpy.random.Generator
    chrono : float, optional
        :math:`T_\text{max} > 1`.
    dtype : numpy dtype
    """
    D = check_int("input_size", input_size)
    H = check_int("hidden_size", hidden_size)
    check_generator("rng", rng)
    dtype = check_float_dtype("dtype", dtype)
    bound = 1.0 / np.sqrt(D)
    p = {"Wz": rng.uniform(-bound, bound, (D, H)), "Wh": rng.uniform(-bound, bound, (D, H))}
    if chrono is None:
        p["bz"] = rng.uniform(-bound, bound, H)
    else:
        t_max = check_number("chrono", chrono, low=1, low_open=True)
        p["bz"] = -np.log(rng.uniform(1.0, t_max, H))
    p["bh"] = np.zeros(H)
    return {k: v.astype(dtype) for k, v in p.items()}


# ----------------------------------------------------------------------------------
# The linear recurrent unit
# ----------------------------------------------------------------------------------

def lru_eigenvalues(nu, theta):
    r"""The diagonal recurrence :math:`\lambda = \exp(-e^{\nu} + i e^{\theta})` and the
    normalization :math:`\gamma = \sqrt{1 - |\lambda|^2}` :cite:`orvieto2023`.

    :math:`|\lambda| = \exp(-e^{\nu}) < 1` for every real :math:`\nu` (in floating point
    as long as :math:`e^{\nu}` is not below the rounding of 1, i.e. :math:`\nu >
    -36` in float64), and the phase is :math:`e^{\theta}`. :math:`1 - |\lambda|^2` is
    computed as ``-expm1(-2 exp(nu))``, accurate also for :math:`|\lambda|` close to 1.

    Parameters
    ----------
    nu, theta : ndarray, shape (H,)

    Returns
    -------
    lam : ndarray, shape (H,), complex
    gamma : ndarray, shape (H,), real
    """
    check_array("nu", nu, ndim=1)
    check_array("theta", theta, shape=nu.shape, dtype=nu.dtype)
    return _eigenvalues(nu, theta)[:2]


def _eigenvalues(nu, theta):
    with np.errstate(over="ignore"):
        e_nu = np.exp(nu)
    lam = np.exp(-e_nu + 1j * np.exp(theta))
    gamma = np.sqrt(-np.expm1(-2.0 * e_nu))
    return lam, gamma, e_nu


def lru_ring_init(hidden_size, rng, r_min=0.0, r_max=1.0, max_phase=2 * np.pi,
                  dtype=np.float64):
    r"""The ring initialization of :cite:`orvieto2023`: :math:`\lambda` uniform on the
    ring :math:`r_\text{min} \le |\lambda| \le r_\text{max}` (uniform in area), with
    phase uniform in :math:`[0, \text{max\_phase}]`.

    .. math::

        \nu = \log\big(-\tfrac12 \log(u_1 (r_\text{max}^2 - r_\text{min}^2)
        + r_\text{min}^2)\big), \qquad \theta = \log(\text{max\_phase}\ u_2),
        \qquad u_1, u_2 \sim U(0, 1).

    Parameters
    ----------
    hidden_size : int
        H, the number of complex state units.
    rng : numpy.random.Generator
    r_min, r_max : float
        :math:`0 \le r_\text{min} < r_\text{max} \le 1`.
    max_phase : float
        In :math:`(0, 2\pi]`; :cite:`orvieto2023` use :math:`\pi/10` on long-range tasks.

    Returns
    -------
    nu, theta : ndarray, shape (H,)
    """
    H = check_int("hidden_size", hidden_size)
    dtype = check_float_dtype("dtype", dtype)
    check_generator("rng", rng)
    r_max = check_number("r_max", r_max, low=0, high=1, low_open=True)
    r_min = check_number("r_min", r_min, low=0, high=r_max, high_open=True)
    max_phase = check_number("max_phase", max_phase, low=0, high=2 * np.pi, low_open=True)
    u1 = rng.uniform(size=H)
    u2 = rng.uniform(size=H)
    # 1 - u1 in (0, 1] keeps the logarithms finite (u1 may be 0).
    nu = np.log(-0.5 * np.log((1.0 - u1) * (r_max ** 2 - r_min ** 2) + r_min ** 2))
    theta = np.log(max_phase * (1.0 - u2))
    return nu.astype(dtype), theta.astype(dtype)


LRU_PARAMS = ("nu", "theta", "B_re", "B_im", "C_re", "C_im", "D")


def lru_forward(x, h0, nu, theta, B_re, B_im, C_re, C_im, D, method="scan"):
    r"""The linear recurrent unit :cite:`orvieto2023` over a sequence (row-vector form).

    .. math::

        h_t = \lambda \odot h_{t-1} + \gamma \odot (u_t B), \qquad
        y_t = \mathrm{Re}(h_t C) + u_t D,

    with :math:`\lambda = \exp(-e^{\nu} + i e^{\theta})`, :math:`\gamma = \sqrt{1 -
    |\lambda|^2}` (:func:`lru_eigenvalues`), :math:`B = B_\text{re} + i B_\text{im}` and
    :math:`C = C_\text{re} + i C_\text{im}`. The state is complex; every parameter is
    real. :cite:`orvieto2023` train :math:`\log \gamma` as a parameter of its own
    initialized at this value; here :math:`\gamma` follows :math:`\nu`.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
        Real inputs :math:`u_t`.
    h0 : ndarray, shape (N, H), complex (complex128 for float64 x, complex64 for float32)
    nu, theta : ndarray, shape (H,)
    B_re, B_im : ndarray, shape (D, H)
    C_re, C_im : ndarray, shape (H, M)
    D : ndarray, shape (D, M)
        The skip connection.
    method : {"scan", "sequential"}

    Returns
    -------
    y : ndarray, shape (N, T, M), real
    cache : LRUCache
        For :func:`lru_backward`; ``cache.h`` holds the states, (N, T, H) complex.
    """
    N, T, Din = _check_input(x)
    check_choice("method", method, METHODS)
    dt = x.dtype
    check_array("nu", nu, ndim=1, dtype=dt)
    H = nu.shape[0]
    if H == 0:
        raise ValueError("nu must hold at least one unit; got shape (0,)")
    check_array("theta", theta, shape=(H,), dtype=dt)
    check_array("B_re", B_re, shape=(Din, H), dtype=dt)
    check_array("B_im", B_im, shape=(Din, H), dtype=dt)
    check_array("C_re", C_re, ndim=2, dtype=dt)
    if C_re.shape[0] != H or C_re.shape[1] == 0:
        raise ValueError(f"C_re must have shape (H, M) with H={H} matching nu; "
                         f"got {C_re.shape}")
    M = C_re.shape[1]
    check_array("C_im", C_im, shape=(H, M), dtype=dt)
    check_array("D", D, shape=(Din, M), dtype=dt)
    cdt = np.result_type(dt, np.complex64)
    _check_scan_array("h0", h0, shape=(N, H), dtype=cdt)
    lam, gamma, e_nu = _eigenvalues(nu, theta)
    lam, gamma = lam.astype(cdt), gamma.astype(dt)
    x2 = x.reshape(N * T, Din)
    p = (x2 @ B_re + 1j * (x2 @ B_im)).astype(cdt).reshape(N, T, H)
    a = np.broadcast_to(lam, (N, T, H))
    h = _run(a, gamma * p, h0, method)
    h2 = h.reshape(N * T, H)
    y = (h2.real @ C_re - h2.imag @ C_im + x2 @ D).reshape(N, T, M)
    return y, LRUCache(h, x, h0, p, lam, gamma, e_nu, nu, theta, B_re, B_im, C_re, C_im, D,
                       method)


def lru_backward(dy, cache):
    r"""Backward pass of :func:`lru_forward`: gradients of every real parameter.

    With :math:`g_t` the adjoint of the state (:func:`linear_scan_backward`, driven by
    :math:`\partial L/\partial h_t = \delta_t \bar C^\top`), :math:`\partial L/\partial
    \lambda = \sum_{n,t} g_t \odot \bar h_{t-1}`, which reaches
    :math:`\nu` and :math:`\theta` through :math:`\partial L/\partial \log\lambda =
    \bar\lambda\, \partial L/\partial \lambda`: :math:`\partial L/\partial \nu =
    -e^{\nu}\, \mathrm{Re}(\cdot) + \partial L/\partial\gamma\ \mathrm{d}\gamma/\mathrm{d}\nu`
    and :math:`\partial L/\partial \theta = e^{\theta}\, \mathrm{Im}(\cdot)`, with
    :math:`\mathrm{d}\gamma/\mathrm{d}\nu = e^{\nu} |\lambda|^2 / \gamma`.

    Parameters
    ----------
    dy : ndarray, shape (N, T, M)
    cache : LRUCache
        From :func:`lru_forward`.

    Returns
    -------
    dx : ndarray, shape (N, T, D)
    dh0 : ndarray, shape (N, H), complex
    dnu, dtheta : ndarray, shape (H,)
    dB_re, dB_im : ndarray, shape (D, H)
    dC_re, dC_im : ndarray, shape (H, M)
    dD : ndarray, shape (D, M)
    """
    (h, x, h0, p, lam, gamma, e_nu, nu, theta, B_re, B_im, C_re, C_im, D,
     method) = _check_cache(cache, LRUCache, "lru_forward")
    N, T, Din = x.shape
    H, M = C_re.shape
    check_array("dy", dy, shape=(N, T, M), dtype=x.dtype)
    x2, dy2, h2 = x.reshape(N * T, Din), dy.reshape(N * T, M), h.reshape(N * T, H)
    dD = x2.T @ dy2
    dC_re, dC_im = h2.real.T @ dy2, -(h2.imag.T @ dy2)
    dh = (dy2 @ C_re.T - 1j * (dy2 @ C_im.T)).astype(h.dtype).reshape(N, T, H)
    da, db, dh0 = _scan_backward(dh, np.broadcast_to(lam, (N, T, H)), h, h0, method)
    dlam = da.sum(axis=(0, 1))
    dgamma = np.real(db * p.conj()).sum(axis=(0, 1))
    dp = (gamma * db).reshape(N * T, H)
    dlog = lam.conj() * dlam
    abs2 = np.exp(-2.0 * e_nu)
    with np.errstate(divide="ignore", invalid="ignore"):
        dgamma_dnu = np.where(gamma > 0, e_nu * abs2 / gamma, 0.0)
    dnu = (-e_nu * dlog.real + dgamma * dgamma_dnu).astype(x.dtype)
    dtheta = (np.exp(theta) * dlog.imag).astype(x.dtype)
    dB_re, dB_im = x2.T @ dp.real, x2.T @ dp.imag
    dx = (dy2 @ D.T + dp.real @ B_re.T + dp.imag @ B_im.T).reshape(N, T, Din)
    return dx, dh0, dnu, dtheta, dB_re, dB_im, dC_re, dC_im, dD


def lru_params(input_size, hidden_size, output_size, rng, r_min=0.0, r_max=1.0,
               max_phase=2 * np.pi, dtype=np.float64):
    r"""Initial LRU weights, the dict of ``LRU_PARAMS`` as in :cite:`orvieto2023`.

    ``nu, theta`` from :func:`lru_ring_init`; :math:`B` complex Gaussian with
    :math:`\mathbb E|B_{ij}|^2 = 1/D` (``B_re, B_im`` of variance :math:`1/(2D)`),
    :math:`C` with :math:`\mathbb E|C_{ij}|^2 = 1/H`, ``D`` of variance :math:`1/D`.

    Parameters
    ----------
    input_size, hidden_size, output_size : int
        D, H (complex state units) and M.
    rng : numpy.random.Generator
    r_min, r_max, max_phase : float
        See :func:`lru_ring_init`.
    """
    Din = check_int("input_size", input_size)
    H = check_int("hidden_size", hidden_size)
    M = check_int("output_size", output_size)
    dtype = check_float_dtype("dtype", dtype)
    nu, theta = lru_ring_init(H, rng, r_min, r_max, max_phase)
    p = {"nu": nu, "theta": theta,
         "B_re": rng.standard_normal((Din, H)) / np.sqrt(2 * Din),
         "B_im": rng.standard_normal((Din, H)) / np.sqrt(2 * Din),
         "C_re": rng.standard_normal((H, M)) / np.sqrt(2 * H),
         "C_im": rng.standard_normal((H, M)) / np.sqrt(2 * H),
         "D": rng.standard_normal((Din, M)) / np.sqrt(Din)}
    return {k: v.astype(dtype) for k, v in p.items()}


# ----------------------------------------------------------------------------------
# Models for training: core + temporal affine readout + mean squared error
# ----------------------------------------------------------------------------------

def _check_params(params, names, kind):
    if not isinstance(params, dict):
        raise ArgumentTypeError(f"params must be a dict of arrays; got {type(params).__name__}")
    missing = [k for k in names if k not in params]
    if missing:
        raise ValueError(f"params of a {kind} model lack {missing}")


def _check_targets(inputs, targets, mask, loss):
    check_choice("loss", loss, LOSSES)
    N, T, _ = _check_input(inputs, "inputs")
    if loss == "mse":
        check_array("targets", targets, ndim=3, dtype=inputs.dtype)
        check_shape("targets", targets, (N, T, None))
    return N, T


def _check_model_io(params, first, inputs, targets=None, loss="mse"):
    """``inputs`` (N, T, D) with the D of ``params[first]``, ``targets`` (N, T, K) with the
    K of ``params["Wy"]`` (mean squared error), each checked under its own name."""
    if isinstance(params, dict) and first in params and isinstance(params[first], np.ndarray):
        D = params[first].shape[0]
        check_array("inputs", inputs, ndim=3, shape=(None, None, D))
    if (targets is not None and loss == "mse" and isinstance(params, dict)
            and isinstance(params.get("Wy"), np.ndarray)):
        check_array("targets", targets, ndim=3, shape=(None, None, params["Wy"].shape[1]))


MINGRU_MODEL_PARAMS = ("Wz", "Wh", "bz", "bh", "Wy", "by")


def mingru_init(input_size, hidden_size, output_size, rng, chrono=None, dtype=np.float64):
    r"""Parameters of a minGRU model for :func:`mingru_loss_and_grads`: the cell of
    :func:`mingru_params` and a readout ``Wy`` (H, K), Glorot uniform, ``by`` (K,) zeros."""
    from .init import glorot
    K = check_int("output_size", output_size)
    params = mingru_params(input_size, hidden_size, rng, chrono=chrono, dtype=dtype)
    params["Wy"] = glorot((hidden_size, K), rng, dtype=dtype)
    params["by"] = np.zeros(K, dtype=dtype)
    return params


def mingru_loss_and_grads(params, inputs, targets, mask, method="sequential", loss="mse"):
    r"""Loss, gradients and outputs of a minGRU model on a batch.

    :math:`h = \text{minGRU}(u)` from :math:`h_0 = 0` (:func:`mingru_forward`),
    :math:`\hat y_t = h_t W_y + b_y` (:func:`rnnlib.affine.temporal_affine_forward`),
    loss :func:`rnnlib.losses.mean_squared_error` (regression) or
    :func:`rnnlib.losses.temporal_softmax_loss` (classification, :math:`\hat y_t` the
    class scores) over the steps selected by ``mask`` (:func:`rnnlib.models.data_loss`).
    The contract of :func:`rnnlib.train.train` for a function.

    Parameters
    ----------
    params : dict
        Keys ``MINGRU_MODEL_PARAMS`` (:func:`mingru_init`).
    inputs : ndarray, shape (N, T, D)
    targets : ndarray, shape (N, T, K) for ``loss="mse"``; of int, shape (N, T) with
        classes in [0, K) for ``loss="softmax"``
    mask : ndarray of bool, shape (N, T)
    method : {"sequential", "scan"}
        How the recurrences run (the loop is the faster one on a CPU at the book's sizes).
    loss : {"mse", "softmax"}

    Returns
    -------
    loss : float
    grads : dict, the keys of ``params``
    outputs : ndarray, shape (N, T, K)
    """
    _check_targets(inputs, targets, mask, loss)
    _check_model_io(params, "Wz", inputs, targets, loss)
    out, (cache, rcache) = _mingru_model_forward(params, inputs, method)
    value, dout = data_loss(loss, out, targets, mask)
    dh, dWy, dby = temporal_affine_backward(dout, rcache)
    _, _, dWz, dWh, dbz, dbh = mingru_backward(dh, cache)
    grads = {"Wz": dWz, "Wh": dWh, "bz": dbz, "bh": dbh, "Wy": dWy, "by": dby}
    return value, grads, out


def _mingru_model_forward(params, inputs, method):
    _check_params(params, MINGRU_MODEL_PARAMS, "minGRU")
    N, _, _ = _check_input(inputs, "inputs")
    h0 = np.zeros((N, params["Wz"].shape[1]), dtype=inputs.dtype)
    h, cache = mingru_forward(inputs, h0, params["Wz"], params["Wh"], params["bz"],
                              params["bh"], method=method)
    out, rcache = temporal_affine_forward(h, params["Wy"], params["by"])
    return out, (cache, rcache)


def mingru_predict(params, inputs, method="sequential"):
    """The outputs (N, T, K) of the model of :func:`mingru_loss_and_grads`, without the
    loss and the backward pass."""
    return _mingru_model_forward(params, inputs, method)[0]


LRU_MODEL_PARAMS = ("We", "be") + LRU_PARAMS + ("Wy", "by")


def lru_init(input_size, hidden_size, output_size, rng, width=None, r_min=0.9, r_max=0.999,
             max_phase=np.pi / 10, dtype=np.float64):
    r"""Parameters of an LRU model for :func:`lru_loss_and_grads`.

    An encoder ``We`` (D, E), Glorot uniform, ``be`` (E,) zeros; the LRU of
    :func:`lru_params` from E inputs to E outputs with H state units; a readout ``Wy``
    (E, K), ``by`` (K,). ``width`` is E (default H). The defaults of the ring are those
    :cite:`orvieto2023` use on long sequences.
    """
    from .init import glorot
    Din = check_int("input_size", input_size)
    H = check_int("hidden_size", hidden_size)
    K = check_int("output_size", output_size)
    E = H if width is None else check_int("width", width)
    params = {"We": glorot((Din, E), rng, dtype=dtype), "be": np.zeros(E, dtype=dtype)}
    params.update(lru_params(E, H, E, rng, r_min, r_max, max_phase, dtype=dtype))
    params["Wy"] = glorot((E, K), rng, dtype=dtype)
    params["by"] = np.zeros(K, dtype=dtype)
    return params


def lru_loss_and_grads(params, inputs, targets, mask, method="sequential", loss="mse"):
    r"""Loss, gradients and outputs of an LRU model on a batch.

    :math:`e_t = \max(u_t W_e + b_e, 0)` (an element-wise nonlinearity before the
    linear recurrence: without it the model would be linear in its inputs),
    :math:`y = \text{LRU}(e)` from :math:`h_0 = 0` (:func:`lru_forward`),
    :math:`\hat y_t = y_t W_y + b_y`, and the masked mean squared error or softmax
    cross-entropy. Arguments and returns as in :func:`mingru_loss_and_grads`, with the
    keys ``LRU_MODEL_PARAMS``.
    """
    _check_targets(inputs, targets, mask, loss)
    _check_model_io(params, "We", inputs, targets, loss)
    out, (pre, ecache, cache, rcache) = _lru_model_forward(params, inputs, method)
    value, dout = data_loss(loss, out, targets, mask)
    dy, dWy, dby = temporal_affine_backward(dout, rcache)
    de, _, *dlru = lru_backward(dy, cache)
    dWe, dbe = temporal_affine_backward(de * (pre > 0), ecache)[1:]
    grads = {"We": dWe, "be": dbe, **dict(zip(LRU_PARAMS, dlru)), "Wy": dWy, "by": dby}
    return value, grads, out


def _lru_model_forward(params, inputs, method):
    _check_params(params, LRU_MODEL_PARAMS, "LRU")
    N, _, _ = _check_input(inputs, "inputs")
    pre, ecache = temporal_affine_forward(inputs, params["We"], params["be"])
    e = np.maximum(pre, 0)
    H = params["nu"].shape[0]
    h0 = np.zeros((N, H), dtype=np.result_type(inputs.dtype, np.complex64))
    y, cache = lru_forward(e, h0, *(params[k] for k in LRU_PARAMS), method=method)
    out, rcache = temporal_affine_forward(y, params["Wy"], params["by"])
    return out, (pre, ecache, cache, rcache)


def lru_predict(params, inputs, method="sequential"):
    """The outputs (N, T, K) of the model of :func:`lru_loss_and_grads`, without the loss
    and the backward pass."""
    _check_model_io(params, "We", inputs)
    return _lru_model_forward(params, inputs, method)[0]


def _task_loss(task):
    from .tasks import Task
    if not isinstance(task, Task):
        raise ArgumentTypeError(f"task must be a rnnlib.tasks.Task; got {type(task).__name__}")
    return "mse" if task.kind == "regression" else "softmax"


class MinGRUModel:
    r"""A minGRU with a linear readout, in the model contract of :func:`rnnlib.train.train`.

    A thin holder of :func:`mingru_init`'s parameters whose ``loss_and_grads`` is
    :func:`mingru_loss_and_grads` (with this model's ``method`` and ``loss``) and whose
    ``predict`` (used by ``train`` for its evaluations) is :func:`mingru_predict`, a
    forward pass only.
    """

    def __init__(self, input_size, hidden_size, output_size, rng, chrono=None,
                 method="sequential", dtype=np.float64, loss="mse"):
        self.method = check_choice("method", method, METHODS)
        self.loss = check_choice("loss", loss, LOSSES)
        self.params = mingru_init(input_size, hidden_size, output_size, rng, chrono=chrono,
                                  dtype=dtype)

    @classmethod
    def for_task(cls, task, hidden_size, rng, **kwargs):
        """A model sized for a :class:`rnnlib.tasks.Task`, with the matching loss."""
        loss = _task_loss(task)
        return cls(task.input_size, hidden_size, task.output_size, rng, loss=loss, **kwargs)

    def loss_and_grads(self, params, inputs, targets, mask):
        """:func:`mingru_loss_and_grads` with this model's ``method`` and ``loss``."""
        return mingru_loss_and_grads(params, inputs, targets, mask, method=self.method,
                                     loss=self.loss)

    def predict(self, inputs, params=None):
        """Outputs (N, T, K) for ``inputs`` (N, T, D), with ``params`` or the model's."""
        return mingru_predict(self.params if params is None else params, inputs, self.method)


class LRUModel:
    r"""An LRU with a ReLU encoder and a linear readout (:func:`lru_loss_and_grads`), in
    the model contract of :func:`rnnlib.train.train`; parameters from :func:`lru_init`."""

    def __init__(self, input_size, hidden_size, output_size, rng, method="sequential",
                 dtype=np.float64, loss="mse", **init):
        self.method = check_choice("method", method, METHODS)
        self.loss = check_choice("loss", loss, LOSSES)
        self.params = lru_init(input_size, hidden_size, output_size, rng, dtype=dtype, **init)

    @classmethod
    def for_task(cls, task, hidden_size, rng, **kwargs):
        """A model sized for a :class:`rnnlib.tasks.Task`, with the matching loss."""
        loss = _task_loss(task)
        return cls(task.input_size, hidden_size, task.output_size, rng, loss=loss, **kwargs)

    def loss_and_grads(self, params, inputs, targets, mask):
        """:func:`lru_loss_and_grads` with this model's ``method`` and ``loss``."""
        return lru_loss_and_grads(params, inputs, targets, mask, method=self.method,
                                  loss=self.loss)

    def predict(self, inputs, params=None):
        """Outputs (N, T, K) for ``inputs`` (N, T, D), with ``params`` or the model's."""
        return lru_predict(self.params if params is None else params, inputs, self.method)
