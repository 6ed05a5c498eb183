"""Steady traffic: an exact rate in virtual time, counted per executed version."""

from __future__ import annotations

from datetime import timedelta

from local.runtime import LocalRuntime
from local.sample_app import SampleApp
from tests.local.conftest import publish_build, route


def test_rate_is_exact_in_virtual_time_and_counted_per_version(runtime: LocalRuntime, app: SampleApp) -> None:
    # given live -> v1 with 20 % on v3 (which fails orders with a coupon)
    route(runtime, app, "1", {publish_build(runtime, app, "v3"): 0.2})
    # when 5 orders per virtual second run for two virtual minutes
    with runtime.traffic(app.function_name, app.alias, rate_per_second=5.0) as traffic:
        started = traffic._started_at
        runtime.clock.sleep(120)
    elapsed = (runtime.clock.now() - started).total_seconds()
    counts = traffic.snapshot()
    # then as many were sent as the rate says (however slow the machine), on both versions
    assert 5 * elapsed - 15 <= counts.total <= 5 * elapsed + 1, (counts.total, elapsed)
    assert set(counts.sent) == {"1", "2"} and counts.failed.get("1", 0) == 0
    assert 0 < counts.failed["2"] < counts.sent["2"]
    # and CloudWatch counts the same invocations by version (stream batches come on top, one per 10 s)
    cloudwatch = runtime.client("cloudwatch")
    answer = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda", MetricName="Invocations", Period=60, Statistics=["Sum"],
        StartTime=started - timedelta(minutes=1), EndTime=runtime.clock.now() + timedelta(minutes=1),
        Dimensions=[{"Name": "FunctionName", "Value": app.function_name},
                    {"Name": "Resource", "Value": f"{app.function_name}:{app.alias}"}])
    total = sum(point["Sum"] for point in answer["Datapoints"])
    batches = elapsed // 10
    assert counts.total + batches - 2 <= total <= counts.total + batches + 2, (total, counts.total, batches)
    assert not traffic.running
