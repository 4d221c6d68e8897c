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
from ._validation import check_array, check_choice
from .affine import temporal_affine_backward, temporal_affine_forward
from .analysis import rnn_backward_steps, rnn_forward_steps
from .gru import gru_backward, gru_forward
from .losses import mean_squared_error, temporal_softmax_loss
from .lstm import lstm_backward, lstm_forward
from .regularizers import omega
from .rnn import rnn_backward, rnn_forward

CELLS = ("rnn", "lstm", "gru")
LOSSES = ("mse", "softmax")


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
    cell : {"rnn", "lstm", "gru"}
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
        check_choice("cell", cell, CELLS)
        check_choice("loss", loss, LOSSES)
        check_choice("activation", activation, ("tanh", "relu"))
        self.cell, self.loss, self.activation = cell, loss, activation
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        make = {"rnn": _init.rnn_params, "lstm": _init.lstm_params, "gru": _init.gru_params}[cell]
        params = make(input_size, hidden_size, rng, dtype=dtype, **(init or {}))
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

    def _cell_args(self, params):
        names = ("Wx", "Wh", "b", "bhn") if self.cell == "gru" else ("Wx", "Wh", "b")
        missing = [k for k in names + ("Wy", "by") if k not in params]
        if missing:
            raise ValueError(f"params of a {self.cell} SequenceModel lack {missing}")
        return [params[k] for k in names]

    def _encode(self, params, inputs):
        check_array("inputs", inputs, ndim=3)
        h0 = np.zeros((inputs.shape[0], self.hidden_size), dtype=inputs.dtype)
        args = self._cell_args(params)
        if self.cell == "rnn":
            return rnn_forward(inputs, h0, *args, activation=self.activation)
        if self.cell == "lstm":
            return lstm_forward(inputs, h0, *args)
        return gru_forward(inputs, h0, *args)

    def predict(self, inputs, params=None):
        """Readout at every step, shape (N, T, K), for inputs (N, T, D)
        (with ``params``, default :attr:`params`)."""
        params = self.params if params is None else params
        h, _ = self._encode(params, inputs)
        return temporal_affine_forward(h, params["Wy"], params["by"])[0]

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
        if omega_weight < 0:
            raise ValueError(f"omega_weight must be non-negative; got {omega_weight}")
        use_omega = omega_weight > 0
        if use_omega and self.cell != "rnn":
            raise ValueError(f"omega_weight needs the vanilla RNN (cell='rnn'); this model "
                             f"is an {self.cell}")
        args = self._cell_args(params)
        if use_omega:       # step-wise BPTT keeps the errors dL/dh_t that Omega needs
            check_array("inputs", inputs, ndim=3)
            h0 = np.zeros((inputs.shape[0], self.hidden_size), dtype=inputs.dtype)
            h, cache = rnn_forward_steps(inputs, h0, *args, activation=self.activation)
        else:
            h, cache = self._encode(params, inputs)
        out, out_cache = temporal_affine_forward(h, params["Wy"], params["by"])
        if self.loss == "mse":
            loss, dout = mean_squared_error(out, targets, mask)
        else:
            loss, dout = temporal_softmax_loss(out, targets, mask)
        dh, dWy, dby = temporal_affine_backward(dout, out_cache)
        grads = {"Wy": dWy, "by": dby}
        omega_value = float("nan")
        if use_omega:
            _, _, dWx, dWh, db, dh_total = rnn_backward_steps(dh, cache)
            omega_value, dOmega = omega(h, dh_total, params["Wh"], self.activation)
            dWh = dWh + omega_weight * dOmega
            grads.update(Wx=dWx, Wh=dWh, b=db)
        elif self.cell == "rnn":
            grads.update(zip(("Wx", "Wh", "b"), rnn_backward(dh, cache)[2:]))
        elif self.cell == "lstm":
            grads.update(zip(("Wx", "Wh", "b"), lstm_backward(dh, cache)[2:]))
        else:
            grads.update(zip(("Wx", "Wh", "b", "bhn"), gru_backward(dh, cache)[2:]))
        return LossAndGrads(loss, grads, out, omega_value)
