r"""Layer classes in the style of Keras, thin wrappers around the functional core.

A layer owns named parameters (``layer.params``, a dict of arrays with the names of the
core functions: ``Wx``, ``Wh``, ``b``, ``bhn``; ``W``, ``b`` for :class:`Dense`; ``W``
for :class:`Embedding`) and, after ``backward``, their gradients
(``layer.grads``, same keys). ``forward(x, mask=None)`` and ``backward(dout)`` call
:func:`rnnlib.rnn.rnn_forward`, :func:`rnnlib.lstm.lstm_forward`, :func:`rnnlib.gru.gru_forward`,
:func:`rnnlib.affine.temporal_affine_forward` and :func:`rnnlib.embedding.word_embedding_forward` and
their backward passes: the math exists once, in the core.

:class:`Sequential` stacks layers and exposes all parameters under prefixed names
(``"0.Wx"``, ``"1.forward.Wh"``, ``"2.W"``), so :class:`rnnlib.optim.SGD` and
:class:`rnnlib.optim.Adam` train a whole model with ``opt.step(model.params, model.grads)``.

Variable-length sequences
-------------------------
A mask of shape (N, T) marks the valid steps of each sequence; padding sits at the end
(each row is ``True`` for a prefix of length :math:`L_n \ge 1`, then ``False``). Padded
steps carry the state through unchanged,

.. math::

    h_t = m_t\, \tilde h_t + (1 - m_t)\, h_{t-1},

so the output at a padded step repeats the last valid state and
``return_sequences=False`` returns :math:`h_{L_n}` of every sequence. The recurrent layers
implement this by running the core sequence functions once per group of sequences of
equal length on their valid prefix; the backward pass adds the gradients that arrive at
the padded steps to the last valid state (which those steps copy) and calls the core
backward on each group. No masked variant of the math is needed, and a padded step can
change neither the state nor a loss that ignores it. :class:`Bidirectional` reverses
each sequence within its valid length (:cite:`schuster1997`).

Parameters are initialized as in Keras: Glorot-uniform input weights
:cite:`glorot2010`, orthogonal recurrent blocks :cite:`saxe2014` (:mod:`rnnlib.init`),
zero biases except the LSTM's forget gate (``forget_bias=1``, :cite:`jozefowicz2015`).
Randomness comes from the ``seed`` of a layer or the ``rng`` given to :meth:`Layer.build`.
Derived in the chapter "Extensions".
"""
import numpy as np

from . import init as _init
from ._validation import (check_array, check_bool, check_choice, check_float_dtype,
                          check_indices, check_int, check_mask, check_number)
from .affine import temporal_affine_backward, temporal_affine_forward
from .cells import CELLS, get_cell
from .embedding import word_embedding_backward, word_embedding_forward

MERGE_MODES = ("concat", "sum")


def _fmt_shape(shape):
    return "(" + ", ".join("None" if s is None else str(s) for s in shape) + ")"


def mask_lengths(mask, N, T):
    """Validate a padding mask and return the valid length of every sequence.

    Parameters
    ----------
    mask : ndarray of bool (or 0/1), shape (N, T), or None
        ``True`` at the valid steps, a prefix of each row.
    N, T : int
        Batch size and number of steps of the input.

    Returns
    -------
    lengths : ndarray of int, shape (N,)
        :math:`L_n \\in [1, T]`; all ``T`` when ``mask`` is None.
    """
    N, T = check_int("N", N), check_int("T", T)
    if mask is None:
        return np.full(N, T)
    mask = check_mask("mask", mask, (N, T))
    lengths = mask.sum(axis=1)
    prefix = np.arange(T) < lengths[:, None]
    if not np.array_equal(mask, prefix):
        bad = int(np.flatnonzero((mask != prefix).any(axis=1))[0])
        raise ValueError(f"mask must mark a prefix of each sequence (padding at the end); "
                         f"row {bad} is {mask[bad].astype(int).tolist()}")
    if lengths.min() == 0:
        raise ValueError(f"every sequence needs at least one valid step; row "
                         f"{int(np.argmin(lengths))} of mask is all False")
    return lengths


def reverse_sequences(x, lengths):
    """Reverse every sequence of ``x`` within its valid length (padding stays in place).

    Parameters
    ----------
    x : ndarray, shape (N, T) or (N, T, D)
    lengths : ndarray of int, shape (N,)

    Returns
    -------
    ndarray, the shape of ``x``
        ``out[n, t] = x[n, L_n - 1 - t]`` for :math:`t < L_n`, ``x[n, t]`` otherwise. The
        map is its own inverse, so it also carries gradients back.
    """
    check_array("x", x)
    if x.ndim not in (2, 3) or 0 in x.shape[:2]:
        raise ValueError(f"x must have shape (N, T) or (N, T, D) with N, T >= 1; got "
                         f"{x.shape}")
    N, T = x.shape[:2]
    check_indices("lengths", lengths, T + 1, ndim=1)
    if lengths.shape != (N,) or lengths.min() < 1:
        raise ValueError(f"lengths must hold N={N} lengths in [1, {T}]; got {lengths!r:.60}")
    t = np.arange(T)
    src = np.where(t < lengths[:, None], lengths[:, None] - 1 - t, t)
    return x[np.arange(N)[:, None], src]


def _format_table(rows, total):
    """A Keras-like summary table of (layer, output shape, params) rows."""
    head = ("Layer", "Output shape", "Params")
    rows = [head] + [(a, _fmt_shape(s), f"{p:,}") for a, s, p in rows]
    w = [max(len(r[k]) for r in rows) for k in range(3)]
    line = lambda r: f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:>{w[2]}}"
    rule = "-" * (sum(w) + 4)
    body = [line(r) for r in rows[1:]]
    return "\n".join([line(rows[0]), rule, *body, rule, f"Total params: {total:,}"])


class Layer:
    """Base class: parameters, gradients, lazy seeded build, summary.

    Subclasses define ``_make_params(input_shape, rng)`` (returning the dict of
    parameters), ``output_shape(input_shape)``, ``forward`` and ``backward``.

    Parameters
    ----------
    seed : int, optional
        Seed of the initialization; without it, :meth:`build` uses the ``rng`` it is
        given (a :class:`Sequential` passes its own) or fresh entropy.
    dtype : {numpy.float64, numpy.float32}
        Dtype of the parameters; inputs must share it.
    """

    #: number of dimensions of the inputs the layer accepts
    input_ndims = (2, 3)

    def __init__(self, seed=None, dtype=np.float64):
        self.dtype = check_float_dtype("dtype", dtype)
        self.seed = None if seed is None else check_int("seed", seed, low=0)
        self._params, self._grads = {}, {}
        self.input_shape = None
        self._cache = None

    @property
    def params(self):
        """dict of ndarray: the parameters by name (empty before :meth:`Layer.build`)."""
        return self._params

    @property
    def grads(self):
        """dict of ndarray: gradients of the last ``backward``, keys of ``params``."""
        return self._grads

    @property
    def built(self):
        return self.input_shape is not None

    @property
    def name(self):
        return type(self).__name__

    def build(self, input_shape, rng=None):
        """Create the parameters for inputs of ``input_shape`` (batch and time may be None).

        Parameters
        ----------
        input_shape : tuple
            E.g. ``(None, None, D)`` for sequences, ``(None, H)`` for states.
        rng : numpy.random.Generator, optional
            Used when the layer has no ``seed``.
        """
        input_shape = tuple(input_shape)
        if len(input_shape) not in self.input_ndims:
            want = " or ".join(f"{n} dimensions" for n in self.input_ndims)
            raise ValueError(f"{self.name} takes inputs with {want}; got input shape "
                             f"{_fmt_shape(input_shape)}")
        if self.seed is not None:
            rng = np.random.default_rng(self.seed)
        elif rng is None:
            rng = np.random.default_rng()
        self._build(input_shape, rng)
        self.input_shape = (None,) + input_shape[1:]
        return self

    def _build(self, input_shape, rng):
        self._params = self._make_params(input_shape, rng)
        self._grads = {k: np.zeros_like(v) for k, v in self._params.items()}

    def _build_for(self, x):
        """Build on first use from the shape of ``x``, then validate ``x``."""
        check_array("x", x, floating=False, finite=False)
        if x.ndim not in self.input_ndims:
            want = " or ".join(str(n) for n in self.input_ndims)
            raise ValueError(f"x of {self.name} must have {want} dimensions; got shape "
                             f"{x.shape}")
        if 0 in x.shape[:2]:
            raise ValueError(f"x of {self.name} must hold at least one sequence and one step; "
                             f"got shape {x.shape}")
        if not self.built:
            self.build(self._free_shape(x.shape))
        self._check_input(x)

    def _free_shape(self, shape):
        """The input shape a lazy build records: every size free but the features."""
        return (None,) * (len(shape) - 1) + (shape[-1],)

    def _check_input(self, x):
        want = self.input_shape
        check_array("x", x, dtype=self.dtype)
        fits = len(x.shape) == len(want) and all(w is None or w == s
                                                 for w, s in zip(want, x.shape))
        if not fits:
            raise ValueError(f"x of {self.name} must have shape {_fmt_shape(want)}; "
                             f"got {x.shape}")

    def _check_backward(self, dout):
        if self._cache is None:
            raise ValueError(f"{self.name}.backward needs a forward pass first")
        check_array("dout", dout, shape=self._out_shape, dtype=self.dtype)

    def count_params(self):
        """Total number of scalar parameters."""
        return int(sum(v.size for v in self.params.values()))

    def _summary_rows(self, prefix=""):
        return [(prefix + self.name, self.output_shape(self.input_shape), self.count_params())]

    def summary(self, print_fn=print):
        """Print a table of output shape and parameter count (like Keras' ``summary``)."""
        if not self.built:
            raise ValueError(f"{self.name} is not built yet; call build(input_shape) or "
                             "forward once")
        if not callable(print_fn):
            raise ValueError(f"print_fn must be a function of one string; got {print_fn!r}")
        print_fn(_format_table(self._summary_rows(), self.count_params()))

    def __repr__(self):
        return f"{type(self).__name__}({self._config_repr()})"

    def _config_repr(self):
        return ""


class _Recurrent(Layer):
    """Shared machinery of the recurrent layers, driven by the cell registry
    (:mod:`rnnlib.cells`): a subclass names its ``cell`` and its initializer defaults;
    masks by length groups, ``return_sequences``, the initial and final state, the
    stateful mode and the gradients live here once."""

    input_ndims = (3,)
    #: the registry key of the cell (see :data:`rnnlib.cells.CELLS`)
    cell_name = None
    #: keyword arguments of the cell's initializer that the layer fixes (Keras' defaults)
    init_defaults = {}

    def __init__(self, units, return_sequences=False, return_state=False, stateful=False,
                 seed=None, dtype=np.float64, **options):
        super().__init__(seed, dtype)
        self.cell = get_cell(self.cell_name)
        self.options = self.cell.check_options(options)
        self.units = check_int("units", units)
        self.return_sequences = check_bool("return_sequences", return_sequences)
        self.return_state = check_bool("return_state", return_state)
        self.stateful = check_bool("stateful", stateful)
        self.state = None
        self.dinitial_state = None

    def _config(self):
        return {"units": self.units, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "stateful": self.stateful,
                "seed": self.seed, "dtype": self.dtype, **self.options}

    def _config_repr(self):
        extra = "".join(f", {k}={v!r}" for k, v in self.options.items())
        flags = "".join(f", {k}=True" for k in ("return_state", "stateful") if getattr(self, k))
        return f"{self.units}, return_sequences={self.return_sequences}{flags}{extra}"

    def output_shape(self, input_shape):
        N, T = input_shape[0], input_shape[1]
        return (N, T, self.units) if self.return_sequences else (N, self.units)

    def _make_params(self, input_shape, rng):
        D = input_shape[-1]
        if D is None:
            raise ValueError(f"{self.name} needs the feature size D of its inputs; got input "
                             f"shape {_fmt_shape(input_shape)}")
        return self._init_params(D, rng)

    def _init_params(self, D, rng):
        return self.cell.init(D, self.units, rng, dtype=self.dtype, **self.init_defaults)

    def reset_states(self):
        """Forget the carried state: the next :meth:`forward` starts from zeros (or
        from its ``initial_state``)."""
        self.state = None

    def _initial_state(self, initial_state, N):
        if initial_state is None:
            if self.stateful and self.state is not None:
                if self.state[0].shape[0] != N:
                    raise ValueError(f"a stateful {self.name} carries the state of "
                                     f"{self.state[0].shape[0]} sequences but got a batch of "
                                     f"{N}; call reset_states() to start a batch of another size")
                return self.state
            return self.cell.zero_state(N, self.units, self.dtype)
        return self._check_state("initial_state", initial_state, N)

    def _check_state(self, what, state, N):
        """A state (or its gradient) as a tuple named by the cell, each array (N, H)."""
        names = self.cell.state
        if isinstance(state, np.ndarray) and len(names) == 1:
            state = (state,)
        if not isinstance(state, (tuple, list)) or len(state) != len(names):
            raise ValueError(f"{what} of {self.name} must be a tuple ({', '.join(names)}) "
                             f"of arrays (N, {self.units}); got {type(state).__name__}")
        for name, a in zip(names, state):
            check_array(f"{what} {name}", a, shape=(N, self.units), dtype=self.dtype)
        return tuple(state)

    def forward(self, x, mask=None, initial_state=None):
        r"""Run the layer over a batch of sequences.

        Parameters
        ----------
        x : ndarray, shape (N, T, D)
        mask : ndarray of bool, shape (N, T), optional
            Valid steps (a prefix of each row); padded steps carry the state unchanged.
        initial_state : tuple of ndarray (N, H), optional
            The state before the first step, named by the cell's ``state`` (``(h,)``, or
            ``(h, c)`` for the LSTM; a single array is accepted for one-array states).
            Default: zeros, or, for a ``stateful`` layer, the state the previous call
            ended in.

        Returns
        -------
        out : ndarray, shape (N, T, H) if ``return_sequences`` else (N, H)
            All states, or each sequence's state at its last valid step.
        state : tuple of ndarray (N, H)
            Only with ``return_state=True`` (the result is then ``(out, state)``): the
            state after each sequence's last valid step. It is also kept as
            :attr:`state` in every mode.
        """
        self._build_for(x)
        N, T, _ = x.shape
        if N == 0:
            raise ValueError(f"x must hold at least one sequence; got shape {x.shape}")
        H = self.units
        lengths = mask_lengths(mask, N, T)
        state0 = self._initial_state(initial_state, N)
        groups = ([(slice(None), T)] if np.all(lengths == T) else
                  [(np.flatnonzero(lengths == L), int(L)) for L in np.unique(lengths)])
        h = np.empty((N, T, H), dtype=self.dtype)
        final = tuple(np.empty((N, H), dtype=self.dtype) for _ in self.cell.state)
        caches = []
        for idx, L in groups:
            s0 = tuple(s[idx] for s in state0)
            hg, sg, cache = self.cell.run(x[idx, :L], s0, self.params, **self.options)
            h[idx, :L] = hg
            h[idx, L:] = hg[:, -1:]                    # padding carries the last state
            for f, s in zip(final, sg):
                f[idx] = s
            caches.append(cache)
        out = h if self.return_sequences else h[np.arange(N), lengths - 1]
        self._cache = (groups, caches, x.shape, lengths)
        self._out_shape = out.shape
        self.state = final
        return (out, tuple(s.copy() for s in final)) if self.return_state else out

    def backward(self, dout, dstate=None):
        """Backward pass of :meth:`forward`: fills ``grads`` and returns ``dx``.

        Parameters
        ----------
        dout : ndarray, shape of the output of :meth:`forward`
        dstate : tuple of ndarray (N, H), optional
            Gradients on the final state (when it was carried on, e.g. into a decoder).

        Returns
        -------
        dx : ndarray, shape (N, T, D)
            The gradient of the initial state is kept as :attr:`dinitial_state` (a tuple
            like the state).
        """
        self._check_backward(dout)
        groups, caches, (N, T, D), lengths = self._cache
        names = self.cell.state
        if dstate is not None:
            dstate = self._check_state("dstate", dstate, N)
        if self.return_sequences:
            dh = dout
        else:
            dh = np.zeros((N, T, self.units), dtype=self.dtype)
            dh[np.arange(N), lengths - 1] = dout
        dx = np.zeros((N, T, D), dtype=self.dtype)
        dstate0 = tuple(np.zeros((N, self.units), dtype=self.dtype) for _ in names)
        self._grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        for (idx, L), cache in zip(groups, caches):
            dhg = dh[idx, :L].copy()
            dhg[:, -1] += dh[idx, L:].sum(axis=1)      # padded steps copy state L
            dfinal = None if dstate is None else tuple(d[idx] for d in dstate)
            dxg, ds0, grads = self.cell.run_backward(dhg, cache, dfinal)
            dx[idx, :L] = dxg
            for acc, d in zip(dstate0, ds0):
                acc[idx] = d
            for k, g in grads.items():
                self._grads[k] += g
        self.dinitial_state = dstate0
        return dx


class SimpleRNN(_Recurrent):
    r"""The vanilla RNN layer, :math:`h_t = \sigma_h(h_{t-1} W_{hh} + u_t W_{uh} + b_h)`,
    on :func:`rnnlib.rnn.rnn_forward` / :func:`rnnlib.rnn.rnn_backward`.

    Parameters
    ----------
    units : int
        H, the number of hidden units.
    activation : {"tanh", "relu"}
    return_sequences : bool
        Return all states (N, T, H) instead of the last one (N, H).
    return_state : bool
        Also return the final state: ``forward`` gives ``(out, (h_T,))``.
    stateful : bool
        Start each call from the state the previous call ended in (truncated BPTT over
        consecutive windows, step-by-step generation); ``reset_states()`` forgets it.
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params : dict
        ``Wx`` (D, H) Glorot uniform, ``Wh`` (H, H) orthogonal, ``b`` (H,) zeros.
    state : tuple (h,)
        The state after the last ``forward``.
    """

    cell_name = "rnn"
    init_defaults = {"scheme": "orthogonal"}

    def __init__(self, units, activation="tanh", return_sequences=False, return_state=False,
                 stateful=False, seed=None, dtype=np.float64):
        super().__init__(units, return_sequences, return_state, stateful, seed, dtype,
                         activation=activation)

    @property
    def activation(self):
        return self.options["activation"]


class LSTM(_Recurrent):
    r"""The LSTM layer (:cite:`hochreiter1997`, :cite:`gers2000`) on
    :func:`rnnlib.lstm.lstm_forward` / :func:`rnnlib.lstm.lstm_backward`; the state is
    ``(h, c)``, zeros unless given.

    Parameters
    ----------
    units : int
        H.
    return_sequences, return_state, stateful : bool
        As for :class:`SimpleRNN`; the state is ``(h_T, c_T)``.
    forget_bias : float
        Initial bias of the forget gate (1 by default, :cite:`jozefowicz2015`).
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params : dict
        ``Wx`` (D, 4H), ``Wh`` (H, 4H), ``b`` (4H,), gate blocks i, f, o, g.
    state : tuple (h, c)
    """

    cell_name = "lstm"

    def __init__(self, units, return_sequences=False, forget_bias=1.0, return_state=False,
                 stateful=False, seed=None, dtype=np.float64):
        super().__init__(units, return_sequences, return_state, stateful, seed, dtype)
        self.forget_bias = check_number("forget_bias", forget_bias)
        self.init_defaults = {"forget_bias": self.forget_bias}

    def _config(self):
        return {**super()._config(), "forget_bias": self.forget_bias}


class GRU(_Recurrent):
    r"""The GRU layer (:cite:`cho2014`, PyTorch's variant) on :func:`rnnlib.gru.gru_forward`
    / :func:`rnnlib.gru.gru_backward`.

    Parameters
    ----------
    units : int
        H.
    return_sequences, return_state, stateful : bool
        As for :class:`SimpleRNN`.
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params : dict
        ``Wx`` (D, 3H), ``Wh`` (H, 3H), ``b`` (3H,), ``bhn`` (H,), gate blocks r, z, n.
    state : tuple (h,)
    """

    cell_name = "gru"


def recurrent_layer_classes():
    """The recurrent layer class of every cell of the registry, by cell name."""
    classes = {cls.cell_name: cls for cls in _Recurrent.__subclasses__()}
    missing = sorted(set(CELLS) - set(classes))
    if missing:
        raise RuntimeError(f"cells without a layer class: {missing}")
    return classes


class ParameterViews:
    """The parameters of a model made of layers, as views under prefixed names.

    A mixin: a class that lists its layers by ``_children()``, a list of ``(prefix,
    layer)`` pairs, gets ``params`` and ``grads``, dicts whose entry
    ``"<prefix>.<name>"`` is the layer's own array ``layer.params[name]`` (or
    ``layer.grads[name]``), not a copy. An optimizer's in-place update of ``params``
    therefore trains the layers, and the keys say which layer an array belongs to.
    :class:`Sequential` (prefixes ``"0"``, ``"1"``, ...), :class:`Bidirectional`
    (``"forward"``, ``"backward"``) and :class:`rnnlib.seq2seq.Seq2Seq`
    (``"encoder.rnn"``, ...) use it.
    """

    def _children(self):
        """List of (prefix, layer)."""
        raise NotImplementedError

    def _views(self, attr):
        return {f"{prefix}.{k}": v for prefix, layer in self._children()
                for k, v in getattr(layer, attr).items()}

    @property
    def params(self):
        """dict of ndarray: every parameter of the layers, by prefixed name."""
        return self._views("params")

    @property
    def grads(self):
        """dict of ndarray: the layers' gradients of the last backward pass, by prefixed
        name."""
        return self._views("grads")


class _Container(ParameterViews, Layer):
    """A layer made of layers (its parameters by :class:`ParameterViews`)."""


class Bidirectional(_Container):
    r"""Run a recurrent layer forwards and a copy of it backwards in time
    :cite:`schuster1997`, and merge the two.

    The backward copy reads each sequence reversed within its valid length; with
    ``return_sequences=True`` its states are reversed back, so step t of the output holds
    :math:`[\overrightarrow{h}_t, \overleftarrow{h}_t]` ("concat") or their sum ("sum").
    With ``return_sequences=False`` the merge is of the forward state at the last valid
    step and the backward state after reading the whole sequence (at step 1).

    Parameters
    ----------
    layer : SimpleRNN, LSTM or GRU
        An unbuilt layer; two fresh copies of it are made (``forward_layer`` and
        ``backward_layer``), initialized one after the other from one generator.
    merge : {"concat", "sum"}
    seed : int, optional
        Defaults to the seed of ``layer``.
    """

    input_ndims = (3,)

    def __init__(self, layer, merge="concat", seed=None):
        if not isinstance(layer, _Recurrent):
            raise ValueError(f"Bidirectional wraps a SimpleRNN, LSTM or GRU; got "
                             f"{type(layer).__name__}")
        if layer.built:
            raise ValueError("Bidirectional needs an unbuilt layer (it makes two fresh copies)")
        if layer.stateful or layer.return_state:
            raise ValueError("Bidirectional takes a layer without stateful or return_state: "
                             "the backward direction starts from the end of each sequence")
        if merge not in MERGE_MODES:
            raise ValueError(f"merge must be one of {list(MERGE_MODES)}; got {merge!r}")
        super().__init__(layer.seed if seed is None else seed, layer.dtype)
        self.merge = merge
        config = {**layer._config(), "seed": None}
        self.forward_layer = type(layer)(**config)
        self.backward_layer = type(layer)(**config)
        self.return_sequences = layer.return_sequences
        self.units = layer.units * (2 if merge == "concat" else 1)

    @property
    def name(self):
        return f"Bidirectional({self.forward_layer.name})"

    def _config_repr(self):
        return f"{self.forward_layer!r}, merge={self.merge!r}"

    def _children(self):
        return [("forward", self.forward_layer), ("backward", self.backward_layer)]

    def _build(self, input_shape, rng):
        self.forward_layer.build(input_shape, rng)
        self.backward_layer.build(input_shape, rng)

    def output_shape(self, input_shape):
        N, T = input_shape[0], input_shape[1]
        return (N, T, self.units) if self.return_sequences else (N, self.units)

    def forward(self, x, mask=None, initial_state=None):
        """Forward pass; ``x`` (N, T, D), ``mask`` (N, T) as for the wrapped layer;
        ``initial_state``, optional, is a pair (state of the forward layer, state of the
        backward layer), each as the wrapped layer takes it (the backward layer's state is
        the one before it reads the end of each sequence).

        Returns
        -------
        out : ndarray, shape (N, T, M) or (N, M)
            M = 2H for "concat", H for "sum".
        """
        self._build_for(x)
        lengths = mask_lengths(mask, x.shape[0], x.shape[1])
        if initial_state is None:
            s_f = s_b = None
        elif isinstance(initial_state, (tuple, list)) and len(initial_state) == 2:
            s_f, s_b = initial_state
        else:
            raise ValueError("initial_state of Bidirectional must be a pair (state of the "
                             "forward layer, state of the backward layer)")
        out_f = self.forward_layer.forward(x, mask, initial_state=s_f)
        out_b = self.backward_layer.forward(reverse_sequences(x, lengths), mask,
                                            initial_state=s_b)
        if self.return_sequences:
            out_b = reverse_sequences(out_b, lengths)
        out = np.concatenate([out_f, out_b], axis=-1) if self.merge == "concat" else out_f + out_b
        self._cache = lengths
        self._out_shape = out.shape
        return out

    def backward(self, dout):
        """Backward pass: fills the grads of both copies and returns ``dx`` (N, T, D)."""
        self._check_backward(dout)
        lengths = self._cache
        H = self.forward_layer.units
        d_f, d_b = (dout[..., :H], dout[..., H:]) if self.merge == "concat" else (dout, dout)
        d_f, d_b = np.ascontiguousarray(d_f), np.ascontiguousarray(d_b)
        if self.return_sequences:
            d_b = reverse_sequences(d_b, lengths)
        dx = self.forward_layer.backward(d_f)
        dx += reverse_sequences(self.backward_layer.backward(d_b), lengths)
        return dx


class Dense(Layer):
    r"""The affine readout :math:`y = h W + b` on every step (or on a single state), on
    :func:`rnnlib.affine.temporal_affine_forward`. The output nonlinearity :math:`\sigma_y`
    belongs to the loss (softmax cross-entropy, or none for the squared error).

    Parameters
    ----------
    units : int
        M, the output size.
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params : dict
        ``W`` (H, M) Glorot uniform, ``b`` (M,) zeros.
    """

    def __init__(self, units, seed=None, dtype=np.float64):
        super().__init__(seed, dtype)
        self.units = check_int("units", units)

    def _config_repr(self):
        return str(self.units)

    def output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def _check_input(self, x):
        check_array("x", x, dtype=self.dtype)
        H = self.input_shape[-1]
        if x.ndim not in self.input_ndims or x.shape[-1] != H:
            raise ValueError(f"x of Dense must have shape (N, T, {H}) or (N, {H}); "
                             f"got {x.shape}")

    def _make_params(self, input_shape, rng):
        H = input_shape[-1]
        return {"W": _init.glorot((H, self.units), rng, dtype=self.dtype),
                "b": np.zeros(self.units, dtype=self.dtype)}

    def forward(self, x, mask=None):
        """``x`` (N, T, H) or (N, H) -> (N, T, M) or (N, M); ``mask`` is ignored (the
        map acts on every step alone)."""
        self._build_for(x)
        x3 = x if x.ndim == 3 else x[:, None, :]
        out, cache = temporal_affine_forward(x3, self.params["W"], self.params["b"])
        out = out.reshape(x.shape[:-1] + (self.units,))
        self._cache = cache
        self._out_shape = out.shape
        return out

    def backward(self, dout):
        """Returns ``dx`` like the input and fills ``grads`` (``W``, ``b``)."""
        self._check_backward(dout)
        x3 = self._cache[0]
        dx, dW, db = temporal_affine_backward(dout.reshape(x3.shape[:2] + (self.units,)),
                                              self._cache)
        self._grads = {"W": dW, "b": db}
        return dx.reshape(self._out_shape[:-1] + (x3.shape[-1],))


class Embedding(Layer):
    r"""Symbol indices to vectors, :math:`u_t = W[x_t]`, on
    :func:`rnnlib.embedding.word_embedding_forward`. Must be the first layer of a model.

    Parameters
    ----------
    input_dim : int
        V, the vocabulary size.
    output_dim : int
        D, the vector size.
    seed : int, optional
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params : dict
        ``W`` (V, D), uniform in [-0.05, 0.05] as in Keras.
    """

    input_ndims = (2,)

    def __init__(self, input_dim, output_dim, seed=None, dtype=np.float64):
        super().__init__(seed, dtype)
        self.input_dim = check_int("input_dim", input_dim)
        self.units = self.output_dim = check_int("output_dim", output_dim)

    def _config_repr(self):
        return f"{self.input_dim}, {self.output_dim}"

    def output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def _free_shape(self, shape):
        return (None, None)

    def _make_params(self, input_shape, rng):
        W = rng.uniform(-0.05, 0.05, size=(self.input_dim, self.output_dim))
        return {"W": W.astype(self.dtype)}

    def _check_input(self, x):
        check_indices("x", x, self.input_dim, ndim=2)

    def forward(self, x, mask=None):
        """``x`` int (N, T) -> vectors (N, T, D); ``mask`` is ignored."""
        self._build_for(x)
        out, self._cache = word_embedding_forward(x, self.params["W"])
        self._out_shape = out.shape
        return out

    def backward(self, dout):
        """Fills ``grads["W"]``; returns None (integer inputs have no gradient)."""
        self._check_backward(dout)
        self._grads = {"W": word_embedding_backward(dout, self._cache)}
        return None


def _out_ndim(layer, in_ndim):
    """Number of output dimensions of ``layer`` for inputs of ``in_ndim`` dimensions."""
    if isinstance(layer, (_Recurrent, Bidirectional)):
        return 3 if layer.return_sequences else 2
    if isinstance(layer, Embedding):
        return 3
    return in_ndim


class Sequential(_Container):
    """A stack of layers, each feeding the next.

    Parameters
    ----------
    layers : list of Layer
    seed : int, optional
        Seeds the layers that have no seed of their own, in order.

    Notes
    -----
    ``params`` and ``grads`` are dicts over all layers with prefixed keys (``"0.Wx"``,
    ``"1.forward.Wh"``, ...) holding the layers' own arrays, so an optimizer's in-place
    update trains the model. The wiring is checked at construction: a recurrent layer
    needs sequences (N, T, D), so every recurrent layer below another one must have
    ``return_sequences=True``.
    """

    def __init__(self, layers, seed=None):
        layers = list(layers)
        if not layers or not all(isinstance(layer, Layer) for layer in layers):
            raise ValueError("Sequential needs a non-empty list of layers")
        dtypes = {layer.dtype for layer in layers}
        if len(dtypes) > 1:
            raise ValueError(f"all layers must share one dtype; got {sorted(map(str, dtypes))}")
        super().__init__(seed, layers[0].dtype)
        self.layers = layers
        ndim = 3 if isinstance(layers[0], (_Recurrent, Bidirectional)) else None
        for i, layer in enumerate(layers):
            if getattr(layer, "return_state", False):
                raise ValueError(f"layer {i} ({layer.name}) has return_state=True; in a "
                                 "Sequential each layer passes one array on (its final state "
                                 "is still kept in layer.state)")
            if i > 0 and isinstance(layer, Embedding):
                raise ValueError(f"layer {i} (Embedding) takes integer symbols and must be "
                                 "the first layer")
            if ndim is not None and ndim not in layer.input_ndims:
                prev = layers[i - 1]
                want = f"layer {i} ({layer.name}) needs sequences (N, T, D) but layer {i - 1} "
                if isinstance(prev, (_Recurrent, Bidirectional)):
                    raise ValueError(f"{want}({prev.name}) returns its last state "
                                     f"(N, {prev.units}); set return_sequences=True on "
                                     f"layer {i - 1}")
                raise ValueError(f"{want}({prev.name}) returns (N, {prev.units}) without a "
                                 "time axis")
            ndim = _out_ndim(layer, ndim)

    def _children(self):
        return [(str(i), layer) for i, layer in enumerate(self.layers)]

    def reset_states(self):
        """Forget the carried state of every stateful layer."""
        for layer in self.layers:
            if hasattr(layer, "reset_states"):
                layer.reset_states()

    def _build(self, input_shape, rng):
        shape = input_shape
        for i, layer in enumerate(self.layers):
            try:
                layer.build(shape, rng)
            except ValueError as err:
                raise ValueError(f"layer {i} ({layer.name}): {err}") from None
            shape = layer.output_shape(shape)

    @property
    def input_ndims(self):
        return self.layers[0].input_ndims

    def _check_input(self, x):
        self.layers[0]._check_input(x)

    def _free_shape(self, shape):
        return self.layers[0]._free_shape(shape)

    def output_shape(self, input_shape):
        for layer in self.layers:
            input_shape = layer.output_shape(input_shape)
        return input_shape

    def forward(self, x, mask=None):
        """Run every layer in turn, passing ``mask`` (N, T) to each."""
        self._build_for(x)
        for layer in self.layers:
            x = layer.forward(x, mask)
        return x

    def backward(self, dout):
        """Backpropagate through every layer; fills all grads and returns ``dx``
        (None when the first layer is an :class:`Embedding`)."""
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def _summary_rows(self, prefix=""):
        rows = []
        for i, layer in enumerate(self.layers):
            rows += layer._summary_rows(f"{prefix}{i} ")
        return rows

    def _config_repr(self):
        return "[" + ", ".join(repr(layer) for layer in self.layers) + "]"

    def save(self, path):
        """Save the weights as ``.npz``; see :func:`rnnlib.io.save_weights`."""
        from .io import save_weights
        return save_weights(self, path)

    def load(self, path):
        """Load weights saved by :meth:`save`; see :func:`rnnlib.io.load_weights`."""
        from .io import load_weights
        load_weights(self, path)
        return self
