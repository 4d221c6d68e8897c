r"""Optimizers and gradient clipping on dicts of parameters and gradients.

Parameters and gradients are dicts of arrays with the same keys, e.g.
``{"Wx": ..., "Wh": ..., "b": ...}``. Optimizers update the parameters in place;
their state (velocities, moments) is kept per key.
"""
import numpy as np


def _check_dicts(params, grads):
    if set(params) != set(grads):
        raise ValueError(f"params and grads must have the same keys; got "
                         f"{sorted(params)} and {sorted(grads)}")
    for k in params:
        if params[k].shape != grads[k].shape:
            raise ValueError(f"grads[{k!r}] must have shape {params[k].shape} like "
                             f"params[{k!r}]; got {grads[k].shape}")


class SGD:
    r"""Stochastic gradient descent with optional (Nesterov) momentum.

    With velocity :math:`v` and momentum :math:`\mu`:
    :math:`v \leftarrow \mu v - \eta g`, then :math:`\theta \leftarrow \theta + v`
    (classical) or :math:`\theta \leftarrow \theta + \mu v - \eta g` (Nesterov, in the
    form of Sutskever et al. 2013).

    Parameters
    ----------
    lr : float
        Learning rate :math:`\eta > 0`.
    momentum : float
        :math:`\mu \in [0, 1)`.
    nesterov : bool
    """

    def __init__(self, lr, momentum=0.0, nesterov=False):
        if not lr > 0:
            raise ValueError(f"lr must be positive; got {lr}")
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1); got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.lr, self.momentum, self.nesterov = lr, momentum, nesterov
        self.velocity = {}

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (dicts with the same keys)."""
        _check_dicts(params, grads)
        for k, g in grads.items():
            if self.momentum == 0:
                params[k] -= self.lr * g
                continue
            v = self.velocity.setdefault(k, np.zeros_like(g))
            v *= self.momentum
            v -= self.lr * g
            if self.nesterov:
                params[k] += self.momentum * v - self.lr * g
            else:
                params[k] += v


class Adam:
    r"""Adam (Kingma & Ba 2015) with bias-corrected moment estimates.

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)` with
    :math:`\hat m = m / (1 - \beta_1^t)`, :math:`\hat v = v / (1 - \beta_2^t)`.
    """

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        if not lr > 0:
            raise ValueError(f"lr must be positive; got {lr}")
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1); got {beta}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.m, self.v, self.t = {}, {}, 0

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (dicts with the same keys)."""
        _check_dicts(params, grads)
        self.t += 1
        c1 = 1 - self.beta1 ** self.t
        c2 = 1 - self.beta2 ** self.t
        for k, g in grads.items():
            m = self.m.setdefault(k, np.zeros_like(g))
            v = self.v.setdefault(k, np.zeros_like(g))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            params[k] -= self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)


def global_norm(grads):
    r"""The L2 norm of all gradients together, :math:`\sqrt{\sum_k \|g_k\|^2}`."""
    return float(np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads.values())))


def clip_grad_norm(grads, max_norm):
    r"""Rescale all gradients together when their global norm exceeds ``max_norm``
    (Pascanu et al. 2013): :math:`g \leftarrow g \cdot \text{max\_norm} / \|g\|`.

    The direction of the update is kept; only its length is bounded.

    Parameters
    ----------
    grads : dict of ndarray
        Modified in place.
    max_norm : float
        Threshold, > 0.

    Returns
    -------
    norm : float
        The global norm *before* clipping.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive; got {max_norm}")
    norm = global_norm(grads)
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm
    return norm


def clip_grad_value(grads, clip_value):
    r"""Clip every gradient entry to :math:`[-c, c]`.

    Unlike :func:`clip_grad_norm` this changes the direction of the update.

    Parameters
    ----------
    grads : dict of ndarray
        Modified in place.
    clip_value : float
        :math:`c > 0`.

    Returns
    -------
    norm : float
        The global norm *before* clipping.
    """
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive; got {clip_value}")
    norm = global_norm(grads)
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)
    return norm
