"""The bad-input suite: every public name of rnnlib refuses bad input with a named error.

The public API is enumerated from the package itself (``rnnlib.__all__`` and, for each
module of ``rnnlib._SUBMODULES``, every public function, class and method defined
there). ``TABLE`` maps each public name to an :class:`Entry`: a factory of valid
arguments and a description of each argument (array with labelled axes, integer,
number, choice, generator, bool, callable, index array, mask). The bad-input classes are
generated from that description, not listed by hand:

- arrays: NaN, inf, an integer dtype, float16, complex, ``np.matrix`` (2-D), a list,
  one more dimension, one more entry along each axis that another argument constrains,
  an empty batch (axis N = 0) and an empty sequence (axis T = 0);
- index arrays: floats, negative and too large indices, a list, the wrong ndim;
- masks: floats, integers other than 0 and 1, a list, the wrong ndim;
- numbers: NaN, inf, bool, str, and values below or above the valid range;
- integers: a float, bool, str, NaN, and values below or above the valid range;
- choices: an unknown string; generators: an int seed and a legacy RandomState;
  bools: a string and an int; callables: an int.

Each bad case must raise a ``ValueError`` (``ArgumentTypeError`` and ``NonFiniteError``
are ``ValueError``) whose message names the argument, and no other exception. An entry
lists under ``accepted`` the classes that are legitimately accepted, with the reason;
those are checked to return a result. ``test_every_public_name_has_bad_input_cases``
fails when a public name has no entry, so a new public name must bring its cases.
"""
import importlib
import inspect
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlib

pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix

N, T, D, H, M, V = 2, 3, 4, 5, 6, 7      # distinct sizes, so a mismatch is detectable
F = np.float64


def _rng(seed=0):
    return np.random.default_rng(seed)


def _randn(*shape, seed=0, scale=0.3):
    return (scale * _rng(seed).standard_normal(shape)).astype(F)


# --------------------------------------------------------------------------------------
# Argument descriptions, entries and the generated bad cases
# --------------------------------------------------------------------------------------

@dataclass
class Entry:
    """How to call one public name validly, and what each argument is.

    call : ``call(**kwargs)`` runs the public name (a method gets its instance as the
        argument ``_self`` from ``args``).
    args : a factory of fresh valid keyword arguments.
    arrays : name -> axis labels, one letter per axis (``"NTD"``); an upper-case label
        shared with another argument (or listed in ``constrained``) is checked with one
        more entry along it; a lower-case one is free; ``"*"`` means any shape.
    ints : name -> (low, high); numbers : name -> (low, high, low_open).
    choices, rngs, bools, callables : argument names.
    indices : name -> (axis labels, number of classes); masks : name -> axis labels.
    accepted : (argument, bad-input class) -> (reason, check(entry, kwargs, result)); the
        case must return a result that ``check`` accepts.
    constrained : axis labels that something other than the listed arguments fixes
        (a backward pass's cache), so one more entry along them must be refused.
    also : (argument, bad-input class) -> other argument names the error may name (the
        bad value is consistent alone and clashes with another argument).
    """

    call: Callable
    args: Callable
    arrays: dict = field(default_factory=dict)
    ints: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)
    choices: tuple = ()
    rngs: tuple = ()
    bools: tuple = ()
    callables: tuple = ()
    indices: dict = field(default_factory=dict)
    masks: dict = field(default_factory=dict)
    accepted: dict = field(default_factory=dict)
    constrained: str = ""
    also: dict = field(default_factory=dict)


def _method(name):
    return lambda _self, **kw: getattr(_self, name)(**kw)


def _grow(a, axis):
    """``a`` with one more entry along ``axis`` (a copy of the first slice)."""
    return np.concatenate([a, np.take(a, [0], axis=axis)], axis=axis)


def _empty(a, axis):
    return np.take(a, np.arange(0), axis=axis)


def _with(a, value):
    b = a.copy()
    b.flat[0] = value
    return b


def _with_last(a, value):
    """The last entry replaced: the masked (counted) step of a many-to-one target."""
    b = a.copy()
    b.flat[-1] = value
    return b


def _labelled(entry):
    return {**entry.arrays, **{k: v[0] for k, v in entry.indices.items()}, **entry.masks}


def _holders(entry, label):
    """The arguments with an axis labelled ``label`` (either case)."""
    return [n for n, lab in _labelled(entry).items() if lab != "*" and label in lab.upper()]


def bad_cases(entry):
    """Yield (argument, class, mutate) for one entry: ``mutate(kwargs)`` makes the bad
    call's arguments from valid ones; the error must name ``argument`` (one of a tuple)."""
    for name, labels in entry.arrays.items():
        yield name, "nan", lambda kw, n=name: {**kw, n: _with(kw[n], np.nan)}
        yield name, "inf", lambda kw, n=name: {**kw, n: _with(kw[n], np.inf)}
        yield name, "int64", lambda kw, n=name: {**kw, n: np.round(kw[n]).astype(np.int64)}
        yield name, "float16", lambda kw, n=name: {**kw, n: kw[n].astype(np.float16)}
        yield name, "complex", lambda kw, n=name: {**kw, n: kw[n].astype(np.complex128)}
        yield name, "list", lambda kw, n=name: {**kw, n: kw[n].tolist()}
        if labels == "*":
            continue
        if len(labels) == 2:
            yield name, "matrix", lambda kw, n=name: {**kw, n: np.asmatrix(kw[n])}
        yield name, "ndim+1", lambda kw, n=name: {**kw, n: kw[n][None]}
        for axis, label in enumerate(labels):
            holders = _holders(entry, label)
            if label.isupper() and (len(holders) > 1 or label in entry.constrained):
                yield (name,) + tuple(h for h in holders if h != name), f"size+1[{label}]", \
                    lambda kw, n=name, ax=axis: {**kw, n: _grow(kw[n], ax)}
    for label in "NT":
        holders = [(n, lab.upper().index(label)) for n, lab in _labelled(entry).items()
                   if lab != "*" and label in lab.upper()]
        if holders:
            def mutate(kw, holders=holders):
                return {**kw, **{n: _empty(kw[n], ax) for n, ax in holders}}
            yield tuple(n for n, _ in holders), f"{label}=0", mutate
    for name, (labels, size) in entry.indices.items():
        yield name, "float", lambda kw, n=name: {**kw, n: kw[n].astype(F)}
        yield name, "negative", lambda kw, n=name: {**kw, n: _with_last(kw[n], -1)}
        yield name, "too large", lambda kw, n=name, s=size: {**kw, n: _with_last(kw[n], s)}
        yield name, "list", lambda kw, n=name: {**kw, n: kw[n].tolist()}
        yield name, "ndim+1", lambda kw, n=name: {**kw, n: kw[n][None]}
    for name in entry.masks:
        yield name, "float", lambda kw, n=name: {**kw, n: kw[n].astype(F) * 0.5}
        yield name, "int 2", lambda kw, n=name: {**kw, n: kw[n].astype(np.int64) * 2}
        yield name, "list", lambda kw, n=name: {**kw, n: kw[n].tolist()}
        yield name, "ndim+1", lambda kw, n=name: {**kw, n: kw[n][None]}
    for name, (low, high, low_open) in entry.numbers.items():
        for cls, value in (("nan", np.nan), ("inf", np.inf), ("bool", True), ("str", "1")):
            yield name, cls, lambda kw, n=name, v=value: {**kw, n: v}
        if low is not None:
            value = low if low_open else low - 1.0
            yield name, f"{value:g} (out of range)", lambda kw, n=name, v=value: {**kw, n: v}
        if high is not None:
            yield name, f"{high + 1:g} (out of range)", \
                lambda kw, n=name, v=high + 1.0: {**kw, n: v}
    for name, (low, high) in entry.ints.items():
        for cls, value in (("float", 2.5), ("bool", True), ("str", "2"), ("nan", np.nan)):
            yield name, cls, lambda kw, n=name, v=value: {**kw, n: v}
        if low is not None:
            yield name, f"{low - 1} (out of range)", lambda kw, n=name, v=low - 1: {**kw, n: v}
        if high is not None:
            yield name, f"{high + 1} (out of range)", lambda kw, n=name, v=high + 1: {**kw, n: v}
    for name in entry.choices:
        yield name, "unknown", lambda kw, n=name: {**kw, n: "no-such-option"}
    for name in entry.rngs:
        yield name, "int seed", lambda kw, n=name: {**kw, n: 0}
        yield name, "RandomState", lambda kw, n=name: {**kw, n: np.random.RandomState(0)}
    for name in entry.bools:
        yield name, "str", lambda kw, n=name: {**kw, n: "yes"}
        yield name, "int", lambda kw, n=name: {**kw, n: 2}
    for name in entry.callables:
        yield name, "not callable", lambda kw, n=name: {**kw, n: 3}


def same_as_float64(name, reason):
    """An accepted case whose result must equal the call with ``name`` converted to a
    float64 array (a list, integers or float16 mean the same numbers)."""
    def check(e, kwargs, result):
        ref = _call(e, {**kwargs, name: np.asarray(kwargs[name], dtype=F)})
        np.testing.assert_allclose(result, ref, rtol=1e-12, err_msg=reason)
    return reason, check


def _names_argument(message, names):
    names = (names,) if isinstance(names, str) else names
    return any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(n)}(?![A-Za-z0-9_])", message)
               for n in names)


# --------------------------------------------------------------------------------------
# The table: valid arguments per public name
# --------------------------------------------------------------------------------------

TABLE = {}


def entry(key, **kw):
    TABLE[key] = Entry(**kw)


def _seq(G=1):
    return dict(x=_randn(N, T, D, seed=1), h0=_randn(N, H, seed=2),
                Wx=_randn(D, G * H, seed=3), Wh=_randn(H, G * H, seed=4),
                b=_randn(G * H, seed=5))


def _step(G=1):
    kw = _seq(G)
    kw["x"] = kw["x"][:, 0].copy()
    kw["prev_h"] = kw.pop("h0")
    return kw


def _params(kw):
    return {k: v for k, v in kw.items() if k in ("Wx", "Wh", "b")}


SEQ = dict(x="NTD", h0="NH", Wx="DH", Wh="HH", b="H")
STEP = dict(x="ND", prev_h="NH", Wx="DH", Wh="HH", b="H")
ACT = ("activation",)
_DT = ("dtype",)
BACK = "NTHMD"          # what a cache fixes


def _after(forward, kwargs, upstream):
    """Arguments of a backward pass: its cache from ``forward(**kwargs())`` and upstream
    gradients ``upstream(out) -> dict``."""
    return lambda: upstream(forward(**kwargs()))


# rnn, lstm, gru: step and sequence functions -------------------------------------------
entry("rnnlib.rnn_step_forward", call=rnnlib.rnn_step_forward, args=_step, arrays=STEP,
      choices=ACT)
entry("rnnlib.rnn_forward", call=rnnlib.rnn_forward, args=_seq, arrays=SEQ, choices=ACT)
entry("rnnlib.rnn_step_backward", call=rnnlib.rnn_step_backward,
      args=_after(rnnlib.rnn_step_forward, _step,
                  lambda out: dict(dnext_h=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dnext_h="NH"), constrained=BACK)
entry("rnnlib.rnn_backward", call=rnnlib.rnn_backward,
      args=_after(rnnlib.rnn_forward, _seq,
                  lambda out: dict(dh=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dh="NTH"), constrained=BACK)


def _lstm_step():
    kw = _step(4)
    kw["prev_c"] = _randn(N, H, seed=6)
    return kw


entry("rnnlib.lstm_step_forward", call=rnnlib.lstm_step_forward, args=_lstm_step,
      arrays=dict(x="ND", prev_h="NH", prev_c="NH", Wx="DG", Wh="HG", b="G"))
entry("rnnlib.lstm_forward", call=rnnlib.lstm_forward, args=lambda: _seq(4),
      arrays=dict(x="NTD", h0="NH", Wx="DG", Wh="HG", b="G"), bools=("return_cell",))
entry("rnnlib.lstm_step_backward", call=rnnlib.lstm_step_backward,
      args=_after(rnnlib.lstm_step_forward, _lstm_step,
                  lambda out: dict(dnext_h=np.ones_like(out[0]), dnext_c=np.ones_like(out[1]),
                                   cache=out[2])),
      arrays=dict(dnext_h="NH", dnext_c="NH"), constrained=BACK)
entry("rnnlib.lstm_backward", call=rnnlib.lstm_backward,
      args=_after(rnnlib.lstm_forward, lambda: _seq(4),
                  lambda out: dict(dh=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dh="NTH"), bools=("return_dc0",), constrained=BACK)


def _gru_seq():
    kw = _seq(3)
    kw["bhn"] = _randn(H, seed=7)
    return kw


def _gru_step():
    kw = _step(3)
    kw["bhn"] = _randn(H, seed=7)
    return kw


entry("rnnlib.gru_step_forward", call=rnnlib.gru_step_forward, args=_gru_step,
      arrays=dict(x="ND", prev_h="NH", Wx="DG", Wh="HG", b="G", bhn="H"))
entry("rnnlib.gru_forward", call=rnnlib.gru_forward, args=_gru_seq,
      arrays=dict(x="NTD", h0="NH", Wx="DG", Wh="HG", b="G", bhn="H"))
entry("rnnlib.gru_step_backward", call=rnnlib.gru_step_backward,
      args=_after(rnnlib.gru_step_forward, _gru_step,
                  lambda out: dict(dnext_h=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dnext_h="NH"), constrained=BACK)
entry("rnnlib.gru_backward", call=rnnlib.gru_backward,
      args=_after(rnnlib.gru_forward, _gru_seq,
                  lambda out: dict(dh=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dh="NTH"), constrained=BACK)


# readout, embedding, losses, activations, gradcheck -----------------------------------
def _affine():
    return dict(x=_randn(N, T, H, seed=1), w=_randn(H, M, seed=2), b=_randn(M, seed=3))


def _symbols(seed=1):
    return _rng(seed).integers(0, V, size=(N, T))


def _embed():
    return dict(x=_symbols(), W=_randn(V, D, seed=2))


entry("rnnlib.temporal_affine_forward", call=rnnlib.temporal_affine_forward, args=_affine,
      arrays=dict(x="NTH", w="HM", b="M"))
entry("rnnlib.temporal_affine_backward", call=rnnlib.temporal_affine_backward,
      args=_after(rnnlib.temporal_affine_forward, _affine,
                  lambda out: dict(dout=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dout="NTM"), constrained=BACK)
entry("rnnlib.word_embedding_forward", call=rnnlib.word_embedding_forward, args=_embed,
      arrays=dict(W="vd"), indices=dict(x=("NT", V)))
entry("rnnlib.word_embedding_backward", call=rnnlib.word_embedding_backward,
      args=_after(rnnlib.word_embedding_forward, _embed,
                  lambda out: dict(dout=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dout="NTD"), constrained=BACK)
entry("rnnlib.temporal_softmax_loss", call=rnnlib.temporal_softmax_loss,
      args=lambda: dict(x=_randn(N, T, V), y=_symbols(), mask=np.ones((N, T), bool)),
      arrays=dict(x="NTv"), indices=dict(y=("NT", V)), masks=dict(mask="NT"))
entry("rnnlib.mean_squared_error", call=rnnlib.mean_squared_error,
      args=lambda: dict(pred=_randn(N, T, 1), target=_randn(N, T, 1, seed=1),
                        mask=np.ones((N, T), bool)),
      arrays=dict(pred="*", target="NTK"), masks=dict(mask="NT"))
for _name in ("sigmoid", "tanh", "relu"):
    entry(f"rnnlib.{_name}", call=getattr(rnnlib, _name), args=lambda: dict(a=_randn(N, H)),
          arrays=dict(a="*"))
for _name in ("softmax", "log_softmax"):
    entry(f"rnnlib.{_name}", call=getattr(rnnlib, _name),
          args=lambda: dict(scores=_randn(N, T, V), axis=-1), arrays=dict(scores="*"),
          ints=dict(axis=(-3, 2)))
entry("rnnlib.numerical_gradient", call=rnnlib.numerical_gradient,
      args=lambda: dict(f=lambda z: float(np.sum(z ** 2)), x=_randn(3, 2), h=1e-5),
      arrays=dict(x="*"), numbers=dict(h=(0, None, True)), callables=("f",))
entry("rnnlib.numerical_gradient_array", call=rnnlib.numerical_gradient_array,
      args=lambda: dict(f=lambda z: 2 * z, x=_randn(3, 2), df=_randn(3, 2, seed=1), h=1e-5),
      arrays=dict(x="*", df="AB"), numbers=dict(h=(0, None, True)), callables=("f",),
      constrained="AB")
entry("rnnlib.rel_error", call=rnnlib.rel_error,
      args=lambda: dict(a=_randn(3, 2), b=_randn(3, 2, seed=1)), arrays=dict(a="AB", b="AB"),
      accepted={(n, "int64"): same_as_float64(n, "integer arrays are compared as floats")
                for n in ("a", "b")})

# optimizers and clipping ----------------------------------------------------------------


def _grads():
    return dict(grads={"w": _randn(3, 2), "b": _randn(2, seed=1)})


entry("rnnlib.SGD", call=rnnlib.SGD, args=lambda: dict(lr=0.1, momentum=0.5, nesterov=False),
      numbers=dict(lr=(0, None, True), momentum=(0, 1, False)), bools=("nesterov",))
entry("rnnlib.Adam", call=rnnlib.Adam,
      args=lambda: dict(lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8),
      numbers=dict(lr=(0, None, True), beta1=(0, 1, False), beta2=(0, 1, False),
                   eps=(0, None, True)))
entry("rnnlib.clip_grad_norm", call=rnnlib.clip_grad_norm,
      args=lambda: {**_grads(), "max_norm": 1.0}, numbers=dict(max_norm=(0, None, True)))
entry("rnnlib.clip_grad_value", call=rnnlib.clip_grad_value,
      args=lambda: {**_grads(), "clip_value": 0.1}, numbers=dict(clip_value=(0, None, True)))
entry("rnnlib.global_norm", call=rnnlib.global_norm, args=_grads)

# init ------------------------------------------------------------------------------------
from rnnlib import init  # noqa: E402

entry("rnnlib.init.gaussian", call=init.gaussian,
      args=lambda: dict(shape=(3, 4), std=0.1, rng=_rng()),
      numbers=dict(std=(0, None, True)), rngs=("rng",), choices=_DT)
entry("rnnlib.init.glorot", call=init.glorot,
      args=lambda: dict(shape=(3, 4), rng=_rng(), distribution="normal"),
      rngs=("rng",), choices=("distribution", "dtype"))
entry("rnnlib.init.orthogonal", call=init.orthogonal,
      args=lambda: dict(n=4, rng=_rng(), gain=1.0),
      ints=dict(n=(1, None)), numbers=dict(gain=(0, None, True)), rngs=("rng",), choices=_DT)
entry("rnnlib.init.identity", call=init.identity, args=lambda: dict(n=4, scale=0.5),
      ints=dict(n=(1, None)), numbers=dict(scale=(0, None, True)), choices=_DT)
entry("rnnlib.init.scale_to_spectral_radius", call=init.scale_to_spectral_radius,
      args=lambda: dict(W=_randn(4, 4), rho=0.9), arrays=dict(W="HH"),
      numbers=dict(rho=(0, None, True)))
entry("rnnlib.init.sparse", call=init.sparse,
      args=lambda: dict(n=5, k=2, rng=_rng(), spectral_radius=1.1, std=1.0),
      ints=dict(n=(1, None), k=(1, 5)),
      numbers=dict(spectral_radius=(0, None, True), std=(0, None, True)),
      rngs=("rng",), choices=_DT)
entry("rnnlib.init.rnn_params", call=init.rnn_params,
      args=lambda: dict(D=3, H=4, rng=_rng(), scheme="sparse", gain=1.0, std=0.1, k=2,
                        spectral_radius=0.9, input_std=0.01),
      ints=dict(D=(1, None), H=(1, None), k=(1, None)),
      numbers=dict(gain=(0, None, True), std=(0, None, True), spectral_radius=(0, None, True),
                   input_std=(0, None, True)),
      rngs=("rng",), choices=("scheme", "dtype"))
entry("rnnlib.init.lstm_params", call=init.lstm_params,
      args=lambda: dict(D=3, H=4, rng=_rng(), forget_bias=1.0, gain=1.0, input_std=0.01),
      ints=dict(D=(1, None), H=(1, None)),
      numbers=dict(forget_bias=(None, None, False), gain=(0, None, True),
                   input_std=(0, None, True)),
      rngs=("rng",), choices=("recurrent", "dtype"))
entry("rnnlib.init.gru_params", call=init.gru_params,
      args=lambda: dict(D=3, H=4, rng=_rng(), gain=1.0, input_std=0.01),
      ints=dict(D=(1, None), H=(1, None)),
      numbers=dict(gain=(0, None, True), input_std=(0, None, True)),
      rngs=("rng",), choices=("recurrent", "dtype"))

# regularizers, rtrl ----------------------------------------------------------------------
from rnnlib import regularizers, rtrl  # noqa: E402


def _omega():
    h, _ = rnnlib.rnn_forward(**_seq())
    return dict(h=h, dh_total=_randn(N, T, H, seed=9), Wh=_seq()["Wh"], activation="tanh")


entry("rnnlib.regularizers.omega", call=regularizers.omega, args=_omega,
      arrays=dict(h="NTH", dh_total="NTH", Wh="HH"), choices=ACT)
entry("rnnlib.rtrl.rtrl_gradients", call=rtrl.rtrl_gradients,
      args=lambda: {**_seq(), "dh": _randn(N, T, H, seed=9)},
      arrays={**SEQ, "dh": "NTH"}, choices=ACT)
entry("rnnlib.rtrl.rtrl_cost", call=rtrl.rtrl_cost, args=lambda: dict(D=3, H=4, T=10),
      ints=dict(D=(1, None), H=(1, None), T=(1, None)))

# signals -----------------------------------------------------------------------------------
from rnnlib import signals  # noqa: E402

entry("rnnlib.signals.mackey_glass", call=signals.mackey_glass,
      args=lambda: dict(n_samples=20, tau=17.0, beta=0.2, gamma=0.1, n=10, dt=0.1,
                        sample_every=1.0, x0=1.2, discard=10.0, rng=_rng()),
      ints=dict(n_samples=(1, None)),
      numbers=dict(tau=(0, None, True), beta=(0, None, False), gamma=(0, None, False),
                   n=(0, None, True), dt=(0, None, True), sample_every=(0, None, True),
                   x0=(0, None, True), discard=(0, None, False)),
      rngs=("rng",))
entry("rnnlib.signals.sine", call=signals.sine,
      args=lambda: dict(n_samples=20, period=7.0, amplitude=2.0, phase=0.3),
      ints=dict(n_samples=(1, None)),
      numbers=dict(period=(0, None, True), amplitude=(None, None, False),
                   phase=(None, None, False)))
_SINES = ("periods", "amplitudes", "phases")
entry("rnnlib.signals.sum_of_sines", call=signals.sum_of_sines,
      args=lambda: dict(n_samples=20, periods=np.array([7.0, 3.0]),
                        amplitudes=np.array([0.5, 0.5]), phases=np.array([0.0, 1.0])),
      ints=dict(n_samples=(1, None)), arrays=dict(periods="K", amplitudes="K", phases="K"),
      accepted={(n, cls): same_as_float64(n, "documented as a sequence of real numbers")
                for n in _SINES for cls in ("list", "int64", "float16")})

# tasks -------------------------------------------------------------------------------------
from rnnlib import tasks  # noqa: E402

for _name in ("adding", "multiplication", "temporal_order", "temporal_order_3bit",
              "permutation", "memorization", "selective_copy"):
    entry(f"rnnlib.tasks.{_name}", call=getattr(tasks, _name),
          args=lambda: dict(T=25, batch=3, rng=_rng()),
          ints=dict(T=(tasks.TASKS[_name].min_length, None), batch=(1, None)),
          rngs=("rng",), choices=_DT)


def _task_args(name):
    def make():
        task = tasks.get_task(name)
        x, y, mask = task.sample(12, N, _rng())
        pred = y.copy() if task.kind == "regression" else np.eye(task.output_size)[y] * 5.0
        return dict(_self=task, predictions=pred.astype(F), targets=y, mask=mask)
    return make


for _meth in ("errors", "error_rate", "success"):
    _numbers = dict(tolerance=(0, None, False))
    if _meth == "success":
        _numbers["threshold"] = (0, 1, True)
    entry(f"rnnlib.tasks.Task.{_meth}", call=_method(_meth),
          args=_task_args("temporal_order"), arrays=dict(predictions="NTK"),
          indices=dict(targets=("NT", 4)), masks=dict(mask="NT"), numbers=_numbers)
entry("rnnlib.tasks.Task.sample", call=_method("sample"),
      args=lambda: dict(_self=tasks.get_task("adding"), T=12, batch=2, rng=_rng()),
      ints=dict(T=(10, None), batch=(1, None)), rngs=("rng",), choices=_DT)
entry("rnnlib.tasks.Task", call=tasks.Task,
      args=lambda: dict(name="t", kind="regression", input_size=2, output_size=1,
                        min_length=10, sampler=tasks.adding, baseline_loss=0.1,
                        baseline_error=0.3, reference="x"),
      ints=dict(input_size=(1, None), output_size=(1, None), min_length=(1, None)),
      numbers=dict(baseline_loss=(0, None, False), baseline_error=(0, 1, False)),
      choices=("kind",), callables=("sampler",))
entry("rnnlib.tasks.get_task", call=tasks.get_task, args=lambda: dict(name="adding"),
      choices=("name",))

# plotting ----------------------------------------------------------------------------------
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rnnlib import plotting  # noqa: E402


def _ax():
    fig, ax = plt.subplots()
    plt.close(fig)
    return ax


entry("rnnlib.plotting.draw_unrolled", call=plotting.draw_unrolled,
      args=lambda: dict(ax=_ax(), T=3, inputs=[True, False, True], title="t"),
      ints=dict(T=(1, None)))
entry("rnnlib.plotting.plot_state_heatmap", call=plotting.plot_state_heatmap,
      args=lambda: dict(ax=_ax(), h=_randn(T, H), cmap="RdBu_r"),
      arrays=dict(h="th"), choices=("cmap",))
for _name in ("draw_lstm_cell", "draw_gru_cell"):
    entry(f"rnnlib.plotting.{_name}", call=getattr(plotting, _name),
          args=lambda: dict(ax=_ax(), title="t", highway=True), bools=("highway",))
entry("rnnlib.plotting.draw_bptt", call=plotting.draw_bptt,
      args=lambda: dict(ax=_ax(), T=4, truncate=2), ints=dict(T=(1, 12), truncate=(1, None)),
      bools=("legend",))
entry("rnnlib.plotting.draw_stacked", call=plotting.draw_stacked,
      args=lambda: dict(ax=_ax(), T=3, layers=2), ints=dict(T=(1, None), layers=(1, None)))
entry("rnnlib.plotting.draw_bidirectional", call=plotting.draw_bidirectional,
      args=lambda: dict(ax=_ax(), T=3), ints=dict(T=(1, None)))
entry("rnnlib.plotting.draw_encoder_decoder", call=plotting.draw_encoder_decoder,
      args=lambda: dict(ax=_ax(), source_len=3, target_len=2),
      ints=dict(source_len=(1, None), target_len=(1, None)))
entry("rnnlib.plotting.draw_esn", call=plotting.draw_esn,
      args=lambda: dict(ax=_ax(), rng=_rng(), n_inputs=1, n_reservoir=8, n_outputs=1,
                        density=0.2),
      ints=dict(n_inputs=(1, None), n_reservoir=(1, None), n_outputs=(1, None)),
      numbers=dict(density=(0, 1, True)), rngs=("rng",))

# modules owned by others: analysis, cells, gates, esn, layers, models, train, hf, interop,
# stats, linear_recurrence, charlm -----------------------------------------------------------
from rnnlib import analysis, cells, charlm, esn, gates, hf, interop, layers, models, stats  # noqa: E402,E501
from rnnlib import linear_recurrence as lrec  # noqa: E402
from rnnlib import train as trainmod  # noqa: E402

entry("rnnlib.analysis.spectral_radius", call=analysis.spectral_radius,
      args=lambda: dict(W=_randn(H, H)), arrays=dict(W="HH"))
entry("rnnlib.analysis.rnn_forward_steps", call=analysis.rnn_forward_steps, args=_seq,
      arrays=SEQ, choices=ACT)
entry("rnnlib.analysis.rnn_backward_steps", call=analysis.rnn_backward_steps,
      args=_after(analysis.rnn_forward_steps, _seq,
                  lambda out: dict(dh=np.ones_like(out[0]), caches=out[1])),
      arrays=dict(dh="NTH"), constrained=BACK)
entry("rnnlib.analysis.hidden_gradient_norms", call=analysis.hidden_gradient_norms,
      args=lambda: {**_seq(), "dout": _randn(N, H, seed=8)}, arrays={**SEQ, "dout": "NH"},
      choices=ACT)
entry("rnnlib.analysis.jacobian_products", call=analysis.jacobian_products,
      args=lambda: dict(h=np.tanh(_randn(T, H)), Wh=_randn(H, H, seed=1)),
      arrays=dict(h="TH", Wh="HH"), choices=ACT)
entry("rnnlib.analysis.jacobian_product_bound", call=analysis.jacobian_product_bound,
      args=lambda: dict(Wh=_randn(H, H), steps=3), arrays=dict(Wh="HH"),
      ints=dict(steps=(0, None)), choices=ACT)
entry("rnnlib.analysis.lstm_gradient_norms", call=analysis.lstm_gradient_norms,
      args=lambda: {**_seq(4), "dout": _randn(N, H, seed=8), "c0": _randn(N, H, seed=9)},
      arrays=dict(x="NTD", h0="NH", Wx="DG", Wh="HG", b="G", dout="NH", c0="NH"))
entry("rnnlib.analysis.gru_gradient_norms", call=analysis.gru_gradient_norms,
      args=lambda: {**_gru_seq(), "dout": _randn(N, H, seed=8)},
      arrays=dict(x="NTD", h0="NH", Wx="DG", Wh="HG", b="G", bhn="H", dout="NH"))
entry("rnnlib.analysis.get_cell", call=analysis.get_cell, args=lambda: dict(name="lstm"),
      choices=("name",), also={("name", "unknown"): ("cell",)})
entry("rnnlib.analysis.forward_steps", call=analysis.forward_steps,
      args=lambda: dict(cell="rnn", x=_seq()["x"], state0=(_seq()["h0"],),
                        params=_params(_seq())),
      arrays=dict(x="NTD"), choices=("cell",))
entry("rnnlib.analysis.backward_steps", call=analysis.backward_steps,
      args=lambda: (lambda out: dict(cell="rnn", dh=np.ones_like(out[0]), caches=out[1]))(
          analysis.forward_steps("rnn", _seq()["x"], (_seq()["h0"],), _params(_seq()))),
      arrays=dict(dh="NTH"), choices=("cell",), constrained=BACK)
entry("rnnlib.cells.get_cell", call=cells.get_cell, args=lambda: dict(name="gru"),
      choices=("name",), also={("name", "unknown"): ("cell",)})
entry("rnnlib.cells.Cell.zero_state", call=_method("zero_state"),
      args=lambda: dict(_self=cells.get_cell("lstm"), N=2, H=3, dtype=F),
      ints=dict(N=(1, None), H=(1, None)), choices=_DT)
entry("rnnlib.gates.exp_scale", call=gates.exp_scale,
      args=lambda: dict(n_sigmoid=2, n_tanh=1, dtype=F),
      ints=dict(n_sigmoid=(0, None), n_tanh=(0, None)), choices=_DT)
for _name in ("tanh_from_exponent", "sigmoid_from_exponent"):
    entry(f"rnnlib.gates.{_name}", call=getattr(gates, _name),
          args=lambda: dict(m=_randn(3, 4)), arrays=dict(m="*"))


def _res():
    return dict(u=_randn(T, D), W_uh=_randn(D, H, seed=1), W_hh=_randn(H, H, seed=2),
                b=_randn(H, seed=3), leak_rate=0.5, h0=_randn(H, seed=4))


entry("rnnlib.esn.reservoir_states", call=esn.reservoir_states, args=_res,
      arrays=dict(u="TD", W_uh="DH", W_hh="HH", b="H", h0="H"),
      numbers=dict(leak_rate=(0, 1, True)), also={("u", "ndim+1"): ("h0",)})
entry("rnnlib.esn.ridge_readout", call=esn.ridge_readout,
      args=lambda: dict(states=_randn(20, H), targets=_randn(20, 2, seed=1), ridge=1e-6),
      arrays=dict(states="TH", targets="TK"), numbers=dict(ridge=(0, None, False)))
entry("rnnlib.esn.init_reservoir", call=esn.init_reservoir,
      args=lambda: dict(n_inputs=2, n_units=8, spectral_radius=0.9, sparsity=0.5,
                        input_scaling=1.0, bias_scaling=0.1, rng=_rng()),
      ints=dict(n_inputs=(1, None), n_units=(1, None)),
      numbers=dict(spectral_radius=(0, None, True), sparsity=(0, 1, False),
                   input_scaling=(0, None, False), bias_scaling=(0, None, False)),
      rngs=("rng",))
entry("rnnlib.esn.spectral_radius_estimate", call=esn.spectral_radius_estimate,
      args=lambda: dict(W=_randn(H, H), n_iter=20, n_vectors=2, rng=_rng()),
      arrays=dict(W="HH"), ints=dict(n_iter=(1, None), n_vectors=(1, None)),
      choices=("method",), rngs=("rng",))
entry("rnnlib.esn.echo_state_property", call=esn.echo_state_property,
      args=lambda: {**{k: v for k, v in _res().items() if k != "h0"}, "n_states": 2,
                    "rng": _rng(), "tol": 1e-6},
      arrays=dict(u="TD", W_uh="DH", W_hh="HH", b="H"), ints=dict(n_states=(2, None)),
      numbers=dict(leak_rate=(0, 1, True), tol=(0, None, False)), rngs=("rng",),
      also={("u", "ndim+1"): ("h0",)})
_ESN = dict(n_inputs=D, n_units=8, n_outputs=2, spectral_radius=0.9, sparsity=0.5,
            input_scaling=1.0, bias_scaling=0.0, leak_rate=0.5, feedback_scaling=0.0,
            ridge=1e-6)
entry("rnnlib.esn.EchoStateNetwork", call=esn.EchoStateNetwork,
      args=lambda: dict(_ESN, rng=_rng()),
      ints=dict(n_inputs=(1, None), n_units=(1, None), n_outputs=(1, None)),
      numbers=dict(spectral_radius=(0, None, True), sparsity=(0, 1, False),
                   input_scaling=(0, None, False), bias_scaling=(0, None, False),
                   leak_rate=(0, 1, True), feedback_scaling=(0, None, False),
                   ridge=(0, None, False)),
      rngs=("rng",))


def _esn(fitted=True, n_inputs=D):
    net = esn.EchoStateNetwork(**{**_ESN, "n_inputs": n_inputs}, rng=_rng())
    if fitted:
        net.fit(_randn(40, n_inputs), _randn(40, 2, seed=1), washout=5)
    return net


entry("rnnlib.esn.EchoStateNetwork.fit", call=_method("fit"),
      args=lambda: dict(_self=_esn(False), u=_randn(40, D), y=_randn(40, 2, seed=1), washout=5),
      arrays=dict(u="TD", y="TK"), ints=dict(washout=(0, 39)))
entry("rnnlib.esn.EchoStateNetwork.predict", call=_method("predict"),
      args=lambda: dict(_self=_esn(), u=_randn(10, D), h0=_randn(8, seed=2)),
      arrays=dict(u="tD", h0="H"), bools=("return_state",), constrained="DH",
      also={("u", "ndim+1"): ("h0",)})
entry("rnnlib.esn.EchoStateNetwork.generate", call=_method("generate"),
      args=lambda: dict(_self=_esn(n_inputs=2), n_steps=5, h0=_randn(8, seed=2)),
      arrays=dict(h0="H"), ints=dict(n_steps=(1, None)), constrained="H",
      accepted={("h0", "ndim+1"): ("(N, H): a batch of one initial state", lambda e, kw, y:
                                    np.testing.assert_allclose(
                                        y[0], _call(e, {**kw, "h0": kw["h0"][0]})))})

# layers
entry("rnnlib.layers.Dense", call=layers.Dense, args=lambda: dict(units=3, seed=0),
      ints=dict(units=(1, None)), choices=_DT)
entry("rnnlib.layers.Embedding", call=layers.Embedding,
      args=lambda: dict(input_dim=V, output_dim=3, seed=0),
      ints=dict(input_dim=(1, None), output_dim=(1, None)), choices=_DT)
for _name in ("SimpleRNN", "LSTM", "GRU"):
    entry(f"rnnlib.layers.{_name}", call=getattr(layers, _name),
          args=lambda: dict(units=3, return_sequences=True, seed=0),
          ints=dict(units=(1, None)), bools=("return_sequences", "return_state", "stateful"),
          choices=_DT)
entry("rnnlib.layers.Dense.forward", call=_method("forward"),
      args=lambda: dict(_self=layers.Dense(3, seed=0), x=_randn(N, T, H)), arrays=dict(x="nth"))
entry("rnnlib.layers.mask_lengths", call=layers.mask_lengths,
      args=lambda: dict(mask=np.ones((N, T), bool), N=N, T=T), masks=dict(mask="NT"),
      ints=dict(N=(1, None), T=(1, None)))
entry("rnnlib.layers.reverse_sequences", call=layers.reverse_sequences,
      args=lambda: dict(x=_randn(N, T, D), lengths=np.array([3, 2])), arrays=dict(x="NTD"),
      indices=dict(lengths=("N", T + 1)))

# models


def _model():
    return models.SequenceModel("rnn", D, H, 2, "mse", _rng())


entry("rnnlib.models.SequenceModel", call=models.SequenceModel,
      args=lambda: dict(cell="rnn", input_size=D, hidden_size=H, output_size=2, loss="mse",
                        rng=_rng()),
      ints=dict(input_size=(1, None), hidden_size=(1, None), output_size=(1, None)),
      choices=("cell", "loss", "activation", "dtype"), rngs=("rng",))
entry("rnnlib.models.SequenceModel.predict", call=_method("predict"),
      args=lambda: dict(_self=_model(), inputs=_randn(N, T, D)), arrays=dict(inputs="NTD"),
      constrained="D")
entry("rnnlib.models.SequenceModel.loss_and_grads", call=_method("loss_and_grads"),
      args=lambda: (lambda m: dict(_self=m, params=m.params, inputs=_randn(N, T, D),
                                   targets=_randn(N, T, 2, seed=1),
                                   mask=np.ones((N, T), bool)))(_model()),
      arrays=dict(inputs="NTD", targets="NTK"), masks=dict(mask="NT"),
      numbers=dict(omega_weight=(0, None, False)))

# train, stats, hf, interop
entry("rnnlib.train.ProgressBar", call=trainmod.ProgressBar,
      args=lambda: dict(total=10, description="d", enabled=False), ints=dict(total=(0, None)))
entry("rnnlib.train.ProgressBar.update", call=_method("update"),
      args=lambda: dict(_self=trainmod.ProgressBar(10, enabled=False), done=3, info="x"),
      ints=dict(done=(0, 10)))
entry("rnnlib.train.progress_enabled", call=trainmod.progress_enabled,
      args=lambda: dict(progress=False), bools=("progress",))
entry("rnnlib.stats.wilson_interval", call=stats.wilson_interval,
      args=lambda: dict(successes=3, n=10, confidence=0.95),
      ints=dict(successes=(0, 10), n=(1, None)), numbers=dict(confidence=(0, 1, True)))
entry("rnnlib.hf.reduction_ratio", call=hf.reduction_ratio,
      args=lambda: dict(actual=-0.5, predicted=-1.0),
      numbers=dict(actual=(None, None, False), predicted=(None, 0, False)),
      # a trial step that blew up has loss inf: the ratio is -inf, as documented
      accepted={("actual", "inf"): ("an overflowing trial loss means rho = -inf",
                                    lambda e, kw, r: r == -np.inf or pytest.fail(str(r)))})
entry("rnnlib.hf.update_damping", call=hf.update_damping,
      args=lambda: dict(damping=1.0, rho=0.5),
      numbers=dict(damping=(0, None, True), rho=(None, None, False)),
      # rho = +-inf has a meaning (reduction_ratio returns -inf for a blown-up step)
      accepted={("rho", "inf"): ("rho above the upper threshold lowers the damping",
                                 lambda e, kw, r: r == pytest.approx(2 / 3)
                                 or pytest.fail(str(r)))})
entry("rnnlib.hf.conjugate_gradient", call=hf.conjugate_gradient,
      args=lambda: dict(A=lambda v: 2.0 * v, b=_randn(4), x0=np.zeros(4), max_iters=5,
                        tol=1e-4),
      arrays=dict(b="P", x0="P"), ints=dict(max_iters=(1, None)),
      numbers=dict(tol=(0, None, False)), callables=("A",))
entry("rnnlib.hf.HessianFree", call=hf.HessianFree,
      args=lambda: dict(loss="mse", damping=1.0, structural=0.0, max_cg_iters=10, decay=0.95,
                        cg_tol=5e-4),
      numbers=dict(damping=(0, None, True), structural=(0, None, False), decay=(0, 1, False),
                   cg_tol=(0, None, True)),
      ints=dict(max_cg_iters=(1, None)), choices=("loss", "activation"))
entry("rnnlib.hf.unpack", call=hf.unpack,
      args=lambda: dict(theta=_randn(22), like={"Wx": np.zeros((2, 3)), "Wh": np.zeros((3, 3)),
                                                "b": np.zeros(3), "Wy": np.zeros((3, 1)),
                                                "by": np.zeros(1)}),
      arrays=dict(theta="P"), constrained="P")
entry("rnnlib.interop.weights_from_torch", call=interop.weights_from_torch,
      args=lambda: dict(kind="lstm", weight_ih=_randn(4 * H, D), weight_hh=_randn(4 * H, H),
                        bias_ih=_randn(4 * H), bias_hh=_randn(4 * H)),
      arrays=dict(weight_ih="GD", weight_hh="GH", bias_ih="G", bias_hh="G"), choices=("kind",))
entry("rnnlib.interop.reorder_gates", call=interop.reorder_gates,
      args=lambda: dict(a=_randn(4 * H, D), kind="lstm", axis=0),
      arrays=dict(a="Gd"), choices=("kind",), ints=dict(axis=(-2, 1)), bools=("to_torch",),
      constrained="G")

# linear recurrences


def _scan():
    return dict(a=0.5 * np.abs(_randn(N, T, H)), b=_randn(N, T, H, seed=1),
                h0=_randn(N, H, seed=2))


for _name in ("linear_scan", "linear_scan_sequential"):
    entry(f"rnnlib.linear_recurrence.{_name}", call=getattr(lrec, _name), args=_scan,
          arrays=dict(a="NTH", b="NTH", h0="NH"),
          also={(n, "complex"): ("a", "b", "h0") for n in ("a", "b", "h0")})
entry("rnnlib.linear_recurrence.mingru_forward", call=lrec.mingru_forward,
      args=lambda: dict(x=_randn(N, T, D), h0=_randn(N, H, seed=1), Wz=_randn(D, H, seed=2),
                        Wh=_randn(D, H, seed=3), bz=_randn(H, seed=4), bh=_randn(H, seed=5)),
      arrays=dict(x="NTD", h0="NH", Wz="DH", Wh="DH", bz="H", bh="H"), choices=("method",))

# charlm
_VOCAB = "abcdefg"          # V = 7 symbols


def _charlm():
    return charlm.CharLM(charlm.Vocabulary(_VOCAB), 4, 3, _rng())


entry("rnnlib.charlm.Vocabulary.decode", call=_method("decode"),
      args=lambda: dict(_self=charlm.Vocabulary(_VOCAB), ids=np.array([0, 3, 6])),
      indices=dict(ids=("t", V)),
      accepted={(("ids",), "T=0"): ("no symbols decode to the empty text",
                                    lambda e, kw, text: text == "" or pytest.fail(text))})
entry("rnnlib.charlm.batches", call=charlm.batches,
      args=lambda: dict(ids=_rng().integers(0, V, size=50), batch_size=2, T=5),
      indices=dict(ids=("t", V)), ints=dict(batch_size=(1, None), T=(1, None)),
      # batches knows no vocabulary, so there is no largest id to refuse
      accepted={("ids", "too large"): ("any non-negative id is a character index",
                                       lambda e, kw, r: len(r) == 2 or pytest.fail(str(r)))})
entry("rnnlib.charlm.split_text", call=charlm.split_text,
      args=lambda: dict(text="abcdefghij" * 5, val_fraction=0.2),
      numbers=dict(val_fraction=(0, 1, True)))
entry("rnnlib.charlm.per_character_loss", call=charlm.per_character_loss,
      args=lambda: dict(scores=_randn(N, T, V), y=_symbols(), mask=np.ones((N, T), bool)),
      arrays=dict(scores="NTv"), indices=dict(y=("NT", V)), masks=dict(mask="NT"))
entry("rnnlib.charlm.unigram_loss", call=charlm.unigram_loss,
      args=lambda: dict(train_ids=_rng().integers(0, V, size=30),
                        val_ids=_rng(1).integers(0, V, size=10), V=V),
      indices=dict(train_ids=("t", V), val_ids=("t", V)), ints=dict(V=(1, None)))
entry("rnnlib.charlm.CharLM", call=charlm.CharLM,
      args=lambda: dict(vocab=charlm.Vocabulary(_VOCAB), hidden_size=4, embed_size=3,
                        rng=_rng()),
      ints=dict(hidden_size=(1, None), embed_size=(1, None)), rngs=("rng",), choices=_DT)
entry("rnnlib.charlm.CharLM.forward", call=_method("forward"),
      args=lambda: dict(_self=_charlm(), x=_symbols()), indices=dict(x=("NT", V)))
entry("rnnlib.charlm.CharLM.loss_and_grads", call=_method("loss_and_grads"),
      args=lambda: dict(_self=_charlm(), x=_symbols(), y=_symbols(5)),
      indices=dict(x=("NT", V), y=("NT", V)))
entry("rnnlib.charlm.CharLM.initial_state", call=_method("initial_state"),
      args=lambda: dict(_self=_charlm(), N=2), ints=dict(N=(1, None)))
entry("rnnlib.charlm.next_char_probabilities", call=charlm.next_char_probabilities,
      args=lambda: dict(model=_charlm(), prefix="abc", temperature=1.0),
      numbers=dict(temperature=(0, None, True)))
entry("rnnlib.charlm.sample", call=charlm.sample,
      args=lambda: dict(model=_charlm(), prefix="ab", n=5, temperature=1.0, rng=_rng()),
      ints=dict(n=(0, None)), numbers=dict(temperature=(0, None, True)), rngs=("rng",))

# more layer methods, models, interop, linear recurrences


def _dense_after_forward():
    layer = layers.Dense(3, seed=0)
    out = layer.forward(_randn(N, T, H))
    return dict(_self=layer, dout=np.ones_like(out))


def _embedding_after_forward():
    layer = layers.Embedding(V, 3, seed=0)
    out = layer.forward(_symbols())
    return dict(_self=layer, dout=np.ones_like(out))


entry("rnnlib.layers.Dense.backward", call=_method("backward"), args=_dense_after_forward,
      arrays=dict(dout="NTK"), constrained="NTK")
entry("rnnlib.layers.Embedding.forward", call=_method("forward"),
      args=lambda: dict(_self=layers.Embedding(V, 3, seed=0), x=_symbols()),
      indices=dict(x=("NT", V)))
entry("rnnlib.layers.Embedding.backward", call=_method("backward"),
      args=_embedding_after_forward, arrays=dict(dout="NTK"), constrained="NTK")
entry("rnnlib.models.data_loss", call=models.data_loss,
      args=lambda: dict(loss="mse", outputs=_randn(N, T, 2), targets=_randn(N, T, 2, seed=1),
                        mask=np.ones((N, T), bool)),
      arrays=dict(outputs="NTK", targets="NTK"), masks=dict(mask="NT"), choices=("loss",))
entry("rnnlib.models.SequenceModel.forward", call=_method("forward"),
      args=lambda: (lambda m: dict(_self=m, params=m.params, inputs=_randn(N, T, D)))(_model()),
      arrays=dict(inputs="NTD"), constrained="D")
entry("rnnlib.interop.weights_to_torch", call=interop.weights_to_torch,
      args=lambda: dict(kind="lstm", params=_params(_seq(4))), choices=("kind",))
entry("rnnlib.linear_recurrence.mingru_params", call=lrec.mingru_params,
      args=lambda: dict(input_size=D, hidden_size=H, rng=_rng()),
      ints=dict(input_size=(1, None), hidden_size=(1, None)), rngs=("rng",), choices=_DT)
entry("rnnlib.linear_recurrence.lru_eigenvalues", call=lrec.lru_eigenvalues,
      args=lambda: dict(nu=_randn(H), theta=_randn(H, seed=1)), arrays=dict(nu="H", theta="H"))


def _mingru():
    return dict(x=_randn(N, T, D), h0=_randn(N, H, seed=1), Wz=_randn(D, H, seed=2),
                Wh=_randn(D, H, seed=3), bz=_randn(H, seed=4), bh=_randn(H, seed=5))


entry("rnnlib.linear_recurrence.mingru_backward", call=lrec.mingru_backward,
      args=_after(lrec.mingru_forward, _mingru,
                  lambda out: dict(dh=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dh="NTH"), constrained=BACK)
entry("rnnlib.linear_recurrence.linear_scan_backward", call=lrec.linear_scan_backward,
      args=lambda: (lambda kw: dict(dh=np.ones((N, T, H)), a=kw["a"], h0=kw["h0"],
                                    h=lrec.linear_scan(**kw)))(_scan()),
      arrays=dict(dh="NTH", a="NTH", h="NTH", h0="NH"), choices=("method",),
      also={(n, "complex"): ("dh", "a", "h", "h0") for n in ("dh", "a", "h", "h0")})

#: Public names where bad input is meaningless, with the reason.
NO_ARGUMENTS = {
    "rnnlib.plotting.use_style": "takes no arguments",
    "rnnlib.charlm.load_corpus": "takes no arguments",
    "rnnlib.layers.recurrent_layer_classes": "takes no arguments",
    "rnnlib.layers.Layer.count_params": "takes no arguments",
    "rnnlib.layers.Sequential.reset_states": "takes no arguments",
    "rnnlib.layers.ParameterViews": "a mixin that takes no arguments",
    "rnnlib.charlm.CharLM.count_params": "takes no arguments",
    "rnnlib.train.ProgressBar.close": "takes no arguments",
    "rnnlib.experiments.SerialExecutor": "takes no arguments",
    "rnnlib.ArgumentTypeError": "an exception class: any message is valid",
    "rnnlib.NonFiniteError": "an exception class: any message is valid",
    "rnnlib.charlm.CommandError": "an exception class: any message is valid",
    "rnnlib.experiments.TruncatedRecordWarning": "a warning class: any message is valid",
    **{f"rnnlib.{name}": "a result record the library returns (fields not validated as input)"
       for name in ("analysis.JacobianProducts", "analysis.LSTMGradientNorms",
                    "analysis.StepGradients", "hf.CGResult", "hf.StepInfo", "hf.Linearization",
                    "models.ForwardPass", "models.LossAndGrads", "stats.Rate",
                    "linear_recurrence.MinGRUCache", "linear_recurrence.LRUCache")},
}


# --------------------------------------------------------------------------------------
# cells, charlm, esn, experiments, gates, hf, interop, layers, linear_recurrence, models,
# seq2seq, sliders, train: the remaining public names
# --------------------------------------------------------------------------------------
import io  # noqa: E402
import tempfile  # noqa: E402

import torch  # noqa: E402

from rnnlib import experiments, seq2seq, sliders  # noqa: E402

# cells: check_options takes a dict of options; the case breaks the one option rnn has
entry("rnnlib.cells.Cell.check_options",
      call=lambda _self, activation: _self.check_options({"activation": activation}),
      args=lambda: dict(_self=cells.get_cell("rnn"), activation="tanh"), choices=ACT)

# charlm
entry("rnnlib.charlm.Vocabulary.encode", call=_method("encode"),
      args=lambda: dict(_self=charlm.Vocabulary(_VOCAB), text="abc"),
      choices=("text",))      # "no-such-option" holds characters outside "abcdefg"
entry("rnnlib.charlm.evaluate", call=charlm.evaluate,
      args=lambda: dict(model=_charlm(), ids=_rng().integers(0, V, size=30), batch_size=2, T=4),
      indices=dict(ids=("t", V)), ints=dict(batch_size=(1, None), T=(1, None)))
entry("rnnlib.charlm.train", call=charlm.train,
      args=lambda: dict(model=_charlm(), train_ids=_rng().integers(0, V, size=40), steps=2,
                        batch_size=2, T=4, lr=1e-3, clip_norm=5.0, progress=False),
      indices=dict(train_ids=("t", V)),
      ints=dict(steps=(1, None), batch_size=(1, None), T=(1, None)),
      numbers=dict(lr=(0, None, True), clip_norm=(0, None, True)), bools=("progress",))
entry("rnnlib.charlm.record_sample", call=charlm.record_sample,
      args=lambda: dict(model=_charlm(), step=0, train_loss=1.5, val_loss=1.6, n=5,
                        prefix="ab", temperature=0.5, seed=0),
      ints=dict(step=(0, None), n=(1, None), seed=(0, None)),
      numbers=dict(train_loss=(0, None, False), val_loss=(0, None, False),
                   temperature=(0, None, True)))

# esn
def _same_results_as_float64(name, reason):
    """Like same_as_float64, for results that are tuples or dicts of arrays."""
    def check(e, kwargs, result):
        ref = _call(e, {**kwargs, name: np.asarray(kwargs[name], dtype=F)})
        for got, want in zip(_arrays_in(result), _arrays_in(ref)):
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=reason)
    return reason, check


# ridges is documented as a sequence of floats: a list, integers or float16 are numbers
_RIDGES_AS_NUMBERS = {("ridges", c): _same_results_as_float64(
    "ridges", "documented as a sequence of floats") for c in ("list", "int64", "float16")}
entry("rnnlib.esn.ridge_path", call=esn.ridge_path,
      args=lambda: dict(states=_randn(20, H), targets=_randn(20, 2, seed=1),
                        ridges=np.array([1e-6, 1e-3])),
      arrays=dict(states="TH", targets="TK", ridges="R"), accepted=_RIDGES_AS_NUMBERS)


def _esn1(fitted=True):
    net = esn.EchoStateNetwork(**{**_ESN, "n_inputs": 1, "n_outputs": 1}, rng=_rng())
    if fitted:
        s = np.sin(0.3 * np.arange(60.0))[:, None]
        net.fit(s[:-1], s[1:], washout=5)
    return net


def _series(n=60):
    return np.sin(0.3 * np.arange(float(n)))[:, None]


entry("rnnlib.esn.free_run_nrmse", call=esn.free_run_nrmse,
      args=lambda: dict(esn=_esn1(), series=_series(), starts=np.array([10, 20]), horizon=5,
                        h0=np.zeros(8), scale=1.0),
      arrays=dict(series="tD", h0="H"), indices=dict(starts=("m", 55)),
      ints=dict(horizon=(1, None)), numbers=dict(scale=(0, None, True)), constrained="DH",
      # an empty series leaves no valid start: the error names the clashing starts
      also={(("series",), "T=0"): ("starts",)})
entry("rnnlib.esn.fit_ridge_on_validation", call=esn.fit_ridge_on_validation,
      args=lambda: dict(esn=_esn1(False), series=_series(), n_train=30, n_val=25,
                        ridges=np.array([1e-6, 1e-3]), washout=5, horizon=5, n_starts=3),
      arrays=dict(series="tD", ridges="R"), constrained="D",
      ints=dict(n_train=(1, None), n_val=(1, None), washout=(0, None), horizon=(1, None),
                n_starts=(1, None)),
      choices=("method",), accepted=_RIDGES_AS_NUMBERS)

# experiments (tiny step budgets; EXPERIMENTS sets the task sizes)
entry("rnnlib.experiments.Config", call=experiments.Config,
      args=lambda: dict(cell="rnn", activation="tanh", optimizer="sgd", lr=0.01, momentum=0.5,
                        clip_norm=1.0, omega_weight=0.0),
      choices=("cell", "activation", "optimizer"),
      numbers=dict(lr=(0, None, True), momentum=(0, 1, False), clip_norm=(0, None, True),
                   omega_weight=(0, None, False)))
entry("rnnlib.experiments.Experiment", call=experiments.Experiment,
      args=lambda: dict(description="d", task="adding", T=20, hidden_size=4,
                        configs={"c": experiments.Config()}, batch_size=2, eval_every=10,
                        tolerance=0.04),
      choices=("task",),
      ints=dict(T=(10, None), hidden_size=(1, None), batch_size=(1, None),
                eval_every=(1, None)),
      numbers=dict(tolerance=(0, None, True)))
entry("rnnlib.experiments.grid_cells", call=experiments.grid_cells,
      args=lambda: dict(name="adding", seeds=2, T_values=[20], first_seed=0),
      choices=("name",), ints=dict(seeds=(1, None), first_seed=(0, None)))
entry("rnnlib.experiments.grid_command", call=experiments.grid_command,
      args=lambda: dict(name="adding", seeds=2, steps=10, T_values=[20], out="r.jsonl"),
      choices=("name",), ints=dict(seeds=(1, None), steps=(1, None), first_seed=(0, None),
                                   stack=(1, None)))
_CONFIG = "GRU"                 # one configuration of EXPERIMENTS["adding"]
entry("rnnlib.experiments.run_cell", call=experiments.run_cell,
      args=lambda: dict(name="adding", config=_CONFIG, T=10, seed=0, steps=1),
      choices=("name", "config"),
      ints=dict(T=(10, None), seed=(0, None), steps=(1, None)))
entry("rnnlib.experiments.run_cells", call=experiments.run_cells,
      args=lambda: dict(name="clipping", config="SGD", T=10, seeds=[0, 1], steps=1),
      choices=("name", "config"), ints=dict(T=(10, None), steps=(1, None)))
entry("rnnlib.experiments.stackable", call=experiments.stackable,
      args=lambda: dict(experiment=experiments.EXPERIMENTS["clipping"],
                        config=experiments.EXPERIMENTS["clipping"].configs["SGD"]))
entry("rnnlib.experiments.run_config", call=experiments.run_config,
      args=lambda: dict(experiment=experiments.EXPERIMENTS["adding"],
                        config=experiments.EXPERIMENTS["adding"].configs[_CONFIG], seed=0,
                        steps=1, T=10, progress=False),
      ints=dict(T=(10, None), seed=(0, None), steps=(1, None)),
      bools=("progress",))
entry("rnnlib.experiments.run_experiment", call=experiments.run_experiment,
      args=lambda: dict(name="adding", seeds=1, steps=1, T=10, progress=False,
                        out=io.StringIO()),
      choices=("name",), ints=dict(seeds=(1, None), steps=(1, None), T=(10, None)),
      bools=("progress",))


def _grid_args():
    out = tempfile.mkdtemp() + "/r.jsonl"
    return dict(name="adding", seeds=1, steps=1, T_values=[10], out=out, configs=[_CONFIG],
                progress=False)


entry("rnnlib.experiments.run_grid", call=experiments.run_grid, args=_grid_args,
      choices=("name",), ints=dict(seeds=(1, None), steps=(1, None), first_seed=(0, None),
                                   max_pending=(1, None), stack=(1, None)),
      bools=("progress",))
_RECORDS = []


def _records():
    if not _RECORDS:
        _RECORDS.append(experiments.run_cell("adding", _CONFIG, 10, 0, 1))
    return [dict(_RECORDS[0])]


entry("rnnlib.experiments.summarize", call=experiments.summarize,
      args=lambda: dict(records=_records(), confidence=0.95),
      numbers=dict(confidence=(0, 1, True)))

# gates


def _gate_proj():
    kw = _seq(4)
    del kw["h0"]
    return {**kw, "scale": np.ones((4 * H, 1))}


entry("rnnlib.gates.gate_projection", call=gates.gate_projection, args=_gate_proj,
      arrays=dict(x="NTD", Wx="DG", Wh="HG", b="G", scale="Gs"))

# hf: a tanh RNN with a linear readout, D -> H -> K = 2
K = 2


def _hf_params():
    return dict(Wx=_randn(D, H, seed=3), Wh=_randn(H, H, seed=4), b=_randn(H, seed=5),
                Wy=_randn(H, K, seed=6), by=_randn(K, seed=7))


def _hf_batch():
    return dict(params=_hf_params(), inputs=_randn(N, T, D), targets=_randn(N, T, K, seed=1),
                mask=np.ones((N, T), bool))


_HF_ARRAYS = dict(inputs="NTD", targets="NTK")
for _name in ("linearize", "objective"):
    entry(f"rnnlib.hf.{_name}", call=getattr(hf, _name),
          args=lambda: {**_hf_batch(), "loss": "mse", "activation": "tanh"},
          arrays=_HF_ARRAYS, masks=dict(mask="NT"), choices=("loss", "activation"),
          constrained="DK")


def _lin():
    return hf.linearize(**_hf_batch())


# the direction v is a parameter dict: the cases break each of its arrays (named by key)
_V = dict(Wx="DH", Wh="HH", b="H", Wy="HK", by="K")


def _as_v(f):
    return lambda lin, Wx, Wh, b, Wy, by, **kw: f(lin, dict(Wx=Wx, Wh=Wh, b=b, Wy=Wy, by=by),
                                                  **kw)


entry("rnnlib.hf.gauss_newton_product", call=_as_v(hf.gauss_newton_product),
      args=lambda: {**_hf_params(), "lin": _lin(), "damping": 0.1, "structural": 0.0},
      arrays=_V, constrained="DHK",
      numbers=dict(damping=(0, None, False), structural=(0, None, False)))
entry("rnnlib.hf.r_forward", call=_as_v(hf.r_forward),
      args=lambda: {**_hf_params(), "lin": _lin()}, arrays=_V, constrained="DHK")
entry("rnnlib.hf.loss_hessian_product", call=hf.loss_hessian_product,
      args=lambda: dict(lin=_lin(), Ry=_randn(N, T, K)), arrays=dict(Ry="NTK"),
      constrained="NTK")
entry("rnnlib.hf.HessianFree.update_on_batch", call=_method("update_on_batch"),
      args=lambda: {**_hf_batch(), "_self": hf.HessianFree(loss="mse", max_cg_iters=3)},
      arrays=_HF_ARRAYS, masks=dict(mask="NT"), constrained="DK")

# interop
entry("rnnlib.interop.params_from_torch", call=interop.params_from_torch,
      args=lambda: dict(module=torch.nn.LSTM(D, H, num_layers=2, bidirectional=True), layer=1,
                        reverse=True),
      ints=dict(layer=(0, 1)), bools=("reverse",))
entry("rnnlib.interop.params_to_torch",
      call=lambda module, layer, Wx, Wh, b: interop.params_to_torch(
          dict(Wx=Wx, Wh=Wh, b=b), module, layer=layer),
      args=lambda: {**_params(_seq(4)), "module": torch.nn.LSTM(D, H, num_layers=2),
                    "layer": 0},
      arrays=dict(Wx="DG", Wh="HG", b="G"), ints=dict(layer=(0, 1)), constrained="DHG",
      # Wx's D clashes with the module: the error names the module's weight_ih_l0
      also={(("Wx",), "size+1[D]"): ("weight_ih_l0",)})

# layers


def _bidir():
    return layers.Bidirectional(layers.LSTM(3, return_sequences=True, seed=0))


entry("rnnlib.layers.Bidirectional",
      call=lambda merge: layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge,
                                              seed=0),
      args=lambda: dict(merge="concat"), choices=("merge",))
entry("rnnlib.layers.Bidirectional.forward", call=_method("forward"),
      args=lambda: dict(_self=_bidir(), x=_randn(N, T, D), mask=np.ones((N, T), bool)),
      arrays=dict(x="NTd"), masks=dict(mask="NT"))


def _after_layer(make, x):
    def args():
        layer = make()
        out = layer.forward(x())
        return dict(_self=layer, dout=np.ones_like(out))
    return args


entry("rnnlib.layers.Bidirectional.backward", call=_method("backward"),
      args=_after_layer(_bidir, lambda: _randn(N, T, D)), arrays=dict(dout="NTK"),
      constrained="NTK")
entry("rnnlib.layers.Layer", call=layers.Layer, args=lambda: dict(seed=0, dtype=F),
      choices=_DT)
entry("rnnlib.layers.Layer.build", call=_method("build"),
      args=lambda: dict(_self=layers.Dense(3), input_shape=(None, None, H), rng=_rng()),
      rngs=("rng",))
entry("rnnlib.layers.Layer.summary", call=_method("summary"),
      args=lambda: dict(_self=_sequential(built=True), print_fn=lambda s: None),
      callables=("print_fn",))


def _sequential(built=False):
    model = layers.Sequential([layers.LSTM(3, return_sequences=True), layers.Dense(2)], seed=0)
    if built:
        model.forward(_randn(N, T, D))
    return model


entry("rnnlib.layers.Sequential",
      call=lambda seed: layers.Sequential([layers.Dense(2)], seed=seed),
      args=lambda: dict(seed=0), ints=dict(seed=(0, None)))
entry("rnnlib.layers.Sequential.forward", call=_method("forward"),
      args=lambda: dict(_self=_sequential(), x=_randn(N, T, D), mask=np.ones((N, T), bool)),
      arrays=dict(x="NTd"), masks=dict(mask="NT"))
entry("rnnlib.layers.Sequential.backward", call=_method("backward"),
      args=_after_layer(_sequential, lambda: _randn(N, T, D)), arrays=dict(dout="NTK"),
      constrained="NTK")

# linear recurrences: minGRU and LRU models


def _regression():
    return dict(inputs=_randn(N, T, D), targets=_randn(N, T, K, seed=1),
                mask=np.ones((N, T), bool))


for _kind, _init, _model_cls, _lossf, _predf in (
        ("mingru", lrec.mingru_init, lrec.MinGRUModel, lrec.mingru_loss_and_grads,
         lrec.mingru_predict),
        ("lru", lrec.lru_init, lrec.LRUModel, lrec.lru_loss_and_grads, lrec.lru_predict)):
    _sizes = dict(input_size=(1, None), hidden_size=(1, None), output_size=(1, None))
    _extra = dict(r_min=(0, 1, False), r_max=(0, 1, True),
                  max_phase=(0, None, True)) if _kind == "lru" else {}
    # D of the inputs clashes with the input weights, which the error may name
    _also = {(("inputs",), "size+1[D]"): ("Wz",) if _kind == "mingru" else ("We",)}
    entry(f"rnnlib.linear_recurrence.{_kind}_init", call=_init,
          args=lambda: dict(input_size=D, hidden_size=H, output_size=K, rng=_rng()),
          ints=_sizes, numbers=_extra, rngs=("rng",), choices=_DT)
    entry(f"rnnlib.linear_recurrence.{_model_cls.__name__}", call=_model_cls,
          args=lambda: dict(input_size=D, hidden_size=H, output_size=K, rng=_rng()),
          ints=_sizes, rngs=("rng",), choices=("method", "dtype", "loss"))
    entry(f"rnnlib.linear_recurrence.{_model_cls.__name__}.for_task",
          call=_model_cls.for_task,
          args=lambda: dict(task=tasks.get_task("copy"), hidden_size=H, rng=_rng()),
          ints=dict(hidden_size=(1, None)), rngs=("rng",), choices=("method", "dtype"))
    entry(f"rnnlib.linear_recurrence.{_kind}_loss_and_grads", call=_lossf,
          args=lambda i=_init: {**_regression(), "params": i(D, H, K, _rng())},
          arrays=dict(inputs="NTD", targets="NTK"), masks=dict(mask="NT"),
          choices=("method", "loss"), constrained="DK", also=_also)
    entry(f"rnnlib.linear_recurrence.{_kind}_predict", call=_predf,
          args=lambda i=_init: dict(params=i(D, H, K, _rng()), inputs=_randn(N, T, D)),
          arrays=dict(inputs="NTD"), choices=("method",), constrained="D", also=_also)
    entry(f"rnnlib.linear_recurrence.{_model_cls.__name__}.loss_and_grads",
          call=_method("loss_and_grads"),
          args=lambda c=_model_cls: (lambda m: {**_regression(), "_self": m,
                                                "params": m.params})(c(D, H, K, _rng())),
          arrays=dict(inputs="NTD", targets="NTK"), masks=dict(mask="NT"), constrained="DK",
          also=_also)
    entry(f"rnnlib.linear_recurrence.{_model_cls.__name__}.predict", call=_method("predict"),
          args=lambda c=_model_cls: dict(_self=c(D, H, K, _rng()), inputs=_randn(N, T, D)),
          arrays=dict(inputs="NTD"), constrained="D", also=_also)
entry("rnnlib.linear_recurrence.lru_params", call=lrec.lru_params,
      args=lambda: dict(input_size=D, hidden_size=H, output_size=M, rng=_rng(), r_min=0.5,
                        r_max=0.9, max_phase=1.0),
      ints=dict(input_size=(1, None), hidden_size=(1, None), output_size=(1, None)),
      numbers=dict(r_min=(0, 1, False), r_max=(0, 1, True), max_phase=(0, None, True)),
      rngs=("rng",), choices=_DT)
entry("rnnlib.linear_recurrence.lru_ring_init", call=lrec.lru_ring_init,
      args=lambda: dict(hidden_size=H, rng=_rng(), r_min=0.5, r_max=0.9, max_phase=1.0),
      ints=dict(hidden_size=(1, None)),
      numbers=dict(r_min=(0, 1, False), r_max=(0, 1, True), max_phase=(0, None, True)),
      rngs=("rng",), choices=_DT)


def _lru():
    p = lrec.lru_params(D, H, M, _rng())
    return dict(x=_randn(N, T, D), h0=np.zeros((N, H), complex), **p)


_LRU = dict(x="NTD", nu="H", theta="H", B_re="DH", B_im="DH", C_re="HM", C_im="HM", D="DM")
entry("rnnlib.linear_recurrence.lru_forward", call=lrec.lru_forward, args=_lru, arrays=_LRU,
      choices=("method",), also={(("x",), "N=0"): ("h0",), ("x", "size+1[D]"): ("h0",)})
entry("rnnlib.linear_recurrence.lru_backward", call=lrec.lru_backward,
      args=_after(lrec.lru_forward, _lru,
                  lambda out: dict(dy=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dy="NTM"), constrained=BACK)

# models
entry("rnnlib.models.SequenceModel.for_task", call=models.SequenceModel.for_task,
      args=lambda: dict(task=tasks.get_task("adding"), hidden_size=H, rng=_rng(), cell="gru"),
      ints=dict(hidden_size=(1, None)), rngs=("rng",), choices=("cell",))
entry("rnnlib.models.forward_pass", call=models.forward_pass,
      args=lambda: dict(cell="rnn", params=_model().params, inputs=_randn(N, T, D)),
      arrays=dict(inputs="NTD"), choices=("cell",), constrained="D")

# seq2seq: sources over VS = 6 symbols, targets over VT = 7 (0, 1, 2 are PAD, BOS, EOS)
VS, VT = 6, 7


def _s2s():
    return seq2seq.Seq2Seq(VS, VT, 3, 4, rng=_rng())


def _src(seed=1):
    return _rng(seed).integers(3, VS, size=(N, 4))


def _tgt(seed=2):
    return _rng(seed).integers(3, VT, size=(N, T))


entry("rnnlib.seq2seq.Seq2Seq", call=seq2seq.Seq2Seq,
      args=lambda: dict(source_vocab=VS, target_vocab=VT, embed_dim=3, units=4, cell="lstm",
                        sampling_prob=0.0, rng=_rng()),
      ints=dict(source_vocab=(4, None), target_vocab=(4, None), embed_dim=(1, None),
                units=(1, None)),
      numbers=dict(sampling_prob=(0, 1, False)), choices=("cell", "dtype"), rngs=("rng",))
entry("rnnlib.seq2seq.Seq2Seq.encode", call=_method("encode"),
      args=lambda: dict(_self=_s2s(), source=_src()), indices=dict(source=("Ns", VS)))
entry("rnnlib.seq2seq.Seq2Seq.forward", call=_method("forward"),
      args=lambda: dict(_self=_s2s(), source=_src(), decoder_inputs=_tgt(),
                        mask=np.ones((N, T), bool)),
      indices=dict(source=("Ns", VS), decoder_inputs=("NT", VT)), masks=dict(mask="NT"))


def _s2s_after_forward():
    m = _s2s()
    scores = m.forward(_src(), _tgt())
    return dict(_self=m, dscores=np.ones_like(scores))


entry("rnnlib.seq2seq.Seq2Seq.backward", call=_method("backward"), args=_s2s_after_forward,
      arrays=dict(dscores="NTV"), constrained="NTV")
entry("rnnlib.seq2seq.Seq2Seq.loss_and_grads", call=_method("loss_and_grads"),
      args=lambda: (lambda m: dict(_self=m, params=m.params, inputs=_src(), targets=_tgt(),
                                   mask=np.ones((N, T), bool)))(_s2s()),
      indices=dict(inputs=("Ns", VS), targets=("NT", VT)), masks=dict(mask="NT"))
entry("rnnlib.seq2seq.Seq2Seq.greedy_decode", call=_method("greedy_decode"),
      args=lambda: dict(_self=_s2s(), source=_src(), max_len=4, return_scores=True),
      indices=dict(source=("Ns", VS)), ints=dict(max_len=(1, None)), bools=("return_scores",))
entry("rnnlib.seq2seq.Seq2Seq.sample_decode", call=_method("sample_decode"),
      args=lambda: dict(_self=_s2s(), source=_src(), max_len=4, rng=_rng(), temperature=1.0),
      indices=dict(source=("Ns", VS)), ints=dict(max_len=(1, None)), rngs=("rng",),
      numbers=dict(temperature=(0, None, True)))
entry("rnnlib.seq2seq.Seq2Seq.set_sampling", call=_method("set_sampling"),
      args=lambda: dict(_self=_s2s(), sampling_prob=0.5, rng=_rng()),
      numbers=dict(sampling_prob=(0, 1, False)), rngs=("rng",))


def _classifier():
    model = layers.Sequential([layers.Embedding(4, 3), layers.LSTM(3), layers.Dense(2)], seed=0)
    model.forward(np.ones((N, T), np.int64))
    return model


entry("rnnlib.seq2seq.classifier_objective",
      call=lambda model, inputs, targets, mask: seq2seq.classifier_objective(model)(
          model.params, inputs, targets, mask),
      args=lambda: dict(model=_classifier(), inputs=_rng().integers(1, 4, size=(N, T)),
                        targets=np.array([0, 1]), mask=np.ones((N, T), bool)),
      indices=dict(inputs=("NT", 4), targets=("N", 2)), masks=dict(mask="NT"))
entry("rnnlib.seq2seq.count_comparison", call=seq2seq.count_comparison,
      args=lambda: dict(n=3, min_len=2, max_len=4, rng=_rng()),
      ints=dict(n=(1, None), min_len=(1, 4)), rngs=("rng",),
      also={("min_len", "5 (out of range)"): ("max_len",)})     # the clash names either
entry("rnnlib.seq2seq.reversal_pairs", call=seq2seq.reversal_pairs,
      args=lambda: dict(n=3, min_len=2, max_len=4, n_symbols=5, rng=_rng()),
      ints=dict(n=(1, None), min_len=(1, 4), n_symbols=(1, None)), rngs=("rng",),
      also={("min_len", "5 (out of range)"): ("max_len",)})     # the clash names either
entry("rnnlib.seq2seq.inverse_sigmoid_decay", call=seq2seq.inverse_sigmoid_decay,
      args=lambda: dict(step=10, k=5.0), ints=dict(step=(0, None)),
      numbers=dict(k=(0, None, True)))
_BIG = 10 ** 9                  # no upper bound on a length or a token id: "too large" is valid
_ANY_SIZE = ("any positive length or token id is valid",
             lambda e, kw, result: None)
entry("rnnlib.seq2seq.length_buckets", call=seq2seq.length_buckets,
      args=lambda: dict(lengths=np.array([3, 1, 2, 4]), batch_size=2, rng=_rng()),
      indices=dict(lengths=("N", _BIG)), ints=dict(batch_size=(1, None)), rngs=("rng",),
      accepted={("lengths", "too large"): _ANY_SIZE})
entry("rnnlib.seq2seq.pad_sequences",
      call=lambda a, b, pad, length: seq2seq.pad_sequences([a, b], pad=pad, length=length),
      args=lambda: dict(a=np.array([3, 4, 5]), b=np.array([6, 7]), pad=0, length=4),
      indices=dict(a=("s", _BIG), b=("s", _BIG)), ints=dict(pad=(0, None), length=(3, None)),
      accepted={(n, "too large"): _ANY_SIZE for n in ("a", "b")},
      # a and b are seqs[0] and seqs[1] of the real signature
      also={(n, c): ("seqs",) for n in ("a", "b") for c in
            ("float", "negative", "list", "ndim+1", "too large")})
entry("rnnlib.seq2seq.padding_fraction", call=seq2seq.padding_fraction,
      args=lambda: dict(mask=np.array([[1, 1, 0], [1, 0, 0]], bool)), masks=dict(mask="NT"))
_PRED = dict(pred=("NT", _BIG), targets=("NT", _BIG))
for _name in ("sequence_accuracy", "token_accuracy"):
    entry(f"rnnlib.seq2seq.{_name}", call=getattr(seq2seq, _name),
          args=lambda: dict(pred=_tgt(), targets=_tgt(3), mask=np.ones((N, T), bool)),
          indices=_PRED, masks=dict(mask="NT"),
          accepted={(n, "too large"): _ANY_SIZE for n in _PRED})
entry("rnnlib.seq2seq.shift_right", call=seq2seq.shift_right,
      args=lambda: dict(targets=_tgt(), mask=np.ones((N, T), bool), bos=1, pad=0),
      indices=dict(targets=("NT", _BIG)), masks=dict(mask="NT"),
      ints=dict(bos=(0, None), pad=(0, None)),
      accepted={("targets", "too large"): _ANY_SIZE})
entry("rnnlib.seq2seq.unpad", call=seq2seq.unpad,
      args=lambda: dict(ids=_tgt(), mask=np.ones((N, T), bool)),
      indices=dict(ids=("NT", _BIG)), masks=dict(mask="NT"),
      accepted={("ids", "too large"): _ANY_SIZE})

# sliders
entry("rnnlib.sliders.frame_slider", call=sliders.frame_slider,
      args=lambda: dict(draw=lambda ax, v: ax.set_title(str(v)), values=[0, 1],
                        figsize=(1.0, 1.0), dpi=20),
      callables=("draw",), ints=dict(dpi=(1, None)))

# train


def _layer_batch():
    return dict(layer=_sequential(built=True), loss="mse", inputs=_randn(N, T, D),
                targets=_randn(N, T, 2, seed=1), mask=np.ones((N, T), bool))


entry("rnnlib.train.layer_objective",
      call=lambda layer, loss, inputs, targets, mask: trainmod.layer_objective(layer, loss)(
          layer.params, inputs, targets, mask),
      args=_layer_batch, arrays=dict(inputs="NTD", targets="NTK"), masks=dict(mask="NT"),
      choices=("loss",), constrained="DK")
entry("rnnlib.train.train", call=trainmod.train,
      args=lambda: (lambda m: dict(model=m, params=m.params, optimizer=rnnlib.SGD(0.01),
                                   data=tasks.get_task("adding"), steps=2, T=10, batch_size=2,
                                   clip_norm=1.0, eval_every=2, eval_size=4, rng=_rng(),
                                   progress=False))(_model_for("adding")),
      ints=dict(steps=(1, None), T=(10, None), batch_size=(1, None), eval_every=(1, None),
                eval_size=(1, None)),
      numbers=dict(clip_norm=(0, None, True), omega_weight=(0, None, False)),
      rngs=("rng",), bools=("stop_on_success", "progress"))


def _model_for(name):
    return models.SequenceModel.for_task(tasks.get_task(name), 4, _rng())

NO_ARGUMENTS.update({
    "rnnlib.cells.Cell": "a declaration record of the registry (its fields are the cell's "
                         "functions, written in cells.py, not user input)",
    "rnnlib.cells.Cell.param_args": "only orders a parameter dict by name (a missing name "
                                    "raises); the arrays are checked by the sequence function "
                                    "that receives them",
    "rnnlib.cells.Cell.torch_options": "maps options already checked by check_options to "
                                       "torch keyword arguments",
    "rnnlib.charlm.Vocabulary": "any string is a vocabulary (duplicates are tested in "
                                "tests/test_charlm.py)",
    "rnnlib.charlm.normalize_text": "every string maps (characters outside the alphabet "
                                    "become '?')",
    "rnnlib.charlm.checkpoint_path": "path arithmetic: any path names a checkpoint",
    **{f"rnnlib.{n}": "a file path: missing, truncated and wrong files and atomic saves are "
                      "tested in the module's own test file (test_io, test_charlm, test_esn, "
                      "test_layers, test_experiments)"
       for n in ("charlm.load", "charlm.save", "charlm.load_checkpoint",
                 "charlm.save_checkpoint", "esn.EchoStateNetwork.load",
                 "esn.EchoStateNetwork.save", "io.load_archive", "io.save_archive",
                 "io.load_weights", "io.save_weights", "layers.Sequential.load",
                 "layers.Sequential.save", "experiments.load_results")},
    **{f"rnnlib.{n}": "a command line (argv): bad command-line input (exit 2, one-line "
                      "error, no traceback) is tested in test_charlm / test_experiments"
       for n in ("charlm.main", "experiments.main")},
    "rnnlib.experiments.SerialExecutor.submit": "as Executor.submit: any callable runs and its "
                                                "exception is stored in the future",
    "rnnlib.experiments.dask_executor": "starts a Dask cluster (processes, seconds): too slow "
                                        "for this suite; covered by test_experiments",
    **{f"rnnlib.experiments.{n}": "formats the rows that summarize returns (library output, "
                                  "not user input)"
       for n in ("format_summary", "summary_markdown", "plot_summary")},
    "rnnlib.experiments.record_key": "reads the key fields of a record the library wrote",
    "rnnlib.hf.pack": "concatenates a parameter dict; the vector is checked where it is used "
                      "(unpack, gauss_newton_product, r_forward)",
    "rnnlib.interop.model_from_torch": "takes a torch module (wrong module types are tested "
                                       "in tests/test_interop.py)",
    "rnnlib.interop.model_to_torch": "takes an rnnlib model (tested in tests/test_interop.py)",
    **{f"rnnlib.layers.{c}.output_shape": "shape arithmetic on a tuple with None entries; "
                                          "build checks the shape"
       for c in ("Bidirectional", "Dense", "Embedding", "Sequential")},
    "rnnlib.seq2seq.Seq2Seq.count_params": "takes no arguments",
    "rnnlib.train.History.arrays": "takes no arguments",
    "rnnlib.train.History": "a result record the library returns (fields not validated as "
                            "input)",
    "rnnlib.train.History.from_arrays": "reads back what History.arrays wrote (checkpoint "
                                        "files are validated by their loaders)",
    "rnnlib.sliders.FrameSlider": "a result record the library returns (frame_slider)",
    **{f"rnnlib.cli.{n}": "a command-line option type or parser: bad option text is tested "
                          "in tests/test_cli.py (and through each command in its own tests)"
       for n in ("Parser", "Parser.error", "positive_int", "non_negative_int", "positive_float",
                 "int_list", "choice_list", "output_file_problem")},
})


# --------------------------------------------------------------------------------------
# Enumeration of the public API, and the table-driven tests
# --------------------------------------------------------------------------------------


# batched (rnnlib.batched: S models as one stack) --------------------------------------
from rnnlib import batched  # noqa: E402

S = 8                   # the model axis of the stacked functions, distinct from N..V


def _stack():
    return dict(x=_randn(S, N, T, D, seed=11), h0=_randn(S, N, H, seed=12),
                Wx=_randn(S, D, H, seed=13), Wh=_randn(S, H, H, seed=14), b=_randn(S, H, seed=15))


entry("rnnlib.batched.rnn_forward_stack", call=batched.rnn_forward_stack, args=_stack,
      arrays=dict(x="SNTD", h0="SNH", Wx="SDH", Wh="SHH", b="SH"), choices=ACT)
entry("rnnlib.batched.rnn_backward_stack", call=batched.rnn_backward_stack,
      args=_after(batched.rnn_forward_stack, _stack,
                  lambda out: dict(dh=np.ones_like(out[0]), cache=out[1])),
      arrays=dict(dh="SNTH"), constrained="S" + BACK)
entry("rnnlib.batched.train_seeds", call=batched.train_seeds,
      args=lambda: dict(task=tasks.get_task("temporal_order"), seeds=[0, 1], steps=2, T=10,
                        hidden_size=3, batch_size=2, eval_every=1, eval_size=2,
                        clip_norm=1.0, lr=0.01, momentum=0.5, optimizer="sgd"),
      ints=dict(steps=(1, None), T=(10, None), hidden_size=(1, None), batch_size=(1, None),
                eval_every=(1, None), eval_size=(1, None)),
      numbers=dict(lr=(0, None, True), clip_norm=(0, None, True), momentum=(0, 1, False)),
      choices=("optimizer", "activation"), bools=("stop_on_success",))
entry("rnnlib.batched.run_config_seeds", call=batched.run_config_seeds,
      args=lambda: dict(experiment=experiments.EXPERIMENTS["init"],
                        config=experiments.EXPERIMENTS["init"].configs["orthogonal"],
                        seeds=[0, 1], steps=1, T=10),
      ints=dict(steps=(1, None), T=(10, None)))
NO_ARGUMENTS["rnnlib.batched.RNNStackCache"] = ("a result record the library returns "
                                                "(fields not validated as input)")


def public_names():
    """Every public name: rnnlib.__all__, and the functions, classes and methods that
    each submodule of rnnlib._SUBMODULES defines."""
    names = {f"rnnlib.{n}" for n in rnnlib.__all__}
    for sub in rnnlib._SUBMODULES:
        module = importlib.import_module(f"rnnlib.{sub}")
        for name, obj in vars(module).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
                continue
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            names.add(f"{module.__name__}.{name}")
            if inspect.isclass(obj) and not issubclass(obj, BaseException):
                for meth, member in vars(obj).items():
                    if not meth.startswith("_") and (
                            inspect.isfunction(member)
                            or isinstance(member, (staticmethod, classmethod))):
                        names.add(f"{module.__name__}.{name}.{meth}")
    return names


def test_every_public_name_has_bad_input_cases():
    missing = sorted(public_names() - set(TABLE) - set(NO_ARGUMENTS))
    assert not missing, (f"{len(missing)} public names have no bad-input cases in "
                         f"tests/test_bad_inputs.py (add an Entry to TABLE or a reason to "
                         f"NO_ARGUMENTS): {', '.join(missing)}")


def test_table_has_no_stale_names():
    stale = sorted((set(TABLE) | set(NO_ARGUMENTS)) - public_names())
    assert not stale, f"entries for names that are not public (any more): {stale}"


def _all_cases():
    for key, e in TABLE.items():
        for names, cls, mutate in bad_cases(e):
            label = names if isinstance(names, str) else "+".join(names)
            yield pytest.param(key, names, cls, mutate, id=f"{key}|{label}|{cls}")


CASES = list(_all_cases())


def _call(e, kwargs):
    kwargs = dict(kwargs)
    self_ = kwargs.pop("_self", None)
    return e.call(**kwargs) if self_ is None else e.call(self_, **kwargs)


@pytest.mark.parametrize("key", sorted(TABLE))
def test_valid_arguments_work(key):
    """The valid call of each entry runs without error, so each bad case differs from a
    working call in one way."""
    _call(TABLE[key], TABLE[key].args())


@pytest.mark.parametrize("key, names, cls, mutate", CASES)
def test_bad_input_is_refused_with_a_named_error(key, names, cls, mutate):
    e = TABLE[key]
    kwargs = mutate(e.args())
    accepted = e.accepted.get((names, cls))
    if accepted is not None:            # legitimately accepted: check the result
        reason, check = accepted
        check(e, kwargs, _call(e, kwargs))
        return
    try:
        result = _call(e, kwargs)
    except ValueError as err:           # ArgumentTypeError, NonFiniteError included
        allowed = ((names,) if isinstance(names, str) else names) + e.also.get((names, cls), ())
        assert _names_argument(str(err), allowed), (
            f"{key} with {cls} {names}: the message does not name {names}: {err}")
        return
    except Exception as err:            # IndexError, ZeroDivisionError, plain TypeError...
        pytest.fail(f"{key} with {cls} {names}: deep {type(err).__name__} instead of a "
                    f"named ValueError: {err}")
    pytest.fail(f"{key} with {cls} {names}: returned {type(result).__name__} instead of "
                "raising")


def test_the_suite_tries_many_cases_per_name():
    """Every entry with arguments yields cases (the closing note reports the total)."""
    with_args = [k for k, e in TABLE.items() if any(
        (e.arrays, e.ints, e.numbers, e.choices, e.rngs, e.bools, e.callables, e.indices,
         e.masks))]
    counted = {c.values[0] for c in CASES}
    assert set(with_args) <= counted and len(CASES) > 1000


# --------------------------------------------------------------------------------------
# Results that alias a cache
# --------------------------------------------------------------------------------------

def _arrays_in(obj):
    if isinstance(obj, np.ndarray):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for item in obj:
            yield from _arrays_in(item)
    elif isinstance(obj, dict):
        for item in obj.values():
            yield from _arrays_in(item)


_SEQUENCE = {
    "rnn": (rnnlib.rnn_forward, rnnlib.rnn_backward, 1, 0),
    "lstm": (rnnlib.lstm_forward, rnnlib.lstm_backward, 4, 0),
    "gru": (rnnlib.gru_forward, rnnlib.gru_backward, 3, 1),
}


@pytest.mark.parametrize("cell", sorted(_SEQUENCE))
@pytest.mark.parametrize("n, hidden", [(1, 1), (1, 3), (2, 1)])
def test_returned_h_shares_no_memory_with_the_cache(cell, n, hidden):
    forward, backward, G, extra = _SEQUENCE[cell]
    r = _rng(3)
    args = [r.standard_normal((n, T, D)), r.standard_normal((n, hidden)),
            r.standard_normal((D, G * hidden)), r.standard_normal((hidden, G * hidden)),
            r.standard_normal(G * hidden)] + [r.standard_normal(hidden) for _ in range(extra)]
    h, cache = forward(*args)
    shared = [i for i, a in enumerate(_arrays_in(cache)) if np.shares_memory(h, a)]
    assert not shared, f"{cell}_forward's h shares memory with cache arrays {shared}"
    dh = r.standard_normal(h.shape)
    before = [g.copy() for g in _arrays_in(backward(dh, cache))]
    h[...] = 1e3                      # editing the returned h must not change backward
    after = list(_arrays_in(backward(dh, cache)))
    assert len(before) == len(after)
    for g0, g1 in zip(before, after):
        np.testing.assert_array_equal(g0, g1)


def test_readout_and_embedding_results_do_not_alias_the_cache():
    out, cache = rnnlib.temporal_affine_forward(**_affine())
    assert not any(np.shares_memory(out, a) for a in cache)
    grads = rnnlib.temporal_affine_backward(np.ones_like(out), cache)
    assert not any(np.shares_memory(g, a) for g in grads for a in cache)
    u, cache = rnnlib.word_embedding_forward(**_embed())
    assert not any(np.shares_memory(u, a) for a in cache)


# --------------------------------------------------------------------------------------
# Shape and dtype fuzzing of the sequence functions and the losses (hypothesis)
# --------------------------------------------------------------------------------------

FUZZ = settings(max_examples=50, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
_size = st.integers(1, 4)
_FORWARD = {"rnn": rnnlib.rnn_forward, "lstm": rnnlib.lstm_forward, "gru": rnnlib.gru_forward}
_BACKWARD = {"rnn": rnnlib.rnn_backward, "lstm": rnnlib.lstm_backward,
             "gru": rnnlib.gru_backward}


def _sequence_args(cell, n, t, d, h, dtype):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    r = _rng(n * 1000 + t * 100 + d * 10 + h)
    args = dict(x=r.standard_normal((n, t, d)), h0=r.standard_normal((n, h)),
                Wx=0.5 * r.standard_normal((d, G * h)), Wh=0.5 * r.standard_normal((h, G * h)),
                b=r.standard_normal(G * h))
    if cell == "gru":
        args["bhn"] = r.standard_normal(h)
    return {k: v.astype(dtype) for k, v in args.items()}


@FUZZ
@given(cell=st.sampled_from(sorted(_FORWARD)), n=_size, t=_size, d=_size, h=_size,
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_matching_shapes_give_finite_results_of_the_right_shape(cell, n, t, d, h, dtype):
    args = _sequence_args(cell, n, t, d, h, dtype)
    out, cache = _FORWARD[cell](**args)
    assert out.shape == (n, t, h) and out.dtype == dtype and np.isfinite(out).all()
    grads = _BACKWARD[cell](np.ones_like(out), cache)
    assert len(grads) == len(args)
    for g, (name, a) in zip(grads, args.items()):
        assert g.shape == a.shape, (name, g.shape, a.shape)
        assert g.dtype == dtype and np.isfinite(g).all()


@FUZZ
@given(cell=st.sampled_from(sorted(_FORWARD)), n=_size, t=_size, d=_size, h=_size,
       which=st.sampled_from(["x", "h0", "Wx", "Wh", "b"]), axis=st.integers(0, 2),
       delta=st.sampled_from([-1, 1, 2]))
def test_fuzz_mismatched_shapes_raise_a_named_error(cell, n, t, d, h, which, axis, delta):
    args = _sequence_args(cell, n, t, d, h, np.float64)
    a = args[which]
    axis = axis % a.ndim
    if which == "x" and axis == 1:
        axis = 2                       # T of x alone is free
    new = a.shape[axis] + delta
    if new < 1:
        new = a.shape[axis] + 1
    shape = list(a.shape)
    shape[axis] = new
    args[which] = np.resize(a, shape)
    with pytest.raises(ValueError) as err:
        _FORWARD[cell](**args)
    assert _names_argument(str(err.value), ("x", "x[:, t]", "Wx", "Wh", "b", "h0")), \
        str(err.value)


@FUZZ
@given(n=_size, t=_size, k=_size, wrong=st.sampled_from(["target", "mask"]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_fuzz_losses(n, t, k, wrong, dtype):
    r = _rng(n * 100 + t * 10 + k)
    pred = r.standard_normal((n, t, k)).astype(dtype)
    target = r.standard_normal((n, t, k)).astype(dtype)
    mask = r.random((n, t)) < 0.7
    mask[0, 0] = True
    loss, dpred = rnnlib.mean_squared_error(pred, target, mask)
    assert np.isfinite(loss) and dpred.shape == pred.shape and np.isfinite(dpred).all()
    y = r.integers(0, k, size=(n, t))
    loss, dx = rnnlib.temporal_softmax_loss(pred, y, mask)
    assert np.isfinite(loss) and dx.shape == pred.shape and dx.dtype == dtype
    bad = {"pred": pred, "target": target, "mask": mask}
    bad[wrong] = np.resize(bad[wrong], bad[wrong].shape[:-1] + (bad[wrong].shape[-1] + 1,))
    with pytest.raises(ValueError) as err:
        rnnlib.mean_squared_error(bad["pred"], bad["target"], bad["mask"])
    assert _names_argument(str(err.value), wrong), str(err.value)
    with pytest.raises(ValueError) as err:
        rnnlib.temporal_softmax_loss(pred, y, np.resize(mask, (n, t + 1)))
    assert _names_argument(str(err.value), "mask"), str(err.value)
