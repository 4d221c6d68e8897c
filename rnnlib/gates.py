r"""Kernels shared by the gated sequence functions of :mod:`rnnlib.lstm` and :mod:`rnnlib.gru`.

Both cells compute their gates in the *exp form*: the weight rows of a sigmoid gate are
scaled by -1 and those of a tanh gate by -2 (exact in floating point, powers of two),
so that each step's pre-activation is already the exponent :math:`m` and one ``np.exp``
serves every gate, :math:`\sigma(a) = 1 / (1 + e^{m})`, :math:`\tanh(a) = 2 / (1 + e^{m}) - 1`.
Both also project the inputs of all steps with one matrix product before the loop, into
feature-major arrays. The derivation and the measurements are in the chapter
"Backpropagation through time" (the exp form) and in ``benchmarks/README.md``.
"""
import threading

import numpy as np

from ._validation import check_array, check_float_dtype, check_int

#: Scratch arrays of the sequence functions, per thread (see :func:`_scratch`).
_SCRATCH = threading.local()
#: Arrays larger than this are not kept between calls (bytes).
SCRATCH_MAX_BYTES = 16 * 2 ** 20


def _scratch(name, shape, dtype):
    """An uninitialized array for a temporary of a sequence function, reused by the next
    call of the same function in this thread when the shape and dtype match.

    A fresh array of a few megabytes costs a page fault per 4 KiB page on its first
    touch (glibc's malloc returns the freed memory of the previous call to the system):
    on the benchmark machine about 3 us a page, a third of the LSTM's time at shape S0.
    Only temporaries that never leave the call may live here (never a cache or a
    result); arrays above ``SCRATCH_MAX_BYTES`` are allocated fresh and not kept."""
    shape, dtype = tuple(shape), np.dtype(dtype)
    if int(np.prod(shape)) * dtype.itemsize > SCRATCH_MAX_BYTES:
        return np.empty(shape, dtype=dtype)
    pool = getattr(_SCRATCH, "arrays", None)
    if pool is None:
        pool = _SCRATCH.arrays = {}
    a = pool.get(name)
    if a is None or a.shape != shape or a.dtype != dtype:
        a = pool[name] = np.empty(shape, dtype=dtype)
    return a


def _views(dtype, *shapes):
    """Uninitialized arrays of the given shapes, all views of one allocation (for a
    cache: one large block, which glibc's malloc reuses for the next call, where several
    smaller ones would be returned to the system and fault again on first touch)."""
    sizes = [int(np.prod(s)) for s in shapes]
    block = np.empty(sum(sizes), dtype=dtype)
    out, start = [], 0
    for shape, size in zip(shapes, sizes):
        out.append(block[start:start + size].reshape(shape))
        start += size
    return out


def exp_scale(n_sigmoid, n_tanh, dtype):
    r"""Row factors that let one ``np.exp`` serve every gate of a step.

    With :math:`m = -a` for the sigmoid rows and :math:`m = -2a` for the tanh rows,
    :math:`\sigma(a) = 1 / (1 + e^{m})` and :math:`\tanh(a) = 2 / (1 + e^{m}) - 1`. Scaling
    the weights and bias of a row by -1 or -2 is exact in floating point, so the loop
    computes :math:`e^{m}` of all blocks in one pass (NumPy's exp is much faster than
    its tanh). For :math:`m` so large that :math:`e^m` overflows to infinity, the
    formulas give the exact limits 0 and -1. Returns shape (n_sigmoid + n_tanh, 1):
    -1 in the first ``n_sigmoid`` rows, -2 in the ``n_tanh`` rows after them."""
    n_sigmoid, n_tanh = check_int("n_sigmoid", n_sigmoid, low=0), check_int("n_tanh", n_tanh, low=0)
    dtype = check_float_dtype("dtype", dtype)
    scale = np.full((n_sigmoid + n_tanh, 1), -2, dtype=dtype)
    scale[:n_sigmoid] = -1
    return scale


def tanh_from_exponent(m, check=True):
    r""":math:`\tanh(a) = 2 / (1 + e^{m}) - 1` in place, for ``m`` = :math:`-2a`
    (see ``exp_scale``); ``m`` overflowing in exp gives the exact limit -1.

    ``m`` must be a finite float array. The sequence functions, whose arrays are checked
    once on entry and whose loops already ignore the overflow, pass ``check=False``.
    """
    if check:
        check_array("m", m)
        with np.errstate(over="ignore"):
            return tanh_from_exponent(m, check=False)
    np.exp(m, out=m)
    np.add(m, 1, out=m)
    np.divide(2, m, out=m)
    np.subtract(m, 1, out=m)
    return m


def sigmoid_from_exponent(m, check=True):
    r""":math:`\sigma(a) = 1 / (1 + e^{m})` in place, for ``m`` = :math:`-a` (``check``
    as for :func:`tanh_from_exponent`)."""
    if check:
        check_array("m", m)
        with np.errstate(over="ignore"):
            return sigmoid_from_exponent(m, check=False)
    np.exp(m, out=m)
    np.add(m, 1, out=m)
    np.reciprocal(m, out=m)
    return m


def gate_projection(x, Wx, Wh, b, scale):
    r"""The input projection of a gated sequence function for all steps, as one product.

    Parameters
    ----------
    x : ndarray, shape (N, T, D)
    Wx : ndarray, shape (D, G)
    Wh : ndarray, shape (H, G)
    b : ndarray, shape (G,)
    scale : ndarray, shape (G, 1)
        Factors of the gate rows (see ``exp_scale``).

    Returns
    -------
    gin : ndarray, shape (G, T, N)
        ``scale`` times :math:`(u_t W_{uh} + b)^\top` for every t; ``gin[:, t]`` is step t.
    WhT : ndarray, shape (G, H)
        ``scale`` times :math:`W_{hh}^\top`, C-contiguous.
    xa : ndarray, shape (D+1, T, N)
        :math:`u_t^\top` with a row of ones below, for the weight and bias gradients.
    """
    return _gate_projection(x, Wx, Wh, b, scale, None)


def _gate_projection(x, Wx, Wh, b, scale, gin_name):
    """:func:`gate_projection`, with ``gin`` a scratch array of that name (``_scratch``)
    unless ``gin_name`` is None."""
    check_array("x", x, ndim=3)
    N, T, D = x.shape
    if N == 0 or T == 0:
        raise ValueError(f"x must hold at least one sequence and one step; got shape {x.shape}")
    check_array("Wx", Wx, ndim=2, shape=(D, None), dtype=x.dtype)
    G = Wx.shape[1]
    check_array("Wh", Wh, ndim=2, shape=(None, G), dtype=x.dtype)
    check_array("b", b, shape=(G,), dtype=x.dtype)
    check_array("scale", scale, shape=(G, 1), dtype=x.dtype)
    WxbT = np.empty((Wx.shape[1], D + 1), dtype=x.dtype)       # [W_uh^T | b]
    WxbT[:, :D] = Wx.T
    WxbT[:, D] = b
    WxbT *= scale
    xa = np.empty((D + 1, T, N), dtype=x.dtype)
    xa[:D] = x.transpose(2, 1, 0)
    xa[D] = 1
    G = Wx.shape[1]
    gin = None if gin_name is None else _scratch(gin_name, (G, T * N), x.dtype)
    gin = np.matmul(WxbT, xa.reshape(D + 1, T * N), out=gin).reshape(G, T, N)
    return gin, np.ascontiguousarray(Wh.T * scale), xa
