r"""Optimizers and gradient clipping on dicts of parameters and gradients.

Parameters and gradients are dicts of arrays with the same keys, e.g.
``{"Wx": ..., "Wh": ..., "b": ...}``. Optimizers update the parameters in place;
their state (velocities, moments) is kept per key.

An update is all or nothing: the new values of every parameter and of the optimizer's
state are computed first, and written only if all of them are finite. A step that
would write NaN or infinity (a huge gradient, ``lr`` too large) raises
:class:`~rnnlib._validation.NonFiniteError` and leaves the parameters and the state as
they were, so a training run can stop, or be resumed, from the last good point.
"""
import numpy as np

from ._validation import (NonFiniteError, check_array, check_bool, check_int, check_number,
                          all_finite)


def _check_dicts(params, grads):
    if not isinstance(params, dict) or not isinstance(grads, dict):
        raise ValueError(f"params and grads must be dicts of arrays; got "
                         f"{type(params).__name__} and {type(grads).__name__}")
    if set(params) != set(grads):
        raise ValueError(f"params and grads must have the same keys; got "
                         f"{sorted(params)} and {sorted(grads)}")
    for k in params:
        p = check_array(f"params[{k!r}]", params[k])
        check_array(f"grads[{k!r}]", grads[k], shape=p.shape, dtype=p.dtype)


def _commit(params, new_params, state_updates):
    """Write the new values if every one is finite, else raise and write nothing."""
    bad = [k for k, v in new_params.items() if not all_finite(v)]
    bad += [name for name, (_, v) in state_updates.items() if not all_finite(v)]
    if bad:
        raise NonFiniteError(f"the update would make {bad[0]!r} non-finite; the "
                             f"parameters were left unchanged (lower the learning rate, or "
                             f"clip the gradient)")
    for k, v in new_params.items():
        params[k][...] = v
    for name, (store, v) in state_updates.items():
        store[name.split("/", 1)[1]] = v


def _state_dict(optimizer, fields, slots):
    out = {f"hyper.{k}": np.asarray(getattr(optimizer, k)) for k in fields}
    for slot in slots:
        out.update({f"{slot}.{k}": v.copy() for k, v in getattr(optimizer, slot).items()})
    return out


def _load_state_dict(optimizer, state, fields, slots):
    """Re-initialize ``optimizer`` from the stored hyperparameters (so the constructor's
    checks apply) and return the stored slots by name."""
    for k in fields:
        if f"hyper.{k}" not in state:
            raise ValueError(f"the optimizer state has no entry 'hyper.{k}'")
    hyper = {k: np.asarray(state[f"hyper.{k}"]).item() for k in fields}
    optimizer.__init__(**{k: v for k, v in hyper.items() if k != "t"})
    stores = {slot: {} for slot in slots}
    for key, v in state.items():
        head, _, name = key.partition(".")
        if head in stores:
            stores[head][name] = check_array(f"state[{key!r}]", np.asarray(v))
        elif head != "hyper":
            raise ValueError(f"unknown optimizer state entry {key!r}")
    return stores


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

    _fields = ("lr", "momentum", "nesterov")
    _slots = ("velocity",)

    def __init__(self, lr, momentum=0.0, nesterov=False):
        self.lr = lr
        self.momentum = check_number("momentum", momentum, low=0, high=1, high_open=True)
        self.nesterov = check_bool("nesterov", nesterov)
        if nesterov and momentum == 0:
            raise ValueError("nesterov=True needs a momentum > 0")
        self.velocity = {}

    @property
    def lr(self):
        """The learning rate (a positive finite number; a schedule may set it)."""
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = check_number("lr", value, low=0, low_open=True)

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (dicts with the same keys); all or
        nothing (see the module docstring)."""
        _check_dicts(params, grads)
        new, state = {}, {}
        with np.errstate(over="ignore", invalid="ignore"):      # checked by _commit
            self._compute(params, grads, new, state)
        _commit(params, new, state)

    def _compute(self, params, grads, new, state):
        for k, g in grads.items():
            if self.momentum == 0:
                new[k] = params[k] - self.lr * g
                continue
            v = self.momentum * self.velocity.get(k, 0) - self.lr * g
            state[f"velocity/{k}"] = (self.velocity, v)
            new[k] = params[k] + (self.momentum * v - self.lr * g if self.nesterov else v)

    def state_dict(self):
        """The optimizer's state as a dict of arrays (for a checkpoint)."""
        return _state_dict(self, self._fields, self._slots)

    def load_state_dict(self, state):
        """Restore a :meth:`state_dict` (the hyperparameters must match)."""
        stores = _load_state_dict(self, state, self._fields, self._slots)
        self.velocity = stores["velocity"]


class Adam:
    r"""Adam (Kingma & Ba 2015) with bias-corrected moment estimates.

    :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
    :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`\theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)` with
    :math:`\hat m = m / (1 - \beta_1^t)`, :math:`\hat v = v / (1 - \beta_2^t)`.

    Parameters
    ----------
    lr : float
        :math:`\eta > 0`.
    beta1, beta2 : float
        In [0, 1).
    eps : float
        :math:`\epsilon > 0`.
    """

    _fields = ("lr", "beta1", "beta2", "eps", "t")
    _slots = ("m", "v")

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = lr
        self.beta1 = check_number("beta1", beta1, low=0, high=1, high_open=True)
        self.beta2 = check_number("beta2", beta2, low=0, high=1, high_open=True)
        self.eps = check_number("eps", eps, low=0, low_open=True)
        self.m, self.v, self.t = {}, {}, 0

    lr = SGD.lr

    def step(self, params, grads):
        """Update ``params`` in place from ``grads`` (dicts with the same keys); all or
        nothing (see the module docstring)."""
        _check_dicts(params, grads)
        t = self.t + 1
        c1 = 1 - self.beta1 ** t
        c2 = 1 - self.beta2 ** t
        new, state = {}, {}
        with np.errstate(over="ignore", invalid="ignore"):      # checked by _commit
            self._compute(params, grads, c1, c2, new, state)
        _commit(params, new, state)
        self.t = t

    def _compute(self, params, grads, c1, c2, new, state):
        for k, g in grads.items():
            m = self.beta1 * self.m.get(k, 0) + (1 - self.beta1) * g
            v = self.beta2 * self.v.get(k, 0) + (1 - self.beta2) * (g * g)
            state[f"m/{k}"], state[f"v/{k}"] = (self.m, m), (self.v, v)
            new[k] = params[k] - self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def state_dict(self):
        """The optimizer's state as a dict of arrays (for a checkpoint)."""
        return _state_dict(self, self._fields, self._slots)

    def load_state_dict(self, state):
        """Restore a :meth:`state_dict`: moments and step count."""
        stores = _load_state_dict(self, state, self._fields, self._slots)
        self.m, self.v = stores["m"], stores["v"]
        self.t = check_int("t", np.asarray(state["hyper.t"]).item(), low=0)


def global_norm(grads):
    r"""The L2 norm of all gradients together, :math:`\sqrt{\sum_k \|g_k\|^2}` (NaN or
    infinity when a gradient is not finite: the caller decides what that means)."""
    if not isinstance(grads, dict) or not grads:
        raise ValueError(f"grads must be a non-empty dict of arrays; got {grads!r:.60}")
    for k, g in grads.items():
        check_array(f"grads[{k!r}]", g, finite=False)
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
    max_norm = check_number("max_norm", max_norm, low=0, low_open=True)
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
    clip_value = check_number("clip_value", clip_value, low=0, low_open=True)
    norm = global_norm(grads)
    for g in grads.values():
        np.clip(g, -clip_value, clip_value, out=g)
    return norm
