r"""Grids of the book's experiments: configuration × sequence length × seed.

::

    python -m rnnlib.experiments --list
    python -m rnnlib.experiments NAME --seeds S --steps K --T 20,50,100 --out FILE \
        [--workers N | --scheduler ADDRESS] [--first-seed N] [--configs A,B] [--stack S]

Each cell of the grid (one configuration of ``EXPERIMENTS[NAME]``, one length ``T``, one
seed) is an independent training run, submitted to a :class:`concurrent.futures.Executor`:
in-process and one after the other by default; with ``--workers N`` on a Dask
``LocalCluster`` of N single-threaded worker processes (one BLAS thread each); with
``--scheduler ADDRESS`` (or the environment variable ``DASK_SCHEDULER_ADDRESS``) on an
existing Dask cluster. Each run's random generator is ``np.random.default_rng(seed)``
and BLAS runs on one thread, so the records do not depend on where a run was done.
With ``--stack S`` the seeds of a vanilla-RNN configuration (:func:`stackable`) are
trained up to S at a time as one computation with a leading model axis
(:mod:`rnnlib.batched`, :func:`run_cells`), with the same records; the benchmark
``benchmarks/batched_seeds.py`` measures what it gains.

``FILE`` gets one JSON object per line for each finished run (see :func:`run_cell` for
the fields), appended and flushed as soon as the run finishes. Running the same command
again skips the runs already in ``FILE`` (key: experiment, configuration, T, seed,
steps), so a killed grid resumes without duplicates. The table printed at the end is
computed from ``FILE`` alone (:func:`load_results`, :func:`summarize`): per
configuration and T the success rate with its Wilson 95% interval
(:func:`rnnlib.stats.wilson_interval`), the median step of success, the number of
diverged runs, the mean final test error and the seconds per run. A progress bar on
stderr (runs done out of the total, time left) is shown in a terminal unless
``RNNLIB_PROGRESS=0``.

To add an experiment, add an :class:`Experiment` to the dict ``EXPERIMENTS``: a task, a
default sequence length and a dict of named :class:`Config`.
"""
import concurrent.futures as cf
import contextlib
import json
import math
import os
import shlex
import socket
import sys
import time
import warnings
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone

import numpy as np

from ._validation import (ArgumentTypeError, check_bool, check_choice, check_int,
                          check_number, check_optional_number)
from .cells import get_cell
from .cli import Parser, int_list, non_negative_int, output_file_problem, positive_int
from .models import SequenceModel
from .optim import SGD, Adam
from .stats import wilson_interval
from .tasks import REGRESSION_TOLERANCE, SUCCESS_ERROR_RATE, Task, get_task
from .train import NonFiniteError, ProgressBar, progress_enabled, train


@dataclass(frozen=True)
class Config:
    """One configuration: model, initialization and training options.

    ``init`` goes to :func:`rnnlib.init.rnn_params` (or lstm/gru); ``optimizer``
    (``"sgd"`` or ``"adam"``) chooses :class:`rnnlib.optim.SGD`, which takes ``lr`` and
    ``momentum``, or :class:`rnnlib.optim.Adam`, which takes ``lr``; ``clip_norm``,
    ``clip_value`` and ``omega_weight`` go to :func:`rnnlib.train.train`.
    ``gate_bias`` maps gate names of the cell (:attr:`rnnlib.cells.Cell.gates`, e.g.
    ``"i"`` for the LSTM's input gate) to the value their bias block starts at, set after
    ``init``: ``{"i": -3.0}`` starts the input gates nearly closed, the remedy of
    :cite:`hochreiter1997` for the drift of the cell state early in training."""

    cell: str = "rnn"
    activation: str = "tanh"
    init: dict = field(default_factory=dict)
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    clip_norm: float = None
    clip_value: float = None
    omega_weight: float = 0.0
    gate_bias: dict = field(default_factory=dict)

    def __post_init__(self):
        # checked once here, so that a bad field fails when the Config is written, not
        # in the middle of a grid (the stored values are left as given)
        cell = get_cell(self.cell)
        if not isinstance(self.gate_bias, dict):
            raise ArgumentTypeError(f"gate_bias must be a dict of gate name -> number; got "
                                    f"{type(self.gate_bias).__name__}")
        for gate, value in self.gate_bias.items():
            check_choice("gate_bias", gate, cell.gates)
            check_number(f"gate_bias[{gate!r}]", value)
        check_choice("activation", self.activation, ("tanh", "relu"))
        if not isinstance(self.init, dict):
            raise ArgumentTypeError(f"init must be a dict of keyword arguments; got "
                                    f"{type(self.init).__name__}")
        check_choice("optimizer", self.optimizer, ("sgd", "adam"))
        check_number("lr", self.lr, low=0, low_open=True)
        check_number("momentum", self.momentum, low=0, high=1, high_open=True)
        check_optional_number("clip_norm", self.clip_norm, low=0, low_open=True)
        check_optional_number("clip_value", self.clip_value, low=0, low_open=True)
        check_number("omega_weight", self.omega_weight, low=0)


@dataclass(frozen=True)
class Experiment:
    """A comparison of configurations on one task (see the module docstring).

    ``tolerance`` is the squared error above which a regression sequence is wrong in the
    success test (:meth:`rnnlib.tasks.Task.errors`): 0.04 by default (:cite:`pascanu2013`),
    ``0.04**2`` for the absolute-error rule of :cite:`hochreiter1997`."""

    description: str
    task: str
    T: int
    hidden_size: int
    configs: dict
    batch_size: int = 20
    eval_every: int = 100
    tolerance: float = REGRESSION_TOLERANCE

    def __post_init__(self):
        if not isinstance(self.description, str):
            raise ArgumentTypeError(f"description must be a str; got "
                                    f"{type(self.description).__name__}")
        task = get_task(self.task)
        check_int("T", self.T, low=task.min_length)
        check_int("hidden_size", self.hidden_size)
        check_int("batch_size", self.batch_size)
        check_int("eval_every", self.eval_every)
        check_number("tolerance", self.tolerance, low=0, low_open=True)
        if not isinstance(self.configs, dict) or not self.configs:
            raise ValueError("configs must be a non-empty dict of Config by name")
        for label, config in self.configs.items():
            if not isinstance(config, Config):
                raise ArgumentTypeError(f"configs[{label!r}] must be a Config; got "
                                        f"{type(config).__name__}")


@dataclass(frozen=True)
class _ScoredTask(Task):
    """A task whose error rate and success test use the tolerance of an Experiment
    (what :func:`rnnlib.train.train` calls when it evaluates)."""

    tolerance: float = REGRESSION_TOLERANCE

    def error_rate(self, predictions, targets, mask, tolerance=None):
        return super().error_rate(predictions, targets, mask,
                                  self.tolerance if tolerance is None else tolerance)

    def success(self, predictions, targets, mask, threshold=SUCCESS_ERROR_RATE,
                tolerance=None):
        return super().success(predictions, targets, mask, threshold,
                               self.tolerance if tolerance is None else tolerance)


def _scored_task(experiment):
    """The experiment's task, scored with its tolerance."""
    task = get_task(experiment.task)
    if experiment.tolerance == REGRESSION_TOLERANCE:
        return task
    return _ScoredTask(**{f.name: getattr(task, f.name) for f in fields(task)},
                       tolerance=experiment.tolerance)


#: The "smart_tanh" initialization of :cite:`pascanu2013`: sparse recurrent weights at
#: spectral radius 0.95, input weights from N(0, 0.01^2).
_SPARSE_095 = {"scheme": "sparse", "k": 15, "spectral_radius": 0.95, "input_std": 0.01}

EXPERIMENTS = {
    "init": Experiment(
        "Initialization of the recurrent weights (chapter 'Initialization'): vanilla RNN "
        "with 32 units on the temporal order problem, Adam with clipping.",
        task="temporal_order", T=40, hidden_size=32,
        configs={
            "gaussian 0.1": Config(init={"scheme": "gaussian", "std": 0.1},
                                   optimizer="adam", clip_norm=1.0),
            "glorot": Config(init={"scheme": "glorot"}, optimizer="adam", clip_norm=1.0),
            "orthogonal": Config(init={"scheme": "orthogonal"}, optimizer="adam",
                                 clip_norm=1.0),
            "sparse 15, rho 1.1": Config(init={"scheme": "sparse", "k": 15},
                                         optimizer="adam", clip_norm=1.0),
            "relu identity": Config(activation="relu",
                                    init={"scheme": "identity", "input_std": 0.001},
                                    optimizer="adam", clip_norm=1.0),
        }),
    "clipping": Experiment(
        "SGD vs clipping vs clipping + Omega (chapter 'Clipping and regularizing', "
        "after Pascanu et al. 2013): vanilla tanh RNN with 32 units, sparse "
        "initialization at spectral radius 0.95, SGD with learning rate 0.5.",
        task="temporal_order", T=20, hidden_size=32,
        configs={
            "SGD": Config(init=_SPARSE_095, lr=0.5),
            "SGD + clip": Config(init=_SPARSE_095, lr=0.5, clip_norm=1.0),
            "SGD + clip + Omega": Config(init=_SPARSE_095, lr=0.5, clip_norm=1.0,
                                         omega_weight=2.0),
        }),
    "adding": Experiment(
        "Gated cells against the vanilla RNN on the adding problem (chapter 'LSTM and "
        "GRU'): 32 units, batches of 64, Adam with clipping by norm at 1.",
        task="adding", T=50, hidden_size=32, batch_size=64,
        configs={
            "tanh RNN, orthogonal": Config(init={"scheme": "orthogonal"}, optimizer="adam",
                                           lr=3e-3, clip_norm=1.0),
            "IRNN": Config(activation="relu", init={"scheme": "identity", "input_std": 0.001},
                           optimizer="adam", lr=1e-3, clip_norm=1.0),
            "LSTM, forget bias 1": Config(cell="lstm", init={"forget_bias": 1.0},
                                          optimizer="adam", lr=3e-3, clip_norm=1.0),
            "LSTM, forget bias 0": Config(cell="lstm", init={"forget_bias": 0.0},
                                          optimizer="adam", lr=3e-3, clip_norm=1.0),
            "GRU": Config(cell="gru", optimizer="adam", lr=3e-3, clip_norm=1.0),
        }),
    "hochreiter": Experiment(
        "The adding problem at T = 100 with the absolute-error rule of Hochreiter & "
        "Schmidhuber 1997 (|error| < 0.04, chapter 'LSTM and GRU'): the LSTM with its "
        "input gates starting nearly closed (bias -3) and its forget gates open (bias 3), "
        "Adam at 1e-2, against the tanh RNN, the IRNN and the GRU; 32 units, batches of "
        "64, clipping by norm at 1.",
        task="adding", T=100, hidden_size=32, batch_size=64, tolerance=0.04 ** 2,
        configs={
            "LSTM": Config(cell="lstm", init={"forget_bias": 3.0}, gate_bias={"i": -3.0},
                           optimizer="adam", lr=1e-2, clip_norm=1.0),
            "tanh RNN, orthogonal": Config(init={"scheme": "orthogonal"}, optimizer="adam",
                                           lr=3e-3, clip_norm=1.0),
            "IRNN": Config(activation="relu", init={"scheme": "identity", "input_std": 0.001},
                           optimizer="adam", lr=1e-3, clip_norm=1.0),
            "GRU": Config(cell="gru", optimizer="adam", lr=3e-3, clip_norm=1.0),
        }),
}

#: The fields that identify a run in a results file: a run with the same key is skipped.
KEY_FIELDS = ("experiment", "config", "T", "seed", "steps")
#: Every field of a record (see :func:`run_cell`).
RECORD_FIELDS = KEY_FIELDS + ("solved_at", "error", "loss", "diverged", "seconds", "worker",
                              "rnnlib_version", "command", "finished")
#: The fields that may differ between two runs of the same cell (timing and placement).
VOLATILE_FIELDS = ("seconds", "worker", "command", "finished")
#: BLAS and OpenMP on one thread: each run is single-threaded wherever it runs.
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                  "MKL_NUM_THREADS": "1"}


class TruncatedRecordWarning(UserWarning):
    """The last line of a results file is incomplete (a run killed while writing)."""


def _experiment(name):
    if not isinstance(name, str) or name not in EXPERIMENTS:
        raise ValueError(f"name: unknown experiment {name!r}; known: "
                         f"{', '.join(sorted(EXPERIMENTS))}")
    return EXPERIMENTS[name]


def run_config(experiment, config, seed, steps, T=None, progress=None):
    """Train one configuration with one seed.

    Returns a dict: ``solved_at`` (first successful evaluation step, or None),
    ``diverged`` (bool), final test ``error`` rate, final training ``loss``, wall
    ``seconds`` and the :class:`rnnlib.train.History` as ``history``."""
    if not isinstance(experiment, Experiment):
        raise ArgumentTypeError(f"experiment must be an Experiment; got "
                                f"{type(experiment).__name__}")
    if not isinstance(config, Config):
        raise ArgumentTypeError(f"config must be a Config; got {type(config).__name__}")
    task = _scored_task(experiment)
    T = experiment.T if T is None else check_int("T", T, low=task.min_length)
    seed, steps = check_int("seed", seed, low=0), check_int("steps", steps)
    if progress is not None:
        check_bool("progress", progress)
    rng = np.random.default_rng(seed)
    model = SequenceModel.for_task(task, experiment.hidden_size, rng, cell=config.cell,
                                   activation=config.activation, init=config.init)
    gates, H = get_cell(config.cell).gates, experiment.hidden_size
    for gate, value in config.gate_bias.items():
        k = gates.index(gate)
        model.params["b"][k * H:(k + 1) * H] = value
    check_choice("optimizer", config.optimizer, ("sgd", "adam"))
    opt = (Adam(config.lr) if config.optimizer == "adam"
           else SGD(config.lr, momentum=config.momentum))
    start = time.perf_counter()
    try:
        hist = train(model, None, opt, task, steps, T=T, batch_size=experiment.batch_size,
                     clip_norm=config.clip_norm, clip_value=config.clip_value,
                     omega_weight=config.omega_weight,
                     eval_every=min(experiment.eval_every, steps), stop_on_success=True,
                     rng=rng, progress=progress)
        diverged = False
    except NonFiniteError as err:
        hist, diverged = err.history, True
    return {"solved_at": hist.solved_at, "diverged": diverged,
            "error": hist.eval_error[-1] if hist.eval_error else float("nan"),
            "loss": hist.loss[-1] if hist.loss else float("nan"),
            "seconds": time.perf_counter() - start, "history": hist}


def _finite_or_none(value):
    value = float(value)
    return value if math.isfinite(value) else None


def _worker_name():
    dist = sys.modules.get("distributed")
    if dist is not None:
        try:
            return dist.get_worker().address
        except ValueError:          # not inside a Dask worker
            pass
    return f"{socket.gethostname()}:{os.getpid()}"


def run_cell(name, config, T, seed, steps):
    """Run one cell of a grid and return its record (a JSON-ready dict).

    The fields: ``experiment``, ``config`` (the configuration's name), ``T``, ``seed``,
    ``steps`` (the step budget), ``solved_at`` (first step with success, or None),
    ``error`` (final test error rate, None if never evaluated), ``loss`` (final training
    loss), ``diverged``, ``seconds``, ``worker`` (Dask worker address, else host:pid) and
    ``rnnlib_version``. :func:`run_grid` adds ``command`` and ``finished`` (UTC time).
    BLAS is limited to one thread for the run, so the numbers do not depend on where it
    ran."""
    from threadpoolctl import threadpool_limits

    exp = _experiment(name)
    check_choice("config", config, tuple(exp.configs))
    T, seed, steps = check_int("T", T), check_int("seed", seed, low=0), check_int("steps", steps)
    with threadpool_limits(limits=1):
        res = run_config(exp, exp.configs[config], seed, steps, T=T, progress=False)
    return _record(name, config, T, seed, steps, res)


def _record(name, config, T, seed, steps, res):
    """The record of one run (see :func:`run_cell`) from a result of :func:`run_config`."""
    from . import __version__
    return {"experiment": name, "config": config, "T": T, "seed": seed, "steps": steps,
            "solved_at": None if res["solved_at"] is None else int(res["solved_at"]),
            "error": _finite_or_none(res["error"]), "loss": _finite_or_none(res["loss"]),
            "diverged": bool(res["diverged"]), "seconds": round(res["seconds"], 3),
            "worker": _worker_name(), "rnnlib_version": __version__}


def stackable(experiment, config):
    """Whether the runs of ``config`` can be trained as one stack of seeds
    (:func:`rnnlib.batched.run_config_seeds`): a vanilla RNN without Omega, value
    clipping or gate biases, on an experiment with the default success rule."""
    if not isinstance(experiment, Experiment):
        raise ArgumentTypeError(f"experiment must be an Experiment; got "
                                f"{type(experiment).__name__}")
    if not isinstance(config, Config):
        raise ArgumentTypeError(f"config must be a Config; got {type(config).__name__}")
    return (config.cell == "rnn" and not config.omega_weight and config.clip_value is None
            and not config.gate_bias and experiment.tolerance == REGRESSION_TOLERANCE)


def run_cells(name, config, T, seeds, steps):
    """:func:`run_cell` for several seeds of one configuration and length, trained as one
    stack (:func:`rnnlib.batched.run_config_seeds`, one BLAS thread). Returns one record
    per seed, in the order of ``seeds``, equal to those of :func:`run_cell` up to
    rounding, except ``seconds``: the stack's wall time divided by the number of seeds.
    The configuration must be :func:`stackable`."""
    from threadpoolctl import threadpool_limits

    from .batched import run_config_seeds
    exp = _experiment(name)
    check_choice("config", config, tuple(exp.configs))
    T, steps = check_int("T", T), check_int("steps", steps)
    if not isinstance(seeds, (list, tuple)) or not seeds:
        raise ArgumentTypeError(f"seeds must be a non-empty list of seeds; got {seeds!r}")
    seeds = [check_int("seed", seed, low=0) for seed in seeds]
    if not stackable(exp, exp.configs[config]):
        raise ValueError(f"configuration {config!r} of {name!r} cannot be stacked "
                         f"(rnnlib.experiments.stackable); run it with run_cell")
    with threadpool_limits(limits=1):
        results = run_config_seeds(exp, exp.configs[config], seeds, steps, T=T)
    return [_record(name, config, T, seed, steps, res) for seed, res in zip(seeds, results)]


class SerialExecutor(cf.Executor):
    """A :class:`concurrent.futures.Executor` that runs each function in the calling
    process when it is submitted (the default of :func:`run_grid`)."""

    def submit(self, fn, /, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` now; return a finished future with its result
        (or its exception)."""
        future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed to the caller via the future
            future.set_exception(err)
        return future


def record_key(record):
    """The tuple that identifies a run: ``(experiment, config, T, seed, steps)``."""
    return tuple(record[k] for k in KEY_FIELDS)


def _read(path, repair):
    """The records of ``path``; an incomplete last line is warned about and, with
    ``repair``, cut from the file."""
    with open(path, "rb") as fh:
        data = fh.read()
    *complete, tail = data.split(b"\n")
    records, offset, bad_at = [], 0, None
    for i, line in enumerate(complete):
        if line.strip():
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or any(k not in rec for k in KEY_FIELDS):
                    raise ValueError("not a run record")
            except ValueError:
                if i < len(complete) - 1 or tail.strip():
                    raise ValueError(f"{path}, line {i + 1}: not a run record of "
                                     "rnnlib.experiments") from None
                bad_at = offset           # the last line, cut inside its JSON text
                break
            records.append(rec)
        offset += len(line) + 1
    if bad_at is None and tail.strip():   # every record ends with a newline
        bad_at = offset
    if bad_at is not None:
        action = "removed; that run will be done again" if repair else "ignored"
        warnings.warn(f"{path}: the last line is incomplete (a run killed while writing) "
                      f"and is {action}", TruncatedRecordWarning, stacklevel=3)
        if repair:
            with open(path, "r+b") as fh:
                fh.truncate(bad_at)
    return records


def load_results(path):
    """The records of a results file, as a list of dicts (one per finished run).

    An incomplete last line (a grid killed while writing) is ignored with a
    :class:`TruncatedRecordWarning`; any other line that is not a record raises
    ``ValueError``."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike; got {type(path).__name__}")
    return _read(path, repair=False)


def grid_cells(name, seeds, T_values, first_seed=0, configs=None):
    """The cells ``(config, T, seed)`` of a grid, seed by seed (so that a grid stopped
    early has every configuration and length at its first seeds); ``configs`` (a list
    of configuration names) restricts the grid to those."""
    exp = _experiment(name)
    labels = list(exp.configs) if configs is None else list(configs)
    for label in labels:
        check_choice("configs", label, tuple(exp.configs))
    seeds = check_int("seeds", seeds)
    first_seed = check_int("first_seed", first_seed, low=0)
    T_values = [check_int("T", T) for T in T_values]
    if not T_values:
        raise ValueError("T_values must hold at least one length")
    return [(label, T, seed) for seed in range(first_seed, first_seed + seeds)
            for T in T_values for label in labels]


def grid_command(name, seeds, steps, T_values, out, first_seed=0, configs=None, stack=None):
    """The command line that runs this grid (stored in each record)."""
    exp = _experiment(name)
    if configs is not None:
        configs = list(configs)
        for label in configs:
            check_choice("configs", label, tuple(exp.configs))
    seeds, steps = check_int("seeds", seeds), check_int("steps", steps)
    first_seed = check_int("first_seed", first_seed, low=0)
    T_values = [check_int("T", T) for T in T_values]
    if not isinstance(out, (str, os.PathLike)):
        raise ArgumentTypeError(f"out must be a str or os.PathLike; got {type(out).__name__}")
    parts = ["python", "-m", "rnnlib.experiments", name, "--seeds", str(seeds), "--steps",
             str(steps), "--T", ",".join(str(T) for T in T_values), "--out", os.fspath(out)]
    if first_seed:
        parts += ["--first-seed", str(first_seed)]
    if configs is not None:
        parts += ["--configs", ",".join(configs)]
    if stack is not None:
        parts += ["--stack", str(check_int("stack", stack))]
    return shlex.join(parts)


def run_grid(name, seeds, steps, T_values, out, executor=None, first_seed=0, progress=None,
             max_pending=None, configs=None, stack=None):
    """Run the cells of a grid that ``out`` does not hold yet; append each record to
    ``out`` as it finishes. Returns the records written by this call.

    ``executor`` is any :class:`concurrent.futures.Executor` (a :class:`SerialExecutor`
    when None); at most ``max_pending`` jobs are submitted at a time (1 for the serial
    executor, all by default otherwise); ``configs`` restricts the grid to some
    configurations (all by default). With ``stack=S``, the seeds of a :func:`stackable`
    configuration and length are trained up to S at a time as one stack
    (:func:`run_cells`, one job each); the records are those of one run at a time."""
    exp = _experiment(name)
    steps = check_int("steps", steps)
    T_values = [exp.T] if T_values is None else list(T_values)
    cells = grid_cells(name, seeds, T_values, first_seed, configs)
    out = os.fspath(out)
    done = ({record_key(r) for r in _read(out, repair=True)} if os.path.exists(out)
            else set())
    todo = [c for c in cells if (name, c[0], c[1], c[2], steps) not in done]
    if max_pending is not None:
        max_pending = check_int("max_pending", max_pending)
    if stack is not None:
        stack = check_int("stack", stack)
    if executor is None:
        executor, max_pending = SerialExecutor(), 1
    jobs = _jobs(exp, todo, stack)
    max_pending = len(jobs) if max_pending is None else max_pending
    command = grid_command(name, seeds, steps, T_values, out, first_seed, configs, stack)
    written = []
    enabled = progress_enabled(progress) and bool(todo)
    bar = None
    if enabled:
        from tqdm import tqdm
        bar = tqdm(total=len(cells), initial=len(cells) - len(todo), desc=name, unit="run",
                   file=sys.stderr, dynamic_ncols=True)
    pending, queue = {}, list(reversed(jobs))
    try:
        with open(out, "a", encoding="utf-8") as fh:
            while queue or pending:
                while queue and len(pending) < max_pending:
                    config, T, job_seeds = queue.pop()
                    future = (executor.submit(run_cells, name, config, T, job_seeds, steps)
                              if stack is not None and stackable(exp, exp.configs[config])
                              else executor.submit(run_cell, name, config, T, job_seeds[0],
                                                   steps))
                    pending[future] = (config, T, job_seeds)
                finished, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
                for future in finished:
                    config, T, job_seeds = pending.pop(future)
                    try:
                        result = future.result()
                    except Exception as err:
                        raise RuntimeError(f"run {config!r} T={T} seed(s) "
                                           f"{', '.join(map(str, job_seeds))} failed: "
                                           f"{type(err).__name__}: {err}") from err
                    for record in result if isinstance(result, list) else [result]:
                        record["command"] = command
                        record["finished"] = datetime.now(timezone.utc).isoformat(
                            timespec="seconds")
                        fh.write(json.dumps(record) + "\n")
                        fh.flush()
                        os.fsync(fh.fileno())
                        written.append(record)
                        if bar is not None:
                            bar.update(1)
                            bar.set_postfix_str(f"{config}, T={T}", refresh=False)
    finally:
        for future in pending:
            future.cancel()
        if bar is not None:
            bar.close()
    return written


def _jobs(experiment, todo, stack):
    """The grid's jobs, (config, T, seeds): one seed each, or with ``stack`` up to that
    many seeds of one stackable configuration and length, in the order of ``todo``."""
    if stack is None:
        return [(config, T, [seed]) for config, T, seed in todo]
    jobs, open_jobs = [], {}
    for config, T, seed in todo:
        if not stackable(experiment, experiment.configs[config]):
            jobs.append((config, T, [seed]))
            continue
        job = open_jobs.get((config, T))
        if job is None or len(job[2]) == stack:
            job = open_jobs[config, T] = (config, T, [])
            jobs.append(job)
        job[2].append(seed)
    return jobs


def summarize(records, confidence=0.95):
    """Per experiment, configuration, T and step budget: a dict with ``experiment``,
    ``config``, ``T``, ``steps``, ``runs``, ``solved``, ``rate`` (a
    :class:`rnnlib.stats.Rate` with the Wilson interval), ``median_step`` (of the solved
    runs, None if none), ``diverged``, ``mean_error`` (over the runs that were
    evaluated), ``seconds`` (mean per run) and ``seeds``. Rows follow the order of the
    experiment's configurations, then T. A run that appears twice counts once."""
    groups, seen = {}, set()
    for rec in records:
        if not isinstance(rec, dict) or any(k not in rec for k in RECORD_FIELDS[:10]):
            raise ValueError(f"not a run record: {rec!r}")
        key = record_key(rec)
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault((rec["experiment"], rec["config"], rec["T"], rec["steps"]),
                          []).append(rec)

    def order(group):
        name, label, T, steps = group
        labels = list(EXPERIMENTS[name].configs) if name in EXPERIMENTS else []
        return (name, labels.index(label) if label in labels else len(labels), label, T,
                steps)

    rows = []
    for group in sorted(groups, key=order):
        runs = groups[group]
        solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
        errors = [r["error"] for r in runs if r["error"] is not None]
        rows.append({
            "experiment": group[0], "config": group[1], "T": group[2], "steps": group[3],
            "runs": len(runs), "solved": len(solved),
            "rate": wilson_interval(len(solved), len(runs), confidence),
            "median_step": float(np.median(solved)) if solved else None,
            "diverged": sum(bool(r["diverged"]) for r in runs),
            "mean_error": float(np.mean(errors)) if errors else None,
            "seconds": float(np.mean([r["seconds"] for r in runs])),
            "seeds": sorted(r["seed"] for r in runs)})
    return rows


def _fmt(value, spec):
    return "-" if value is None else format(value, spec)


def format_summary(rows):
    """The rows of :func:`summarize` as a plain-text table."""
    lines = [f"{'configuration':<22}{'T':>5}{'steps':>7}{'success':>9}{'95% interval':>15}"
             f"{'median step':>13}{'diverged':>10}{'test error':>12}{'s/run':>8}"]
    for r in rows:
        solved = f"{r['solved']}/{r['runs']}"
        interval = f"[{r['rate'].low:.2f}, {r['rate'].high:.2f}]"
        lines.append(f"{r['config']:<22}{r['T']:>5}{r['steps']:>7}{solved:>9}{interval:>15}"
                     f"{_fmt(r['median_step'], '.0f'):>13}{r['diverged']:>10}"
                     f"{_fmt(r['mean_error'], '.3f'):>12}{r['seconds']:>8.1f}")
    return "\n".join(lines)


def summary_markdown(rows):
    """The rows of :func:`summarize` as a Markdown table (for a chapter cell)."""
    lines = ["| configuration | T | solved | 95% interval (Wilson) | median step of success "
             "| diverged | final test error (mean) | s/run |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['config']} | {r['T']} | {r['solved']}/{r['runs']} | "
                     f"[{r['rate'].low:.2f}, {r['rate'].high:.2f}] | "
                     f"{_fmt(r['median_step'], '.0f')} | {r['diverged']} | "
                     f"{_fmt(r['mean_error'], '.3f')} | {r['seconds']:.1f} |")
    return "\n".join(lines)


def plot_summary(rows, ax=None, colors=None):
    """Success rate with its interval per configuration: against T when the rows hold
    several lengths, else one point per configuration. Returns the axes."""
    import matplotlib.pyplot as plt
    if not rows:
        raise ValueError("rows is empty: nothing to plot")
    if ax is None:
        ax = plt.gca()
    labels = list(dict.fromkeys(r["config"] for r in rows))
    lengths = sorted({r["T"] for r in rows})
    for i, label in enumerate(labels):
        sel = sorted((r for r in rows if r["config"] == label), key=lambda r: r["T"])
        rate = np.array([r["rate"].rate for r in sel])
        err = np.array([[r["rate"].rate - r["rate"].low for r in sel],
                        [r["rate"].high - r["rate"].rate for r in sel]])
        kw = {} if colors is None else {"color": colors[label]}
        if len(lengths) > 1:
            x = np.array([r["T"] for r in sel], float) * (1 + 0.015 * (i - len(labels) / 2))
            ax.errorbar(x, rate, yerr=err, marker="o", capsize=3, label=label, **kw)
        else:
            ax.errorbar([i], rate, yerr=err, marker="o", ls="none", capsize=4, label=label,
                        **kw)
    if len(lengths) > 1:
        ax.set(xlabel="sequence length T", xticks=lengths)
    else:
        ax.set(xticks=range(len(labels)), xticklabels=labels, xlabel="configuration")
        ax.tick_params(axis="x", labelrotation=20)
    n = sorted({r["runs"] for r in rows})
    ax.set(ylabel="success rate (95% Wilson interval)", ylim=(-0.05, 1.05),
           title=f"{rows[0]['experiment']}: success within {rows[0]['steps']} steps, "
                 f"{'/'.join(map(str, n))} seeds per point")
    ax.legend(fontsize=8)
    return ax


def run_experiment(name, seeds=3, steps=1000, T=None, progress=None, out=None):
    """Run every configuration of ``EXPERIMENTS[name]`` for seeds 0..seeds-1 in this
    process (nothing written to disk), print the results table to ``out`` and return
    ``{config name: [result dict of run_config per seed]}``."""
    exp = _experiment(name)
    seeds, steps = check_int("seeds", seeds), check_int("steps", steps)
    T = exp.T if T is None else check_int("T", T)
    results = {}
    bar = ProgressBar(len(exp.configs) * seeds, name, progress)
    done = 0
    records = []
    try:
        for label, config in exp.configs.items():
            results[label] = []
            for seed in range(seeds):
                res = run_config(exp, config, seed, steps, T, progress=False)
                results[label].append(res)
                records.append({"experiment": name, "config": label, "T": T, "seed": seed,
                                "steps": steps, "solved_at": res["solved_at"],
                                "error": _finite_or_none(res["error"]),
                                "loss": _finite_or_none(res["loss"]),
                                "diverged": res["diverged"], "seconds": res["seconds"]})
                done += 1
                bar.update(done, label)
    finally:
        bar.close()
    print(f"experiment {name}: {exp.task}, {seeds} seeds, at most {steps} steps\n"
          + format_summary(summarize(records)), file=sys.stdout if out is None else out)
    return results


@contextlib.contextmanager
def dask_executor(workers=None, scheduler=None):
    """A :class:`concurrent.futures.Executor` on Dask: a new ``LocalCluster`` of
    ``workers`` single-threaded processes on 127.0.0.1 (no dashboard, one BLAS thread
    per worker), or the cluster whose scheduler is at ``scheduler``. Closed on exit."""
    import logging

    import dask
    from dask.distributed import Client, LocalCluster
    if (workers is None) == (scheduler is None):
        raise ValueError("give exactly one of workers and scheduler")
    with contextlib.ExitStack() as stack:
        if workers is not None:
            workers = check_int("workers", workers)
            # The worker processes read the BLAS thread count when they start: set it in
            # the environment they are spawned with (and in the nanny's env as well);
            # Dask lets this process's environment override its config, so set it here
            # too until the cluster is closed.
            saved = {k: os.environ.get(k) for k in ONE_THREAD_ENV}
            os.environ.update(ONE_THREAD_ENV)
            stack.callback(_restore_environ, saved)
            stack.enter_context(dask.config.set(
                {"distributed.nanny.pre-spawn-environ": dict(ONE_THREAD_ENV),
                 "distributed.scheduler.worker-ttl": None}))
            # With the dashboard off the scheduler still serves its health and metrics
            # routes on 127.0.0.1, on port 8787 or, when that is taken (by another
            # grid), on another one with a warning that would only be noise here.
            stack.enter_context(warnings.catch_warnings())
            warnings.filterwarnings("ignore", message="Port .* is already in use")
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, env=dict(ONE_THREAD_ENV),
                silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        else:
            client = stack.enter_context(Client(scheduler, timeout="10s"))
        executor = client.get_executor()
        yield executor


def _restore_environ(saved):
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def main(argv=None):
    """Command-line entry point (``python -m rnnlib.experiments``); returns the exit
    status: 0, 1 for an error while running, 2 for a usage error."""
    parser = Parser(prog="python -m rnnlib.experiments",
                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help=f"one of {', '.join(sorted(EXPERIMENTS))}")
    parser.add_argument("--seeds", type=positive_int, default=3, help="seeds per cell (3)")
    parser.add_argument("--steps", type=positive_int, default=1000,
                        help="maximum training steps per run (1000)")
    parser.add_argument("--T", type=int_list, default=None,
                        help="comma-separated sequence lengths (the experiment's own)")
    parser.add_argument("--out", help="results file (JSON lines), appended to")
    parser.add_argument("--first-seed", type=non_negative_int, default=0,
                        help="first seed (0): seeds first-seed .. first-seed+seeds-1")
    parser.add_argument("--configs", default=None,
                        help="comma-separated configuration names (all of the experiment's)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--workers", type=positive_int, default=None,
                       help="run on a new Dask LocalCluster of N single-threaded workers")
    where.add_argument("--scheduler", default=None,
                       help="address of a Dask scheduler (default: $DASK_SCHEDULER_ADDRESS)")
    parser.add_argument("--stack", type=positive_int, default=None,
                        help="train up to S seeds of a vanilla-RNN configuration as one "
                             "stack (rnnlib.batched); the records are those of one run at "
                             "a time")
    parser.add_argument("--list", action="store_true", help="list the experiments")
    args = parser.parse_args(argv)
    if args.list or args.name is None:
        for key, exp in EXPERIMENTS.items():
            print(f"{key:<10} {exp.description}")
        return 0
    if args.name not in EXPERIMENTS:
        parser.error(f"unknown experiment {args.name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    if args.out is None:
        parser.error("--out FILE is required")
    problem = output_file_problem(args.out)
    if problem:
        parser.error(f"--out {problem}")
    scheduler = args.scheduler
    if scheduler is None and args.workers is None:
        scheduler = os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    T_values = args.T or [EXPERIMENTS[args.name].T]
    configs = None
    if args.configs is not None:
        configs = [c.strip() for c in args.configs.split(",")]
        unknown = [c for c in configs if c not in EXPERIMENTS[args.name].configs]
        if unknown:
            parser.error(f"--configs: unknown configuration {unknown[0]!r} of {args.name}; "
                         f"known: {', '.join(EXPERIMENTS[args.name].configs)}")
    start = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", TruncatedRecordWarning)
            warnings.showwarning = (lambda message, *_a, **_k:
                                    print(f"warning: {message}", file=sys.stderr))
            with (dask_executor(args.workers, scheduler)
                  if args.workers is not None or scheduler is not None
                  else contextlib.nullcontext(None)) as executor:
                written = run_grid(args.name, args.seeds, args.steps, T_values, args.out,
                                   executor=executor, first_seed=args.first_seed,
                                   configs=configs, stack=args.stack)
            records = [r for r in load_results(args.out)
                       if r["experiment"] == args.name and r["steps"] == args.steps
                       and (configs is None or r["config"] in configs)]
    except KeyboardInterrupt:
        print("interrupted: the finished runs are in the file; the same command resumes",
              file=sys.stderr)
        return 130
    except Exception as err:  # noqa: BLE001 - one line for the user, never a traceback
        message = str(err).splitlines()[0] if str(err) else ""
        print(f"{parser.prog}: error: {type(err).__name__}: {message}", file=sys.stderr)
        return 1
    exp = EXPERIMENTS[args.name]
    print(f"experiment {args.name}: {exp.task}, {len(written)} runs done now, "
          f"{len(records)} in {args.out}, {time.perf_counter() - start:.0f} s")
    print(format_summary(summarize(records)))
    return 0


if __name__ == "__main__":
    # run the imported module's main, not this copy's: run as a script this file is
    # __main__, and its classes would not be those rnnlib.batched and the workers see
    from rnnlib.experiments import main as _main
    sys.exit(_main())
