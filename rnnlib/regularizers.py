r"""The vanishing-gradient regularizer :math:`\Omega` of :cite:`pascanu2013`.

:math:`\Omega` asks every step Jacobian to preserve the norm of the error that BPTT
carries through it (eq. 9 of the paper), in the primer's notation

.. math::

    \Omega = \sum_{k=1}^{T-1} \Omega_k, \qquad
    \Omega_k = \left( \frac{\| v_{k+1}\, \partial h_{k+1} / \partial h_k \|}
                           {\| v_{k+1} \|} - 1 \right)^2,
    \qquad v_{k+1} = \frac{\partial L}{\partial h_{k+1}},

averaged over the sequences of a batch. With row vectors,
:math:`v\, \partial h_{k+1}/\partial h_k = (v \odot \sigma_h'(a_{k+1})) W_{hh}^\top`.

The gradient is the paper's approximation (eq. 10 and its released code): the
back-propagated errors :math:`v_{k+1}` and the derivatives :math:`\sigma_h'(a_{k+1})` are
held constant, so only the explicit :math:`W_{hh}` is differentiated:

.. math::

    \frac{\partial \Omega}{\partial W_{hh}} = \frac{1}{N} \sum_{n,k}
    \frac{2(r_{nk} - 1)}{\|z_{nk} W_{hh}^\top\|\,\|v_{nk}\|}
    \,(z_{nk} W_{hh}^\top)^\top z_{nk},
    \qquad z = v \odot \sigma_h'(a), \quad r = \frac{\|z W_{hh}^\top\|}{\|v\|}.

Steps whose error is (numerically) zero, :math:`\|v\|^2 < 10^{-20}`, are skipped, as in
the paper's code. The chapter "Clipping and regularizing" uses it with
:class:`rnnlib.models.SequenceModel` (``omega_weight``).
"""
import numpy as np

from ._validation import check_array
from .activations import get_activation

#: Squared error norm below which a step is left out of Omega (the paper's code).
OMEGA_BOUND = 1e-20


def omega(h, dh_total, Wh, activation="tanh"):
    r"""Value and (approximate) gradient of :math:`\Omega` for a vanilla RNN.

    Parameters
    ----------
    h : ndarray, shape (N, T, H)
        Hidden states :math:`h_1, \dots, h_T` of the forward pass.
    dh_total : ndarray, shape (N, T, H)
        The errors :math:`\partial L / \partial h_t` that BPTT propagated, e.g. the last
        output of :func:`rnnlib.analysis.rnn_backward_steps`. Held constant.
    Wh : ndarray, shape (H, H)
    activation : {"tanh", "relu"}

    Returns
    -------
    value : float
        :math:`\Omega`, summed over the transitions :math:`h_k \to h_{k+1}`, k = 1..T-1,
        and averaged over the batch.
    dWh : ndarray, shape (H, H)
        :math:`\partial \Omega / \partial W_{hh}` with :math:`v` and :math:`\sigma_h'` held
        constant (the paper's approximation).
    """
    _, df = get_activation(activation)
    check_array("h", h, ndim=3)
    N, T, H = h.shape
    if N == 0 or T == 0 or H == 0:
        raise ValueError(f"h must have shape (N, T, H) with N, T, H >= 1; got {h.shape}")
    check_array("dh_total", dh_total, shape=(N, T, H), dtype=h.dtype)
    check_array("Wh", Wh, shape=(H, H), dtype=h.dtype)
    v = dh_total[:, 1:].reshape(-1, H)               # v_{k+1}, k = 1..T-1
    z = v * df(h[:, 1:]).reshape(-1, H)              # v_{k+1} * sigma_h'(a_{k+1})
    u = z @ Wh.T                                     # v_{k+1} dh_{k+1}/dh_k
    v2 = (v * v).sum(axis=1)
    keep = v2 >= OMEGA_BOUND
    v_norm = np.sqrt(v2[keep])
    u_norm = np.sqrt((u[keep] ** 2).sum(axis=1))
    r = u_norm / v_norm
    value = float(((r - 1.0) ** 2).sum() / N)
    coef = np.zeros_like(u_norm)
    nonzero = u_norm > 0                             # d||u||/du is undefined at u = 0
    coef[nonzero] = 2.0 * (r[nonzero] - 1.0) / (u_norm[nonzero] * v_norm[nonzero])
    dWh = (coef[:, None] * u[keep]).T @ z[keep] / N
    return value, dWh.astype(h.dtype, copy=False)
