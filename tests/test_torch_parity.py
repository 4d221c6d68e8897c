"""Outputs and every gradient of rnnlib's sequence functions against torch.nn modules with
the same weights, in float64 (tolerance 1e-10)."""
import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.interop import params_from_torch

TOL = 1e-10
SHAPES = [(1, 1, 3, 4), (4, 7, 5, 3), (3, 12, 2, 8)]  # (N, T, D, H)


def run_torch(module, x, h0, dh, c0=None):
    """Forward with batch_first inputs, backward of sum(h * dh); return numpy results."""
    xt = torch.tensor(x, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)
    state = h0t if c0 is None else (h0t, torch.tensor(c0[None]))
    out, _ = module(xt, state)
    (out * torch.tensor(dh)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), h0t.grad.numpy()[0]


def grads_from_torch(module, kind):
    """The parameter gradients of a torch module, mapped to rnnlib's layout."""
    grad = lambda name: getattr(module, name).grad.numpy()
    return rnnlib.interop.weights_from_torch(
        kind, grad("weight_ih_l0"), grad("weight_hh_l0"), grad("bias_ih_l0"), grad("bias_hh_l0"))


def make(module_cls, D, H, seed, **kw):
    torch.manual_seed(seed)
    return module_cls(D, H, batch_first=True, dtype=torch.float64, **kw)


def inputs(seed, N, T, D, H):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, T, H))


def assert_close(ours, theirs, what):
    err = np.max(np.abs(ours - theirs))
    assert err < TOL, f"{what}: max abs difference {err:.2e} >= {TOL:.0e}"


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_rnn_matches_torch_rnn(N, T, D, H, activation):
    module = make(torch.nn.RNN, D, H, 0, nonlinearity=activation)
    x, h0, dh = inputs(1, N, T, D, H)
    out, dx_t, dh0_t = run_torch(module, x, h0, dh)
    p = params_from_torch(module)
    h, cache = rnnlib.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"], activation)
    dx, dh0, dWx, dWh, db = rnnlib.rnn_backward(dh, cache)
    g = grads_from_torch(module, "rnn")
    assert_close(h, out, "h")
    assert_close(dx, dx_t, "dx")
    assert_close(dh0, dh0_t, "dh0")
    assert_close(dWx, g["Wx"], "dWx")
    assert_close(dWh, g["Wh"], "dWh")
    # torch has two biases that receive the same gradient; rnnlib's b is their sum
    assert_close(db, module.bias_ih_l0.grad.numpy(), "db vs bias_ih")
    assert_close(db, module.bias_hh_l0.grad.numpy(), "db vs bias_hh")


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_lstm_matches_torch_lstm(N, T, D, H):
    module = make(torch.nn.LSTM, D, H, 2)
    x, h0, dh = inputs(3, N, T, D, H)
    c0 = np.random.default_rng(4).standard_normal((N, H))
    out, dx_t, dh0_t = run_torch(module, x, h0, dh, c0)
    p = params_from_torch(module)
    h, cache = rnnlib.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"], c0=c0)
    dx, dh0, dWx, dWh, db = rnnlib.lstm_backward(dh, cache)
    g = grads_from_torch(module, "lstm")
    assert_close(h, out, "h")
    assert_close(dx, dx_t, "dx")
    assert_close(dh0, dh0_t, "dh0")
    assert_close(dWx, g["Wx"], "dWx")
    assert_close(dWh, g["Wh"], "dWh")
    assert_close(db, rnnlib.interop.reorder_gates(module.bias_ih_l0.grad.numpy(), "lstm"), "db")


@pytest.mark.parametrize("N,T,D,H", SHAPES)
def test_gru_matches_torch_gru(N, T, D, H):
    module = make(torch.nn.GRU, D, H, 5)
    x, h0, dh = inputs(6, N, T, D, H)
    out, dx_t, dh0_t = run_torch(module, x, h0, dh)
    p = params_from_torch(module)
    h, cache = rnnlib.gru_forward(x, h0, p["Wx"], p["Wh"], p["b"], p["bhn"])
    dx, dh0, dWx, dWh, db, dbhn = rnnlib.gru_backward(dh, cache)
    assert_close(h, out, "h")
    assert_close(dx, dx_t, "dx")
    assert_close(dh0, dh0_t, "dh0")
    assert_close(dWx, module.weight_ih_l0.grad.numpy().T, "dWx")
    assert_close(dWh, module.weight_hh_l0.grad.numpy().T, "dWh")
    assert_close(db, module.bias_ih_l0.grad.numpy(), "db vs bias_ih")
    assert_close(dbhn, module.bias_hh_l0.grad.numpy()[2 * H:], "dbhn vs bias_hh (n block)")
    assert_close(db[:2 * H], module.bias_hh_l0.grad.numpy()[:2 * H], "db vs bias_hh (r, z)")


def test_lstm_without_c0_matches_torch_with_zero_cell_state():
    N, T, D, H = 2, 5, 3, 4
    module = make(torch.nn.LSTM, D, H, 7)
    x, h0, dh = inputs(8, N, T, D, H)
    out, _, _ = run_torch(module, x, h0, dh, np.zeros((N, H)))
    p = params_from_torch(module)
    h, _ = rnnlib.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])
    assert_close(h, out, "h")


@pytest.mark.parametrize("cls,kind", [(torch.nn.RNN, "rnn"), (torch.nn.LSTM, "lstm"),
                                      (torch.nn.GRU, "gru")])
def test_params_round_trip_through_torch_module(cls, kind):
    rng = np.random.default_rng(9)
    D, H = 3, 5
    G = rnnlib.cells.CELLS[kind].n_gates
    params = {"Wx": rng.standard_normal((D, G * H)), "Wh": rng.standard_normal((H, G * H)),
              "b": rng.standard_normal(G * H)}
    if kind == "gru":
        params["bhn"] = rng.standard_normal(H)
    module = make(cls, D, H, 0)
    rnnlib.interop.params_to_torch(params, module)
    back = params_from_torch(module)
    assert sorted(back) == sorted(params)
    for k in params:
        assert_close(back[k], params[k], k)


def test_optimizers_match_torch_optim():
    """SGD with Nesterov momentum and Adam take the same steps as torch.optim."""
    rng = np.random.default_rng(10)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    for ours, theirs in ((rnnlib.SGD(0.1, momentum=0.9, nesterov=True),
                          lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)),
                         (rnnlib.SGD(0.1, momentum=0.9),
                          lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
                         (rnnlib.Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01))):
        params = {"w": w0.copy()}
        wt = torch.tensor(w0, requires_grad=True)
        opt = theirs([wt])
        for g in grads:
            ours.step(params, {"w": g.copy()})
            wt.grad = torch.tensor(g)
            opt.step()
        assert_close(params["w"], wt.detach().numpy(), type(ours).__name__)


def run_rnnlib(kind, p, x, h0, dh):
    """rnnlib's forward and backward with torch-converted parameters ``p``:
    (h, dx, dh0, dWx, dWh, db), all in the dtype of ``x``."""
    dtype = x.dtype
    p = {k: v.astype(dtype) for k, v in p.items()}
    args = (x, h0.astype(dtype), p["Wx"], p["Wh"], p["b"]) + ((p["bhn"],) if kind == "gru" else ())
    h, cache = getattr(rnnlib, f"{kind}_forward")(*args)
    return (h,) + getattr(rnnlib, f"{kind}_backward")(dh.astype(dtype), cache)[:5]


TORCH_CLASSES = [(torch.nn.RNN, "rnn"), (torch.nn.LSTM, "lstm"), (torch.nn.GRU, "gru")]
RESULTS = ("h", "dx", "dh0", "dWx", "dWh", "db")


def torch_reference(module, kind, x, h0, dh):
    """torch's float64 results in rnnlib's layout: (h, dx, dh0, dWx, dWh, db)."""
    out, dx, dh0 = run_torch(module, x, h0, dh, np.zeros_like(h0) if kind == "lstm" else None)
    g = grads_from_torch(module, kind)
    # rnnlib's b stands for bias_ih (plus bias_hh where it simply adds): the gradient of
    # bias_ih is the gradient of b
    db = rnnlib.interop.reorder_gates(module.bias_ih_l0.grad.numpy(), kind)
    return out, dx, dh0, g["Wx"], g["Wh"], db


@pytest.mark.parametrize("cls,kind", TORCH_CLASSES)
def test_float32_sequence_functions_match_torch_float64(cls, kind):
    """The float32 fast path (exp for the gates, feature-major buffers) is as accurate as
    float32 allows: every result within 1e-5 of torch's float64 ones, relative to the
    largest entry, at the size of the book's experiments."""
    N, T, D, H = 16, 40, 3, 32
    module = make(cls, D, H, 11)
    x, h0, dh = inputs(12, N, T, D, H)
    reference = torch_reference(module, kind, x, h0, dh)
    ours = run_rnnlib(kind, params_from_torch(module), x.astype(np.float32), h0, dh)
    for name, a, r in zip(RESULTS, ours, reference):
        assert a.dtype == np.float32, name
        err = np.max(np.abs(a - r)) / np.max(np.abs(r))
        assert err < 1e-5, f"{kind} {name}: relative difference {err:.1e} from torch float64"


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls,kind", [c for c in TORCH_CLASSES if c[1] != "rnn"])
def test_saturated_gates_match_torch(cls, kind, dtype):
    """Pre-activations of several hundred (beyond where exp overflows in float32, and
    near it in float64) give the exact limits 0, 1 and -1 of the gates, no warning (the
    test suite turns RuntimeWarnings into errors) and torch's results."""
    N, T, D, H = 4, 6, 3, 5
    module = make(cls, D, H, 13)
    with torch.no_grad():
        for w in module.parameters():
            w.mul_(300)
    x, h0, dh = inputs(14, N, T, D, H)
    reference = torch_reference(module, kind, x, h0, dh)
    ours = run_rnnlib(kind, params_from_torch(module), x.astype(dtype), h0, dh)
    tol = 1e-10 if dtype == np.float64 else 1e-4   # float32 rounds inputs of 300 by 2e-5
    for name, a, r in zip(RESULTS, ours, reference):
        assert np.all(np.isfinite(a)), name
        err = np.max(np.abs(a - r)) / max(np.max(np.abs(r)), 1)
        assert err < tol, f"{kind} {name}: difference {err:.1e} from torch float64"
