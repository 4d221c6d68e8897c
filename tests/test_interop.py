"""Whole-model conversion between rnnlib.layers and torch.nn.RNN/LSTM/GRU (stacked and
bidirectional): equal outputs and gradients to 1e-10 in float64, masks against torch's
packed sequences, round trips, errors, and torch staying optional at import time."""
import subprocess
import sys

import numpy as np
import pytest
import torch

from rnnlib.interop import model_from_torch, model_to_torch, params_from_torch, weights_from_torch
from rnnlib.layers import GRU, LSTM, Bidirectional, Dense, Sequential, SimpleRNN

TOL = 1e-10
N, T, D, H = 3, 6, 4, 5
MODULES = [(torch.nn.RNN, "rnn", {"nonlinearity": "tanh"}),
           (torch.nn.RNN, "rnn", {"nonlinearity": "relu"}),
           (torch.nn.LSTM, "lstm", {}), (torch.nn.GRU, "gru", {})]
MODULE_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


def make_module(cls, num_layers, bidirectional, seed=0, **kw):
    torch.manual_seed(seed)
    return cls(D, H, num_layers=num_layers, bidirectional=bidirectional, batch_first=True,
               dtype=torch.float64, **kw)


def torch_grads(module, kind, layer, reverse):
    """Gradients of one layer/direction of a torch module in rnnlib's layout. The summed
    bias b gets the gradient of bias_ih; the GRU's bhn that of the n block of bias_hh."""
    sfx = f"_l{layer}" + ("_reverse" if reverse else "")
    g = lambda name: getattr(module, name + sfx).grad.numpy()
    grads = weights_from_torch(kind, g("weight_ih"), g("weight_hh"), g("bias_ih"),
                               np.zeros_like(g("bias_hh")))
    if kind == "gru":
        grads["bhn"] = g("bias_hh")[2 * H:]
    return grads


def assert_close(ours, theirs, what):
    err = np.max(np.abs(ours - theirs))
    assert err < TOL, f"{what}: max abs difference {err:.2e} >= {TOL:.0e}"


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cls,kind,kw", MODULES, ids=MODULE_IDS)
def test_model_from_torch_matches_outputs_and_gradients(cls, kind, kw, num_layers,
                                                        bidirectional):
    module = make_module(cls, num_layers, bidirectional, **kw)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((N, T, D))
    xt = torch.tensor(x, requires_grad=True)
    out_t = module(xt)[0]
    dout = rng.standard_normal(tuple(out_t.shape))
    (out_t * torch.tensor(dout)).sum().backward()

    model = model_from_torch(module)
    assert len(model.layers) == num_layers
    out = model.forward(x)
    dx = model.backward(dout)
    assert_close(out, out_t.detach().numpy(), "output")
    assert_close(dx, xt.grad.numpy(), "dx")
    for i, layer in enumerate(model.layers):
        directions = ([("forward", layer.forward_layer, False),
                       ("backward", layer.backward_layer, True)]
                      if bidirectional else [("", layer, False)])
        for name, cell, reverse in directions:
            theirs = torch_grads(module, kind, i, reverse)
            assert sorted(cell.grads) == sorted(theirs)
            for k in theirs:
                assert_close(cell.grads[k], theirs[k], f"layer {i} {name} d{k}")


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("make_layer", [lambda: SimpleRNN(H, "relu", return_sequences=True),
                                        lambda: LSTM(H, return_sequences=True),
                                        lambda: GRU(H, return_sequences=True)],
                         ids=["rnn-relu", "lstm", "gru"])
def test_model_to_torch_matches_outputs_and_round_trips(make_layer, bidirectional):
    wrap = (lambda layer: Bidirectional(layer)) if bidirectional else (lambda layer: layer)
    model = Sequential([wrap(make_layer()), wrap(make_layer())], seed=2)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((N, T, D))
    model.forward(x)
    for p in model.params.values():                 # non-trivial biases too
        p += 0.1 * rng.standard_normal(p.shape)
    module = model_to_torch(model)
    assert module.num_layers == 2 and module.bidirectional == bidirectional
    assert module.weight_hh_l0.dtype == torch.float64
    with torch.no_grad():
        out_t = module(torch.tensor(x))[0].numpy()
    assert_close(model.forward(x), out_t, "output")
    back = model_from_torch(module)
    assert sorted(back.params) == sorted(model.params)
    for k, v in model.params.items():
        assert_close(back.params[k], v, k)


def test_single_layer_to_torch_and_last_state(rng):
    layer = GRU(H, seed=0)
    x = rng.standard_normal((N, T, D))
    last = layer.forward(x)
    module = model_to_torch(layer)
    with torch.no_grad():
        out, h_n = module(torch.tensor(x))
    assert_close(last, out[:, -1].numpy(), "last state vs output")
    assert_close(last, h_n[0].numpy(), "last state vs h_n")


@pytest.mark.parametrize("cls,kind,kw", MODULES, ids=MODULE_IDS)
def test_masked_bidirectional_layer_matches_packed_sequences(cls, kind, kw):
    """Padding in rnnlib's mask = variable lengths in torch's PackedSequence: equal states
    at every valid step, and the final states h_n of both directions."""
    module = make_module(cls, 1, True, seed=4, **kw)
    rng = np.random.default_rng(5)
    lengths = np.array([6, 3, 1])
    x = rng.standard_normal((N, T, D))
    mask = np.arange(T) < lengths[:, None]
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        torch.tensor(x), torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        out_p, state = module(packed)
    out_t = torch.nn.utils.rnn.pad_packed_sequence(out_p, batch_first=True, total_length=T)[0]
    h_n = (state[0] if kind == "lstm" else state).numpy()
    seq = model_from_torch(module).layers[0]
    out = seq.forward(x, mask)
    assert_close(out[mask], out_t.numpy()[mask], "valid steps")
    last = Bidirectional(type(seq.forward_layer)(H, **({"activation": kw["nonlinearity"]}
                                                        if kw else {})), seed=0)
    last.build((None, None, D))
    for k, v in seq.params.items():
        last.params[k][...] = v
    assert_close(last.forward(x, mask), np.concatenate([h_n[0], h_n[1]], axis=1), "h_n")


def test_float32_and_bias_free_modules_convert():
    torch.manual_seed(0)
    module = torch.nn.LSTM(D, H, num_layers=2, batch_first=True, bias=False)
    model = model_from_torch(module)
    assert model.dtype == np.float32
    np.testing.assert_array_equal(model.params["0.b"], np.zeros(4 * H, np.float32))
    x = np.random.default_rng(0).standard_normal((N, T, D)).astype(np.float32)
    with torch.no_grad():
        out_t = module(torch.tensor(x))[0].numpy()
    np.testing.assert_allclose(model.forward(x), out_t, rtol=0, atol=1e-5)
    assert model_to_torch(model).weight_ih_l1.dtype == torch.float32


def test_converted_layers_equal_the_single_layer_functions():
    module = make_module(torch.nn.GRU, 2, True, seed=6)
    model = model_from_torch(module)
    for k, v in params_from_torch(module, 1, reverse=True).items():
        np.testing.assert_array_equal(model.params[f"1.backward.{k}"], v)


def test_models_without_a_torch_counterpart_are_rejected(rng):
    x = rng.standard_normal((2, 3, D))
    cases = [
        (Sequential([GRU(H, return_sequences=True), Dense(2)]), r"layer 1 \(Dense\) has no place"),
        (Sequential([GRU(H, return_sequences=True), LSTM(H, return_sequences=True)]),
         "one kind, size, direction and activation"),
        (Sequential([GRU(H, return_sequences=True), GRU(3, return_sequences=True)]),
         "one kind, size"),
        (Sequential([SimpleRNN(H, return_sequences=True),
                     SimpleRNN(H, "relu", return_sequences=True)]), "activation"),
        (Sequential([Bidirectional(GRU(H, return_sequences=True), merge="sum")]),
         "concatenate the two directions; got merge='sum'"),
    ]
    for model, msg in cases:
        model.build((None, None, D))
        model.forward(x)
        with pytest.raises(ValueError, match=msg):
            model_to_torch(model)
    with pytest.raises(ValueError, match="is not built"):
        model_to_torch(Sequential([GRU(H)]))
    with pytest.raises(ValueError, match="proj_size"):
        model_from_torch(torch.nn.LSTM(D, H, proj_size=2))
    with pytest.raises(ValueError, match="torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU; got Linear"):
        model_from_torch(torch.nn.Linear(D, H))


def test_torch_is_optional_at_import_time():
    code = ("import sys, rnnlib, rnnlib.interop, rnnlib.layers, rnnlib.io; "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
