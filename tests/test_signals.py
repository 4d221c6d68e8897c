"""Tests of rnnlib.signals: shapes, determinism, closed forms and step-size agreement."""
import numpy as np
import pytest

from rnnlib.signals import mackey_glass, sine, sum_of_sines


def test_mackey_glass_shape_dtype_and_range():
    x = mackey_glass(1000)
    assert x.shape == (1000,) and x.dtype == np.float64
    # The tau = 17 attractor stays in roughly [0.4, 1.35]; a wrong sign or a
    # missing delay leaves this band or collapses to the fixed point 1.
    assert 0.3 < x.min() < 0.6 and 1.2 < x.max() < 1.45, (x.min(), x.max())
    assert x.std() > 0.15


def test_mackey_glass_is_deterministic_under_a_seed():
    a = mackey_glass(300, rng=np.random.default_rng(3))
    b = mackey_glass(300, rng=np.random.default_rng(3))
    c = mackey_glass(300, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-3
    np.testing.assert_array_equal(mackey_glass(50), mackey_glass(50))


def test_mackey_glass_matches_the_exponential_decay_without_production():
    # beta = 0 leaves dx/dt = -gamma x, so x(k) = x0 exp(-gamma k): RK4 with dt = 0.1
    # has a global error of order dt^4.
    x = mackey_glass(100, beta=0.0, gamma=0.1, x0=1.2, discard=0)
    np.testing.assert_allclose(x, 1.2 * np.exp(-0.1 * np.arange(100)), rtol=1e-9)


def test_mackey_glass_short_delay_converges_to_the_fixed_point():
    # For a short delay the fixed point x* with beta / (1 + x*^10) = gamma, i.e.
    # x* = 1, is stable.
    x = mackey_glass(50, tau=2.0, discard=400)
    np.testing.assert_allclose(x, 1.0, atol=1e-6)


def test_mackey_glass_two_step_sizes_agree():
    # Same history, dt = 0.1 and 0.05: the sampled series agree to 1e-4 over 400
    # time units (the documented accuracy of the scheme).
    a = mackey_glass(400, dt=0.1, discard=0)
    b = mackey_glass(400, dt=0.05, discard=0)
    assert np.abs(a - b).max() < 1e-4, np.abs(a - b).max()


def test_mackey_glass_sampling_is_subsampling_of_the_integration_grid():
    coarse = mackey_glass(100, sample_every=2.0, discard=10)
    fine = mackey_glass(200, sample_every=1.0, discard=10)
    np.testing.assert_allclose(coarse, fine[::2], rtol=0, atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n_samples=0), "n_samples"),
    (dict(n_samples=10, dt=-0.1), "dt"),
    (dict(n_samples=10, tau=17.05, dt=0.1), "integers"),
    (dict(n_samples=10, discard=-1.0), "discard"),
    (dict(n_samples=10, tau=0.1, dt=0.1), "tau / dt"),
])
def test_mackey_glass_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mackey_glass(**kwargs)


def test_sine_values_and_period():
    x = sine(100, period=20.0, amplitude=2.0, phase=0.5)
    assert x.shape == (100,)
    np.testing.assert_allclose(x[:5], 2.0 * np.sin(2 * np.pi * np.arange(5) / 20 + 0.5))
    np.testing.assert_allclose(x[20:], x[:-20], atol=1e-12)


def test_sum_of_sines_is_the_sum_of_sines():
    x = sum_of_sines(200, periods=(20.0, 7.3), amplitudes=(0.7, 0.3), phases=(0.0, 1.0))
    ref = sine(200, period=20.0, amplitude=0.7) + sine(200, period=7.3, amplitude=0.3, phase=1.0)
    np.testing.assert_allclose(x, ref, atol=1e-12)
    assert np.abs(sum_of_sines(500)).max() <= 1.0


@pytest.mark.parametrize("call, match", [
    (lambda: sine(10, period=0.0), "period"),
    (lambda: sine(2.5), "n_samples"),
    (lambda: sum_of_sines(10, periods=()), "periods"),
    (lambda: sum_of_sines(10, periods=(5.0, -1.0)), "period"),
    (lambda: sum_of_sines(10, periods=(5.0, 3.0), amplitudes=(1.0,)), "amplitudes"),
])
def test_sines_reject_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
