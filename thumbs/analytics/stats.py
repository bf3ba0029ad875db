"""The statistics of analytics, in plain Python (the standard library's normal distribution).

- **Wilson score interval** for a positive rate (Wilson 1927; method 3 of Newcombe 1998a):
  well-behaved for small counts and rates near 0 or 1, unlike the textbook p ± z·√(p(1-p)/n).
- **Newcombe's hybrid score interval** for the difference of two rates (method 10 of
  Newcombe 1998b), built from the two Wilson intervals.
- **Two-proportion z-test** with the pooled rate (the Pearson chi-square test of a 2x2
  table without continuity correction: z² = X²); two-sided p = erfc(|z| / √2).
- **Sample size** per group to tell a difference at a two-sided level alpha with a given power
  (the normal approximation without continuity correction, as R's ``power.prop.test``):
  n = (z(1-alpha/2)·√(2·p̄(1-p̄)) + z(power)·√(p₁(1-p₁) + p₂(1-p₂)))² / (p₁ - p₂)²,
  p̄ the mean of p₁ and p₂.
- **Median from a histogram**: the bin holding the middle value, interpolated linearly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

ALPHA = 0.05
POWER = 0.80
_NORMAL = NormalDist()
Z95 = _NORMAL.inv_cdf(1 - ALPHA / 2)  # 1.959963984540054

Interval = tuple[float, float]


def rate(successes: int, n: int) -> float | None:
    return successes / n if n else None


def wilson(successes: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval of ``successes / n``; None without observations."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x_a: int, n_a: int, x_b: int, n_b: int, z: float = Z95) -> Interval | None:
    """Interval of ``x_b/n_b - x_a/n_a`` (Newcombe's method 10); None when a side is empty."""
    ci_a, ci_b = wilson(x_a, n_a, z), wilson(x_b, n_b, z)
    if ci_a is None or ci_b is None:
        return None
    p_a, p_b = x_a / n_a, x_b / n_b
    (l_a, u_a), (l_b, u_b) = ci_a, ci_b
    d = p_b - p_a
    return (
        d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2),
        d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2),
    )


def two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z, exact in the tails (no 1 - cdf cancellation)."""
    return math.erfc(abs(z) / math.sqrt(2))


def two_proportion_z(x_a: int, n_a: int, x_b: int, n_b: int) -> tuple[float, float] | None:
    """``(z, two-sided p)`` of B against A with the pooled rate; None when undefined (a side
    without observations, or every observation the same)."""
    if n_a <= 0 or n_b <= 0:
        return None
    pooled = (x_a + x_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        return None
    z = (x_b / n_b - x_a / n_a) / se
    return z, two_sided_p(z)


def _quantiles(alpha: float, power: float) -> tuple[float, float]:
    return _NORMAL.inv_cdf(1 - alpha / 2), _NORMAL.inv_cdf(power)


def sample_size(p1: float, p2: float, *, alpha: float = ALPHA, power: float = POWER) -> float:
    """Observations per group for a two-sided test at ``alpha`` to tell ``p1`` from ``p2``
    with probability ``power`` (not rounded)."""
    if p1 == p2:
        return math.inf
    za, zb = _quantiles(alpha, power)
    mean = (p1 + p2) / 2
    root = za * math.sqrt(2 * mean * (1 - mean)) + zb * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return root * root / (p1 - p2) ** 2


def power_of(n: float, p1: float, p2: float, *, alpha: float = ALPHA) -> float:
    """The probability that the test with ``n`` per group tells ``p1`` from ``p2``."""
    za = _NORMAL.inv_cdf(1 - alpha / 2)
    mean = (p1 + p2) / 2
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return _NORMAL.cdf(
        (math.sqrt(n) * abs(p1 - p2) - za * math.sqrt(2 * mean * (1 - mean))) / spread
    )


@dataclass(frozen=True, slots=True)
class MedianEstimate:
    """The median of values known by bins: its bin ``[low, high)`` (``high`` None for the
    open last bin) and a linear interpolation inside it."""

    value: float
    low: float
    high: float | None


def histogram_median(counts: Sequence[int], edges: Sequence[float]) -> MedianEstimate | None:
    """``edges`` are the bins' lower edges, ascending; the last bin is open."""
    total = sum(counts)
    if total <= 0:
        return None
    middle = total / 2
    seen = 0
    for i, count in enumerate(counts):
        if count and seen + count >= middle:
            low = float(edges[i])
            high = float(edges[i + 1]) if i + 1 < len(edges) else None
            if high is None:
                return MedianEstimate(low, low, None)
            return MedianEstimate(low + (middle - seen) / count * (high - low), low, high)
        seen += count
    raise AssertionError("unreachable: the counts add up to the total")
