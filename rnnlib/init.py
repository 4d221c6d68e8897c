r"""Weight initializers for recurrent networks.

Matrix initializers (:func:`gaussian`, :func:`glorot`, :func:`orthogonal`,
:func:`identity`, :func:`sparse`, :func:`scale_to_spectral_radius`) and, on top of
them, :func:`rnn_params`, :func:`lstm_params` and :func:`gru_params`, which return the
parameter dicts ``{"Wx", "Wh", "b", ...}`` that the sequence functions of :mod:`rnnlib`
take. Randomness comes only from the ``rng`` argument, a ``numpy.random.Generator``.

Row-vector convention: ``Wh`` has shape (H, H) and :math:`a_t = h_{t-1} W_{hh} + \dots`,
so column j of ``Wh`` holds the incoming recurrent weights of unit j.

Derived and compared in the chapter "Initialization".
"""
import numpy as np

from ._validation import (check_array, check_choice, check_float_dtype, check_generator,
                          check_int, check_number, check_optional_number)
from .analysis import spectral_radius


def _check_shape(shape):
    if not isinstance(shape, tuple) or len(shape) != 2:
        raise ValueError(f"shape must be a tuple (rows, columns); got {shape!r}")
    return tuple(check_int(f"shape[{i}]", s) for i, s in enumerate(shape))


def _positive(name, value):
    return check_number(name, value, low=0, low_open=True)


def gaussian(shape, std, rng, dtype=np.float64):
    r"""Entries drawn i.i.d. from :math:`\mathcal N(0, \mathrm{std}^2)`.

    Parameters
    ----------
    shape : tuple (rows, columns)
    std : float
        Standard deviation (> 0), e.g. 0.01 or 0.1 in :cite:`pascanu2013`, 0.001 for the
        input weights of :cite:`le2015`.
    rng : numpy.random.Generator

    Returns
    -------
    W : ndarray, shape ``shape``
    """
    shape = _check_shape(shape)
    std = _positive("std", std)
    check_generator("rng", rng)
    dtype = check_float_dtype("dtype", dtype)
    return (std * rng.standard_normal(shape)).astype(dtype)


def glorot(shape, rng, distribution="uniform", dtype=np.float64):
    r"""Glorot/Xavier initialization :cite:`glorot2010`.

    Keeps the variance of activations and gradients roughly constant from layer to layer:
    :math:`\mathrm{Var}(W_{ij}) = 2 / (\text{fan}_\text{in} + \text{fan}_\text{out})`.
    ``"uniform"`` (the paper's "normalized initialization") draws from
    :math:`U[-a, a]` with :math:`a = \sqrt{6/(\text{fan}_\text{in} + \text{fan}_\text{out})}`;
    ``"normal"`` from :math:`\mathcal N(0, 2/(\text{fan}_\text{in} + \text{fan}_\text{out}))`.

    Parameters
    ----------
    shape : tuple (fan_in, fan_out)
    rng : numpy.random.Generator
    distribution : {"uniform", "normal"}

    Returns
    -------
    W : ndarray, shape ``shape``
    """
    shape = _check_shape(shape)
    check_generator("rng", rng)
    check_choice("distribution", distribution, ("uniform", "normal"))
    dtype = check_float_dtype("dtype", dtype)
    fan_sum = shape[0] + shape[1]
    if distribution == "uniform":
        a = np.sqrt(6.0 / fan_sum)
        return rng.uniform(-a, a, size=shape).astype(dtype)
    return (np.sqrt(2.0 / fan_sum) * rng.standard_normal(shape)).astype(dtype)


def orthogonal(n, rng, gain=1.0, dtype=np.float64):
    r"""A random orthogonal matrix times ``gain`` :cite:`saxe2014`.

    The Q factor of the QR decomposition of a Gaussian matrix, with the signs of its
    columns fixed by the diagonal of R so that Q is uniformly (Haar) distributed. All
    singular values equal ``gain``: a linear recurrence with this matrix neither
    explodes nor vanishes when ``gain = 1``.

    Parameters
    ----------
    n : int
    rng : numpy.random.Generator
    gain : float

    Returns
    -------
    W : ndarray, shape (n, n), with :math:`W^\top W = \mathrm{gain}^2 I`
    """
    n = check_int("n", n)
    check_generator("rng", rng)
    gain = _positive("gain", gain)
    dtype = check_float_dtype("dtype", dtype)
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    q *= np.sign(np.diag(r))
    return (gain * q).astype(dtype)


def identity(n, scale=1.0, dtype=np.float64):
    r"""``scale`` times the identity: the recurrent matrix of the IRNN :cite:`le2015`.

    With ReLU units and zero biases the state is copied from step to step until the
    inputs change it, so gradients neither explode nor vanish at the start of training.
    :cite:`le2015` also use ``scale < 1`` (e.g. 0.01) for some tasks.

    Returns
    -------
    W : ndarray, shape (n, n)
    """
    n = check_int("n", n)
    scale = _positive("scale", scale)
    dtype = check_float_dtype("dtype", dtype)
    return scale * np.eye(n, dtype=dtype)


def scale_to_spectral_radius(W, rho):
    r"""Return ``W`` rescaled so that its spectral radius (largest absolute eigenvalue)
    is ``rho``: :math:`W \rho / \rho(W)`.

    Parameters
    ----------
    W : ndarray, shape (H, H), not nilpotent (spectral radius > 0)
    rho : float, > 0

    Returns
    -------
    ndarray, shape (H, H), a new array
    """
    check_array("W", W, ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValueError(f"W must be a square matrix (H, H) with H >= 1; got shape {W.shape}")
    rho = _positive("rho", rho)
    current = spectral_radius(W)
    if current == 0:
        raise ValueError("W has spectral radius 0 (all eigenvalues zero); it cannot be rescaled")
    return (W * (rho / current)).astype(W.dtype)


def sparse(n, k, rng, spectral_radius=1.1, std=1.0, dtype=np.float64):
    r"""Sparse recurrent matrix: k non-zero Gaussian incoming weights per unit.

    The "sparse initialization" of :cite:`martens2010` used for RNNs by
    :cite:`sutskever2013` (k = 15 per unit, rescaled to spectral radius 1.1) and, with
    radius 0.95, by :cite:`pascanu2013` ("smart_tanh"). Each column (the incoming
    weights of one unit, in the row-vector convention) gets k entries from
    :math:`\mathcal N(0, \mathrm{std}^2)` at random rows; the matrix is then rescaled.

    Parameters
    ----------
    n : int
        Number of units H.
    k : int
        Non-zeros per unit, 1 <= k <= n.
    rng : numpy.random.Generator
    spectral_radius : float or None
        Target spectral radius; ``None`` keeps the raw Gaussian scale ``std``.
    std : float

    Returns
    -------
    W : ndarray, shape (n, n), with exactly k non-zeros per column
    """
    n = check_int("n", n)
    k = check_int("k", k)
    if k > n:
        raise ValueError(f"k must be at most n={n} (non-zeros per unit); got k={k}")
    check_generator("rng", rng)
    spectral_radius = check_optional_number("spectral_radius", spectral_radius, low=0,
                                            low_open=True)
    std = _positive("std", std)
    dtype = check_float_dtype("dtype", dtype)
    W = np.zeros((n, n))
    rows = np.argsort(rng.random((n, n)), axis=0)[:k]          # k distinct rows per column
    W[rows, np.arange(n)] = std * rng.standard_normal((k, n))
    if spectral_radius is not None:
        W = scale_to_spectral_radius(W, spectral_radius)
    return W.astype(dtype)


RECURRENT_SCHEMES = ("gaussian", "glorot", "orthogonal", "identity", "sparse")


def _recurrent(scheme, H, rng, gain, std, k, radius, dtype):
    """One (H, H) recurrent block by scheme name."""
    if scheme == "gaussian":
        return gaussian((H, H), std, rng, dtype)
    if scheme == "glorot":
        return glorot((H, H), rng, dtype=dtype)
    if scheme == "orthogonal":
        return orthogonal(H, rng, gain, dtype)
    if scheme == "identity":
        return identity(H, gain, dtype)
    return sparse(H, min(k, H), rng, spectral_radius=radius, dtype=dtype)


def _gated_params(D, H, gates, rng, recurrent, input_std, gain, dtype):
    check_int("D", D)
    check_int("H", H)
    check_generator("rng", rng)
    check_choice("recurrent", recurrent, ("orthogonal", "glorot"))
    check_optional_number("input_std", input_std, low=0, low_open=True)
    _positive("gain", gain)
    check_float_dtype("dtype", dtype)
    Wx = (glorot((D, gates * H), rng, dtype=dtype) if input_std is None
          else gaussian((D, gates * H), input_std, rng, dtype))
    Wh = np.concatenate([_recurrent(recurrent, H, rng, gain, None, None, None, dtype)
                         for _ in range(gates)], axis=1)
    return Wx, Wh


def rnn_params(D, H, rng, scheme="glorot", *, gain=1.0, std=0.1, k=15,
               spectral_radius=None, input_std=None, dtype=np.float64):
    r"""Parameters of a vanilla RNN: ``{"Wx": (D, H), "Wh": (H, H), "b": (H,)}``.

    Parameters
    ----------
    D, H : int
        Input and hidden sizes.
    rng : numpy.random.Generator
    scheme : {"gaussian", "glorot", "orthogonal", "identity", "sparse"}
        How ``Wh`` is drawn: :math:`\mathcal N(0, \mathrm{std}^2)`; :func:`glorot`
        (uniform); :func:`orthogonal` times ``gain``; ``gain`` times the identity
        (the IRNN of :cite:`le2015`, for ReLU units); :func:`sparse` with ``k``
        non-zeros per unit and spectral radius 1.1 unless ``spectral_radius`` says
        otherwise (:cite:`sutskever2013`).
    gain : float
        Scale of the orthogonal and identity schemes.
    std : float
        Standard deviation of the "gaussian" scheme.
    k : int
        Non-zeros per unit of the "sparse" scheme (capped at H).
    spectral_radius : float, optional
        If given, ``Wh`` is finally rescaled to this spectral radius (any scheme).
    input_std : float, optional
        ``Wx`` from :math:`\mathcal N(0, \mathrm{input\_std}^2)` (e.g. 0.001 for the IRNN,
        0.01 in :cite:`pascanu2013`); by default :func:`glorot` uniform.

    Returns
    -------
    params : dict of ndarray
        ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,) zeros.
    """
    check_int("D", D)
    check_int("H", H)
    check_generator("rng", rng)
    check_choice("scheme", scheme, RECURRENT_SCHEMES)
    _positive("gain", gain)
    _positive("std", std)
    check_int("k", k)
    check_optional_number("spectral_radius", spectral_radius, low=0, low_open=True)
    check_optional_number("input_std", input_std, low=0, low_open=True)
    check_float_dtype("dtype", dtype)
    Wx = glorot((D, H), rng, dtype=dtype) if input_std is None else gaussian((D, H), input_std, rng, dtype)
    radius = 1.1 if spectral_radius is None else spectral_radius
    Wh = _recurrent(scheme, H, rng, gain, std, k, radius, dtype)
    if spectral_radius is not None and scheme != "sparse":
        Wh = scale_to_spectral_radius(Wh, spectral_radius)
    return {"Wx": Wx, "Wh": Wh, "b": np.zeros(H, dtype=dtype)}


def lstm_params(D, H, rng, forget_bias=1.0, *, recurrent="orthogonal", gain=1.0,
                input_std=None, dtype=np.float64):
    r"""Parameters of an LSTM: ``{"Wx": (D, 4H), "Wh": (H, 4H), "b": (4H,)}``, gate
    blocks in the order i, f, o, g of :func:`rnnlib.lstm.lstm_forward`.

    ``Wx`` is :func:`glorot` uniform (or Gaussian with ``input_std``); each of the four
    (H, H) blocks of ``Wh`` is :func:`orthogonal` times ``gain`` (or :func:`glorot`).
    The biases are zero except the forget gate's, ``forget_bias`` (1 by default): the
    forget gate starts open, so the cell remembers from the start of training
    (:cite:`gers2000`, :cite:`jozefowicz2015`).

    Returns
    -------
    params : dict of ndarray
    """
    forget_bias = check_number("forget_bias", forget_bias)
    Wx, Wh = _gated_params(D, H, 4, rng, recurrent, input_std, gain, dtype)
    b = np.zeros(4 * H, dtype=dtype)
    b[H:2 * H] = forget_bias
    return {"Wx": Wx, "Wh": Wh, "b": b}


def gru_params(D, H, rng, *, recurrent="orthogonal", gain=1.0, input_std=None,
               dtype=np.float64):
    r"""Parameters of a GRU: ``{"Wx": (D, 3H), "Wh": (H, 3H), "b": (3H,), "bhn": (H,)}``,
    gate blocks r, z, n of :func:`rnnlib.gru.gru_forward` :cite:`cho2014`.

    ``Wx`` is :func:`glorot` uniform (or Gaussian with ``input_std``), each (H, H) block
    of ``Wh`` :func:`orthogonal` times ``gain`` (or :func:`glorot`), biases zero.

    Returns
    -------
    params : dict of ndarray
    """
    Wx, Wh = _gated_params(D, H, 3, rng, recurrent, input_std, gain, dtype)
    return {"Wx": Wx, "Wh": Wh, "b": np.zeros(3 * H, dtype=dtype),
            "bhn": np.zeros(H, dtype=dtype)}
