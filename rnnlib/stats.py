r"""Statistics of repeated runs: success rates with confidence intervals.

A success rate measured over a handful of seeds says little on its own: 3 successes
in 5 runs is compatible with a true rate anywhere from about 0.23 to 0.88. Every rate the
book reports carries the Wilson score interval :cite:`wilson1927`,

.. math::

    \frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1 - \hat p)}{n}
    + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}},

with :math:`\hat p = k/n` and :math:`z` the normal quantile of the confidence level. Unlike
the textbook interval :math:`\hat p \pm z\sqrt{\hat p(1-\hat p)/n}` it stays inside
[0, 1] and does not collapse to a point at 0 or n successes.
"""
import math
from statistics import NormalDist
from typing import NamedTuple

from ._validation import check_int, check_number


class Rate(NamedTuple):
    """A success rate and its confidence interval (unpacks as a 4-tuple)."""

    #: float, the observed rate k / n.
    rate: float
    #: float, lower end of the interval.
    low: float
    #: float, upper end of the interval.
    high: float
    #: int, the number of runs n.
    n: int

    def __str__(self):
        return f"{self.rate:.2f} [{self.low:.2f}, {self.high:.2f}] (n={self.n})"


def wilson_interval(successes, n, confidence=0.95):
    """The Wilson score interval of a binomial rate.

    Parameters
    ----------
    successes : int
        k, with 0 <= k <= n.
    n : int
        The number of runs, >= 1.
    confidence : float
        In (0, 1); 0.95 by default.

    Returns
    -------
    Rate
        ``(rate, low, high, n)``.
    """
    n = check_int("n", n, low=1)
    k = check_int("successes", successes, low=0, high=n)
    confidence = check_number("confidence", confidence, low=0, high=1, low_open=True,
                              high_open=True)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    # At k = 0 and k = n one end is exactly 0 or 1; rounding must not move it.
    low = 0.0 if k == 0 else max(0.0, centre - half)
    high = 1.0 if k == n else min(1.0, centre + half)
    return Rate(p, low, high, n)
