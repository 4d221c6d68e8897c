"""Tests of rnnlib.esn against independent references: the core RNN, lstsq, eigvals."""
import numpy as np
import pytest

import rnnlib
from rnnlib.esn import (EchoStateNetwork, echo_state_property, fit_ridge_on_validation,
                        free_run_nrmse, init_reservoir, reservoir_states, ridge_path,
                        ridge_readout, spectral_radius_estimate)
from rnnlib.signals import sine, sum_of_sines


def small_reservoir(D=2, H=30, seed=0, **kwargs):
    kwargs = dict(dict(spectral_radius=0.9, sparsity=0.5, bias_scaling=0.3), **kwargs)
    return init_reservoir(D, H, rng=np.random.default_rng(seed), **kwargs)


def nrmse(pred, target):
    return np.sqrt(np.mean((pred - target) ** 2)) / np.std(target)


# ---------------------------------------------------------------- reservoir states

def test_reservoir_states_with_leak_one_is_the_tanh_rnn():
    rng = np.random.default_rng(1)
    W_uh, W_hh, b = small_reservoir()
    u = rng.standard_normal((3, 25, 2))
    h0 = rng.uniform(-1, 1, (3, 30))
    ref, _ = rnnlib.rnn_forward(u, h0, W_uh, W_hh, b)
    np.testing.assert_allclose(reservoir_states(u, W_uh, W_hh, b, 1.0, h0), ref, atol=1e-13)
    np.testing.assert_allclose(reservoir_states(u[0], W_uh, W_hh, b, 1.0, h0[0]), ref[0],
                               atol=1e-13)


def test_sparse_reservoir_states_match_the_dense_tanh_rnn():
    # sparsity 0.99: W_hh is multiplied by its columns of nonzeros, not as a dense matrix
    rng = np.random.default_rng(4)
    W_uh, W_hh, b = small_reservoir(D=1, H=400, sparsity=0.99)
    assert (W_hh != 0).sum(axis=0).max() <= 40              # so the sparse path is taken
    u = rng.standard_normal((2, 60, 1))
    h0 = rng.uniform(-1, 1, (2, 400))
    ref, _ = rnnlib.rnn_forward(u, h0, W_uh, W_hh, b)
    np.testing.assert_allclose(reservoir_states(u, W_uh, W_hh, b, 1.0, h0), ref, atol=1e-13)
    # and a generated run equals predict on its own outputs, both on the sparse product
    esn = EchoStateNetwork(1, 400, spectral_radius=0.9, sparsity=0.99,
                           rng=np.random.default_rng(5))
    x = sine(700, period=31.0)[:, None]
    esn.fit(x[:599], x[1:600])
    gen = esn.generate(40, esn.state_)
    np.testing.assert_allclose(esn.predict(gen[:-1], h0=esn.state_), gen[1:], atol=1e-12)


def test_leaky_states_match_a_scalar_loop():
    rng = np.random.default_rng(2)
    W_uh, W_hh, b = small_reservoir(D=1, H=3)
    u = rng.standard_normal((40, 1))
    a = 0.3
    states = reservoir_states(u, W_uh, W_hh, b, a)
    h = [0.0, 0.0, 0.0]
    for t in range(40):
        pre = [u[t, 0] * W_uh[0, j] + sum(h[i] * W_hh[i, j] for i in range(3)) + b[j]
               for j in range(3)]
        h = [(1 - a) * h[j] + a * np.tanh(pre[j]) for j in range(3)]
        np.testing.assert_allclose(states[t], h, atol=1e-13)


def test_feedback_is_an_extra_input():
    rng = np.random.default_rng(3)
    W_uh, W_hh, b = small_reservoir(D=2, H=20)
    W_yh = rng.uniform(-1, 1, (3, 20))
    u, fb = rng.standard_normal((30, 2)), rng.standard_normal((30, 3))
    got = reservoir_states(u, W_uh, W_hh, b, 0.7, W_yh=W_yh, feedback=fb)
    ref = reservoir_states(np.hstack([u, fb]), np.vstack([W_uh, W_yh]), W_hh, b, 0.7)
    np.testing.assert_allclose(got, ref, atol=1e-13)


def test_reservoir_states_preserve_float32():
    W_uh, W_hh, b = (w.astype(np.float32) for w in small_reservoir())
    u = np.ones((5, 2), dtype=np.float32)
    assert reservoir_states(u, W_uh, W_hh, b, 0.5).dtype == np.float32


@pytest.mark.parametrize("change, match", [
    (dict(leak_rate=0.0), "leak_rate"),
    (dict(leak_rate=-0.5), "leak_rate"),
    (dict(leak_rate=1.5), "leak_rate"),
    (dict(u=np.ones((10, 3))), "W_uh must have shape"),
    (dict(u=np.ones(10)), "u must have shape"),
    (dict(u=np.ones((0, 2))), "at least one time step"),
    (dict(h0=np.zeros(29)), "h0 must have shape"),
    (dict(b=np.zeros(30, dtype=np.float32)), "dtype"),
    (dict(W_hh=np.zeros((30, 31))), "W_hh must have shape"),
    (dict(W_yh=np.zeros((1, 30))), "W_yh and feedback go together"),
    (dict(W_yh=np.zeros((1, 30)), feedback=np.zeros((9, 1))), "feedback must have shape"),
])
def test_reservoir_states_reject_bad_input(change, match):
    W_uh, W_hh, b = small_reservoir()
    args = dict(u=np.ones((10, 2)), W_uh=W_uh, W_hh=W_hh, b=b, leak_rate=0.5, h0=None)
    args.update(change)
    with pytest.raises(ValueError, match=match):
        reservoir_states(**args)


# ---------------------------------------------------------------- readout

def test_ridge_readout_matches_lstsq_on_the_augmented_system():
    rng = np.random.default_rng(4)
    X, Y, ridge = rng.standard_normal((200, 15)), rng.standard_normal((200, 3)), 2.5
    W, b = ridge_readout(X, Y, ridge)
    # min ||[X 1] [W; b] - Y||^2 + ridge ||W||^2, the bias unregularised
    A = np.block([[X, np.ones((200, 1))], [np.sqrt(ridge) * np.eye(15), np.zeros((15, 1))]])
    sol = np.linalg.lstsq(A, np.vstack([Y, np.zeros((15, 3))]), rcond=None)[0]
    np.testing.assert_allclose(W, sol[:15], atol=1e-12)
    np.testing.assert_allclose(b, sol[15], atol=1e-12)


def test_ridge_readout_recovers_an_exact_linear_map_and_accepts_batches():
    rng = np.random.default_rng(5)
    W_true, b_true = rng.standard_normal((8, 2)), rng.standard_normal(2)
    X = rng.standard_normal((4, 50, 8))
    W, b = ridge_readout(X, X @ W_true + b_true, ridge=0.0)
    np.testing.assert_allclose(W, W_true, atol=1e-10)
    np.testing.assert_allclose(b, b_true, atol=1e-10)


@pytest.mark.parametrize("states, targets, ridge, match", [
    (np.ones((10, 4)), np.ones((9, 1)), 1.0, "same T"),
    (np.ones((10, 4)), np.ones((1, 10, 1)), 1.0, "same T"),
    (np.ones((10, 4)), np.ones((10, 1)), -1.0, "ridge"),
    (np.full((10, 4), np.nan), np.ones((10, 1)), 1.0, "finite"),
])
def test_ridge_readout_rejects_bad_input(states, targets, ridge, match):
    with pytest.raises(ValueError, match=match):
        ridge_readout(states, targets, ridge)


# ---------------------------------------------------------------- spectral radius

@pytest.mark.parametrize("H, sparsity", [(50, 0.0), (60, 0.8), (500, 0.9), (800, 0.0)])
def test_iterative_spectral_radius_is_within_two_percent_of_eigvals(H, sparsity):
    rng = np.random.default_rng(H)
    W = rng.standard_normal((H, H)) * (rng.random((H, H)) >= sparsity)
    exact = np.abs(np.linalg.eigvals(W)).max()
    est = spectral_radius_estimate(W, method="iterative")
    assert abs(est / exact - 1) < 0.02, (est, exact)


def test_spectral_radius_of_a_dominant_complex_pair():
    # A rotation by 1 radian scaled by 1.5 plus a block of radius about 0.5: the
    # dominant eigenvalues are the pair 1.5 exp(+-i), power iteration never settles.
    rng = np.random.default_rng(7)
    W = np.zeros((300, 300))
    W[:2, :2] = 1.5 * np.array([[np.cos(1.0), -np.sin(1.0)], [np.sin(1.0), np.cos(1.0)]])
    W[2:, 2:] = rng.standard_normal((298, 298)) * 0.5 / np.sqrt(298)
    W[:2, 2:] = rng.standard_normal((2, 298)) * 0.1
    est = spectral_radius_estimate(W, method="iterative")
    assert abs(est - 1.5) < 0.01 * 1.5, est
    assert spectral_radius_estimate(W, method="eig") == pytest.approx(1.5, rel=1e-10)


def test_spectral_radius_of_nilpotent_and_zero_matrices_is_zero():
    W = np.triu(np.random.default_rng(8).standard_normal((300, 300)), k=1)
    assert spectral_radius_estimate(W, n_iter=400) == 0.0
    assert spectral_radius_estimate(np.zeros((400, 400))) == 0.0


@pytest.mark.parametrize("W, kwargs, match", [
    (np.ones((3, 4)), {}, "square"),
    (np.ones(3), {}, "2 dimensions"),
    (np.full((3, 3), np.inf), {}, "finite"),
    (np.ones((3, 3)), dict(method="lanczos"), "method"),
    (np.ones((3, 3)), dict(n_iter=0), "n_iter"),
])
def test_spectral_radius_rejects_bad_input(W, kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectral_radius_estimate(W, **kwargs)


# ---------------------------------------------------------------- construction

def test_init_reservoir_scales_shapes_and_sparsity():
    W_uh, W_hh, b = init_reservoir(3, 600, spectral_radius=1.3, sparsity=0.9, input_scaling=0.4,
                                   bias_scaling=0.2, rng=np.random.default_rng(9))
    assert W_uh.shape == (3, 600) and W_hh.shape == (600, 600) and b.shape == (600,)
    # H = 600 > 256 uses the iterative estimate; the true radius is within 2 %.
    assert abs(np.abs(np.linalg.eigvals(W_hh)).max() / 1.3 - 1) < 0.02
    assert abs(np.mean(W_hh == 0) - 0.9) < 0.01
    assert np.abs(W_uh).max() <= 0.4 and np.abs(W_uh).max() > 0.35
    assert np.abs(b).max() <= 0.2


@pytest.mark.parametrize("kwargs, match", [
    (dict(spectral_radius=0.0), "spectral_radius"),
    (dict(spectral_radius=-1.0), "spectral_radius"),
    (dict(sparsity=1.0), "sparsity"),
    (dict(sparsity=-0.1), "sparsity"),
    (dict(input_scaling=-1.0), "input_scaling"),
    (dict(n_units=0), "n_units"),
    (dict(rng=0), "Generator"),
])
def test_init_reservoir_rejects_bad_input(kwargs, match):
    args = dict(n_inputs=1, n_units=10, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        init_reservoir(**args)


# ---------------------------------------------------------------- echo state property

def test_echo_state_property_holds_for_a_contracting_reservoir():
    W_uh, W_hh, b = small_reservoir(D=1, H=100, spectral_radius=0.8)
    u = sine(300, period=17.0)[:, None]
    holds, dist = echo_state_property(u, W_uh, W_hh, b, 1.0, n_states=3,
                                      rng=np.random.default_rng(0))
    assert holds and dist.shape == (300,)
    assert dist[0] > 0.5 and dist[-1] < 1e-6


def test_echo_state_property_fails_for_a_large_spectral_radius():
    W_uh, W_hh, b = small_reservoir(D=1, H=100, spectral_radius=3.0, input_scaling=0.01)
    u = np.zeros((300, 1))
    holds, dist = echo_state_property(u, W_uh, W_hh, b, rng=np.random.default_rng(0))
    assert not holds and dist[-1] > 0.1


def test_echo_state_property_rejects_one_state():
    W_uh, W_hh, b = small_reservoir(D=1)
    with pytest.raises(ValueError, match="n_states"):
        echo_state_property(np.zeros((5, 1)), W_uh, W_hh, b, n_states=1,
                            rng=np.random.default_rng(0))


# ---------------------------------------------------------------- the class

def fitted_sine_esn(feedback_scaling=0.0, seed=0):
    x = sum_of_sines(900)
    esn = EchoStateNetwork(1, 200, spectral_radius=0.9, input_scaling=0.5, leak_rate=0.8,
                           feedback_scaling=feedback_scaling, ridge=1e-9,
                           rng=np.random.default_rng(seed))
    esn.fit(x[:599, None], x[1:600, None], washout=100)
    return esn, x


def test_esn_predicts_and_generates_a_sum_of_sines():
    esn, x = fitted_sine_esn()
    pred = esn.predict(x[599:-1, None], h0=esn.state_)
    assert nrmse(pred[:, 0], x[600:]) < 1e-3
    gen = esn.generate(100, esn.state_)
    assert gen.shape == (100, 1)
    assert nrmse(gen[:, 0], x[599:699]) < 1e-2, nrmse(gen[:, 0], x[599:699])


def test_generate_agrees_with_predict_on_its_own_outputs():
    # Closed loop = open loop driven by the closed loop's outputs.
    for feedback_scaling in (0.0, 0.3):
        esn, x = fitted_sine_esn(feedback_scaling)
        gen = esn.generate(50, esn.state_)
        again = esn.predict(gen[:-1], h0=esn.state_,
                            feedback=gen[:-1] if feedback_scaling else None)
        np.testing.assert_allclose(again, gen[1:], atol=1e-12)


def test_fit_and_predict_use_the_pure_functions():
    esn, x = fitted_sine_esn()
    u = x[:600, None]
    states = reservoir_states(u, esn.W_uh, esn.W_hh, esn.b, esn.leak_rate)
    W_hy, b_y = ridge_readout(states[100:599], x[101:600, None], esn.ridge)
    np.testing.assert_allclose(esn.W_hy, W_hy, atol=1e-12)
    np.testing.assert_allclose(esn.predict(u), states @ W_hy + b_y, atol=1e-12)
    np.testing.assert_allclose(esn.state_, states[598], atol=1e-12)


def test_teacher_forcing_with_output_feedback():
    esn, x = fitted_sine_esn(feedback_scaling=0.5)
    u, y = x[599:-1, None], x[600:, None]
    teacher = np.vstack([x[599:600, None], y[:-1]])   # y_{t-1} = x_t
    forced = esn.predict(u, h0=esn.state_, feedback=teacher)
    own = esn.predict(u, h0=esn.state_)                # own outputs fed back
    assert nrmse(forced[:, 0], y[:, 0]) < 1e-3
    assert nrmse(own[:, 0], y[:, 0]) < 1e-2


def test_batched_fit_and_generate():
    x = sine(400, period=25.0)
    u = np.stack([x[:-1], -x[:-1]])[..., None]
    esn = EchoStateNetwork(1, 100, ridge=1e-9, rng=np.random.default_rng(0))
    esn.fit(u, np.stack([x[1:], -x[1:]])[..., None], washout=50)
    assert esn.state_.shape == (2, 100)
    gen = esn.generate(30, esn.state_)
    assert gen.shape == (2, 30, 1)
    np.testing.assert_allclose(gen[0, :, 0], sine(430, period=25.0)[399:429], atol=1e-2)


@pytest.mark.parametrize("feedback_scaling", [0.0, 0.4])
def test_save_and_load_give_identical_predictions(tmp_path, feedback_scaling):
    esn, x = fitted_sine_esn(feedback_scaling)
    path = esn.save(tmp_path / "esn")
    assert path.endswith("esn.npz")
    loaded = EchoStateNetwork.load(path)
    u = x[599:700, None]
    np.testing.assert_array_equal(loaded.predict(u, h0=loaded.state_),
                                  esn.predict(u, h0=esn.state_))
    np.testing.assert_array_equal(loaded.generate(40, loaded.state_),
                                  esn.generate(40, esn.state_))
    assert loaded.leak_rate == esn.leak_rate and repr(loaded) == repr(esn)


def test_load_rejects_files_that_are_not_a_saved_esn(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a network")
    other = tmp_path / "other.npz"
    np.savez(other, W=np.ones(3))
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    truncated = tmp_path / "truncated.npz"
    esn, _ = fitted_sine_esn()
    esn.save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    for path in (text, other, npy, truncated):
        with pytest.raises(ValueError, match="not a saved EchoStateNetwork"):
            EchoStateNetwork.load(path)
    future = tmp_path / "future.npz"
    esn.save(future)
    data = dict(np.load(future))
    data["__version__"] = np.array(99)
    np.savez(future, **data)
    with pytest.raises(ValueError, match="version 99"):
        EchoStateNetwork.load(future)
    del data["W_hy"]
    data["__version__"] = np.array(1)
    np.savez(future, **data)
    with pytest.raises(ValueError, match="missing"):
        EchoStateNetwork.load(future)
    with pytest.raises(FileNotFoundError):
        EchoStateNetwork.load(tmp_path / "absent.npz")


def test_esn_rejects_bad_input():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="leak_rate"):
        EchoStateNetwork(1, 10, leak_rate=-0.1, rng=rng)
    with pytest.raises(ValueError, match="spectral_radius"):
        EchoStateNetwork(1, 10, spectral_radius=0.0, rng=rng)
    esn = EchoStateNetwork(1, 10, rng=rng)
    with pytest.raises(ValueError, match="not fitted"):
        esn.predict(np.ones((5, 1)))
    with pytest.raises(ValueError, match="y must have shape"):
        esn.fit(np.ones((20, 1)), np.ones((19, 1)))
    with pytest.raises(ValueError, match="features"):
        esn.fit(np.ones((20, 2)), np.ones((20, 1)))
    with pytest.raises(ValueError, match="washout"):
        esn.fit(np.ones((20, 1)), np.ones((20, 1)), washout=20)
    esn.fit(np.ones((20, 1)), np.ones((20, 1)), washout=5)
    with pytest.raises(ValueError, match="h0 must have shape"):
        esn.generate(5, np.zeros(11))
    with pytest.raises(ValueError, match="no output feedback"):
        esn.predict(np.ones((5, 1)), feedback=np.ones((5, 1)))
    two_out = EchoStateNetwork(1, 10, n_outputs=2, rng=rng)
    two_out.fit(np.ones((20, 1)), np.ones((20, 2)), washout=5)
    with pytest.raises(ValueError, match="n_outputs == n_inputs"):
        two_out.generate(5, two_out.state_)


# ---------------------------------------------------------------- bad input (issue 12)

def _fitted(seed=0, feedback_scaling=0.0):
    x = sine(300, period=25.0)
    esn = EchoStateNetwork(1, 20, sparsity=0.5, feedback_scaling=feedback_scaling, ridge=1e-8,
                           rng=np.random.default_rng(seed))
    return esn.fit(x[:-1, None], x[1:, None], washout=20), x


@pytest.mark.parametrize("value", [0.0, -0.5, 1.5, 7, np.nan, np.inf, True, "0.5", None])
def test_leak_rate_must_be_a_number_in_the_half_open_unit_interval(value):
    W_uh, W_hh, b = small_reservoir()
    with pytest.raises(ValueError, match="leak_rate"):
        reservoir_states(np.ones((10, 2)), W_uh, W_hh, b, value)
    with pytest.raises(ValueError, match="leak_rate"):
        EchoStateNetwork(1, 10, leak_rate=value, rng=np.random.default_rng(0))


@pytest.mark.parametrize("value", [-5.0, -1e-300, np.nan, np.inf, False, "1e-8", None])
def test_ridge_must_be_a_finite_number_at_least_zero(value):
    with pytest.raises(ValueError, match="ridge"):
        ridge_readout(np.ones((10, 4)), np.ones((10, 1)), value)
    with pytest.raises(ValueError, match="ridge"):
        EchoStateNetwork(1, 10, ridge=value, rng=np.random.default_rng(0))


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_inputs=1.0), "n_inputs"), (dict(n_inputs=True), "n_inputs"),
    (dict(n_units="10"), "n_units"), (dict(n_units=-3), "n_units"),
    (dict(spectral_radius=np.nan), "spectral_radius"), (dict(spectral_radius=np.inf), "spectral_radius"),
    (dict(spectral_radius=True), "spectral_radius"), (dict(sparsity=np.nan), "sparsity"),
    (dict(sparsity="0.9"), "sparsity"), (dict(input_scaling=np.nan), "input_scaling"),
    (dict(bias_scaling=-0.1), "bias_scaling"), (dict(bias_scaling=np.inf), "bias_scaling"),
    (dict(rng=np.random.RandomState(0)), "Generator"), (dict(rng=None), "Generator"),
])
def test_init_reservoir_refuses_non_numbers_and_non_finite_options(kwargs, match):
    args = dict(n_inputs=1, n_units=10, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        init_reservoir(**args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_outputs=0), "n_outputs"), (dict(n_outputs=1.5), "n_outputs"),
    (dict(feedback_scaling=np.nan), "feedback_scaling"), (dict(feedback_scaling=-1.0), "feedback_scaling"),
    (dict(n_inputs="1"), "n_inputs"), (dict(rng=1), "Generator"),
])
def test_esn_constructor_refuses_bad_options(kwargs, match):
    args = dict(n_inputs=1, n_units=10, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        EchoStateNetwork(**args)


class _Subclass(np.ndarray):
    "An ndarray subclass (as np.matrix or a masked array), which the checks refuse."


def _with_nan(a):
    a = a.copy()
    a.flat[a.size // 2] = np.nan
    return a


@pytest.mark.parametrize("name", ["u", "W_uh", "W_hh", "b", "h0", "W_yh", "feedback"])
@pytest.mark.parametrize("bad", ["nan", "inf", "int", "float16", "subclass", "complex", "list"])
def test_reservoir_states_refuse_non_finite_and_wrongly_typed_arrays(name, bad):
    rng = np.random.default_rng(11)
    W_uh, W_hh, b = small_reservoir()
    args = dict(u=rng.standard_normal((10, 2)), W_uh=W_uh, W_hh=W_hh, b=b, leak_rate=0.5,
                h0=np.zeros(30), W_yh=np.ones((1, 30)), feedback=np.ones((10, 1)))
    a = args[name]
    args[name] = {"nan": lambda: _with_nan(a), "inf": lambda: np.where(a == a.flat[0], np.inf, a),
                  "int": lambda: a.astype(int), "float16": lambda: a.astype(np.float16),
                  "subclass": lambda: a.view(_Subclass), "complex": lambda: a.astype(np.complex128),
                  "list": lambda: a.tolist()}[bad]()
    with pytest.raises(ValueError, match=name):
        reservoir_states(**args)


def test_reservoir_states_refuse_empty_batches_and_features():
    W_uh, W_hh, b = small_reservoir()
    with pytest.raises(ValueError, match="at least one sequence"):
        reservoir_states(np.ones((0, 10, 2)), W_uh, W_hh, b)
    with pytest.raises(ValueError, match="at least one time step"):
        reservoir_states(np.ones((3, 0, 2)), W_uh, W_hh, b)


@pytest.mark.parametrize("states, targets, match", [
    (np.ones((0, 4)), np.ones((0, 1)), "at least one time step"),
    (np.ones((10, 0)), np.ones((10, 1)), "at least one feature"),
    (np.ones((10, 4)), np.ones((10, 0)), "at least one feature"),
    (np.ones((10, 4)), np.full((10, 1), np.inf), "targets must be finite"),
    (np.ones((10, 4), dtype=int), np.ones((10, 1)), "states must be float32 or float64"),
    (np.ones((10, 4)), np.ones((10, 1), dtype=np.float32), "dtype"),
    (np.ones((10, 4)).tolist(), np.ones((10, 1)), "states must be a NumPy array"),
])
def test_ridge_readout_refuses_empty_non_finite_and_mistyped_data(states, targets, match):
    with pytest.raises(ValueError, match=match):
        ridge_readout(states, targets, 1e-8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_iter=2.0), "n_iter"), (dict(n_vectors=0), "n_vectors"), (dict(n_vectors=True), "n_vectors"),
    (dict(method=None), "method"), (dict(rng=0, method="iterative"), "Generator"),
])
def test_spectral_radius_estimate_refuses_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        spectral_radius_estimate(np.eye(300), **kwargs)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_states=2.0), "n_states"), (dict(n_states=True), "n_states"),
    (dict(tol=-1.0), "tol"), (dict(tol=np.nan), "tol"), (dict(rng=None), "Generator"),
    (dict(u=np.full((5, 1), np.nan)), "u must be finite"), (dict(leak_rate=2.0), "leak_rate"),
])
def test_echo_state_property_refuses_bad_input(kwargs, match):
    W_uh, W_hh, b = small_reservoir(D=1)
    args = dict(u=np.zeros((5, 1)), W_uh=W_uh, W_hh=W_hh, b=b, rng=np.random.default_rng(0))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        echo_state_property(**args)


def test_fit_predict_generate_refuse_bad_input():
    esn, x = _fitted()
    u = x[:50, None]
    for bad, match in ((_with_nan(u), "u must be finite"), (u.astype(np.float32), "dtype"),
                       (u.astype(int), "float32 or float64"), (np.ones((0, 50, 1)), "at least one sequence")):
        with pytest.raises(ValueError, match=match):
            esn.fit(bad, u)
        with pytest.raises(ValueError, match=match):
            esn.predict(bad)
    with pytest.raises(ValueError, match="y must be finite"):
        esn.fit(u, _with_nan(u))
    for washout in (-1, 2.0, True, 50):
        with pytest.raises(ValueError, match="washout"):
            esn.fit(u, u, washout=washout)
    with pytest.raises(ValueError, match="return_state"):
        esn.predict(u, return_state=1)
    with pytest.raises(ValueError, match="h0 must be finite"):
        esn.predict(u, h0=_with_nan(esn.state_))
    for n_steps in (0, 3.0, True, "5"):
        with pytest.raises(ValueError, match="n_steps"):
            esn.generate(n_steps, esn.state_)
    with pytest.raises(ValueError, match="h0 must be finite"):
        esn.generate(5, _with_nan(esn.state_))
    with pytest.raises(ValueError, match="h0 must hold at least one state"):
        esn.generate(5, np.zeros((0, 20)))
    with pytest.raises(ValueError, match="h0 must be a NumPy array"):
        esn.generate(5, esn.state_.tolist())
    fb_esn, _ = _fitted(feedback_scaling=0.3)
    with pytest.raises(ValueError, match="feedback must be finite"):
        fb_esn.predict(u, feedback=_with_nan(u))


# ---------------------------------------------------------------- saving and loading

def _saved(tmp_path, feedback_scaling=0.3):
    esn, _ = _fitted(feedback_scaling=feedback_scaling)
    path = esn.save(tmp_path / "esn.npz")
    data = dict(np.load(path, allow_pickle=False))
    return path, data


def _rewrite(path, data, **changes):
    data = dict(data, **changes)
    for k in [k for k, v in changes.items() if v is None]:
        del data[k]
    np.savez(path, **data)
    return path


@pytest.mark.parametrize("changes, match", [
    (dict(leak_rate=np.array(7.0)), "leak_rate must be"),
    (dict(leak_rate=np.array(0.0)), "leak_rate must be"),
    (dict(leak_rate=np.array(np.nan)), "leak_rate must be finite"),
    (dict(leak_rate=np.array([0.5])), "leak_rate must have shape"),
    (dict(leak_rate=np.array("0.5")), "leak_rate must be float32 or float64"),
    (dict(ridge=np.array(-5.0)), "ridge must be"),
    (dict(ridge=np.array(np.inf)), "ridge must be finite"),
    (dict(ridge=np.array(1, dtype=int)), "ridge must be float32 or float64"),
    (dict(W_hh=np.full((20, 20), np.nan)), "W_hh must be finite"),
    (dict(W_hy=np.full((20, 1), np.inf)), "W_hy must be finite"),
    (dict(b=np.zeros(21)), "b must have shape"),
    (dict(W_hh=np.zeros((20, 21))), "W_hh must have shape"),
    (dict(W_uh=np.zeros(20)), "W_uh must have 2 dimensions"),
    (dict(W_uh=np.zeros((0, 20))), "W_uh must have shape"),
    (dict(W_hy=np.zeros((19, 1))), "W_hy must have shape"),
    (dict(W_hy=np.zeros((20, 0)), b_y=np.zeros(0)), "W_hy must have shape"),
    (dict(b_y=np.zeros(2)), "b_y must have shape"),
    (dict(state_=np.zeros(7)), "state_ must have shape"),
    (dict(state_=np.zeros((0, 20))), "state_ must have shape"),
    (dict(W_yh=np.zeros((1, 7))), "W_yh must have shape"),
    (dict(W_hh=np.zeros((20, 20), dtype=np.float32)), "dtype"),
    (dict(W_uh=np.zeros((1, 20), dtype=np.int64)), "W_uh must be float32 or float64"),
    (dict(b=np.zeros(20, dtype=np.complex128)), "b must be float32 or float64"),
    (dict(extra=np.zeros(3)), "unexpected"),
    (dict(state_=None), "missing"),
])
def test_load_validates_every_field_before_building(tmp_path, changes, match):
    path, data = _saved(tmp_path)
    _rewrite(path, data, **changes)
    with pytest.raises(ValueError, match=match) as err:
        EchoStateNetwork.load(path)
    assert "esn.npz" in str(err.value)


def test_load_refuses_a_file_claiming_a_huge_reservoir_without_building_it(tmp_path):
    path, data = _saved(tmp_path)
    _rewrite(path, data, W_uh=np.zeros((1, 100_000)))
    with pytest.raises(ValueError, match="W_hh must have shape"):
        EchoStateNetwork.load(path)


def test_load_refuses_pickled_object_arrays(tmp_path):
    path, data = _saved(tmp_path)
    data["W_hh"] = np.array([{"evil": 1}], dtype=object)
    np.savez(path, **data)
    with pytest.raises(ValueError, match="not a saved EchoStateNetwork"):
        EchoStateNetwork.load(path)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("feedback_scaling", [0.0, 0.3])
@pytest.mark.parametrize("batched", [False, True])
def test_what_save_writes_always_loads_and_predicts_the_same(tmp_path, dtype, feedback_scaling,
                                                             batched):
    esn, x = _fitted(feedback_scaling=feedback_scaling)
    for name in ("W_uh", "W_hh", "b", "W_yh"):
        if getattr(esn, name) is not None:
            setattr(esn, name, getattr(esn, name).astype(dtype))
    u = np.stack([x[:-1], -x[:-1]])[..., None].astype(dtype)
    esn.fit(u if batched else u[0], u if batched else u[0], washout=20)
    path = esn.save(tmp_path / "m")
    with np.load(path, allow_pickle=False) as data:        # no pickle needed to read it
        assert all(data[k].dtype != object for k in data.files)
    loaded = EchoStateNetwork.load(path)
    assert loaded.W_hh.dtype == dtype and loaded.state_.shape == esn.state_.shape
    np.testing.assert_array_equal(loaded.generate(10, loaded.state_), esn.generate(10, esn.state_))


@pytest.mark.parametrize("attribute, value, match", [
    ("leak_rate", 7.0, "leak_rate"), ("ridge", -5.0, "ridge"),
    ("W_hy", np.full((20, 1), np.nan), "W_hy must be finite"),
    ("b_y", np.zeros(3), "b_y must have shape"),
])
def test_save_refuses_a_network_that_would_not_load(tmp_path, attribute, value, match):
    esn, _ = _fitted()
    setattr(esn, attribute, value)
    with pytest.raises(ValueError, match=match):
        esn.save(tmp_path / "bad.npz")
    assert not (tmp_path / "bad.npz").exists()


def test_esn_module_keeps_no_private_copy_of_the_shared_checks():
    import rnnlib.esn as esn_module
    for name in ("_check_leak_rate", "_check_nonnegative", "_check_positive_int", "_check_rng"):
        assert not hasattr(esn_module, name)


# ---------------------------------------------------------------- solvers and validation

def test_qr_readout_matches_lstsq_where_the_normal_equations_fail():
    rng = np.random.default_rng(21)
    # states with singular values from 1 to 1e-9: the Gram matrix has condition 1e18
    U, _ = np.linalg.qr(rng.standard_normal((400, 30)))
    V, _ = np.linalg.qr(rng.standard_normal((30, 30)))
    X = (U * np.logspace(0, -9, 30)) @ V.T
    Y = X @ rng.standard_normal((30, 2)) + 1e-12 * rng.standard_normal((400, 2))
    ridge = 1e-20
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    A = np.vstack([Xc, np.sqrt(ridge) * np.eye(30)])
    ref = np.linalg.lstsq(A, np.vstack([Yc, np.zeros((30, 2))]), rcond=None)[0]
    W_qr, b_qr = ridge_readout(X, Y, ridge, method="qr")
    W_ne, _ = ridge_readout(X, Y, ridge, method="normal")
    err_qr = np.linalg.norm(W_qr - ref) / np.linalg.norm(ref)
    err_ne = np.linalg.norm(W_ne - ref) / np.linalg.norm(ref)
    assert err_qr < 1e-5 and err_ne > 100 * err_qr, (err_qr, err_ne)
    np.testing.assert_allclose(b_qr, Y.mean(0) - X.mean(0) @ W_qr, atol=1e-12)


def test_ridge_path_gives_the_ridge_readouts():
    rng = np.random.default_rng(22)
    X, Y = rng.standard_normal((3, 60, 12)), rng.standard_normal((3, 60, 2))
    ridges = [0.0, 1e-3, 0.5, 10.0]
    readouts, sv = ridge_path(X, Y, ridges)
    assert len(readouts) == 4 and sv.shape == (12,) and np.all(np.diff(sv) <= 0)
    for ridge, (W, b) in zip(ridges, readouts):
        W_ref, b_ref = ridge_readout(X, Y, ridge, method="qr")
        np.testing.assert_allclose(W, W_ref, atol=1e-10)
        np.testing.assert_allclose(b, b_ref, atol=1e-10)
    for bad in ([], [-1.0], [np.nan], "1e-8", 1e-8):
        with pytest.raises(ValueError, match="ridges"):
            ridge_path(X, Y, bad)
    with pytest.raises(ValueError, match="method"):
        ridge_readout(X, Y, 1.0, method="cholesky")


def test_free_run_nrmse_matches_generate_and_a_hand_computed_error():
    esn, x = _fitted()
    series = x[:, None]
    starts = np.array([30, 100, 150])
    curve = free_run_nrmse(esn, series, starts, 12)
    states = reservoir_states(series, esn.W_uh, esn.W_hh, esn.b, esn.leak_rate)
    errs = [esn.generate(12, states[s])[:, 0] - x[s + 1:s + 13] for s in starts]
    np.testing.assert_allclose(curve, np.sqrt(np.mean(np.square(errs), axis=0)) / np.std(x),
                               rtol=1e-8)
    with pytest.raises(ValueError, match="starts"):
        free_run_nrmse(esn, series, np.array([290]), 12)
    with pytest.raises(ValueError, match="starts"):
        free_run_nrmse(esn, series, np.array([1.0]), 12)
    with pytest.raises(ValueError, match="horizon"):
        free_run_nrmse(esn, series, starts, 0)
    with pytest.raises(ValueError, match="EchoStateNetwork"):
        free_run_nrmse(None, series, starts, 12)


def test_fit_ridge_on_validation_picks_the_best_validation_ridge_and_reads_no_test_data():
    x = sum_of_sines(1600)[:, None]
    ridges = [1e-12, 1e-6, 1e2]
    esn = EchoStateNetwork(1, 60, spectral_radius=0.9, input_scaling=0.5, sparsity=0.5,
                           rng=np.random.default_rng(3))
    scores = fit_ridge_on_validation(esn, x, 800, 300, ridges, horizon=20, n_starts=5)
    assert scores.shape == (3,) and esn.ridge == ridges[int(np.argmin(scores))]
    # the score is free_run_nrmse at the horizon for that ridge's fit
    starts = 800 + np.linspace(0, 300 - 21, 5).astype(int)
    for ridge, score in zip(ridges, scores):
        e = EchoStateNetwork(1, 60, spectral_radius=0.9, input_scaling=0.5, sparsity=0.5,
                             ridge=ridge, rng=np.random.default_rng(3))
        e.fit(x[:799], x[1:800], washout=100, method="qr")
        ref = free_run_nrmse(e, x[:1100], starts, 20, scale=float(np.std(x[:800])))[-1]
        assert score == pytest.approx(ref, rel=1e-3)
    poisoned = x.copy()
    poisoned[1100:] = 1e6                             # the test segment: never read
    again = EchoStateNetwork(1, 60, spectral_radius=0.9, input_scaling=0.5, sparsity=0.5,
                             rng=np.random.default_rng(3))
    np.testing.assert_array_equal(
        fit_ridge_on_validation(again, poisoned, 800, 300, ridges, horizon=20, n_starts=5), scores)
    with pytest.raises(ValueError, match="n_val"):
        fit_ridge_on_validation(esn, x, 800, 10, ridges, horizon=20)
    with pytest.raises(ValueError, match="series must hold"):
        fit_ridge_on_validation(esn, x, 1500, 300, ridges)


def test_the_stored_limits_file_and_a_reduced_rerun_of_its_command(tmp_path):
    import importlib.util
    import json
    import pathlib
    root = pathlib.Path(__file__).resolve().parents[1]
    stored = json.loads((root / "book" / "data" / "esn_limits.json").read_text())
    assert stored["command"].startswith("python scripts/esn_limits.py")
    final = [r["nrmse84"] for r in stored["length"]
             if r["label"] == "final reservoir" and r["n_train"] == 4000]
    assert len(final) >= 3 and max(final) <= 1e-5
    spec = importlib.util.spec_from_file_location("esn_limits", root / "scripts" / "esn_limits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "quick.json"
    assert module.main(["--quick", "--out", str(out)]) == 0
    quick = json.loads(out.read_text())
    assert set(quick) == set(stored)
    for group in ("length", "knobs", "truth"):
        assert {r["label"] for r in quick[group]} == {r["label"] for r in stored[group]}
        assert all(np.isfinite(r["nrmse84"]) and r["ridge"] in quick["ridges"] for r in quick[group])
    assert module.main(["--quick", "--out", str(tmp_path / "missing" / "q.json")]) == 2
