r"""A character-level language model: an LSTM that reads text and predicts the next character.

The capstone of the chapter "Extensions", after :cite:`graves2013` and
:cite:`karpathy2015`. A character :math:`x_t` is embedded, read by an LSTM
(:cite:`hochreiter1997`), and a linear readout scores the next character,

.. math::

    u_t = W_e[x_t], \qquad h_t, c_t = \mathrm{LSTM}(u_t, h_{t-1}, c_{t-1}), \qquad
    p(x_{t+1} \mid x_{\le t}) = \operatorname{softmax}(h_t W_{hy} + b_y),

trained to minimize the cross-entropy in nats per character. The math is the functional
core's: :func:`rnnlib.embedding.word_embedding_forward`, :func:`rnnlib.lstm.lstm_forward` (which takes
the initial state ``h0``, ``c0``), :func:`rnnlib.affine.temporal_affine_forward`,
:func:`rnnlib.losses.temporal_softmax_loss` and their backward passes.

Training is *truncated BPTT over consecutive windows*: the training text is cut into
``batch_size`` streams, one per row of a batch; each step takes the next ``T``
characters of every stream, starts from the state the previous window ended in, and
backpropagates only within the window (the carried state is a constant). The state is
reset to zero at the start of every pass over the text.

The corpus is the English prose of Python's own documentation of the language,
``pydoc_data.topics.topics`` (shipped with CPython, license PSF), mapped onto a fixed
alphabet of 96 characters (newline and printable ASCII; typographic quotes and dashes
become their ASCII forms, anything else ``"?"``), so the vocabulary does not depend on
the Python version. The last 10% of the text is the validation split.

A trained model is one ``.npz`` file (weights, vocabulary as a unicode array, sizes and
training record; read with ``allow_pickle=False``). The command line trains and samples::

    python -m rnnlib.charlm train --steps 4000 --sample-every 500 --out charlm.npz
    python -m rnnlib.charlm sample charlm.npz --prefix "The " --temperature 0.5

With ``--sample-every N`` the run also records, at step 0, every N steps and at the end,
a sample of fixed length from a fixed prefix, temperature and seed, with the step, the
training loss and the validation loss at that step (:attr:`CharLM.samples`, stored in
the model file), so a chapter can show how the samples improve as the loss falls.
"""
import os
import sys

import numpy as np

from . import init as _init
from ._validation import (ArgumentTypeError, check_array, check_float_dtype, check_generator,
                          check_indices,
                          check_int, check_number, check_optional_number)
from .activations import log_softmax, softmax
from .cli import Parser, non_negative_int, output_file_problem, positive_float, positive_int
from .io import load_archive, save_archive
from .layers import LSTM, Dense, Embedding, Sequential
from .losses import temporal_softmax_loss
from .optim import Adam
from .train import train as _train

#: The fixed alphabet: newline and the 95 printable ASCII characters.
ALPHABET = "\n" + "".join(chr(i) for i in range(32, 127))

#: Replacements applied by :func:`normalize_text` before unknown characters become "?".
REPLACEMENTS = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                "\u2026": "...", "\u2014": "--", "\u2013": "-", "\t": "    ",
                "\r": ""}

FORMAT = "rnnlib-charlm"
CHECKPOINT_FORMAT = "rnnlib-charlm-checkpoint"
#: Version 2 stores the parameters of the layer model (``param.0.W``, ...); version 3
#: adds the optional samples recorded during training (``samples.*``). Files of version
#: 1 (``We``, ``Wx``, ...) and 2 are still read.
VERSION = 3

#: The entries of :attr:`CharLM.samples`: per-sample arrays, then the run's settings.
SAMPLE_FIELDS = ("step", "train_loss", "val_loss", "text")
SAMPLE_SETTINGS = ("prefix", "temperature", "seed")


# --- text and vocabulary -----------------------------------------------------------

def normalize_text(text, alphabet=ALPHABET):
    """Map ``text`` onto ``alphabet``: the :data:`REPLACEMENTS`, then ``"?"`` for any
    other character outside it."""
    for old, new in REPLACEMENTS.items():
        text = text.replace(old, new)
    allowed = set(alphabet)
    return "".join(ch if ch in allowed else "?" for ch in text)


def load_corpus():
    """The corpus: every topic of ``pydoc_data.topics.topics`` in sorted order,
    separated by a blank line, normalized by :func:`normalize_text` (about 465,000
    characters in Python 3.11; license PSF)."""
    from pydoc_data.topics import topics
    return normalize_text("\n\n".join(topics[k].strip("\n") for k in sorted(topics)))


def split_text(text, val_fraction=0.1):
    """Split ``text`` into (train, validation): the last ``val_fraction`` is held out."""
    if not isinstance(text, str):
        raise ArgumentTypeError(f"text must be a str; got {type(text).__name__}")
    val_fraction = check_number("val_fraction", val_fraction, low=0, high=1, low_open=True,
                                high_open=True)
    cut = int(round(len(text) * (1 - val_fraction)))
    return text[:cut], text[cut:]


class Vocabulary:
    """Characters to indices and back.

    Parameters
    ----------
    chars : str
        The distinct characters, index order (default :data:`ALPHABET`).
    """

    def __init__(self, chars=ALPHABET):
        if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
            raise ValueError(f"chars must be a non-empty string of distinct characters; "
                             f"got {chars!r:.60}")
        self.chars = chars
        self._index = {ch: i for i, ch in enumerate(chars)}

    def __len__(self):
        return len(self.chars)

    def __repr__(self):
        return f"Vocabulary({len(self)} characters)"

    def encode(self, text):
        """``text`` (str) -> ndarray of int64, shape (len(text),). Raises ValueError
        naming the characters that are not in the vocabulary."""
        if not isinstance(text, str):
            raise ValueError(f"text must be a str; got {type(text).__name__}")
        try:
            return np.fromiter((self._index[ch] for ch in text), dtype=np.int64,
                               count=len(text))
        except KeyError:
            unknown = sorted({ch for ch in text if ch not in self._index})
            raise ValueError(f"text holds characters that are not in the vocabulary: "
                             f"{unknown[:10]!r} (normalize_text maps text onto the "
                             "alphabet)") from None

    def decode(self, ids):
        """Indices, a 1-D integer array, -> str."""
        check_indices("ids", ids, len(self), ndim=1)
        return "".join(self.chars[i] for i in ids.ravel())


def batches(ids, batch_size, T):
    r"""Consecutive training windows for truncated BPTT.

    The text is cut into ``batch_size`` equal streams (row n of every batch reads stream
    n), and each stream into windows of ``T`` characters; the target is the input
    shifted by one character. Window k+1 of a row continues window k of that row, which
    is what lets the state be carried from one batch to the next.

    Parameters
    ----------
    ids : ndarray of int, shape (L,)
    batch_size : int
        N, the number of streams.
    T : int
        Characters per window.

    Returns
    -------
    x, y : ndarray of int, shape (K, N, T)
        K windows of inputs and targets, ``y[k, n, t]`` the character after
        ``x[k, n, t]``; :math:`K = \lfloor (L-1)/N \rfloor // T`.
    """
    batch_size, T = check_int("batch_size", batch_size), check_int("T", T)
    check_array("ids", ids, ndim=1, floating=False)
    if ids.dtype.kind not in "iu":
        raise ArgumentTypeError(f"ids must be a 1-D integer array; got dtype {ids.dtype}")
    if ids.size == 0:
        raise ValueError("ids must hold at least one character; got an empty array")
    if ids.min() < 0:
        raise ValueError(f"ids must be non-negative character indices; got {ids.min()}")
    K = (len(ids) - 1) // batch_size // T
    if K == 0:
        raise ValueError(f"a text of {len(ids)} characters is too short for one window of "
                         f"{batch_size} streams x {T} characters")
    L = K * T
    x = ids[:batch_size * L].reshape(batch_size, K, T).transpose(1, 0, 2)
    y = ids[1:batch_size * L + 1].reshape(batch_size, K, T).transpose(1, 0, 2)
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


# --- the model ---------------------------------------------------------------------

class CharLM:
    r"""Embedding -> LSTM -> linear readout over the characters of a :class:`Vocabulary`,
    a :class:`rnnlib.layers.Sequential` of the layer API.

    The LSTM layer is ``stateful``: each call starts from the state the previous one
    ended in, which is what truncated BPTT over consecutive windows and sampling one
    character at a time need. :meth:`forward` sets that state explicitly.

    Parameters
    ----------
    vocab : Vocabulary
        V characters.
    hidden_size : int
        H, the LSTM's units.
    embed_size : int
        E, the size of a character's vector.
    rng : numpy.random.Generator
        Draws the initial weights.
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    layers : rnnlib.layers.Sequential
        ``Embedding(V, E)``, ``LSTM(H, return_sequences=True, stateful=True)``,
        ``Dense(V)``.
    params : dict of ndarray
        The layers' parameters under their prefixed names: ``0.W`` (V, E) Gaussian with
        std 1; the LSTM's ``1.Wx`` (E, 4H), ``1.Wh`` (H, 4H), ``1.b`` (4H,) from
        :func:`rnnlib.init.lstm_params` (forget bias 1); ``2.W`` (H, V) Glorot uniform
        and ``2.b`` (V,) zeros.
    info : dict
        What a training run recorded (steps, validation loss, ...); saved with the model.
    samples : dict or None
        Samples recorded during training by :func:`record_sample` (``None`` when there
        are none): ``step`` (int64, shape (S,), strictly increasing), ``train_loss`` and
        ``val_loss`` (float64, shape (S,), nats per character), ``text`` (unicode,
        shape (S,), strings of one length) and the settings they share, ``prefix``
        (str), ``temperature`` (float) and ``seed`` (int). Saved with the model.
    """

    def __init__(self, vocab, hidden_size, embed_size, rng, dtype=np.float64):
        if not isinstance(vocab, Vocabulary):
            raise ArgumentTypeError(f"vocab must be a Vocabulary; got {type(vocab).__name__}")
        self.vocab = vocab
        self.hidden_size = check_int("hidden_size", hidden_size)
        self.embed_size = check_int("embed_size", embed_size)
        self.dtype = check_float_dtype("dtype", dtype)
        check_generator("rng", rng)
        V, H, E = len(vocab), self.hidden_size, self.embed_size
        self.layers = Sequential([Embedding(V, E, dtype=dtype),
                                  LSTM(H, return_sequences=True, stateful=True, dtype=dtype),
                                  Dense(V, dtype=dtype)])
        self.layers.build((None, None), np.random.default_rng(0))
        p = self.layers.params      # drawn from rng as by the first release of this class
        p["0.W"][...] = _init.gaussian((V, E), 1.0, rng, dtype=dtype)
        for k, v in _init.lstm_params(E, H, rng, dtype=dtype).items():
            p[f"1.{k}"][...] = v
        p["2.W"][...] = _init.glorot((H, V), rng, dtype=dtype)
        p["2.b"][...] = 0
        self.info = {}
        self.samples = None

    @property
    def params(self):
        return self.layers.params

    @property
    def lstm(self):
        """The stateful :class:`rnnlib.layers.LSTM` layer."""
        return self.layers.layers[1]

    def __repr__(self):
        return (f"CharLM(vocab={len(self.vocab)} characters, hidden_size={self.hidden_size}, "
                f"embed_size={self.embed_size})")

    def count_params(self):
        """Total number of scalar parameters."""
        return self.layers.count_params()

    def initial_state(self, N):
        """The zero state ``(h, c)``, each of shape (N, H)."""
        N = check_int("N", N)
        zeros = np.zeros((N, self.hidden_size), dtype=self.dtype)
        return zeros, zeros.copy()

    def forward(self, x, state=None):
        r"""Scores of the next character after every input character.

        Parameters
        ----------
        x : ndarray of int, shape (N, T)
        state : tuple (h, c) of ndarray, shape (N, H) each, optional
            The state before the first character (zeros by default).

        Returns
        -------
        scores : ndarray, shape (N, T, V)
            Unnormalized log-probabilities of :math:`x_{t+1}`.
        state : tuple (h, c)
            The state after the last character, to carry into the next window.
        """
        check_indices("x", x, len(self.vocab), ndim=2)
        if 0 in x.shape:
            raise ValueError(f"x must hold at least one sequence and one character; got shape "
                             f"{x.shape}")
        N = x.shape[0]
        if state is None:
            state = self.initial_state(N)
        elif not isinstance(state, tuple) or len(state) != 2:
            raise ValueError(f"state must be a tuple (h, c); got {type(state).__name__}")
        for name, a in zip("hc", state):
            check_array(f"state {name}", a, shape=(N, self.hidden_size), dtype=self.dtype)
        self.lstm.state = state
        scores = self.layers.forward(x)
        return scores, tuple(s.copy() for s in self.lstm.state)

    def loss_and_grads(self, x, y, state=None):
        r"""Mean cross-entropy per character (nats) of one window, its gradients and the
        final state.

        Parameters
        ----------
        x, y : ndarray of int, shape (N, T)
            Inputs and next-character targets.
        state : tuple (h, c), optional

        Returns
        -------
        loss : float
            :math:`-\frac{1}{NT}\sum_{n,t} \log p(y_{nt} \mid x_{n, \le t})`.
        grads : dict of ndarray
            With the keys of :attr:`params`.
        state : tuple (h, c)
        """
        scores, state = self.forward(x, state)
        loss, dscores = per_character_loss(scores, y, None)
        self.layers.backward(dscores)
        return loss, {k: g.copy() for k, g in self.layers.grads.items()}, state


def per_character_loss(scores, y, mask):
    """The softmax cross-entropy in nats per character (mean over batch and steps) and
    its gradient: :func:`rnnlib.losses.temporal_softmax_loss` divided by T."""
    check_array("scores", scores, ndim=3)
    if 0 in scores.shape:
        raise ValueError(f"scores must hold at least one sequence, step and class; got "
                         f"shape {scores.shape}")
    T = scores.shape[1]
    mask = np.ones(scores.shape[:2], dtype=bool) if mask is None else mask
    loss, dscores = temporal_softmax_loss(scores, y, mask)
    return loss / T, dscores / T


def evaluate(model, ids, batch_size=32, T=100):
    """Mean cross-entropy (nats per character) of ``model`` on the text ``ids``, read as
    ``batch_size`` streams of consecutive windows with the state carried (as in
    training); the characters beyond the last full window are left out. The model's
    carried state is left as it was."""
    check_indices("ids", ids, len(model.vocab), ndim=1)
    xs, ys = batches(ids, batch_size, T)
    saved = model.lstm.state
    state, total = None, 0.0
    try:
        for x, y in zip(xs, ys):
            scores, state = model.forward(x, state)
            logp = log_softmax(scores)
            total -= np.take_along_axis(logp, y[..., None], axis=-1).sum()
    finally:
        model.lstm.state = saved
    return float(total / ys.size)


def unigram_loss(train_ids, val_ids, V):
    """Cross-entropy (nats per character) on ``val_ids`` of the character frequencies of
    ``train_ids`` (add-one smoothed): the baseline a model that ignores context reaches."""
    V = check_int("V", V)
    check_indices("train_ids", train_ids, V, ndim=1)
    check_indices("val_ids", val_ids, V, ndim=1)
    if val_ids.size == 0:
        raise ValueError("val_ids holds no characters")
    counts = np.bincount(train_ids, minlength=V) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val_ids].mean())


def train(model, train_ids, steps, *, batch_size=32, T=64, lr=3e-3, lr_final=None,
          clip_norm=5.0, val_ids=None, eval_every=None, progress=None, optimizer=None,
          history=None, until=None):
    r"""Train ``model`` in place by truncated BPTT over consecutive windows, with Adam
    and clipping by the global norm :cite:`pascanu2013`, on :func:`rnnlib.train.train`.

    Parameters
    ----------
    model : CharLM
    train_ids : ndarray of int, shape (L,)
    steps : int
        Number of updates in all (with ``history``, the run continues up to it); the
        text is read again (state reset) when it runs out.
    batch_size, T : int
        Streams and window length (see :func:`batches`).
    lr : float
        Adam's learning rate.
    lr_final : float, optional
        If given, the learning rate decays linearly from ``lr`` at step 1 to
        ``lr_final`` at step ``steps``.
    clip_norm : float
    val_ids : ndarray of int, optional
        Validation text, scored by :func:`evaluate` (same ``batch_size`` and ``T``)
        every ``eval_every`` steps and at the end, as ``history.metrics["val_loss"]``.
    eval_every : int, optional
    progress : bool, optional
        Progress bar (default: :func:`rnnlib.train.progress_enabled`).
    optimizer : rnnlib.optim.Adam, optional
        To continue a run (e.g. from a checkpoint); a new ``Adam(lr)`` by default.
    history : rnnlib.train.History, optional
        The run to continue.
    until : int, optional
        Stop after this step (a checkpoint), keeping the schedule of a run of ``steps``.

    Returns
    -------
    rnnlib.train.History
        ``loss`` per step (nats per character of the window), ``eval_step`` and
        ``metrics["val_loss"]``, ``lr`` per step, ``time``.
    """
    if not isinstance(model, CharLM):
        raise ArgumentTypeError(f"model must be a CharLM; got {type(model).__name__}")
    steps = check_int("steps", steps)
    until = steps if until is None else check_int("until", until, high=steps)
    lr = check_number("lr", lr, low=0, low_open=True)
    lr_final = check_optional_number("lr_final", lr_final, low=0, low_open=True)
    check_indices("train_ids", train_ids, len(model.vocab), ndim=1)
    if train_ids.size == 0:
        raise ValueError("train_ids must hold at least one character; got an empty array")
    xs, ys = batches(train_ids, batch_size, T)
    if (val_ids is None) != (eval_every is None):
        raise ValueError("val_ids and eval_every go together")
    if val_ids is not None:
        check_indices("val_ids", val_ids, len(model.vocab), ndim=1)
        batches(val_ids, batch_size, T)                 # long enough for one window

    def batch(step):
        k = (step - 1) % len(xs)
        if k == 0:
            model.lstm.reset_states()                   # a new pass over the text
        return xs[k], ys[k], None

    schedule = None if lr_final is None else \
        (lambda step: lr + (lr_final - lr) * (step - 1) / max(steps - 1, 1))
    scores = None if val_ids is None else \
        (lambda params: {"val_loss": evaluate(model, val_ids, batch_size, T)})
    return _train(model.layers, None, Adam(lr) if optimizer is None else optimizer, batch,
                  until, loss=per_character_loss, clip_norm=clip_norm, lr_schedule=schedule,
                  evaluate=scores, eval_every=eval_every, progress=progress,
                  history=history, batch_size=None)


# --- generation --------------------------------------------------------------------

def _check_temperature(temperature):
    return check_number("temperature", temperature, low=0, low_open=True)


def _check_prefix(model, prefix):
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix must be a non-empty str; got {prefix!r}")
    return model.vocab.encode(prefix)[None]


def next_char_probabilities(model, prefix, temperature=1.0):
    r"""The distribution of the character after ``prefix``,
    :math:`p_k \propto \exp(y_k / \mathcal{T})` for the readout's scores :math:`y` and
    temperature :math:`\mathcal{T}`: below 1 it sharpens, above 1 it flattens.

    Returns
    -------
    p : ndarray, shape (V,)
    """
    temperature = _check_temperature(temperature)
    scores, _ = model.forward(_check_prefix(model, prefix))
    return softmax(scores[0, -1].astype(np.float64) / temperature)


def sample(model, prefix, n, temperature, rng):
    r"""Generate ``n`` characters after ``prefix``, one at a time, each drawn from
    :func:`next_char_probabilities` and fed back as the next input (the stateful LSTM
    carries the state from one character to the next).

    Parameters
    ----------
    model : CharLM
    prefix : str
        Non-empty text in the model's vocabulary; read first to set the state.
    n : int
        Characters to generate (>= 0).
    temperature : float
        > 0; small values approach greedy decoding, 1 samples the model's distribution.
    rng : numpy.random.Generator

    Returns
    -------
    str
        The ``n`` generated characters (without the prefix).
    """
    temperature = _check_temperature(temperature)
    x = _check_prefix(model, prefix)
    n = check_int("n", n, low=0)
    check_generator("rng", rng)
    scores, state = model.forward(x)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = softmax(scores[0, -1].astype(np.float64) / temperature)
        out[i] = rng.choice(len(p), p=p)
        scores, state = model.forward(out[i:i + 1][None], state)
    return model.vocab.decode(out)


def record_sample(model, step, train_loss, val_loss, *, n=200, prefix="The ", temperature=0.5,
                  seed=0):
    r"""Draw a sample of the model as it is at training step ``step`` and append it, with
    the step and the losses, to :attr:`CharLM.samples`.

    The sample is :func:`sample` of ``n`` characters after ``prefix`` with a fresh
    ``numpy.random.default_rng(seed)``: every stage of a run draws from the same random
    stream, so the samples differ only by the weights. The model's carried LSTM state is
    left as it was, so training can go on from it. ``n``, ``prefix``, ``temperature``
    and ``seed`` must agree with the samples already recorded.

    Parameters
    ----------
    model : CharLM
    step : int
        The training step (>= 0, above the last recorded one).
    train_loss, val_loss : float
        Training and validation loss at that step (nats per character, >= 0).
    n : int
        Characters per sample (>= 1; the same for every sample of a model).
    prefix : str
        Non-empty text in the model's vocabulary.
    temperature : float
        > 0.
    seed : int
        >= 0.

    Returns
    -------
    str
        The ``n`` generated characters.
    """
    if not isinstance(model, CharLM):
        raise ArgumentTypeError(f"model must be a CharLM; got {type(model).__name__}")
    step = check_int("step", step, low=0)
    losses = [check_number(k, v, low=0) for k, v in (("train_loss", train_loss),
                                                      ("val_loss", val_loss))]
    n = check_int("n", n)
    _check_prefix(model, prefix)
    settings = dict(prefix=prefix, temperature=_check_temperature(temperature),
                    seed=check_int("seed", seed, low=0))
    old = model.samples
    if old is not None:
        changed = [k for k in SAMPLE_SETTINGS if old[k] != settings[k]]
        if len(old["text"][0]) != n:
            changed.append("n")
        if changed:
            raise ValueError(f"the model's samples were drawn with other {changed}: "
                             f"{[old[k] if k != 'n' else len(old['text'][0]) for k in changed]}")
        if step <= old["step"][-1]:
            raise ValueError(f"step must be above the last recorded step "
                             f"{int(old['step'][-1])}; got {step}")
    saved = model.lstm.state
    try:
        text = sample(model, prefix, n, settings["temperature"],
                      np.random.default_rng(settings["seed"]))
    finally:
        model.lstm.state = saved
    row = {"step": step, "train_loss": losses[0], "val_loss": losses[1], "text": text}
    dtypes = {"step": np.int64, "train_loss": np.float64, "val_loss": np.float64, "text": None}
    model.samples = dict(settings, **{
        k: np.array(([] if old is None else old[k].tolist()) + [v], dtype=dtypes[k])
        for k, v in row.items()})
    return text


# --- files -------------------------------------------------------------------------

#: Parameter names of format version 1 (before the model was a Sequential).
_V1_NAMES = {"We": "0.W", "Wx": "1.Wx", "Wh": "1.Wh", "b": "1.b", "Wy": "2.W", "by": "2.b"}


def _model_arrays(model):
    info = {f"info.{k}": np.asarray(v) for k, v in model.info.items()}
    bad = [k for k, v in info.items() if v.dtype.kind not in "iufbU" or v.ndim != 0]
    if bad:
        raise ValueError(f"model.info values must be single numbers or strings; {bad} are not")
    samples = {} if model.samples is None else \
        {f"samples.{k}": np.asarray(v) for k, v in model.samples.items()}
    return dict(vocab=np.array(list(model.vocab.chars)), hidden_size=np.array(model.hidden_size),
                embed_size=np.array(model.embed_size),
                **{f"param.{k}": v for k, v in model.params.items()}, **info, **samples)


def _checked_sizes(arrays, name):
    """Validate every field of a stored model before anything is built; returns
    (vocab, H, E, dtype, params by layer name)."""
    version = int(arrays["__version__"])
    params = ({_V1_NAMES[k]: v for k, v in arrays.items() if k in _V1_NAMES} if version == 1
              else {k[6:]: v for k, v in arrays.items() if k.startswith("param.")})
    missing = [k for k in ("vocab", "hidden_size", "embed_size") if k not in arrays]
    missing += [k for k in _V1_NAMES.values() if k not in params]
    if missing:
        raise ValueError(f"{name!r} is a charlm file without {missing}")
    vocab = arrays["vocab"]
    if vocab.ndim != 1 or vocab.dtype.kind != "U" or any(len(c) != 1 for c in vocab.tolist()):
        raise ValueError(f"{name!r}: vocab must be a 1-D array of single characters")
    try:
        vocab = Vocabulary("".join(vocab.tolist()))
    except ValueError as err:
        raise ValueError(f"{name!r}: {err}") from None
    sizes = {}
    for k in ("hidden_size", "embed_size"):
        a = arrays[k]
        if a.shape != () or a.dtype.kind not in "iu" or int(a) <= 0:
            raise ValueError(f"{name!r}: {k} must be a positive integer; got {a!r}")
        sizes[k] = int(a)
    V, H, E = len(vocab), sizes["hidden_size"], sizes["embed_size"]
    dtype = params["1.Wh"].dtype
    if dtype.type not in (np.float32, np.float64):
        raise ValueError(f"{name!r}: the weights must be float32 or float64; got {dtype}")
    want = {"0.W": (V, E), "1.Wx": (E, 4 * H), "1.Wh": (H, 4 * H), "1.b": (4 * H,),
            "2.W": (H, V), "2.b": (V,)}
    for k, shape in want.items():
        a = params[k]
        if a.shape != shape or a.dtype != dtype:
            raise ValueError(f"{name!r}: parameter {k!r} has shape {a.shape} and dtype "
                             f"{a.dtype}; expected {shape}, {dtype} for V={V}, H={H}, E={E}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name!r}: parameter {k!r} holds NaN or infinity")
    extra = sorted(k for k in params if k not in want)
    if extra:
        raise ValueError(f"{name!r}: unexpected parameters {extra}")
    return vocab, H, E, dtype, params


def _checked_samples(arrays, vocab, name):
    """The ``samples.*`` entries of a stored model, validated, as :attr:`CharLM.samples`
    (``None`` when there are none)."""
    stored = {k[8:]: v for k, v in arrays.items() if k.startswith("samples.")}
    if not stored:
        return None
    known = SAMPLE_FIELDS + SAMPLE_SETTINGS
    missing = [k for k in known if k not in stored]
    unknown = sorted(k for k in stored if k not in known)
    if missing or unknown:
        raise ValueError(f"{name!r}: the samples are incomplete (missing {missing}, "
                         f"unexpected {unknown})")

    def bad(field, what):
        return ValueError(f"{name!r}: samples.{field} must be {what}; got "
                          f"{stored[field].dtype} array of shape {stored[field].shape}")
    kinds = {"step": "iu", "train_loss": "f", "val_loss": "f", "text": "U"}
    for k in SAMPLE_FIELDS:
        a = stored[k]
        if a.ndim != 1 or a.size == 0 or a.dtype.kind not in kinds[k] \
                or a.shape != stored["step"].shape:
            raise bad(k, "a non-empty 1-D array of the length of samples.step, of "
                      + {"iu": "integers", "f": "floats", "U": "strings"}[kinds[k]])
    step = stored["step"].astype(np.int64)
    if step[0] < 0 or np.any(np.diff(step) <= 0):
        raise ValueError(f"{name!r}: samples.step must be non-negative and strictly "
                         f"increasing; got {step.tolist()}")
    for k in ("train_loss", "val_loss"):
        a = stored[k]
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise ValueError(f"{name!r}: samples.{k} must be finite and non-negative; got "
                             f"{a.tolist()}")
    texts = stored["text"].tolist()
    if len({len(t) for t in texts}) != 1 or not texts[0]:
        raise ValueError(f"{name!r}: samples.text must be non-empty strings of one length; "
                         f"got lengths {[len(t) for t in texts]}")
    prefix, temperature, seed = (stored[k] for k in SAMPLE_SETTINGS)
    if prefix.shape != () or prefix.dtype.kind != "U" or not str(prefix):
        raise bad("prefix", "a non-empty string")
    if temperature.shape != () or temperature.dtype.kind not in "iuf" \
            or not (np.isfinite(temperature) and temperature > 0):
        raise bad("temperature", "a positive number")
    if seed.shape != () or seed.dtype.kind not in "iu" or int(seed) < 0:
        raise bad("seed", "a non-negative integer")
    outside = sorted(set("".join(texts) + str(prefix)) - set(vocab.chars))
    if outside:
        raise ValueError(f"{name!r}: the samples hold characters outside the vocabulary: "
                         f"{outside[:10]!r}")
    return {"prefix": str(prefix), "temperature": float(temperature), "seed": int(seed),
            "step": step, "train_loss": stored["train_loss"].astype(np.float64),
            "val_loss": stored["val_loss"].astype(np.float64),
            "text": np.array(texts)}


def _model_from(arrays, name):
    """A CharLM with the weights and samples of a stored archive, every field checked
    before the model is built."""
    vocab, H, E, dtype, params = _checked_sizes(arrays, name)
    samples = _checked_samples(arrays, vocab, name)
    model = CharLM(vocab, H, E, np.random.default_rng(0), dtype=dtype)
    for k, p in model.params.items():
        p[...] = params[k]
    model.samples = samples
    return model


def save(model, path):
    """Write ``model`` (weights, vocabulary, sizes, ``model.info``) to one ``.npz`` file.

    Entries: ``__format__`` (``"rnnlib-charlm"``), ``__version__``, ``vocab`` (unicode
    array of the characters), ``hidden_size``, ``embed_size``, ``param.<name>`` for each
    parameter, ``info.<key>`` for each entry of ``model.info`` (numbers or strings) and
    ``samples.<key>`` for each entry of ``model.samples`` (when there are samples).
    What is written is first checked as :func:`load` checks it, so a saved model always
    loads; the write is atomic (:func:`rnnlib.io.save_archive`). Returns the path
    written (``.npz`` appended when missing).
    """
    if not isinstance(model, CharLM):
        raise ArgumentTypeError(f"model must be a CharLM; got {type(model).__name__}")
    arrays = _model_arrays(model)
    checked = dict(arrays, __version__=np.array(VERSION))
    _checked_samples(checked, _checked_sizes(checked, os.fspath(path))[0], os.fspath(path))
    return save_archive(path, FORMAT, VERSION, arrays)


def load(path):
    """Read a model written by :func:`save` (``allow_pickle=False``).

    Every field is checked (vocabulary, sizes, every parameter's shape, dtype and
    finiteness, the samples' fields) before the model is built. Raises ValueError for a
    file that is not a charlm model (not an ``.npz``, no ``__format__ = "rnnlib-charlm"``,
    a newer version, missing, misshapen or non-finite weights, incomplete or malformed
    samples). Files of versions 1 and 2 have no samples (``model.samples`` is ``None``).
    """
    name = os.fspath(path)
    arrays = load_archive(path, FORMAT, VERSION, "a charlm model")
    model = _model_from(arrays, name)
    info = {}
    for k, v in arrays.items():
        if k.startswith("info."):
            if v.shape != () or v.dtype.kind not in "iufbU":
                raise ValueError(f"{name!r}: {k} must be a single number or string")
            info[k[5:]] = v.item()
    model.info = info
    return model


# --- checkpoints -------------------------------------------------------------------

def checkpoint_path(out):
    """The checkpoint file of a training run that writes ``out``."""
    out = os.fspath(out)
    return (out[:-4] if out.endswith(".npz") else out) + ".checkpoint.npz"


def save_checkpoint(path, model, optimizer, history, settings):
    """Write a resumable checkpoint: the model, the optimizer's state, the history, the
    carried LSTM state and the run's ``settings`` (a dict of numbers and strings)."""
    arrays = _model_arrays(model)
    arrays.update({f"opt.{k}": np.asarray(v) for k, v in optimizer.state_dict().items()})
    arrays.update({f"hist.{k}": v for k, v in history.arrays().items()})
    if model.lstm.state is not None:
        arrays.update({"state.h": model.lstm.state[0], "state.c": model.lstm.state[1]})
    arrays.update({f"run.{k}": np.asarray(v) for k, v in settings.items()})
    return save_archive(path, CHECKPOINT_FORMAT, VERSION, arrays)


def load_checkpoint(path):
    """Read a checkpoint: returns ``(model, optimizer, history, settings)``."""
    from .train import History
    name = os.fspath(path)
    arrays = load_archive(path, CHECKPOINT_FORMAT, VERSION, "a charlm checkpoint")
    model = _model_from(arrays, name)
    optimizer = Adam()
    try:
        optimizer.load_state_dict({k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
        history = History.from_arrays({k[5:]: v for k, v in arrays.items()
                                       if k.startswith("hist.")})
    except (ValueError, KeyError) as err:
        raise ValueError(f"{name!r} is a damaged checkpoint: {err}") from None
    if "state.h" in arrays:
        model.lstm.state = (arrays["state.h"], arrays["state.c"])
    settings = {k[4:]: v.item() for k, v in arrays.items() if k.startswith("run.")}
    return model, optimizer, history, settings


# --- command line ------------------------------------------------------------------

#: The options of ``train`` that must agree between a checkpoint and ``--resume``.
_RUN_SETTINGS = ("steps", "hidden", "embed", "batch", "T", "lr", "lr_final", "seed", "float32",
                 "sample_every", "sample_length", "sample_prefix", "sample_temperature")


def _sample_stage(model, args, history, train_ids, val_ids):
    """Record the sample of ``--sample-every`` at the step the run has reached: the
    training loss is the mean over the last (at most 100) steps, at step 0 that of the
    first window; the validation loss is the evaluation the run made at that step."""
    step = 0 if history is None else history.steps
    if step == 0:
        x, y = (a[0] for a in batches(train_ids, args.batch, args.T))
        saved = model.lstm.state
        try:
            train_loss = per_character_loss(model.forward(x)[0], y, None)[0]
        finally:
            model.lstm.state = saved
        val_loss = evaluate(model, val_ids, args.batch, args.T)
    else:
        train_loss = float(np.mean(history.loss[-100:]))
        val_loss = (history.metrics["val_loss"][-1] if history.eval_step[-1] == step
                    else evaluate(model, val_ids, args.batch, args.T))
    text = record_sample(model, step, train_loss, val_loss, n=args.sample_length,
                         prefix=args.sample_prefix, temperature=args.sample_temperature,
                         seed=args.seed)
    print(f"sample at step {step} (validation {val_loss:.4f} nats/char): "
          f"{args.sample_prefix + text!r:.100}", flush=True)


def _train_command(args):
    problem = output_file_problem(args.out)
    if problem:
        raise CommandError(f"--out {problem}")
    vocab = Vocabulary()
    if args.sample_every and (not args.sample_prefix
                              or set(args.sample_prefix) - set(vocab.chars)):
        raise CommandError(f"--sample-prefix must be non-empty text in the alphabet; got "
                           f"{args.sample_prefix!r}")
    train_text, val_text = split_text(load_corpus())
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    ckpt = checkpoint_path(args.out)
    settings = {k: getattr(args, k) for k in _RUN_SETTINGS}
    if args.resume:
        if not os.path.exists(ckpt):
            raise CommandError(f"--resume: there is no checkpoint {ckpt!r}")
        model, opt, history, stored = load_checkpoint(ckpt)
        changed = [k for k in _RUN_SETTINGS if stored.get(k) != settings[k]]
        if changed:
            raise CommandError(f"--resume with other settings than the checkpoint: {changed} "
                               f"(the checkpoint has {[stored.get(k) for k in changed]})")
        print(f"resuming {ckpt} at step {history.steps}", flush=True)
    else:
        rng = np.random.default_rng(args.seed)
        model = CharLM(vocab, args.hidden, args.embed, rng,
                       dtype=np.float32 if args.float32 else np.float64)
        opt, history = Adam(args.lr), None
    print(f"{model}: {model.count_params():,} parameters; corpus {len(train_ids):,} "
          f"training and {len(val_ids):,} validation characters; unigram baseline "
          f"{unigram_loss(train_ids, val_ids, len(vocab)):.3f} nats/char", flush=True)
    done = 0 if history is None else history.steps
    if args.sample_every and done == 0:
        _sample_stage(model, args, history, train_ids, val_ids)
    while done < args.steps:
        # train up to the next checkpoint or sample (each run of train evaluates at its end)
        target = min([args.steps] + [(done // every + 1) * every for every in
                                     (args.checkpoint_every, args.sample_every) if every])
        history = train(model, train_ids, args.steps, until=target, batch_size=args.batch,
                        T=args.T, lr=args.lr, lr_final=args.lr_final, val_ids=val_ids,
                        eval_every=args.eval_every, optimizer=opt, history=history)
        done = history.steps
        if args.sample_every and (done % args.sample_every == 0 or done == args.steps):
            _sample_stage(model, args, history, train_ids, val_ids)
        if done < args.steps and args.checkpoint_every and done % args.checkpoint_every == 0:
            save_checkpoint(ckpt, model, opt, history, settings)
            print(f"checkpoint {ckpt} at step {done}", flush=True)
    val = history.metrics["val_loss"]
    model.info = {"steps": args.steps, "batch_size": args.batch, "T": args.T,
                  "lr": args.lr, "seed": args.seed,
                  "train_loss": float(np.mean(history.loss[-100:])),
                  "val_loss": val[-1], "seconds": round(history.time[-1], 1),
                  "command": "python -m rnnlib.charlm " + " ".join(args.argv)}
    for step, loss in zip(history.eval_step, val):
        print(f"step {step:6d}  validation {loss:.4f} nats/char")
    path = save(model, args.out)
    if os.path.exists(ckpt):
        os.remove(ckpt)
    print(f"saved {path} ({os.path.getsize(path) / 1e6:.2f} MB) after {history.time[-1]:.0f} s; "
          f"validation loss {val[-1]:.4f} nats/char")
    return 0


def _sample_command(args):
    model = load(args.model)
    text = sample(model, args.prefix, args.n, args.temperature,
                  np.random.default_rng(args.seed))
    print(args.prefix + text)
    return 0


class CommandError(Exception):
    """A run-time error of the command line, printed as one line (exit status 1)."""


def main(argv=None):
    """Command-line entry point (``python -m rnnlib.charlm``).

    Exit status 0 on success, 2 for a usage error, 1 for an error at run time (a bad
    file, a missing folder, a diverging run); errors are one line on stderr, never a
    traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = Parser(prog="python -m rnnlib.charlm", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    p = sub.add_parser("train", help="train on the pydoc corpus and save the model")
    p.add_argument("--steps", type=positive_int, default=4000, help="training steps")
    p.add_argument("--hidden", type=positive_int, default=256, help="LSTM units H")
    p.add_argument("--embed", type=positive_int, default=32, help="embedding size E")
    p.add_argument("--batch", type=positive_int, default=32, help="streams per batch N")
    p.add_argument("--T", type=positive_int, default=64, help="window length (truncated BPTT)")
    p.add_argument("--lr", type=positive_float, default=3e-3, help="Adam's learning rate")
    p.add_argument("--lr-final", type=positive_float, default=3e-4, help="learning rate at the end")
    p.add_argument("--eval-every", type=positive_int, default=500, help="steps between evaluations")
    p.add_argument("--checkpoint-every", type=non_negative_int, default=500,
                   help="steps between checkpoints (OUT with .checkpoint.npz); 0: none")
    p.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint of --out (same settings)")
    p.add_argument("--seed", type=non_negative_int, default=0)
    p.add_argument("--float32", action="store_true", help="train in float32 (smaller file)")
    p.add_argument("--sample-every", type=non_negative_int, default=0,
                   help="record a sample (with the step and losses) at step 0, every N steps "
                        "and at the end, in the model file; 0: none")
    p.add_argument("--sample-length", type=positive_int, default=200,
                   help="characters per recorded sample")
    p.add_argument("--sample-prefix", default="The ", help="the prefix of every recorded sample")
    p.add_argument("--sample-temperature", type=positive_float, default=0.5,
                   help="the temperature of the recorded samples (their seed is --seed)")
    p.add_argument("--out", default="charlm.npz", help="the .npz file to write")
    p = sub.add_parser("sample", help="generate text from a saved model")
    p.add_argument("model", help="an .npz file written by 'train'")
    p.add_argument("--prefix", default="The ")
    p.add_argument("--n", type=non_negative_int, default=400, help="characters to generate")
    p.add_argument("--temperature", type=positive_float, default=0.7)
    p.add_argument("--seed", type=non_negative_int, default=0)
    args = parser.parse_args(argv)
    args.argv = [a for a in argv if a != "--resume"]
    try:
        return _train_command(args) if args.command == "train" else _sample_command(args)
    except (CommandError, ValueError, OSError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted"
              + ("; continue with --resume" if args.command == "train" else ""), file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
