"""The Wilson interval against closed forms and published values."""
import math

import pytest

from rnnlib.stats import wilson_interval


def test_wilson_interval_matches_the_closed_form_at_3_of_5():
    z = 1.959963984540054
    n, p = 5, 0.6
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    r = wilson_interval(3, 5)
    assert r.rate == 0.6 and r.n == 5
    assert r.low == pytest.approx(centre - half, abs=1e-12)
    assert r.high == pytest.approx(centre + half, abs=1e-12)
    assert r.low == pytest.approx(0.2307, abs=1e-4) and r.high == pytest.approx(0.8824, abs=1e-4)


def test_wilson_interval_at_zero_and_all_successes_keeps_the_exact_end():
    zero, full = wilson_interval(0, 10), wilson_interval(10, 10)
    assert zero.low == 0.0 and zero.high == pytest.approx(0.2775, abs=1e-4)
    assert full.high == 1.0 and full.low == pytest.approx(1 - 0.2775, abs=1e-4)


def test_wilson_interval_narrows_with_more_runs():
    assert (wilson_interval(50, 100).high - wilson_interval(50, 100).low
            < wilson_interval(5, 10).high - wilson_interval(5, 10).low)


@pytest.mark.parametrize("k, n, conf, match", [
    (6, 5, 0.95, "successes must be an integer in"), (1, 0, 0.95, "n must be a positive integer"),
    (1.0, 5, 0.95, "successes must be an integer"), (1, 5, 1.0, "confidence must be in"),
    (1, 5, float("nan"), "confidence must be a finite number"), (True, 5, 0.9, "integer")])
def test_wilson_interval_refuses_bad_input(k, n, conf, match):
    with pytest.raises(ValueError, match=match):
        wilson_interval(k, n, conf)
