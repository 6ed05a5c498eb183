"""The few statistics the judge needs, in plain Python (it runs in Lambda: no numpy, no scipy).

Counts from CloudWatch are per-period sums, so everything here works on totals: x events out of n
trials. The tests are one-sided because only "worse" matters for a rollback.
"""

from __future__ import annotations

import math
from statistics import NormalDist

_STANDARD_NORMAL = NormalDist()
_TINY = 1e-300


def normal_sf(z: float) -> float:
    """P(Z >= z) for a standard normal Z, accurate far into the tail (erfc, not 1 - cdf)."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def normal_quantile(p: float) -> float:
    """The z with P(Z <= z) = p."""
    return _STANDARD_NORMAL.inv_cdf(p)


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction of the incomplete beta function."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 20_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-15:
            break
    return h


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function, for a, b > 0."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_continued_fraction(a, b, x) / a
    return 1.0 - front * _beta_continued_fraction(b, a, 1.0 - x) / b


def binomial_sf(k: float, n: float, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p): the exact upper tail (through I_p(k, n - k + 1))."""
    k, n = math.ceil(round(k, 9)), round(n)
    if k <= 0:
        return 1.0
    if k > n or p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    return min(1.0, max(0.0, regularized_beta(k, n - k + 1, p)))


def poisson_sf(k: float, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    k = math.ceil(round(k, 9))
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    term = math.exp(-mean)
    below = 0.0
    for i in range(k):
        below += term
        term *= mean / (i + 1)
    return min(1.0, max(0.0, 1.0 - below))


def restricted_mle(x1: float, n1: float, x2: float, n2: float, margin: float) -> tuple[float, float]:
    """The maximum-likelihood rates (p1, p2) under the constraint p1 - p2 = margin (-1 < margin < 1).

    The log-likelihood is concave in p2 on its feasible interval, so its derivative is decreasing and
    a bisection finds the maximum (this is the restricted estimate of Farrington & Manning, 1990,
    without the closed-form cubic, which is fragile at zero counts).
    """

    def slope(p2: float) -> float:
        # kept off 0 and 1: at a margin of a whole rate (a reference failing everything) the
        # feasible interval shrinks to a point
        p2 = min(max(p2, 1e-15), 1.0 - 1e-15)
        p1 = min(max(p2 + margin, 1e-15), 1.0 - 1e-15)
        total = 0.0
        if x1 > 0:
            total += x1 / p1
        if n1 - x1 > 0:
            total -= (n1 - x1) / (1.0 - p1)
        if x2 > 0:
            total += x2 / p2
        if n2 - x2 > 0:
            total -= (n2 - x2) / (1.0 - p2)
        return total

    low, high = max(0.0, -margin), min(1.0, 1.0 - margin)
    eps = 1e-12
    if slope(low + eps) <= 0:
        return low + margin, low
    if slope(high - eps) >= 0:
        return high + margin, high
    for _ in range(100):
        middle = (low + high) / 2
        if slope(middle) > 0:
            low = middle
        else:
            high = middle
    p2 = (low + high) / 2
    return p2 + margin, p2


def _score_z(
    x1: float, n1: float, x2: float, n2: float, margin: float, extra_variance: float = 0.0
) -> tuple[float, float]:
    """Farrington-Manning statistic for p1 - p2 against `margin`, and the restricted p1.
    `extra_variance` is added to the binomial variance of the difference (overdispersion)."""
    p1, p2 = restricted_mle(x1, n1, x2, n2, margin)
    variance = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2 + max(extra_variance, 0.0)
    excess = x1 / n1 - x2 / n2 - margin
    if variance <= 0:  # all-or-nothing counts at the edge of the feasible interval: the sign decides
        return (math.inf if excess > 0 else -math.inf if excess < 0 else 0.0), p1
    return excess / math.sqrt(variance), p1


def excess_rate_pvalue(x1: float, n1: float, x2: float, n2: float, margin: float, extra_variance: float = 0.0) -> float:
    """One-sided p-value for "rate 1 exceeds rate 2 by more than `margin`" (x events of n each).

    H0: p1 - p2 <= margin. Two approximations, and the larger (more cautious) p-value is kept:
    - the Farrington-Manning score test (normal statistic with the variance taken at the restricted
      estimate under H0): right for large counts, and it accounts for the reference's own noise;
    - the exact binomial tail of x1 at the restricted p1: right for small canary counts, where the
      normal statistic would call a single failure of a single invocation significant.
    Without a reference (n2 = 0) rate 2 is taken as 0. `extra_variance` (the between-period variance
    of the difference that overdispersed counts add, see `rate_dispersion`) widens the score test;
    the exact tail is kept as a floor for small counts.
    """
    if n1 <= 0:
        return 1.0
    if n2 <= 0:
        return binomial_sf(x1, n1, min(1.0, max(margin, 0.0)))
    z, p1 = _score_z(x1, n1, x2, n2, margin, extra_variance)
    return max(normal_sf(z), binomial_sf(x1, n1, p1))


def shortfall_pvalue(x1: float, n1: float, x2: float, n2: float, bound: float) -> float:
    """One-sided p-value for "rate 1 is below rate 2 + `bound`": small when the data rule out that
    rate 1 exceeds rate 2 by `bound` or more. The mirror of `excess_rate_pvalue` (score test and
    exact lower binomial tail, the larger kept). Without a reference rate 2 is taken as 0."""
    if n1 <= 0:
        return 1.0
    if n2 <= 0:
        return _binomial_cdf(x1, n1, min(1.0, max(bound, 0.0)))
    z, p1 = _score_z(x1, n1, x2, n2, bound)
    return max(normal_sf(-z), _binomial_cdf(x1, n1, p1))


def _binomial_cdf(k: float, n: float, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p)."""
    return 1.0 - binomial_sf(math.floor(round(k, 9)) + 1, n, p)


def invocations_to_rule_out(
    reference_rate: float,
    difference: float,
    bound: float,
    significance: float,
    reference_ratio: float,
    limit: int = 10_000_000,
) -> int | None:
    """How many canary invocations it takes, if the canary keeps failing at reference_rate +
    difference, for `shortfall_pvalue` to rule out an excess of `bound` at `significance`.

    `reference_ratio` is reference invocations per canary invocation (9 for a 10% canary behind an
    alias; a large number for a long pre-deploy series). None when it can never be ruled out (the
    canary already fails `bound` more than the reference) or would take more than `limit`.
    """
    p_ref = min(max(reference_rate, 0.0), 1.0)
    p_canary = min(max(p_ref + difference, 0.0), 1.0)
    if p_canary >= p_ref + bound:
        return None

    def ruled_out(n: int) -> bool:
        n_ref = n * reference_ratio
        return shortfall_pvalue(round(p_canary * n), n, p_ref * n_ref, n_ref, bound) < significance

    high = 1
    while not ruled_out(high):
        high *= 2
        if high > limit:
            return None
    low = high // 2
    while high - low > 1:  # the first n that rules out (the tail is monotone up to rounding steps)
        middle = (low + high) // 2
        if ruled_out(middle):
            high = middle
        else:
            low = middle
    return high


def rate_dispersion(periods: list[tuple[float, float]]) -> float:
    """Relative between-period variance of a rate (tau^2 / p^2) from per-period counts (x, n).

    Real error counts are overdispersed: they cluster in time and by caller, so a period's rate
    varies more than a binomial allows. With Var(x_i) = n_i p (1 - p) + n_i^2 tau^2, Pearson's
    statistic Q has expectation (k - 1) + tau^2 / (p (1 - p)) * (N - sum(n_i^2) / N), which gives the
    moment estimate (DerSimonian and Laird's, for rates). Returned relative to p^2 so it scales to a
    version with a different rate. 0 with fewer than 3 periods or no events.
    """
    usable = [(x, n) for x, n in periods if n > 0]
    if len(usable) < 3:
        return 0.0
    total_n = sum(n for _, n in usable)
    total_x = sum(x for x, _ in usable)
    p = total_x / total_n
    if p <= 0.0 or p >= 1.0:
        return 0.0
    q = sum((x - n * p) ** 2 / (n * p * (1 - p)) for x, n in usable)
    spread = total_n - sum(n * n for _, n in usable) / total_n
    if spread <= 0:
        return 0.0
    tau2 = max(0.0, q - (len(usable) - 1)) * p * (1 - p) / spread
    return tau2 / (p * p)


def theil_sen_slope(xs: list[float], ys: list[float]) -> float:
    """The median of the pairwise slopes: a trend line one outlier cannot drag (0 for < 2 points)."""
    slopes = [
        (ys[j] - ys[i]) / (xs[j] - xs[i]) for i in range(len(xs)) for j in range(i + 1, len(xs)) if xs[j] != xs[i]
    ]
    if not slopes:
        return 0.0
    slopes.sort()
    middle = len(slopes) // 2
    return slopes[middle] if len(slopes) % 2 else (slopes[middle - 1] + slopes[middle]) / 2


def increasing_trend_pvalue(values: list[float]) -> float:
    """One-sided Mann-Kendall p-value for "the series keeps increasing" (normal approximation with
    the tie correction and a continuity correction). It counts ordered pairs, so it needs no model
    of the noise and ignores step shapes: a flat stretch between two climbs is no evidence against
    the climb. 1.0 for fewer than 3 values."""
    n = len(values)
    if n < 3:
        return 1.0
    s = sum((values[j] > values[i]) - (values[j] < values[i]) for i in range(n) for j in range(i + 1, n))
    ties: dict[float, int] = {}
    for v in values:
        ties[v] = ties.get(v, 0) + 1
    variance = (n * (n - 1) * (2 * n + 5) - sum(t * (t - 1) * (2 * t + 5) for t in ties.values())) / 18
    if variance <= 0 or s <= 0:
        return 1.0
    return normal_sf((s - 1) / math.sqrt(variance))


def stratified_ratio_pvalue(periods: list[tuple[float, float, float, float]], ratio: float) -> float:
    """One-sided p-value for "version 1 fails more than `ratio` times as often as version 2", from
    paired periods (x1, n1, x2, n2) that ran side by side.

    Conditioned on each period's total failures, under H0 (rate1 = ratio x rate2 in every period)
    a failure is version 1's with probability pi = n1 ratio / (n1 ratio + n2), whatever the period's
    rate was: a downstream incident, a diurnal swing or errors clustered in time multiply both
    versions' rates alike and cancel out (a per-period paired test, in the spirit of
    Mantel-Haenszel). The count of version 1's failures is a sum of binomials. Periods whose pi are
    within _PI_GROUP of each other are taken together as Binomial(sum T, mean pi), which has the
    same mean and at least the variance; the groups (periods under different weights: a watch's
    window reaching back into the canary) are convolved, since one binomial over pi of 0.1 and 0.95
    would have several times the true variance and hide a regression.
    """
    failures = 0.0
    rows: list[tuple[float, float]] = []  # (pi, T) per period with failures
    for x1, n1, x2, n2 in periods:
        total = x1 + x2
        if total <= 0 or n1 <= 0:
            continue
        failures += x1
        rows.append((1.0 if n2 <= 0 else n1 * ratio / (n1 * ratio + n2), total))
    groups = _pi_groups(rows)
    expected = sum(t * pi for pi, t in groups)
    if not groups or failures <= expected:
        return 1.0
    if len(groups) == 1:
        pi, t = groups[0]
        return binomial_sf(failures, t, pi)
    return _sum_of_binomials_sf(failures, groups)


#: Periods whose share-under-H0 differ by at most this are one binomial in the stratified test.
_PI_GROUP = 0.05


def _pi_groups(rows: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """(mean pi, trials) per group of periods with pi within _PI_GROUP of the group's first."""
    groups: list[list[tuple[float, float]]] = []
    for pi, t in sorted(rows):
        if groups and pi - groups[-1][0][0] <= _PI_GROUP:
            groups[-1].append((pi, t))
        else:
            groups.append([(pi, t)])
    merged = []
    for group in groups:
        trials = sum(t for _, t in group)
        merged.append((sum(pi * t for pi, t in group) / trials, float(round(trials))))
    return merged


def _binomial_pmf_window(n: int, p: float) -> tuple[int, list[float]]:
    """Binomial(n, p)'s pmf over the values that carry its mass (beyond 10 standard deviations
    and 10 values past the mean it is negligible): (first value, probabilities)."""
    if p <= 0.0 or p >= 1.0:
        value = 0 if p <= 0.0 else n
        return value, [1.0]
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    low, high = max(0, math.floor(mean - 10 * sd - 10)), min(n, math.ceil(mean + 10 * sd + 10))
    log_p, log_q = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    pmf = [
        math.exp(base - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * log_p + (n - k) * log_q)
        for k in range(low, high + 1)
    ]
    return low, pmf


def _sum_of_binomials_sf(k: float, groups: list[tuple[float, float]]) -> float:
    """P(S >= k) for S the sum of independent Binomial(T, pi) over `groups` (pi, T)."""
    start, dist = 0, [1.0]
    for pi, t in groups:
        low, pmf = _binomial_pmf_window(int(t), pi)
        out = [0.0] * (len(dist) + len(pmf) - 1)
        for i, a in enumerate(dist):
            if a < 1e-300:
                continue
            for j, b in enumerate(pmf):
                out[i + j] += a * b
        start, dist = start + low, out
    first = math.ceil(round(k, 9)) - start
    if first <= 0:
        return 1.0
    return min(1.0, max(0.0, sum(dist[first:])))
