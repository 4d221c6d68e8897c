r"""Synthetic long-term-dependency problems, with their success criteria.

The "pathological" problems of :cite:`hochreiter1997`, used again by :cite:`martens2011`
and :cite:`pascanu2013` to show that plain gradient descent fails when a target depends
on inputs seen many steps earlier. Every problem is a :class:`Task`: it samples a batch
from an explicit ``numpy.random.Generator``, and it knows how the papers score a trained
network. The definitions follow the generators released with :cite:`pascanu2013`
(github.com/pascanur/trainingRNNs), which reimplement those of :cite:`martens2011`;
selective copying follows the description of :cite:`gu2023`.

Every task returns the same three arrays, ready for the losses of :mod:`rnnlib`:

* ``inputs``, float, shape (N, T, D);
* ``targets``, float of shape (N, T, K) for regression, int of shape (N, T) for
  classification (zero where the mask is ``False``);
* ``mask``, bool, shape (N, T): the steps that carry a target (only the last step for the
  "many-to-one" problems, the recall steps for memorization).

==========================  =====  ====  ==============  =============================
name                        D      K     target at       trivial error rate
==========================  =====  ====  ==============  =============================
``adding``                  2      1     last step       0.36
``multiplication``          2      1     last step       0.390
``temporal_order``          6      4     last step       0.75
``temporal_order_3bit``     6      8     last step       0.875
``permutation``             100    100   last step       0.5
``memorization`` (copy)     7      5     last 10 steps   :math:`1 - 5^{-10}`
``selective_copy``          7      5     last 10 steps   :math:`1 - 5^{-10}`
==========================  =====  ====  ==============  =============================

Success (:cite:`pascanu2013`, following :cite:`martens2011`): a network solves a task
when fewer than 1% of the sequences of a test batch are wrong. A sequence is wrong when
its squared error at the last step exceeds 0.04 (regression; the threshold of the
released code) or when any target step is misclassified (classification).
:cite:`hochreiter1997` used a stricter rule for their adding problem, an absolute error
below 0.04 on every test sequence, i.e. ``tolerance=0.04**2``; pass it to
:meth:`Task.errors`.

Used in the chapters "Difficulties of training", "Initialization", "Clipping and
regularizing", "LSTM" and "Linear recurrences".
"""
import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ._validation import (ArgumentTypeError, check_array, check_choice, check_float_dtype,
                          check_generator, check_int, check_mask, check_number)

#: Error-rate threshold below which a run counts as successful (:cite:`pascanu2013`).
SUCCESS_ERROR_RATE = 0.01
#: Squared error above which a regression sequence counts as wrong (:cite:`pascanu2013`).
REGRESSION_TOLERANCE = 0.04


def _check_sizes(name, T, batch, min_T, rng, dtype):
    """Check the arguments of a sampler; return (T, batch, dtype)."""
    T, batch = check_int("T", T), check_int("batch", batch)
    if T < min_T:
        raise ValueError(f"the {name} task needs sequences of length T >= {min_T}; got T={T}")
    check_generator("rng", rng)
    return T, batch, check_float_dtype("dtype", dtype)


def _one_hot(symbols, size, dtype):
    """One-hot vectors of shape symbols.shape + (size,)."""
    out = np.zeros(symbols.shape + (size,), dtype=dtype)
    np.put_along_axis(out, symbols[..., None], 1.0, axis=-1)
    return out


def _last_step_mask(N, T):
    mask = np.zeros((N, T), dtype=bool)
    mask[:, -1] = True
    return mask


def _marked_pair(T, batch, rng, dtype, combine):
    """Two channels (marker, value); values U[0, 1); markers at one step in [0, T/10) and
    one in [T/10, T/2) (:cite:`martens2011`, :cite:`pascanu2013`)."""
    n = np.arange(batch)
    p0 = rng.integers(0, T // 10, size=batch)
    p1 = rng.integers(T // 10, T // 2, size=batch)
    x = np.zeros((batch, T, 2), dtype=dtype)
    x[:, :, 1] = rng.uniform(size=(batch, T))
    x[n, p0, 0] = 1.0
    x[n, p1, 0] = 1.0
    y = np.zeros((batch, T, 1), dtype=dtype)
    y[:, -1, 0] = combine(x[n, p0, 1], x[n, p1, 1])
    return x, y, _last_step_mask(batch, T)


def adding(T, batch, rng, dtype=np.float64):
    r"""The adding problem: output the mean of the two marked values at the last step.

    Channel 0 is the marker (1 at two steps, 0 elsewhere), channel 1 a value drawn from
    U[0, 1). The first marker sits in the first tenth of the sequence, the second in
    [T/10, T/2), so at least T/2 steps separate the last relevant input from the target
    :math:`y = (X_1 + X_2)/2`. As in :cite:`pascanu2013`'s code (the adding problem of
    :cite:`hochreiter1997`, rescaled). Needs T >= 10.

    Returns
    -------
    inputs : ndarray, shape (batch, T, 2)
    targets : ndarray, shape (batch, T, 1), the target at ``[:, -1, 0]``
    mask : ndarray of bool, shape (batch, T), True at the last step
    """
    T, batch, dtype = _check_sizes("adding", T, batch, 10, rng, dtype)
    return _marked_pair(T, batch, rng, dtype, lambda a, b: 0.5 * (a + b))


def multiplication(T, batch, rng, dtype=np.float64):
    r"""The multiplication problem: as :func:`adding`, with target :math:`X_1 X_2`
    (:cite:`hochreiter1997`, :cite:`martens2011`). Needs T >= 10."""
    T, batch, dtype = _check_sizes("multiplication", T, batch, 10, rng, dtype)
    return _marked_pair(T, batch, rng, dtype, lambda a, b: a * b)


def _temporal_order(name, T, batch, rng, dtype, starts):
    """Symbols A, B (0, 1) at one step in each window [s T, (s + 0.1) T); distractors
    c..f (2..5) elsewhere; class = sum_i v_i 2^i."""
    T, batch, dtype = _check_sizes(name, T, batch, 10, rng, dtype)
    n = np.arange(batch)
    symbols = rng.integers(2, 6, size=(batch, T))
    label = np.zeros(batch, dtype=np.int64)
    for i, s in enumerate(starts):
        p = rng.integers(0, T // 10, size=batch) + int(s * T)
        v = rng.integers(0, 2, size=batch)
        symbols[n, p] = v
        label += v << i
    y = np.zeros((batch, T), dtype=np.int64)
    y[:, -1] = label
    return _one_hot(symbols, 6, dtype), y, _last_step_mask(batch, T)


def temporal_order(T, batch, rng, dtype=np.float64):
    r"""The temporal order problem: classify the order of two symbols far apart.

    Six one-hot symbols: A or B appears once in [0.1T, 0.2T) and once in [0.5T, 0.6T),
    random distractors c, d, e, f elsewhere; the class at the last step is one of
    AA, BA, AB, BB (``v0 + 2 v1``). :cite:`hochreiter1997` (experiment 6a), in the form
    of :cite:`martens2011` and :cite:`pascanu2013`. Needs T >= 10.

    Returns
    -------
    inputs : ndarray, shape (batch, T, 6)
    targets : ndarray of int, shape (batch, T), the class in [0, 4) at ``[:, -1]``
    mask : ndarray of bool, shape (batch, T), True at the last step
    """
    return _temporal_order("temporal_order", T, batch, rng, dtype, (0.1, 0.5))


def temporal_order_3bit(T, batch, rng, dtype=np.float64):
    r"""The 3-bit temporal order problem: three symbols A/B in [0.1T, 0.2T),
    [0.3T, 0.4T) and [0.6T, 0.7T), eight classes ``v0 + 2 v1 + 4 v2``
    (:cite:`hochreiter1997` experiment 6b, :cite:`martens2011`). Needs T >= 10.
    Shapes as in :func:`temporal_order`, with 8 classes."""
    return _temporal_order("temporal_order_3bit", T, batch, rng, dtype, (0.1, 0.3, 0.6))


def permutation(T, batch, rng, dtype=np.float64):
    r"""The random permutation problem: recall the first symbol at the end.

    One-hot symbols over 100 values; the first is 0 or 1, the other T-1 are drawn from
    2..99; the target at the last step is the first symbol (:cite:`martens2011`,
    :cite:`pascanu2013`). Needs T >= 2.

    Returns
    -------
    inputs : ndarray, shape (batch, T, 100)
    targets : ndarray of int, shape (batch, T), the first symbol at ``[:, -1]``
    mask : ndarray of bool, shape (batch, T), True at the last step
    """
    T, batch, dtype = _check_sizes("permutation", T, batch, 2, rng, dtype)
    symbols = rng.integers(2, 100, size=(batch, T))
    symbols[:, 0] = rng.integers(0, 2, size=batch)
    y = np.zeros((batch, T), dtype=np.int64)
    y[:, -1] = symbols[:, 0]
    return _one_hot(symbols, 100, dtype), y, _last_step_mask(batch, T)


MEMORY_VALUES = 5   #: symbols of the memorization problem
MEMORY_LENGTH = 10  #: symbols to memorize


def memorization(T, batch, rng, dtype=np.float64):
    r"""Noiseless memorization (the copy problem): reproduce 10 symbols after a delay.

    Seven input channels: the 10 symbols (5 values) are shown one-hot in the first 10
    steps; then channel 5 ("blank") is on, except at step T-10 where channel 6 ("go")
    is on (and the blank is off); the network must output the 10 symbols, in order, at the last 10 steps
    (:cite:`martens2011`, :cite:`pascanu2013`). ``T`` is the total length, so the delay
    between the last symbol and the go signal is T - 20 steps. Unlike the released code
    of :cite:`pascanu2013`, which also asks for a "blank" output at the other steps, only
    the recall steps carry a target (the mask). Needs T >= 21.

    Returns
    -------
    inputs : ndarray, shape (batch, T, 7)
    targets : ndarray of int, shape (batch, T), symbols in [0, 5) at ``[:, -10:]``
    mask : ndarray of bool, shape (batch, T), True at the last 10 steps
    """
    L = MEMORY_LENGTH
    T, batch, dtype = _check_sizes("memorization", T, batch, 2 * L + 1, rng, dtype)
    data = rng.integers(0, MEMORY_VALUES, size=(batch, L))
    symbols = np.full((batch, T), MEMORY_VALUES, dtype=np.int64)   # blank
    symbols[:, :L] = data
    symbols[:, T - L] = MEMORY_VALUES + 1                           # go
    x = _one_hot(symbols, MEMORY_VALUES + 2, dtype)
    y = np.zeros((batch, T), dtype=np.int64)
    y[:, T - L:] = data
    mask = np.zeros((batch, T), dtype=bool)
    mask[:, T - L:] = True
    return x, y, mask


def selective_copy(T, batch, rng, dtype=np.float64):
    r"""Selective copying :cite:`gu2023`: the copy problem with the symbols spread out.

    As :func:`memorization` (the same seven channels, 10 symbols of 5 values, "go" at
    step T-10 and the 10 symbols to output, in order, at the last 10 steps), except that
    the symbols sit at 10 distinct random positions of the first T-10 steps, drawn anew
    for every sequence, with the blank symbol at the other steps. A model that convolves
    its inputs with a fixed kernel (a linear time-invariant system such as S4 or the LRU)
    cannot know at which lags to look; :cite:`gu2023` use the task to motivate
    input-dependent (selective) recurrences. Needs T >= 21; at T = 20 + k there are k
    blanks among the symbols.

    Returns
    -------
    inputs : ndarray, shape (batch, T, 7)
    targets : ndarray of int, shape (batch, T), symbols in [0, 5) at ``[:, -10:]``
    mask : ndarray of bool, shape (batch, T), True at the last 10 steps
    """
    T, batch, dtype = _check_sizes("selective_copy", T, batch, 2 * MEMORY_LENGTH + 1, rng,
                                   dtype)
    x, y, mask = memorization(T, batch, rng, dtype)    # the symbols at steps 0, ..., L-1
    L = MEMORY_LENGTH
    # L distinct positions in [0, T - L), in increasing order: the first L of a random
    # permutation of each row, sorted. The symbols move there, in order; step L (T > 2L)
    # is a blank, which fills the first L steps before the move.
    positions = np.sort(np.argsort(rng.uniform(size=(batch, T - L)), axis=1)[:, :L], axis=1)
    symbols = x[:, :L].copy()
    x[:, :L] = x[:, L:L + 1]
    np.put_along_axis(x, positions[..., None], symbols, axis=1)
    return x, y, mask


@dataclass(frozen=True)
class Task:
    r"""A long-term-dependency problem: a sampler and how the papers score it.

    Attributes
    ----------
    name : str
    kind : {"regression", "classification"}
        Regression targets are floats of shape (N, T, K) scored by the mean squared error;
        classification targets are ints of shape (N, T) scored by softmax cross-entropy.
    input_size : int
        D, the width of one input step.
    output_size : int
        K, the number of outputs (regression) or classes (classification).
    min_length : int
        The shortest T the task accepts.
    sampler : callable
        ``sampler(T, batch, rng, dtype) -> (inputs, targets, mask)``.
    baseline_loss : float
        The loss of the best predictor that ignores the input (mean squared error of
        predicting the target's mean; cross-entropy of the class frequencies, summed over
        the target steps as :func:`rnnlib.losses.temporal_softmax_loss` does). A network whose
        loss stays here has learned nothing.
    baseline_error : float
        The error rate (fraction of wrong sequences, see :meth:`errors`) of that trivial
        predictor: e.g. 0.36 for adding (predicting 0.5), 0.75 for temporal order.
    reference : str
        BibTeX keys of the definition.
    """

    name: str
    kind: str
    input_size: int
    output_size: int
    min_length: int
    sampler: Callable
    baseline_loss: float
    baseline_error: float
    reference: str

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ArgumentTypeError(f"name must be a non-empty string; got {self.name!r}")
        check_choice("kind", self.kind, ("regression", "classification"))
        for field in ("input_size", "output_size", "min_length"):
            check_int(field, getattr(self, field))
        if not callable(self.sampler):
            raise ArgumentTypeError(f"sampler must be a callable sampler(T, batch, rng, "
                                    f"dtype); got {type(self.sampler).__name__}")
        check_number("baseline_loss", self.baseline_loss, low=0)
        check_number("baseline_error", self.baseline_error, low=0, high=1)
        if not isinstance(self.reference, str):
            raise ArgumentTypeError(f"reference must be a string; got {self.reference!r}")

    def sample(self, T, batch, rng, dtype=np.float64):
        """Draw a batch: ``(inputs (N, T, D), targets, mask (N, T))``; see the module
        docstring for the shapes. Raises ValueError for T < ``min_length`` or a
        non-positive size."""
        return self.sampler(T, batch, rng, dtype=dtype)

    def errors(self, predictions, targets, mask, tolerance=REGRESSION_TOLERANCE):
        """Which sequences the predictions get wrong.

        Parameters
        ----------
        predictions : ndarray, shape (N, T, K)
            Network outputs: values (regression) or class scores (classification).
        targets, mask : as returned by :meth:`sample`.
        tolerance : float
            Regression only: a sequence is wrong when its squared error, summed over the
            K outputs and the target steps, exceeds ``tolerance`` (0.04 in
            :cite:`pascanu2013`; ``0.04**2`` gives the absolute-error rule of
            :cite:`hochreiter1997`).

        Returns
        -------
        wrong : ndarray of bool, shape (N,)
        """
        check_array("predictions", predictions, ndim=3)   # NaN predictions are refused
        N, T, K = predictions.shape
        if K != self.output_size or N == 0 or T == 0:
            raise ValueError(f"predictions of the {self.name} task must have shape "
                             f"(N, T, {self.output_size}) with N, T >= 1; got "
                             f"{predictions.shape}")
        mask = check_mask("mask", mask, (N, T))
        tolerance = check_number("tolerance", tolerance, low=0)
        if self.kind == "regression":
            check_array("targets", targets, shape=(N, T, K))
            err = np.where(mask[..., None], predictions - targets, 0.0)
            return (err ** 2).sum(axis=(1, 2)) > tolerance
        check_array("targets", targets, shape=(N, T), floating=False)
        if targets.dtype.kind not in "iu":
            raise ArgumentTypeError(f"targets of the {self.name} task must be an integer "
                                    f"array of classes; got dtype {targets.dtype}")
        tm = targets[mask]
        if tm.size and (tm.min() < 0 or tm.max() >= K):
            raise ValueError(f"targets must hold classes in [0, {K}) on masked steps; got "
                             f"values from {tm.min()} to {tm.max()}")
        return ((predictions.argmax(axis=-1) != targets) & mask).any(axis=1)

    def error_rate(self, predictions, targets, mask, tolerance=REGRESSION_TOLERANCE):
        """Fraction of wrong sequences, in [0, 1] (see :meth:`errors`)."""
        return float(self.errors(predictions, targets, mask, tolerance).mean())

    def success(self, predictions, targets, mask, threshold=SUCCESS_ERROR_RATE,
                tolerance=REGRESSION_TOLERANCE):
        """True when fewer than ``threshold`` (1%) of the sequences are wrong, the
        criterion of :cite:`pascanu2013` (on a test batch of fresh sequences)."""
        threshold = check_number("threshold", threshold, low=0, high=1, low_open=True)
        return self.error_rate(predictions, targets, mask, tolerance) < threshold


def _product_error_rate(c, tol):
    """P(|X1 X2 - c| > tol) for X1, X2 ~ U[0, 1]: the CDF of the product is z - z ln z."""
    cdf = lambda z: 0.0 if z <= 0 else (1.0 if z >= 1 else z - z * math.log(z))  # noqa: E731
    return 1.0 - (cdf(c + tol) - cdf(c - tol))


_TOL = math.sqrt(REGRESSION_TOLERANCE)   # |error| above which a regression sequence is wrong

#: The registry of tasks by name.
TASKS = {
    "adding": Task(
        "adding", "regression", 2, 1, 10, adding,
        # (X1 + X2)/2 - 1/2 is triangular on [-1/2, 1/2]: variance 1/24, P(|e| > .2) = .6^2
        baseline_loss=1 / 24, baseline_error=(1 - 2 * _TOL) ** 2,
        reference="hochreiter1997, martens2011, pascanu2013"),
    "multiplication": Task(
        "multiplication", "regression", 2, 1, 10, multiplication,
        baseline_loss=1 / 9 - 1 / 16, baseline_error=_product_error_rate(0.25, _TOL),
        reference="hochreiter1997, martens2011, pascanu2013"),
    "temporal_order": Task(
        "temporal_order", "classification", 6, 4, 10, temporal_order,
        baseline_loss=math.log(4), baseline_error=3 / 4,
        reference="hochreiter1997, martens2011, pascanu2013"),
    "temporal_order_3bit": Task(
        "temporal_order_3bit", "classification", 6, 8, 10, temporal_order_3bit,
        baseline_loss=math.log(8), baseline_error=7 / 8,
        reference="hochreiter1997, martens2011, pascanu2013"),
    "permutation": Task(
        "permutation", "classification", 100, 100, 2, permutation,
        baseline_loss=math.log(2), baseline_error=1 / 2,
        reference="martens2011, pascanu2013"),
    "memorization": Task(
        "memorization", "classification", MEMORY_VALUES + 2, MEMORY_VALUES,
        2 * MEMORY_LENGTH + 1, memorization,
        baseline_loss=MEMORY_LENGTH * math.log(MEMORY_VALUES),
        baseline_error=1 - MEMORY_VALUES ** -MEMORY_LENGTH,
        reference="martens2011, pascanu2013"),
}
# Selective copying has the sizes, the symbols and hence the baselines of memorization.
TASKS["selective_copy"] = replace(TASKS["memorization"], name="selective_copy",
                                  sampler=selective_copy, reference="gu2023")

_ALIASES = {"copy": "memorization", "addition": "adding"}


def get_task(name):
    """The :class:`Task` called ``name`` (``"copy"`` is an alias of ``"memorization"``).

    Raises ValueError listing the known names for an unknown one.
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"task name must be a string, one of {sorted(TASKS)}; got "
                                f"{name!r}")
    name = _ALIASES.get(name, name)
    check_choice("task name", name, TASKS)
    return TASKS[name]
