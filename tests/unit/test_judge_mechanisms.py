"""One test per mechanism by which the judge was wrong on realistic CloudWatch data, built from the
numbers in the report that found them: overdispersed counts, a reference above the ceiling, margins
in absolute points only, late / missing / mixed periods, thin periods and slow burns, throttles,
queues, alarms judged by timing, and a watch without a control."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollgate.domain.judge.health import (
    AlarmObservation,
    CheckStatus,
    EvidenceKind,
    GaugeSample,
    HealthWindow,
    Outcome,
    PeriodStats,
    QueueSeries,
    StreamSeries,
    VersionSeries,
)
from rollgate.domain.judge.verdict import judge
from tests.unit.test_judge import POLICY, T0, canary_window, check, periods, watch_window


def series(invocations: float, errors: list[float | None], **stats: float | None) -> list[PeriodStats]:
    """One period per entry of `errors` (None: the Errors datapoint is missing), same traffic each."""
    values = {"p95_ms": 120.0, "p99_ms": 200.0, "throttles": 0.0, **stats}
    return [
        PeriodStats(start=T0 + timedelta(minutes=i), invocations=invocations, errors=e, **values)
        for i, e in enumerate(errors)
    ]


# --------------------------------------------------------------------------- overdispersion
def test_errors_clustered_in_time_are_compared_minute_by_minute_not_pooled():
    # given a function failing 0.5%, five minutes at 10% then five at 50%, and a downstream burst
    # failing 30% of both versions' requests in the seventh minute: pooled, the canary's 162 of
    # 3,000 (5.4%) against stable's 182 of 7,000 (2.6%) look like a doubling; minute by minute
    # both versions failed alike
    canary = [*series(100, [0.5] * 5), *series(500, [2.5, 150, 2.5, 2.5, 2.5])]
    stable = [*series(900, [4.5] * 5), *series(500, [2.5, 150, 2.5, 2.5, 2.5])]
    for i, p in enumerate(canary[5:], start=5):
        canary[i] = p.model_copy(update={"start": T0 + timedelta(minutes=i)})
        stable[i] = stable[i].model_copy(update={"start": T0 + timedelta(minutes=i)})
    # when
    errors = check(judge(canary_window(canary, stable), POLICY), "errors")
    # then
    assert errors.observed["canary_rate"] > 1.5 * errors.observed["reference_rate"]
    assert errors.status is not CheckStatus.FAIL


def test_errors_in_bursts_in_an_unpaired_watch_are_judged_against_the_baselines_own_spread():
    # given a function failing 1% on average in bursts (5% in some minutes, none in most) before the
    # deploy, and the new version catching two bursts in ten minutes of an unpaired watch: 2.1%
    before = [
        p.model_copy(update={"start": p.start - timedelta(minutes=30)})
        for p in series(9_000, [0, 450, 0, 0, 90, 0, 360, 0, 0, 0] * 3)
    ]
    new = series(1_000, [0, 0, 120, 0, 0, 0, 0, 90, 0, 0])
    errors = check(judge(watch_window(new, before), POLICY), "errors")
    assert errors.status is not CheckStatus.FAIL
    assert errors.observed["relative_dispersion"] > 1


def test_overdispersion_does_not_hide_a_sustained_regression():
    # given the same bursty stable version and a canary failing 8% every minute
    stable = series(9_000, [0, 450, 0, 0, 90, 0, 360, 0, 0, 0])
    canary = series(1_000, [80] * 10)
    assert check(judge(canary_window(canary, stable), POLICY), "errors").status is CheckStatus.FAIL


def test_a_reference_above_the_ceiling_keeps_its_margin():
    # given the stable version fails 8% (above the 5% ceiling) and the canary 9% on heavy traffic:
    # significant, but a twelfth more, well within the margin
    window = canary_window(periods(10, 10_000, 900), periods(10, 90_000, 7_200))
    verdict = judge(window, POLICY)
    assert check(verdict, "errors").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.HEALTHY


# --------------------------------------------------------------------------- margins: relative and absolute
def test_a_tenfold_regression_of_a_low_error_rate_at_300_requests_a_second_rolls_back():
    # given 300 req/s at 10%: stable 16,200 invocations a minute at 0.1%, canary 1,800 at 1.0%
    # (~160 failed requests a minute through the alias at 100%)
    window = canary_window(periods(5, 1_800, 18), periods(5, 16_200, 16.2))
    verdict = judge(window, POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY
    assert check(verdict, "errors").status is CheckStatus.FAIL


def test_a_doubling_of_a_low_error_rate_at_high_traffic_rolls_back():
    # given 3,000 req/s at 10%: 0.1% -> 0.2%
    window = canary_window(periods(5, 18_000, 36), periods(5, 162_000, 162))
    assert check(judge(window, POLICY), "errors").status is CheckStatus.FAIL


def test_a_half_point_wobble_of_a_function_that_normally_fails_ten_percent_is_not_a_rollback():
    # given stable failing 10.0% and the canary 10.5% at 300 req/s
    window = canary_window(periods(10, 1_800, 189), periods(10, 16_200, 1_620))
    verdict = judge(window, POLICY)
    assert check(verdict, "errors").status is CheckStatus.PASS
    assert verdict.outcome is not Outcome.UNHEALTHY


# --------------------------------------------------------------------------- late, missing and mixed periods
def test_late_stable_datapoints_are_not_a_ceiling_breach():
    # given a function failing 6% on both versions; stable's last two minutes not published yet
    canary = periods(5, 100, 6)
    stable = [*periods(3, 900, 54), *periods(2, None, start=T0 + timedelta(minutes=3))]
    verdict = judge(canary_window(canary, stable), POLICY)
    errors = check(verdict, "errors")
    assert verdict.outcome is not Outcome.UNHEALTHY
    assert "no datapoints from" not in errors.summary
    assert errors.observed["canary_total"] == 300  # the two unpublished minutes wait
    assert errors.observed["periods_not_yet_published"] == 2


def test_a_stable_version_with_nothing_published_yet_is_waited_for():
    # given the canary's first minutes published, none of stable's yet (a burning canary or not)
    verdict = judge(canary_window(periods(2, 100, 8), periods(2, None)), POLICY)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "not yet published" in check(verdict, "samples").summary


def test_errors_missing_while_invocations_are_present_are_missing_not_zero():
    # given 5 minutes of canary invocations whose Errors datapoints never came
    verdict = judge(canary_window(series(100, [None] * 5), periods(5, 900, 3)), POLICY)
    assert verdict.outcome is not Outcome.HEALTHY
    assert verdict.samples_seen == 0
    assert check(verdict, "errors").observed["periods_missing_counts"] == 5


def test_a_period_that_straddles_the_shift_counts_its_errors_but_not_its_latency():
    # given the shift at 12:00:30: the 12:00 minute mixes the old weight with the new. Each
    # version's counts are its own (ExecutedVersion), so its errors compare like any other
    # minute's (the first minute is what makes detection fast); its latency is the new
    # environments' cold starts, never judged
    canary = periods(5, 100, 0)
    canary[0] = canary[0].model_copy(update={"p95_ms": 900.0, "p99_ms": 900.0})
    window = canary_window(canary, periods(5, 900, 3), weight_since=T0 + timedelta(seconds=30))
    verdict = judge(window, POLICY)
    assert verdict.samples_seen == 500
    assert check(verdict, "samples").observed["periods_mixing_a_shift"] == 1
    assert check(verdict, "latency_p95").status is not CheckStatus.FAIL
    assert 900.0 not in check(verdict, "latency_p95").observed.get("canary_ms", [])


def test_warm_up_is_time_since_the_shift_not_one_dropped_period():
    # given the shift at 12:00:30 and cold starts slowing the minutes of 12:00 and 12:01: the first
    # mixes the shift, the second starts within the 60 s warm-up
    canary = periods(6, 600, 0)
    for i in (0, 1):
        canary[i] = canary[i].model_copy(update={"p99_ms": 900.0})
    window = canary_window(canary, periods(6, 5_400, 0), weight_since=T0 + timedelta(seconds=30))
    latency = check(judge(window, POLICY), "latency_p99")
    assert latency.status is CheckStatus.PASS
    assert latency.observed["periods_compared"] == 4


# --------------------------------------------------------------------------- thin periods and slow burns
def test_a_3x_slower_build_at_3_requests_a_second_fails_the_canary():
    # given 3 req/s at 10%: 18 canary invocations a minute (no p95 period has its 40), 3x slower
    canary = series(18, [0] * 6, p50_ms=180.0, p95_ms=360.0, p99_ms=600.0)
    stable = series(162, [0] * 6, p50_ms=60.0)
    verdict = judge(canary_window(canary, stable), POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY
    assert check(verdict, "latency_p95").status is CheckStatus.FAIL


def test_a_3x_slower_build_on_thin_periods_fails_without_a_published_median():
    canary = series(18, [0] * 6, p95_ms=360.0, p99_ms=600.0)
    verdict = judge(canary_window(canary, series(162, [0] * 6)), POLICY)
    assert check(verdict, "latency_p99").status is CheckStatus.FAIL


def test_a_latency_growing_two_percent_a_minute_is_a_slow_burn():
    # given the canary's p95 growing 2% a minute for 12 minutes (never 1.3x stable's)
    wobble = [1.0, 1.01, 0.99, 1.0, 1.01, 0.995, 1.0, 1.005, 0.99, 1.0, 1.01, 1.0]
    canary = [
        PeriodStats(start=T0 + timedelta(minutes=i), invocations=600, errors=0, p95_ms=120 * 1.02**i * w, p99_ms=200)
        for i, w in enumerate(wobble)
    ]
    verdict = judge(canary_window(canary, periods(12, 5_400, 0)), POLICY)
    assert check(verdict, "latency_p95").status is CheckStatus.PASS
    trend = check(verdict, "latency_trend")
    assert trend.status is CheckStatus.FAIL
    assert "slow burn" in trend.summary


def test_a_flat_noisy_latency_ratio_is_no_trend():
    wobble = [1.0, 1.04, 0.97, 1.02, 0.99, 1.03, 0.98, 1.01, 1.0, 0.97, 1.02, 1.0]
    canary = [
        PeriodStats(start=T0 + timedelta(minutes=i), invocations=600, errors=0, p95_ms=120 * w, p99_ms=200)
        for i, w in enumerate(wobble)
    ]
    verdict = judge(canary_window(canary, periods(12, 5_400, 0)), POLICY)
    assert check(verdict, "latency_trend").status is CheckStatus.PASS


def test_iterator_age_climbing_in_steps_with_a_flat_minute_is_still_rising():
    ages = [10_000, 40_000, 40_000, 70_000, 100_000, 100_000]
    stream = StreamSeries(
        mapping_uuid="kinesis-orders",
        baseline_ms=10_000,
        samples=[GaugeSample(at=T0 + timedelta(minutes=i), value=a) for i, a in enumerate(ages)],
    )
    verdict = judge(canary_window(periods(6, 100, 0), periods(6, 900, 3), streams=[stream]), POLICY)
    assert check(verdict, "streams").status is CheckStatus.FAIL


# --------------------------------------------------------------------------- throttles
def test_function_wide_throttling_during_an_unpaired_watch_is_not_a_rollback():
    # given the function throttling 5% during the watch (none before the deploy), same durations
    before = periods(30, 1_000, 3, throttles=0, start=T0 - timedelta(minutes=30))
    verdict = judge(watch_window(periods(5, 950, 3, throttles=50), before), POLICY)
    throttles = check(verdict, "throttles")
    assert throttles.status is CheckStatus.PASS
    assert "rolling back would not help" in throttles.summary
    assert verdict.outcome is Outcome.HEALTHY


# --------------------------------------------------------------------------- queues
def _dlq(kind: str, source: str | None, depths: tuple[float, float]) -> QueueSeries:
    return QueueSeries(
        queue="orders-dlq",
        baseline=depths[0],
        samples=[GaugeSample(at=T0 + timedelta(minutes=5), value=depths[1])],
        source=source,
        kind=kind,  # type: ignore[arg-type]
    )


def test_partial_batch_failures_produce_no_errors_and_are_still_judged():
    # given an SQS consumer: no Errors at all, but the canary reports 12% of its records failed
    canary = series(100, [0] * 5, batch_items=1_000, batch_item_failures=120)
    stable = series(900, [0] * 5, batch_items=9_000, batch_item_failures=9)
    verdict = judge(canary_window(canary, stable), POLICY)
    assert check(verdict, "errors").status is CheckStatus.PASS
    assert check(verdict, "batch_failures").status is CheckStatus.FAIL
    assert verdict.outcome is Outcome.UNHEALTHY


def test_a_source_queues_redrive_dlq_gets_no_share_of_invocations_tolerance():
    # given 2 more messages over 5,000 canary invocations: stray for an async DLQ (counted as
    # Errors already), not for the redrive DLQ of an SQS source (partial batch failures are not)
    window = canary_window(
        periods(5, 1_000, 3), periods(5, 9_000, 27), queues=[_dlq("source_redrive", "orders", (0, 3))]
    )
    dlq = check(judge(window, POLICY), "dlq")
    assert dlq.status is CheckStatus.FAIL
    assert "redrive of orders" in dlq.summary
    stray = canary_window(periods(5, 1_000, 3), periods(5, 9_000, 27), queues=[_dlq("async", None, (0, 2))])
    assert check(judge(stray, POLICY), "dlq").status is CheckStatus.PASS


# --------------------------------------------------------------------------- alarms: by evidence, not timing
def test_an_alias_alarm_tripped_by_the_old_version_does_not_fail_an_error_free_fix():
    # given no errors in 30 invocations of canary v7, while v6 fails 45 of 270 and trips the
    # alias-level errors alarm during the canary: the alarm's errors split by version are 0 of 45
    alarm = AlarmObservation(
        name="orders-errors", state_at_preflight="OK", state_now="ALARM", new_version_amount=0, total_amount=45
    )
    window = canary_window(periods(5, 6, 0), periods(5, 54, 9), alarms=[alarm])
    verdict = judge(window, POLICY)
    assert check(verdict, "alarms").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.HEALTHY


def test_an_alarm_whose_breach_is_mostly_the_canarys_fails():
    alarm = AlarmObservation(
        name="orders-errors", state_at_preflight="OK", state_now="ALARM", new_version_amount=30, total_amount=45
    )
    verdict = judge(canary_window(periods(3, 100, 0), periods(3, 900, 3), alarms=[alarm]), POLICY)
    alarms = check(verdict, "alarms")
    assert alarms.status is CheckStatus.FAIL
    assert alarms.kind is EvidenceKind.ORGANIC_PAIRED


# --------------------------------------------------------------------------- a watch with a control
def test_a_downstream_incident_during_a_paired_watch_is_not_a_rollback():
    # given the watch at 95/5 with the holdback on v6; minutes 2-4 a downstream outage fails 20%
    # of both versions' requests
    new = series(1_900, [4, 4, 380, 380, 380, 4])
    holdback = series(100, [0, 0, 20, 20, 20, 0])
    window = HealthWindow(
        phase="watch",
        canary_weight=95,
        elapsed_seconds=360,
        canary=VersionSeries(version="7", periods=new),
        stable=VersionSeries(version="6", periods=holdback),
    )
    verdict = judge(window, POLICY)
    assert verdict.outcome is not Outcome.UNHEALTHY
    assert check(verdict, "errors").kind is EvidenceKind.ORGANIC_PAIRED
    assert "holdback v6" in check(verdict, "errors").summary


def _p95_series(values: list[float]) -> list[PeriodStats]:
    return [
        PeriodStats(start=T0 + timedelta(minutes=i), invocations=600, errors=0, p95_ms=v, p99_ms=2 * v)
        for i, v in enumerate(values)
    ]


def test_a_jit_warm_up_outlasting_the_warm_up_window_is_not_a_rollback():
    # given a shift at 12:00 and p95 decaying from 3x to normal over six minutes
    canary = _p95_series([360, 330, 290, 250, 210, 170, 130])
    stable = _p95_series([120] * 7)
    verdict = judge(canary_window(canary, stable, weight_since=T0), POLICY)
    assert check(verdict, "latency_p95").status is not CheckStatus.FAIL
    assert verdict.outcome is not Outcome.UNHEALTHY


def test_a_slow_build_that_has_finished_warming_up_fails():
    # given a cold first minutes, then flat at 2.5x (a 50% canary: both series serve 600 a minute)
    canary = _p95_series([360, 330, 300, 300, 300, 300, 300])
    verdict = judge(canary_window(canary, _p95_series([120] * 7), weight=50, weight_since=T0), POLICY)
    assert check(verdict, "latency_p95").status is CheckStatus.FAIL


def test_dlq_growth_the_old_versions_inflow_explains_is_not_a_regression():
    # given a DLQ that took ~3 stray poison messages over the deployment's time before it: +3
    queue = _dlq("async", None, (10, 13)).model_copy(update={"expected_growth": 2.5})
    window = canary_window(periods(5, 20, 0), periods(5, 180, 0), queues=[queue])
    assert check(judge(window, POLICY), "dlq").status is CheckStatus.PASS
    flood = _dlq("async", None, (10, 40)).model_copy(update={"expected_growth": 2.5})
    assert (
        check(judge(canary_window(periods(5, 20, 0), periods(5, 180, 0), queues=[flood]), POLICY), "dlq").status
        is CheckStatus.FAIL
    )


def test_a_doubled_low_error_rate_is_not_healthy_while_the_data_could_rule_a_doubling_out():
    # given 100 req/s at 10% for 7 minutes: canary 0.6% of 4,200 against stable's 0.3% of 37,800;
    # a canary failing like stable would have ruled a doubling out by now (~3,900 invocations)
    verdict = judge(canary_window(periods(7, 600, 3.6), periods(7, 5_400, 16.2)), POLICY)
    assert verdict.outcome is not Outcome.HEALTHY
    # and one failing like stable is HEALTHY on the same traffic
    assert judge(canary_window(periods(7, 600, 1.8), periods(7, 5_400, 16.2)), POLICY).outcome is Outcome.HEALTHY


def test_dead_letters_of_the_old_versions_earlier_failures_are_not_the_fixs():
    # given the old version failing 5% before the deploy and the fix failing none in the watch,
    # while the DLQ takes 25 more of the old version's retried events
    before = periods(30, 1_000, 50, start=T0 - timedelta(minutes=30))
    queue = _dlq("async", None, (400, 425))
    window = watch_window(periods(5, 1_000, 0), before, queues=[queue])
    assert check(judge(window, POLICY), "dlq").status is CheckStatus.PASS


def _paired_watch(new: list[PeriodStats], holdback: list[PeriodStats]) -> HealthWindow:
    """A watch at 95/5 after a pre-deploy half hour of 6,000 invocations a minute at 0.35%."""
    return HealthWindow(
        phase="watch",
        canary_weight=95,
        elapsed_seconds=60.0 * len(new),
        canary=VersionSeries(version="7", periods=new),
        stable=VersionSeries(version="6", periods=holdback),
        baseline=VersionSeries(version="6", periods=periods(30, 6_000, 21, start=T0 - timedelta(minutes=30))),
    )


def test_the_holdbacks_noise_does_not_raise_the_bar_for_ruling_a_doubling_out():
    # given a watch at 100 req/s: the new version fails 0.72%, the small holdback 0.5% (12 of 2,400,
    # within its noise of the 0.35% it failed before the deploy)
    verdict = judge(_paired_watch(periods(8, 5_700, 41), periods(8, 300, 1.5)), POLICY)
    # then a doubling is not ruled out against the old version's rate: not HEALTHY
    assert verdict.outcome is not Outcome.HEALTHY
    # and a new version failing as the old one did is HEALTHY on the same traffic
    assert judge(_paired_watch(periods(8, 5_700, 20), periods(8, 300, 1.5)), POLICY).outcome is Outcome.HEALTHY


def test_a_holdback_failing_significantly_more_than_before_sets_the_bar_in_an_incident():
    # given a downstream incident during the watch: both versions fail 4%, far above the 0.35%
    verdict = judge(_paired_watch(periods(8, 5_700, 228), periods(8, 300, 12)), POLICY)
    # then the new version is not held to the pre-deploy rate: HEALTHY, as the holdback fails alike
    assert verdict.outcome is Outcome.HEALTHY, verdict.summary


# --------------------------------------------------------------------------- low traffic tails
@pytest.mark.parametrize("stable_invocations", [90, 120])
def test_a_p99_no_period_can_give_does_not_hold_a_low_traffic_canary_forever(stable_invocations: int):
    # given a function at 3-4 requests a second behind a 50% canary: 90 invocations a minute on the
    # canary, 90 or 120 on stable: never the 200 a p99 comparison needs (120 gives a p99 of its own,
    # too thin to compare with), while p95 pools over ten healthy periods
    canary = series(90, [0.0] * 10)
    stable = series(stable_invocations, [0.0] * 10)
    # when
    verdict = judge(canary_window(canary, stable, weight=50), POLICY)
    # then p99 is judged on the stable's typical period or says why it is not, p95 stands for the
    # tail, and the release can be healthy
    p99 = check(verdict, "latency_p99")
    assert p99.status in (CheckStatus.PASS, CheckStatus.SKIPPED)
    assert p99.status is CheckStatus.PASS or "not judged" in p99.summary
    assert check(verdict, "latency_p95").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.HEALTHY


def test_a_p99_reference_too_thin_to_compare_is_skipped_with_the_reason():
    # given a stable version with one period of 120 invocations (a p99 of its own, weighing too
    # little to compare with) among periods of 90
    canary = series(90, [0.0] * 10)
    stable = series(90, [0.0] * 10)
    stable[5] = stable[5].model_copy(update={"invocations": 120.0})
    verdict = judge(canary_window(canary, stable, weight=50), POLICY)
    p99 = check(verdict, "latency_p99")
    assert p99.status is CheckStatus.SKIPPED and "not judged at this traffic" in p99.summary
    assert verdict.outcome is Outcome.HEALTHY


def test_a_thin_canary_against_a_thick_reference_still_waits_for_p99():
    # given a 5% canary (45 a minute) next to a stable version with 855: the reference has a p99
    canary = series(45, [0.0] * 3)
    stable = series(855, [0.0] * 3)
    p99 = check(judge(canary_window(canary, stable, weight=5), POLICY), "latency_p99")
    assert p99.status is not CheckStatus.SKIPPED


def test_a_thin_holdback_does_not_clear_what_the_pre_deploy_series_says():
    # given a quiet function's watch: the new version fails 17 of 750 (2.3%), the 5% holdback 0 of
    # 40, and the old version 0 of 900 in the half hour before the deploy
    window = HealthWindow(
        phase="watch",
        canary_weight=95,
        elapsed_seconds=600,
        canary=VersionSeries(version="7", periods=periods(10, 75, 1.7)),
        stable=VersionSeries(version="6", periods=periods(10, 4, 0)),
        baseline=VersionSeries(version="6", periods=periods(30, 30, 0, start=T0 - timedelta(minutes=30))),
    )
    verdict = judge(window, POLICY)
    # then the paired test alone cannot fail it, but the watch is not healthy either
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "too thin" in check(verdict, "errors").summary
