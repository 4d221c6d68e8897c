r"""A character-level language model: an LSTM that reads text and predicts the next character.

The capstone of the chapter "Extensions", after :cite:`graves2013` and
:cite:`karpathy2015`. A character :math:`x_t` is embedded, read by an LSTM
(:cite:`hochreiter1997`), and a linear readout scores the next character,

.. math::

    u_t = W_e[x_t], \qquad h_t, c_t = \mathrm{LSTM}(u_t, h_{t-1}, c_{t-1}), \qquad
    p(x_{t+1} \mid x_{\le t}) = \operatorname{softmax}(h_t W_{hy} + b_y),

trained to minimise the cross-entropy in nats per character. The math is the functional
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

    python -m rnnlib.charlm train --steps 4000 --out book/data/charlm.npz
    python -m rnnlib.charlm sample book/data/charlm.npz --prefix "The " --temperature 0.5
"""
import argparse
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from . import init as _init
from .activations import log_softmax, softmax
from .affine import temporal_affine_backward, temporal_affine_forward
from .embedding import word_embedding_backward, word_embedding_forward
from .io import load_archive, save_archive
from .losses import temporal_softmax_loss
from .lstm import lstm_backward, lstm_forward
from .optim import Adam, clip_grad_norm
from .train import ProgressBar

#: The fixed alphabet: newline and the 95 printable ASCII characters.
ALPHABET = "\n" + "".join(chr(i) for i in range(32, 127))

#: Replacements applied by :func:`normalize_text` before unknown characters become "?".
REPLACEMENTS = {"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"',
                "\u2026": "...", "\u2014": "--", "\u2013": "-", "\t": "    ",
                "\r": ""}

FORMAT = "rnnlib-charlm"
VERSION = 1
PARAM_NAMES = ("We", "Wx", "Wh", "b", "Wy", "by")


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
    separated by a blank line, normalised by :func:`normalize_text` (about 465,000
    characters in Python 3.11; license PSF)."""
    from pydoc_data.topics import topics
    return normalize_text("\n\n".join(topics[k].strip("\n") for k in sorted(topics)))


def split_text(text, val_fraction=0.1):
    """Split ``text`` into (train, validation): the last ``val_fraction`` is held out."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be in (0, 1); got {val_fraction!r}")
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
        """Indices (any int array or sequence) -> str."""
        ids = np.asarray(ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0
                         or ids.max() >= len(self)):
            raise ValueError(f"ids must be integers in [0, {len(self)}); got {ids!r:.60}")
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
    for name, v in (("batch_size", batch_size), ("T", T)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
            raise ValueError(f"{name} must be a positive integer; got {v!r}")
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be a 1-D integer array; got {ids.dtype} of shape "
                         f"{ids.shape}")
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
    r"""Embedding -> LSTM -> linear readout over the characters of a :class:`Vocabulary`.

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
    params : dict of ndarray
        ``We`` (V, E) Gaussian with std 1; the LSTM's ``Wx`` (E, 4H), ``Wh`` (H, 4H),
        ``b`` (4H,) from :func:`rnnlib.init.lstm_params` (forget bias 1); ``Wy`` (H, V)
        Glorot uniform and ``by`` (V,) zeros.
    info : dict
        What a training run recorded (steps, validation loss, ...); saved with the model.
    """

    def __init__(self, vocab, hidden_size, embed_size, rng, dtype=np.float64):
        if not isinstance(vocab, Vocabulary):
            raise ValueError(f"vocab must be a Vocabulary; got {type(vocab).__name__}")
        for name, v in (("hidden_size", hidden_size), ("embed_size", embed_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
                raise ValueError(f"{name} must be a positive integer; got {v!r}")
        self.vocab, self.hidden_size, self.embed_size = vocab, int(hidden_size), int(embed_size)
        self.dtype = np.dtype(dtype)
        V, H, E = len(vocab), self.hidden_size, self.embed_size
        params = {"We": _init.gaussian((V, E), 1.0, rng, dtype=dtype)}
        params.update(_init.lstm_params(E, H, rng, dtype=dtype))
        params["Wy"] = _init.glorot((H, V), rng, dtype=dtype)
        params["by"] = np.zeros(V, dtype=dtype)
        self.params = params
        self.info = {}

    def __repr__(self):
        return (f"CharLM(vocab={len(self.vocab)} characters, hidden_size={self.hidden_size}, "
                f"embed_size={self.embed_size})")

    def count_params(self):
        """Total number of scalar parameters."""
        return int(sum(p.size for p in self.params.values()))

    def initial_state(self, N):
        """The zero state ``(h, c)``, each of shape (N, H)."""
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
            Unnormalised log-probabilities of :math:`x_{t+1}`.
        state : tuple (h, c)
            The state after the last character, to carry into the next window.
        cache : tuple
            For :meth:`backward`.
        """
        p = self.params
        h0, c0 = self.initial_state(x.shape[0]) if state is None else state
        u, cache_e = word_embedding_forward(x, p["We"])
        h, cache_h = lstm_forward(u, h0, p["Wx"], p["Wh"], p["b"], c0=c0)
        scores, cache_y = temporal_affine_forward(h, p["Wy"], p["by"])
        return scores, (h[:, -1].copy(), cache_h[3][-1].T.copy()), (cache_e, cache_h, cache_y)

    def backward(self, dscores, cache):
        """Gradients of all parameters (dict with the keys of ``params``) from
        ``dscores`` (N, T, V); the carried state gets none (truncated BPTT)."""
        cache_e, cache_h, cache_y = cache
        dh, dWy, dby = temporal_affine_backward(dscores, cache_y)
        du, _, dWx, dWh, db = lstm_backward(dh, cache_h)
        dWe = word_embedding_backward(du, cache_e)
        return {"We": dWe, "Wx": dWx, "Wh": dWh, "b": db, "Wy": dWy, "by": dby}

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
        state : tuple (h, c)
        """
        scores, state, cache = self.forward(x, state)
        T = x.shape[1]
        loss, dscores = temporal_softmax_loss(scores, y, np.ones(x.shape, dtype=bool))
        return loss / T, self.backward(dscores / T, cache), state


def evaluate(model, ids, batch_size=32, T=100):
    """Mean cross-entropy (nats per character) of ``model`` on the text ``ids``, read as
    ``batch_size`` streams of consecutive windows with the state carried (as in
    training); the characters beyond the last full window are left out."""
    xs, ys = batches(ids, batch_size, T)
    state, total = None, 0.0
    for x, y in zip(xs, ys):
        scores, state, _ = model.forward(x, state)
        logp = log_softmax(scores)
        total -= np.take_along_axis(logp, y[..., None], axis=-1).sum()
    return float(total / ys.size)


def unigram_loss(train_ids, val_ids, V):
    """Cross-entropy (nats per character) on ``val_ids`` of the character frequencies of
    ``train_ids`` (add-one smoothed): the baseline a model that ignores context reaches."""
    counts = np.bincount(train_ids, minlength=V) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val_ids].mean())


@dataclass
class TrainingLog:
    """What :func:`train` records.

    Attributes
    ----------
    loss : list of float
        Training loss (nats per character) of every step's window.
    val_step, val_loss : list
        Steps (counting from 1) of the evaluations and the validation loss there.
    seconds : float
        Wall time of the run.
    """

    loss: list = field(default_factory=list)
    val_step: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    seconds: float = 0.0


def train(model, train_ids, steps, *, batch_size=32, T=64, lr=3e-3, lr_final=None,
          clip_norm=5.0, val_ids=None, eval_every=None, progress=None):
    r"""Train ``model`` in place by truncated BPTT over consecutive windows, with Adam
    and clipping by the global norm :cite:`pascanu2013`.

    Parameters
    ----------
    model : CharLM
    train_ids : ndarray of int, shape (L,)
    steps : int
        Number of updates; the text is read again (state reset) when it runs out.
    batch_size, T : int
        Streams and window length (see :func:`batches`).
    lr : float
        Adam's learning rate.
    lr_final : float, optional
        If given, the learning rate decays linearly from ``lr`` to ``lr_final``.
    clip_norm : float
    val_ids : ndarray of int, optional
        Validation text, scored by :func:`evaluate` (same ``batch_size`` and ``T``)
        every ``eval_every`` steps and at the end.
    eval_every : int, optional
    progress : bool, optional
        Progress bar (default: :func:`rnnlib.train.progress_enabled`).

    Returns
    -------
    TrainingLog
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps <= 0:
        raise ValueError(f"steps must be a positive integer; got {steps!r}")
    xs, ys = batches(train_ids, batch_size, T)
    opt = Adam(lr)
    log = TrainingLog()
    bar = ProgressBar(steps, "charlm", progress)
    start = time.perf_counter()
    state = None
    try:
        for step in range(1, steps + 1):
            k = (step - 1) % len(xs)
            if k == 0:
                state = None
            if lr_final is not None:
                opt.lr = lr + (lr_final - lr) * (step - 1) / max(steps - 1, 1)
            loss, grads, state = model.loss_and_grads(xs[k], ys[k], state)
            if not np.isfinite(loss):
                raise FloatingPointError(f"the loss became {loss} at step {step}")
            clip_grad_norm(grads, clip_norm)
            opt.step(model.params, grads)
            log.loss.append(loss)
            if val_ids is not None and eval_every and (step % eval_every == 0 or step == steps):
                log.val_step.append(step)
                log.val_loss.append(evaluate(model, val_ids, batch_size, T))
            info = f"loss {loss:.3f}" + (f" val {log.val_loss[-1]:.3f}" if log.val_loss else "")
            bar.update(step, info)
    finally:
        bar.close()
    log.seconds = time.perf_counter() - start
    return log


# --- generation --------------------------------------------------------------------

def _check_temperature(temperature):
    if isinstance(temperature, bool) or not np.isscalar(temperature) or not temperature > 0:
        raise ValueError(f"temperature must be a positive number; got {temperature!r}")
    return float(temperature)


def next_char_probabilities(model, prefix, temperature=1.0):
    r"""The distribution of the character after ``prefix``,
    :math:`p_k \propto \exp(s_k / \tau)` for the scores :math:`s` and temperature
    :math:`\tau`: below 1 it sharpens, above 1 it flattens.

    Returns
    -------
    p : ndarray, shape (V,)
    """
    temperature = _check_temperature(temperature)
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix must be a non-empty str; got {prefix!r}")
    scores, _, _ = model.forward(model.vocab.encode(prefix)[None])
    return softmax(scores[0, -1] / temperature)


def sample(model, prefix, n, temperature, rng):
    r"""Generate ``n`` characters after ``prefix``, one at a time, each drawn from
    :func:`next_char_probabilities` and fed back as the next input.

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
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(f"prefix must be a non-empty str; got {prefix!r}")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer; got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}")
    scores, state, _ = model.forward(model.vocab.encode(prefix)[None])
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        p = softmax(scores[0, -1].astype(np.float64) / temperature)
        out[i] = rng.choice(len(p), p=p)
        scores, state, _ = model.forward(out[i:i + 1][None], state)
    return model.vocab.decode(out)


# --- files -------------------------------------------------------------------------

def save(model, path):
    """Write ``model`` (weights, vocabulary, sizes, ``model.info``) to one ``.npz`` file.

    Entries: ``__format__`` (``"rnnlib-charlm"``), ``__version__``, ``vocab`` (unicode
    array of the characters), ``hidden_size``, ``embed_size``, one array per parameter
    and ``info.<key>`` for each entry of ``model.info`` (numbers or strings). Returns the
    path written (``.npz`` appended when missing).
    """
    info = {f"info.{k}": np.asarray(v) for k, v in model.info.items()}
    bad = [k for k, v in info.items() if v.dtype.kind not in "iufbU"]
    if bad:
        raise ValueError(f"model.info values must be numbers or strings; {bad} are not")
    return save_archive(path, FORMAT, VERSION, dict(
        vocab=np.array(list(model.vocab.chars)), hidden_size=np.array(model.hidden_size),
        embed_size=np.array(model.embed_size), **model.params, **info))


def load(path):
    """Read a model written by :func:`save` (``allow_pickle=False``).

    Raises ValueError for a file that is not a charlm model (not an ``.npz``, no
    ``__format__ = "rnnlib-charlm"``, a newer version, missing or misshapen weights).
    """
    name = os.fspath(path)
    arrays = load_archive(path, FORMAT, VERSION, "a charlm model")
    missing = [k for k in ("vocab", "hidden_size", "embed_size") + PARAM_NAMES
               if k not in arrays]
    if missing:
        raise ValueError(f"{name!r} is a charlm file without {missing}")
    vocab = Vocabulary("".join(arrays["vocab"].tolist()))
    dtype = arrays["Wh"].dtype
    model = CharLM(vocab, int(arrays["hidden_size"]), int(arrays["embed_size"]),
                   np.random.default_rng(0), dtype=dtype)
    for k in PARAM_NAMES:
        if arrays[k].shape != model.params[k].shape or arrays[k].dtype != dtype:
            raise ValueError(f"{name!r}: parameter {k!r} has shape {arrays[k].shape} and "
                             f"dtype {arrays[k].dtype}; expected {model.params[k].shape}, "
                             f"{dtype}")
        model.params[k][...] = arrays[k]
    model.info = {k[5:]: v.item() for k, v in arrays.items() if k.startswith("info.")}
    return model


# --- command line ------------------------------------------------------------------

def _train_command(args):
    rng = np.random.default_rng(args.seed)
    vocab = Vocabulary()
    train_text, val_text = split_text(load_corpus())
    train_ids, val_ids = vocab.encode(train_text), vocab.encode(val_text)
    dtype = np.float32 if args.float32 else np.float64
    model = CharLM(vocab, args.hidden, args.embed, rng, dtype=dtype)
    print(f"{model}: {model.count_params():,} parameters; corpus {len(train_ids):,} "
          f"training and {len(val_ids):,} validation characters; unigram baseline "
          f"{unigram_loss(train_ids, val_ids, len(vocab)):.3f} nats/char", flush=True)
    log = train(model, train_ids, args.steps, batch_size=args.batch, T=args.T, lr=args.lr,
                lr_final=args.lr_final, val_ids=val_ids, eval_every=args.eval_every)
    model.info = {"steps": args.steps, "batch_size": args.batch, "T": args.T,
                  "lr": args.lr, "seed": args.seed, "train_loss": float(np.mean(log.loss[-100:])),
                  "val_loss": log.val_loss[-1], "seconds": round(log.seconds, 1),
                  "command": "python -m rnnlib.charlm " + " ".join(args.argv)}
    for step, loss in zip(log.val_step, log.val_loss):
        print(f"step {step:6d}  validation {loss:.4f} nats/char")
    path = save(model, args.out)
    print(f"saved {path} ({os.path.getsize(path) / 1e6:.2f} MB) after {log.seconds:.0f} s; "
          f"validation loss {log.val_loss[-1]:.4f} nats/char")
    return 0


def _sample_command(args):
    model = load(args.model)
    text = sample(model, args.prefix, args.n, args.temperature,
                  np.random.default_rng(args.seed))
    print(args.prefix + text)
    return 0


def main(argv=None):
    """Command-line entry point (``python -m rnnlib.charlm``)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="python -m rnnlib.charlm",
                                     description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("train", help="train on the pydoc corpus and save the model")
    p.add_argument("--steps", type=int, default=4000, help="training steps")
    p.add_argument("--hidden", type=int, default=256, help="LSTM units H")
    p.add_argument("--embed", type=int, default=32, help="embedding size E")
    p.add_argument("--batch", type=int, default=32, help="streams per batch N")
    p.add_argument("--T", type=int, default=64, help="window length (truncated BPTT)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    p.add_argument("--lr-final", type=float, default=3e-4, help="learning rate at the end")
    p.add_argument("--eval-every", type=int, default=500, help="steps between evaluations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--float32", action="store_true", help="train in float32 (smaller file)")
    p.add_argument("--out", default="charlm.npz", help="the .npz file to write")
    p = sub.add_parser("sample", help="generate text from a saved model")
    p.add_argument("model", help="an .npz file written by 'train'")
    p.add_argument("--prefix", default="The ")
    p.add_argument("--n", type=int, default=400, help="characters to generate")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.argv = argv
    if args.command == "train":
        if min(args.steps, args.hidden, args.embed, args.batch, args.T, args.eval_every) <= 0:
            parser.error("--steps, --hidden, --embed, --batch, --T and --eval-every must be "
                         "positive")
        return _train_command(args)
    return _sample_command(args)


if __name__ == "__main__":
    sys.exit(main())
