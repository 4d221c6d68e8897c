"""Input checks shared by every module, with messages a learner can act on.

Every public function of rnnlib checks its arguments here, in one place, instead of
letting NumPy broadcast silently or fail three calls deeper. Each helper raises an
exception naming the argument, what was expected and what came:

- :class:`ArgumentTypeError` (a ``TypeError`` and a ``ValueError``) for a value of the
  wrong kind: a list where an array is expected, an integer or float16 array where the
  numerical core needs float32 or float64, an ``np.matrix``, a string or a bool where a
  number is expected;
- :class:`NonFiniteError` (a ``FloatingPointError`` and a ``ValueError``) for NaN or
  infinity in an array or a number;
- ``ValueError`` for a wrong shape, an empty batch or sequence, or a value out of range.

Since all three are ``ValueError``, ``except ValueError`` catches every refusal.
"""
import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong type or dtype (also a ``ValueError``)."""


class NonFiniteError(FloatingPointError, ValueError):
    """NaN or infinity where finite numbers are needed.

    Raised for non-finite inputs and, by :func:`rnnlib.train.train` and the optimizers,
    when training diverges; then ``step`` names the step (counting from 1) and
    ``history`` holds what was recorded before it (both None otherwise).
    """

    def __init__(self, message, step=None, history=None):
        super().__init__(message)
        self.step, self.history = step, history


def all_finite(a):
    """Whether every entry of the float array ``a`` is finite, in one pass without a
    temporary array: the sum of finite numbers is finite unless it overflows, which
    only the exact (slower) check that follows can tell apart."""
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(np.add.reduce(a, axis=None)):
            return True
    return bool(np.isfinite(a).all())


def check_array(name, a, ndim=None, shape=None, dtype=None, floating=True, finite=True):
    """Check one array argument and return it unchanged.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    a : ndarray
        The value to check: a plain ``numpy.ndarray`` (subclasses such as ``np.matrix``
        or masked arrays change the meaning of ``*`` or of reductions and are refused).
    ndim : int, optional
        The required number of dimensions.
    shape : tuple, optional
        The required shape; ``None`` entries match any size.
    dtype : numpy dtype, optional
        The required dtype (all floating arrays of one call share a dtype).
    floating : bool
        Require float32 or float64 (the only dtypes the numerical core supports).
    finite : bool
        Refuse NaN and infinity (only with ``floating``).
    """
    if type(a) is not np.ndarray:
        if isinstance(a, np.ndarray):
            raise ArgumentTypeError(f"{name} must be a plain NumPy array; got the subclass "
                                    f"{type(a).__name__} (convert it with np.asarray)")
        raise ArgumentTypeError(f"{name} must be a NumPy array; got {type(a).__name__}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {a.shape}")
    if shape is not None:
        check_shape(name, a, shape)
    if floating and a.dtype.type not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"{name} must be float32 or float64; got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise ArgumentTypeError(
            f"{name} has dtype {a.dtype} but the other arrays are {np.dtype(dtype)}; "
            "use one floating dtype for all arrays of a call")
    if floating and finite:
        check_finite(name, a)
    return a


def check_shape(name, a, shape):
    """Raise unless ``a.shape`` matches ``shape`` (``None`` entries match anything)."""
    ok = len(a.shape) == len(shape) and all(s is None or s == d for s, d in zip(shape, a.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}; got {a.shape}")


def check_finite(name, a):
    """Raise :class:`NonFiniteError` if the float array ``a`` holds NaN or infinity."""
    if not all_finite(a):
        bad = np.flatnonzero(~np.isfinite(a))
        where = np.unravel_index(bad[0], a.shape) if a.ndim else ()
        raise NonFiniteError(f"{name} must be finite; it holds {bad.size} NaN or infinite "
                             f"entries, the first {a[where]} at index {tuple(map(int, where))}")
    return a


def check_float_dtype(name, dtype):
    """Return ``np.dtype(dtype)`` if it is float32 or float64, else raise."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise ArgumentTypeError(f"{name} must be numpy.float32 or numpy.float64; "
                                f"got {dtype!r}") from None
    if dt.type not in FLOAT_DTYPES:
        raise ArgumentTypeError(f"{name} must be numpy.float32 or numpy.float64; got {dt}")
    return dt


def check_choice(name, value, choices):
    """Raise unless ``value`` is one of ``choices``."""
    try:
        ok = value in choices
    except TypeError:           # an unhashable value tested against a set or dict
        ok = False
    if not ok or isinstance(value, bool) != any(isinstance(c, bool) for c in choices):
        raise ValueError(f"{name} must be one of {sorted(choices, key=repr)}; got {value!r}")
    return value


def check_int(name, value, low=1, high=None):
    """Return ``value`` as an ``int`` if it is an integer in ``[low, high]``.

    Bools, floats (even ``3.0``), strings and NumPy arrays are refused; NumPy integer
    scalars are accepted. ``low=1`` (the default) asks for a positive integer.
    """
    if high is None and low in (0, 1):
        want = "a positive integer" if low == 1 else "a non-negative integer"
    else:
        want = f"an integer in {_interval(low, high, True, True)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ArgumentTypeError(f"{name} must be {want}; got {value!r} "
                                f"({type(value).__name__})")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be {want}; got {value}")
    return value


def check_number(name, value, low=None, high=None, low_open=False, high_open=False,
                 infinite=False):
    """Return ``value`` as a finite ``float`` in the interval from ``low`` to ``high``.

    ``low_open`` and ``high_open`` exclude the ends (``low=0, low_open=True``: positive).
    Bools, strings, arrays, NaN and infinities are refused; ``infinite=True`` lets
    infinities through (for quantities where they have a meaning, e.g. a loss that
    overflowed).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number; got {value!r} "
                                f"({type(value).__name__})")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not infinite):
        raise NonFiniteError(f"{name} must be a finite number; got {value}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high:
        if low == 0 and high is None:
            want = "positive" if low_open else "non-negative"
        else:
            want = f"in {_interval(low, high, not low_open, not high_open)}"
        raise ValueError(f"{name} must be {want}; got {value:g}")
    return value


def check_optional_number(name, value, **bounds):
    """``None``, or :func:`check_number` of ``value``."""
    return None if value is None else check_number(name, value, **bounds)


def _interval(low, high, low_closed, high_closed):
    left = "(-inf" if low is None else ("[" if low_closed else "(") + f"{low:g}"
    right = "inf)" if high is None else f"{high:g}" + ("]" if high_closed else ")")
    return f"{left}, {right}"


def check_generator(name, rng):
    """Raise unless ``rng`` is a ``numpy.random.Generator`` (the only source of randomness
    rnnlib takes: no global seed, no legacy ``RandomState``)."""
    if not isinstance(rng, np.random.Generator):
        raise ArgumentTypeError(f"{name} must be a numpy.random.Generator, e.g. "
                                f"np.random.default_rng(0); got {type(rng).__name__}")
    return rng


def check_bool(name, value):
    """Return ``value`` if it is a bool (or NumPy bool), else raise."""
    if not isinstance(value, (bool, np.bool_)):
        raise ArgumentTypeError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def check_mask(name, mask, shape):
    """Return ``mask`` as a boolean array of ``shape``.

    A bool array, or an integer array of 0 and 1, is accepted; anything else (floats,
    other integers, another shape, a subclass) is refused.
    """
    check_array(name, mask, floating=False)
    check_shape(name, mask, shape)
    if mask.dtype != bool:
        if mask.dtype.kind not in "iu" or not np.all((mask == 0) | (mask == 1)):
            raise ArgumentTypeError(f"{name} must be boolean (or integers 0 and 1); got "
                                    f"dtype {mask.dtype}")
        mask = mask.astype(bool)
    return mask


def check_indices(name, a, size, ndim=None):
    """Check an integer array of indices in ``[0, size)`` and return it."""
    check_array(name, a, ndim=ndim, floating=False)
    if a.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name} must be an integer array; got dtype {a.dtype}")
    if a.size and (a.min() < 0 or a.max() >= size):
        raise ValueError(f"{name} must hold indices in [0, {size}); got values from "
                         f"{a.min()} to {a.max()}")
    return a


def check_cache(cache, cls, producer):
    """Return ``cache`` if it is the named tuple ``cls`` that ``producer`` returns."""
    if not isinstance(cache, cls):
        raise ArgumentTypeError(f"cache must be the {cls.__name__} returned by {producer}; "
                                f"got {type(cache).__name__}")
    return cache


def check_sequence_args(x, h0, Wx, Wh, b, gates=1):
    """Validate the arguments of a sequence forward pass and return (N, T, D, H).

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    h0 : ndarray, shape (N, H)
    Wx : ndarray, shape (D, G*H)
    Wh : ndarray, shape (H, G*H)
    b : ndarray, shape (G*H,)
    gates : int
        G, the number of gate blocks (1 for the vanilla RNN, 4 for the LSTM, 3 for the GRU).
    """
    check_array("x", x, ndim=3, finite=False)
    N, T, D = x.shape
    if T == 0:
        raise ValueError(f"x must hold at least one time step; got shape {x.shape}")
    if N == 0:
        raise ValueError(f"x must hold at least one sequence; got shape {x.shape}")
    check_array("Wx", Wx, ndim=2, dtype=x.dtype, finite=False)
    H = Wx.shape[1] // gates
    check_step_args(x[:, 0], h0, Wx, Wh, b, gates, names=("x[:, t]", "h0"), finite=False)
    for name, a in (("x", x), ("h0", h0), ("Wx", Wx), ("Wh", Wh), ("b", b)):
        check_finite(name, a)
    return N, T, D, H


def check_step_args(x, prev_h, Wx, Wh, b, gates=1, names=("x", "prev_h"), finite=True):
    """Validate the arguments of one step: x (N, D), prev_h (N, H), Wx (D, G*H),
    Wh (H, G*H), b (G*H,). Returns (N, D, H)."""
    xname, hname = names
    check_array(xname, x, ndim=2, finite=finite)
    dtype = x.dtype
    N, D = x.shape
    if N == 0:
        raise ValueError(f"{xname} must hold at least one sequence; got shape {x.shape}")
    check_array("Wx", Wx, ndim=2, dtype=dtype, finite=finite)
    if Wx.shape[0] != D or Wx.shape[1] % gates or Wx.shape[1] == 0:
        want = f"(D, {gates}*H) with D={D}" if gates > 1 else f"(D, H) with D={D}"
        raise ValueError(f"Wx must have shape {want} matching x and H >= 1; got {Wx.shape}")
    H = Wx.shape[1] // gates
    check_array(hname, prev_h, shape=(N, H), dtype=dtype, finite=finite)
    check_array("Wh", Wh, shape=(H, gates * H), dtype=dtype, finite=finite)
    check_array("b", b, shape=(gates * H,), dtype=dtype, finite=finite)
    return N, D, H
