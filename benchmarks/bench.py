r"""Speed of rnnlib's sequence functions against ``torch.nn.RNN/LSTM/GRU`` on the CPU,
each library in its own process.

Usage::

    python benchmarks/bench.py [--quick] [--out book/data/bench.json]
        [--models rnn,lstm,gru] [--dtypes float32,float64] [--shapes S0,S1,S2]
        [--threads default,1] [--rounds R] [--repeats K] [--min-time SECONDS]
        [--unset-coretype] [--keep-freed-memory] [--throughput-steps S]

The parent process (this script) never imports rnnlib or torch. For every thread
setting x model x dtype x shape it starts child processes (``sys.executable`` running
this file with ``--child``), one per library:

* ``rnnlib``: rnnlib's ``*_forward`` / ``*_backward``, and in the same process the *GEMM
  floor* (:func:`gemm_floor`), the matrix products of the pass alone on NumPy's BLAS,
  and the decomposition of what lies above it (:func:`limit_parts`);
* ``torch``: ``torch.nn.RNN/LSTM/GRU`` as a user gets it;
* ``torch-nodnn``: the same with ``torch.backends.mkldnn.enabled = False``, started only
  for the rows where the ``torch`` child saw oneDNN's fused kernel in its profile (the
  float32 LSTM); elsewhere the ``torch`` child already ran without oneDNN and its times
  are the "without oneDNN" times.

Every child builds the same inputs and weights from the same seed (:func:`case_arrays`,
NumPy only; the rnnlib child converts the torch-layout weights with
:func:`rnnlib.interop.weights_from_torch`), and reports a checksum of its outputs and
input gradients, which the parent compares. The children of one row run in ``--rounds``
rounds, the order of the libraries reversed every other round (rnnlib, torch, torch,
rnnlib, ...); each child times ``--repeats`` loops of at least ``--min-time`` seconds per
pass after warm-up calls. Two passes per row:

* ``fwd``: the forward pass keeping what the backward pass needs (rnnlib's cache; torch
  with autograd recording, since inputs and weights require gradients);
* ``fwd+bwd``: forward, then the gradients for x, h0 and all weights, for an upstream
  gradient dh on every hidden state (torch: ``(out * dh).sum().backward()``).

Thread settings: ``default`` removes OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and
MKL_NUM_THREADS from the child's environment (what a user gets without them); ``1`` sets
the three to 1 and calls ``torch.set_num_threads(1)``. ``--unset-coretype`` also removes
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, so that OpenBLAS picks its kernel itself (the
kernel threadpoolctl then reports is printed and stored).

Per row: median time per call with min-max over all rounds and repetitions, and three
ratios of medians: rnnlib / torch, rnnlib / torch without oneDNN, rnnlib / GEMM floor,
marked against the targets of issue 16 (``TARGETS``). ``--out FILE`` writes everything
(rows, environment, command, date, rnnlib version) as JSON, atomically. A throughput
section times training runs at the sizes of the book's adding and temporal-order
experiments (:data:`THROUGHPUT`).
"""
import argparse
import datetime
import json
import math
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

SHAPES = {  # name: (N, T, D, H)
    "S0": (32, 50, 2, 64),      # the long-term-dependency experiments of the book
    "S1": (32, 100, 64, 128),
    "S2": (64, 50, 128, 256),
    "tiny": (2, 3, 2, 4),       # for the tests of this script only: nothing to measure
}
DEFAULT_SHAPES = ("S0", "S1", "S2")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
DTYPES = ("float32", "float64")
THREAD_SETTINGS = ("default", "1")
PASSES = ("fwd", "fwd+bwd")
#: Issue 16's targets, as ratios of medians measured in one run: rnnlib within this
#: factor of its GEMM floor (per shape), and at most this factor of torch without oneDNN.
TARGETS = {"floor": {"S0": 3.0, "S1": 1.5, "S2": 1.5}, "torch_nodnn": 1.0}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
CORETYPE_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
#: The book's experiments whose training runs the throughput section times:
#: name -> (experiment of rnnlib.experiments, configuration, what it is).
THROUGHPUT = {
    "adding": ("adding", "LSTM, forget bias 1", "adding problem, LSTM, T=50, H=32, batch 64"),
    "temporal order": ("init", "orthogonal", "temporal order, tanh RNN, T=40, H=32, batch 20"),
}
#: The step budget of a run of ``python -m rnnlib.experiments`` (its ``--steps`` default).
RUN_STEPS = 1000
SCHEMA_VERSION = 1


# --------------------------------------------------------------------------------------
# Timing helpers (used inside the children)

def matmul_flops(N, T, D, H, G, backward):
    """FLOPs of the matrix products of one pass: ``2 N T G H (D + H)`` forward, three
    times that for forward+backward (dx, dh through W_hh, dWx, dWh)."""
    forward = 2 * N * T * G * H * (D + H)
    return 3 * forward if backward else forward


def calibrate(fn, min_time):
    """Number of calls of ``fn`` that last at least ``min_time`` seconds."""
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    return max(1, math.ceil(min_time / max(once, 1e-9)))


def time_per_call(fn, number):
    """Seconds per call of ``fn``, over a loop of ``number`` calls (garbage collector off)."""
    import gc
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        gc.enable()


def interleaved(fns, repeats, warmup, min_time):
    """Time every function of the dict ``fns`` ``repeats`` times, alternating between them
    (and alternating which goes first). Returns {name: list of seconds per call}."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    numbers = {name: calibrate(fn, min_time) for name, fn in fns.items()}
    times = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            times[name].append(time_per_call(fns[name], numbers[name]))
    return times


def page_faults_per_call(fn, calls=3):
    """Minor page faults (first touches of fresh memory) per call of ``fn``, counted by
    the kernel for this process (``getrusage``) over a few calls after the timing."""
    import resource
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def peak_rss_bytes():
    import resource
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss * (1 if sys.platform == "darwin" else 1024)


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the
    system (mmap threshold 32 MiB, trim threshold 1 GiB), so that a call's large arrays
    are not fresh pages costing a page fault each. ``MALLOC_MMAP_THRESHOLD_`` and
    ``MALLOC_TRIM_THRESHOLD_`` do the same for any program."""
    import ctypes
    import ctypes.util
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    m_trim_threshold, m_mmap_threshold = -1, -3
    if not (libc.mallopt(m_mmap_threshold, 32 * 2 ** 20)
            and libc.mallopt(m_trim_threshold, 2 ** 30)):
        raise OSError("mallopt failed: --keep-freed-memory needs glibc")


def case_arrays(model, dtype, shape, seed=0):
    """The inputs and weights of one row, from ``seed``, NumPy only, so that every child
    builds the same ones: torch-layout weights (uniform in +-1/sqrt(H), torch's
    initialization), x, h0 and the upstream gradient dh."""
    import numpy as np
    N, T, D, H = shape
    GH = GATES[model] * H
    rng = np.random.default_rng(seed)
    k = 1 / math.sqrt(H)
    weights = tuple(rng.uniform(-k, k, s).astype(dtype)
                    for s in ((GH, D), (GH, H), (GH,), (GH,)))
    x = rng.standard_normal((N, T, D)).astype(dtype)
    h0 = (0.1 * rng.standard_normal((N, H))).astype(dtype)
    dh = rng.standard_normal((N, T, H)).astype(dtype)
    return weights, x, h0, dh


def gemm_floor(model, dtype_name, shape, seed=0):
    """The matrix products of rnnlib's sequence pass alone, as {pass: callable}: the input
    projection, the T recurrent products, and in the backward pass the T products
    through W_hh plus dx, dWx and dWh as single products, all with NumPy's BLAS on
    preallocated arrays. These are exactly the FLOPs that ``matmul_flops`` counts, so the
    time is a floor for any NumPy implementation built on this BLAS: no element-wise
    work, no allocation, no Python beyond the calls."""
    import numpy as np
    np_dtype = np.dtype(dtype_name)
    N, T, D, H = shape
    GH = GATES[model] * H
    rng = np.random.default_rng(seed)

    def rand(*s):
        return rng.standard_normal(s).astype(np_dtype)

    X, Wx, Wh, hs, da = rand(T * N, D), rand(D, GH), rand(H, GH), rand(T, N, H), rand(T, N, GH)
    WxT, WhT = np.ascontiguousarray(Wx.T), np.ascontiguousarray(Wh.T)
    da2, hs2 = da.reshape(T * N, GH), hs.reshape(T * N, H)
    proj, rec, dh = np.empty((T * N, GH), np_dtype), np.empty((N, GH), np_dtype), np.empty((N, H), np_dtype)
    dx, dWx, dWh = np.empty((T * N, D), np_dtype), np.empty((D, GH), np_dtype), np.empty((H, GH), np_dtype)

    def forward():
        np.matmul(X, Wx, out=proj)
        for t in range(T):
            np.matmul(hs[t], Wh, out=rec)

    def forward_backward():
        forward()
        for t in range(T - 1, -1, -1):
            np.matmul(da[t], WhT, out=dh)
        np.matmul(da2, WxT, out=dx)
        np.matmul(X.T, da2, out=dWx)
        np.matmul(hs2.T, da2, out=dWh)

    return {"fwd": forward, "fwd+bwd": forward_backward}


#: The element-wise NumPy calls of one time step of rnnlib's loops, other than the
#: recurrent matrix product and exp / tanh, as the sizes of their arrays in units of
#: H N (4: the LSTM's four gate blocks), counted in rnnlib.rnn, lstm and gru:
#: (model, "fwd") or (model, "bwd") -> list; the backward pass adds its loop.
LOOP_PASSES = {
    ("rnn", "fwd"): [1], ("rnn", "bwd"): [1, 1],
    ("lstm", "fwd"): [4, 4, 3] + [1] * 10, ("lstm", "bwd"): [1, 1, 1, 2, 1, 1, 1],
    ("gru", "fwd"): [2, 2, 2] + [1] * 9, ("gru", "bwd"): [1] * 7,
}


def transcendental_calls(model, N, H):
    """The exp / tanh calls of one forward step: list of (NumPy function name, entries)."""
    if model == "rnn":
        return [("tanh", N * H)]
    if model == "lstm":
        return [("exp", 4 * H * N), ("exp", H * N)]
    return [("exp", 2 * H * N), ("exp", H * N)]          # gru


def limit_parts(model, dtype_name, shape, seed=0):
    """What the time above the GEMM floor is made of, as {pass: {part: callable}}:
    ``transcendental``, the exp / tanh calls of the pass alone (T calls each, on arrays
    of the sizes the loop gives them), and ``passes``, the loops' other element-wise
    calls (:data:`LOOP_PASSES`), each one ``np.add`` into a preallocated array of its
    size. floor + transcendental + passes bounds any NumPy code that issues one call per
    operation of a step as rnnlib does; what rnnlib takes beyond it is work outside the
    loops, page faults of fresh arrays and cache misses (``benchmarks/limits.py``)."""
    import numpy as np
    np_dtype = np.dtype(dtype_name)
    N, T, D, H = shape
    rng = np.random.default_rng(seed)
    trans = [(getattr(np, f), rng.uniform(-1, 1, n).astype(np_dtype))
             for f, n in transcendental_calls(model, N, H)]
    touts = [np.empty_like(a) for _, a in trans]
    sizes = {m for v in LOOP_PASSES.values() for m in v}
    arrays = {m: [rng.uniform(-1, 1, m * H * N).astype(np_dtype) for _ in range(3)]
              for m in sizes}

    def transcendental():
        with np.errstate(over="ignore"):
            for _ in range(T):
                for (f, a), o in zip(trans, touts):
                    f(a, out=o)

    def passes_of(ms):
        calls = [arrays[m] for m in ms]

        def run():
            for _ in range(T):
                for a, b, c in calls:
                    np.add(a, b, out=c)
        return run

    fwd = LOOP_PASSES[(model, "fwd")]
    return {"fwd": {"transcendental": transcendental, "passes": passes_of(fwd)},
            "fwd+bwd": {"transcendental": transcendental,
                        "passes": passes_of(fwd + LOOP_PASSES[(model, "bwd")])}}


def cache_nbytes(cache, params):
    """Bytes of the arrays in a cache, not counting the parameters (owned by the caller)."""
    import numpy as np
    owned = {id(a) for a in params}
    return sum(a.nbytes for a in cache if isinstance(a, np.ndarray) and id(a) not in owned)


def blas_info():
    """threadpoolctl's description of every thread pool of this process, and NumPy's BLAS."""
    import threadpoolctl
    pools = threadpoolctl.threadpool_info()
    blas = [i for i in pools if i["user_api"] == "blas"]
    numpy_blas = next((i for i in blas if "numpy" in i["filepath"]), blas[0] if blas else {})
    return numpy_blas, pools


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# --------------------------------------------------------------------------------------
# The children

def _checksum(*arrays):
    return [float(a.astype("float64").sum()) for a in arrays]


def child_rnnlib(spec):
    import numpy as np
    import rnnlib
    from rnnlib.interop import weights_from_torch
    model, dtype, shape = spec["model"], spec["dtype"], tuple(spec["shape"])
    weights, x, h0, dh = case_arrays(model, dtype, shape, spec["seed"])
    p = weights_from_torch(model, *weights)
    params = (p["Wx"], p["Wh"], p["b"]) + ((p["bhn"],) if model == "gru" else ())
    args = (x, h0) + params
    forward = getattr(rnnlib, f"{model}_forward")
    backward = getattr(rnnlib, f"{model}_backward")

    def fwd():
        return forward(*args)

    def fwdbwd():
        _, cache = forward(*args)
        return backward(dh, cache)

    h, cache = fwd()
    dx = fwdbwd()[0]
    floors = gemm_floor(model, dtype, shape, spec["seed"])
    parts = limit_parts(model, dtype, shape, spec["seed"])
    out = {"times_s": {}, "faults_per_call": {}}
    for pass_name, fn in (("fwd", fwd), ("fwd+bwd", fwdbwd)):
        t = interleaved({"rnnlib": fn, "floor": floors[pass_name], **parts[pass_name]},
                        spec["repeats"], spec["warmup"], spec["min_time"])
        out["times_s"][pass_name] = t
        out["faults_per_call"][pass_name] = page_faults_per_call(fn)
    numpy_blas, pools = blas_info()
    out.update(checksum=_checksum(h, dx), cache_bytes=cache_nbytes(cache, params),
               numpy_blas=numpy_blas, pools=pools, numpy_threads=numpy_blas.get("num_threads"))
    return out


def child_torch(spec, onednn):
    import numpy as np  # noqa: F401  (torch.from_numpy)
    import torch
    if spec["threads"] == "1":
        torch.set_num_threads(1)
    if not onednn:
        torch.backends.mkldnn.enabled = False
    model, dtype, shape = spec["model"], spec["dtype"], tuple(spec["shape"])
    weights, x, h0, dh = case_arrays(model, dtype, shape, spec["seed"])
    N, T, D, H = shape
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[model](
        D, H, batch_first=True, dtype=getattr(torch, dtype))
    with torch.no_grad():
        for name, w in zip(("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"), weights):
            getattr(module, name).copy_(torch.from_numpy(w))
    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None].copy()).requires_grad_()
    state = (h0t, torch.zeros_like(h0t)) if model == "lstm" else h0t
    dht = torch.from_numpy(dh)

    def fwd():
        return module(xt, state)

    def fwdbwd():
        module.zero_grad(set_to_none=True)
        xt.grad = h0t.grad = None
        out, _ = module(xt, state)
        (out * dht).sum().backward()

    fwdbwd()
    h = fwd()[0].detach().numpy()
    dx = xt.grad.numpy()
    out = {"times_s": {}, "faults_per_call": {}}
    for pass_name, fn in (("fwd", fwd), ("fwd+bwd", fwdbwd)):
        out["times_s"][pass_name] = interleaved({"torch": fn}, spec["repeats"],
                                                spec["warmup"], spec["min_time"])
        out["faults_per_call"][pass_name] = page_faults_per_call(fn)
    # Which kernels ran: oneDNN's fused RNN shows up as mkldnn_rnn_layer in the profile.
    from torch.autograd import profiler
    with profiler.profile() as prof:
        fwdbwd()
    names = sorted({e.name for e in prof.function_events})
    out.update(checksum=_checksum(h, dx), torch_threads=torch.get_num_threads(),
               onednn_enabled=torch.backends.mkldnn.enabled,
               onednn_used=any("mkldnn" in n for n in names))
    return out


def child_throughput(spec):
    """Seconds of training runs of the book's experiments, ``spec["steps"]`` steps each
    without stopping on success (what ``rnnlib.experiments.run_config`` does, up to the
    stop), one run per round."""
    import numpy as np
    from rnnlib.experiments import EXPERIMENTS
    from rnnlib.models import SequenceModel
    from rnnlib.optim import SGD, Adam
    from rnnlib.tasks import get_task
    from rnnlib.train import train
    experiment_name, config_name, _ = THROUGHPUT[spec["experiment"]]
    exp = EXPERIMENTS[experiment_name]
    config = exp.configs[config_name]
    task = get_task(exp.task)
    steps = spec["steps"]
    seconds = []
    for seed in range(spec["repeats"]):
        rng = np.random.default_rng(seed)
        model = SequenceModel.for_task(task, exp.hidden_size, rng, cell=config.cell,
                                       activation=config.activation, init=config.init)
        opt = (Adam(config.lr) if config.optimizer == "adam"
               else SGD(config.lr, momentum=config.momentum))
        start = time.perf_counter()
        train(model, None, opt, task, steps, T=exp.T, batch_size=exp.batch_size,
              clip_norm=config.clip_norm, clip_value=config.clip_value,
              omega_weight=config.omega_weight, eval_every=min(exp.eval_every, steps),
              stop_on_success=False, rng=rng, progress=False)
        seconds.append(time.perf_counter() - start)
    numpy_blas, _ = blas_info()
    return {"seconds": seconds, "steps": steps, "T": exp.T, "hidden_size": exp.hidden_size,
            "batch_size": exp.batch_size, "cell": config.cell, "eval_every": exp.eval_every,
            "numpy_threads": numpy_blas.get("num_threads")}


def child_probe(spec):
    """What a process of this library sees: versions, thread pools, BLAS kernel."""
    out = {"python": platform.python_version(),
           "env": {k: os.environ.get(k) for k in THREAD_VARS + CORETYPE_VARS}}
    if spec["lib"] == "probe-rnnlib":
        import numpy as np
        import rnnlib
        numpy_blas, pools = blas_info()
        out.update(numpy=np.__version__, rnnlib=rnnlib.__version__, numpy_blas=numpy_blas,
                   pools=pools)
    else:
        import torch
        if spec["threads"] == "1":
            torch.set_num_threads(1)
        _, pools = blas_info()
        out.update(torch=torch.__version__, torch_threads=torch.get_num_threads(),
                   onednn_available=torch.backends.mkldnn.is_available(),
                   mkl_available=torch.backends.mkl.is_available(), pools=pools)
    return out


def run_child(spec):
    """The body of a child process: ``spec`` says what to run; returns a dict."""
    start = time.perf_counter()
    if spec.get("keep_freed_memory"):
        keep_freed_memory()
    lib = spec["lib"]
    if lib == "rnnlib":
        out = child_rnnlib(spec)
    elif lib in ("torch", "torch-nodnn"):
        out = child_torch(spec, onednn=(lib == "torch"))
    elif lib == "throughput":
        out = child_throughput(spec)
    elif lib in ("probe-rnnlib", "probe-torch"):
        out = child_probe(spec)
    else:
        raise ValueError(f"unknown child {lib!r}")
    out["peak_rss_bytes"] = peak_rss_bytes()
    out["child_seconds"] = time.perf_counter() - start
    return out


# --------------------------------------------------------------------------------------
# The parent

def child_env(threads, unset_coretype, base=None):
    """The environment of a child: ``base`` (default os.environ) with the thread variables
    removed (``threads="default"``) or set to 1 (``"1"``), and OPENBLAS_CORETYPE and
    OPENBLAS_L2_SIZE removed with ``unset_coretype``."""
    if threads not in THREAD_SETTINGS:
        raise ValueError(f"unknown thread setting {threads!r}; choose from {THREAD_SETTINGS}")
    env = dict(os.environ if base is None else base)
    for var in THREAD_VARS:
        env.pop(var, None)
        if threads == "1":
            env[var] = "1"
    if unset_coretype:
        for var in CORETYPE_VARS:
            env.pop(var, None)
    env["RNNLIB_PROGRESS"] = "0"
    return env


def spawn(spec, env):
    """Run one child and return (its result, wall seconds including the start-up)."""
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", json.dumps(spec)],
                          capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"child {spec} printed no result:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return json.loads(lines[-1]), wall


def stats(ts):
    """Median, min and max of a list of seconds."""
    return {"median": statistics.median(ts), "min": min(ts), "max": max(ts)}


def target_floor(shape):
    return TARGETS["floor"].get(shape)


def summarize_row(threads, model, dtype, shape, pass_name, results):
    """One row of the table from the children's results for one (threads, model, dtype,
    shape): ``results`` maps a library to the list of its children's outputs."""
    N, T, D, H = SHAPES[shape]
    times = {"rnnlib": [], "floor": [], "torch": []}
    for out in results["rnnlib"]:
        times["rnnlib"] += out["times_s"][pass_name]["rnnlib"]
        times["floor"] += out["times_s"][pass_name]["floor"]
    for part in ("transcendental", "passes"):   # the decomposition (absent in old files)
        if all(part in out["times_s"][pass_name] for out in results["rnnlib"]):
            times[part] = [t for out in results["rnnlib"] for t in out["times_s"][pass_name][part]]
    for out in results["torch"]:
        times["torch"] += out["times_s"][pass_name]["torch"]
    onednn_used = any(out["onednn_used"] for out in results["torch"])
    if results.get("torch-nodnn"):
        times["torch_nodnn"] = [t for out in results["torch-nodnn"]
                                for t in out["times_s"][pass_name]["torch"]]
        nodnn_source = "torch-nodnn child"
    else:   # the torch child called no oneDNN kernel: it is torch without oneDNN
        times["torch_nodnn"] = list(times["torch"])
        nodnn_source = "torch child (no oneDNN kernel in its profile)"
    s = {k: stats(v) for k, v in times.items()}
    med = {k: v["median"] for k, v in s.items()}
    ratios = {"torch": med["rnnlib"] / med["torch"],
              "torch_nodnn": med["rnnlib"] / med["torch_nodnn"],
              "floor": med["rnnlib"] / med["floor"]}
    if "passes" in med:     # (floor + exp/tanh + one pass per operation) / floor
        ratios["bound"] = (med["floor"] + med["transcendental"] + med["passes"]) / med["floor"]
    tf = target_floor(shape)
    meets = {"floor": None if tf is None else ratios["floor"] <= tf,
             "torch_nodnn": ratios["torch_nodnn"] <= TARGETS["torch_nodnn"]}
    return {"threads": threads, "model": model, "dtype": dtype, "shape": shape,
            "N": N, "T": T, "D": D, "H": H, "pass": pass_name,
            "flops": matmul_flops(N, T, D, H, GATES[model], pass_name == "fwd+bwd"),
            "times_s": times, "stats_s": s, "ratios": ratios,
            "targets": {"floor": tf, "torch_nodnn": TARGETS["torch_nodnn"]}, "meets": meets,
            "torch_onednn_used": onednn_used, "torch_nodnn_source": nodnn_source,
            "rnnlib_threads": results["rnnlib"][0].get("numpy_threads"),
            "torch_threads": results["torch"][0].get("torch_threads"),
            "faults_per_call": {lib: statistics.median(o["faults_per_call"][pass_name]
                                                       for o in outs)
                                for lib, outs in results.items() if outs},
            "cache_bytes": results["rnnlib"][0]["cache_bytes"],
            "same_result": results_agree(results)}


def results_agree(results, rtol=None):
    """Whether every child computed the same h and dx sums (the same inputs and weights):
    relative tolerance 1e-3 (float32 children differ by rounding)."""
    sums = [out["checksum"] for outs in results.values() for out in outs]
    ref = sums[0]
    tol = 1e-3 if rtol is None else rtol
    return all(abs(a - b) <= tol * max(1.0, abs(b)) for s in sums for a, b in zip(s, ref))


def fmt_ms(st):
    return f"{1e3 * st['median']:7.2f} [{1e3 * st['min']:.2f}-{1e3 * st['max']:.2f}]"


def mark(ok):
    return "" if ok is None else (" ok" if ok else " ABOVE")


def row_line(row):
    s, r, m = row["stats_s"], row["ratios"], row["meets"]
    nodnn = fmt_ms(s["torch_nodnn"]) if row["torch_nodnn_source"] == "torch-nodnn child" else "= torch"
    return (f"{row['model']:5} {row['dtype']:7} {row['shape']:5} {row['pass']:7} | "
            f"{fmt_ms(s['rnnlib']):>24} | {fmt_ms(s['torch']):>24} | {nodnn:>24} | "
            f"{fmt_ms(s['floor']):>24} | {r['torch']:5.2f} | "
            f"{r['torch_nodnn']:5.2f}{mark(m['torch_nodnn']):6} | "
            f"{r['floor']:5.2f}{mark(m['floor']):6}"
            + (f" | {r['bound']:5.2f}" if "bound" in r else "")
            + ("" if row["same_result"] else "  RESULTS DIFFER"))


TABLE_HEADER = (f"{'model':5} {'dtype':7} {'shape':5} {'pass':7} | {'rnnlib ms [min-max]':>24} | "
                f"{'torch ms [min-max]':>24} | {'torch no oneDNN ms':>24} | "
                f"{'GEMM floor ms':>24} | {'/torch':>5} | {'/no-oneDNN':>11} | {'/floor':>11} | "
                f"{'bound':>5}")


def estimate_seconds(settings, startup):
    """Projected wall time of a run: child start-ups (``startup``: seconds per library,
    measured by the probes) plus the timed loops, with a rough per-call time (matrix
    products at 30 GFLOP/s in float32, 15 in float64, plus 15 us of overhead per step
    and pass)."""
    total = 0.0
    for _threads in settings["threads"]:
        for model in settings["models"]:
            for dtype in settings["dtypes"]:
                for shape in settings["shapes"]:
                    N, T, D, H = SHAPES[shape]
                    work = 0.0
                    for pass_name in PASSES:
                        bwd = pass_name == "fwd+bwd"
                        rate = 30e9 if dtype == "float32" else 15e9
                        call = (matmul_flops(N, T, D, H, GATES[model], bwd) / rate
                                + 15e-6 * T * (2 if bwd else 1))
                        work += ((settings["warmup"] + 1) * call
                                 + settings["repeats"] * max(settings["min_time"], call))
                    n_torch = 2 if (model == "lstm" and dtype == "float32") else 1
                    # rnnlib child: rnnlib, floor and the two cheaper parts of the
                    # decomposition (about 3 series); each torch child: 1 series
                    total += settings["rounds"] * (startup["rnnlib"] + 3 * work
                                                   + n_torch * (startup["torch"] + work))
    if settings["throughput_steps"]:
        per_run = {"adding": 8e-3, "temporal order": 2.5e-3}
        for _threads in settings["threads"]:
            for name in THROUGHPUT:
                total += startup["rnnlib"] + settings["throughput_runs"] * (
                    settings["throughput_steps"] * per_run[name] * 1.2)
    return total


def write_json_atomic(path, data):
    """Write ``data`` as JSON to ``path`` through a temporary file in the same directory
    and ``os.replace``: a reader sees the old file or the new one, never a partial one."""
    path = os.path.abspath(path)
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".bench-", suffix=".json.tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=False)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)      # mkstemp's 0600 -> the mode of a plain open()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def parse_args(argv=None):
    """The options (see the module docstring); fills in the defaults of a full or a
    ``--quick`` run and adds ``kind``: "quick", "full" (every model, dtype, shape and
    thread setting at the default repetitions) or "custom"."""
    # The option types are rnnlib's, shared with its command lines; importing the package
    # here (also in the torch children) loads NumPy and sets nothing that changes timings.
    from rnnlib.cli import choice_list, non_negative_int, positive_float, positive_int
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: S0 only, 2 rounds of 1 loop of >= 20 ms, short throughput runs")
    parser.add_argument("--models", type=choice_list("models", tuple(GATES)), default=list(GATES))
    parser.add_argument("--dtypes", type=choice_list("dtypes", DTYPES), default=list(DTYPES))
    parser.add_argument("--shapes", type=choice_list("shapes", tuple(SHAPES)), default=None,
                        help="default S0,S1,S2 (quick: S0); 'tiny' is for the tests")
    parser.add_argument("--threads", type=choice_list("thread settings", THREAD_SETTINGS),
                        default=list(THREAD_SETTINGS))
    parser.add_argument("--rounds", type=positive_int, help="child processes per library and row (3; quick 2)")
    parser.add_argument("--repeats", type=positive_int, help="timed loops per child and pass (3; quick 1)")
    parser.add_argument("--min-time", type=positive_float, help="seconds per timed loop (0.05; quick 0.02)")
    parser.add_argument("--warmup", type=non_negative_int, help="warm-up calls per child and pass (2; quick 1)")
    parser.add_argument("--throughput-steps", type=non_negative_int,
                        help="training steps per throughput run, 0 to skip (300; quick 100)")
    parser.add_argument("--throughput-runs", type=positive_int, help="runs per throughput child (2; quick 1)")
    parser.add_argument("--unset-coretype", action="store_true",
                        help="run the children without OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="tell glibc's malloc in every child to keep freed memory")
    parser.add_argument("--seed", type=non_negative_int, default=0)
    parser.add_argument("--out", help="write the results to this JSON file (atomically)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    q = args.quick
    defaults = {"shapes": ["S0"] if q else list(DEFAULT_SHAPES), "rounds": 2 if q else 3,
                "repeats": 1 if q else 3, "min_time": 0.02 if q else 0.05, "warmup": 1 if q else 2,
                "throughput_steps": 100 if q else 300, "throughput_runs": 1 if q else 2}
    explicit = {k for k, v in defaults.items() if getattr(args, k) is not None}
    for k, v in defaults.items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    full = (not q and not explicit and args.models == list(GATES)
            and args.dtypes == list(DTYPES) and args.threads == list(THREAD_SETTINGS))
    args.kind = "quick" if q and not explicit else ("full" if full else "custom")
    return args


def environment(unset_coretype):
    """The parent's view of the machine and of the variables that change OpenBLAS."""
    return {"cpu": cpu_name(), "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(),
            "env": {k: os.environ.get(k) for k in THREAD_VARS + CORETYPE_VARS},
            "unset_coretype": unset_coretype}


def print_environment(env, probes):
    print(f"CPU: {env['cpu']}, {env['cores']} cores; {env['platform']}; Python {env['python']}")
    for var in CORETYPE_VARS:
        value = env["env"][var]
        state = "not set" if value is None else f"set to {value!r}"
        extra = " (removed for the children: --unset-coretype)" if env["unset_coretype"] and value is not None else ""
        print(f"  {var}: {state}{extra}")
    for var in THREAD_VARS:
        value = env["env"][var]
        print(f"  {var} in this shell: {'not set' if value is None else value} "
              "(the children get it removed for 'default', 1 for '1')")
    for threads, probe in probes.items():
        r, t = probe["rnnlib"], probe["torch"]
        b = r["numpy_blas"]
        print(f"threads={threads}: numpy {r['numpy']}, rnnlib {r['rnnlib']}: "
              f"{b.get('internal_api')} {b.get('version')}, kernel {b.get('architecture')}, "
              f"{b.get('num_threads')} thread(s); torch {t['torch']}: {t['torch_threads']} thread(s), "
              f"oneDNN available {t['onednn_available']}, MKL {t['mkl_available']}")


def run_parent(args, argv):
    started = time.perf_counter()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    settings = {k: getattr(args, k) for k in (
        "models", "dtypes", "shapes", "threads", "rounds", "repeats", "min_time", "warmup",
        "throughput_steps", "throughput_runs", "seed", "unset_coretype", "keep_freed_memory")}
    env = environment(args.unset_coretype)
    envs = {th: child_env(th, args.unset_coretype) for th in args.threads}
    probes, startup = {}, {"rnnlib": 0.0, "torch": 0.0}
    for th in args.threads:
        probes[th] = {}
        for lib in ("rnnlib", "torch"):
            out, wall = spawn({"lib": f"probe-{lib}", "threads": th}, envs[th])
            probes[th][lib] = out
            startup[lib] = max(startup[lib], wall)
    print_environment(env, probes)
    projected = estimate_seconds(settings, startup)
    print(f"\n{args.kind} run: {len(args.threads)} thread setting(s) x {len(args.models)} model(s) x "
          f"{len(args.dtypes)} dtype(s) x {len(args.shapes)} shape(s); {args.rounds} round(s) of "
          f"one child per library, {args.repeats} loop(s) of >= {1e3 * args.min_time:.0f} ms per "
          f"child and pass after {args.warmup} warm-up call(s).")
    print(f"Child start-up: rnnlib {startup['rnnlib']:.1f} s, torch {startup['torch']:.1f} s. "
          f"Projected time: {projected / 60:.1f} min (on an otherwise idle machine)", flush=True)

    rows = []
    for th in args.threads:
        print(f"\nThreads: {th}  (ratios are rnnlib over the column; targets: "
              f"/no-oneDNN <= {TARGETS['torch_nodnn']}, /floor <= "
              + ", ".join(f"{s} {v}" for s, v in TARGETS["floor"].items())
              + "; bound: (floor + exp/tanh + one pass per operation) / floor, see limit_parts)")
        print(TABLE_HEADER + "\n" + "-" * len(TABLE_HEADER), flush=True)
        for model in args.models:
            for dtype in args.dtypes:
                for shape in args.shapes:
                    spec = {"model": model, "dtype": dtype, "shape": list(SHAPES[shape]),
                            "threads": th, "repeats": args.repeats, "warmup": args.warmup,
                            "min_time": args.min_time, "seed": args.seed,
                            "keep_freed_memory": args.keep_freed_memory}
                    results = {"rnnlib": [], "torch": [], "torch-nodnn": []}
                    libs = ["rnnlib", "torch"]
                    for r in range(args.rounds):
                        for lib in (list(libs) if r % 2 == 0 else libs[::-1]):
                            out, _ = spawn(dict(spec, lib=lib), envs[th])
                            results[lib].append(out)
                            if (lib == "torch" and out["onednn_used"]
                                    and "torch-nodnn" not in libs):
                                libs.append("torch-nodnn")   # from this round on
                                out, _ = spawn(dict(spec, lib="torch-nodnn"), envs[th])
                                results["torch-nodnn"].append(out)
                    for pass_name in PASSES:
                        row = summarize_row(th, model, dtype, shape, pass_name, results)
                        rows.append(row)
                        print(row_line(row), flush=True)
        print(f"  (elapsed {(time.perf_counter() - started) / 60:.1f} min)", flush=True)

    throughput = []
    if args.throughput_steps:
        print(f"\nThroughput of the book's experiments (rnnlib, {args.throughput_steps} training "
              f"steps per run, evaluation included, no stop on success; runs per minute of "
              f"{RUN_STEPS} steps, the step budget of python -m rnnlib.experiments)")
        for th in args.threads:
            for name, (_, config, description) in THROUGHPUT.items():
                out, _ = spawn({"lib": "throughput", "experiment": name, "steps": args.throughput_steps,
                                "repeats": args.throughput_runs, "threads": th,
                                "keep_freed_memory": args.keep_freed_memory}, envs[th])
                per_step = statistics.median(out["seconds"]) / out["steps"]
                item = dict(out, threads=th, name=name, experiment=THROUGHPUT[name][0],
                            config=config, description=description, seconds_per_step=per_step,
                            runs_per_minute=60 / (RUN_STEPS * per_step), run_steps=RUN_STEPS)
                throughput.append(item)
                print(f"  threads={th:7} {description:48} {1e3 * per_step:6.2f} ms/step, "
                      f"{item['runs_per_minute']:5.2f} runs/min", flush=True)

    elapsed = time.perf_counter() - started
    above = [r for r in rows if r["meets"]["floor"] is False or r["meets"]["torch_nodnn"] is False]
    print(f"\n{len(rows)} rows, {len(above)} above a target; same results in every child: "
          f"{all(r['same_result'] for r in rows)}. Took {elapsed / 60:.1f} min "
          f"(projected {projected / 60:.1f}).")
    first = probes[args.threads[0]]
    data = {"schema": SCHEMA_VERSION, "kind": args.kind,
            "command": shlex.join(["python", "benchmarks/bench.py"] + list(argv)),
            "date": date, "rnnlib_version": first["rnnlib"]["rnnlib"],
            "numpy_version": first["rnnlib"]["numpy"], "torch_version": first["torch"]["torch"],
            "environment": env, "probes": probes, "settings": settings, "targets": TARGETS,
            "shapes": {s: SHAPES[s] for s in args.shapes}, "rows": rows,
            "throughput": throughput, "elapsed_s": elapsed, "projected_s": projected}
    if args.out:
        write_json_atomic(args.out, data)
        print(f"Results written to {args.out}")
    return data


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if args.child is not None:
        print(json.dumps(run_child(json.loads(args.child))))
        return None
    return run_parent(args, argv)


if __name__ == "__main__":
    main()
