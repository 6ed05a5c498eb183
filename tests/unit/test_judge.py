"""The health judge on hand-built series: each check's decision, and the traps (no data, empty
baseline, one noisy period, a fix released while the old version burns, tiny differences at huge
traffic, an old DLQ backlog)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rollgate.domain.judge.health import (
    AlarmObservation,
    Check,
    CheckStatus,
    GaugeSample,
    HealthWindow,
    Outcome,
    PeriodStats,
    QueueSeries,
    StreamSeries,
    Verdict,
    VersionSeries,
)
from rollgate.domain.judge.verdict import judge, samples_needed
from rollgate.domain.shared.models import HealthPolicy

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
POLICY = HealthPolicy()


def periods(
    count: int,
    invocations: float | None,
    errors: float | None = 0,
    *,
    throttles: float | None = 0,
    p95: float | None = 120.0,
    p99: float | None = 200.0,
    start: datetime = T0,
) -> list[PeriodStats]:
    """`count` identical one-minute periods; invocations=None is CloudWatch's "no datapoint"."""
    if invocations is None:
        return [PeriodStats(start=start + timedelta(minutes=i)) for i in range(count)]
    return [
        PeriodStats(
            start=start + timedelta(minutes=i),
            invocations=invocations,
            errors=errors,
            throttles=throttles,
            p95_ms=p95,
            p99_ms=p99,
        )
        for i in range(count)
    ]


def canary_window(
    canary: list[PeriodStats],
    stable: list[PeriodStats] | None,
    *,
    weight: int = 10,
    elapsed: float | None = None,
    **extra,
) -> HealthWindow:
    return HealthWindow(
        phase="canary",
        canary_weight=weight,
        elapsed_seconds=elapsed if elapsed is not None else 60.0 * max(len(canary), 1),
        canary=VersionSeries(version="7", periods=canary),
        stable=VersionSeries(version="6", periods=stable) if stable is not None else None,
        **extra,
    )


def watch_window(new: list[PeriodStats], baseline: list[PeriodStats] | None, **extra) -> HealthWindow:
    return HealthWindow(
        phase="watch",
        canary_weight=100,
        elapsed_seconds=60.0 * max(len(new), 1),
        canary=VersionSeries(version="7", periods=new),
        baseline=VersionSeries(version="6", periods=baseline) if baseline is not None else None,
        **extra,
    )


def check(verdict: Verdict, name: str) -> Check:
    return next(c for c in verdict.checks if c.name == name)


def healthy_traffic(**extra) -> HealthWindow:
    """Five minutes at 10% of ~17 req/s: 100 canary and 900 stable invocations a minute, 0.3% errors."""
    return canary_window(periods(5, 100, 0), periods(5, 900, 3), **extra)


# --------------------------------------------------------------------------- errors
def test_a_canary_failing_far_more_than_stable_is_unhealthy_with_the_numbers_in_the_summary():
    # given 31 errors in 412 canary invocations while stable fails 12 in 3,704
    window = canary_window(periods(4, 103, 7.75, p99=200), periods(4, 926, 3, p99=200), elapsed=240)
    # when
    verdict = judge(window, POLICY)
    # then
    assert verdict.outcome is Outcome.UNHEALTHY
    errors = check(verdict, "errors")
    assert errors.status is CheckStatus.FAIL
    assert "31/412 (7.5%)" in errors.summary and "12/3,704 (0.32%)" in errors.summary
    assert "+7.2 points" in errors.summary and "tolerated 0.40%" in errors.summary
    assert errors.observed["p_value_vs_reference"] < POLICY.significance
    assert verdict.summary.startswith("UNHEALTHY (errors)")
    assert "\n" not in verdict.summary


def test_a_tiny_real_difference_at_huge_traffic_is_not_a_rollback():
    # given 100 req/s of canary failing 0.60% against stable's 0.50%: real (millions of samples),
    # but a tenth of the 1-point margin
    window = canary_window(periods(10, 60_000, 360), periods(10, 540_000, 2_700))
    # when
    verdict = judge(window, POLICY)
    # then
    assert check(verdict, "errors").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.HEALTHY


def test_a_difference_beyond_the_margin_at_huge_traffic_is_a_rollback():
    # given the same traffic, canary failing 2% against 0.5%: 1.5 points, past the margin
    window = canary_window(periods(10, 60_000, 1_200), periods(10, 540_000, 2_700))
    # then
    assert check(judge(window, POLICY), "errors").status is CheckStatus.FAIL


def test_one_failed_invocation_out_of_one_is_not_evidence():
    # given the very first canary invocation failed (stable: 0 of 9)
    window = canary_window(periods(1, 1, 1), periods(1, 9, 0))
    # when
    verdict = judge(window, POLICY)
    # then not a rollback on one coin flip, and not healthy either
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert check(verdict, "errors").status is CheckStatus.INCONCLUSIVE


def test_a_failing_check_wins_while_samples_are_still_short():
    # given 5 of the first 6 canary invocations failed: far too few for HEALTHY, plenty for UNHEALTHY
    window = canary_window(periods(1, 6, 5), periods(1, 54, 0))
    # when
    verdict = judge(window, POLICY)
    # then
    assert check(verdict, "samples").status is CheckStatus.INCONCLUSIVE
    assert verdict.outcome is Outcome.UNHEALTHY
    assert verdict.failed_checks()[0].name == "errors"


@pytest.mark.parametrize(
    ("stable", "observed_at"),
    [(None, None), ([], T0 + timedelta(minutes=12)), (periods(5, None), T0 + timedelta(minutes=12))],
    ids=["no stable series", "stable series with no periods, settled", "stable periods without datapoints, settled"],
)
def test_an_empty_stable_series_does_not_let_a_regression_pass(stable, observed_at):
    # given a canary failing 30% and nothing to compare it with (long enough ago to be published)
    window = canary_window(periods(5, 20, 6), stable, observed_at=observed_at)
    # when
    verdict = judge(window, POLICY)
    # then the absolute ceiling still catches it
    errors = check(verdict, "errors")
    assert verdict.outcome is Outcome.UNHEALTHY
    assert errors.status is CheckStatus.FAIL
    assert "ceiling" in errors.summary and "no datapoints" in errors.summary


def test_an_empty_stable_series_with_a_healthy_canary_is_judged_against_the_ceiling_only():
    # given a canary failing 1% and no stable datapoints, the periods long published
    window = canary_window(periods(5, 100, 1), periods(5, None), observed_at=T0 + timedelta(minutes=12))
    # when
    errors = check(judge(window, POLICY), "errors")
    # then
    assert errors.status is CheckStatus.PASS
    assert "ceiling only" in errors.summary


def test_watch_phase_judges_against_the_pre_deploy_baseline():
    # given v7 now serves all traffic and fails 4%; v6 failed 0.3% over the 30 minutes before the deploy
    window = watch_window(periods(3, 1_000, 40), periods(30, 1_000, 3, start=T0 - timedelta(minutes=30)))
    # when
    verdict = judge(window, POLICY)
    # then
    errors = check(verdict, "errors")
    assert verdict.outcome is Outcome.UNHEALTHY
    assert "v6 before the deploy" in errors.summary and "all traffic" in errors.summary


def test_watch_phase_with_an_empty_baseline_falls_back_to_the_ceiling():
    # given the old version had no traffic before the deploy; v7 now fails 20%
    window = watch_window(periods(3, 50, 10), None)
    # then
    assert judge(window, POLICY).outcome is Outcome.UNHEALTHY


def test_watch_phase_healthy_release_is_healthy():
    window = watch_window(periods(3, 1_000, 3), periods(30, 1_000, 3, start=T0 - timedelta(minutes=30)))
    assert judge(window, POLICY).outcome is Outcome.HEALTHY


def test_watch_phase_two_failures_of_two_invocations_wait_for_more_evidence():
    # given 2 req/min after promotion and one minute where both invocations failed; v6 failed 2 of 54
    window = watch_window(
        [*periods(1, 2, 2), *periods(2, None, start=T0 + timedelta(minutes=1))],
        periods(30, 1.8, 0.067, start=T0 - timedelta(minutes=30)),
    )
    # when
    verdict = judge(window, POLICY)
    # then: significant on its own, but two failures with no concurrent control are not a rollback yet
    errors = check(verdict, "errors")
    assert verdict.outcome is not Outcome.UNHEALTHY
    assert errors.status is CheckStatus.INCONCLUSIVE
    assert "only 2 errors" in errors.summary and "3 are needed" in errors.summary


def test_watch_phase_a_third_failure_rolls_back():
    # given the same low traffic, and the new version keeps failing: 3 of 3
    window = watch_window(periods(3, 1, 1), periods(30, 1.8, 0.067, start=T0 - timedelta(minutes=30)))
    # then
    assert judge(window, POLICY).outcome is Outcome.UNHEALTHY


def test_the_canary_phase_needs_no_minimum_count_of_failures():
    # given a 10% canary at low traffic: 2 of 3 failed while stable failed none of 60
    window = canary_window(periods(1, 3, 2), periods(1, 60, 0))
    # then: the concurrent stable version rules out a blip hitting everything
    assert check(judge(window, POLICY), "errors").status is CheckStatus.FAIL


# --------------------------------------------------------------------------- the fix while the old version burns
def test_a_fix_released_while_the_old_versions_alarm_fires_is_promoted():
    # given v6 fails 12% and its alarm was already in ALARM at preflight (and still is: 90% of the
    # traffic is still v6); the fix v7 fails 0.4%
    window = canary_window(
        periods(5, 100, 0.4),
        periods(5, 900, 108),
        alarms=[AlarmObservation(name="orders-errors", state_at_preflight="ALARM", state_now="ALARM")],
    )
    # when
    verdict = judge(window, POLICY)
    # then
    assert verdict.outcome is Outcome.HEALTHY
    alarms = check(verdict, "alarms")
    assert alarms.status is CheckStatus.PASS
    assert "already in ALARM at preflight" in alarms.summary


def test_a_partial_fix_above_the_ceiling_is_not_rolled_back_to_something_worse():
    # given v6 fails 20%, the partial fix v7 fails 8%: above the 5% ceiling but far better
    window = canary_window(periods(10, 100, 8), periods(10, 900, 180))
    # when
    errors = check(judge(window, POLICY), "errors")
    # then
    assert errors.status is CheckStatus.PASS
    assert "rolling back would not help" in errors.summary


def test_above_the_ceiling_and_worse_than_stable_fails_even_within_the_margin():
    # given stable fails 4.5%, the canary 6.0% on heavy traffic: inside the 50% relative margin
    # (6.75%), yet above the 5% ceiling, which tightens the tolerated rate to 5.6% (half the margin)
    window = canary_window(periods(10, 10_000, 600), periods(10, 90_000, 4_050))
    # when
    errors = check(judge(window, POLICY), "errors")
    # then
    assert errors.status is CheckStatus.FAIL
    assert "capped by the ceiling" in errors.summary


# --------------------------------------------------------------------------- samples: never "no data means healthy"
@pytest.mark.parametrize(
    "canary",
    [[], periods(5, None)],
    ids=["no periods", "periods without datapoints"],
)
def test_a_canary_without_datapoints_is_inconclusive_never_healthy(canary):
    # given no datapoint at all for the canary (no traffic, or CloudWatch has not published yet)
    window = canary_window(canary, periods(5, 900, 0))
    # when
    verdict = judge(window, POLICY)
    # then
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.samples_seen == 0
    samples = check(verdict, "samples")
    assert samples.status is CheckStatus.INCONCLUSIVE
    assert "no datapoints" in samples.summary and "never healthy" in samples.summary


def test_too_few_canary_invocations_is_inconclusive_with_what_is_needed_and_how_long():
    # given 10 canary invocations in 5 minutes at 10% (about 20 req/min through the alias)
    window = canary_window(periods(5, 2, 0), periods(5, 18, 0), elapsed=300)
    # when
    verdict = judge(window, POLICY)
    # then
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert verdict.samples_seen == 10
    assert verdict.samples_needed == samples_needed(10, POLICY, 0.0)
    samples = check(verdict, "samples")
    assert f"10 of the ~{verdict.samples_needed:.0f} invocations" in samples.summary
    assert "at 10% of 20.0 req/min" in samples.summary and "min more" in samples.summary
    assert verdict.summary.startswith("INCONCLUSIVE")


def test_a_window_at_zero_weight_is_inconclusive_without_a_time_estimate():
    verdict = judge(canary_window(periods(2, 1, 0), periods(2, 900, 0), weight=0), POLICY)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "min more" not in check(verdict, "samples").summary


def test_enough_invocations_and_nothing_wrong_is_healthy():
    verdict = judge(healthy_traffic(), POLICY)
    assert verdict.outcome is Outcome.HEALTHY
    assert verdict.samples_seen == 500
    assert verdict.failed_checks() == []


def test_samples_needed_respects_the_floor_and_grows_with_the_stable_error_rate():
    # given
    clean, noisy = samples_needed(10, POLICY, 0.0), samples_needed(10, POLICY, 0.03)
    # then a noisier stable version needs more canary invocations to tell a regression apart
    assert POLICY.min_invocations <= clean < noisy
    # and a policy floor above the computed figure wins
    assert samples_needed(10, HealthPolicy(min_invocations=500), 0.0) == 500


def test_samples_needed_accounts_for_the_stable_versions_own_noise():
    # at 50% the stable version has as few invocations as the canary; at 100% (watch) the reference
    # is the long pre-deploy series
    assert samples_needed(100, POLICY, 0.05) < samples_needed(10, POLICY, 0.05) < samples_needed(50, POLICY, 0.05)


# --------------------------------------------------------------------------- throttles
def test_function_throttling_is_blamed_on_a_canary_that_holds_concurrency_longer():
    # given the function throttling 4% (none before the deploy) and the canary's invocations
    # lasting 3x as long as stable's: it is using up the function's concurrency
    canary = periods(5, 1_000, 0, throttles=40, p95=360)
    stable = periods(5, 9_000, 0, throttles=360, p95=120)
    before = periods(30, 10_000, 0, throttles=0, start=T0 - timedelta(minutes=30))
    window = canary_window(canary, stable, baseline=VersionSeries(version="6", periods=before))
    # when
    throttles = check(judge(window, POLICY), "throttles")
    # then
    assert throttles.status is CheckStatus.FAIL
    assert "3.0x as long" in throttles.summary


def test_a_canary_throttled_more_than_stable_is_not_blamed_without_evidence():
    # given the canary's throttle count far above stable's share but the same durations: throttles
    # are per function (one concurrency pool), so the split by version says nothing
    window = canary_window(periods(5, 100, 0, throttles=6), periods(5, 900, 0, throttles=0))
    assert check(judge(window, POLICY), "throttles").status is CheckStatus.PASS


def test_throttling_of_the_whole_function_is_not_held_against_the_canary():
    # given both versions throttled ~4% (the function's concurrency limit, not the new code)
    window = canary_window(periods(10, 1_000, 0, throttles=40), periods(10, 9_000, 0, throttles=380))
    throttles = check(judge(window, POLICY), "throttles")
    assert throttles.status is CheckStatus.PASS
    assert "rolling back would not help" in throttles.summary


# --------------------------------------------------------------------------- latency
def test_a_sustained_p99_regression_fails_latency():
    # given every period's p99 at 450 ms against stable's 200 ms over 600 invocations, p95 unchanged
    window = canary_window(periods(4, 600, 0, p99=450), periods(4, 5_400, 0, p99=200))
    # when
    verdict = judge(window, POLICY)
    # then
    assert check(verdict, "latency_p99").status is CheckStatus.FAIL
    assert check(verdict, "latency_p95").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.UNHEALTHY
    assert "3 of 3 periods" in check(verdict, "latency_p99").summary  # the first minute is warm-up


def test_a_single_noisy_latency_period_is_not_a_regression():
    # given one period in the middle of the canary 3x slower (a noisy neighbour), the rest normal
    canary = periods(5, 600, 0)
    canary[2] = canary[2].model_copy(update={"p95_ms": 400.0, "p99_ms": 900.0})
    window = canary_window(canary, periods(5, 5_400, 0))
    # when
    verdict = judge(window, POLICY)
    # then
    latency = check(verdict, "latency_p99")
    assert latency.status is CheckStatus.PASS
    assert "only 1 of 4 periods" in latency.summary
    assert verdict.outcome is Outcome.HEALTHY


def test_the_cold_starts_of_the_first_minute_plus_one_noisy_period_are_not_a_regression():
    # given the shift minute slow (every new environment starts cold) and one later noisy minute
    canary = periods(4, 600, 0)
    for i in (0, 2):
        canary[i] = canary[i].model_copy(update={"p99_ms": 900.0})
    # then
    assert check(judge(canary_window(canary, periods(4, 5_400, 0)), POLICY), "latency_p99").status is CheckStatus.PASS


def test_a_single_slow_period_out_of_two_is_not_a_regression_yet():
    canary = periods(2, 600, 0)
    canary[1] = canary[1].model_copy(update={"p99_ms": 900.0})
    assert (
        check(judge(canary_window(canary, periods(2, 5_400, 0)), POLICY), "latency_p99").status is not CheckStatus.FAIL
    )


@pytest.mark.parametrize(("slow", "expected"), [(3, CheckStatus.INCONCLUSIVE), (5, CheckStatus.FAIL)])
def test_thin_periods_must_agree_in_numbers(slow, expected):
    # given 50 invocations a period (2.5 beyond the p95: each period votes half): 3 slow periods are
    # not yet enough to fail (nor to pass), 5 are
    window = canary_window(periods(slow + 1, 50, 0, p95=300), periods(slow + 1, 450, 0, p95=120))
    assert check(judge(window, POLICY), "latency_p95").status is expected


@pytest.mark.parametrize(("slow", "expected"), [(2, CheckStatus.PASS), (3, CheckStatus.FAIL)])
def test_latency_fails_when_most_periods_breach(slow, expected):
    canary = periods(5, 200, 0)
    for i in range(5 - slow, 5):
        canary[i] = canary[i].model_copy(update={"p95_ms": 300.0})
    assert check(judge(canary_window(canary, periods(5, 1_800, 0)), POLICY), "latency_p95").status is expected


def test_latency_compares_each_period_with_the_same_period_of_stable():
    # given a load spike in minutes 2-4 slows both versions alike
    canary = periods(5, 200, 0, p95=120)
    stable = periods(5, 1_800, 0, p95=120)
    for i in (2, 3, 4):
        canary[i] = canary[i].model_copy(update={"p95_ms": 400.0})
        stable[i] = stable[i].model_copy(update={"p95_ms": 390.0})
    # then the canary is not blamed for the shared slowdown
    assert check(judge(canary_window(canary, stable), POLICY), "latency_p95").status is CheckStatus.PASS


def test_a_large_ratio_on_a_fast_function_needs_the_absolute_delta_too():
    # given 8 ms -> 20 ms: 2.5x, but only +12 ms (under the 25 ms delta)
    window = canary_window(periods(5, 200, 0, p95=20, p99=20), periods(5, 1_800, 0, p95=8, p99=8))
    assert check(judge(window, POLICY), "latency_p95").status is CheckStatus.PASS


def test_a_7x_slower_build_is_judged_from_thin_periods_pooled():
    # given 30 invocations a period (3 req/s at 10%): too few for a per-period vote, but the
    # "p95" (the second slowest) at 900 ms against stable's p99 of 200 ms, every period
    window = canary_window(periods(5, 30, 0, p95=900, p99=900), periods(5, 270, 0))
    verdict = judge(window, POLICY)
    latency = check(verdict, "latency_p99")
    assert latency.status is CheckStatus.FAIL
    assert "pooled over thin periods" in latency.summary


def test_thin_periods_of_a_normal_build_are_not_a_regression():
    # given 30 invocations a period whose p95/p99 are the slowest one or two, a little above stable's
    window = canary_window(periods(5, 30, 0, p95=160, p99=230), periods(5, 270, 0))
    verdict = judge(window, POLICY)
    assert check(verdict, "latency_p95").status is CheckStatus.PASS
    assert check(verdict, "latency_p99").status is CheckStatus.PASS


def test_watch_phase_latency_is_judged_against_the_baselines_typical_period():
    baseline = periods(30, 600, 0, p95=100, start=T0 - timedelta(minutes=30))
    window = watch_window(periods(3, 600, 0, p95=260), baseline)
    assert check(judge(window, POLICY), "latency_p95").status is CheckStatus.FAIL


# --------------------------------------------------------------------------- dead-letter queues
def _queue(baseline: float, *depths: float | None) -> QueueSeries:
    return QueueSeries(
        queue="orders-dlq",
        baseline=baseline,
        samples=[GaugeSample(at=T0 + timedelta(minutes=i), value=d) for i, d in enumerate(depths)],
    )


def test_an_old_dlq_backlog_without_growth_does_not_block_the_release():
    # given 5,000 messages left in the DLQ by the old version, and none added since preflight
    verdict = judge(healthy_traffic(queues=[_queue(5_000, 5_000, 5_000)]), POLICY)
    # then
    dlq = check(verdict, "dlq")
    assert dlq.status is CheckStatus.PASS
    assert "old backlog of 5,000" in dlq.summary
    assert verdict.outcome is Outcome.HEALTHY


def test_dlq_growth_since_preflight_is_unhealthy():
    # given 12 more dead letters while neither version failed an invocation the errors check saw
    verdict = judge(canary_window(periods(5, 100, 0), periods(5, 900, 0), queues=[_queue(5_000, 5_000, 5_012)]), POLICY)
    dlq = check(verdict, "dlq")
    assert dlq.status is CheckStatus.FAIL
    assert "orders-dlq grew 5,000 -> 5,012 messages (+12)" in dlq.summary


def test_dlq_growth_within_the_policy_allowance_passes():
    verdict = judge(healthy_traffic(queues=[_queue(0, 2)]), HealthPolicy(max_dlq_growth=3))
    assert check(verdict, "dlq").status is CheckStatus.PASS


def test_a_few_stray_dlq_messages_over_thousands_of_invocations_are_not_a_regression():
    # given 5 minutes of 1,000 invocations a minute of v7 and 2 more messages in the DLQ since preflight
    window = canary_window(periods(5, 1_000, 3), periods(5, 9_000, 27), queues=[_queue(656, 658)])
    # when
    dlq = check(judge(window, POLICY), "dlq")
    # then: 2 dead letters, fewer than the 150 failed invocations the errors check already judged
    # (and the old version's earlier failures still being retried)
    assert dlq.status is CheckStatus.PASS
    assert "orders-dlq grew +2, no more than the ~555 failed invocations" in dlq.summary


def test_dlq_growth_over_few_invocations_still_fails():
    # given 2 more messages in the DLQ while the canary served only 100 invocations (2%)
    window = canary_window(periods(5, 20, 0), periods(5, 180, 0), queues=[_queue(0, 2)])
    # then
    assert check(judge(window, POLICY), "dlq").status is CheckStatus.FAIL


def test_dlq_growth_without_canary_invocations_is_judged_by_count():
    window = canary_window(periods(3, None), periods(3, 100, 0), queues=[_queue(0, 2)])
    assert check(judge(window, POLICY), "dlq").status is CheckStatus.FAIL


def test_a_drained_dlq_is_not_growth():
    assert check(judge(healthy_traffic(queues=[_queue(40, 0)]), POLICY), "dlq").status is CheckStatus.PASS


# --------------------------------------------------------------------------- streams
def _stream(baseline_ms: float | None, *ages_ms: float | None) -> StreamSeries:
    return StreamSeries(
        mapping_uuid="kinesis-orders",
        baseline_ms=baseline_ms,
        samples=[GaugeSample(at=T0 + timedelta(minutes=i), value=a) for i, a in enumerate(ages_ms)],
    )


def test_iterator_age_growing_past_the_limit_and_still_rising_is_unhealthy():
    verdict = judge(healthy_traffic(streams=[_stream(2_000, 20_000, 50_000, 80_000, 110_000)]), POLICY)
    streams = check(verdict, "streams")
    assert streams.status is CheckStatus.FAIL
    assert "still rising" in streams.summary
    assert verdict.outcome is Outcome.UNHEALTHY


def test_a_lag_burst_that_is_being_drained_is_not_a_rollback():
    # given a burst took the age to 95 s, and the consumer is catching up
    verdict = judge(healthy_traffic(streams=[_stream(2_000, 40_000, 95_000, 60_000, 20_000)]), POLICY)
    assert check(verdict, "streams").status is CheckStatus.PASS


def test_a_rising_iterator_age_within_the_allowed_growth_passes():
    verdict = judge(healthy_traffic(streams=[_stream(2_000, 3_000, 5_000, 9_000)]), POLICY)
    assert check(verdict, "streams").status is CheckStatus.PASS


def test_without_a_preflight_level_the_first_reading_is_the_reference():
    verdict = judge(healthy_traffic(streams=[_stream(None, 100_000, 110_000, 120_000)]), POLICY)
    assert check(verdict, "streams").status is CheckStatus.PASS  # +20 s over the first reading


# --------------------------------------------------------------------------- alarms
@pytest.mark.parametrize("before", ["OK", "INSUFFICIENT_DATA"])
def test_an_alarm_the_new_version_breaches_on_its_own_fails(before):
    alarm = AlarmObservation(
        name="orders-latency", state_at_preflight=before, state_now="ALARM", new_version_breaches=True
    )
    verdict = judge(healthy_traffic(alarms=[alarm]), POLICY)
    alarms = check(verdict, "alarms")
    assert alarms.status is CheckStatus.FAIL
    assert f"orders-latency ({before} -> ALARM)" in alarms.summary
    assert verdict.outcome is Outcome.UNHEALTHY


def test_a_failing_alarm_wins_even_without_canary_data():
    # given the alarm's errors split by version: 40 of 50 from a canary with 10% of the traffic
    alarm = AlarmObservation(
        name="orders-errors", state_at_preflight="OK", state_now="ALARM", new_version_amount=40, total_amount=50
    )
    verdict = judge(canary_window([], periods(3, 900, 0), alarms=[alarm]), POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY


def test_an_alarm_without_evidence_of_the_version_is_not_held_against_the_release():
    alarm = AlarmObservation(name="orders-latency", state_at_preflight="OK", state_now="ALARM")
    verdict = judge(healthy_traffic(alarms=[alarm]), POLICY)
    alarms = check(verdict, "alarms")
    assert alarms.status is CheckStatus.INCONCLUSIVE
    assert "without evidence of which version moved it" in alarms.summary
    assert verdict.outcome is Outcome.HEALTHY


# --------------------------------------------------------------------------- the verdict as evidence
def test_the_verdict_is_json_for_the_ledger_and_names_every_check():
    # given a window exercising every check
    window = healthy_traffic(
        queues=[_queue(3, 3)],
        streams=[_stream(1_000, 1_000, 1_200)],
        alarms=[AlarmObservation(name="a", state_at_preflight="OK", state_now="OK")],
    )
    # when
    verdict = judge(window, POLICY)
    document = json.loads(json.dumps(verdict.model_dump(mode="json")))
    # then
    assert [c["name"] for c in document["checks"]] == [
        "samples",
        "errors",
        "batch_failures",
        "throttles",
        "latency_p95",
        "latency_p99",
        "latency_trend",
        "synthetic",
        "dlq",
        "streams",
        "alarms",
        "logs",
    ]
    assert all(c["summary"] and "\n" not in c["summary"] for c in document["checks"])
    assert all(c["kind"] for c in document["checks"])
    assert document["outcome"] == "HEALTHY"
    assert document["decided_by"] == "organic_paired"
