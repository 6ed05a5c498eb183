"""The judge's statistics against first principles (direct sums, brute force, simulation)."""

from __future__ import annotations

import math
import random

import pytest

from rollgate.domain.judge.stats import (
    binomial_sf,
    excess_rate_pvalue,
    increasing_trend_pvalue,
    invocations_to_rule_out,
    normal_sf,
    poisson_sf,
    rate_dispersion,
    restricted_mle,
    shortfall_pvalue,
    stratified_ratio_pvalue,
    theil_sen_slope,
)


def _binomial_tail_by_sum(k: int, n: int, p: float) -> float:
    return sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))


@pytest.mark.parametrize(
    ("k", "n", "p"),
    [(0, 5, 0.3), (1, 1, 0.05), (2, 3, 0.015), (3, 20, 0.015), (7, 50, 0.05), (40, 100, 0.3), (5, 5, 0.999)],
)
def test_binomial_tail_matches_the_direct_sum(k, n, p):
    assert binomial_sf(k, n, p) == pytest.approx(_binomial_tail_by_sum(k, n, p), rel=1e-9, abs=1e-300)


def test_binomial_tail_edges():
    assert binomial_sf(0, 10, 0.2) == 1.0
    assert binomial_sf(11, 10, 0.2) == 0.0
    assert binomial_sf(1, 10, 0.0) == 0.0


def test_binomial_tail_agrees_with_the_normal_limit_at_large_n():
    n, p, k = 200_000, 0.05, 10_300
    approximation = normal_sf((k - 0.5 - n * p) / math.sqrt(n * p * (1 - p)))
    assert binomial_sf(k, n, p) == pytest.approx(approximation, rel=0.05)


@pytest.mark.parametrize(("x1", "n1", "x2", "n2", "margin"), [(3, 40, 12, 3704, 0.01), (31, 412, 12, 3704, 0.01)])
def test_restricted_estimate_keeps_the_margin_and_maximises_the_likelihood(x1, n1, x2, n2, margin):
    p1, p2 = restricted_mle(x1, n1, x2, n2, margin)

    def log_likelihood(q2: float) -> float:
        q1 = q2 + margin
        return x1 * math.log(q1) + (n1 - x1) * math.log(1 - q1) + x2 * math.log(q2) + (n2 - x2) * math.log(1 - q2)

    assert p1 - p2 == pytest.approx(margin)
    best = max((i / 20_000 * (1 - margin) for i in range(1, 20_000)), key=log_likelihood)
    assert p2 == pytest.approx(best, abs=1e-4)


def test_a_tiny_real_difference_is_significant_without_a_margin_and_not_with_one():
    # 0.60% vs 0.50% over hundreds of thousands of invocations
    assert excess_rate_pvalue(3_600, 600_000, 27_000, 5_400_000, 0.0) < 1e-6
    assert excess_rate_pvalue(3_600, 600_000, 27_000, 5_400_000, 0.01) > 0.99


def test_a_single_failure_of_a_single_invocation_is_not_significant():
    assert excess_rate_pvalue(1, 1, 0, 9, 0.01) > 0.05


def test_the_test_holds_its_false_alarm_rate_at_the_null_boundary():
    # given canaries exactly at stable + margin, many times over (seeded)
    rng = random.Random(7)
    alpha, margin, p_stable = 0.01, 0.01, 0.005
    trials, alarms = 1_500, 0
    for _ in range(trials):
        n1, n2 = rng.choice([30, 200, 2_000]), 0
        n2 = n1 * 9
        x1 = sum(rng.random() < p_stable + margin for _ in range(n1))
        x2 = sum(rng.random() < p_stable for _ in range(n2))
        alarms += excess_rate_pvalue(x1, n1, x2, n2, margin) < alpha
    # then it rolls back no more often than the significance level promises (with sampling slack)
    assert alarms / trials <= 2 * alpha


def test_a_canary_failing_at_the_bound_is_rarely_declared_clear_of_it():
    # given canaries failing exactly 6 points more than stable (the excess a HEALTHY verdict must
    # rule out), at the sizes the judge asks for
    rng = random.Random(11)
    alpha, bound, p_stable = 0.01, 0.06, 0.005
    trials, cleared = 1_500, 0
    for _ in range(trials):
        n1 = rng.choice([20, 80, 300])
        x1 = sum(rng.random() < p_stable + bound for _ in range(n1))
        x2 = sum(rng.random() < p_stable for _ in range(n1 * 9))
        cleared += shortfall_pvalue(x1, n1, x2, n1 * 9, bound) < alpha
    # then the test clears them no more often than the significance level promises
    assert cleared / trials <= 2 * alpha


def test_invocations_to_rule_out_is_the_first_count_that_does():
    # given a canary failing like its stable version (0.5%) behind a 10% alias
    n = invocations_to_rule_out(0.005, 0.0, 0.06, 0.01, 9)
    # then about 80 invocations suffice, and fewer do not
    assert n is not None and 50 <= n <= 120
    assert shortfall_pvalue(round(0.005 * n), n, 0.005 * 9 * n, 9 * n, 0.06) < 0.01
    assert shortfall_pvalue(round(0.005 * (n - 1)), n - 1, 0.005 * 9 * (n - 1), 9 * (n - 1), 0.06) >= 0.01


def test_invocations_to_rule_out_grows_with_noise_and_gives_up_at_the_bound():
    assert invocations_to_rule_out(0.0, 0.0, 0.06, 0.01, 9) < invocations_to_rule_out(0.12, 0.0, 0.06, 0.01, 9)
    assert invocations_to_rule_out(0.01, 0.06, 0.06, 0.01, 9) is None


def test_a_canary_far_better_than_a_burning_stable_version_is_cleared_early():
    # 2 errors in 100 canary invocations while stable fails 12% of 900
    assert shortfall_pvalue(2, 100, 108, 900, 0.06) < 1e-4


def test_poisson_tail_matches_the_direct_sum():
    direct = 1 - sum(math.exp(-2.5) * 2.5**i / math.factorial(i) for i in range(6))
    assert poisson_sf(6, 2.5) == pytest.approx(direct)
    assert poisson_sf(0, 3.0) == 1.0 and poisson_sf(1, 0.0) == 0.0


def test_dispersion_is_zero_for_binomial_counts_and_large_for_bursts():
    rng = random.Random(7)
    steady = [(sum(rng.random() < 0.02 for _ in range(2_000)), 2_000) for _ in range(30)]
    assert rate_dispersion(steady) < 0.05
    assert rate_dispersion([(0, 9_000), (450, 9_000), (0, 9_000), (90, 9_000), (360, 9_000)]) > 1


def test_the_paired_test_holds_its_false_alarm_rate_when_an_incident_hits_both_versions():
    # given per-minute rates swinging 0.5% .. 30% for both versions alike, canary at 10%
    rng = random.Random(11)
    rejections = 0
    for _ in range(400):
        rows = []
        for _minute in range(8):
            rate = rng.choice([0.005, 0.005, 0.005, 0.3])
            n_c, n_s = 200, 1_800
            x_c = sum(rng.random() < rate for _ in range(n_c))
            x_s = sum(rng.random() < rate for _ in range(n_s))
            rows.append((x_c, n_c, x_s, n_s))
        rejections += stratified_ratio_pvalue(rows, 1.0) < 0.01
    assert rejections / 400 <= 0.02


def test_the_paired_test_sees_a_doubling_through_the_noise():
    rows = [(40, 1_000, 180, 9_000), (6, 1_000, 27, 9_000), (60, 1_000, 270, 9_000)]
    assert stratified_ratio_pvalue(rows, 1.5) < 0.01
    assert stratified_ratio_pvalue(rows, 2.5) > 0.05


def test_the_paired_test_is_exact_over_periods_under_different_weights():
    # a canary period at 10% and a watch period at 95%: the canary's failures are the sum of two
    # binomials of very different shares; one binomial over their mean share would have several
    # times the variance
    rows = [(3, 100, 6, 900), (19, 950, 0, 50)]
    shares = [100 / 1_000, 950 / 1_000]
    totals = [9, 19]

    def pmf(n: int, p: float) -> list[float]:
        return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]

    first, second = pmf(totals[0], shares[0]), pmf(totals[1], shares[1])
    exact = sum(a * b for i, a in enumerate(first) for j, b in enumerate(second) if i + j >= 22)
    assert stratified_ratio_pvalue(rows, 1.0) == pytest.approx(exact, rel=1e-9)
    assert exact < binomial_sf(22, 28, (9 * shares[0] + 19 * shares[1]) / 28)


def test_theil_sen_ignores_one_outlier_and_mann_kendall_sees_steps():
    assert theil_sen_slope([0, 1, 2, 3, 4], [0, 1, 50, 3, 4]) == pytest.approx(1.0)
    assert increasing_trend_pvalue([1, 2, 2, 3, 4, 4, 5, 6]) < 0.01
    assert increasing_trend_pvalue([3, 1, 4, 1, 5, 2, 3, 2]) > 0.1
