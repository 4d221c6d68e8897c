r"""Sequences of different lengths and sequence-to-sequence models.

Variable-length batches
-----------------------
:func:`pad_sequences` turns a list of integer sequences into one array of ids (N, T)
padded at the end with the ``pad`` symbol and a mask (N, T) that is ``True`` on the
valid steps; :func:`unpad` undoes it. :func:`length_buckets` groups sequences of similar
length into batches, so that little of each batch is padding (:func:`padding_fraction`).
The recurrent layers of :mod:`rnnlib.layers` hold the state at padded steps,
:math:`h_t = m_t \tilde h_t + (1 - m_t) h_{t-1}`, and the losses ignore them.

The encoder-decoder
-------------------
:class:`Seq2Seq` is the model of :cite:`sutskever2014` and :cite:`cho2014` built from the
layers: an encoder ``Embedding -> LSTM`` (or GRU, SimpleRNN) reads the source
:math:`x_1, \dots, x_S` and its final state :math:`(h_S, c_S)` initializes a decoder
``Embedding -> LSTM -> Dense`` that models

.. math::

    p(y_1, \dots, y_{T'} \mid x) = \prod_{t=1}^{T'} p(y_t \mid y_{<t}, x),
    \qquad p(y_t \mid y_{<t}, x) = \operatorname{softmax}(s_t W + b),

where :math:`s_t` is the decoder state after reading :math:`y_{t-1}` (with
:math:`y_0 = \langle\mathrm{bos}\rangle`). Training by teacher forcing feeds the true
previous token (:func:`shift_right`); the loss is the summed cross-entropy of the valid
target steps, averaged over the batch. The gradient leaves the decoder through its
initial state (``decoder.dinitial_state``) and enters the encoder as the gradient of its
final state (``backward(dout, dstate=...)``).

Scheduled sampling :cite:`bengio2015` (``sampling_prob`` :math:`p`) replaces each
decoder input after the first, with probability :math:`p`, by the model's own most
likely previous token; the choice is treated as a constant in the gradient.
:meth:`Seq2Seq.greedy_decode` and :meth:`Seq2Seq.sample_decode` generate one token at a
time through the layers' state API. Derived in the chapter "Variable length and
sequence to sequence".
"""
import numpy as np

from ._validation import (ArgumentTypeError, check_array, check_bool, check_choice,
                          check_float_dtype, check_generator, check_indices, check_int,
                          check_mask, check_number)
from .layers import Dense, Embedding, ParameterViews, mask_lengths, recurrent_layer_classes
from .losses import temporal_softmax_loss

__all__ = ["pad_sequences", "unpad", "length_buckets", "padding_fraction", "shift_right",
           "reversal_pairs", "Seq2Seq", "token_accuracy", "sequence_accuracy",
           "inverse_sigmoid_decay", "classifier_objective", "count_comparison",
           "PAD", "BOS", "EOS"]

#: The reserved symbols of the models here: padding, begin and end of sequence.
PAD, BOS, EOS = 0, 1, 2


def _check_ids(name, a, size=None):
    """Token ids (N, T): integers, non-negative (below ``size`` when it is known), with at
    least one sequence and one step, checked under the argument's own name."""
    check_array(name, a, ndim=2, floating=False)
    if a.dtype.kind not in "iu":
        raise ArgumentTypeError(f"{name} must be an integer array; got dtype {a.dtype}")
    if 0 in a.shape:
        raise ValueError(f"{name} must hold at least one sequence and one step; got shape "
                         f"{a.shape}")
    if size is not None:
        check_indices(name, a, size)
    elif a.min() < 0:
        raise ValueError(f"{name} must hold non-negative token ids; got {a.min()}")
    return a


def _check_sequence_list(name, seqs):
    if not isinstance(seqs, (list, tuple)) or len(seqs) == 0:
        raise ArgumentTypeError(f"{name} must be a non-empty list of 1-D integer arrays; got "
                                f"{type(seqs).__name__ if not isinstance(seqs, (list, tuple)) else 'an empty list'}")
    for i, s in enumerate(seqs):
        check_array(f"{name}[{i}]", s, ndim=1, floating=False)
        if s.dtype.kind not in "iu":
            raise ArgumentTypeError(f"{name}[{i}] must be an integer array; got dtype {s.dtype}")
        if s.size == 0:
            raise ValueError(f"{name}[{i}] is empty; every sequence needs at least one step")
        if s.min() < 0:
            raise ValueError(f"{name}[{i}] must hold non-negative token ids; got {s.min()}")
    return seqs


def pad_sequences(seqs, pad=PAD, length=None):
    """Pad integer sequences at the end into one array, with the mask of valid steps.

    Parameters
    ----------
    seqs : list of ndarray of int, each shape (L_n,), L_n >= 1
    pad : int
        The padding symbol (0 by default); it may not occur in the sequences.
    length : int, optional
        T, at least the longest L_n (default: the longest).

    Returns
    -------
    ids : ndarray of int64, shape (N, T)
        ``ids[n, :L_n] = seqs[n]``, ``pad`` after.
    mask : ndarray of bool, shape (N, T)
        ``True`` on the first L_n steps of row n.
    """
    _check_sequence_list("seqs", seqs)
    pad = check_int("pad", pad, low=0)
    lengths = np.array([len(s) for s in seqs])
    T = int(lengths.max()) if length is None else check_int("length", length)
    if T < lengths.max():
        raise ValueError(f"length={T} is shorter than the longest sequence ({lengths.max()})")
    for i, s in enumerate(seqs):
        if np.any(s == pad):
            raise ValueError(f"seqs[{i}] contains the padding symbol {pad}; padding would "
                             "make it ambiguous")
    ids = np.full((len(seqs), T), pad, dtype=np.int64)
    mask = np.arange(T) < lengths[:, None]
    ids[mask] = np.concatenate(seqs)
    return ids, mask


def unpad(ids, mask):
    """The list of sequences of a padded batch (the inverse of :func:`pad_sequences`).

    Parameters
    ----------
    ids : ndarray of int, shape (N, T)
    mask : ndarray of bool, shape (N, T), a prefix of each row

    Returns
    -------
    list of ndarray of int, shape (L_n,)
    """
    _check_ids("ids", ids)
    lengths = mask_lengths(mask, *ids.shape)
    return [ids[n, :L].copy() for n, L in enumerate(lengths)]


def length_buckets(lengths, batch_size, rng=None):
    """Group sequences into batches of similar length.

    The sequences are sorted by length (ties in a random order when ``rng`` is given)
    and cut into consecutive batches of ``batch_size``; with ``rng`` the batches are
    also returned in a random order. A batch then pads only up to its own longest
    sequence.

    Parameters
    ----------
    lengths : ndarray of int, shape (N,)
        The length of every sequence (>= 1).
    batch_size : int
    rng : numpy.random.Generator, optional

    Returns
    -------
    list of ndarray of int
        Indices into the N sequences; every index appears once.
    """
    check_array("lengths", lengths, ndim=1, floating=False)
    if lengths.dtype.kind not in "iu" or lengths.size == 0 or lengths.min() < 1:
        raise ValueError("lengths must be a non-empty integer array of lengths >= 1")
    batch_size = check_int("batch_size", batch_size)
    if rng is not None:
        check_generator("rng", rng)
        order = np.lexsort((rng.permutation(lengths.size), lengths))
    else:
        order = np.argsort(lengths, kind="stable")
    batches = [order[i:i + batch_size] for i in range(0, lengths.size, batch_size)]
    if rng is not None:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def padding_fraction(mask):
    """The fraction of the steps of a padded batch that are padding.

    Parameters
    ----------
    mask : ndarray of bool, shape (N, T)

    Returns
    -------
    float
    """
    check_array("mask", mask, ndim=2, floating=False)
    mask = check_mask("mask", mask, mask.shape)
    if mask.size == 0:
        raise ValueError("mask is empty")
    return float(1.0 - mask.mean())


def shift_right(targets, mask, bos=BOS, pad=PAD):
    r"""The decoder inputs of teacher forcing: the targets delayed by one step.

    Parameters
    ----------
    targets : ndarray of int, shape (N, T)
        :math:`y_1, \dots, y_{L_n}`, padded.
    mask : ndarray of bool, shape (N, T), a prefix of each row
    bos, pad : int
        The begin-of-sequence and padding symbols.

    Returns
    -------
    ndarray of int64, shape (N, T)
        :math:`\langle\mathrm{bos}\rangle, y_1, \dots, y_{L_n - 1}`, then ``pad``.
    """
    _check_ids("targets", targets)
    lengths = mask_lengths(mask, *targets.shape)
    bos, pad = check_int("bos", bos, low=0), check_int("pad", pad, low=0)
    out = np.full(targets.shape, pad, dtype=np.int64)
    out[:, 0] = bos
    out[:, 1:] = targets[:, :-1]
    out[np.arange(targets.shape[1]) >= lengths[:, None]] = pad
    return out


def reversal_pairs(n, min_len, max_len, n_symbols, rng):
    """A translation-like task generated in code: a digit string and its reverse.

    Sources are uniform in length on ``[min_len, max_len]`` with symbols drawn
    uniformly from the ``n_symbols`` content symbols ``3, ..., 2 + n_symbols`` (0, 1, 2
    are :data:`PAD`, :data:`BOS`, :data:`EOS`); the target is the reversed source
    followed by :data:`EOS`.

    Parameters
    ----------
    n, min_len, max_len, n_symbols : int
    rng : numpy.random.Generator

    Returns
    -------
    sources, targets : list of ndarray of int64
    """
    n, n_symbols = check_int("n", n), check_int("n_symbols", n_symbols)
    min_len = check_int("min_len", min_len)
    max_len = check_int("max_len", max_len, low=min_len)
    check_generator("rng", rng)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    sources = [rng.integers(3, 3 + n_symbols, size=L).astype(np.int64) for L in lengths]
    targets = [np.append(s[::-1], EOS).astype(np.int64) for s in sources]
    return sources, targets


def inverse_sigmoid_decay(step, k):
    r"""The teacher-forcing probability :math:`\epsilon_i = k / (k + e^{i/k})` of
    :cite:`bengio2015` at step :math:`i`; the sampling probability is :math:`1 -
    \epsilon_i`.

    Parameters
    ----------
    step : int, >= 0
    k : float, >= 1

    Returns
    -------
    float in (0, 1]
    """
    step = check_int("step", step, low=0)
    k = check_number("k", k, low=1)
    z = step / k
    if z > 700:                                     # e^z overflows; epsilon is 0 to double precision
        return 0.0
    return float(k / (k + np.exp(z)))


def token_accuracy(pred, targets, mask):
    r"""The fraction of valid target steps where ``pred`` equals ``targets``,
    :math:`\sum_{n,t} m_{nt} [\hat y_{nt} = y_{nt}] / \sum_{n,t} m_{nt}`.

    Parameters
    ----------
    pred, targets : ndarray of int, shape (N, T)
        Predicted and true tokens.
    mask : ndarray of bool, shape (N, T)
        The valid steps; at least one (else the accuracy is undefined: ValueError).

    Returns
    -------
    float in [0, 1]
    """
    pred, targets, mask = _check_scored("pred", pred, targets, mask)
    if not mask.any():
        raise ValueError("mask selects no steps: the accuracy is undefined")
    return float((pred == targets)[mask].mean())


def sequence_accuracy(pred, targets, mask):
    r"""The fraction of sequences whose every valid step is right (exact match),
    :math:`\frac1N \sum_n \prod_t [\hat y_{nt} = y_{nt} \lor \lnot m_{nt}]`; the
    padded steps (``mask`` False) do not count, whatever ``pred`` holds there.

    Arguments as for :func:`token_accuracy`: ``pred`` and ``targets`` of int and ``mask``
    of bool, each of shape (N, T).

    Returns
    -------
    float in [0, 1]
    """
    pred, targets, mask = _check_scored("pred", pred, targets, mask)
    return float(np.all((pred == targets) | ~mask, axis=1).mean())


def _check_scored(name, pred, targets, mask):
    for nm, a in ((name, pred), ("targets", targets)):
        _check_ids(nm, a)
    if pred.shape != targets.shape:
        raise ValueError(f"{name} and targets must have the same shape; got {pred.shape} "
                         f"and {targets.shape}")
    return pred, targets, check_mask("mask", mask, targets.shape)


def count_comparison(n, min_len, max_len, rng):
    """A many-to-one task of variable length generated in code: is there more ``a``
    than ``b``?

    Sequences over the symbols a, b, c (ids 1, 2, 3; 0 is :data:`PAD`) have lengths
    uniform on ``[min_len, max_len]`` and uniform symbols; the label is 1 when the count
    of a exceeds the count of b, else 0 (ties are 0).

    Parameters
    ----------
    n, min_len, max_len : int
    rng : numpy.random.Generator

    Returns
    -------
    sequences : list of ndarray of int64
    labels : ndarray of int64, shape (n,)
    """
    n = check_int("n", n)
    min_len = check_int("min_len", min_len)
    max_len = check_int("max_len", max_len, low=min_len)
    check_generator("rng", rng)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    seqs = [rng.integers(1, 4, size=L).astype(np.int64) for L in lengths]
    labels = np.array([int(np.sum(s == 1) > np.sum(s == 2)) for s in seqs], dtype=np.int64)
    return seqs, labels


def classifier_objective(model):
    r"""``loss_and_grads(params, inputs, targets, mask)`` of a many-to-one classifier
    with masks, for :func:`rnnlib.train.train`.

    The model (e.g. ``Sequential([Embedding, LSTM, Dense])`` with
    ``return_sequences=False``) reads the padded ids with their mask, so its output is
    the readout of each sequence's state at its last valid step; the loss is the mean
    softmax cross-entropy of one label per sequence,
    :math:`L = -\frac1N \sum_n \log \operatorname{softmax}(y_n)_{c_n}`.

    Parameters
    ----------
    model : rnnlib.layers.Layer
        Returns scores (N, K) for ids (N, T); built on first use.

    Returns
    -------
    callable
        ``loss_and_grads(params, ids (N, T), labels (N,), mask (N, T)) -> (loss, grads,
        scores)``; ``params`` must be None or ``model.params``.
    """
    from .layers import Layer
    if not isinstance(model, Layer):
        raise ArgumentTypeError(f"model must be a layer of rnnlib.layers; got "
                                f"{type(model).__name__}")

    def loss_and_grads(params, inputs, targets, mask):
        first = model.layers[0] if hasattr(model, "layers") else model
        if isinstance(first, Embedding):
            _check_ids("inputs", inputs, first.input_dim)
        else:
            check_array("inputs", inputs, ndim=3)
            if 0 in inputs.shape[:2]:
                raise ValueError(f"inputs must hold at least one sequence and one step; "
                                 f"got shape {inputs.shape}")
        if params is not None and model.built and set(params) != set(model.params):
            raise ValueError("the classifier trains its own parameters: pass model.params")
        scores = model.forward(inputs, mask)
        if scores.ndim != 2:
            raise ValueError(f"the model must return one score vector per sequence (N, K); "
                             f"got shape {scores.shape}: set return_sequences=False on the "
                             "last recurrent layer")
        check_indices("targets", targets, scores.shape[1], ndim=1)
        if targets.shape[0] != scores.shape[0]:
            raise ValueError(f"targets must hold one label per sequence ({scores.shape[0]}); "
                             f"got shape {targets.shape}")
        loss, d = temporal_softmax_loss(scores[:, None], targets[:, None],
                                        np.ones((len(targets), 1), dtype=bool))
        model.backward(d[:, 0])
        return loss, {k: g.copy() for k, g in model.grads.items()}, scores

    return loss_and_grads


class Seq2Seq(ParameterViews):
    r"""An encoder-decoder on the layers of :mod:`rnnlib.layers` :cite:`sutskever2014`.

    Parameters
    ----------
    source_vocab, target_vocab : int
        Vocabulary sizes (both include :data:`PAD`, :data:`BOS`, :data:`EOS` = 0, 1, 2).
    embed_dim : int
        Size of the token vectors (encoder and decoder have one table each).
    units : int
        H, the state size of encoder and decoder.
    cell : {"lstm", "gru", "rnn"}
        The recurrent layer of both (:mod:`rnnlib.cells`).
    sampling_prob : float in [0, 1]
        p of scheduled sampling :cite:`bengio2015` (0: pure teacher forcing).
    rng : numpy.random.Generator, optional
        Draws the coin flips of scheduled sampling (needed when ``sampling_prob > 0``).
    seed : int
        Seeds the initialization (the layers are built in the order of ``params``).
    dtype : {numpy.float64, numpy.float32}

    Attributes
    ----------
    params, grads : dict of ndarray
        Views over the layers' own arrays, keys ``"encoder.embedding.W"``,
        ``"encoder.rnn.Wx"``, ..., ``"decoder.dense.b"``; an optimizer's in-place update
        trains the model, so :func:`rnnlib.train.train` takes it directly.
    """

    def __init__(self, source_vocab, target_vocab, embed_dim, units, cell="lstm",
                 sampling_prob=0.0, rng=None, seed=0, dtype=np.float64):
        self.source_vocab = check_int("source_vocab", source_vocab, low=4)
        self.target_vocab = check_int("target_vocab", target_vocab, low=4)
        self.embed_dim = check_int("embed_dim", embed_dim)
        self.units = check_int("units", units)
        classes = recurrent_layer_classes()
        self.cell = check_choice("cell", cell, set(classes))
        self.dtype = check_float_dtype("dtype", dtype)
        seed = check_int("seed", seed, low=0)
        self.set_sampling(sampling_prob, rng)
        Rec = classes[cell]
        kw = dict(return_state=True, dtype=self.dtype)
        self.layers = {
            "encoder.embedding": Embedding(source_vocab, embed_dim, dtype=self.dtype),
            "encoder.rnn": Rec(units, return_sequences=False, **kw),
            "decoder.embedding": Embedding(target_vocab, embed_dim, dtype=self.dtype),
            "decoder.rnn": Rec(units, return_sequences=True, **kw),
            "decoder.dense": Dense(target_vocab, dtype=self.dtype),
        }
        rng_init = np.random.default_rng(seed)
        shapes = {"encoder.embedding": (None, None), "encoder.rnn": (None, None, embed_dim),
                  "decoder.embedding": (None, None), "decoder.rnn": (None, None, embed_dim),
                  "decoder.dense": (None, None, units)}
        for name, layer in self.layers.items():
            layer.build(shapes[name], rng_init)

    def set_sampling(self, sampling_prob, rng=None):
        """Set p of scheduled sampling (and the generator of its coin flips)."""
        self.sampling_prob = check_number("sampling_prob", sampling_prob, low=0, high=1)
        if rng is not None:
            check_generator("rng", rng)
        elif self.sampling_prob > 0:
            raise ValueError("scheduled sampling (sampling_prob > 0) needs rng, a "
                             "numpy.random.Generator for its coin flips")
        self.rng = rng

    def _children(self):
        return list(self.layers.items())

    def count_params(self):
        """Total number of scalar parameters."""
        return int(sum(v.size for v in self.params.values()))

    # -- checks ----------------------------------------------------------------------
    def _check_source(self, source):
        check_indices("source", source, self.source_vocab, ndim=2)
        if source.shape[0] == 0 or source.shape[1] == 0:
            raise ValueError(f"source must have shape (N, S) with N, S >= 1; got {source.shape}")
        mask = source != PAD
        mask_lengths(mask, *source.shape)          # padding at the end, >= 1 valid step
        return mask

    def _check_targets(self, targets, mask, N):
        check_array("targets", targets, ndim=2, floating=False)
        if targets.dtype.kind not in "iu":
            raise ArgumentTypeError(f"targets must be an integer array; got dtype {targets.dtype}")
        if targets.shape[0] != N or targets.shape[1] == 0:
            raise ValueError(f"targets must have shape ({N}, T) with T >= 1 for {N} sources; "
                             f"got {targets.shape}")
        mask = targets != PAD if mask is None else check_mask("mask", mask, targets.shape)
        mask_lengths(mask, *targets.shape)
        check_indices("targets", np.where(mask, targets, 0), self.target_vocab)
        return mask

    # -- passes ----------------------------------------------------------------------
    def encode(self, source):
        """The encoder's final state for a padded batch of sources.

        Parameters
        ----------
        source : ndarray of int, shape (N, S)
            Padded with :data:`PAD` at the end (the mask is ``source != PAD``).

        Returns
        -------
        state : tuple of ndarray (N, H)
            The state after each source's last symbol (``(h, c)`` for the LSTM).
        """
        mask = self._check_source(source)
        u = self.layers["encoder.embedding"].forward(source)
        _, state = self.layers["encoder.rnn"].forward(u, mask)
        return state

    def forward(self, source, decoder_inputs, mask=None):
        """Scores of every target step given the decoder's inputs (teacher forcing).

        Parameters
        ----------
        source : ndarray of int, shape (N, S)
        decoder_inputs : ndarray of int, shape (N, T)
            E.g. :func:`shift_right` of the targets.
        mask : ndarray of bool, shape (N, T), optional
            Valid target steps (default: all).

        Returns
        -------
        scores : ndarray, shape (N, T, V_target)
        """
        state = self.encode(source)
        N = source.shape[0]
        check_indices("decoder_inputs", decoder_inputs, self.target_vocab, ndim=2)
        if decoder_inputs.shape[0] != N or decoder_inputs.shape[1] == 0:
            raise ValueError(f"decoder_inputs must have shape ({N}, T) with T >= 1; got "
                             f"{decoder_inputs.shape}")
        if mask is not None:
            mask = check_mask("mask", mask, decoder_inputs.shape)
        e = self.layers["decoder.embedding"].forward(decoder_inputs)
        s, _ = self.layers["decoder.rnn"].forward(e, mask, initial_state=state)
        return self.layers["decoder.dense"].forward(s)

    def backward(self, dscores):
        """Backpropagate the gradient of the scores of the last :meth:`forward` through
        decoder and encoder; fills ``grads``."""
        dense = self.layers["decoder.dense"]
        if dense._cache is None:
            raise ValueError("Seq2Seq.backward needs a forward pass first")
        check_array("dscores", dscores, shape=dense._out_shape, dtype=self.dtype)
        ds = dense.backward(dscores)
        dec = self.layers["decoder.rnn"]
        self.layers["decoder.embedding"].backward(dec.backward(ds))
        enc = self.layers["encoder.rnn"]
        N = dscores.shape[0]
        dh_last = np.zeros((N, self.units), dtype=self.dtype)   # the loss reads only the state
        self.layers["encoder.embedding"].backward(enc.backward(dh_last,
                                                               dstate=dec.dinitial_state))

    def _mixed_inputs(self, source, targets, mask):
        """Decoder inputs of scheduled sampling: each input after the first is, with
        probability p, the model's most likely token at the previous step instead of
        the true one."""
        dec_in = shift_right(targets, mask)
        if self.sampling_prob == 0:
            return dec_in
        N, T = targets.shape
        use_model = self.rng.random((N, T)) < self.sampling_prob
        state = self.encode(source)
        tok = dec_in[:, 0]
        for t in range(1, T):
            scores, state = self._step(tok, state)
            pred = np.argmax(scores, axis=1)
            dec_in[:, t] = np.where(use_model[:, t] & mask[:, t], pred, dec_in[:, t])
            tok = dec_in[:, t]
        return dec_in

    def loss_and_grads(self, params, inputs, targets, mask):
        r"""The contract of :func:`rnnlib.train.train`.

        Parameters
        ----------
        params : dict or None
            Must be this model's own ``params`` (or None).
        inputs : ndarray of int, shape (N, S)
            Sources padded with :data:`PAD`.
        targets : ndarray of int, shape (N, T)
            :math:`y_1, \dots, y_{L_n}` (ending in :data:`EOS`), padded.
        mask : ndarray of bool, shape (N, T), or None (then ``targets != PAD``)

        Returns
        -------
        loss : float
            Cross-entropy summed over valid target steps, averaged over the batch.
        grads : dict of ndarray
            Copies, keys of ``params``.
        scores : ndarray, shape (N, T, V_target)
        """
        _check_ids("inputs", inputs, self.source_vocab)
        _check_ids("targets", targets, self.target_vocab)
        if params is not None:
            own = self.params
            if set(params) != set(own) or any(params[k] is not own[k] for k in own):
                raise ValueError("Seq2Seq trains its own parameters: pass params=None or "
                                 "model.params")
        self._check_source(inputs)
        mask = self._check_targets(targets, mask, inputs.shape[0])
        dec_in = self._mixed_inputs(inputs, targets, mask)
        scores = self.forward(inputs, dec_in, mask)
        loss, dscores = temporal_softmax_loss(scores, np.where(mask, targets, 0), mask)
        self.backward(dscores)
        return loss, {k: g.copy() for k, g in self.grads.items()}, scores

    # -- decoding --------------------------------------------------------------------
    def _step(self, tok, state):
        e = self.layers["decoder.embedding"].forward(tok[:, None])
        s, state = self.layers["decoder.rnn"].forward(e, initial_state=state)
        return self.layers["decoder.dense"].forward(s[:, 0]), state

    def _decode(self, source, max_len, choose):
        state = self.encode(source)
        N = source.shape[0]
        tok = np.full(N, BOS, dtype=np.int64)
        out = np.full((N, max_len), PAD, dtype=np.int64)
        scores_all = np.zeros((N, max_len, self.target_vocab), dtype=self.dtype)
        done = np.zeros(N, dtype=bool)
        for t in range(max_len):
            scores, state = self._step(tok, state)
            tok = choose(scores)
            scores_all[:, t] = scores
            out[:, t] = np.where(done, PAD, tok)
            done |= tok == EOS
            if done.all():
                break
        mask = out != PAD
        return out, mask, scores_all

    def greedy_decode(self, source, max_len, return_scores=False):
        """Decode by taking the most likely token at every step, one step at a time.

        Parameters
        ----------
        source : ndarray of int, shape (N, S)
        max_len : int
            The most steps to generate (stops earlier once every row has made
            :data:`EOS`).
        return_scores : bool
            Also return the scores of every generated step.

        Returns
        -------
        tokens : ndarray of int64, shape (N, max_len)
            The tokens up to and including the first :data:`EOS`, then :data:`PAD`.
        mask : ndarray of bool, shape (N, max_len)
            ``tokens != PAD``.
        scores : ndarray, shape (N, max_len, V_target)
            Only with ``return_scores=True`` (zeros after the loop stopped).
        """
        max_len = check_int("max_len", max_len)
        check_bool("return_scores", return_scores)
        out = self._decode(source, max_len, lambda s: np.argmax(s, axis=1))
        return out if return_scores else out[:2]

    def sample_decode(self, source, max_len, rng, temperature=1.0):
        r"""Decode by sampling every token from :math:`\operatorname{softmax}(y/\mathcal{T})`,
        the readout's scores :math:`y` at temperature :math:`\mathcal{T}`.

        Parameters
        ----------
        source : ndarray of int, shape (N, S)
        max_len : int
        rng : numpy.random.Generator
        temperature : float > 0
            :math:`\tau`; small values approach greedy decoding.

        Returns
        -------
        tokens, mask : as for :meth:`greedy_decode`
        """
        max_len = check_int("max_len", max_len)
        check_generator("rng", rng)
        tau = check_number("temperature", temperature, low=0, low_open=True)

        def choose(scores):
            z = scores / tau
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            u = rng.random((len(p), 1))
            idx = (np.cumsum(p, axis=1) < u).sum(axis=1)
            return np.minimum(idx, p.shape[1] - 1)

        return self._decode(source, max_len, choose)[:2]

    def __repr__(self):
        return (f"Seq2Seq({self.source_vocab}, {self.target_vocab}, embed_dim={self.embed_dim}, "
                f"units={self.units}, cell={self.cell!r}, sampling_prob={self.sampling_prob})")
