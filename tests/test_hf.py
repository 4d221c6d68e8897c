"""Tests of rnnlib.hf: Gauss-Newton products against explicit Jacobians, conjugate
gradient, the damping rules, the Hessian-free step, and bad input."""
import math

import numpy as np
import pytest

from rnnlib import hf, rnn_forward
from rnnlib.gradcheck import numerical_gradient, rel_error

N, T, D, H, K = 3, 4, 2, 3, 2


def make_params(rng, K=K, dtype=np.float64):
    return {"Wx": rng.normal(0, 0.5, (D, H)).astype(dtype),
            "Wh": rng.normal(0, 0.5, (H, H)).astype(dtype),
            "b": rng.normal(0, 0.1, H).astype(dtype),
            "Wy": rng.normal(0, 0.5, (H, K)).astype(dtype),
            "by": rng.normal(0, 0.1, K).astype(dtype)}


def make_batch(rng, loss, K=K):
    x = rng.normal(size=(N, T, D))
    mask = rng.random((N, T)) < 0.7
    mask[0, -1] = True
    if loss == "mse":
        return x, rng.normal(size=(N, T, K)), mask
    return x, rng.integers(0, K, (N, T)), mask


def outputs_and_states(theta, like, x, activation="tanh"):
    """All outputs y_t and hidden states h_t of the network as one flat vector."""
    p = hf.unpack(theta, like)
    h, _ = rnn_forward(x, np.zeros((x.shape[0], H)), p["Wx"], p["Wh"], p["b"], activation)
    return np.concatenate([(h @ p["Wy"] + p["by"]).ravel(), h.ravel()])


def explicit_jacobians(params, x, activation="tanh", eps=1e-6):
    """Jacobians of the outputs (N*T*K, P) and hidden states (N*T*H, P), by central
    differences in float64, one parameter at a time."""
    theta = hf.pack(params)
    cols = []
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = eps
        cols.append((outputs_and_states(theta + e, params, x, activation)
                     - outputs_and_states(theta - e, params, x, activation)) / (2 * eps))
    J = np.stack(cols, axis=1)
    n_out = x.shape[0] * T * params["by"].size
    return J[:n_out], J[n_out:]


def explicit_loss_hessian(params, x, mask, loss):
    """The Hessian of the loss with respect to the flattened outputs, written out."""
    h, _ = rnn_forward(x, np.zeros((N, H)), params["Wx"], params["Wh"], params["b"])
    out = h @ params["Wy"] + params["by"]
    Kk = out.shape[-1]
    if loss == "mse":
        m = np.repeat(mask.astype(float).ravel(), Kk)
        return np.diag(2 * m / m.sum())
    p = np.exp(out - out.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    HL = np.zeros((N * T * Kk,) * 2)
    for n in range(N):
        for t in range(T):
            i = (n * T + t) * Kk
            HL[i:i + Kk, i:i + Kk] = mask[n, t] / N * (np.diag(p[n, t]) - np.outer(p[n, t], p[n, t]))
    return HL


def random_direction(params, rng):
    return {k: rng.normal(size=a.shape) for k, a in params.items()}


# ---------------------------------------------------------------- pack and unpack
def test_pack_unpack_round_trip(rng):
    params = make_params(rng)
    theta = hf.pack(params)
    assert theta.shape == (D * H + H * H + H + H * K + K,)
    back = hf.unpack(theta, params)
    for k in hf.PARAM_NAMES:
        np.testing.assert_array_equal(back[k], params[k])
    assert theta[0] == params["Wx"][0, 0] and theta[-1] == params["by"][-1]


# ---------------------------------------------------------------- linearize
@pytest.mark.parametrize("loss", ["mse", "softmax"])
def test_linearize_gradient_matches_finite_differences(rng, loss):
    params = make_params(rng)
    x, y, mask = make_batch(rng, loss)
    lin = hf.linearize(params, x, y, mask, loss=loss)
    theta = hf.pack(params)
    num = numerical_gradient(lambda th: hf.objective(hf.unpack(th, params), x, y, mask, loss),
                             theta.copy())
    assert rel_error(hf.pack(lin.grads), num) < 1e-7
    assert lin.loss == pytest.approx(hf.objective(params, x, y, mask, loss))


# ---------------------------------------------------------------- R-operator and G v
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_r_forward_matches_explicit_jacobians(rng, activation):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    lin = hf.linearize(params, x, y, mask, activation=activation)
    v = random_direction(params, rng)
    Rh, Ry = hf.r_forward(lin, v)
    Jy, Jh = explicit_jacobians(params, x, activation)
    vec = hf.pack(v)
    assert rel_error(Ry.ravel(), Jy @ vec) < 1e-7
    assert rel_error(Rh.ravel(), Jh @ vec) < 1e-7


@pytest.mark.parametrize("loss", ["mse", "softmax"])
def test_gauss_newton_product_equals_JT_HL_J_v(rng, loss):
    params = make_params(rng, K=3)
    x, y, mask = make_batch(rng, loss, K=3)
    lin = hf.linearize(params, x, y, mask, loss=loss)
    Jy, _ = explicit_jacobians(params, x)
    G = Jy.T @ explicit_loss_hessian(params, x, mask, loss) @ Jy
    v = random_direction(params, rng)
    Gv = hf.pack(hf.gauss_newton_product(lin, v))
    assert rel_error(Gv, G @ hf.pack(v)) < 1e-7


def test_loss_hessian_product_matches_explicit_hessian(rng):
    params = make_params(rng, K=3)
    x, y, mask = make_batch(rng, "softmax", K=3)
    lin = hf.linearize(params, x, y, mask, loss="softmax")
    Ry = rng.normal(size=(N, T, 3))
    HL = explicit_loss_hessian(params, x, mask, "softmax")
    assert rel_error(hf.loss_hessian_product(lin, Ry).ravel(), HL @ Ry.ravel()) < 1e-12


def test_damped_product_adds_tikhonov_and_structural_terms(rng):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    lin = hf.linearize(params, x, y, mask)
    Jy, Jh = explicit_jacobians(params, x)
    G = Jy.T @ explicit_loss_hessian(params, x, mask, "mse") @ Jy
    lam, mu = 0.3, 0.7
    v = random_direction(params, rng)
    vec = hf.pack(v)
    expected = G @ vec + lam * vec + lam * mu / N * Jh.T @ (Jh @ vec)
    assert rel_error(hf.pack(hf.gauss_newton_product(lin, v, lam, mu)), expected) < 1e-7
    # without structural damping only the Tikhonov term is added
    expected = G @ vec + lam * vec
    assert rel_error(hf.pack(hf.gauss_newton_product(lin, v, lam)), expected) < 1e-7


def test_gauss_newton_matrix_is_symmetric_positive_semidefinite(rng):
    params = make_params(rng, K=3)
    x, y, mask = make_batch(rng, "softmax", K=3)
    lin = hf.linearize(params, x, y, mask, loss="softmax")
    P = hf.pack(params).size
    G = np.stack([hf.pack(hf.gauss_newton_product(lin, hf.unpack(e, params)))
                  for e in np.eye(P)], axis=1)
    assert np.abs(G - G.T).max() < 1e-12 * np.abs(G).max()
    assert np.linalg.eigvalsh(G).min() > -1e-12 * np.abs(G).max()


# ---------------------------------------------------------------- conjugate gradient
def spd_system(rng, n=12, cond=50.0):
    Q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    A = Q @ np.diag(np.geomspace(1, cond, n)) @ Q.T
    return A, rng.normal(size=n)


def test_cg_solves_a_small_spd_system(rng):
    A, b = spd_system(rng)
    res = hf.conjugate_gradient(lambda v: A @ v, b, max_iters=100, tol=0.0)
    np.testing.assert_allclose(res.x, np.linalg.solve(A, b), rtol=1e-6, atol=1e-8)
    assert res.iterations <= 2 * b.size     # exact arithmetic: at most n iterations


def test_cg_decreases_the_quadratic_model_monotonically(rng):
    A, b = spd_system(rng, n=30, cond=1e3)
    res = hf.conjugate_gradient(lambda v: A @ v, b, max_iters=20, tol=0.0)
    q = np.array(res.q)
    assert q[0] == 0.0 and np.all(np.diff(q) < 0)
    # q as recorded is 0.5 x^T A x - b^T x of the returned iterate
    assert res.q[-1] == pytest.approx(0.5 * res.x @ A @ res.x - b @ res.x, rel=1e-10)
    assert res.q[-1] < 0.5 * (-b @ np.linalg.solve(A, b)) * 0.5   # more than half the way


def test_cg_respects_the_budget_and_stores_iterates(rng):
    A, b = spd_system(rng, n=30, cond=1e3)
    res = hf.conjugate_gradient(lambda v: A @ v, b, max_iters=7, tol=0.0)
    assert res.iterations == 7 and res.products == 7 and len(res.q) == 8
    its = [i for i, _ in res.iterates]
    assert its == sorted(its) and its[0] == 1 and its[-1] == 7
    np.testing.assert_array_equal(res.iterates[-1][1], res.x)


def test_cg_stops_early_by_relative_progress(rng):
    A, b = spd_system(rng, n=200, cond=1e4)
    full = hf.conjugate_gradient(lambda v: A @ v, b, max_iters=150, tol=0.0)
    early = hf.conjugate_gradient(lambda v: A @ v, b, max_iters=150, tol=5e-2)
    assert full.iterations == 150 and early.iterations < full.iterations


def test_cg_warm_start(rng):
    A, b = spd_system(rng)
    x_star = np.linalg.solve(A, b)
    res = hf.conjugate_gradient(lambda v: A @ v, b, x0=x_star.copy(), max_iters=10)
    assert res.iterations == 0 and res.products == 1
    # a warm start worse than zero (q(x0) > 0) is discarded
    res = hf.conjugate_gradient(lambda v: A @ v, b, x0=-10 * x_star, max_iters=1, tol=0.0)
    assert res.q[0] == 0.0


def test_cg_rejects_an_indefinite_matrix():
    A = np.diag([1.0, -1.0])
    with pytest.raises(ValueError, match="positive definite"):
        hf.conjugate_gradient(lambda v: A @ v, np.array([0.0, 1.0]))


# ---------------------------------------------------------------- damping
@pytest.mark.parametrize("rho, factor", [(-math.inf, 1.5), (-2.0, 1.5), (0.1, 1.5),
                                         (0.2499, 1.5), (0.25, 1.0), (0.5, 1.0),
                                         (0.75, 1.0), (0.7501, 2 / 3), (1.3, 2 / 3)])
def test_levenberg_marquardt_rule(rho, factor):
    assert hf.update_damping(2.0, rho) == pytest.approx(2.0 * factor)


def test_reduction_ratio():
    assert hf.reduction_ratio(-0.5, -1.0) == 0.5
    assert hf.reduction_ratio(math.inf, -1.0) == -math.inf
    with pytest.raises(ValueError, match="negative"):
        hf.reduction_ratio(-0.5, 0.0)


# ---------------------------------------------------------------- the optimizer
def test_hessian_free_step_follows_its_quadratic_model_and_rules(rng):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    opt = hf.HessianFree(damping=10.0, max_cg_iters=30)
    before = {k: a.copy() for k, a in params.items()}
    info = opt.update_on_batch(params, x, y, mask)
    assert info.accepted and info.new_loss < info.loss
    assert info.new_loss == pytest.approx(hf.objective(params, x, y, mask))
    assert info.products == info.cg_iters + 1 and info.loss_evals >= 1
    assert 0 < info.chosen_iter <= info.cg_iters
    assert opt.damping == pytest.approx(hf.update_damping(10.0, info.rho))
    # a heavily damped step is a short gradient step: the model is accurate, rho ~ 1
    assert info.rho > 0.75 and opt.damping < 10.0
    assert any(np.any(params[k] != before[k]) for k in params)


def test_hessian_free_step_takes_its_curvature_from_the_first_sequences(rng):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    g = hf.pack(hf.linearize(params, x, y, mask).grads)          # the whole batch
    sub = hf.linearize(params, x[:2], y[:2], mask[:2])            # the curvature subset
    Ag = hf.pack(hf.gauss_newton_product(sub, hf.unpack(g, params), 10.0, 0.5))
    expected = -(g @ g) / (g @ Ag) * g          # the first CG iterate from 0, p = -g
    theta = hf.pack(params)
    opt = hf.HessianFree(damping=10.0, structural=0.5, max_cg_iters=1, curvature_size=2)
    info = opt.update_on_batch(params, x, y, mask)
    assert info.accepted and info.cg_iters == 1
    assert rel_error(hf.pack(params) - theta, expected) < 1e-10
    # the loss and its decrease are those of the whole batch
    assert info.new_loss == pytest.approx(hf.objective(params, x, y, mask))
    # a curvature batch at least as large as the batch is the whole batch
    whole, large = make_params(np.random.default_rng(7)), make_params(np.random.default_rng(7))
    hf.HessianFree(max_cg_iters=5).update_on_batch(whole, x, y, mask)
    hf.HessianFree(max_cg_iters=5, curvature_size=N).update_on_batch(large, x, y, mask)
    for k in whole:
        np.testing.assert_array_equal(whole[k], large[k])


@pytest.mark.parametrize("loss", ["mse", "softmax"])
def test_hessian_free_fits_a_small_batch(rng, loss):
    params = make_params(rng, K=3)
    x, y, mask = make_batch(rng, loss, K=3)
    opt = hf.HessianFree(loss=loss, damping=1.0, structural=0.1, max_cg_iters=40)
    first = hf.objective(params, x, y, mask, loss)
    for _ in range(15):
        info = opt.update_on_batch(params, x, y, mask)
    assert info.new_loss < 0.1 * first
    assert len(opt.history) == 15


def test_hessian_free_at_a_minimum_rejects_the_step_and_raises_damping(rng):
    params = make_params(rng)
    x, _, mask = make_batch(rng, "mse")
    h, _ = rnn_forward(x, np.zeros((N, H)), params["Wx"], params["Wh"], params["b"])
    y = h @ params["Wy"] + params["by"]          # the network fits exactly: g = 0
    before = {k: a.copy() for k, a in params.items()}
    opt = hf.HessianFree(damping=2.0)
    info = opt.update_on_batch(params, x, y, mask)
    assert not info.accepted and info.rho == -math.inf and info.cg_iters == 0
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    assert opt.damping == pytest.approx(3.0)


# ---------------------------------------------------------------- bad input
def test_bad_params_raise(rng):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    with pytest.raises(ValueError, match="keys"):
        hf.linearize({k: params[k] for k in ("Wx", "Wh", "b")}, x, y, mask)
    bad = dict(params, Wh=np.zeros((H, H + 1)))
    with pytest.raises(ValueError, match="Wh"):
        hf.pack(bad)
    with pytest.raises(ValueError, match="dtype"):
        hf.pack(dict(params, b=params["b"].astype(np.float32)))
    with pytest.raises(ValueError, match="theta"):
        hf.unpack(np.zeros(5), params)


def test_bad_batch_raises(rng):
    params = make_params(rng)
    x, y, mask = make_batch(rng, "mse")
    with pytest.raises(ValueError, match="inputs"):
        hf.linearize(params, x[..., :1], y, mask)
    with pytest.raises(ValueError, match="target"):
        hf.linearize(params, x, y[..., :1], mask)
    with pytest.raises(ValueError, match="loss"):
        hf.linearize(params, x, y, mask, loss="hinge")
    with pytest.raises(ValueError, match="activation"):
        hf.linearize(params, x, y, mask, activation="sigmoid")


def test_bad_direction_raises(rng):
    params = make_params(rng)
    lin = hf.linearize(params, *make_batch(rng, "mse"))
    v = random_direction(params, rng)
    with pytest.raises(ValueError, match="v"):
        hf.gauss_newton_product(lin, dict(v, Wx=np.zeros((D + 1, H))))
    with pytest.raises(ValueError, match="keys"):
        hf.r_forward(lin, {"Wx": v["Wx"]})
    with pytest.raises(ValueError, match="damping"):
        hf.gauss_newton_product(lin, v, damping=-1.0)
    with pytest.raises(ValueError, match="structural"):
        hf.gauss_newton_product(lin, v, damping=1.0, structural=-0.5)
    with pytest.raises(ValueError, match="Ry"):
        hf.loss_hessian_product(lin, np.zeros((N, T, K + 1)))


def test_bad_cg_arguments_raise():
    A = lambda v: v  # noqa: E731
    b = np.ones(3)
    with pytest.raises(ValueError, match="callable"):
        hf.conjugate_gradient(np.eye(3), b)
    with pytest.raises(ValueError, match="x0"):
        hf.conjugate_gradient(A, b, x0=np.ones(4))
    with pytest.raises(ValueError, match="max_iters"):
        hf.conjugate_gradient(A, b, max_iters=0)
    with pytest.raises(ValueError, match="tol"):
        hf.conjugate_gradient(A, b, tol=-1.0)
    with pytest.raises(ValueError, match="finite"):
        hf.conjugate_gradient(A, np.array([1.0, np.nan, 0.0]))


@pytest.mark.parametrize("damping", [0.0, -1.0, math.inf, math.nan])
def test_non_positive_damping_raises(damping):
    with pytest.raises(ValueError, match="damping"):
        hf.HessianFree(damping=damping)
    with pytest.raises(ValueError, match="damping"):
        hf.update_damping(damping, 0.5)


def test_bad_optimizer_settings_raise():
    with pytest.raises(ValueError, match="loss"):
        hf.HessianFree(loss="cross_entropy")
    with pytest.raises(ValueError, match="structural"):
        hf.HessianFree(structural=-1.0)
    with pytest.raises(ValueError, match="decay"):
        hf.HessianFree(decay=1.5)
    with pytest.raises(ValueError, match="max_cg_iters"):
        hf.HessianFree(max_cg_iters=0)
    for size in (0, 2.5, True):
        with pytest.raises(ValueError, match="curvature_size"):
            hf.HessianFree(curvature_size=size)
    with pytest.raises(ValueError, match="rho"):
        hf.update_damping(1.0, math.nan)
