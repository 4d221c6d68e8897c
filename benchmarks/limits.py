"""What limits rnnlib above its GEMM floor: a per-row decomposition of the time.

    python benchmarks/limits.py [--models rnn,lstm,gru] [--dtypes float32,float64]
        [--shapes S0,S1,S2] [--repeats 30] [--out FILE]

For each row of ``bench.py``'s table (one thread, this process only; times are the
minimum over ``--repeats`` calls of the process's CPU time, the least disturbed estimate
on a loaded machine) it measures:

* ``rnnlib``: the pass itself (``*_forward``, ``*_backward``);
* ``floor``: bench.py's GEMM floor, the pass's matrix products alone;
* ``transcendental``: the ``np.exp`` / ``np.tanh`` calls of the pass alone, on arrays of
  the sizes the time loop gives them (T calls each), i.e. what NumPy's exp and tanh cost
  however the code is arranged;
* ``passes``: the other element-wise NumPy calls of the time loops (``bench.LOOP_PASSES``, counted
  in the code of rnnlib.rnn, lstm, gru), each timed as one ``np.add`` into a
  preallocated array of its size: the price of one call and one pass over the array
  per operation of a step;
* the minor page faults per call (first touches of fresh memory, ``getrusage``).

``floor + transcendental + passes`` is a bound for any NumPy implementation that issues
one call per operation of a step as rnnlib does; ``rest = rnnlib - that`` is what the
work outside the loop (the backward factors for all steps, copies and transposes,
allocation and the page faults of fresh arrays, argument checks) and the cache misses
of the loop add. The ratios are over the floor, as the targets (3x at S0, 1.5x at S1, S2).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import bench  # noqa: E402  (the shapes, the inputs and the GEMM floor)

def cpu_min(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def row(model, dtype, shape, repeats):
    import numpy as np
    import rnnlib
    from rnnlib.interop import weights_from_torch
    N, T, D, H = bench.SHAPES[shape]
    weights, x, h0, dh = bench.case_arrays(model, dtype, (N, T, D, H))
    p = weights_from_torch(model, *weights)
    args = (x, h0, p["Wx"], p["Wh"], p["b"]) + ((p["bhn"],) if model == "gru" else ())
    forward, backward = getattr(rnnlib, f"{model}_forward"), getattr(rnnlib, f"{model}_backward")
    floors = bench.gemm_floor(model, dtype, (N, T, D, H))
    rng = np.random.default_rng(0)
    arrays = [(getattr(np, f), rng.uniform(-1, 1, n).astype(dtype)) for f, n in
              bench.transcendental_calls(model, N, H)]
    outs = [np.empty_like(a) for _, a in arrays]

    def transcendental():
        for _ in range(T):
            for (f, a), o in zip(arrays, outs):
                f(a, out=o)

    def one_pass(m):     # the time of one element-wise call on an array of m H N entries
        a, b, c = (rng.uniform(-1, 1, m * H * N).astype(dtype) for _ in range(3))
        return cpu_min(lambda: [np.add(a, b, out=c) for _ in range(100)], repeats) / 100

    pass_time = {m: one_pass(m) for m in {m for v in bench.LOOP_PASSES.values() for m in v}}
    result = []
    with np.errstate(over="ignore"):
        t_exp = cpu_min(transcendental, repeats)
    for pass_name in bench.PASSES:
        bwd = pass_name == "fwd+bwd"

        def run():
            h, cache = forward(*args)
            if bwd:
                backward(dh, cache)

        t = cpu_min(run, repeats)
        faults = bench.page_faults_per_call(run)
        floor = cpu_min(floors[pass_name], repeats)
        sizes = bench.LOOP_PASSES[(model, "fwd")] + (bench.LOOP_PASSES[(model, "bwd")] if bwd else [])
        passes = T * sum(pass_time[m] for m in sizes)
        bound = floor + t_exp + passes
        result.append({"model": model, "dtype": dtype, "shape": shape, "pass": pass_name,
                       "rnnlib_s": t, "floor_s": floor, "transcendental_s": t_exp,
                       "calls": T * len(sizes), "passes_s": passes, "faults_per_call": faults,
                       "rest_s": t - bound, "ratio": t / floor, "bound_ratio": bound / floor,
                       "target": bench.TARGETS["floor"][shape]})
    return result


def main(argv=None):
    from rnnlib.cli import Parser, choice_list, positive_int
    p = Parser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", type=choice_list("models", tuple(bench.GATES)), default=list(bench.GATES))
    p.add_argument("--dtypes", type=choice_list("dtypes", bench.DTYPES), default=list(bench.DTYPES))
    p.add_argument("--shapes", type=choice_list("shapes", bench.DEFAULT_SHAPES),
                   default=list(bench.DEFAULT_SHAPES))
    p.add_argument("--repeats", type=positive_int, default=30)
    p.add_argument("--out")
    a = p.parse_args(argv)
    if os.environ.get("OPENBLAS_NUM_THREADS") != "1":
        p.error("run with OPENBLAS_NUM_THREADS=1 (the decomposition is for one thread)")
    print(f"{'row':24} {'rnnlib':>8} {'floor':>8} {'exp/tanh':>8} {'passes (calls)':>15} {'rest':>8} | "
          f"{'/floor':>6} {'bound/floor':>11} target faults  (ms, min CPU time of {a.repeats})")
    rows = []
    for model in a.models:
        for dtype in a.dtypes:
            for shape in a.shapes:
                for r in row(model, dtype, shape, a.repeats):
                    rows.append(r)
                    ms = {k: 1e3 * r[k] for k in ("rnnlib_s", "floor_s", "transcendental_s",
                                                  "passes_s", "rest_s")}
                    print(f"{model:4} {dtype:7} {shape} {r['pass']:7} {ms['rnnlib_s']:8.2f} "
                          f"{ms['floor_s']:8.2f} {ms['transcendental_s']:8.2f} "
                          f"{ms['passes_s']:8.2f} ({r['calls']:4}) {ms['rest_s']:8.2f} | "
                          f"{r['ratio']:6.2f} {r['bound_ratio']:11.2f} {r['target']:6.1f} {r['faults_per_call']:6.0f}"
                          + ("  ABOVE" if r["ratio"] > r["target"] else ""), flush=True)
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"command": " ".join(["python", "benchmarks/limits.py"] + (argv or sys.argv[1:])),
                       "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
