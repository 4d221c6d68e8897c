"""Tests of rnnlib.experiments: grids on an Executor (serial and a Dask LocalCluster),
the results file (resume, truncated last line), the table and the command line, and the
stored results that the chapters render (book/data/*.jsonl)."""
import json
import os
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from rnnlib import experiments
from rnnlib._validation import ArgumentTypeError
from rnnlib.stats import wilson_interval

BOOK_DATA = Path(__file__).resolve().parents[1] / "book" / "data"
ENV = {**os.environ, "RNNLIB_PROGRESS": "0", "OPENBLAS_NUM_THREADS": "1",
       "OMP_NUM_THREADS": "1"}
# the tiny grid: 2 configurations x 2 lengths x 2 seeds, a few steps each
TINY = dict(name="clipping", seeds=2, steps=12, T_values=[10, 12],
            configs=["SGD", "SGD + clip + Omega"])


def stable(records):
    """The records without the fields that depend on when and where a run was done."""
    return sorted((json.dumps({k: v for k, v in r.items()
                               if k not in experiments.VOLATILE_FIELDS}, sort_keys=True)
                   for r in records))


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "rnnlib.experiments", *args],
                          capture_output=True, text=True, timeout=120, env=ENV, cwd=cwd)


def _blas_threads():
    from threadpoolctl import threadpool_info
    return [info["num_threads"] for info in threadpool_info()]


@pytest.fixture(scope="module")
def serial_file(tmp_path_factory):
    out = tmp_path_factory.mktemp("serial") / "tiny.jsonl"
    experiments.run_grid(out=out, progress=False, **TINY)
    return out


def test_serial_and_local_cluster_give_identical_records(serial_file, tmp_path):
    out = tmp_path / "dask.jsonl"
    with experiments.dask_executor(workers=2) as executor:
        # each worker process has one BLAS thread
        threads = {tuple(executor.submit(_blas_threads).result()) for _ in range(4)}
        experiments.run_grid(out=out, executor=executor, progress=False, **TINY)
    assert threads and all(t and set(t) == {1} for t in threads)
    serial, dist = experiments.load_results(serial_file), experiments.load_results(out)
    assert len(serial) == len(dist) == 2 * 2 * 2
    assert stable(serial) == stable(dist)
    assert all(r["worker"].startswith("tcp://127.0.0.1:") for r in dist)
    # the grid really varies: not every record is the same run
    assert len({(r["loss"], r["error"]) for r in serial}) == 8


def test_records_have_every_field_and_the_command(serial_file):
    records = experiments.load_results(serial_file)
    for rec in records:
        assert set(rec) == set(experiments.RECORD_FIELDS)
        assert rec["experiment"] == "clipping" and rec["steps"] == 12
        assert shlex.split(rec["command"])[:4] == ["python", "-m", "rnnlib.experiments",
                                                   "clipping"]
        assert isinstance(rec["diverged"], bool) and rec["seconds"] >= 0
    assert {(r["config"], r["T"], r["seed"]) for r in records} == {
        (c, T, s) for c in TINY["configs"] for T in (10, 12) for s in (0, 1)}


def test_a_record_is_the_run_of_its_seed(serial_file):
    # the independent path: run_config with the same seed gives the same numbers
    rec = experiments.load_results(serial_file)[3]
    exp = experiments.EXPERIMENTS["clipping"]
    res = experiments.run_config(exp, exp.configs[rec["config"]], rec["seed"], rec["steps"],
                                 T=rec["T"], progress=False)
    assert res["loss"] == rec["loss"] and res["error"] == rec["error"]


def test_a_killed_grid_resumes_without_duplicates(serial_file, tmp_path):
    full = serial_file.read_text().splitlines(keepends=True)
    out = tmp_path / "resumed.jsonl"
    out.write_text("".join(full[:3]))                 # killed after three runs
    written = experiments.run_grid(out=out, progress=False, **TINY)
    assert len(written) == 5
    records = experiments.load_results(out)
    assert len({experiments.record_key(r) for r in records}) == len(records) == 8
    assert stable(records) == stable(experiments.load_results(serial_file))
    # nothing left to do: the same grid again runs nothing and leaves the file alone
    before = out.read_bytes()
    assert experiments.run_grid(out=out, progress=False, **TINY) == []
    assert out.read_bytes() == before


def test_truncated_last_line_is_ignored_with_a_warning_and_rewritten(serial_file, tmp_path):
    text = serial_file.read_text()
    out = tmp_path / "cut.jsonl"
    out.write_text(text[:len(text) - 40])            # the last record cut mid-write
    with pytest.warns(experiments.TruncatedRecordWarning, match="incomplete"):
        assert len(experiments.load_results(out)) == 7
    with pytest.warns(experiments.TruncatedRecordWarning, match="done again"):
        written = experiments.run_grid(out=out, progress=False, **TINY)
    assert len(written) == 1
    assert out.read_text().endswith("\n")
    assert stable(experiments.load_results(out)) == stable(
        experiments.load_results(serial_file))


def test_a_bad_line_inside_the_file_is_an_error(serial_file, tmp_path):
    lines = serial_file.read_text().splitlines(keepends=True)
    out = tmp_path / "bad.jsonl"
    out.write_text("".join(lines[:2] + ["{not json\n"] + lines[2:]))
    with pytest.raises(ValueError, match="line 3"):
        experiments.load_results(out)
    with pytest.raises(TypeError, match="path"):
        experiments.load_results(3)


def _record(config, T, seed, solved_at, error, diverged=False, seconds=2.0):
    return {"experiment": "clipping", "config": config, "T": T, "seed": seed, "steps": 100,
            "solved_at": solved_at, "error": error, "loss": 1.0, "diverged": diverged,
            "seconds": seconds, "worker": "w", "rnnlib_version": "0", "command": "c",
            "finished": "now"}


def test_summary_table_from_a_file(tmp_path):
    recs = ([_record("SGD + clip", 20, s, 100 * (s + 1) if s < 3 else None, 0.5 if s >= 3
                     else 0.0) for s in range(5)]
            + [_record("SGD", 20, s, None, None if s == 0 else 0.7, diverged=s == 0,
                       seconds=4.0) for s in range(4)]
            + [_record("SGD", 50, 0, 300, 0.0)])
    out = tmp_path / "hand.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in recs + recs[:1]))  # one duplicate
    rows = experiments.summarize(experiments.load_results(out))
    # the experiment's own order of configurations, then T
    assert [(r["config"], r["T"]) for r in rows] == [("SGD", 20), ("SGD", 50),
                                                      ("SGD + clip", 20)]
    sgd, sgd50, clip = rows
    assert (clip["solved"], clip["runs"], clip["median_step"]) == (3, 5, 200)
    # 3 of 5: the Wilson 95% interval is about [0.23, 0.88]
    assert clip["rate"].low == pytest.approx(0.2307, abs=1e-3)
    assert clip["rate"].high == pytest.approx(0.8824, abs=1e-3)
    assert clip["mean_error"] == pytest.approx(0.2)
    assert (sgd["solved"], sgd["diverged"], sgd["median_step"]) == (0, 1, None)
    assert sgd["mean_error"] == pytest.approx(0.7) and sgd["seconds"] == 4.0
    assert sgd["rate"] == wilson_interval(0, 4) and sgd50["seeds"] == [0]
    table = experiments.format_summary(rows)
    assert "3/5" in table and "[0.23, 0.88]" in table and "0/4" in table
    md = experiments.summary_markdown(rows)
    assert md.count("\n") == 4 and "| SGD + clip | 20 | 3/5 | [0.23, 0.88] | 200 |" in md
    with pytest.raises(ValueError, match="not a run record"):
        experiments.summarize([{"config": "SGD"}])


def test_plot_summary_draws_one_series_per_configuration():
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    recs = [_record(c, T, s, 100 if (s + T) % 3 else None, 0.1)
            for c in ("SGD", "SGD + clip") for T in (20, 50) for s in range(3)]
    fig, ax = plt.subplots()
    experiments.plot_summary(experiments.summarize(recs), ax=ax)
    assert len(ax.containers) == 2 and ax.get_xlabel() == "sequence length T"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["SGD", "SGD + clip"]
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        experiments.plot_summary([])


def test_cli_runs_resumes_and_prints_the_table_from_the_file(tmp_path):
    out = tmp_path / "cli.jsonl"
    args = ["clipping", "--seeds", "1", "--steps", "5", "--T", "10,11", "--out", str(out),
            "--first-seed", "4"]
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    records = experiments.load_results(out)
    assert len(records) == 6 and {r["seed"] for r in records} == {4}
    assert records[0]["command"] == "python -m rnnlib.experiments " + shlex.join(args)
    for label in experiments.EXPERIMENTS["clipping"].configs:
        assert label in first.stdout
    again = cli(*args)
    assert again.returncode == 0 and "0 runs done now, 6 in" in again.stdout
    assert len(experiments.load_results(out)) == 6


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_cli_runs_on_an_existing_cluster_from_the_environment(serial_file, tmp_path):
    from dask.distributed import LocalCluster
    out = tmp_path / "sched.jsonl"
    args = ["clipping", "--seeds", "1", "--steps", "12", "--T", "10", "--out", str(out)]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      host="127.0.0.1", dashboard_address=None) as cluster:
        res = subprocess.run([sys.executable, "-m", "rnnlib.experiments", *args],
                             capture_output=True, text=True, timeout=120,
                             env={**ENV, "DASK_SCHEDULER_ADDRESS": cluster.scheduler_address})
        worker_addresses = set(cluster.scheduler_info["workers"])
    assert res.returncode == 0, res.stderr
    records = experiments.load_results(out)
    assert {r["worker"] for r in records} <= worker_addresses and len(records) == 3
    # the same numbers as the serial runs of the same cells
    serial = [r for r in experiments.load_results(serial_file) if r["T"] == 10 and r["seed"] == 0]
    assert stable(serial) == stable(r for r in records if r["config"] in TINY["configs"])


@pytest.mark.parametrize("args, message", [
    (["nope", "--out", "x.jsonl"], "unknown experiment 'nope'"),
    (["init", "--seeds", "2"], "--out FILE is required"),
    (["init", "--out", "no/such/folder/x.jsonl"], "does not exist"),
    (["init", "--out", "."], "is a folder"),
    (["init", "--T", "20,x", "--out", "x.jsonl"], "--T"),
    (["init", "--T", "20,20", "--out", "x.jsonl"], "repeated"),
    (["init", "--seeds", "0", "--out", "x.jsonl"], "--seeds"),
    (["init", "--first-seed", "-1", "--out", "x.jsonl"], "--first-seed"),
    (["init", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1", "--out", "x.jsonl"],
     "not allowed with"),
])
def test_cli_usage_errors_are_one_line_with_status_2(tmp_path, args, message):
    res = cli(*args, cwd=tmp_path)
    assert res.returncode == 2
    assert message in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert "Traceback" not in res.stderr and not (tmp_path / "x.jsonl").exists()


def test_cli_run_time_error_is_one_line_with_status_1(tmp_path):
    out = tmp_path / "bad.jsonl"
    out.write_text("{not a record\n" + json.dumps(_record("SGD", 20, 0, None, 0.7)) + "\n")
    res = cli("clipping", "--seeds", "1", "--steps", "3", "--T", "10", "--out", str(out))
    assert res.returncode == 1 and "line 1: not a run record" in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr


def test_cli_list_and_run_experiment(capsys):
    assert experiments.main(["--list"]) == 0
    assert "clipping" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        experiments.main(["nope", "--out", "x"])
    assert info.value.code == 2
    assert "unknown experiment 'nope'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="known"):
        experiments.run_experiment("nope")
    res = experiments.run_experiment("init", seeds=2, steps=3, T=10, progress=False)
    assert set(res) == set(experiments.EXPERIMENTS["init"].configs)
    assert all(len(v) == 2 for v in res.values())
    assert "relu identity" in capsys.readouterr().out


def test_progress_bar_counts_runs_on_stderr(tmp_path, capsys):
    experiments.run_grid("clipping", 1, 3, [10], tmp_path / "p.jsonl", progress=True,
                         configs=["SGD"])
    assert "1/1" in capsys.readouterr().err
    experiments.run_grid("clipping", 2, 3, [10], tmp_path / "p.jsonl", progress=False,
                         configs=["SGD"])
    assert capsys.readouterr().err == ""


def test_bad_grid_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown experiment"):
        experiments.grid_cells("nope", 1, [5])
    with pytest.raises(ValueError, match="configs"):
        experiments.grid_cells("clipping", 1, [5], configs=["Adam"])
    with pytest.raises(ValueError, match="T"):
        experiments.grid_cells("clipping", 1, [0])
    with pytest.raises(ValueError, match="seeds"):
        experiments.run_grid("clipping", 0, 5, [5], tmp_path / "x.jsonl")


def test_an_experiment_tolerance_sets_the_success_test():
    # predictions off by 0.03 on half the sequences and by 0.05 on the other half:
    # wrong under |error| > 0.04 (Hochreiter & Schmidhuber), right under squared error > 0.04
    strict = experiments.EXPERIMENTS["hochreiter"]
    assert strict.tolerance == 0.04 ** 2
    task = experiments._scored_task(strict)
    x, y, m = task.sample(100, 200, np.random.default_rng(0))
    off = np.where(np.arange(200) % 2 == 0, 0.03, 0.05)[:, None, None] * m[..., None]
    pred = y + off
    wrong = np.abs(pred - y)[m][:, 0] > 0.04                 # the rule, computed directly
    assert wrong.mean() == 0.5
    assert task.error_rate(pred, y, m) == 0.5 and not task.success(pred, y, m)
    assert task.error_rate(pred, y, m, tolerance=0.04) == 0.0   # an explicit one still wins
    loose = experiments._scored_task(experiments.EXPERIMENTS["adding"])
    assert loose.error_rate(pred, y, m) == 0.0 and loose.success(pred, y, m)
    # the stricter rule reaches the runs: same seed, same steps, more wrong sequences
    cfg = strict.configs["GRU"]
    a = experiments.run_config(strict, cfg, 0, 2, progress=False)
    b = experiments.run_config(replace(strict, tolerance=0.04), cfg, 0, 2, progress=False)
    assert a["loss"] == b["loss"] and a["error"] > b["error"]


@pytest.mark.parametrize("tolerance", [0.0, -1.0, float("nan"), "0.04"])
def test_a_bad_tolerance_is_refused(tolerance):
    with pytest.raises(ValueError, match="tolerance"):
        replace(experiments.EXPERIMENTS["hochreiter"], tolerance=tolerance)


def test_gate_bias_sets_the_named_bias_block_after_init():
    exp = experiments.EXPERIMENTS["hochreiter"]
    config = replace(exp.configs["LSTM"], gate_bias={"i": -3.0, "o": 0.5})
    H = exp.hidden_size
    res = experiments.run_config(exp, config, 0, 1, progress=False)
    # the independent path: the same model from SequenceModel, its blocks set by hand
    from rnnlib.models import SequenceModel
    ref = SequenceModel.for_task(experiments.get_task("adding"), H,
                                 np.random.default_rng(0), cell="lstm", init=config.init)
    b = ref.params["b"]
    assert np.all(b[:H] == 0) and np.all(b[H:2 * H] == config.init["forget_bias"])
    b[:H], b[2 * H:3 * H] = -3.0, 0.5                  # blocks i, f, o, g
    plain = experiments.run_config(exp, replace(config, gate_bias={}), 0, 1, progress=False)
    assert res["loss"] != plain["loss"]
    # one step of training on the hand-set model gives the run's loss
    from rnnlib.optim import Adam
    from rnnlib.train import train
    rng = np.random.default_rng(0)
    SequenceModel.for_task(experiments.get_task("adding"), H, rng, cell="lstm",
                           init=config.init)                # the same draws from rng
    hist = train(ref, None, Adam(config.lr), experiments._scored_task(exp), 1, T=exp.T,
                 batch_size=exp.batch_size, clip_norm=config.clip_norm, eval_every=1,
                 stop_on_success=True, rng=rng, progress=False)
    assert hist.loss[-1] == res["loss"]


@pytest.mark.parametrize("gate_bias, match", [({"x": 1.0}, "gate_bias"),
                                              ({"i": float("nan")}, "gate_bias"),
                                              ({"i": "1"}, "gate_bias"),
                                              ([("i", 1.0)], "gate_bias")])
def test_a_bad_gate_bias_is_refused(gate_bias, match):
    with pytest.raises(ValueError, match=match):
        experiments.Config(cell="lstm", gate_bias=gate_bias)


STORED = sorted(BOOK_DATA.glob("*.jsonl"))


@pytest.mark.parametrize("path", STORED, ids=[p.name for p in STORED])
def test_stored_results_parse_and_their_command_reruns(path, tmp_path):
    records = experiments.load_results(path)
    assert records, path
    for rec in records:
        assert set(rec) == set(experiments.RECORD_FIELDS)
    rows = experiments.summarize(records)
    assert sum(r["runs"] for r in rows) == len(records)
    # a file may hold several grids (e.g. another step budget), each of one command
    by_command = {}
    for rec in records:
        by_command.setdefault(rec["command"], []).append(rec)
    assert len({(r["experiment"], r["steps"]) for r in records}) == len(by_command)
    for i, (command, runs) in enumerate(by_command.items()):
        # the stored command, reduced to one seed and a few steps, writes the same schema
        argv = shlex.split(command)
        assert argv[:3] == ["python", "-m", "rnnlib.experiments"]
        assert argv[argv.index("--steps") + 1] == str(runs[0]["steps"])
        argv = argv[3:]
        out = tmp_path / f"r{i}.jsonl"
        for flag, value in (("--seeds", "1"), ("--steps", "4"), ("--out", str(out))):
            argv[argv.index(flag) + 1] = value
        assert experiments.main(argv) == 0
        rerun = experiments.load_results(out)
        assert {(r["config"], r["T"]) for r in rerun} == {(r["config"], r["T"]) for r in runs}
        assert all(set(r) == set(experiments.RECORD_FIELDS) for r in rerun)
        assert np.all([r["steps"] == 4 for r in rerun])


def test_cli_configs_restricts_the_grid_and_is_stored_in_the_command(tmp_path):
    out = tmp_path / "c.jsonl"
    result = cli("clipping", "--seeds", "1", "--steps", "3", "--T", "10", "--configs",
                 "SGD + clip,SGD", "--out", str(out))
    assert result.returncode == 0, result.stderr
    records = experiments.load_results(out)
    assert sorted(r["config"] for r in records) == ["SGD", "SGD + clip"]
    argv = shlex.split(records[0]["command"])
    assert argv[argv.index("--configs") + 1] == "SGD + clip,SGD"
    bad = cli("clipping", "--seeds", "1", "--steps", "3", "--configs", "Adam", "--out",
              str(tmp_path / "d.jsonl"))
    assert bad.returncode == 2 and "--configs" in bad.stderr and "Adam" in bad.stderr


def test_the_book_has_stored_results():
    assert {p.name for p in STORED} >= {"init.jsonl", "pascanu.jsonl", "adding.jsonl"}


def test_a_stacked_grid_gives_the_records_of_one_run_at_a_time(serial_file, tmp_path):
    # SGD is trained two seeds at a time as one stack (rnnlib.batched), SGD + clip + Omega
    # cannot be stacked and runs one seed at a time; every record equals the serial one
    exp = experiments.EXPERIMENTS["clipping"]
    assert experiments.stackable(exp, exp.configs["SGD"])
    assert not experiments.stackable(exp, exp.configs["SGD + clip + Omega"])
    out = tmp_path / "stacked.jsonl"
    experiments.run_grid(out=out, progress=False, stack=2, **TINY)
    serial = {experiments.record_key(r): r for r in experiments.load_results(serial_file)}
    stacked = {experiments.record_key(r): r for r in experiments.load_results(out)}
    assert set(stacked) == set(serial) and len(stacked) == 8
    for key, rec in stacked.items():
        want = serial[key]
        assert (rec["solved_at"], rec["diverged"]) == (want["solved_at"], want["diverged"]), key
        for field in ("error", "loss"):
            assert rec[field] == pytest.approx(want[field], rel=1e-9, abs=1e-12), (key, field)
        assert rec["command"].endswith("--stack 2")
    # the SGD seeds of one length share a stack: one job, the same seconds per run
    sgd = [r for r in stacked.values() if r["config"] == "SGD"]
    assert all(len({r["seconds"] for r in sgd if r["T"] == T}) == 1 for T in TINY["T_values"])


def test_run_cells_refuses_a_configuration_it_cannot_stack():
    with pytest.raises(ValueError, match="cannot be stacked"):
        experiments.run_cells("clipping", "SGD + clip + Omega", 10, [0, 1], 2)
    with pytest.raises(ArgumentTypeError, match="non-empty list of seeds"):
        experiments.run_cells("clipping", "SGD", 10, [], 2)


def test_cli_stack_runs_stacked_seeds_as_the_command_line_module(tmp_path):
    # as `python -m`, the module is __main__: its stacked jobs must still see the
    # package's Experiment and Config classes (a bug once), and give the serial records
    out, ref = tmp_path / "s.jsonl", tmp_path / "r.jsonl"
    args = ["clipping", "--seeds", "2", "--steps", "4", "--T", "10", "--configs",
            "SGD,SGD + clip + Omega"]
    result = cli(*args, "--stack", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert cli(*args, "--out", str(ref)).returncode == 0
    stacked = {experiments.record_key(r): r for r in experiments.load_results(out)}
    serial = {experiments.record_key(r): r for r in experiments.load_results(ref)}
    assert set(stacked) == set(serial) and len(stacked) == 4
    for key, rec in stacked.items():
        assert rec["loss"] == pytest.approx(serial[key]["loss"], rel=1e-9), key
    assert shlex.split(next(iter(stacked.values()))["command"])[-2:] == ["--stack", "2"]
    bad = cli(*args, "--stack", "0", "--out", str(tmp_path / "b.jsonl"))
    assert bad.returncode == 2 and "--stack" in bad.stderr
