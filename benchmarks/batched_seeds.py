"""Runs per minute of the book's vanilla-RNN experiments: seeds one at a time, seeds as
one stack (rnnlib.batched), and PyTorch one run at a time.

    python benchmarks/batched_seeds.py [--sizes temporal20,temporal50,adding50,adding100]
        [--stack 10] [--loop-runs 2] [--steps 200] [--rounds 3] [--out FILE]

Each (size, mode) is timed in a child process of its own, on one thread
(OPENBLAS/OMP/MKL_NUM_THREADS=1, ``torch.set_num_threads(1)``), the modes alternated in
every round (order reversed every other round), so that a change of the machine's load
falls on all of them:

* ``loop``: ``--loop-runs`` seeds trained one after the other by :func:`rnnlib.train.train`
  (the path of :func:`rnnlib.experiments.run_config`);
* ``stack``: ``--stack`` seeds trained as one computation by
  :func:`rnnlib.batched.train_seeds` (and, if ``--stack`` is not 1, also a stack of 1);
* ``torch``: ``--loop-runs`` runs of ``torch.nn.RNN`` + ``nn.Linear``, Adam and
  ``clip_grad_norm_``, on batches drawn by the same rnnlib task samplers.

Every run trains a tanh RNN with 32 units by Adam with clipping at 1, ``--steps`` steps
with an evaluation on 500 fresh sequences every 100 steps (the experiments' rhythm), no
stop on success. The result is seconds per training step of one run (a stack's time
divided by its seeds), printed as runs of 1000 steps per minute; the ratios are of the
median over the rounds, with [min, max] of the ratio between the extreme rounds.
``--clock cpu`` (the default) uses each child's CPU time, which other programs on a
loaded machine inflate less than the wall time; ``--clock wall`` the wall time. Both are
stored with ``--out``. Run it by hand; never part of the tests.
"""
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

#: name -> (task, T, batch size), the sizes of the book's experiments (H = 32).
SIZES = {
    "temporal20": ("temporal_order", 20, 20),
    "temporal50": ("temporal_order", 50, 20),
    "adding50": ("adding", 50, 64),
    "adding100": ("adding", 100, 64),
}
HIDDEN, LR, CLIP, EVAL_EVERY, EVAL_SIZE, RUN_STEPS = 32, 3e-3, 1.0, 100, 500, 1000


class Timer:
    """Wall and CPU seconds of a block (the CPU time of this process, which a loaded
    machine inflates less than the wall time: one thread is used)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu

    def per(self, n):
        return {"wall": self.wall / n, "cpu": self.cpu / n}


def child_loop(task, T, batch, steps, runs):
    import numpy as np
    from rnnlib.models import SequenceModel
    from rnnlib.optim import Adam
    from rnnlib.train import train
    with Timer() as timer:
        for seed in range(runs):
            rng = np.random.default_rng(seed)
            model = SequenceModel.for_task(task, HIDDEN, rng, init={"scheme": "orthogonal"})
            train(model, None, Adam(LR), task, steps, T=T, batch_size=batch, clip_norm=CLIP,
                  eval_every=min(EVAL_EVERY, steps), eval_size=EVAL_SIZE, rng=rng,
                  progress=False)
    return timer.per(runs * steps)


def child_stack(task, T, batch, steps, runs):
    from rnnlib.batched import train_seeds
    with Timer() as timer:
        train_seeds(task, list(range(runs)), steps, T=T, hidden_size=HIDDEN,
                    init={"scheme": "orthogonal"}, optimizer="adam", lr=LR, batch_size=batch,
                    clip_norm=CLIP, eval_every=min(EVAL_EVERY, steps), eval_size=EVAL_SIZE)
    return timer.per(runs * steps)


def child_torch(task, T, batch, steps, runs):
    import numpy as np
    import torch
    torch.set_num_threads(1)
    classify = task.kind == "classification"
    timer = Timer().__enter__()
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        torch.manual_seed(seed)
        rnn = torch.nn.RNN(task.input_size, HIDDEN, batch_first=True, dtype=torch.float64)
        readout = torch.nn.Linear(HIDDEN, task.output_size, dtype=torch.float64)
        params = list(rnn.parameters()) + list(readout.parameters())
        opt = torch.optim.Adam(params, lr=LR)

        def outputs(x):
            return readout(rnn(torch.from_numpy(x))[0][:, -1])     # the target step

        def loss_of(out, y):
            if classify:
                return torch.nn.functional.cross_entropy(out, torch.from_numpy(y[:, -1]))
            return torch.nn.functional.mse_loss(out, torch.from_numpy(y[:, -1]))

        for step in range(1, steps + 1):
            x, y, _ = task.sample(T, batch, rng)
            opt.zero_grad(set_to_none=True)
            loss = loss_of(outputs(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, CLIP)
            opt.step()
            if step % EVAL_EVERY == 0 or step == steps:
                x, y, _ = task.sample(T, EVAL_SIZE, rng)
                with torch.no_grad():
                    out = outputs(x).numpy()
                wrong = (out.argmax(-1) != y[:, -1]) if classify else ((out - y[:, -1]) ** 2).sum(-1) > 0.04
                float(wrong.mean())
    timer.__exit__()
    return timer.per(runs * steps)


MODES = {"loop": child_loop, "stack": child_stack, "torch": child_torch}


def run_child(spec):
    from rnnlib.tasks import get_task
    task_name, T, batch = SIZES[spec["size"]]
    return MODES[spec["mode"]](get_task(task_name), T, batch, spec["steps"], spec["runs"])


def main(argv=None):
    from rnnlib.cli import Parser, choice_list, output_file_problem, positive_int
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=choice_list("sizes", tuple(SIZES)), default=list(SIZES))
    p.add_argument("--stack", type=positive_int, default=10, help="seeds in one stack (10)")
    p.add_argument("--loop-runs", type=positive_int, default=2,
                   help="runs per child of the one-at-a-time modes (2)")
    p.add_argument("--steps", type=positive_int, default=200, help="training steps per run (200)")
    p.add_argument("--rounds", type=positive_int, default=3)
    p.add_argument("--clock", default="cpu", choices=["cpu", "wall"],
                   help="the time the table and ratios use (cpu: the child's CPU time)")
    p.add_argument("--out", help="also write the results as JSON to this file")
    p.add_argument("--child", help=argparse_suppress())
    a = p.parse_args(argv)
    if a.child:
        print(json.dumps(run_child(json.loads(a.child))))
        return None
    if a.out and output_file_problem(a.out):
        p.error(f"--out: {output_file_problem(a.out)}")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               RNNLIB_PROGRESS="0")
    modes = [("loop", a.loop_runs), ("stack", a.stack), ("torch", a.loop_runs)]
    if a.stack != 1:
        modes.insert(2, ("stack1", 1))
    print(f"{a.steps} steps per run, eval every {EVAL_EVERY} on {EVAL_SIZE}; {a.rounds} rounds; "
          f"one thread; runs/min = runs of {RUN_STEPS} steps per minute", flush=True)
    results = []
    for size in a.sizes:
        per_step = {m: [] for m, _ in modes}
        both = {m: [] for m, _ in modes}
        for r in range(a.rounds):
            for mode, runs in (modes if r % 2 == 0 else modes[::-1]):
                spec = {"size": size, "mode": "stack" if mode == "stack1" else mode,
                        "steps": a.steps, "runs": runs}
                out = subprocess.run([sys.executable, os.path.abspath(__file__), "--child",
                                      json.dumps(spec)], capture_output=True, text=True, env=env)
                if out.returncode:
                    raise RuntimeError(f"child {spec} failed:\n{out.stderr[-3000:]}")
                t = json.loads(out.stdout.splitlines()[-1])
                both[mode].append(t)
                per_step[mode].append(t[a.clock])
        med = {m: statistics.median(v) for m, v in per_step.items()}
        task_name, T, batch = SIZES[size]
        line = f"{size:11} ({task_name}, T={T}, batch {batch}, H={HIDDEN}, {a.clock}):"
        for m, _ in modes:
            label = f"stack of {a.stack}" if m == "stack" else ("stack of 1" if m == "stack1" else m)
            line += f"  {label} {60 / (RUN_STEPS * med[m]):6.2f}/min"
        line += (f"  | stack/loop speed-up {med['loop'] / med['stack']:.2f} "
                 f"[min {min(per_step['loop']) / max(per_step['stack']):.2f}, "
                 f"max {max(per_step['loop']) / min(per_step['stack']):.2f}]"
                 f", stack/torch {med['torch'] / med['stack']:.2f}, loop/torch {med['torch'] / med['loop']:.2f}")
        print(line, flush=True)
        results.append({"size": size, "task": task_name, "T": T, "batch": batch,
                        "hidden": HIDDEN, "stack": a.stack, "clock": a.clock,
                        "seconds_per_step": both,
                        "runs_per_minute": {m: 60 / (RUN_STEPS * v) for m, v in med.items()}})
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"command": " ".join(["python", "benchmarks/batched_seeds.py"] + (argv or sys.argv[1:])),
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "steps": a.steps, "rounds": a.rounds, "results": results}, f, indent=1)
    return results


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
