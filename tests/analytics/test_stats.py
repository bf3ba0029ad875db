"""The statistics against published reference values.

- Wilson score intervals: Newcombe RG (1998a), "Two-sided confidence intervals for the single
  proportion: comparison of seven methods", Statistics in Medicine 17:857-872, Table I,
  method 3 (score method without continuity correction).
- Differences of proportions: Newcombe RG (1998b), "Interval estimation for the difference
  between independent proportions: comparison of eleven methods", Statistics in Medicine
  17:873-890, Table II, method 10 (hybrid score without continuity correction).
- Two-proportion test: Agresti A (2007), "An Introduction to Categorical Data Analysis",
  2nd ed., Section 2.4.4: the Physicians' Health Study (myocardial infarction in 189 of
  11,034 physicians on placebo, 104 of 11,037 on aspirin), Pearson X² = 25.01 = z².
- Normal tail: Abramowitz & Stegun (1964), Table 26.1: P(|Z| ≥ 1.959964) = 0.05,
  P(|Z| ≥ 2.575829) = 0.01, P(|Z| ≥ 3.290527) = 0.001.
- Sample size and power: R's ``power.prop.test`` documentation (package stats): for
  p1 = 0.50, p2 = 0.75, n = 50 per group the power is 0.7401659; for power 0.90, n = 76.7.
"""

from __future__ import annotations

import math

import pytest

from thumbs.analytics import stats

# (successes, n) -> (lower, upper), Newcombe 1998a Table I, method 3
WILSON = [
    ((81, 263), (0.2553, 0.3662)),
    ((15, 148), (0.0624, 0.1605)),
    ((0, 20), (0.0000, 0.1611)),
    ((1, 29), (0.0061, 0.1718)),
]

# (x1, n1, x2, n2) -> interval of x1/n1 - x2/n2, Newcombe 1998b Table II, method 10
DIFFERENCES = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("observed", "published"), WILSON)
def test_wilson_interval_matches_newcombe_1998a(
    observed: tuple[int, int], published: tuple[float, float]
) -> None:
    low, high = stats.wilson(*observed) or (math.nan, math.nan)
    assert low == pytest.approx(published[0], abs=5e-5)
    assert high == pytest.approx(published[1], abs=5e-5)


def test_wilson_interval_is_none_without_observations_and_contains_the_rate() -> None:
    assert stats.wilson(0, 0) is None
    low, high = stats.wilson(7, 9) or (math.nan, math.nan)
    assert low < 7 / 9 < high


@pytest.mark.parametrize(("observed", "published"), DIFFERENCES)
def test_difference_interval_matches_newcombe_1998b(
    observed: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    x1, n1, x2, n2 = observed
    # newcombe_difference(a, b) is the interval of b - a
    low, high = stats.newcombe_difference(x2, n2, x1, n1) or (math.nan, math.nan)
    assert low == pytest.approx(published[0], abs=5e-5)
    assert high == pytest.approx(published[1], abs=5e-5)


def test_two_proportion_test_matches_agresti_aspirin_example() -> None:
    found = stats.two_proportion_z(189, 11034, 104, 11037)
    assert found is not None
    z, p = found
    assert z * z == pytest.approx(25.01, abs=0.005)
    assert z < 0  # B (aspirin) has the lower rate
    assert p == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    assert p < 1e-6


@pytest.mark.parametrize(("z", "p"), [(1.959964, 0.05), (2.575829, 0.01), (3.290527, 0.001)])
def test_two_sided_normal_tail_matches_abramowitz_stegun(z: float, p: float) -> None:
    assert stats.two_sided_p(z) == pytest.approx(p, rel=1e-5)
    assert stats.two_sided_p(-z) == pytest.approx(p, rel=1e-5)


def test_two_proportion_test_is_undefined_without_variation_or_observations() -> None:
    assert stats.two_proportion_z(0, 0, 3, 5) is None
    assert stats.two_proportion_z(5, 5, 9, 9) is None


def test_power_and_sample_size_match_r_power_prop_test() -> None:
    assert stats.power_of(50, 0.50, 0.75) == pytest.approx(0.7401659, abs=1e-6)
    assert stats.sample_size(0.50, 0.75, power=0.90) == pytest.approx(76.7, abs=0.05)
    # and they agree with each other at the default 80 % power
    n = stats.sample_size(0.80, 0.85)
    assert stats.power_of(n, 0.80, 0.85) == pytest.approx(0.80, abs=1e-9)


def test_histogram_median_interpolates_inside_the_middle_bin() -> None:
    edges = [0, 60, 300, 900]
    found = stats.histogram_median([1, 2, 1, 0], edges)
    assert found is not None
    assert (found.low, found.high) == (60, 300)
    assert found.value == pytest.approx(60 + (2 - 1) / 2 * 240)
    last = stats.histogram_median([0, 0, 0, 3], edges)
    assert last == stats.MedianEstimate(900, 900, None)
    assert stats.histogram_median([0, 0, 0, 0], edges) is None
