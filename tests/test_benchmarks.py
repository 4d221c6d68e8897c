"""The logic of benchmarks/bench.py: options, child environments, rows, the JSON file.

Nothing here is timed: no assertion is about a duration. One test runs the whole
harness on a tiny shape (one child per library, one loop each) to check the file it
writes, including that the rnnlib and torch children computed the same outputs.
"""
import datetime
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks" / "bench.py"

spec = importlib.util.spec_from_file_location("bench", BENCH)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


# --- options ------------------------------------------------------------------------

def test_default_options_are_the_full_run():
    args = bench.parse_args([])
    assert args.kind == "full"
    assert args.shapes == ["S0", "S1", "S2"]
    assert args.models == ["rnn", "lstm", "gru"] and args.dtypes == ["float32", "float64"]
    assert args.threads == ["default", "1"]
    assert (args.rounds, args.repeats) == (3, 3)
    assert args.throughput_steps > 0 and args.out is None and not args.unset_coretype


def test_quick_options():
    args = bench.parse_args(["--quick", "--out", "x.json"])
    assert args.kind == "quick" and args.shapes == ["S0"] and args.out == "x.json"
    assert args.repeats == 1 and args.rounds == 2
    assert args.min_time < bench.parse_args([]).min_time


@pytest.mark.parametrize("argv", [["--shapes", "S1"], ["--models", "lstm"], ["--threads", "1"],
                                  ["--rounds", "5"], ["--quick", "--repeats", "2"]])
def test_any_other_choice_is_a_custom_run(argv):
    assert bench.parse_args(argv).kind == "custom"


def test_lists_are_parsed():
    args = bench.parse_args(["--models", "gru,rnn", "--shapes", "tiny", "--unset-coretype"])
    assert args.models == ["gru", "rnn"] and args.shapes == ["tiny"] and args.unset_coretype


@pytest.mark.parametrize("argv", [["--models", "transformer"], ["--dtypes", "float16"],
                                  ["--shapes", "S9"], ["--threads", "4"], ["--repeats", "0"],
                                  ["--rounds", "two"], ["--min-time", "-1"],
                                  ["--min-time", "nan"], ["--models", ""]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as err:
        bench.parse_args(argv)
    assert err.value.code == 2
    assert "error" in capsys.readouterr().err


def test_projected_time_grows_with_the_work():
    def projected(argv):
        args = bench.parse_args(argv)
        settings = {k: getattr(args, k) for k in (
            "models", "dtypes", "shapes", "threads", "rounds", "repeats", "min_time", "warmup",
            "throughput_steps", "throughput_runs")}
        return bench.estimate_seconds(settings, {"rnnlib": 0.5, "torch": 2.5})
    quick, full = projected(["--quick"]), projected([])
    assert 0 < quick < full
    assert projected(["--rounds", "6"]) > full


# --- the children's environment ----------------------------------------------------

BASE = {"PATH": "/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
        "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "524288"}


def test_one_thread_sets_every_thread_variable():
    env = bench.child_env("1", unset_coretype=False, base=BASE)
    assert all(env[v] == "1" for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"))
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["PATH"] == "/bin"


def test_default_threads_remove_the_thread_variables():
    env = bench.child_env("default", unset_coretype=False, base=BASE)
    assert not {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"} & set(env)
    assert env["OPENBLAS_L2_SIZE"] == "524288"
    assert BASE["OPENBLAS_NUM_THREADS"] == "1"        # the base is not modified


def test_unset_coretype_removes_both_openblas_variables():
    env = bench.child_env("1", unset_coretype=True, base=BASE)
    assert "OPENBLAS_CORETYPE" not in env and "OPENBLAS_L2_SIZE" not in env


def test_unknown_thread_setting():
    with pytest.raises(ValueError, match="thread setting"):
        bench.child_env("2", unset_coretype=False, base=BASE)


# --- rows ---------------------------------------------------------------------------

def fake_child(lib, seconds, checksum=(1.0, 2.0), onednn=False):
    """A child's output with every loop taking ``seconds`` (floor: a tenth of it)."""
    if lib == "rnnlib":
        times = {p: {"rnnlib": [seconds, 2 * seconds], "floor": [seconds / 10] * 2}
                 for p in bench.PASSES}
        extra = {"numpy_threads": 1, "cache_bytes": 123}
    else:
        times = {p: {"torch": [seconds, seconds]} for p in bench.PASSES}
        extra = {"torch_threads": 1, "onednn_used": onednn}
    return dict(extra, times_s=times, checksum=list(checksum),
                faults_per_call={p: 0.0 for p in bench.PASSES})


def test_row_ratios_and_targets():
    results = {"rnnlib": [fake_child("rnnlib", 1.0), fake_child("rnnlib", 3.0)],
               "torch": [fake_child("torch", 2.0), fake_child("torch", 2.0)], "torch-nodnn": []}
    row = bench.summarize_row("1", "gru", "float64", "S1", "fwd", results)
    # rnnlib's loops: 1, 2, 3, 6 s: median 2.5; torch 2; floor 0.1 and 0.3: median 0.2
    assert row["stats_s"]["rnnlib"] == {"median": 2.5, "min": 1.0, "max": 6.0}
    assert row["ratios"]["torch"] == pytest.approx(1.25)
    assert row["ratios"]["floor"] == pytest.approx(12.5)
    # no oneDNN in the torch child: it is the torch-without-oneDNN reference
    assert row["ratios"]["torch_nodnn"] == row["ratios"]["torch"]
    assert row["torch_nodnn_source"].startswith("torch child")
    assert row["meets"] == {"floor": False, "torch_nodnn": False}
    assert row["targets"]["floor"] == 1.5 and row["same_result"]
    assert row["flops"] == bench.matmul_flops(32, 100, 64, 128, 3, backward=False)


def test_row_decomposition_when_the_child_measured_it():
    kids = [fake_child("rnnlib", 1.0), fake_child("rnnlib", 3.0)]
    for kid in kids:
        for p in bench.PASSES:
            kid["times_s"][p].update(transcendental=[0.2, 0.2], passes=[0.1, 0.3])
    results = {"rnnlib": kids, "torch": [fake_child("torch", 2.0)], "torch-nodnn": []}
    row = bench.summarize_row("1", "lstm", "float64", "S0", "fwd+bwd", results)
    # floor 0.1 and 0.3 (median 0.2), exp/tanh 0.2, passes median 0.2: (0.2 + 0.2 + 0.2) / 0.2
    assert row["ratios"]["bound"] == pytest.approx(3.0)
    assert "bound" not in bench.summarize_row("1", "lstm", "float64", "S0", "fwd", {
        "rnnlib": [fake_child("rnnlib", 1.0)], "torch": [fake_child("torch", 2.0)],
        "torch-nodnn": []})["ratios"]


def test_limit_parts_run_the_loops_calls():
    for model in bench.GATES:
        parts = bench.limit_parts(model, "float64", bench.SHAPES["tiny"])
        assert set(parts) == set(bench.PASSES)
        for fns in parts.values():
            assert set(fns) == {"transcendental", "passes"}
            for fn in fns.values():
                fn()
    assert len(bench.LOOP_PASSES[("lstm", "fwd")]) == 13   # the calls of lstm_forward's step


def test_row_with_a_torch_child_without_onednn():
    results = {"rnnlib": [fake_child("rnnlib", 1.0)],
               "torch": [fake_child("torch", 0.5, onednn=True)],
               "torch-nodnn": [fake_child("torch", 3.0)]}
    row = bench.summarize_row("default", "lstm", "float32", "S0", "fwd+bwd", results)
    assert row["torch_onednn_used"] and row["torch_nodnn_source"] == "torch-nodnn child"
    assert row["ratios"]["torch"] == pytest.approx(3.0)         # 1.5 / 0.5
    assert row["ratios"]["torch_nodnn"] == pytest.approx(0.5)   # 1.5 / 3
    assert row["meets"] == {"floor": False, "torch_nodnn": True}  # 1.5 / 0.1 > 3


def test_shape_without_a_target_is_not_marked():
    results = {"rnnlib": [fake_child("rnnlib", 1.0)], "torch": [fake_child("torch", 1.0)]}
    row = bench.summarize_row("1", "rnn", "float32", "tiny", "fwd", results)
    assert row["meets"]["floor"] is None and row["targets"]["floor"] is None


def test_different_outputs_are_flagged():
    results = {"rnnlib": [fake_child("rnnlib", 1.0, checksum=(1.0, 2.0))],
               "torch": [fake_child("torch", 1.0, checksum=(1.0, 2.5))]}
    assert not bench.summarize_row("1", "rnn", "float32", "S0", "fwd", results)["same_result"]


# --- the JSON file ------------------------------------------------------------------

def test_atomic_write(tmp_path):
    path = tmp_path / "sub" / "bench.json"
    bench.write_json_atomic(path, {"a": [1, 2.5, None]})
    assert json.loads(path.read_text()) == {"a": [1, 2.5, None]}
    plain = tmp_path / "plain.json"
    plain.write_text("{}")
    assert path.stat().st_mode == plain.stat().st_mode      # not mkstemp's 0600
    plain.unlink()
    with pytest.raises(TypeError):      # not serializable: fails half way through
        bench.write_json_atomic(path, {"a": 1, "b": object()})
    assert json.loads(path.read_text()) == {"a": [1, 2.5, None]}   # the old file, whole
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]  # no temporary left


def test_tiny_run_writes_the_file(tmp_path):
    """The whole harness on the tiny shape: probes, an rnnlib, a torch and a torch
    without oneDNN child (the float32 LSTM), the throughput children, the file."""
    out = tmp_path / "bench.json"
    argv = ["--shapes", "tiny", "--models", "lstm", "--dtypes", "float32", "--threads", "1",
            "--rounds", "1", "--repeats", "1", "--warmup", "0", "--min-time", "0.001",
            "--throughput-steps", "2", "--throughput-runs", "1", "--out", str(out)]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", RNNLIB_PROGRESS="0")
    proc = subprocess.run([sys.executable, str(BENCH)] + argv, capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Projected time" in proc.stdout and "OPENBLAS_CORETYPE" in proc.stdout
    data = json.loads(out.read_text())
    import rnnlib
    assert data["schema"] == bench.SCHEMA_VERSION and data["kind"] == "custom"
    assert data["command"] == "python benchmarks/bench.py " + " ".join(argv)
    assert data["rnnlib_version"] == rnnlib.__version__
    assert datetime.datetime.fromisoformat(data["date"]).tzinfo is not None
    assert set(data["environment"]["env"]) == set(bench.THREAD_VARS + bench.CORETYPE_VARS)
    assert data["environment"]["cores"] == os.cpu_count()
    probe = data["probes"]["1"]
    assert probe["rnnlib"]["numpy_blas"]["num_threads"] == 1
    assert probe["torch"]["torch_threads"] == 1
    assert [(r["pass"], r["shape"], r["threads"]) for r in data["rows"]] == [
        ("fwd", "tiny", "1"), ("fwd+bwd", "tiny", "1")]
    for row in data["rows"]:
        assert row["same_result"], "rnnlib and torch children computed different outputs"
        assert set(row["times_s"]) == {"rnnlib", "torch", "torch_nodnn", "floor",
                                       "transcendental", "passes"}
        med = {k: v["median"] for k, v in row["stats_s"].items()}
        assert row["ratios"]["bound"] == pytest.approx(
            (med["floor"] + med["transcendental"] + med["passes"]) / med["floor"])
        assert all(len(v) == 1 and v[0] > 0 for v in row["times_s"].values())
        assert row["ratios"]["torch"] == pytest.approx(
            row["stats_s"]["rnnlib"]["median"] / row["stats_s"]["torch"]["median"])
        assert row["torch_onednn_used"] is bool(row["torch_onednn_used"])
        assert row["rnnlib_threads"] == 1 and row["torch_threads"] == 1
    assert [t["name"] for t in data["throughput"]] == list(bench.THROUGHPUT)
    assert all(t["steps"] == 2 and t["runs_per_minute"] > 0 for t in data["throughput"])
    assert {(t["cell"], t["T"], t["hidden_size"], t["batch_size"]) for t in data["throughput"]} == {
        ("lstm", 50, 32, 64), ("rnn", 40, 32, 20)}
