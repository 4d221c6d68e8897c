"""A/B timing of one sequence function in two checkouts of rnnlib, each in its own
process, runs alternated: did a change (e.g. the input checks) slow it down?

    python benchmarks/ab_checks.py OLD_REPO NEW_REPO [--model lstm] [--dtype float32]
        [--shape S0] [--pass fwd+bwd] [--rounds 11] [--reps 30]

Each round starts one process per checkout; each process times ``reps`` calls of the
pass (``fwd``: the forward pass; ``fwd+bwd``: forward then backward) after a warm-up and
prints the minimum and the median (``--clock cpu``: of the process's CPU time, which
a loaded machine inflates less than the wall time). The table gives the median
over rounds of each statistic and the new/old ratio. Run it on a quiet machine with
OPENBLAS_NUM_THREADS=1; it is never part of the tests.
"""
import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import rnnlib
model, dtype, (N, T, D, H), reps = sys.argv[2], np.dtype(sys.argv[3]), json.loads(sys.argv[4]), int(sys.argv[5])
backward = sys.argv[6] == "fwd+bwd"
clock = time.process_time if sys.argv[7] == "cpu" else time.perf_counter
G = {"rnn": 1, "lstm": 4, "gru": 3}[model]
rng = np.random.default_rng(0)
x = rng.standard_normal((N, T, D)).astype(dtype)
h0 = np.zeros((N, H), dtype)
Wx = (0.1 * rng.standard_normal((D, G * H))).astype(dtype)
Wh = (0.1 * rng.standard_normal((H, G * H))).astype(dtype)
b = np.zeros(G * H, dtype)
dh = rng.standard_normal((N, T, H)).astype(dtype)
extra = (np.zeros(H, dtype),) if model == "gru" else ()
fwd, bwd = getattr(rnnlib, model + "_forward"), getattr(rnnlib, model + "_backward")
def once():
    h, cache = fwd(x, h0, Wx, Wh, b, *extra)
    if backward:
        bwd(dh, cache)
for _ in range(5):
    once()
times = []
for _ in range(reps):
    t = clock(); once(); times.append(clock() - t)
times.sort()
print(json.dumps({"min": times[0], "median": times[len(times) // 2]}))
"""

SHAPES = {"S0": (32, 50, 2, 64), "S1": (32, 100, 64, 128), "S2": (64, 50, 128, 256)}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--model", default="lstm", choices=["rnn", "lstm", "gru"])
    p.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    p.add_argument("--shape", default="S0", choices=sorted(SHAPES))
    p.add_argument("--pass", dest="pass_name", default="fwd+bwd", choices=["fwd", "fwd+bwd"])
    p.add_argument("--clock", default="wall", choices=["wall", "cpu"],
                   help="wall time, or the process's CPU time (steadier on a loaded "
                        "machine, for one BLAS thread)")
    p.add_argument("--rounds", type=int, default=11)
    p.add_argument("--reps", type=int, default=30)
    a = p.parse_args()
    results = {"old": [], "new": []}
    for r in range(a.rounds):
        for which in (("old", "new") if r % 2 == 0 else ("new", "old")):
            out = subprocess.run([sys.executable, "-c", CHILD, getattr(a, which), a.model, a.dtype,
                                  json.dumps(SHAPES[a.shape]), str(a.reps), a.pass_name, a.clock],
                                 capture_output=True, text=True, check=True, env=os.environ)
            results[which].append(json.loads(out.stdout))
    med = lambda xs: sorted(xs)[len(xs) // 2]  # noqa: E731
    print(f"{a.model} {a.dtype} {a.shape} {a.pass_name}, {a.rounds} rounds x {a.reps} calls, "
          f"{a.clock} clock")
    for stat in ("min", "median"):
        old = med([r[stat] for r in results["old"]])
        new = med([r[stat] for r in results["new"]])
        print(f"  {stat:<7} old {old * 1e3:8.3f} ms   new {new * 1e3:8.3f} ms   new/old {new / old:.3f}")
    ratios = sorted(n["median"] / o["median"] for o, n in zip(results["old"], results["new"]))
    print(f"  per-round new/old of the medians: min {ratios[0]:.3f}, median "
          f"{ratios[len(ratios) // 2]:.3f}, max {ratios[-1]:.3f}")


if __name__ == "__main__":
    main()
