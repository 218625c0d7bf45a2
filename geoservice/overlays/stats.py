"""Honest statistics for the overlays: weighted shares with Wilson intervals on the effective sample size,
two-proportion z-tests, and rate ratios of counts with a Poisson confidence interval.

Weighted shares use Kish's effective sample size n_eff = (Σw)² / Σw², so a weighted sample is never treated
as more informative than it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.stats import norm

Z95 = float(norm.ppf(0.975))


def wilson(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for a share p observed in n (possibly effective, non-integer) respondents."""
    if n <= 0:
        return 0.0, 1.0
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z / denom * math.sqrt(max(p * (1 - p) / n + z2 / (4 * n * n), 0.0))
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Share:
    share: float
    n: int              # respondents (unweighted)
    n_effective: float  # Kish
    weight_sum: float
    low: float
    high: float


def weighted_share(hits: float, weight_sum: float, weight_sq_sum: float, n: int) -> Share | None:
    """A weighted share from Σw·y (hits), Σw and Σw²; None without respondents."""
    if n == 0 or weight_sum <= 0:
        return None
    p = hits / weight_sum
    n_eff = weight_sum * weight_sum / weight_sq_sum
    low, high = wilson(p, n_eff)
    return Share(p, n, n_eff, weight_sum, low, high)


@dataclass(frozen=True)
class Change:
    difference: float   # later share minus earlier, as a fraction
    low: float          # Newcombe's hybrid score interval for the difference
    high: float
    z: float
    p_value: float
    significant: bool   # at the 5% level, two-sided


def two_proportion_test(a: Share, b: Share, alpha: float = 0.05) -> Change:
    """Change from `a` to `b`: pooled two-proportion z-test on effective sample sizes, and Newcombe's
    (method 10) interval for the difference, built from the two Wilson intervals."""
    n1, n2 = a.n_effective, b.n_effective
    pooled = (a.share * n1 + b.share * n2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    diff = b.share - a.share
    if se == 0:
        z, p_value = 0.0, 1.0
    else:
        z = diff / se
        p_value = float(2 * norm.sf(abs(z)))
    low = diff - math.sqrt((b.share - b.low) ** 2 + (a.high - a.share) ** 2)
    high = diff + math.sqrt((b.high - b.share) ** 2 + (a.share - a.low) ** 2)
    return Change(diff, low, high, z, p_value, p_value < alpha)


@dataclass(frozen=True)
class RateRatio:
    ratio: float | None
    low: float | None
    high: float | None
    p_value: float | None


def ratio_of_ratios(before_in: int, during_in: int, before_ctrl: int, during_ctrl: int) -> RateRatio:
    """(during/before inside) / (during/before in the control), with the log-normal Poisson interval
    (var log = 1/a + 1/b + 1/c + 1/d). Undefined (None) when any count is zero."""
    counts = (before_in, during_in, before_ctrl, during_ctrl)
    if min(counts) <= 0:
        return RateRatio(None, None, None, None)
    ratio = (during_in / before_in) / (during_ctrl / before_ctrl)
    se = math.sqrt(sum(1 / c for c in counts))
    log_r = math.log(ratio)
    p_value = float(2 * norm.sf(abs(log_r) / se))
    return RateRatio(ratio, math.exp(log_r - Z95 * se), math.exp(log_r + Z95 * se), p_value)


def simple_ratio(before: int, during: int) -> float | None:
    return during / before if before > 0 else None
