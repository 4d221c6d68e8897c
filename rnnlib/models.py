r"""Ready-made sequence models: a recurrent encoder with a linear readout and a loss.

A *model* for :func:`rnnlib.train.train` is a dict of parameters plus a function

``loss_and_grads(params, inputs, targets, mask) -> (loss, grads, outputs)``

with ``grads`` a dict with the keys of ``params`` and ``outputs`` of shape (N, T, K).
:class:`SequenceModel` provides one for the vanilla RNN (tanh or ReLU), the LSTM and the
GRU, composed only of the core functions:

.. math::

    h = \mathrm{cell}(u_{1..T}), \qquad y_t = h_t W_{hy} + b_y, \qquad
    L = \text{MSE}(y, \text{targets}; \text{mask}) \ \text{or}\
        \text{softmax cross-entropy}(y, \text{targets}; \text{mask}).

The mask decides where the loss sits: at the last step for the many-to-one problems of
:mod:`rnnlib.tasks`, at every step or at some steps for many-to-many ones. The readout is
computed at every step (it is cheap), so one model serves both.
"""
from typing import NamedTuple

import numpy as np

from . import init as _init
from ._validation import (ArgumentTypeError, check_array, check_choice, check_generator,
                          check_indices, check_int, check_number, check_shape)
from .affine import temporal_affine_backward, temporal_affine_forward
from .analysis import backward_steps, forward_steps
from .cells import CELLS, get_cell
from .losses import mean_squared_error, temporal_softmax_loss
from .regularizers import omega

LOSSES = ("mse", "softmax")


def data_loss(loss, outputs, targets, mask):
    """The loss of the readout ``outputs`` (N, T, K) and its gradient: the mean squared
    error (``loss="mse"``) or the softmax cross-entropy (``"softmax"``)."""
    check_choice("loss", loss, LOSSES)
    check_array("outputs", outputs, ndim=3)
    N, T, K = outputs.shape
    if 0 in outputs.shape:
        raise ValueError(f"outputs must hold at least one sequence, step and output; got "
                         f"shape {outputs.shape}")
    if loss == "mse":
        check_array("targets", targets, shape=(N, T, K), dtype=outputs.dtype)
        return mean_squared_error(outputs, targets, mask)
    check_indices("targets", targets, K, ndim=2)
    check_shape("targets", targets, (N, T))
    return temporal_softmax_loss(outputs, targets, mask)


class ForwardPass(NamedTuple):
    """What :func:`forward_pass` returns."""

    #: ndarray, shape (N, T, H): the hidden states.
    h: np.ndarray
    #: the cell's cache (a named tuple of :mod:`rnnlib.rnn`, :mod:`rnnlib.lstm` or
    #: :mod:`rnnlib.gru`).
    cache: tuple
    #: ndarray, shape (N, T, K): the readout at every step.
    outputs: np.ndarray
    #: the readout's cache, for :func:`rnnlib.affine.temporal_affine_backward`.
    readout_cache: tuple


def forward_pass(cell, params, inputs, **options):
    r"""The encoder and readout of a sequence model: :math:`h = \mathrm{cell}(u)` from a
    zero state, :math:`y_t = h_t W_{hy} + b_y`.

    Parameters
    ----------
    cell : str
        A name of :data:`rnnlib.cells.CELLS`.
    params : dict of ndarray
        The cell's parameters and ``Wy`` (H, K), ``by`` (K,).
    inputs : ndarray, shape (N, T, D)
    **options
        The cell's options (e.g. ``activation``).

    Returns
    -------
    ForwardPass
    """
    c = get_cell(cell)
    options = c.check_options(options)
    if not isinstance(params, dict):
        raise ArgumentTypeError(f"params must be a dict of arrays; got {type(params).__name__}")
    Wx, Wh = c.param_args(params)[:2]
    for k in ("Wy", "by"):
        if k not in params:
            raise ValueError(f"params of a sequence model lack {k!r}")
    check_array("inputs", inputs, ndim=3, shape=(None, None, Wx.shape[0]), dtype=Wx.dtype)
    if 0 in inputs.shape[:2]:
        raise ValueError(f"inputs must hold at least one sequence and one step; got shape "
                         f"{inputs.shape}")
    H = Wh.shape[0]
    state0 = c.zero_state(inputs.shape[0], H, inputs.dtype)
    h, _, cache = c.run(inputs, state0, params, **options)
    out, out_cache = temporal_affine_forward(h, params["Wy"], params["by"])
    return ForwardPass(h, cache, out, out_cache)


class LossAndGrads(NamedTuple):
    """What :meth:`SequenceModel.loss_and_grads` returns; unpacks like a 4-tuple."""

    #: float, the data loss (without the Omega penalty).
    loss: float
    #: dict of ndarray, gradients with the keys of the parameters (Omega's included).
    grads: dict
    #: ndarray, shape (N, T, K): readout at every step (values or class scores).
    outputs: np.ndarray
    #: float, the value of Omega, or NaN when it was not computed.
    omega: float


class SequenceModel:
    r"""A recurrent encoder (RNN, LSTM or GRU) with a linear readout at every step.

    Parameters
    ----------
    cell : str
        A cell of the registry :data:`rnnlib.cells.CELLS` ("rnn", "lstm", "gru", ...).
    input_size, hidden_size, output_size : int
        D, H and K.
    loss : {"mse", "softmax"}
        :func:`rnnlib.losses.mean_squared_error` on float targets (N, T, K), or
        :func:`rnnlib.losses.temporal_softmax_loss` on int targets (N, T). For a
        :class:`rnnlib.tasks.Task` use ``loss="mse"`` if ``task.kind == "regression"``,
        else ``"softmax"`` (:meth:`for_task` does it).
    rng : numpy.random.Generator
        Draws the initial weights.
    activation : {"tanh", "relu"}
        Nonlinearity of the vanilla RNN (ignored by the gated cells).
    init : dict, optional
        Keyword arguments for :func:`rnnlib.init.rnn_params` (e.g.
        ``{"scheme": "orthogonal"}``), :func:`~rnnlib.init.lstm_params` (e.g.
        ``{"forget_bias": 1.0}``) or :func:`~rnnlib.init.gru_params`.
    dtype : numpy dtype

    Attributes
    ----------
    params : dict of ndarray
        The cell's parameters (``Wx``, ``Wh``, ``b``, plus ``bhn`` for the GRU) and the
        readout's ``Wy`` (H, K), Glorot uniform, and ``by`` (K,), zeros.
    """

    def __init__(self, cell, input_size, hidden_size, output_size, loss, rng,
                 activation="tanh", init=None, dtype=np.float64):
        spec = get_cell(cell)
        check_choice("loss", loss, LOSSES)
        check_choice("activation", activation, ("tanh", "relu"))
        check_generator("rng", rng)
        self.cell, self.loss, self.activation = cell, loss, activation
        self.options = spec.check_options({"activation": activation} if spec.options else {})
        self.input_size = check_int("input_size", input_size)
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.output_size = check_int("output_size", output_size)
        if init is not None and not isinstance(init, dict):
            raise ValueError(f"init must be a dict of keyword arguments; got {type(init).__name__}")
        params = spec.init(input_size, hidden_size, rng, dtype=dtype, **(init or {}))
        params["Wy"] = _init.glorot((hidden_size, output_size), rng, dtype=dtype)
        params["by"] = np.zeros(output_size, dtype=dtype)
        self.params = params

    @classmethod
    def for_task(cls, task, hidden_size, rng, cell="rnn", **kwargs):
        """A model sized for a :class:`rnnlib.tasks.Task`, with the matching loss."""
        loss = "mse" if task.kind == "regression" else "softmax"
        return cls(cell, task.input_size, hidden_size, task.output_size, loss, rng, **kwargs)

    def __repr__(self):
        return (f"SequenceModel(cell={self.cell!r}, input_size={self.input_size}, "
                f"hidden_size={self.hidden_size}, output_size={self.output_size}, "
                f"loss={self.loss!r}, activation={self.activation!r})")

    def forward(self, params, inputs):
        """The encoder and readout on ``inputs`` (N, T, D): a :class:`ForwardPass`."""
        return forward_pass(self.cell, params, inputs, **self.options)

    def predict(self, inputs, params=None):
        """Readout at every step, shape (N, T, K), for inputs (N, T, D)
        (with ``params``, default :attr:`params`)."""
        params = self.params if params is None else params
        return self.forward(params, inputs).outputs

    def loss_and_grads(self, params, inputs, targets, mask, omega_weight=0.0):
        r"""Loss, gradients and outputs of one batch.

        Parameters
        ----------
        params : dict of ndarray
            Usually :attr:`params`.
        inputs : ndarray, shape (N, T, D)
        targets : ndarray, float (N, T, K) for ``loss="mse"``, int (N, T) for "softmax"
        mask : ndarray of bool, shape (N, T)
            The steps that carry a target.
        omega_weight : float
            Weight :math:`\alpha` of the regularizer :math:`\Omega` of
            :cite:`pascanu2013` (:func:`rnnlib.regularizers.omega`); vanilla RNN only.
            Its gradient :math:`\alpha\,\partial\Omega/\partial W_{hh}` is added to
            ``grads["Wh"]``; ``loss`` stays the data loss.

        Returns
        -------
        LossAndGrads
            ``(loss, grads, outputs, omega)``.
        """
        omega_weight = check_number("omega_weight", omega_weight, low=0)
        use_omega = omega_weight > 0
        cell = CELLS[self.cell]
        if use_omega and self.cell != "rnn":
            raise ValueError(f"omega_weight needs the vanilla RNN (cell='rnn'); this model "
                             f"is an {self.cell}")
        if use_omega:       # step-wise BPTT keeps the errors dL/dh_t that Omega needs
            check_array("inputs", inputs, ndim=3, shape=(None, None, self.input_size))
            state0 = cell.zero_state(inputs.shape[0], self.hidden_size, inputs.dtype)
            h, caches = forward_steps(self.cell, inputs, state0, params, **self.options)
            out, out_cache = temporal_affine_forward(h, params["Wy"], params["by"])
        else:
            h, cache, out, out_cache = self.forward(params, inputs)
        loss, dout = data_loss(self.loss, out, targets, mask)
        dh, dWy, dby = temporal_affine_backward(dout, out_cache)
        omega_value = float("nan")
        if use_omega:
            steps = backward_steps(self.cell, dh, caches)
            grads = steps.grads
            omega_value, dOmega = omega(h, steps.dh_total, params["Wh"], self.activation)
            grads["Wh"] = grads["Wh"] + omega_weight * dOmega
        else:
            grads = cell.run_backward(dh, cache)[2]
        grads.update(Wy=dWy, by=dby)
        return LossAndGrads(loss, grads, out, omega_value)
