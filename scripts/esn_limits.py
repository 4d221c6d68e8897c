"""What limits the echo state network on Mackey-Glass: the measurements of the chapter
"Echo state networks" (section "What limits the 84-step error"), stored as JSON.

    python scripts/esn_limits.py --out book/data/esn_limits.json           # about 10 min
    python scripts/esn_limits.py --quick --out /tmp/esn_limits_quick.json  # seconds (test)

Every measurement: a reservoir of ``n_units`` drawn with ``seed``, fitted on the first
``n_train`` steps of the Mackey-Glass series (tau = 17, x - 1), its ridge chosen on the next
1000 steps (free-running NRMSE at 84 steps, 20 start points), and scored on the 2000 steps
after those: one-step NRMSE and free-running NRMSE at 84 steps from 20 start points.
Each fit is timed in wall and CPU seconds, and ``fit_time`` splits the fit of the final
reservoir into collecting the states and the QR solve (timings are stored, never
asserted).
"""
import argparse
import datetime
import json
import os
import sys
import time

import numpy as np

import rnnlib
from rnnlib.esn import (EchoStateNetwork, fit_ridge_on_validation, free_run_nrmse,
                        reservoir_states, ridge_path, ridge_readout)
from rnnlib.signals import mackey_glass

RIDGES = [float(10.0 ** e) for e in np.arange(-17, -8)]
FINAL = dict(spectral_radius=1.0, sparsity=0.99, input_scaling=0.5, bias_scaling=0.2,
             leak_rate=1.0)
CHAPTER = dict(FINAL, sparsity=0.9)          # the chapter's reservoir before this section
N_VAL, N_TEST, HORIZON, STARTS = 1000, 2000, 84, 20


def series(n, dt=0.1, squash=False):
    x = mackey_glass(n, dt=dt)
    return (np.tanh(x - 1.0) if squash else x - 1.0)[:, None]


def measure(s, seed, n_train, n_units, washout=100, input_noise=0.0, method="qr",
            ridges=RIDGES, test_series=None, **config):
    """Fit with the ridge chosen on validation; score on the test segment."""
    esn = EchoStateNetwork(1, n_units, rng=np.random.default_rng(seed), **dict(FINAL, **config))
    fit_s = s
    if input_noise:
        fit_s = s.copy()
        fit_s[:n_train] += input_noise * np.random.default_rng(1000 + seed).standard_normal((n_train, 1))
    scores = fit_ridge_on_validation(esn, fit_s, n_train, N_VAL, ridges, washout=washout,
                                     horizon=HORIZON, n_starts=STARTS, method=method)
    t0, c0 = time.perf_counter(), time.process_time()
    esn.fit(fit_s[:n_train - 1], s[1:n_train], washout=washout, method=method)
    fit_time, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
    ts = s if test_series is None else test_series
    first = n_train + N_VAL
    test = ts[:first + N_TEST]
    starts = first + np.linspace(0, N_TEST - HORIZON - 1, STARTS).astype(int)
    curve = free_run_nrmse(esn, test, starts, HORIZON, scale=float(np.std(s)))
    states = reservoir_states(test, esn.W_uh, esn.W_hh, esn.b, esn.leak_rate)[first:-1]
    one = float(np.sqrt(np.mean((states @ esn.W_hy + esn.b_y - test[first + 1:]) ** 2)) / np.std(s))
    return dict(seed=seed, ridge=esn.ridge, val_nrmse84=float(np.min(scores)),
                nrmse84=float(curve[HORIZON - 1]), one_step=one, fit_seconds=fit_time,
                fit_cpu_seconds=fit_cpu)


def solver_table(s, n_units, n_train, seeds):
    """Test NRMSE_84 against the ridge for the normal equations and QR, the chapter's reservoir."""
    rows = []
    for seed in seeds:
        esn = EchoStateNetwork(1, n_units, rng=np.random.default_rng(seed), **CHAPTER)
        st = reservoir_states(s[:n_train - 1], esn.W_uh, esn.W_hh, esn.b)
        _, sv = ridge_path(st[100:], s[101:n_train], [0.0])
        first = n_train + N_VAL
        starts = first + np.linspace(0, N_TEST - HORIZON - 1, STARTS).astype(int)
        for ridge in RIDGES:
            row = dict(seed=seed, ridge=ridge, cond=float(sv[0] / sv[-1]))
            for method in ("normal", "qr"):
                esn.ridge = ridge
                esn.fit(s[:n_train - 1], s[1:n_train], washout=100, method=method)
                with np.errstate(over="ignore", invalid="ignore"):
                    c = free_run_nrmse(esn, s[:first + N_TEST], starts, HORIZON)[-1]
                row[method] = float(c) if np.isfinite(c) else None
            rows.append(row)
    return rows


def fit_timing(s, n_units, n_train, seeds, repeats=3):
    """What the fit's time goes to, for the final reservoir: collecting the states and
    the QR solve, each the fastest of ``repeats`` runs, as wall and CPU seconds (the CPU
    time of this process is the time one core spent, whatever the load)."""
    rows = []
    for seed in seeds:
        esn = EchoStateNetwork(1, n_units, rng=np.random.default_rng(seed), **FINAL)
        row = dict(seed=seed, n_train=n_train, repeats=repeats)
        for part in ("states", "solve"):
            wall, cpu = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                if part == "states":
                    states = reservoir_states(s[:n_train - 1], esn.W_uh, esn.W_hh, esn.b)
                else:
                    ridge_readout(states[100:], s[101:n_train], 1e-15, method="qr")
                wall.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            row[f"{part}_seconds"], row[f"{part}_cpu_seconds"] = min(wall), min(cpu)
        rows.append(row)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true", help="a reduced run (for the test)")
    args = parser.parse_args(argv)
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        print(f"error: the folder {out_dir} does not exist", file=sys.stderr)
        return 2
    H, seeds = (200, (0, 1)) if args.quick else (1000, (0, 1, 2))
    lengths = (1000, 2000) if args.quick else (2000, 4000, 10000)
    T = 4000 if not args.quick else 2000
    s = series(max(lengths) + N_VAL + N_TEST + 1)
    t_start = time.perf_counter()
    result = dict(command="python scripts/esn_limits.py" + (" --quick" if args.quick else "")
                  + f" --out {args.out}", date=datetime.date.today().isoformat(),
                  rnnlib_version=rnnlib.__version__, n_units=H, ridges=RIDGES, final=FINAL,
                  chapter=CHAPTER, protocol=dict(n_val=N_VAL, n_test=N_TEST, horizon=HORIZON,
                                                 starts=STARTS, washout=100))
    log = lambda *a: print(*a, flush=True, file=sys.stderr)  # noqa: E731
    result["solver"] = solver_table(s, H, lengths[0], seeds[:1])
    log("solver done")
    result["fit_time"] = fit_timing(s, H, T, seeds)
    log("fit time done")
    result["length"] = [dict(label=label, n_train=n, **measure(s, seed, n, H, **cfg))
                        for label, cfg in (("chapter reservoir", CHAPTER), ("final reservoir", {}))
                        for n in lengths for seed in seeds]
    log("length done")
    knobs = [("sparsity 0.9", dict(sparsity=0.9)),
             ("sparsity 0.995", dict(sparsity=0.995)),
             ("input scaling 0.2", dict(input_scaling=0.2)),
             ("input scaling 1", dict(input_scaling=1.0)),
             ("spectral radius 0.9", dict(spectral_radius=0.9)),
             ("spectral radius 1.1", dict(spectral_radius=1.1)),
             ("leak rate 0.7", dict(leak_rate=0.7)), ("bias 0", dict(bias_scaling=0.0)),
             ("washout 500", dict(washout=500)),
             ("input noise 1e-7", dict(input_noise=1e-7)),
             ("input noise 1e-6", dict(input_noise=1e-6)),
             ("normal equations", dict(method="normal"))]
    result["knobs"] = [dict(row, label="final") for row in result["length"]
                       if row["label"] == "final reservoir" and row["n_train"] == T]
    result["knobs"] += [dict(label=label, n_train=T, **measure(s, seed, T, H, **cfg))
                        for label, cfg in knobs for seed in seeds[:2]]
    log("knobs done")
    # The truth: the test segment of a series integrated with another step, or squashed.
    s_fine = series(len(s), dt=0.05)
    s_tanh = series(len(s), squash=True)
    result["truth"] = ([dict(label="test series RK4 dt 0.05 (trained on dt 0.1)", n_train=T,
                             **measure(s, seed, T, H, test_series=s_fine)) for seed in seeds[:2]]
                       + [dict(label="tanh(x - 1) instead of x - 1", n_train=T,
                               **measure(s_tanh, seed, T, H)) for seed in seeds[:2]])
    result["seconds"] = time.perf_counter() - t_start
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    log(f"wrote {args.out} in {result['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
