r"""Finite-difference gradient checks, the independent reference for every backward pass.

Centered differences :math:`\frac{f(x + h e_i) - f(x - h e_i)}{2h}` have an error of
order :math:`h^2`; in float64 with :math:`h = 10^{-5}` a correct analytic gradient agrees
to a relative error of about :math:`10^{-9}` or better, a wrong one to about 1.
"""
import numpy as np


def numerical_gradient(f, x, h=1e-5):
    r"""Gradient of a scalar function by centered differences.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``; it is called with ``x`` perturbed in place, one entry at a time.
    x : ndarray, any shape, float64
        The point; restored exactly on return.
    h : float
        Step size.

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fp = f(x)
        x[ix] = old - h
        fm = f(x)
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
        ``f(x) -> ndarray``, called with ``x`` perturbed in place.
    x : ndarray
    df : ndarray, shape of ``f(x)``
        Upstream gradient.
    h : float

    Returns
    -------
    grad : ndarray, same shape as ``x``
    """
    return numerical_gradient(lambda z: float(np.sum(f(z) * df)), x, h)


def rel_error(a, b):
    r"""Relative error :math:`\|a - b\| / \max(\|a\| + \|b\|, 10^{-300})` (Frobenius norms).

    Zero for identical arrays, 1 for arrays of opposite sign, about :math:`10^{-16}` for
    float64 rounding noise. Measuring the whole array avoids the spurious blow-up of
    entry-wise ratios at gradients that are nearly zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error needs arrays of one shape; got {a.shape} and {b.shape}")
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))
