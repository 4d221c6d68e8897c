r"""Larger versions of the book's experiments, from the command line.

::

    python -m rnnlib.experiments --list
    python -m rnnlib.experiments init --seeds 5 --steps 1000
    python -m rnnlib.experiments clipping --seeds 10 --steps 1000

Each experiment trains every configuration for every seed (a progress bar on stderr
when run in a terminal) and prints a table: success rate (:meth:`rnnlib.tasks.Task.success`
on a fresh test batch), median step of success, final test error rate, final loss and
wall time. The chapters run the same configurations with fewer seeds and steps.

To add an experiment, add an :class:`Experiment` to the dict ``EXPERIMENTS``: a task, a
sequence length and a dict of named :class:`Config`.
"""
import argparse
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from ._validation import check_choice
from .models import SequenceModel
from .optim import SGD, Adam
from .tasks import get_task
from .train import NonFiniteError, ProgressBar, train


@dataclass(frozen=True)
class Config:
    """One configuration: model, initialisation and training options.

    ``init`` goes to :func:`rnnlib.init.rnn_params` (or lstm/gru); ``optimizer``
    (``"sgd"`` or ``"adam"``) chooses :class:`rnnlib.optim.SGD`, which takes ``lr`` and
    ``momentum``, or :class:`rnnlib.optim.Adam`, which takes ``lr``; ``clip_norm``,
    ``clip_value`` and ``omega_weight`` go to :func:`rnnlib.train.train`."""

    cell: str = "rnn"
    activation: str = "tanh"
    init: dict = field(default_factory=dict)
    optimizer: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    clip_norm: float = None
    clip_value: float = None
    omega_weight: float = 0.0


@dataclass(frozen=True)
class Experiment:
    """A comparison of configurations on one task (see the module docstring)."""

    description: str
    task: str
    T: int
    hidden_size: int
    configs: dict
    batch_size: int = 20
    eval_every: int = 100


#: The "smart_tanh" initialisation of :cite:`pascanu2013`: sparse recurrent weights at
#: spectral radius 0.95, input weights from N(0, 0.01^2).
_SPARSE_095 = {"scheme": "sparse", "k": 15, "spectral_radius": 0.95, "input_std": 0.01}

EXPERIMENTS = {
    "init": Experiment(
        "Initialisation of the recurrent weights (chapter 'Initialization'): vanilla RNN "
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
        "initialisation at spectral radius 0.95, SGD with learning rate 0.5.",
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
}


def run_config(experiment, config, seed, steps, T=None, progress=None):
    """Train one configuration with one seed.

    Returns a dict: ``solved_at`` (first successful evaluation step, or None),
    ``diverged`` (bool), final test ``error`` rate, final training ``loss``, wall
    ``seconds`` and the :class:`rnnlib.train.History` as ``history``."""
    task = get_task(experiment.task)
    T = experiment.T if T is None else T
    rng = np.random.default_rng(seed)
    model = SequenceModel.for_task(task, experiment.hidden_size, rng, cell=config.cell,
                                   activation=config.activation, init=config.init)
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


def run_experiment(name, seeds=3, steps=1000, T=None, progress=None, out=None):
    """Run every configuration of ``EXPERIMENTS[name]`` for seeds 0..seeds-1, print the
    results table to ``out`` and return ``{config name: [result dict per seed]}``."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; known: {sorted(EXPERIMENTS)}")
    exp = EXPERIMENTS[name]
    results = {}
    bar = ProgressBar(len(exp.configs) * seeds, name, progress)
    done = 0
    try:
        for label, config in exp.configs.items():
            results[label] = []
            for seed in range(seeds):
                results[label].append(run_config(exp, config, seed, steps, T, progress=False))
                done += 1
                bar.update(done, label)
    finally:
        bar.close()
    print(format_table(name, results, seeds, steps, exp.T if T is None else T),
          file=sys.stdout if out is None else out)
    return results


def format_table(name, results, seeds, steps, T):
    """The results as a plain-text table."""
    lines = [f"experiment {name}: {EXPERIMENTS[name].task}, T={T}, {seeds} seeds, "
             f"at most {steps} steps",
             f"{'configuration':<24}{'success':>9}{'median step':>13}{'diverged':>10}"
             f"{'test error':>12}{'loss':>9}{'s/run':>8}"]
    for label, runs in results.items():
        solved = [r["solved_at"] for r in runs if r["solved_at"] is not None]
        median = f"{int(np.median(solved))}" if solved else "-"
        lines.append(
            f"{label:<24}{f'{len(solved)}/{len(runs)}':>9}{median:>13}"
            f"{sum(r['diverged'] for r in runs):>10}"
            f"{np.nanmean([r['error'] for r in runs]):>12.3f}"
            f"{np.nanmean([r['loss'] for r in runs]):>9.3f}"
            f"{np.mean([r['seconds'] for r in runs]):>8.1f}")
    return "\n".join(lines)


def main(argv=None):
    """Command-line entry point (``python -m rnnlib.experiments``)."""
    parser = argparse.ArgumentParser(prog="python -m rnnlib.experiments",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help=f"one of {sorted(EXPERIMENTS)}")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0..n-1)")
    parser.add_argument("--steps", type=int, default=1000, help="maximum training steps")
    parser.add_argument("--T", type=int, default=None, help="sequence length")
    parser.add_argument("--list", action="store_true", help="list the experiments")
    args = parser.parse_args(argv)
    if args.list or args.name is None:
        for key, exp in EXPERIMENTS.items():
            print(f"{key:<10} {exp.description}")
        return 0
    if args.name not in EXPERIMENTS:
        parser.error(f"unknown experiment {args.name!r}; known: {', '.join(sorted(EXPERIMENTS))}")
    if args.seeds <= 0 or args.steps <= 0:
        parser.error("--seeds and --steps must be positive")
    run_experiment(args.name, args.seeds, args.steps, args.T)
    return 0


if __name__ == "__main__":
    sys.exit(main())
