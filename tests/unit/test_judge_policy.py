"""The team's own rules in the judge: thresholds held for a duration (built-in and custom metrics,
the reference-breaches-too rule, missing data) and custom metrics compared paired and unpaired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rollgate.domain.judge.health import (
    CheckStatus,
    CustomSeries,
    GaugeSample,
    HealthWindow,
    Outcome,
    PeriodStats,
    QueueSeries,
    StreamSeries,
    VersionSeries,
)
from rollgate.domain.judge.verdict import judge
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import HealthPolicy, parse_model

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def policy(**fields: Any) -> HealthPolicy:
    return parse_model(HealthPolicy, {"warmup_seconds": 0, **fields}, "health")


def minutes(values: list[float | None], *, invocations: float = 600, field: str = "errors") -> list[PeriodStats]:
    """One period per value: `field` set to it (errors as a count of `invocations`), the rest healthy."""
    rows = []
    for i, value in enumerate(values):
        stats: dict[str, Any] = {
            "start": T0 + timedelta(minutes=i),
            "invocations": invocations,
            "errors": 0.0,
            "throttles": 0.0,
            "p50_ms": 60.0,
            "p95_ms": 120.0,
            "p99_ms": 200.0,
        }
        stats[field] = value
        rows.append(PeriodStats(**stats))
    return rows


def window(canary: list[PeriodStats], stable: list[PeriodStats], **extra: Any) -> HealthWindow:
    return HealthWindow(
        phase="canary",
        canary_weight=10,
        elapsed_seconds=60.0 * len(canary),
        canary=VersionSeries(version="7", periods=canary),
        stable=VersionSeries(version="6", periods=stable),
        weight_since=T0,
        observed_at=T0 + timedelta(minutes=len(canary) + 10),
        **extra,
    )


def check_of(verdict_checks: list, name: str):
    return next(c for c in verdict_checks if c.name == name)


ERRORS_10_FOR_5 = {"thresholds": [{"metric": "error_rate", "above": 0.10, "for_seconds": 300}]}


# --------------------------------------------------------------------------- thresholds
def test_an_error_rate_above_the_limit_for_the_duration_fails_naming_the_run() -> None:
    canary = minutes([72.0] * 5, invocations=600)  # 12% in five periods in a row
    stable = minutes([6.0] * 5, invocations=5400)
    verdict = judge(window(canary, stable), policy(**ERRORS_10_FOR_5))
    check = check_of(verdict.checks, "threshold:error_rate")
    assert check.status is CheckStatus.FAIL
    assert check.observed["longest_breach_periods"] == 5
    assert "above 10% for 300 s (5 period(s))" in check.summary
    assert verdict.outcome is Outcome.UNHEALTHY


def test_a_breach_shorter_than_the_duration_holds_the_verdict_and_does_not_fail() -> None:
    canary = minutes([0.0, 0.0, 0.0, 72.0, 72.0], invocations=600)
    stable = minutes([0.0] * 5, invocations=5400)
    verdict = judge(window(canary, stable), policy(**ERRORS_10_FOR_5))
    check = check_of(verdict.checks, "threshold:error_rate")
    assert check.status is CheckStatus.INCONCLUSIVE
    assert check.observed["breaching_now_periods"] == 2
    assert verdict.outcome is not Outcome.HEALTHY


def test_a_missing_period_neither_extends_nor_ends_a_run() -> None:
    # Errors missing while Invocations is present: not judged, the run of four breaches goes on
    canary = minutes([72.0, 72.0, None, 72.0, 72.0, 0.0], invocations=600)
    stable = minutes([0.0] * 6, invocations=5400)
    check = check_of(judge(window(canary, stable), policy(**ERRORS_10_FOR_5)).checks, "threshold:error_rate")
    assert check.observed["periods_judged"] == 5
    assert check.observed["longest_breach_periods"] == 4
    assert check.status is CheckStatus.PASS


def test_a_breach_the_stable_version_shares_is_not_the_releases_unless_the_limit_is_absolute() -> None:
    canary = minutes([72.0] * 5, invocations=600)
    stable = minutes([650.0] * 5, invocations=5400)  # a downstream incident: stable fails 12% too
    shared = check_of(judge(window(canary, stable), policy(**ERRORS_10_FOR_5)).checks, "threshold:error_rate")
    assert shared.status is CheckStatus.PASS
    assert shared.observed["breaches_shared_with_reference"] == 5
    absolute = {"thresholds": [{**ERRORS_10_FOR_5["thresholds"][0], "also_when_reference_breaches": True}]}
    strict = check_of(judge(window(canary, stable), policy(**absolute)).checks, "threshold:error_rate")
    assert strict.status is CheckStatus.FAIL


def test_thin_periods_and_no_data_are_not_judged() -> None:
    thin = minutes([5.0] * 5, invocations=8)  # 62% of 8 invocations: below min_invocations
    check = check_of(judge(window(thin, minutes([0.0] * 5)), policy(**ERRORS_10_FOR_5)).checks, "threshold:error_rate")
    assert check.status is CheckStatus.SKIPPED
    assert "at least 20 invocations" in check.summary


def test_a_p95_threshold_skips_the_warm_up_after_the_shift() -> None:
    canary = minutes([6000.0, 900.0, 900.0], field="p95_ms")
    stable = minutes([150.0] * 3, field="p95_ms", invocations=5400)
    rule = {"thresholds": [{"metric": "p95", "above": 5000}], "warmup_seconds": 60}
    check = check_of(judge(window(canary, stable), parse_model(HealthPolicy, rule)).checks, "threshold:p95")
    assert check.status is CheckStatus.PASS
    assert check.observed["periods_judged"] == 2
    slow = minutes([6000.0] * 3, field="p95_ms")
    failed = check_of(judge(window(slow, stable), parse_model(HealthPolicy, rule)).checks, "threshold:p95")
    assert failed.status is CheckStatus.FAIL
    assert "6,000 ms" in failed.summary


def test_iterator_age_and_dlq_thresholds_read_the_gauges_and_excuse_an_old_backlog() -> None:
    ages = [GaugeSample(at=T0 + timedelta(minutes=i), value=90_000.0) for i in range(3)]
    rules = {"thresholds": [{"metric": "iterator_age", "above": 60_000, "for_seconds": 120}]}
    fresh = window(
        minutes([0.0] * 3),
        minutes([0.0] * 3),
        streams=[StreamSeries(mapping_uuid="a" * 8 + "-0000-0000-0000-" + "0" * 12, baseline_ms=1000.0, samples=ages)],
    )
    assert check_of(judge(fresh, policy(**rules)).checks, "threshold:iterator_age").status is CheckStatus.FAIL
    dlq = {"thresholds": [{"metric": "dlq_depth", "above": 0}]}
    sample = [GaugeSample(at=T0 + timedelta(minutes=3), value=2.0)]
    new_backlog = window(
        minutes([0.0] * 3), minutes([0.0] * 3), queues=[QueueSeries(queue="q", baseline=0, samples=sample)]
    )
    old_backlog = window(
        minutes([0.0] * 3), minutes([0.0] * 3), queues=[QueueSeries(queue="q", baseline=2, samples=sample)]
    )
    assert check_of(judge(new_backlog, policy(**dlq)).checks, "threshold:dlq_depth").status is CheckStatus.FAIL
    assert check_of(judge(old_backlog, policy(**dlq)).checks, "threshold:dlq_depth").status is CheckStatus.PASS


# --------------------------------------------------------------------------- custom metrics
ORDERS = {
    "name": "orders",
    "namespace": "Shop",
    "metric_name": "OrdersPlaced",
    "stat": "Sum",
    "version_dimension": "Version",
    "per_invocation": True,
    "worse_when": "lower",
}


def gauges(values: list[float | None]) -> list[GaugeSample]:
    return [GaugeSample(at=T0 + timedelta(minutes=i), value=v) for i, v in enumerate(values)]


def test_a_per_version_business_metric_is_compared_per_invocation_so_the_weights_do_not_matter() -> None:
    canary, stable = minutes([0.0] * 4, invocations=600), minutes([0.0] * 4, invocations=5400)
    # 0.5 orders per request on both versions: 300 vs 2,700 orders a minute is no regression
    same = CustomSeries(name="orders", canary=gauges([300.0] * 4), reference=gauges([2700.0] * 4))
    healthy = judge(window(canary, stable, custom=[same]), policy(custom_metrics=[ORDERS]))
    assert check_of(healthy.checks, "metric:orders").status is CheckStatus.PASS
    # the new version places orders for a third of its requests: worse by far more than 1.2x
    fewer = CustomSeries(name="orders", canary=gauges([100.0] * 4), reference=gauges([2700.0] * 4))
    verdict = judge(window(canary, stable, custom=[fewer]), policy(custom_metrics=[ORDERS]))
    check = check_of(verdict.checks, "metric:orders")
    assert check.status is CheckStatus.FAIL
    assert check.kind.value == "organic_paired"
    assert "lower than stable v6 by more than 1.2x in 4 of 4 periods" in check.summary
    assert verdict.outcome is Outcome.UNHEALTHY


def test_one_odd_period_of_a_custom_metric_is_not_a_rollback() -> None:
    canary, stable = minutes([0.0] * 5, invocations=600), minutes([0.0] * 5, invocations=5400)
    series = CustomSeries(name="orders", canary=gauges([300, 80, 300, 300, 300]), reference=gauges([2700.0] * 5))
    check = check_of(
        judge(window(canary, stable, custom=[series]), policy(custom_metrics=[ORDERS])).checks, "metric:orders"
    )
    assert check.status is CheckStatus.PASS
    assert check.observed["periods_worse"] == 1


def test_a_required_custom_metric_without_data_keeps_the_verdict_from_healthy() -> None:
    canary, stable = minutes([0.0] * 10, invocations=600), minutes([0.0] * 10, invocations=5400)
    empty = CustomSeries(name="orders", canary=gauges([None] * 10), reference=gauges([None] * 10))
    verdict = judge(window(canary, stable, custom=[empty]), policy(custom_metrics=[ORDERS]))
    assert check_of(verdict.checks, "metric:orders").status is CheckStatus.INCONCLUSIVE
    assert verdict.outcome is Outcome.INCONCLUSIVE
    optional = judge(window(canary, stable, custom=[empty]), policy(custom_metrics=[{**ORDERS, "required": False}]))
    assert check_of(optional.checks, "metric:orders").status is CheckStatus.SKIPPED
    assert optional.outcome is Outcome.HEALTHY


def test_a_function_wide_metric_is_compared_with_its_pre_deploy_level() -> None:
    five_xx = {
        "name": "api_5xx_rate",
        "expression": "errors5xx / requests",
        "metrics": [
            {
                "id": "errors5xx",
                "namespace": "AWS/ApiGateway",
                "metric_name": "5XXError",
                "dimensions": {"ApiName": "shop"},
            },
            {
                "id": "requests",
                "namespace": "AWS/ApiGateway",
                "metric_name": "Count",
                "dimensions": {"ApiName": "shop"},
            },
        ],
        "min_delta": 0.01,
    }
    canary, stable = minutes([0.0] * 4, invocations=600), minutes([0.0] * 4, invocations=5400)
    series = CustomSeries(name="api_5xx_rate", canary=gauges([0.08] * 4), baseline=gauges([0.01] * 30))
    check = check_of(
        judge(window(canary, stable, custom=[series]), policy(custom_metrics=[five_xx])).checks, "metric:api_5xx_rate"
    )
    assert check.status is CheckStatus.FAIL
    assert check.kind.value == "unpaired"
    assert check.observed["pre_deploy_level"] == 0.01


def test_a_threshold_may_name_a_custom_metric() -> None:
    rules = {
        "custom_metrics": [{**ORDERS, "compare": False}],
        "thresholds": [{"metric": "orders", "below": 0.2, "for_seconds": 120}],
    }
    canary, stable = minutes([0.0] * 3, invocations=600), minutes([0.0] * 3, invocations=5400)
    series = CustomSeries(name="orders", canary=gauges([60.0] * 3), reference=gauges([2700.0] * 3))
    verdict = judge(window(canary, stable, custom=[series]), policy(**rules))
    assert [c.name for c in verdict.checks if c.name.startswith(("metric:", "threshold:"))] == ["threshold:orders"]
    assert check_of(verdict.checks, "threshold:orders").status is CheckStatus.FAIL


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"thresholds": [{"metric": "orders", "above": 1}]}, "'orders' is neither a built-in metric"),
        ({"thresholds": [{"metric": "error_rate"}]}, "give exactly one of above or below"),
        ({"thresholds": [{"metric": "p95", "below": 5}]}, "a built-in metric takes `above`"),
        ({"thresholds": [{"metric": "dlq_depth", "above": 0, "for_seconds": 60}]}, "for_seconds must be 0"),
        ({"custom_metrics": [{"name": "x", "namespace": "N"}]}, "give either metric_name"),
        ({"custom_metrics": [{"name": "x", "expression": "a + 1"}]}, "needs its input `metrics`"),
        ({"custom_metrics": [{**ORDERS, "version_dimension": None}]}, "per_invocation needs version_dimension"),
        ({"custom_metrics": [ORDERS, ORDERS]}, "names must be unique"),
        ({"custom_metrics": [{**ORDERS, "name": "Orders"}]}, "custom_metrics.0.name"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRequest, match="health") as refused:
        parse_model(HealthPolicy, fields, "health")
    assert message in str(refused.value)


def test_thin_periods_of_a_count_do_not_fail_on_votes_the_pooled_counts_do_not_bear_out() -> None:
    # 3 invocations a minute on the canary: a minute without an order is likely even when nothing is wrong
    canary, stable = minutes([0.0] * 4, invocations=3), minutes([0.0] * 4, invocations=27)
    series = CustomSeries(name="orders", canary=gauges([0.0, 0.0, 0.0, 1.0]), reference=gauges([13.0] * 4))
    check = check_of(
        judge(window(canary, stable, custom=[series]), policy(custom_metrics=[ORDERS], min_invocations=1)).checks,
        "metric:orders",
    )
    assert check.observed["periods_worse"] == 4
    assert check.observed["p_value"] > 0.01
    assert check.status is CheckStatus.PASS
