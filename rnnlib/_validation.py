"""Input checks shared by every module, with messages a learner can act on.

Each helper raises ``ValueError`` naming the argument, what was expected and what came,
instead of letting NumPy broadcast silently or fail three calls deeper.
"""
import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def check_array(name, a, ndim=None, shape=None, dtype=None, floating=True):
    """Check one array argument and return it unchanged.

    Parameters
    ----------
    name : str
        The argument's name, used in the error message.
    a : ndarray
        The value to check.
    ndim : int, optional
        The required number of dimensions.
    shape : tuple, optional
        The required shape; ``None`` entries match any size. A dict of named sizes in the
        message comes from ``shape_names`` via :func:`check_shape`.
    dtype : numpy dtype, optional
        The required dtype (all floating arrays of one call share a dtype).
    floating : bool
        Require float32 or float64 (the only dtypes the numerical core supports).
    """
    if not isinstance(a, np.ndarray):
        raise ValueError(f"{name} must be a NumPy array; got {type(a).__name__}")
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions; got shape {a.shape}")
    if shape is not None:
        check_shape(name, a, shape)
    if floating and a.dtype.type not in FLOAT_DTYPES:
        raise ValueError(f"{name} must be float32 or float64; got {a.dtype}")
    if dtype is not None and a.dtype != dtype:
        raise ValueError(
            f"{name} has dtype {a.dtype} but the other arrays are {np.dtype(dtype)}; "
            "use one floating dtype for all arrays of a call")
    return a


def check_shape(name, a, shape):
    """Raise unless ``a.shape`` matches ``shape`` (``None`` entries match anything)."""
    ok = len(a.shape) == len(shape) and all(s is None or s == d for s, d in zip(shape, a.shape))
    if not ok:
        want = "(" + ", ".join("*" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}; got {a.shape}")


def check_finite(name, a):
    """Raise if ``a`` holds NaN or infinity."""
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite; it contains NaN or infinity")
    return a


def check_choice(name, value, choices):
    """Raise unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


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
    check_array("x", x, ndim=3)
    if x.shape[1] == 0:
        raise ValueError(f"x must hold at least one time step; got shape {x.shape}")
    N, T, D = x.shape
    check_array("Wx", Wx, ndim=2, dtype=x.dtype)
    H = Wx.shape[1] // gates
    check_step_args(x[:, 0], h0, Wx, Wh, b, gates, names=("x[:, t]", "h0"))
    return N, T, D, H


def check_step_args(x, prev_h, Wx, Wh, b, gates=1, names=("x", "prev_h")):
    """Validate the arguments of one step: x (N, D), prev_h (N, H), Wx (D, G*H),
    Wh (H, G*H), b (G*H,). Returns (N, D, H)."""
    xname, hname = names
    check_array(xname, x, ndim=2)
    dtype = x.dtype
    N, D = x.shape
    check_array("Wx", Wx, ndim=2, dtype=dtype)
    if Wx.shape[0] != D or Wx.shape[1] % gates:
        want = f"(D, {gates}*H) with D={D}" if gates > 1 else f"(D, H) with D={D}"
        raise ValueError(f"Wx must have shape {want} matching x; got {Wx.shape}")
    H = Wx.shape[1] // gates
    check_array(hname, prev_h, shape=(N, H), dtype=dtype)
    check_array("Wh", Wh, shape=(H, gates * H), dtype=dtype)
    check_array("b", b, shape=(gates * H,), dtype=dtype)
    return N, D, H
