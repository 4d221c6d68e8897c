r"""The registry of recurrent cells: each cell declared once.

A :class:`Cell` entry states everything the rest of rnnlib needs to know about a cell:
its step and sequence functions, the names and shapes of its parameters, its
initializer, the layout of its gate blocks, its state, its options, and the PyTorch
module it maps to. :mod:`rnnlib.models`, :mod:`rnnlib.layers`, :mod:`rnnlib.interop`,
:mod:`rnnlib.analysis` and the parametrized tests read the entries of :data:`CELLS` by
name and never list the cells again.

Every entry also offers the cell in one uniform, state-explicit form, so that generic
code (layers that carry state, BPTT step by step, the training loop) needs no case
analysis:

- ``cell.run(x, state, params, **options) -> (h, final_state, cache)`` over a sequence,
  and ``cell.run_backward(dh, cache, dfinal=None) -> (dx, dstate0, grads)``;
- ``cell.step(x_t, state, params, **options) -> (state, cache)`` for one step, and
  ``cell.step_backward(dstate, cache) -> (dx_t, dprev_state, grads)``.

Here ``state`` is a tuple of arrays named by ``cell.state`` (``("h",)``, or ``("h",
"c")`` for the LSTM), each of shape (N, H); ``params`` and ``grads`` are dicts keyed by
``cell.params``. A gradient on the final state (``dfinal``) is what flows back when the
state is carried on, for instance from an encoder into a decoder.

Adding a cell takes its module (the classic step/forward/backward functions), one
:class:`Cell` entry in :data:`CELLS`, and its tests (the registry-driven tests of
``tests/test_cells.py`` then check its gradients, its state handling, its layer and,
if it names a torch module, its parity with torch).
"""
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import init as _init
from ._validation import check_choice, check_float_dtype, check_int
from .gru import gru_backward, gru_forward, gru_step_backward, gru_step_forward
from .lstm import lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward
from .rnn import rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward


@dataclass(frozen=True)
class Cell:
    """One recurrent cell, declared once (see the module docstring).

    Attributes
    ----------
    name : str
        The registry key (``"rnn"``, ``"lstm"``, ``"gru"``).
    description : str
    gates : tuple of str
        The gate blocks in the order of the columns of ``Wx`` and ``Wh`` (one block of
        H columns each); ``("h",)`` for the vanilla RNN's single block.
    state : tuple of str
        The names of the state arrays, each (N, H).
    params : tuple of str
        Parameter names, in the order the classic functions take them.
    shapes : callable
        ``shapes(D, H) -> dict`` of parameter shapes.
    init : callable
        ``init(D, H, rng, dtype=..., **kwargs) -> params``, from :mod:`rnnlib.init`.
    options : dict
        Keyword options of the cell with their allowed values and the default first,
        e.g. ``{"activation": ("tanh", "relu")}``.
    forward, backward, step_forward, step_backward : callable
        The classic functions of the cell's module.
    run, run_backward, step, step_back : callable
        The uniform forms (see the module docstring).
    torch_module : str
        The ``torch.nn`` class it maps to (``"RNN"``, ``"LSTM"``, ``"GRU"``).
    torch_gate_order : tuple of int
        rnnlib gate block k is torch's block ``torch_gate_order[k]``.
    torch_options : callable
        ``torch_options(**options) -> dict`` of keyword arguments of the torch module.
    torch_recurrent_biases : dict
        Parameters that hold a block of torch's ``bias_hh`` on their own, because it
        does not simply add to ``bias_ih`` (the GRU's ``bhn``, inside the reset
        product): name -> block index. Every other block of the two biases is summed
        into ``b``.
    """

    name: str
    description: str
    gates: tuple
    state: tuple
    params: tuple
    shapes: Callable
    init: Callable
    forward: Callable
    backward: Callable
    step_forward: Callable
    step_backward: Callable
    run: Callable
    run_backward: Callable
    step: Callable
    step_back: Callable
    torch_module: str
    torch_gate_order: tuple
    options: dict = field(default_factory=dict)
    torch_options: Callable = lambda **options: {}
    torch_recurrent_biases: dict = field(default_factory=dict)

    @property
    def n_gates(self):
        """G, the number of gate blocks of H columns in ``Wx`` and ``Wh``."""
        return len(self.gates)

    def check_options(self, options):
        """Return the options with defaults filled in; unknown names or values raise."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            known = sorted(self.options) or "none"
            raise ValueError(f"the {self.name} cell has no option {unknown[0]!r}; its options "
                             f"are {known}")
        out = {}
        for key, allowed in self.options.items():
            out[key] = check_choice(key, options.get(key, allowed[0]), allowed)
        return out

    def zero_state(self, N, H, dtype):
        """The zero state: a tuple of ``len(state)`` arrays (N, H)."""
        N, H = check_int("N", N), check_int("H", H)
        dtype = check_float_dtype("dtype", dtype)
        return tuple(np.zeros((N, H), dtype=dtype) for _ in self.state)

    def param_args(self, params):
        """The parameters in the order of the classic functions; missing names raise."""
        missing = [k for k in self.params if k not in params]
        if missing:
            raise ValueError(f"params of a {self.name} cell lack {missing}; it needs "
                             f"{list(self.params)}")
        return [params[k] for k in self.params]

    def __repr__(self):
        return f"<Cell {self.name!r}: {self.description}>"


def _check_state(cell, state, count):
    if not isinstance(state, (tuple, list)) or len(state) != count:
        names = ", ".join(cell.state)
        raise ValueError(f"state of a {cell.name} cell must be a tuple ({names}); got "
                         f"{type(state).__name__}"
                         + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else ""))
    return tuple(state)


def _grads(cell, arrays):
    return dict(zip(cell.params, arrays))


# --- the vanilla RNN -----------------------------------------------------------------

def _rnn_run(x, state, params, activation="tanh"):
    (h0,) = _check_state(CELLS["rnn"], state, 1)
    h, cache = rnn_forward(x, h0, *CELLS["rnn"].param_args(params), activation=activation)
    return h, (h[:, -1].copy(),), cache


def _rnn_run_backward(dh, cache, dfinal=None):
    if dfinal is not None:
        (dhT,) = _check_state(CELLS["rnn"], dfinal, 1)
        dh = dh.copy()
        dh[:, -1] += dhT
    dx, dh0, *grads = rnn_backward(dh, cache)
    return dx, (dh0,), _grads(CELLS["rnn"], grads)


def _rnn_step(x, state, params, activation="tanh"):
    (h,) = _check_state(CELLS["rnn"], state, 1)
    h, cache = rnn_step_forward(x, h, *CELLS["rnn"].param_args(params), activation=activation)
    return (h,), cache


def _rnn_step_back(dstate, cache):
    (dh,) = _check_state(CELLS["rnn"], dstate, 1)
    dx, dprev, *grads = rnn_step_backward(dh, cache)
    return dx, (dprev,), _grads(CELLS["rnn"], grads)


# --- the LSTM ------------------------------------------------------------------------

def _lstm_run(x, state, params):
    h0, c0 = _check_state(CELLS["lstm"], state, 2)
    h, cT, cache = lstm_forward(x, h0, *CELLS["lstm"].param_args(params), c0=c0,
                                return_cell=True)
    return h, (h[:, -1].copy(), cT), cache


def _lstm_run_backward(dh, cache, dfinal=None):
    dcT = None
    if dfinal is not None:
        dhT, dcT = _check_state(CELLS["lstm"], dfinal, 2)
        dh = dh.copy()
        dh[:, -1] += dhT
    dx, dh0, dc0, *grads = lstm_backward(dh, cache, dc_T=dcT, return_dc0=True)
    return dx, (dh0, dc0), _grads(CELLS["lstm"], grads)


def _lstm_step(x, state, params):
    h, c = _check_state(CELLS["lstm"], state, 2)
    h, c, cache = lstm_step_forward(x, h, c, *CELLS["lstm"].param_args(params))
    return (h, c), cache


def _lstm_step_back(dstate, cache):
    dh, dc = _check_state(CELLS["lstm"], dstate, 2)
    dx, dprev_h, dprev_c, *grads = lstm_step_backward(dh, dc, cache)
    return dx, (dprev_h, dprev_c), _grads(CELLS["lstm"], grads)


# --- the GRU -------------------------------------------------------------------------

def _gru_run(x, state, params):
    (h0,) = _check_state(CELLS["gru"], state, 1)
    h, cache = gru_forward(x, h0, *CELLS["gru"].param_args(params))
    return h, (h[:, -1].copy(),), cache


def _gru_run_backward(dh, cache, dfinal=None):
    if dfinal is not None:
        (dhT,) = _check_state(CELLS["gru"], dfinal, 1)
        dh = dh.copy()
        dh[:, -1] += dhT
    dx, dh0, *grads = gru_backward(dh, cache)
    return dx, (dh0,), _grads(CELLS["gru"], grads)


def _gru_step(x, state, params):
    (h,) = _check_state(CELLS["gru"], state, 1)
    h, cache = gru_step_forward(x, h, *CELLS["gru"].param_args(params))
    return (h,), cache


def _gru_step_back(dstate, cache):
    (dh,) = _check_state(CELLS["gru"], dstate, 1)
    dx, dprev, *grads = gru_step_backward(dh, cache)
    return dx, (dprev,), _grads(CELLS["gru"], grads)


#: The registry: every cell of rnnlib, by name.
CELLS = {
    "rnn": Cell(
        name="rnn", description="vanilla (Elman) RNN, tanh or ReLU units",
        gates=("h",), state=("h",), params=("Wx", "Wh", "b"),
        shapes=lambda D, H: {"Wx": (D, H), "Wh": (H, H), "b": (H,)},
        init=_init.rnn_params, options={"activation": ("tanh", "relu")},
        forward=rnn_forward, backward=rnn_backward,
        step_forward=rnn_step_forward, step_backward=rnn_step_backward,
        run=_rnn_run, run_backward=_rnn_run_backward, step=_rnn_step, step_back=_rnn_step_back,
        torch_module="RNN", torch_gate_order=(0,),
        torch_options=lambda activation="tanh": {"nonlinearity": activation}),
    "lstm": Cell(
        name="lstm", description="long short-term memory with a forget gate",
        gates=("i", "f", "o", "g"), state=("h", "c"), params=("Wx", "Wh", "b"),
        shapes=lambda D, H: {"Wx": (D, 4 * H), "Wh": (H, 4 * H), "b": (4 * H,)},
        init=_init.lstm_params,
        forward=lstm_forward, backward=lstm_backward,
        step_forward=lstm_step_forward, step_backward=lstm_step_backward,
        run=_lstm_run, run_backward=_lstm_run_backward, step=_lstm_step,
        step_back=_lstm_step_back,
        torch_module="LSTM", torch_gate_order=(0, 1, 3, 2)),      # torch: i, f, g, o
    "gru": Cell(
        name="gru", description="gated recurrent unit (PyTorch's variant)",
        gates=("r", "z", "n"), state=("h",), params=("Wx", "Wh", "b", "bhn"),
        shapes=lambda D, H: {"Wx": (D, 3 * H), "Wh": (H, 3 * H), "b": (3 * H,), "bhn": (H,)},
        init=_init.gru_params,
        forward=gru_forward, backward=gru_backward,
        step_forward=gru_step_forward, step_backward=gru_step_backward,
        run=_gru_run, run_backward=_gru_run_backward, step=_gru_step, step_back=_gru_step_back,
        torch_module="GRU", torch_gate_order=(0, 1, 2), torch_recurrent_biases={"bhn": 2}),
}


def get_cell(name, argument="cell"):
    """The :class:`Cell` registered as ``name``; an unknown name raises a ValueError that
    lists the registry and names the caller's ``argument``."""
    check_choice(argument, name, CELLS)
    return CELLS[name]
