r"""Speed of rnnlib's sequence functions against ``torch.nn.RNN/LSTM/GRU`` on the CPU.

Usage::

    python benchmarks/bench.py [--quick] [--repeats K] [--models rnn,lstm,gru]
                               [--dtypes float32,float64] [--shapes S0,S1,S2]
                               [--keep-freed-memory] [--json out.json]

Set the BLAS thread count in the environment (``OPENBLAS_NUM_THREADS=1``); torch gets
the same number of threads as NumPy's BLAS, and both are printed.

What is measured, per model x dtype x shape:

* ``fwd``: the sequence forward pass with everything the backward pass needs kept
  (rnnlib's cache; torch with autograd recording, since inputs and weights require
  gradients).
* ``fwd+bwd``: forward, then the gradients with respect to the inputs x, the initial
  state h0 and all weights, for the upstream gradient dh on every hidden state
  (torch: ``(out * dh).sum().backward()``, rnnlib: ``*_backward(dh, cache)``).

The two libraries are interleaved in every repetition, after warm-up runs; each
repetition times a loop of calls lasting at least ``--min-time`` seconds. The table shows
the median time per call with the min-max over repetitions, the ratio rnnlib / torch of
the medians, and the GFLOP/s reached. The FLOP count covers the matrix products only,
:math:`2mnk` each, with G gate blocks (1 RNN, 3 GRU, 4 LSTM):
forward :math:`2NTGH(D + H)` (input projection and recurrent product), forward+backward
three times that (plus dx, dh through W_hh, dWx and dWh). Element-wise work is not
counted. The reference rate is ``np.matmul`` of two 1024 x 1024 matrices of the same
dtype, measured in the same run.

Two columns explain the ratio: ``floor/torch``, the time of the counted matrix products
alone with NumPy's BLAS (``gemm_floor``) over torch's time, and, for the float32 LSTM that
torch runs through oneDNN's fused kernel, ``vs unfused``: rnnlib over torch with oneDNN
switched off.

Memory: the bytes held by the arrays of rnnlib's BPTT cache at shape S2 (parameters
excluded, since the caller owns them) and the peak resident set size of this process.
If :mod:`rnnlib.esn` is present, the reservoir of the echo state network is timed too:
state collection and ridge fit for 1000 units and 2000 steps.
"""
import argparse
import ctypes
import ctypes.util
import gc
import importlib.util
import json
import math
import platform
import resource
import statistics
import sys
import time
import warnings

import numpy as np
import threadpoolctl
import torch

import rnnlib
from rnnlib.interop import params_from_torch

SHAPES = {  # name: (N, T, D, H)
    "S0": (32, 50, 2, 64),      # the long-term-dependency experiments of the book
    "S1": (32, 100, 64, 128),
    "S2": (64, 50, 128, 256),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH_MODULES = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
DTYPES = {"float32": (np.float32, torch.float32), "float64": (np.float64, torch.float64)}


def matmul_flops(N, T, D, H, G, backward):
    """FLOPs of the matrix products of one pass (see the module docstring)."""
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


def uses_onednn(model, dtype_name):
    """Whether torch's CPU build runs this model through oneDNN's fused RNN kernel: the
    float32 LSTM does (``torch.backends.mkldnn``), the other rows use torch's own loop."""
    return model == "lstm" and dtype_name == "float32" and torch.backends.mkldnn.is_available()


def without_onednn(fn):
    """``fn`` run with oneDNN switched off, so that torch uses its unfused LSTM."""
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)   # a note about Intel GPUs' TF32
            with torch.backends.mkldnn.flags(enabled=False):
                return fn()
    return run


def make_case(model, dtype_name, shape, seed=0):
    """The callables to time for one model, dtype and shape, as {pass: {name: fn}} with
    pass "fwd" and "fwd+bwd" and names "rnnlib", "torch" (plus "torch-unfused" for the
    float32 LSTM, see ``uses_onednn``), all with the same weights and inputs; plus a
    function returning rnnlib's cache and rnnlib's arguments."""
    np_dtype, torch_dtype = DTYPES[dtype_name]
    N, T, D, H = shape
    torch.manual_seed(seed)
    module = TORCH_MODULES[model](D, H, batch_first=True, dtype=torch_dtype)
    p = params_from_torch(module)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, T, D)).astype(np_dtype)
    h0 = (0.1 * rng.standard_normal((N, H))).astype(np_dtype)
    dh = rng.standard_normal((N, T, H)).astype(np_dtype)

    forward = getattr(rnnlib, f"{model}_forward")
    backward = getattr(rnnlib, f"{model}_backward")
    args = (x, h0, p["Wx"], p["Wh"], p["b"]) + ((p["bhn"],) if model == "gru" else ())

    def ours_fwd():
        return forward(*args)

    def ours_fwdbwd():
        _, cache = forward(*args)
        return backward(dh, cache)

    xt = torch.from_numpy(x).requires_grad_()
    h0t = torch.from_numpy(h0[None]).requires_grad_()
    state = (h0t, torch.zeros_like(h0t)) if model == "lstm" else h0t
    dht = torch.from_numpy(dh)

    def torch_fwd():
        return module(xt, state)

    def torch_fwdbwd():
        module.zero_grad(set_to_none=True)
        xt.grad = h0t.grad = None
        out, _ = module(xt, state)
        (out * dht).sum().backward()

    def cache():
        return forward(*args)[1]

    fns = {"fwd": {"rnnlib": ours_fwd, "torch": torch_fwd},
           "fwd+bwd": {"rnnlib": ours_fwdbwd, "torch": torch_fwdbwd}}
    if uses_onednn(model, dtype_name):
        for by_name in fns.values():
            by_name["torch-unfused"] = without_onednn(by_name["torch"])
    return fns, cache, args


def gemm_floor(model, dtype_name, shape, seed=0):
    """The matrix products of rnnlib's sequence pass alone, as (fwd, fwd+bwd) callables:
    the input projection, the T recurrent products, and in the backward pass the T
    products through W_hh plus dx, dWx and dWh as single products, all with NumPy's BLAS
    on preallocated arrays. These are exactly the FLOPs that ``matmul_flops`` counts, so
    the time is a floor for any NumPy implementation built on this BLAS: no element-wise
    work, no allocation, no Python beyond the calls."""
    np_dtype = DTYPES[dtype_name][0]
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


def page_faults_per_call(fn, calls=5):
    """Minor page faults (first touches of fresh memory) per call of ``fn``, counted by
    the kernel for this process (``getrusage``) over a few calls after the timing."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        fn()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / calls


def step_products(dtype_name, shape, G, repeats, min_time):
    """Median seconds of one recurrent product of a step, the (N, H) x (H, G H) product
    that no implementation can take out of the time loop, with NumPy's BLAS and with
    torch (``torch.mm``), interleaved; both orientations, batch-major h W and
    feature-major W^T h^T. Returns {name: seconds}."""
    np_dtype = DTYPES[dtype_name][0]
    N, _, _, H = shape
    rng = np.random.default_rng(0)
    h, W = (rng.standard_normal(s).astype(np_dtype) for s in ((N, H), (H, G * H)))
    hT, WT = np.ascontiguousarray(h.T), np.ascontiguousarray(W.T)
    out, outT = np.empty((N, G * H), np_dtype), np.empty((G * H, N), np_dtype)
    th, tW, tout = (torch.from_numpy(a) for a in (h, W, out))
    thT, tWT, toutT = (torch.from_numpy(a) for a in (hT, WT, outT))
    times = interleaved({
        "numpy hW": lambda: np.matmul(h, W, out=out),
        "torch hW": lambda: torch.mm(th, tW, out=tout),
        "numpy WTh": lambda: np.matmul(WT, hT, out=outT),
        "torch WTh": lambda: torch.mm(tWT, thT, out=toutT),
    }, repeats, 3, min_time)
    return {name: statistics.median(t) for name, t in times.items()}


def cache_nbytes(cache, params):
    """Bytes of the arrays in a cache, not counting the parameters (owned by the caller)."""
    owned = {id(a) for a in params}
    return sum(a.nbytes for a in cache if isinstance(a, np.ndarray) and id(a) not in owned)


def matmul_rate(np_dtype, repeats, min_time):
    """GFLOP/s of ``np.matmul`` on two 1024 x 1024 matrices (median over repeats)."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((1024, 1024)).astype(np_dtype) for _ in range(2))
    out = np.empty_like(a)
    times = interleaved({"matmul": lambda: np.matmul(a, b, out=out)}, repeats, 1, min_time)
    return 2 * 1024 ** 3 / statistics.median(times["matmul"]) / 1e9


def esn_timing(repeats, min_time):
    """Median seconds of reservoir state collection and ridge fit, 1000 units, 2000 steps;
    None if rnnlib.esn does not exist."""
    if importlib.util.find_spec("rnnlib.esn") is None:
        return None
    from rnnlib import esn
    rng = np.random.default_rng(0)
    W_uh, W_hh, b = esn.init_reservoir(1, 1000, spectral_radius=0.9, rng=rng)
    u = rng.uniform(-0.5, 0.5, size=(2000, 1))
    y = np.sin(np.cumsum(u, axis=0))
    states = esn.reservoir_states(u, W_uh, W_hh, b, leak_rate=0.3)
    times = interleaved({
        "states": lambda: esn.reservoir_states(u, W_uh, W_hh, b, leak_rate=0.3),
        "ridge": lambda: esn.ridge_readout(states, y, ridge=1e-6),
    }, repeats, 1, min_time)
    return {name: statistics.median(t) for name, t in times.items()}


def keep_freed_memory():
    """Ask glibc's malloc to keep freed memory for reuse instead of returning it to the
    system, for every library of this process alike.

    By default glibc hands large freed blocks back to the kernel, so the next call's
    arrays of the same size are fresh pages, and the first write to each 4 KiB page
    costs a page fault (about 4000 per LSTM forward+backward at S1). Raising the mmap
    threshold to its maximum (32 MiB) and the trim threshold to 1 GiB keeps the pages.
    The environment variables ``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_``
    do the same for any program."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    m_trim_threshold, m_mmap_threshold = -1, -3
    if not (libc.mallopt(m_mmap_threshold, 32 * 2 ** 20)
            and libc.mallopt(m_trim_threshold, 2 ** 30)):
        raise OSError("mallopt failed: --keep-freed-memory needs glibc")


def blas_config():
    """NumPy's BLAS (from threadpoolctl): library, version, threads, architecture."""
    infos = threadpoolctl.threadpool_info()
    blas = [i for i in infos if i["user_api"] == "blas"]
    numpy_blas = next((i for i in blas if "numpy" in i["filepath"]), blas[0] if blas else {})
    return numpy_blas, infos


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt_ms(ts):
    return f"{1e3 * statistics.median(ts):8.2f} [{1e3 * min(ts):.2f}-{1e3 * max(ts):.2f}]"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="3 repeats of at least 20 ms each (for development)")
    parser.add_argument("--repeats", type=int, help="repetitions per row (default 11, quick 3)")
    parser.add_argument("--min-time", type=float,
                        help="seconds per timed loop (default 0.1, quick 0.02)")
    parser.add_argument("--models", default="rnn,lstm,gru")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--shapes", default="S0,S1,S2")
    parser.add_argument("--keep-freed-memory", action="store_true",
                        help="tell glibc's malloc to keep freed memory (see keep_freed_memory)")
    parser.add_argument("--json", help="also write all results to this file")
    args = parser.parse_args(argv)
    if args.keep_freed_memory:
        keep_freed_memory()
    repeats = args.repeats or (3 if args.quick else 11)
    min_time = args.min_time or (0.02 if args.quick else 0.1)
    warmup = 1 if args.quick else 3
    models, dtypes, shapes = (s.split(",") for s in (args.models, args.dtypes, args.shapes))
    for name, chosen, known in (("models", models, GATES), ("dtypes", dtypes, DTYPES),
                                ("shapes", shapes, SHAPES)):
        unknown = set(chosen) - set(known)
        if unknown:
            parser.error(f"unknown {name} {sorted(unknown)}; choose from {sorted(known)}")

    numpy_blas, pools = blas_config()
    threads = numpy_blas.get("num_threads", 1)
    torch.set_num_threads(threads)
    print(f"CPU: {cpu_name()}; Python {platform.python_version()}, NumPy {np.__version__}, "
          f"torch {torch.__version__}")
    print(f"NumPy BLAS: {numpy_blas.get('internal_api')} {numpy_blas.get('version')} "
          f"({numpy_blas.get('architecture')}), {threads} thread(s); "
          f"torch: {torch.get_num_threads()} thread(s)")
    for info in pools:
        print(f"  threadpool {info['user_api']}/{info['internal_api']} "
              f"{info.get('version')}: {info['num_threads']} thread(s), {info['filepath']}")
    print(f"{repeats} repetitions, loops of >= {1e3 * min_time:.0f} ms, {warmup} warm-up run(s); "
          f"allocator: {'glibc keeping freed memory' if args.keep_freed_memory else 'default'}")

    rates = {d: matmul_rate(DTYPES[d][0], repeats, min_time) for d in dtypes}
    for d, rate in rates.items():
        print(f"np.matmul 1024^3 {d}: {rate:.1f} GFLOP/s")

    header = (f"{'model':5} {'dtype':7} {'shape':5} {'pass':7} | {'rnnlib ms [min-max]':>24} | "
              f"{'torch ms [min-max]':>24} | {'ratio':>5} | {'GF/s (%mm)':>12} | "
              f"{'floor/torch':>11} | {'vs unfused':>10} | {'faults/call':>12}")
    print("\n" + header + "\n" + "-" * len(header))
    rows = []
    for model in models:
        for d in dtypes:
            for s in shapes:
                N, T, D, H = SHAPES[s]
                fns, _, _ = make_case(model, d, SHAPES[s])
                floors = gemm_floor(model, d, SHAPES[s])
                for pass_name, by_name in fns.items():
                    t = interleaved(dict(by_name, floor=floors[pass_name]),
                                    repeats, warmup, min_time)
                    flops = matmul_flops(N, T, D, H, GATES[model], pass_name == "fwd+bwd")
                    med = {k: statistics.median(v) for k, v in t.items()}
                    gf = {k: flops / v / 1e9 for k, v in med.items()}
                    unfused = med.get("torch-unfused")
                    row = dict(model=model, dtype=d, shape=s, N=N, T=T, D=D, H=H,
                               pass_=pass_name, flops=flops, ratio=med["rnnlib"] / med["torch"],
                               floor_ratio=med["floor"] / med["torch"],
                               ratio_unfused=unfused and med["rnnlib"] / unfused,
                               times_s=t, median_s=med, gflops=gf,
                               percent_matmul={k: 100 * v / rates[d] for k, v in gf.items()})
                    row["page_faults_per_call"] = {
                        k: page_faults_per_call(by_name[k]) for k in ("rnnlib", "torch")}
                    rows.append(row)
                    pct = row["percent_matmul"]
                    faults = "{rnnlib:.0f}/{torch:.0f}".format(**row["page_faults_per_call"])
                    vs_unfused = "-" if unfused is None else f"{row['ratio_unfused']:.2f}"
                    print(f"{model:5} {d:7} {s:5} {pass_name:7} | {fmt_ms(t['rnnlib']):>24} | "
                          f"{fmt_ms(t['torch']):>24} | {row['ratio']:5.2f} | "
                          f"{gf['rnnlib']:5.1f} ({pct['rnnlib']:3.0f}%) | "
                          f"{row['floor_ratio']:11.2f} | {vs_unfused:>10} | {faults:>12}",
                          flush=True)

    print("\nOne recurrent product of a step, (N, H) x (H, G H), median us: NumPy's BLAS"
          " vs torch.mm, batch-major h W | feature-major W^T h^T")
    products = {}
    for d in dtypes:
        for s in shapes:
            for G in sorted({GATES[m] for m in models}):
                p = step_products(d, SHAPES[s], G, repeats, min_time)
                products[f"{d}/{s}/G={G}"] = p
                print(f"  {d:7} {s} G={G}: numpy {1e6 * p['numpy hW']:7.1f}  torch "
                      f"{1e6 * p['torch hW']:7.1f} | numpy {1e6 * p['numpy WTh']:7.1f}  "
                      f"torch {1e6 * p['torch WTh']:7.1f}", flush=True)

    print("\nMemory of rnnlib's BPTT cache at S2 (parameters excluded):")
    memory = {}
    for model in models:
        for d in dtypes:
            _, cache, params = make_case(model, d, SHAPES["S2"])
            nbytes = cache_nbytes(cache(), params)
            memory[f"{model}/{d}"] = nbytes
            print(f"  {model:5} {d:7}: {nbytes / 2 ** 20:7.2f} MiB")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    print(f"Peak resident memory of this process: {peak / 2 ** 20:.0f} MiB")

    esn = esn_timing(repeats, min_time)
    if esn is None:
        print("\nESN reservoir: rnnlib.esn is not available")
    else:
        print(f"\nESN reservoir, 1000 units x 2000 steps (float64): state collection "
              f"{1e3 * esn['states']:.1f} ms, ridge fit {1e3 * esn['ridge']:.1f} ms")

    if args.json:
        with open(args.json, "w") as f:
            json.dump(dict(cpu=cpu_name(), numpy=np.__version__, torch=torch.__version__,
                           blas=numpy_blas, threads=dict(numpy_blas=threads,
                                                         torch=torch.get_num_threads()),
                           repeats=repeats, min_time_s=min_time,
                           keep_freed_memory=args.keep_freed_memory, matmul_gflops=rates,
                           rows=rows, step_products_s=products, cache_bytes_S2=memory, peak_rss_bytes=peak, esn_s=esn),
                      f, indent=1)
        print(f"Results written to {args.json}")


if __name__ == "__main__":
    main()
