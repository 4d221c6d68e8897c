"""Every cell of the registry (rnnlib.cells.CELLS), tested from its entry alone: a new
cell with an entry gets these tests without a line here.

References: finite differences for every gradient (the state's included), torch.nn for
outputs, final states and gradients (with the gradient on the final state), and the
cell's own step functions for its sequence functions."""
import numpy as np
import pytest
import torch

from rnnlib.cells import CELLS, get_cell
from rnnlib.gradcheck import numerical_gradient, rel_error
from rnnlib.interop import params_from_torch
from rnnlib.layers import Sequential, recurrent_layer_classes
from rnnlib.models import SequenceModel

# (cell name, options): every cell with every value of every option
VARIANTS = [(name, {k: v}) for name, cell in CELLS.items() for k, vals in cell.options.items()
            for v in vals] + [(name, {}) for name, cell in CELLS.items() if not cell.options]
IDS = [f"{n}-{'-'.join(map(str, o.values())) or 'default'}" for n, o in VARIANTS]


def setup(name, N=3, T=5, D=2, H=4, seed=0):
    cell = CELLS[name]
    rng = np.random.default_rng(seed)
    params = cell.init(D, H, rng)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    x = rng.standard_normal((N, T, D))
    state = tuple(0.5 * rng.standard_normal((N, H)) for _ in cell.state)
    return cell, params, x, state, rng


def scalar_loss(cell, params, x, state, w_h, w_final, options):
    h, final, _ = cell.run(x, state, params, **options)
    return float(np.sum(h * w_h) + sum(np.sum(f * w) for f, w in zip(final, w_final)))


def test_registry_entries_are_complete_and_consistent():
    classes = recurrent_layer_classes()
    for name, cell in CELLS.items():
        assert cell is get_cell(name) and cell.name == name
        shapes = cell.shapes(3, 5)
        assert tuple(shapes) == cell.params
        assert shapes["Wx"] == (3, cell.n_gates * 5) and shapes["Wh"] == (5, cell.n_gates * 5)
        params = cell.init(3, 5, np.random.default_rng(0))
        assert {k: v.shape for k, v in params.items()} == shapes
        assert sorted(cell.torch_gate_order) == list(range(cell.n_gates))
        assert hasattr(torch.nn, cell.torch_module)
        assert classes[name].cell_name == name
    with pytest.raises(ValueError, match=r"cell must be one of \['gru', 'lstm', 'rnn'\]"):
        get_cell("transformer")


@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_run_backward_matches_finite_differences_including_the_state(name, options):
    cell, params, x, state, rng = setup(name)
    w_h = rng.standard_normal((3, 5, 4))
    w_final = tuple(rng.standard_normal((3, 4)) for _ in cell.state)
    h, final, cache = cell.run(x, state, params, **options)
    dx, dstate0, grads = cell.run_backward(w_h, cache, w_final)
    f = lambda _: scalar_loss(cell, params, x, state, w_h, w_final, options)  # noqa: E731
    for k, p in params.items():
        assert rel_error(grads[k], numerical_gradient(f, p)) < 1e-7, k
    assert rel_error(dx, numerical_gradient(f, x)) < 1e-7
    for s, ds in zip(state, dstate0):
        assert rel_error(ds, numerical_gradient(f, s)) < 1e-7


@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_sequence_functions_equal_the_step_functions(name, options):
    cell, params, x, state, rng = setup(name, T=6)
    h, final, cache = cell.run(x, state, params, **options)
    s, caches = state, []
    for t in range(x.shape[1]):
        s, c = cell.step(x[:, t], s, params, **options)
        np.testing.assert_allclose(s[0], h[:, t], rtol=1e-12, atol=1e-13)
        caches.append(c)
    for a, b in zip(s, final):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    dh = rng.standard_normal(h.shape)
    dx, dstate0, grads = cell.run_backward(dh, cache)
    ds = tuple(np.zeros_like(a) for a in state)
    total = {k: 0 for k in params}
    for t in range(x.shape[1] - 1, -1, -1):
        ds = (ds[0] + dh[:, t],) + ds[1:]
        dx_t, ds, g = cell.step_back(ds, caches[t])
        np.testing.assert_allclose(dx_t, dx[:, t], rtol=1e-10, atol=1e-12)
        total = {k: total[k] + g[k] for k in params}
    for k in params:
        np.testing.assert_allclose(total[k], grads[k], rtol=1e-10, atol=1e-12)
    for a, b in zip(ds, dstate0):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_run_matches_torch_outputs_final_state_and_gradients(name, options):
    cell = CELLS[name]
    N, T, D, H = 3, 6, 2, 4
    torch.manual_seed(0)
    module = getattr(torch.nn, cell.torch_module)(D, H, batch_first=True, dtype=torch.float64,
                                                  **cell.torch_options(**options))
    params = params_from_torch(module)
    rng = np.random.default_rng(1)
    x, dh = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    state = tuple(rng.standard_normal((N, H)) for _ in cell.state)
    dfinal = tuple(rng.standard_normal((N, H)) for _ in cell.state)
    xt = torch.tensor(x, requires_grad=True)
    st = [torch.tensor(s[None], requires_grad=True) for s in state]
    out, fin = module(xt, st[0] if len(st) == 1 else tuple(st))
    fin = (fin,) if len(st) == 1 else fin
    loss = (out * torch.tensor(dh)).sum() + sum((f[0] * torch.tensor(d)).sum()
                                                for f, d in zip(fin, dfinal))
    loss.backward()
    h, final, cache = cell.run(x, state, params, **options)
    dx, dstate0, grads = cell.run_backward(dh, cache, dfinal)
    np.testing.assert_allclose(h, out.detach().numpy(), atol=1e-10)
    for a, b in zip(final, fin):
        np.testing.assert_allclose(a, b.detach().numpy()[0], atol=1e-10)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-10)
    for a, b in zip(dstate0, st):
        np.testing.assert_allclose(a, b.grad.numpy()[0], atol=1e-10)
    torch_grads = {k: getattr(module, f"{k}_l0").grad.numpy()
                   for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    from rnnlib.interop import weights_from_torch
    mapped = weights_from_torch(name, torch_grads["weight_ih"], torch_grads["weight_hh"],
                                torch_grads["bias_ih"], torch_grads["bias_hh"])
    # b stands for bias_ih (+ bias_hh where they simply add): its gradient is bias_ih's
    # (mapped["b"] sums both torch gradients, so it is not the reference for b)
    from rnnlib.interop import reorder_gates
    np.testing.assert_allclose(grads["b"], reorder_gates(torch_grads["bias_ih"], name), atol=1e-10)
    for k in cell.params:
        if k != "b":
            np.testing.assert_allclose(grads[k], mapped[k], atol=1e-10)


@pytest.mark.parametrize("name, options", VARIANTS, ids=IDS)
def test_a_stateful_layer_over_windows_equals_one_pass_and_initial_state_gradient(name, options):
    cls = recurrent_layer_classes()[name]
    x = np.random.default_rng(2).standard_normal((2, 9, 3))
    whole = cls(4, return_sequences=True, seed=0, **options)
    out_whole = whole.forward(x)
    windows = cls(4, return_sequences=True, stateful=True, seed=0, **options)
    parts = [windows.forward(x[:, a:b]) for a, b in ((0, 4), (4, 7), (7, 9))]
    np.testing.assert_allclose(np.concatenate(parts, axis=1), out_whole, atol=1e-12)
    for a, b in zip(windows.state, whole.state):
        np.testing.assert_allclose(a, b, atol=1e-12)
    windows.reset_states()
    np.testing.assert_allclose(windows.forward(x[:, :4]), out_whole[:, :4], atol=1e-12)
    # return_state and the gradient of the initial state, by finite differences
    layer = cls(4, return_sequences=False, return_state=True, seed=0, **options)
    rng = np.random.default_rng(3)
    s0 = tuple(0.3 * rng.standard_normal((2, 4)) for _ in layer.cell.state)
    w, ws = rng.standard_normal((2, 4)), tuple(rng.standard_normal((2, 4)) for _ in s0)
    out, state = layer.forward(x, initial_state=s0)
    layer.backward(w, ws)
    ds0 = layer.dinitial_state

    def f(_):
        o, s = layer.forward(x, initial_state=s0)
        return float(np.sum(o * w) + sum(np.sum(a * b) for a, b in zip(s, ws)))
    for s, d in zip(s0, ds0):
        assert rel_error(d, numerical_gradient(f, s)) < 1e-7


@pytest.mark.parametrize("name", list(CELLS))
def test_masked_final_state_is_the_state_at_the_last_valid_step(name):
    cls = recurrent_layer_classes()[name]
    x = np.random.default_rng(4).standard_normal((3, 6, 2))
    mask = np.arange(6) < np.array([6, 3, 1])[:, None]
    layer = cls(5, return_state=True, seed=0)
    _, state = layer.forward(x, mask)
    for n, L in enumerate((6, 3, 1)):
        ref = cls(5, return_state=True, seed=0)
        _, s = ref.forward(x[n:n + 1, :L])
        for a, b in zip(state, s):
            np.testing.assert_allclose(a[n:n + 1], b, atol=1e-12)


def test_stateful_layer_refuses_a_batch_of_another_size():
    cls = recurrent_layer_classes()["lstm"]
    layer = cls(3, stateful=True, seed=0)
    layer.forward(np.zeros((2, 4, 1)))
    with pytest.raises(ValueError, match="carries the state of 2 sequences but got a batch of 5"):
        layer.forward(np.zeros((5, 4, 1)))
    with pytest.raises(ValueError, match="return_state=True"):
        Sequential([cls(3, return_state=True)])


@pytest.mark.parametrize("name", list(CELLS))
def test_sequence_model_trains_every_cell_by_its_registry_entry(name):
    from rnnlib.gradcheck import numerical_gradient as ng
    rng = np.random.default_rng(5)
    model = SequenceModel(name, 2, 3, 2, "mse", rng)
    x, y = rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 4, 2))
    mask = np.ones((2, 4), dtype=bool)
    _, grads, _, _ = model.loss_and_grads(model.params, x, y, mask)
    for k, p in model.params.items():
        num = ng(lambda _: model.loss_and_grads(model.params, x, y, mask)[0], p)
        assert rel_error(grads[k], num) < 1e-7, k


def test_bidirectional_takes_an_initial_state_per_direction():
    from rnnlib.layers import GRU, Bidirectional
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3))
    sf, sb = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    bi = Bidirectional(GRU(4, return_sequences=True), seed=0)
    out = bi.forward(x, initial_state=((sf,), (sb,)))
    ref_f = bi.forward_layer.forward(x, initial_state=(sf,))
    ref_b = bi.backward_layer.forward(x[:, ::-1], initial_state=(sb,))[:, ::-1]
    np.testing.assert_allclose(out, np.concatenate([ref_f, ref_b], axis=-1), atol=1e-12)
    with pytest.raises(ValueError, match="pair"):
        bi.forward(x, initial_state=(sf,))
