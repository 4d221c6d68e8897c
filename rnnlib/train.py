r"""The training loop: one loop for everything rnnlib trains.

:func:`train` runs any optimizer of :mod:`rnnlib.optim` on one of three kinds of model,
under one contract:

- an object with ``loss_and_grads(params, inputs, targets, mask) -> (loss, grads,
  outputs[, omega])``, such as :class:`rnnlib.models.SequenceModel` (``params=None``
  means ``model.params``);
- a layer model of :mod:`rnnlib.layers` (a :class:`~rnnlib.layers.Sequential` or a single
  layer) together with ``loss=``: ``"mse"``, ``"softmax"`` or a function
  ``loss(outputs, targets, mask) -> (value, doutputs)``; its own ``params`` are trained;
- a plain function ``loss_and_grads(params, inputs, targets, mask)`` with the return
  value above.

The data is a :class:`rnnlib.tasks.Task` (a fresh batch every step), a tuple
``(inputs, targets, mask)`` (used whole, or in random minibatches), or a function
``batch(step) -> (inputs, targets, mask)`` (e.g. consecutive windows of a text, for
truncated BPTT with a stateful layer). Options: clipping by the global norm or by value,
the :math:`\Omega` regularizer of :cite:`pascanu2013`, a learning-rate schedule,
evaluations (a task's error rate and success criterion, or any function of the
parameters), and continuing a :class:`History` (resuming a run from a checkpoint).

Each step records the loss, the gradient norm before clipping and whether clipping
fired. When the loss, a gradient or an update becomes NaN or infinite the loop stops
with :class:`NonFiniteError` naming the step, and the parameters are those before that
step: nothing non-finite is ever written into them (the optimizers update all or
nothing).

A progress bar is shown when the session is interactive (a terminal, or a Jupyter
kernel with ipywidgets) and never when the environment variable ``RNNLIB_PROGRESS=0``
(set by the book build and the notebook tests) or ``progress=False``.
"""
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import (ArgumentTypeError, NonFiniteError, check_array, check_bool,
                          check_generator, check_int, check_number, check_optional_number)
from .optim import clip_grad_norm, clip_grad_value, global_norm
from .tasks import Task

__all__ = ["train", "History", "NonFiniteError", "layer_objective", "ProgressBar",
           "progress_enabled"]


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
        (:meth:`rnnlib.tasks.Task.error_rate`) and whether it met the task's criterion
        (NaN and False for evaluations by a function).
    metrics : dict of lists
        What an ``evaluate`` function returned at each evaluation, by name.
    lr : list of float
        The learning rate of every step (when a schedule sets it).
    """

    loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    clipped: list = field(default_factory=list)
    omega: list = field(default_factory=list)
    time: list = field(default_factory=list)
    eval_step: list = field(default_factory=list)
    eval_error: list = field(default_factory=list)
    eval_success: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    lr: list = field(default_factory=list)

    @property
    def steps(self):
        """Number of steps run."""
        return len(self.loss)

    @property
    def solved_at(self):
        """First evaluation step that met the success criterion, or None."""
        return next((s for s, ok in zip(self.eval_step, self.eval_success) if ok), None)

    def arrays(self):
        """The records as a dict of NumPy arrays (for plotting or ``np.savez``);
        metrics appear as ``"metrics.<name>"``."""
        out = {k: np.asarray(v) for k, v in self.__dict__.items() if k != "metrics"}
        out.update({f"metrics.{k}": np.asarray(v) for k, v in self.metrics.items()})
        return out

    @classmethod
    def from_arrays(cls, arrays):
        """Rebuild a History from :meth:`arrays` (e.g. read back from a checkpoint)."""
        known = {f for f in cls.__dataclass_fields__ if f != "metrics"}
        history = cls(metrics={k[8:]: list(np.asarray(v).tolist()) for k, v in arrays.items()
                               if k.startswith("metrics.")})
        for k, v in arrays.items():
            if k in known:
                getattr(history, k).extend(np.asarray(v).tolist())
        lengths = {len(history.loss), len(history.grad_norm), len(history.clipped),
                   len(history.time)}
        if len(lengths) != 1:
            raise ValueError("the stored history is inconsistent: its per-step records have "
                             f"lengths {sorted(lengths)}")
        return history


def progress_enabled(progress=None):
    """Whether to show a progress bar: ``progress`` if given, else off when
    ``RNNLIB_PROGRESS=0``, on when ``RNNLIB_PROGRESS=1``, else on only in a Jupyter kernel
    or when stderr is a terminal."""
    if progress is not None:
        return check_bool("progress", progress)
    env = os.environ.get("RNNLIB_PROGRESS")
    if env is not None:
        return env.strip() not in ("0", "", "false", "False")
    return _in_jupyter() or sys.stderr.isatty()


def _in_jupyter():  # a kernel of Jupyter, where a widget bar can be shown
    shell = sys.modules.get("IPython")
    ip = shell.get_ipython() if shell is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


class ProgressBar:
    """A progress bar of ``tqdm`` (``tqdm.auto``: a widget in Jupyter, a line on stderr
    elsewhere) when enabled (see :func:`progress_enabled`) and tqdm is installed;
    nothing otherwise. ``update(done, info)`` shows ``done`` of ``total`` steps, the
    time left and ``info``."""

    def __init__(self, total, description="", enabled=None):
        self.total, self.description = check_int("total", total, low=0), str(description)
        self.enabled = progress_enabled(enabled)
        self._bar = None
        if self.enabled:
            try:
                from tqdm.auto import tqdm
            except ImportError:         # tqdm is optional: rnnlib needs only NumPy
                self.enabled = False
                return
            self._bar = tqdm(total=total, desc=description, leave=True)

    def update(self, done, info=""):
        """Show ``done`` of ``total`` (tqdm redraws at most 10 times a second)."""
        done = check_int("done", done, low=0, high=self.total)
        if self._bar is None:
            return
        self._bar.set_postfix_str(info, refresh=False)
        self._bar.update(done - self._bar.n)

    def close(self):
        """Finish the bar."""
        if self._bar is not None:
            self._bar.close()


def layer_objective(layer, loss):
    """A ``loss_and_grads(params, inputs, targets, mask)`` function for a layer model.

    Parameters
    ----------
    layer : rnnlib.layers.Layer
        E.g. a :class:`~rnnlib.layers.Sequential`; ``params`` must be its own
        ``layer.params`` (the function runs ``layer.forward`` and ``layer.backward``).
    loss : {"mse", "softmax"} or callable
        :func:`rnnlib.losses.mean_squared_error` or
        :func:`rnnlib.losses.temporal_softmax_loss` on the outputs (N, T, K), or a
        function ``loss(outputs, targets, mask) -> (value, doutputs)``. When the layer
        returns one vector per sequence (N, K), the targets of the last step the mask
        marks (or of the last step, without a mask) are used. A mask that marks a
        prefix of every row, shorter than T in some row, is taken as padding too: the
        layer model reads only the valid steps (see :mod:`rnnlib.layers`).

    Returns
    -------
    callable
    """
    from .layers import Layer
    from .models import data_loss
    if not isinstance(layer, Layer):
        raise ValueError(f"layer must be a layer of rnnlib.layers; got {type(layer).__name__}")
    if not callable(loss):
        from .models import LOSSES
        from ._validation import check_choice
        check_choice("loss", loss, LOSSES)

    def loss_and_grads(params, inputs, targets, mask):
        _check_layer_inputs(layer, inputs)
        if layer.built and params is not None and set(params) != set(layer.params):
            raise ValueError("a layer model trains its own parameters: pass params=None or "
                             "layer.params")
        out = layer.forward(inputs, mask if _is_padding(mask, inputs) else None)
        out3, targets3, mask3 = out, targets, mask
        if out.ndim == 2:                              # one vector per sequence
            last = (np.full(len(out), -1) if mask is None or np.ndim(mask) != 2
                    else np.asarray(mask).shape[1] - 1 - np.argmax(np.asarray(mask)[:, ::-1], axis=1))
            out3 = out[:, None]
            if np.ndim(targets) == out.ndim + (0 if loss == "softmax" else 1):
                targets3 = np.asarray(targets)[np.arange(len(out)), last][:, None]
            else:
                targets3 = np.asarray(targets)[:, None]
            mask3 = np.ones(out3.shape[:2], dtype=bool)
        elif mask3 is None:
            mask3 = np.ones(out.shape[:2], dtype=bool)
        value, dout3 = loss(out3, targets3, mask3) if callable(loss) else \
            data_loss(loss, out3, targets3, mask3)
        layer.backward(dout3.reshape(out.shape))
        return value, {k: g.copy() for k, g in layer.grads.items()}, out

    return loss_and_grads


def _check_layer_inputs(layer, inputs):
    """``inputs`` of a layer model, checked under that name: float sequences of the
    model's dtype (finite) or, for a model that starts with an Embedding, integer ids."""
    check_array("inputs", inputs, floating=False, finite=False)
    if inputs.dtype.kind == "f" or inputs.dtype.kind == "c":
        check_array("inputs", inputs, dtype=layer.dtype)
    elif inputs.dtype.kind not in "iu" or inputs.ndim != 2:
        raise ArgumentTypeError(f"inputs must be float32 or float64 sequences (N, T, D), or "
                                f"integer ids (N, T) for a model that starts with an "
                                f"Embedding; got {inputs.dtype} of shape {inputs.shape}")
    if inputs.ndim not in layer.input_ndims:
        want = " or ".join(str(n) for n in layer.input_ndims)
        raise ValueError(f"inputs must have {want} dimensions; got shape {inputs.shape}")
    if 0 in inputs.shape[:2]:
        raise ValueError(f"inputs must hold at least one sequence and one step; got shape "
                         f"{inputs.shape}")
    D = layer.input_shape[-1] if layer.built else None
    if D is not None and inputs.ndim == 3 and inputs.shape[-1] != D:
        raise ValueError(f"inputs must have {D} features (the model's); got shape "
                         f"{inputs.shape}")


def _is_padding(mask, inputs):
    """Whether a loss mask (N, T) also marks the valid steps of padded sequences: a
    prefix of every row (as :func:`rnnlib.layers.mask_lengths` takes it) with at least
    one row shorter than T. A task's last-step mask is not one."""
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or np.ndim(inputs) < 2 \
            or mask.shape != np.shape(inputs)[:2] or mask.dtype != bool:
        return False
    lengths = mask.sum(axis=1)
    prefix = np.arange(mask.shape[1]) < lengths[:, None]
    return bool(lengths.min() >= 1 and lengths.min() < mask.shape[1]
                and np.array_equal(mask, prefix))


def _objective(model, params, loss):
    """(loss_and_grads, predict or None, params) for the three kinds of model."""
    from .layers import Layer
    if isinstance(model, Layer):
        if loss is None:
            raise ValueError("training a layer model needs loss= ('mse', 'softmax' or a "
                             "function loss(outputs, targets, mask))")
        fn = layer_objective(model, loss)
        if not model.built:
            return fn, None, None            # built by the first forward pass
        if params is not None and params.keys() != model.params.keys():
            raise ValueError("a layer model trains its own parameters: pass params=None")
        return fn, (lambda x, p: model.forward(x)), model.params
    if loss is not None:
        raise ValueError("loss= is for layer models; this model brings its own loss")
    if hasattr(model, "loss_and_grads"):
        return model.loss_and_grads, getattr(model, "predict", None), \
            (model.params if params is None else params)
    if callable(model):
        if params is None:
            raise ValueError("training a function needs the params it differentiates")
        return model, None, params
    raise ValueError("model must be a layer model, have a loss_and_grads method or be a "
                     f"function loss_and_grads(params, inputs, targets, mask); got "
                     f"{type(model).__name__}")


def _batches(data, T, batch_size, rng):
    """A function of the step returning the training batch (inputs, targets, mask)."""
    if isinstance(data, Task):
        if T is None:
            raise ValueError("training on a Task needs the sequence length T")
        check_int("T", T)
        return lambda step: data.sample(T, batch_size, rng)
    if callable(data):
        return data
    if not (isinstance(data, tuple) and len(data) == 3):
        raise ValueError("data must be a Task, a tuple (inputs, targets, mask) or a function "
                         f"batch(step); got {type(data).__name__}")
    inputs, targets, mask = data
    N = len(inputs)
    if N == 0:
        raise ValueError("data holds no sequences")
    if batch_size is None or batch_size >= N:
        return lambda step: data
    return lambda step: tuple(None if a is None else a[idx]
                              for idx in [rng.choice(N, batch_size, replace=False)]
                              for a in (inputs, targets, mask))


def _check_finite(name, step, value, history):
    if not np.isfinite(value):
        raise NonFiniteError(f"{name} became {value} at step {step}; the parameters are "
                             "those before this step", step, history)


def train(model, params, optimizer, data, steps, *, T=None, batch_size=20, clip_norm=None,
          clip_value=None, omega_weight=0.0, eval_every=None, eval_size=500,
          stop_on_success=False, rng=None, progress=None, loss=None, lr_schedule=None,
          evaluate=None, history=None):
    r"""Train ``params`` in place and return the :class:`History`.

    Parameters
    ----------
    model : a layer model, an object with ``loss_and_grads``, or a function
        See the module docstring.
    params : dict of ndarray or None
        Updated in place; ``None`` means the model's own (required for a function).
    optimizer : e.g. :class:`rnnlib.optim.SGD` or :class:`rnnlib.optim.Adam`
    data : :class:`rnnlib.tasks.Task`, tuple (inputs, targets, mask), or function
        A task is sampled afresh each step (length ``T``, ``batch_size`` sequences, from
        ``rng``); arrays are used whole, or in random minibatches of ``batch_size``; a
        function is called with the step number (from 1) and returns the batch.
    steps : int
        The step to train up to: ``steps`` updates, or with ``history`` the updates
        after the ``history.steps`` already done.
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
        Every ``eval_every`` steps, and after the last one, evaluate: for a task, the
        error rate on ``eval_size`` fresh sequences and the task's success criterion;
        with ``evaluate``, that function.
    eval_size : int
    stop_on_success : bool
        Stop at the first successful evaluation (a task only).
    rng : numpy.random.Generator
        Draws the batches (required for a task or minibatches).
    progress : bool, optional
        Force the progress bar on or off (default: see :func:`progress_enabled`).
    loss : {"mse", "softmax"} or callable, optional
        The loss of a layer model (see :func:`layer_objective`); only for layer models.
    lr_schedule : callable, optional
        ``lr_schedule(step) -> float``: the optimizer's learning rate at each step.
    evaluate : callable, optional
        ``evaluate(params) -> dict`` of numbers, recorded in ``history.metrics`` at
        each evaluation (e.g. a validation loss).
    history : History, optional
        A run to continue (e.g. read back from a checkpoint); it is extended in place.

    Returns
    -------
    History

    Raises
    ------
    NonFiniteError
        (a ``FloatingPointError`` and a ``ValueError``) when the loss, the gradient norm
        or an update becomes NaN or infinite, e.g. "loss became nan at step 37"
        (steps count from 1); ``.step`` names the step, ``.history`` holds the records
        so far, and the parameters are those before that step.
    """
    loss_fn, predict, params = _objective(model, params, loss)
    steps = check_int("steps", steps)
    clip_norm = check_optional_number("clip_norm", clip_norm, low=0, low_open=True)
    clip_value = check_optional_number("clip_value", clip_value, low=0, low_open=True)
    if clip_norm is not None and clip_value is not None:
        raise ValueError("give at most one of clip_norm and clip_value")
    omega_weight = check_number("omega_weight", omega_weight, low=0)
    stop_on_success = check_bool("stop_on_success", stop_on_success)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size)
    eval_size = check_int("eval_size", eval_size)
    if omega_weight > 0 and not hasattr(model, "loss_and_grads"):
        raise ValueError("omega_weight needs a SequenceModel with cell='rnn', "
                         "not a plain loss function or a layer model")
    needs_rng = isinstance(data, Task) or (batch_size is not None and isinstance(data, tuple)
                                           and len(data) == 3 and batch_size < len(data[0]))
    if needs_rng:
        check_generator("rng", rng)
    if eval_every is not None:
        eval_every = check_int("eval_every", eval_every)
        if not isinstance(data, Task) and evaluate is None:
            raise ValueError("eval_every needs data to be a Task (its success criterion) "
                             "or an evaluate function")
    if evaluate is not None and not callable(evaluate):
        raise ValueError(f"evaluate must be a function of the parameters; got {evaluate!r}")
    if evaluate is not None and eval_every is None:
        raise ValueError("evaluate needs eval_every")
    if lr_schedule is not None and not callable(lr_schedule):
        raise ValueError(f"lr_schedule must be a function of the step; got {lr_schedule!r}")
    if stop_on_success and (eval_every is None or not isinstance(data, Task)):
        raise ValueError("stop_on_success needs eval_every and a Task")
    if history is None:
        history = History()
    elif not isinstance(history, History):
        raise ValueError(f"history must be a History to continue; got {type(history).__name__}")
    first = history.steps + 1
    if first > steps:
        raise ValueError(f"history already holds {history.steps} steps; steps={steps} "
                         "leaves nothing to train")
    next_batch = _batches(data, T, batch_size, rng)
    kwargs = {"omega_weight": omega_weight} if omega_weight > 0 else {}

    bar = ProgressBar(steps - first + 1, "train", progress)
    start = time.perf_counter() - (history.time[-1] if history.time else 0.0)
    try:
        for step in range(first, steps + 1):
            inputs, targets, mask = next_batch(step)
            if lr_schedule is not None:
                optimizer.lr = lr_schedule(step)
                history.lr.append(float(optimizer.lr))
            with np.errstate(over="ignore", invalid="ignore"):
                try:
                    result = loss_fn(params, inputs, targets, mask, **kwargs)
                except NonFiniteError as err:   # the losses refuse non-finite outputs
                    raise NonFiniteError(f"the network's outputs became non-finite at step "
                                         f"{step}; the parameters are those before this step "
                                         f"({err})", step, history) from err
                value, grads = result[0], result[1]
                if params is None:               # a layer model built by its first pass
                    params = model.params
                _check_finite("loss", step, value, history)
                if clip_norm is not None:
                    norm = clip_grad_norm(grads, clip_norm)
                    clipped = norm > clip_norm
                elif clip_value is not None:
                    clipped = any(np.any(np.abs(g) > clip_value) for g in grads.values())
                    norm = clip_grad_value(grads, clip_value)
                else:
                    norm, clipped = global_norm(grads), False
            _check_finite("the gradient norm", step, norm, history)
            try:
                optimizer.step(params, grads)
            except NonFiniteError as err:
                raise NonFiniteError(f"the update at step {step} would make the parameters "
                                     f"non-finite; they are those before this step ({err})",
                                     step, history) from err
            history.loss.append(float(value))
            history.omega.append(float(result[3]) if len(result) > 3 else float("nan"))
            history.grad_norm.append(norm)
            history.clipped.append(bool(clipped))
            history.time.append(time.perf_counter() - start)
            if eval_every is not None and (step % eval_every == 0 or step == steps):
                history.eval_step.append(step)
                if evaluate is not None:
                    for k, v in evaluate(params).items():
                        history.metrics.setdefault(k, []).append(float(v))
                if isinstance(data, Task):
                    x, y, m = data.sample(T, eval_size, rng)
                    out = predict(x, params) if predict is not None else loss_fn(params, x, y, m)[2]
                    history.eval_error.append(data.error_rate(out, y, m))
                    history.eval_success.append(bool(data.success(out, y, m)))
                else:
                    history.eval_error.append(float("nan"))
                    history.eval_success.append(False)
                if stop_on_success and history.eval_success[-1]:
                    break
            bar.update(step - first + 1, f"loss {float(value):.4g}")
    finally:
        bar.close()
    return history
