r"""Several independent vanilla RNNs as one computation: a leading *model axis*.

The book's experiments train the same small network (H = 32) with many seeds. At that
size a time step of :func:`rnnlib.rnn.rnn_forward` is a product of a (N, 32) by a
(32, 32) matrix and a few element-wise passes over N x 32 numbers: the time goes to the
cost of each NumPy call, not to arithmetic. Stacking S models along a first axis,

.. math::

    a^{(s)}_t = h^{(s)}_{t-1} W^{(s)}_{hh} + u^{(s)}_t W^{(s)}_{uh} + b^{(s)}_h,
    \qquad h^{(s)}_t = \sigma_h(a^{(s)}_t), \qquad s = 1, \dots, S,

makes each call serve S models: ``np.matmul`` of a (S, N, H) by a (S, H, H) array is S
independent products in one call. Every model keeps its own weights, data and random
generator; the numbers of model s are those of a run of model s alone (up to the
rounding of a sum taken in another order), which ``tests/test_batched.py`` checks.

- :func:`rnn_forward_stack`, :func:`rnn_backward_stack`: the sequence functions of
  :mod:`rnnlib.rnn` with the model axis in front.
- :func:`train_seeds`: :func:`rnnlib.train.train` of a vanilla-RNN
  :class:`~rnnlib.models.SequenceModel` on a task, for several seeds at once; each seed
  draws its initial weights and batches from its own ``np.random.default_rng(seed)``
  exactly as a single run does, and a seed that succeeds or diverges leaves the stack.
- :func:`run_config_seeds`: :func:`rnnlib.experiments.run_config` for several seeds.

Measured against one run at a time in ``benchmarks/batched_seeds.py``.
"""
import time
from typing import NamedTuple

import numpy as np

from ._validation import (ArgumentTypeError, check_array, check_bool, check_cache,
                          check_choice, check_int, check_number, check_optional_number)
from .activations import get_activation, log_softmax
from .gates import _scratch
from .rnn import _backward_loop, _forward_loop


class RNNStackCache(NamedTuple):
    """What :func:`rnn_forward_stack` keeps for :func:`rnn_backward_stack`."""

    xs: np.ndarray         #: (S, T, N, D), the inputs, time-major per model
    hs: np.ndarray         #: (T+1, S, N, H), h_0 .. h_T of every model
    Wx: np.ndarray         #: (S, D, H)
    Wh: np.ndarray         #: (S, H, H)
    activation: str        #: "tanh" or "relu"


def _check_stack_args(x, h0, Wx, Wh, b):
    check_array("x", x, ndim=4)
    S, N, T, D = x.shape
    if 0 in x.shape[:3]:
        raise ValueError(f"x must hold at least one model, sequence and step; got shape "
                         f"{x.shape}")
    check_array("Wh", Wh, ndim=3, shape=(S, None, None), dtype=x.dtype)
    H = Wh.shape[1]
    if H == 0 or Wh.shape[2] != H:
        raise ValueError(f"Wh must have shape (S, H, H) with S={S} and H >= 1; got {Wh.shape}")
    check_array("Wx", Wx, shape=(S, D, H), dtype=x.dtype)
    check_array("b", b, shape=(S, H), dtype=x.dtype)
    check_array("h0", h0, shape=(S, N, H), dtype=x.dtype)
    return S, N, T, D, H


def rnn_forward_stack(x, h0, Wx, Wh, b, activation="tanh"):
    r""":func:`rnnlib.rnn.rnn_forward` of S models at once.

    The same loop (:mod:`rnnlib.rnn`'s), with the models as a second batch axis: each
    step is one ``np.matmul`` of (S, N, H) by (S, H, H) and element-wise passes over
    S N H numbers.

    Parameters
    ----------
    x : ndarray, shape (S, N, T, D)
        The input sequences of each model.
    h0 : ndarray, shape (S, N, H)
    Wx : ndarray, shape (S, D, H)
    Wh : ndarray, shape (S, H, H)
    b : ndarray, shape (S, H)
    activation : {"tanh", "relu"}

    Returns
    -------
    h : ndarray, shape (S, N, T, H)
        ``h[s]`` is ``rnn_forward(x[s], h0[s], Wx[s], Wh[s], b[s])[0]``.
    cache : RNNStackCache
    """
    get_activation(activation)
    _check_stack_args(x, h0, Wx, Wh, b)
    return _stack_forward(x, h0, Wx, Wh, b, activation, scratch=False)


def _stack_forward(x, h0, Wx, Wh, b, activation, scratch):
    """:func:`rnn_forward_stack` on checked arguments; with ``scratch`` the cache and
    ``h`` are scratch arrays (:func:`rnnlib.gates._scratch`), valid until the next call:
    for :func:`train_seeds`, where they never leave the step."""
    S, N, T, D = x.shape
    H = Wh.shape[1]

    def new(name, shape):
        return (_scratch(f"batched.{name}", shape, x.dtype) if scratch
                else np.empty(shape, dtype=x.dtype))

    xs = new("xs", (S, T, N, D))
    np.copyto(xs, x.transpose(0, 2, 1, 3))                     # (S, T, N, D)
    a0 = np.matmul(xs.reshape(S, T * N, D), Wx,                # per model
                   out=_scratch("batched.a0", (S, T * N, H), x.dtype))
    a0 += b[:, None, :]
    a = _scratch("batched.a", (T, S, N, H), x.dtype)
    np.copyto(a, a0.reshape(S, T, N, H).transpose(1, 0, 2, 3))
    hs = new("hs", (T + 1, S, N, H))
    hs[0] = h0
    _forward_loop(a, hs, Wh, activation)
    h = new("h", (S, N, T, H))
    np.copyto(h, hs[1:].transpose(1, 2, 0, 3))
    return h, RNNStackCache(xs, hs, Wx, Wh, activation)


def rnn_backward_stack(dh, cache):
    r""":func:`rnnlib.rnn.rnn_backward` of S models at once.

    Parameters
    ----------
    dh : ndarray, shape (S, N, T, H)
    cache : RNNStackCache
        From :func:`rnn_forward_stack`.

    Returns
    -------
    dx : ndarray, shape (S, N, T, D)
    dh0 : ndarray, shape (S, N, H)
    dWx : ndarray, shape (S, D, H)
    dWh : ndarray, shape (S, H, H)
    db : ndarray, shape (S, H)
    """
    xs, hs, Wx, Wh, activation = check_cache(cache, RNNStackCache, "rnn_forward_stack")
    S, T, N, D = xs.shape
    check_array("dh", dh, shape=(S, N, T, Wh.shape[1]), dtype=xs.dtype)
    return _stack_backward(dh, cache, need_dx=True)


def _stack_backward(dh, cache, need_dx):
    """:func:`rnn_backward_stack` on checked arguments (``dx`` is None unless
    ``need_dx``); the temporaries are scratch arrays."""
    xs, hs, Wx, Wh, activation = cache
    S, T, N, D = xs.shape
    H = Wh.shape[1]
    delta = _scratch("batched.delta", (T, S, N, H), xs.dtype)  # sigma'(a_t)
    if activation == "tanh":                                   # 1 - h^2, as rnn_backward
        np.multiply(hs[1:], hs[1:], out=delta)
        np.subtract(1, delta, out=delta)
    else:
        np.copyto(delta, get_activation(activation)[1](hs[1:]))
    dprev = _backward_loop(delta, dh.transpose(2, 0, 1, 3),
                           np.ascontiguousarray(Wh.transpose(0, 2, 1)))
    delta2 = _scratch("batched.delta2", (S, T, N, H), xs.dtype)
    np.copyto(delta2, delta.transpose(1, 0, 2, 3))
    delta2 = delta2.reshape(S, T * N, H)
    hs2 = _scratch("batched.hs2", (S, T, N, H), xs.dtype)
    np.copyto(hs2, hs[:-1].transpose(1, 0, 2, 3))
    hs2 = hs2.reshape(S, T * N, H)
    dWx = np.matmul(xs.reshape(S, T * N, D).transpose(0, 2, 1), delta2)
    dWh = np.matmul(hs2.transpose(0, 2, 1), delta2)
    dx = None
    if need_dx:
        dx = np.matmul(delta2, Wx.transpose(0, 2, 1)).reshape(S, T, N, D).transpose(0, 2, 1, 3)
    return dx, dprev, dWx, dWh, delta2.sum(axis=1)


# --------------------------------------------------------------------------------------
# Training several seeds as one stack

def _readout_forward(h, Wy, by):
    S, N, T, H = h.shape
    out = np.matmul(h.reshape(S, N * T, H), Wy).reshape(S, N, T, -1)
    out += by[:, None, None, :]
    return out


def _stack_loss(kind, out, targets, mask):
    """Per-model loss (S,) and gradient of the readout, the formulas of
    :func:`rnnlib.losses.temporal_softmax_loss` ("softmax") and
    :func:`rnnlib.losses.mean_squared_error` ("mse") applied to each model."""
    S, N, T, K = out.shape
    if kind == "mse":
        diff = np.where(mask[..., None], out - targets, 0)
        count = mask.sum(axis=(1, 2)) * K
        loss = np.sum(diff * diff, axis=(1, 2, 3)) / count
        return loss, (2.0 / count)[:, None, None, None] * diff
    logp = log_softmax(out)
    yf = np.where(mask, targets, 0)[..., None]
    picked = np.take_along_axis(logp, yf, axis=-1)[..., 0]
    loss = -np.where(mask, picked, 0).sum(axis=(1, 2)) / N
    dout = np.exp(logp)
    np.put_along_axis(dout, yf, np.take_along_axis(dout, yf, axis=-1) - 1, axis=-1)
    dout *= mask[..., None] / N
    return loss, dout


def _loss_and_grads(params, kind, activation, x, targets, mask):
    S, N, T, D = x.shape
    H = params["Wh"].shape[1]
    h, cache = _stack_forward(x, np.zeros((S, N, H), x.dtype), params["Wx"], params["Wh"],
                              params["b"], activation, scratch=True)
    out = _readout_forward(h, params["Wy"], params["by"])
    finite = np.isfinite(out).all(axis=(1, 2, 3))
    if not finite.all():                       # diverged models: no loss, no gradient
        return None, None, out, finite
    loss, dout = _stack_loss(kind, out, targets, mask)
    K = out.shape[-1]
    d2 = dout.reshape(S, N * T, K)
    dh = np.matmul(d2, params["Wy"].transpose(0, 2, 1)).reshape(S, N, T, H)
    dWy = np.matmul(h.reshape(S, N * T, H).transpose(0, 2, 1), d2)
    _, _, dWx, dWh, db = _stack_backward(dh, cache, need_dx=False)
    grads = {"Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": d2.sum(axis=1)}
    return loss, grads, out, finite


def _global_norms(grads):
    """The global norm of each model's gradients, summed as
    :func:`rnnlib.optim.global_norm` sums them (so that clipping scales by the same
    number, to the last bit)."""
    S = len(next(iter(grads.values())))
    return np.array([np.sqrt(sum(float(np.sum(g[s].astype(np.float64) ** 2))
                                 for g in grads.values())) for s in range(S)])


def _keep(stack, keep):
    for k in stack:
        stack[k] = stack[k][keep]


def _keep_optimizer(optimizer, keep):
    for slot in optimizer._slots:              # the per-key state (moments, velocities)
        store = getattr(optimizer, slot)
        for k in store:
            store[k] = store[k][keep]


def _sample(task, T, batch, rngs):
    parts = [task.sample(T, batch, rng) for rng in rngs]
    return tuple(np.stack(p) for p in zip(*parts))


def train_seeds(task, seeds, steps, *, T, hidden_size, activation="tanh", init=None,
                optimizer="adam", lr=1e-3, momentum=0.0, batch_size=20, clip_norm=None,
                eval_every=None, eval_size=500, stop_on_success=False):
    r"""Train one vanilla-RNN :class:`~rnnlib.models.SequenceModel` per seed, all seeds as
    one stack.

    For each seed s the run is that of

    ``rng = np.random.default_rng(s)``;
    ``model = SequenceModel.for_task(task, hidden_size, rng, activation=..., init=...)``;
    ``train(model, None, Adam(lr) or SGD(lr, momentum), task, steps, T=T, rng=rng, ...)``

    (the path of :func:`rnnlib.experiments.run_config`): the same initial weights, the
    same batches and test batches from the seed's generator, the same updates. A seed
    stops at its first successful evaluation (with ``stop_on_success``) or when its
    outputs, loss or gradient norm become non-finite (diverged; its parameters are those
    before that step), and leaves the stack; the others go on.

    Parameters
    ----------
    task : rnnlib.tasks.Task
    seeds : sequence of int
        Distinct non-negative seeds.
    steps : int
    T, hidden_size : int
    activation : {"tanh", "relu"}
    init : dict, optional
        Keyword arguments of :func:`rnnlib.init.rnn_params`.
    optimizer : {"adam", "sgd"}
    lr, momentum : float
    batch_size : int
    clip_norm : float, optional
        Clip each model's gradient by its own global norm.
    eval_every : int, optional
    eval_size : int
    stop_on_success : bool

    Returns
    -------
    list of dict, one per seed in the order given: ``params`` (the model's parameters,
    the keys of ``SequenceModel.params``), ``history`` (:class:`rnnlib.train.History`;
    ``time`` is the time of the whole stack), ``diverged`` (bool).
    """
    from .models import SequenceModel
    from .optim import SGD, Adam
    from .tasks import Task
    from .train import History
    if not isinstance(task, Task):
        raise ArgumentTypeError(f"task must be a rnnlib.tasks.Task; got {type(task).__name__}")
    if isinstance(seeds, (str, bytes)) or not hasattr(seeds, "__len__"):
        raise ArgumentTypeError(f"seeds must be a sequence of int; got {type(seeds).__name__}")
    seeds = [check_int(f"seeds[{i}]", s, low=0) for i, s in enumerate(seeds)]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be a non-empty sequence of distinct seeds; got {seeds}")
    steps = check_int("steps", steps)
    T = check_int("T", T, low=task.min_length)
    hidden_size = check_int("hidden_size", hidden_size)
    batch_size, eval_size = check_int("batch_size", batch_size), check_int("eval_size", eval_size)
    optimizer = check_choice("optimizer", optimizer, ("adam", "sgd"))
    clip_norm = check_optional_number("clip_norm", clip_norm, low=0, low_open=True)
    momentum = check_number("momentum", momentum, low=0, high=1, high_open=True)
    stop_on_success = check_bool("stop_on_success", stop_on_success)
    if eval_every is not None:
        eval_every = check_int("eval_every", eval_every)
    if stop_on_success and eval_every is None:
        raise ValueError("stop_on_success needs eval_every")
    kind = "mse" if task.kind == "regression" else "softmax"

    rngs = [np.random.default_rng(s) for s in seeds]
    models = [SequenceModel.for_task(task, hidden_size, rng, activation=activation, init=init)
              for rng in rngs]
    params = {k: np.stack([m.params[k] for m in models]) for k in models[0].params}
    opt = Adam(lr) if optimizer == "adam" else SGD(lr, momentum=momentum)
    histories = [History() for _ in seeds]
    results = [{"params": None, "history": h, "diverged": False} for h in histories]
    active = list(range(len(seeds)))            # positions in ``seeds`` of the stack's rows
    start = time.perf_counter()

    def leave(keep):
        nonlocal active
        for row, pos in enumerate(active):
            if not keep[row]:
                results[pos]["params"] = {k: v[row].copy() for k, v in params.items()}
        active = [pos for row, pos in enumerate(active) if keep[row]]
        _keep(params, keep)
        _keep_optimizer(opt, keep)

    with np.errstate(over="ignore", invalid="ignore"):
        for step in range(1, steps + 1):
            x, y, m = _sample(task, T, batch_size, [rngs[p] for p in active])
            loss, grads, _, finite = _loss_and_grads(params, kind, activation, x, y, m)
            if loss is None:                    # some outputs non-finite: drop, redo
                for row, pos in enumerate(active):
                    results[pos]["diverged"] = not finite[row]
                keep = finite
                leave(keep)
                if not active:
                    break
                x, y, m = x[keep], y[keep], m[keep]
                loss, grads, _, _ = _loss_and_grads(params, kind, activation, x, y, m)
            norms = _global_norms(grads)
            bad = ~(np.isfinite(loss) & np.isfinite(norms))
            if bad.any():
                for row, pos in enumerate(active):
                    results[pos]["diverged"] = bool(bad[row])
                keep = ~bad
                _keep(grads, keep)
                loss, norms = loss[keep], norms[keep]
                leave(keep)
                if not active:
                    break
            clipped = np.zeros(len(active), dtype=bool)
            if clip_norm is not None:
                clipped = norms > clip_norm
                scale = np.where(clipped, clip_norm / np.where(clipped, norms, 1), 1)
                for g in grads.values():
                    g *= scale.reshape((-1,) + (1,) * (g.ndim - 1)).astype(g.dtype)
            opt.step(params, grads)
            now = time.perf_counter() - start
            for row, pos in enumerate(active):
                hist = histories[pos]
                hist.loss.append(float(loss[row]))
                hist.omega.append(float("nan"))
                hist.grad_norm.append(float(norms[row]))
                hist.clipped.append(bool(clipped[row]))
                hist.time.append(now)
            if eval_every is not None and (step % eval_every == 0 or step == steps):
                xe, ye, me = _sample(task, T, eval_size, [rngs[p] for p in active])
                H = params["Wh"].shape[1]
                h, _ = rnn_forward_stack(xe, np.zeros((len(active), eval_size, H), xe.dtype),
                                         params["Wx"], params["Wh"], params["b"], activation)
                out = _readout_forward(h, params["Wy"], params["by"])
                done = np.zeros(len(active), dtype=bool)
                for row, pos in enumerate(active):
                    hist = histories[pos]
                    hist.eval_step.append(step)
                    hist.eval_error.append(task.error_rate(out[row], ye[row], me[row]))
                    hist.eval_success.append(bool(task.success(out[row], ye[row], me[row])))
                    done[row] = stop_on_success and hist.eval_success[-1]
                if done.any():
                    leave(~done)
                    if not active:
                        break
    for row, pos in enumerate(active):
        results[pos]["params"] = {k: v[row].copy() for k, v in params.items()}
    return results


def run_config_seeds(experiment, config, seeds, steps, T=None):
    """:func:`rnnlib.experiments.run_config` for several seeds as one stack
    (:func:`train_seeds`); a vanilla-RNN configuration without Omega or value clipping.

    Returns a list of dicts, one per seed, with the keys of ``run_config``'s result:
    ``solved_at``, ``diverged``, ``error``, ``loss``, ``seconds`` (the wall time of the
    whole stack divided by the number of seeds) and ``history``.
    """
    from .experiments import stackable
    if not stackable(experiment, config):      # the one rule, also read by the grid
        raise ValueError("run_config_seeds runs vanilla-RNN configurations without Omega, "
                         "value clipping or gate biases, on an experiment with the default "
                         "success rule (rnnlib.experiments.stackable); use run_config for "
                         "this one")
    from .tasks import get_task
    task = get_task(experiment.task)
    T = experiment.T if T is None else check_int("T", T, low=task.min_length)
    steps = check_int("steps", steps)
    start = time.perf_counter()
    runs = train_seeds(task, seeds, steps, T=T, hidden_size=experiment.hidden_size,
                       activation=config.activation, init=config.init,
                       optimizer=config.optimizer, lr=config.lr, momentum=config.momentum,
                       batch_size=experiment.batch_size, clip_norm=config.clip_norm,
                       eval_every=min(experiment.eval_every, steps), stop_on_success=True)
    seconds = (time.perf_counter() - start) / len(runs)
    return [{"solved_at": r["history"].solved_at, "diverged": r["diverged"],
             "error": r["history"].eval_error[-1] if r["history"].eval_error else float("nan"),
             "loss": r["history"].loss[-1] if r["history"].loss else float("nan"),
             "seconds": seconds, "history": r["history"]} for r in runs]
