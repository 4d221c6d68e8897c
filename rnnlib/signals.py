"""Scalar time series made in code: the Mackey-Glass series, a sine, a sum of sines.

These are the signals of the chapter on echo state networks: a smooth
periodic signal, a quasi-periodic one and the chaotic Mackey-Glass series
(mackey1977) used as the benchmark of jaeger2001 and jaeger2004. Every function
returns a float64 array of shape ``(n_samples,)``; use ``x[:, None]`` for a
one-dimensional input sequence of shape ``(T, 1)``.
"""
import numpy as np

from ._validation import (ArgumentTypeError, NonFiniteError, check_finite, check_generator,
                          check_int, check_number)


def _check_positive(name, value):
    return check_number(name, value, low=0, low_open=True)


def _check_reals(name, values, m=None):
    """A 1-D sequence (or array) of finite real numbers as a float64 array; length m."""
    if isinstance(values, (str, bytes)) or isinstance(values, np.ndarray) and \
            type(values) is not np.ndarray:
        raise ArgumentTypeError(f"{name} must be a sequence of numbers; got "
                                f"{type(values).__name__}")
    try:
        a = np.asarray(values)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must be a sequence of numbers; got {values!r}") from None
    if a.dtype.kind not in "iuf":
        raise ArgumentTypeError(f"{name} must hold real numbers (not bools, strings or "
                                f"complex numbers); got dtype {a.dtype}")
    if a.ndim != 1 or a.size == 0 or (m is not None and a.size != m):
        want = f"length {m} like periods" if m is not None else "a non-empty 1-D sequence"
        raise ValueError(f"{name} must be {want}; got shape {a.shape}")
    return check_finite(name, a.astype(np.float64))


def mackey_glass(n_samples, *, tau=17.0, beta=0.2, gamma=0.1, n=10, dt=0.1,
                 sample_every=1.0, x0=1.2, discard=500.0, rng=None):
    r"""Sample the Mackey-Glass delay differential equation (mackey1977).

    .. math::
        \frac{dx}{dt} = \beta \frac{x(t-\tau)}{1 + x(t-\tau)^n} - \gamma x(t)

    With the defaults (:math:`\tau = 17`, :math:`\beta = 0.2`, :math:`\gamma = 0.1`,
    :math:`n = 10`) the series is mildly chaotic; it is the benchmark of jaeger2001 and
    jaeger2004.

    Parameters
    ----------
    n_samples : int
        Number of samples returned.
    tau, beta, gamma, n : float
        Delay and coefficients of the equation.
    dt : float
        Integration step. ``tau / dt`` and ``sample_every / dt`` must be integers.
    sample_every : float
        Time between two returned samples (1 time unit, as in jaeger2004).
    x0 : float
        Value of the initial history :math:`x(t)` for :math:`t \in [-\tau, 0]`.
    discard : float
        Length of the initial transient (in time units) integrated and dropped.
    rng : numpy.random.Generator, optional
        If given, the initial history is ``x0`` plus uniform noise in
        :math:`[-0.1, 0.1]` drawn from it (a different trajectory per seed);
        if None, the history is constant and the series deterministic.

    Returns
    -------
    x : ndarray, shape (n_samples,)
        :math:`x(t_0 + k \cdot \text{sample\_every})`, :math:`k = 0, \dots, n_samples-1`.

    Notes
    -----
    Integration scheme: classical fourth-order Runge-Kutta with step ``dt`` (0.1 by
    default) on the grid :math:`t_k = k\,dt`, sampled every ``sample_every / dt``
    steps. The delayed value :math:`x(t - \tau)` is read from the stored trajectory:
    at grid points directly, at half steps by cubic interpolation of the four
    neighbouring grid values, so no extra state is needed. RK4 rather than the
    subsampled Euler scheme of jaeger2001 (same step 0.1, sampled every 10 steps)
    because its error is far smaller at the same step: from the same history, ``dt``
    0.1 and 0.05 agree to better than 1e-4 over the first 400 time units (tested).
    Later the chaos amplifies every difference (the largest Lyapunov exponent is
    about 0.007 per time unit), so the exact series depends on the scheme but its
    statistics do not.
    """
    n_samples = check_int("n_samples", n_samples)
    tau, dt = _check_positive("tau", tau), _check_positive("dt", dt)
    sample_every = _check_positive("sample_every", sample_every)
    beta = check_number("beta", beta, low=0)
    gamma = check_number("gamma", gamma, low=0)
    n = _check_positive("n", n)
    x0 = _check_positive("x0", x0)
    discard = check_number("discard", discard, low=0)
    if rng is not None:
        check_generator("rng", rng)
    delay, every = round(tau / dt), round(sample_every / dt)
    if abs(delay * dt - tau) > 1e-9 * tau or abs(every * dt - sample_every) > 1e-9 * sample_every:
        raise ValueError(f"tau / dt and sample_every / dt must be integers; got tau={tau}, "
                         f"sample_every={sample_every}, dt={dt}")
    if delay < 2:
        raise ValueError(f"tau / dt must be at least 2 (the delay spans grid steps); "
                         f"got tau={tau}, dt={dt}")
    skip = round(discard / sample_every)
    n_steps = (skip + n_samples - 1) * every
    # x[k] = x(t_k - tau) for k < delay + 1 is the history; x[delay] = x(0).
    x = np.empty(delay + 1 + n_steps)
    x[:delay + 1] = x0
    if rng is not None:
        x[:delay + 1] += rng.uniform(-0.1, 0.1, size=delay + 1)
    xs = x.tolist()  # plain floats: the loop is scalar, and Python floats are fastest

    def f(x_now, x_delayed):
        return beta * x_delayed / (1.0 + x_delayed ** n) - gamma * x_now

    try:
        for k in range(delay, delay + n_steps):
            j = k - delay
            d0, d1 = xs[j], xs[j + 1]
            dh = (9.0 * (d0 + d1) - xs[max(j - 1, 0)] - xs[j + 2]) / 16.0
            xk = xs[k]
            k1 = f(xk, d0)
            k2 = f(xk + 0.5 * dt * k1, dh)
            k3 = f(xk + 0.5 * dt * k2, dh)
            k4 = f(xk + dt * k3, d1)
            xs[k + 1] = xk + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
    except (OverflowError, ZeroDivisionError):
        xs = [np.nan]   # reported as a divergence below
    x = np.asarray(xs[delay:] if len(xs) > delay else xs)
    if x.dtype != np.float64 or not np.isfinite(x).all():
        raise NonFiniteError(f"the integration diverged (non-finite or complex values) with "
                             f"tau={tau}, beta={beta}, gamma={gamma}, n={n}, dt={dt}, x0={x0}; "
                             "reduce dt or choose parameters closer to the defaults")
    return x[skip * every::every][:n_samples].copy()


def sine(n_samples, *, period=20.0, amplitude=1.0, phase=0.0):
    r"""A sampled sine, :math:`x_t = A \sin(2 \pi t / P + \varphi)`, :math:`t = 0, 1, \dots`.

    Parameters
    ----------
    n_samples : int
        Number of samples.
    period : float
        Period :math:`P` in samples (need not be an integer).
    amplitude, phase : float
        :math:`A` and :math:`\varphi` (radians).

    Returns
    -------
    x : ndarray, shape (n_samples,)
    """
    n_samples = check_int("n_samples", n_samples)
    period = _check_positive("period", period)
    amplitude = check_number("amplitude", amplitude)
    phase = check_number("phase", phase)
    t = np.arange(n_samples, dtype=np.float64)
    return amplitude * np.sin(2.0 * np.pi * t / period + phase)


def sum_of_sines(n_samples, *, periods=(20.0, 7.3), amplitudes=None, phases=None):
    r"""A sum of sampled sines, :math:`x_t = \sum_i A_i \sin(2 \pi t / P_i + \varphi_i)`.

    With incommensurate periods (the default) the signal is quasi-periodic: it never
    repeats exactly, a harder target than one sine for free-running generation.

    Parameters
    ----------
    n_samples : int
        Number of samples.
    periods : sequence of float, length M
        Periods :math:`P_i` in samples.
    amplitudes : sequence of float, length M, optional
        :math:`A_i`; default ``1 / M`` each, so that :math:`|x_t| \le 1`.
    phases : sequence of float, length M, optional
        :math:`\varphi_i` in radians; default zeros.

    Returns
    -------
    x : ndarray, shape (n_samples,)
    """
    n_samples = check_int("n_samples", n_samples)
    periods = _check_reals("periods", periods)
    for i, p in enumerate(periods):
        _check_positive(f"periods[{i}]", p)
    m = periods.size
    amplitudes = np.full(m, 1.0 / m) if amplitudes is None else _check_reals("amplitudes",
                                                                            amplitudes, m)
    phases = np.zeros(m) if phases is None else _check_reals("phases", phases, m)
    t = np.arange(n_samples, dtype=np.float64)[:, None]
    return np.sin(2.0 * np.pi * t / periods + phases) @ amplitudes
