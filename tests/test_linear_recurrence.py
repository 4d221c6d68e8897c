"""Tests of rnnlib.linear_recurrence: the scan against the loop and closed forms, minGRU
and the LRU against their equations written out step by step, every backward against
finite differences, the training contract, and the refusal of bad input."""
import numpy as np
import pytest

from rnnlib import linear_recurrence as lr
from rnnlib._validation import ArgumentTypeError, NonFiniteError
from rnnlib.gradcheck import numerical_gradient_array, rel_error
from rnnlib.optim import Adam
from rnnlib.tasks import get_task
from rnnlib.train import train

LENGTHS = [1, 2, 3, 5, 8, 13, 64, 100]


def _scan_inputs(rng, N, T, H, complex_=False):
    a = rng.uniform(-1.2, 1.2, (N, T, H))
    b = rng.standard_normal((N, T, H))
    h0 = rng.standard_normal((N, H))
    if complex_:
        a = a * np.exp(1j * rng.uniform(0, 2 * np.pi, a.shape))
        b = b + 1j * rng.standard_normal(b.shape)
        h0 = h0 + 1j * rng.standard_normal(h0.shape)
    return a, b, h0


@pytest.mark.parametrize("T", LENGTHS)
@pytest.mark.parametrize("complex_", [False, True])
def test_scan_equals_loop(T, complex_):
    rng = np.random.default_rng(T)
    a, b, h0 = _scan_inputs(rng, 3, T, 4, complex_)
    h_scan = lr.linear_scan(a, b, h0)
    h_loop = lr.linear_scan_sequential(a, b, h0)
    assert h_scan.shape == (3, T, 4) and h_scan.dtype == a.dtype
    assert np.max(np.abs(h_scan - h_loop)) < 1e-12


def test_scan_float32_keeps_dtype_and_agrees():
    rng = np.random.default_rng(0)
    a, b, h0 = (v.astype(np.float32) for v in _scan_inputs(rng, 2, 37, 3))
    a *= np.float32(0.9)
    h = lr.linear_scan(a, b, h0)
    assert h.dtype == np.float32
    assert np.max(np.abs(h - lr.linear_scan_sequential(a, b, h0))) < 1e-5


def test_scan_matches_closed_form_of_a_constant_multiplier():
    # a_t = c for all t: h_t = c^t h0 + sum_{s<=t} c^{t-s} b_s.
    rng = np.random.default_rng(1)
    T, c = 29, 0.93
    b = rng.standard_normal((2, T, 3))
    h0 = rng.standard_normal((2, 3))
    t = np.arange(1, T + 1)
    weights = np.tril(c ** (t[:, None] - t[None, :]).astype(float))   # (t, s)
    expected = c ** t[None, :, None] * h0[:, None] + np.einsum("ts,nsh->nth", weights, b)
    h = lr.linear_scan(np.full_like(b, c), b, h0)
    assert np.max(np.abs(h - expected)) < 1e-12


def test_scan_is_not_the_loop_in_disguise():
    # The result of step t must not depend on later steps (causality of the doubling).
    rng = np.random.default_rng(2)
    a, b, h0 = _scan_inputs(rng, 1, 20, 2)
    h = lr.linear_scan(a, b, h0)
    b2 = b.copy()
    b2[:, 12:] += 5.0
    h2 = lr.linear_scan(a, b2, h0)
    assert np.array_equal(h[:, :12], h2[:, :12]) and not np.allclose(h[:, 12:], h2[:, 12:])


@pytest.mark.parametrize("method", lr.METHODS)
@pytest.mark.parametrize("complex_", [False, True])
def test_scan_backward_matches_finite_differences(method, complex_):
    rng = np.random.default_rng(3)
    a, b, h0 = _scan_inputs(rng, 2, 7, 3, complex_)
    h = lr.linear_scan(a, b, h0)
    dh = rng.standard_normal(h.shape) + (1j * rng.standard_normal(h.shape) if complex_ else 0)
    da, db, dh0 = lr.linear_scan_backward(dh, a, h, h0, method=method)
    args = [a, b, h0]
    parts = ("real", "imag") if complex_ else ("real",)
    # Loss L = Re sum(conj(dh) h); its gradient on z is dL/dRe z + i dL/dIm z.
    for k, analytic in enumerate((da, db, dh0)):
        for part in parts:
            def f(v, k=k, part=part):
                A = list(args)
                A[k] = v + 1j * args[k].imag if part == "real" else args[k].real + 1j * v
                if not complex_:
                    A[k] = v
                return np.real(np.conj(dh) * lr.linear_scan(*A))
            num = numerical_gradient_array(f, getattr(args[k], part).copy(), np.ones(h.shape))
            assert rel_error(getattr(analytic, part), num) < 1e-8, (k, part)


def _mingru_args(rng, N=2, T=6, D=3, H=4):
    return [rng.standard_normal((N, T, D)), rng.standard_normal((N, H)),
            rng.standard_normal((D, H)), rng.standard_normal((D, H)),
            rng.standard_normal(H), rng.standard_normal(H)]


def test_mingru_forward_matches_its_equations():
    rng = np.random.default_rng(4)
    x, h0, Wz, Wh, bz, bh = _mingru_args(rng, T=9)
    prev, expected = h0, []
    for t in range(x.shape[1]):
        z = 1 / (1 + np.exp(-(x[:, t] @ Wz + bz)))
        prev = (1 - z) * prev + z * (x[:, t] @ Wh + bh)
        expected.append(prev)
    for method in lr.METHODS:
        h, _ = lr.mingru_forward(x, h0, Wz, Wh, bz, bh, method=method)
        assert np.max(np.abs(h - np.stack(expected, axis=1))) < 1e-12


@pytest.mark.parametrize("method", lr.METHODS)
def test_mingru_backward_matches_finite_differences(method):
    rng = np.random.default_rng(5)
    args = _mingru_args(rng)
    h, cache = lr.mingru_forward(*args, method=method)
    dh = rng.standard_normal(h.shape)
    grads = lr.mingru_backward(dh, cache)
    names = ["x", "h0", "Wz", "Wh", "bz", "bh"]
    for k, name in enumerate(names):
        def f(z, k=k):
            A = list(args)
            A[k] = z
            return lr.mingru_forward(*A, method=method)[0]
        num = numerical_gradient_array(f, args[k].copy(), dh)
        assert grads[k].shape == args[k].shape
        assert rel_error(grads[k], num) < 1e-8, name


def _lru_args(rng, N=2, T=6, D=3, H=4, M=2):
    nu, theta = lr.lru_ring_init(H, rng, r_min=0.5, r_max=0.99)
    h0 = rng.standard_normal((N, H)) + 1j * rng.standard_normal((N, H))
    return [rng.standard_normal((N, T, D)), h0, nu, theta,
            rng.standard_normal((D, H)), rng.standard_normal((D, H)),
            rng.standard_normal((H, M)), rng.standard_normal((H, M)),
            rng.standard_normal((D, M))]


def test_lru_forward_matches_its_equations():
    rng = np.random.default_rng(6)
    x, h0, nu, theta, B_re, B_im, C_re, C_im, D = _lru_args(rng, T=11)
    lam = np.exp(-np.exp(nu) + 1j * np.exp(theta))
    gamma = np.sqrt(1 - np.abs(lam) ** 2)
    B, C = B_re + 1j * B_im, C_re + 1j * C_im
    prev, ys = h0, []
    for t in range(x.shape[1]):
        prev = lam * prev + gamma * (x[:, t] @ B)
        ys.append((prev @ C).real + x[:, t] @ D)
    for method in lr.METHODS:
        y, cache = lr.lru_forward(x, h0, nu, theta, B_re, B_im, C_re, C_im, D, method=method)
        assert y.dtype == np.float64 and cache.h.dtype == np.complex128
        assert np.max(np.abs(y - np.stack(ys, axis=1))) < 1e-12


@pytest.mark.parametrize("method", lr.METHODS)
def test_lru_backward_matches_finite_differences(method):
    rng = np.random.default_rng(7)
    args = _lru_args(rng)
    y, cache = lr.lru_forward(*args, method=method)
    dy = rng.standard_normal(y.shape)
    grads = lr.lru_backward(dy, cache)
    names = ["x", "h0"] + list(lr.LRU_PARAMS)
    for k, name in enumerate(names):
        if name == "h0":
            h0 = args[1]
            f_re = lambda z: lr.lru_forward(args[0], z + 1j * h0.imag, *args[2:])[0]  # noqa: E731
            f_im = lambda z: lr.lru_forward(args[0], h0.real + 1j * z, *args[2:])[0]  # noqa: E731
            assert rel_error(grads[1].real, numerical_gradient_array(f_re, h0.real.copy(), dy)) < 1e-8
            assert rel_error(grads[1].imag, numerical_gradient_array(f_im, h0.imag.copy(), dy)) < 1e-8
            continue

        def f(z, k=k):
            A = list(args)
            A[k] = z
            return lr.lru_forward(*A, method=method)[0]
        num = numerical_gradient_array(f, args[k].copy(), dy)
        assert grads[k].shape == args[k].shape and grads[k].dtype == np.float64
        assert rel_error(grads[k], num) < 1e-7, name


def test_lru_eigenvalues_are_inside_the_unit_disc_and_normalised():
    nu = np.linspace(-30, 5, 2001)
    theta = np.linspace(-8, 3, 2001)
    lam, gamma = lr.lru_eigenvalues(nu, theta)
    assert np.all(np.abs(lam) < 1)
    assert np.allclose(gamma ** 2 + np.abs(lam) ** 2, 1, atol=1e-12)
    assert np.allclose(np.angle(lam), np.angle(np.exp(1j * np.exp(theta))))


def test_lru_ring_init_draws_on_the_ring():
    rng = np.random.default_rng(8)
    nu, theta = lr.lru_ring_init(5000, rng, r_min=0.4, r_max=0.9, max_phase=np.pi / 10)
    lam, _ = lr.lru_eigenvalues(nu, theta)
    r = np.abs(lam)
    assert r.min() >= 0.4 - 1e-12 and r.max() <= 0.9 + 1e-12
    phase = np.exp(theta)
    assert phase.min() > 0 and phase.max() <= np.pi / 10 + 1e-12
    # Uniform in area: r^2 is uniform on [r_min^2, r_max^2], so its mean is the midpoint.
    assert abs(np.mean(r ** 2) - (0.4 ** 2 + 0.9 ** 2) / 2) < 0.01


def test_mingru_params_chrono_sets_the_memories():
    rng = np.random.default_rng(9)
    p = lr.mingru_params(2, 1000, rng, chrono=500.0)
    assert set(p) == {"Wz", "Wh", "bz", "bh"} and p["Wz"].shape == (2, 1000)
    assert np.all(p["bz"] <= 0) and np.all(p["bz"] >= -np.log(500.0))
    p32 = lr.mingru_params(2, 3, rng, dtype=np.float32)
    assert all(v.dtype == np.float32 for v in p32.values())


@pytest.mark.parametrize("kind", ["mingru", "lru"])
@pytest.mark.parametrize("task_name,loss,T", [("adding", "mse", 12), ("copy", "softmax", 22)])
def test_model_gradients_match_finite_differences(kind, task_name, loss, T):
    # Regression (adding) and classification (copy: softmax on the recall steps).
    rng = np.random.default_rng(10)
    task = get_task(task_name)
    x, y, m = task.sample(T, 3, rng)
    D, K = task.input_size, task.output_size
    if kind == "mingru":
        params, fn = lr.mingru_init(D, 4, K, rng, chrono=10.0), lr.mingru_loss_and_grads
    else:
        params, fn = lr.lru_init(D, 3, K, rng, width=4, max_phase=np.pi), lr.lru_loss_and_grads
        params["be"] += 0.3          # keep the ReLU pre-activations away from 0
    value, grads, out = fn(params, x, y, m, loss=loss)
    assert set(grads) == set(params) and out.shape == (3, T, K)
    if loss == "softmax":            # cross-entropy of the scores, summed over the recall steps
        logp = out - np.log(np.exp(out).sum(axis=-1, keepdims=True))
        expected = -np.take_along_axis(logp, y[..., None], axis=-1)[..., 0][m].sum() / 3
        assert abs(value - expected) < 1e-12
    for name, value in params.items():
        def f(z, name=name):
            saved = params[name]
            params[name] = z
            try:
                return np.array(fn(params, x, y, m, loss=loss)[0])
            finally:
                params[name] = saved
        num = numerical_gradient_array(f, value.copy(), np.array(1.0))
        assert rel_error(grads[name], num) < 1e-6, name


def test_mingru_trains_on_the_adding_problem():
    rng = np.random.default_rng(11)
    task = get_task("adding")
    params = lr.mingru_init(2, 8, 1, rng, chrono=50.0)
    hist = train(lr.mingru_loss_and_grads, params, Adam(0.05), task, 300, T=50,
                 batch_size=16, clip_norm=1.0, eval_every=50, stop_on_success=True, rng=rng)
    assert hist.solved_at is not None, hist.eval_error


@pytest.mark.parametrize("kind", ["mingru", "lru"])
def test_model_classes_predict_what_loss_and_grads_outputs(kind):
    rng = np.random.default_rng(13)
    x, y, m = get_task("adding").sample(15, 4, rng)
    model = (lr.MinGRUModel(2, 5, 1, rng, chrono=15.0) if kind == "mingru"
             else lr.LRUModel(2, 3, 1, rng, width=4))
    loss, grads, out = model.loss_and_grads(model.params, x, y, m)
    assert np.array_equal(model.predict(x), out) and set(grads) == set(model.params)
    scan_model = lr.MinGRUModel(2, 5, 1, np.random.default_rng(1), method="scan")
    seq_model = lr.MinGRUModel(2, 5, 1, np.random.default_rng(1))
    assert np.allclose(scan_model.predict(x), seq_model.predict(x), rtol=0, atol=1e-12)


def test_model_class_trains_through_train_with_its_predict():
    rng = np.random.default_rng(14)
    task = get_task("adding")
    model = lr.MinGRUModel(2, 8, 1, rng, chrono=50.0)
    hist = train(model, None, Adam(0.05), task, 300, T=50, batch_size=16, clip_norm=1.0,
                 eval_every=50, stop_on_success=True, rng=rng)
    assert hist.solved_at is not None
    x, y, m = task.sample(50, 500, np.random.default_rng(15))
    assert task.success(model.predict(x), y, m)


def test_bad_input_is_refused_with_the_argument_name():
    rng = np.random.default_rng(12)
    a, b, h0 = _scan_inputs(rng, 2, 5, 3)
    with pytest.raises(ArgumentTypeError, match="a must be"):
        lr.linear_scan(a.tolist(), b, h0)
    with pytest.raises(ValueError, match="b must have shape"):
        lr.linear_scan(a, b[:, :4], h0)
    with pytest.raises(ValueError, match="h0 must have shape"):
        lr.linear_scan(a, b, h0[:, :2])
    with pytest.raises(ArgumentTypeError, match="b has dtype"):
        lr.linear_scan(a, b.astype(np.float32), h0)
    with pytest.raises(ArgumentTypeError, match="a must be a float32"):
        lr.linear_scan(a.astype(np.int64), b, h0)
    bad = b.copy()
    bad[0, 1, 2] = np.nan
    with pytest.raises(NonFiniteError, match="b must be finite"):
        lr.linear_scan_sequential(a, bad, h0)
    bad_imag = b.astype(complex)
    bad_imag.imag[0, 1, 2] = np.inf
    with pytest.raises(NonFiniteError, match="imaginary"):
        lr.linear_scan(a + 0j, bad_imag, h0 + 0j)
    with pytest.raises(ValueError, match="a must have shape"):
        lr.linear_scan(a[0], b[0], h0)
    with pytest.raises(ValueError, match="method"):
        lr.linear_scan_backward(b, a, b, h0, method="fast")

    x, h0m, Wz, Wh, bz, bh = _mingru_args(rng)
    with pytest.raises(ValueError, match="Wz must have shape"):
        lr.mingru_forward(x, h0m, Wz[:2], Wh, bz, bh)
    with pytest.raises(ValueError, match="bh must have shape"):
        lr.mingru_forward(x, h0m, Wz, Wh, bz, bh[:2])
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        lr.mingru_forward(x[0], h0m, Wz, Wh, bz, bh)
    with pytest.raises(ValueError, match="method"):
        lr.mingru_forward(x, h0m, Wz, Wh, bz, bh, method="parallel")
    h, cache = lr.mingru_forward(x, h0m, Wz, Wh, bz, bh)
    with pytest.raises(ValueError, match="dh must have shape"):
        lr.mingru_backward(h[:, :2], cache)
    with pytest.raises(ArgumentTypeError, match="cache must be the MinGRUCache"):
        lr.mingru_backward(h, tuple(cache))

    args = _lru_args(rng)
    with pytest.raises(ArgumentTypeError, match="h0 must be"):
        lr.lru_forward(args[0], args[1].real.tolist(), *args[2:])
    with pytest.raises(ArgumentTypeError, match="h0 has dtype"):
        lr.lru_forward(args[0], args[1].real.copy(), *args[2:])
    with pytest.raises(ValueError, match="C_re must have shape"):
        lr.lru_forward(*args[:6], args[6][:2], *args[7:])
    with pytest.raises(ValueError, match="theta must have shape"):
        lr.lru_forward(*args[:3], args[3][:2], *args[4:])
    with pytest.raises(ValueError, match="r_min must be"):
        lr.lru_ring_init(4, rng, r_min=0.9, r_max=0.5)
    with pytest.raises(ValueError, match="max_phase must be"):
        lr.lru_ring_init(4, rng, max_phase=7.0)
    with pytest.raises(ArgumentTypeError, match="rng must be"):
        lr.lru_ring_init(4, 0)
    with pytest.raises(ValueError, match="chrono must be"):
        lr.mingru_params(2, 3, rng, chrono=1.0)
    with pytest.raises(ArgumentTypeError, match="hidden_size must be a"):
        lr.mingru_params(2, 3.0, rng)

    with pytest.raises(ValueError, match="method"):
        lr.MinGRUModel(2, 3, 1, rng, method="gpu")
    task = get_task("adding")
    xs, ys, ms = task.sample(10, 2, rng)
    params = lr.mingru_init(2, 3, 1, rng)
    del params["Wy"]
    with pytest.raises(ValueError, match=r"lack \['Wy'\]"):
        lr.mingru_loss_and_grads(params, xs, ys, ms)
    with pytest.raises(ArgumentTypeError, match="params must be a dict"):
        lr.lru_loss_and_grads([1], xs, ys, ms)
    with pytest.raises(ValueError, match="targets must have shape"):
        lr.lru_loss_and_grads(lr.lru_init(2, 3, 1, rng), xs, ys[:1], ms)


@pytest.mark.parametrize("cls", [lr.MinGRUModel, lr.LRUModel])
def test_for_task_picks_the_loss_of_the_task(cls):
    rng = np.random.default_rng(17)
    copy, adding = get_task("copy"), get_task("adding")
    model = cls.for_task(copy, 4, rng)
    assert model.loss == "softmax" and model.params["Wy"].shape[1] == copy.output_size
    x, y, m = copy.sample(25, 2, rng)
    value, grads, out = model.loss_and_grads(model.params, x, y, m)
    assert out.shape == (2, 25, 5) and np.array_equal(model.predict(x), out)
    # Untrained scores are near uniform: about 10 log 5 summed over the recall steps.
    assert abs(value - 10 * np.log(5)) < 2.0
    assert cls.for_task(adding, 4, rng).loss == "mse"
    with pytest.raises(ArgumentTypeError, match="task must be"):
        cls.for_task("copy", 4, rng)
    with pytest.raises(ValueError, match="loss"):
        cls(2, 3, 1, rng, loss="hinge")
    with pytest.raises(ValueError, match="targets"):
        model.loss_and_grads(model.params, x, y.astype(float), m)
