r"""A small training loop that records what the chapters plot.

:func:`train` runs any optimizer of :mod:`rnnlib.optim` on a model (see
:mod:`rnnlib.models`) over a :class:`rnnlib.tasks.Task` (a fresh batch every step) or
fixed arrays, with optional clipping by the global norm or by value and the
:math:`\Omega` regularizer of :cite:`pascanu2013`. Each step it records the loss, the
gradient norm before clipping and whether clipping fired; at evaluation steps the error
rate and success on a fresh test batch. It stops with :class:`NonFiniteError`, naming
the step, when the loss or a gradient becomes NaN or infinite.

A progress bar is shown when the session is interactive (a terminal, or a Jupyter
kernel with ipywidgets) and never when the environment variable ``RNNLIB_PROGRESS=0``
(set by the book build and the notebook tests) or ``progress=False``.
"""
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .optim import clip_grad_norm, clip_grad_value, global_norm
from .tasks import Task


class NonFiniteError(FloatingPointError, ValueError):
    """The loss, a gradient or a parameter became NaN or infinite during training.

    Attributes
    ----------
    step : int
        The step at which it happened.
    history : History
        What was recorded up to that step.
    """

    def __init__(self, message, step, history):
        super().__init__(message)
        self.step, self.history = step, history


@dataclass
class History:
    """Per-step records of a training run (lists, one entry per step unless noted).

    Attributes
    ----------
    loss : list of float
        Data loss of the training batch.
    grad_norm : list of float
        Global gradient norm before clipping.
    clipped : list of bool
        Whether clipping changed the gradient.
    omega : list of float
        Value of Omega (NaN when not computed).
    time : list of float
        Seconds since the start of training, at the end of each step.
    eval_step, eval_error, eval_success : lists, one entry per evaluation
        The step (counting from 1), the error rate on the test batch
        (:meth:`rnnlib.tasks.Task.error_rate`) and whether it met the task's criterion.
    """

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    omega: list = field(default_factory=list)
    time: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_error: list = field(default_factory=list)
    eval_success: list = field(default_factory=list)

    @property
    def steps(self):
        """Number of steps run."""
        return len(self.loss)

    @property
    def solved_at(self):
        """First evaluation step that met the success criterion, or None."""
        return next((s for s, ok in zip(self.eval_step, self.eval_success) if ok), None)

    def arrays(self):
        """The records as a dict of NumPy arrays (for plotting or ``np.savez``)."""
        return {k: np.asarray(v) for k, v in self.__dict__.items()}


def progress_enabled(progress=None):
    """Whether to show a progress bar: ``progress`` if given, else off when
    ``RNNLIB_PROGRESS=0``, on when ``RNNLIB_PROGRESS=1``, else on only in a Jupyter kernel
    or when stderr is a terminal."""
    if progress is not None:
        return bool(progress)
    env = os.environ.get("RNNLIB_PROGRESS")
    if env is not None:
        return env.strip() not in ("0", "", "false", "False")
    return _in_jupyter() or sys.stderr.isatty()


def _in_jupyter():
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """A minimal progress bar: an ipywidgets bar in Jupyter, a ``\\r`` line on stderr
    elsewhere, nothing when disabled (see :func:`progress_enabled`)."""

    def __init__(self, total, description="", enabled=None):
        self.total, self.description = total, description
        self.enabled = progress_enabled(enabled)
        self._widget = None
        self._last = 0.0
        if self.enabled and _in_jupyter():
            try:
                import ipywidgets
                from IPython.display import display
            except ImportError:
                return
            self._widget = ipywidgets.IntProgress(min=0, max=total, description=description)
            display(self._widget)

    def update(self, done, info=""):
        """Show ``done`` of ``total`` (redrawn at most 10 times a second)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last < 0.1:
            return
        self._last = now
        if self._widget is not None:
            self._widget.value = done
            self._widget.description = f"{self.description} {info}".strip()[:40]
            return
        width = 30
        filled = int(width * done / max(self.total, 1))
        sys.stderr.write(f"\r{self.description} [{'#' * filled}{'.' * (width - filled)}] "
                         f"{done}/{self.total} {info}")
        sys.stderr.flush()

    def close(self):
        """Finish the bar (a newline on stderr, the widget is closed)."""
        if not self.enabled:
            return
        if self._widget is not None:
            self._widget.close()
        else:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _loss_function(model):
    if hasattr(model, "loss_and_grads"):
        return model.loss_and_grads, getattr(model, "predict", None)
    if callable(model):
        return model, None
    raise ValueError("model must have a loss_and_grads method or be a function "
                     f"loss_and_grads(params, inputs, targets, mask); got {type(model).__name__}")


def _batches(data, T, batch_size, rng):
    """A function returning the next training batch (inputs, targets, mask)."""
    if isinstance(data, Task):
        if T is None:
            raise ValueError("training on a Task needs the sequence length T")
        return lambda: data.sample(T, batch_size, rng)
    if not (isinstance(data, tuple) and len(data) == 3):
        raise ValueError("data must be a Task or a tuple (inputs, targets, mask); "
                         f"got {type(data).__name__}")
    inputs, targets, mask = data
    N = len(inputs)
    if batch_size is None or batch_size >= N:
        return lambda: data
    return lambda: tuple(a[idx] for idx in [rng.choice(N, batch_size, replace=False)]
                         for a in (inputs, targets, mask))


def _check_finite(name, step, value, history):
    if not np.isfinite(value):
        raise NonFiniteError(f"{name} became {value} at step {step}", step, history)


def train(model, params, optimizer, data, steps, *, T=None, batch_size=20, clip_norm=None,
          clip_value=None, omega_weight=0.0, eval_every=None, eval_size=500,
          stop_on_success=False, rng=None, progress=None):
    r"""Train ``params`` in place and return the :class:`History`.

    Parameters
    ----------
    model : object with ``loss_and_grads`` (e.g. :class:`rnnlib.models.SequenceModel`) or
        a function ``loss_and_grads(params, inputs, targets, mask) -> (loss, grads,
        outputs)``.
    params : dict of ndarray or None
        Updated in place; ``None`` means ``model.params``.
    optimizer : e.g. :class:`rnnlib.optim.SGD` or :class:`rnnlib.optim.Adam`
    data : :class:`rnnlib.tasks.Task` or tuple (inputs, targets, mask)
        A task is sampled afresh each step (length ``T``, ``batch_size`` sequences, from
        ``rng``); arrays are used whole, or in random minibatches of ``batch_size``.
    steps : int
        Maximum number of updates.
    T : int
        Sequence length, for a task.
    batch_size : int or None
    clip_norm : float, optional
        Rescale the gradient when its global norm exceeds this (:cite:`pascanu2013`).
    clip_value : float, optional
        Clip each gradient entry to [-clip_value, clip_value] (a contrast: it changes
        the direction). At most one of ``clip_norm`` and ``clip_value``.
    omega_weight : float
        Weight of Omega (vanilla-RNN :class:`~rnnlib.models.SequenceModel` only).
    eval_every : int, optional
        For a task: every ``eval_every`` steps, and after the last one, compute the error
        rate on ``eval_size`` fresh sequences and the task's success criterion.
    eval_size : int
    stop_on_success : bool
        Stop at the first successful evaluation.
    rng : numpy.random.Generator
        Draws the batches (required for a task or minibatches).
    progress : bool, optional
        Force the progress bar on or off (default: see :func:`progress_enabled`).

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        (a ``FloatingPointError`` and a ``ValueError``) when the loss, the gradient norm
        or a parameter becomes NaN or infinite, e.g. "loss became nan at step 37"
        (steps count from 1); ``.history`` holds the records so far.
    """
    loss_fn, predict = _loss_function(model)
    params = model.params if params is None else params
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give at most one of clip_norm and clip_value")
    if omega_weight < 0:
        raise ValueError(f"omega_weight must be non-negative; got {omega_weight}")
    if omega_weight > 0 and not hasattr(model, "loss_and_grads"):
        raise ValueError("omega_weight needs a SequenceModel with cell='rnn', "
                         "not a plain loss function")
    needs_rng = isinstance(data, Task) or (batch_size is not None and isinstance(data, tuple)
                                           and batch_size < len(data[0]))
    if needs_rng and not isinstance(rng, np.random.Generator):
        raise ValueError("rng must be a numpy.random.Generator to draw the batches")
    if eval_every is not None and not isinstance(data, Task):
        raise ValueError("eval_every needs data to be a Task (its success criterion)")
    if stop_on_success and eval_every is None:
        raise ValueError("stop_on_success needs eval_every")
    next_batch = _batches(data, T, batch_size, rng)
    kwargs = {"omega_weight": omega_weight} if omega_weight > 0 else {}

    history = History()
    bar = ProgressBar(steps, "train", progress)
    start = time.perf_counter()
    try:
        for step in range(1, steps + 1):
            inputs, targets, mask = next_batch()
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    result = loss_fn(params, inputs, targets, mask, **kwargs)
                except ValueError as err:   # the losses reject non-finite outputs
                    if "finite" not in str(err):
                        raise
                    raise NonFiniteError(f"the network's outputs became non-finite at step "
                                         f"{step} ({err})", step, history) from err
                loss, grads = result[0], result[1]
                history.omega.append(float(result[3]) if len(result) > 3 else float("nan"))
                history.loss.append(float(loss))
                _check_finite("loss", step, loss, history)
                if clip_norm is not None:
                    norm = clip_grad_norm(grads, clip_norm)
                    clipped = norm > clip_norm
                elif clip_value is not None:
                    clipped = any(np.any(np.abs(g) > clip_value) for g in grads.values())
                    norm = clip_grad_value(grads, clip_value)
                else:
                    norm, clipped = global_norm(grads), False
            history.grad_norm.append(norm)
            history.clipped.append(bool(clipped))
            _check_finite("the gradient norm", step, norm, history)
            optimizer.step(params, grads)
            for k, p in params.items():
                if not np.all(np.isfinite(p)):
                    raise NonFiniteError(f"parameter {k} became non-finite after the update "
                                         f"at step {step}", step, history)
            history.time.append(time.perf_counter() - start)
            if eval_every is not None and (step % eval_every == 0 or step == steps):
                x, y, m = data.sample(T, eval_size, rng)
                out = predict(x, params) if predict is not None else loss_fn(params, x, y, m)[2]
                history.eval_step.append(step)
                history.eval_error.append(data.error_rate(out, y, m))
                history.eval_success.append(bool(data.success(out, y, m)))
                if stop_on_success and history.eval_success[-1]:
                    break
            bar.update(step, f"loss {float(loss):.4g}")
    finally:
        bar.close()
    return history
