r"""Finite-difference gradient checks, the independent reference for every backward pass.

Centered differences :math:`\frac{f(x + h e_i) - f(x - h e_i)}{2h}` have an error of
order :math:`h^2`; in float64 with :math:`h = 10^{-5}` a correct analytic gradient agrees
to a relative error of about :math:`10^{-9}` or better, a wrong one to about 1.
"""
import math
import numbers

import numpy as np

from ._validation import (ArgumentTypeError, NonFiniteError, check_array, check_number,
                          check_shape)


def _check_callable(name, f):
    if not callable(f):
        raise ArgumentTypeError(f"{name} must be a callable; got {type(f).__name__}")
    return f


def _scalar(value, where):
    """``value`` as a finite float, or raise naming ``where``."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(())[()]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"f must return a real number; got {type(value).__name__} "
                                f"{where}")
    value = float(value)
    if not math.isfinite(value):
        raise NonFiniteError(f"f must return a finite number; got {value} {where}")
    return value


def numerical_gradient(f, x, h=1e-5):
    r"""Gradient of a scalar function by centered differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; it is called with ``x`` perturbed in place, one entry at a time.
    x : ndarray, any shape, float32 or float64 (float64 for accurate checks)
        The point; restored exactly on return, also when ``f`` raises.
    h : float
        Step size (> 0).

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    _check_callable("f", f)
    check_array("x", x)
    if not x.flags.writeable:
        raise ValueError("x must be a writeable array (it is perturbed in place); got a "
                         "read-only array (pass a copy)")
    h = check_number("h", h, low=0, low_open=True)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        ix = it.multi_index
        old = x[ix]
        try:
            x[ix] = old + h
            fp = _scalar(f(x), f"at x + h e_i, i={ix}")
            x[ix] = old - h
            fm = _scalar(f(x), f"at x - h e_i, i={ix}")
        finally:
            x[ix] = old
        grad[ix] = (fp - fm) / (2 * h)
    return grad


def numerical_gradient_array(f, x, df, h=1e-5):
    r"""Gradient of :math:`\sum f(x) \odot df` for an array-valued function.

    This is what a backward pass computes when ``df`` is the upstream gradient
    :math:`\partial L/\partial f(x)`.

    Parameters
    ----------
    f : callable
        ``f(x) -> ndarray`` of the shape of ``df``, called with ``x`` perturbed in place.
    x : ndarray, float32 or float64
    df : ndarray, shape of ``f(x)``
        Upstream gradient.
    h : float

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    _check_callable("f", f)
    check_array("df", df)

    def weighted(z):
        out = f(z)
        check_array("f(x)", out)
        check_shape("f(x) (the shape of df)", out, df.shape)
        return float(np.sum(out * df))

    return numerical_gradient(weighted, x, h)


def _real_array(name, a):
    """A real number or a finite real (integer or float) array, as float64."""
    if isinstance(a, numbers.Real) and not isinstance(a, bool):
        check_number(name, a)
        return np.float64(a)
    check_array(name, a, floating=False)
    if a.dtype.kind not in "iu" and a.dtype.type not in (np.float32, np.float64):
        raise ArgumentTypeError(f"{name} must be an integer, float32 or float64 array; got "
                                f"dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    return check_array(name, a)


def rel_error(a, b):
    r"""Relative error :math:`\|a - b\| / \max(\|a\| + \|b\|, 10^{-300})` (Frobenius norms).

    Zero for identical arrays, 1 for arrays of opposite sign, about :math:`10^{-16}` for
    float64 rounding noise. Measuring the whole array avoids the spurious blow-up of
    entry-wise ratios at gradients that are nearly zero.
    """
    a, b = _real_array("a", a), _real_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have one shape; got a {a.shape} and b {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))
