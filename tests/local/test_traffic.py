"""Steady traffic: an exact rate in virtual time, counted per executed version, each invocation
routed by the weights in force at its own instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import SampleApp
from tests.local.conftest import publish_build, route


def _invocations(runtime: LocalRuntime, app: SampleApp, start, end, **dimensions: str) -> float:
    dims = [
        {"Name": "FunctionName", "Value": app.function_name},
        {"Name": "Resource", "Value": f"{app.function_name}:{app.alias}"},
        *({"Name": name, "Value": value} for name, value in dimensions.items()),
    ]
    answer = runtime.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Period=60,
        Statistics=["Sum"],
        StartTime=start,
        EndTime=end,
        Dimensions=dims,
    )
    return sum(point["Sum"] for point in answer["Datapoints"])


def test_rate_is_exact_in_virtual_time_and_counted_per_version(runtime: LocalRuntime, app: SampleApp) -> None:
    # given live -> v1 with 20 % on v3 (which fails orders with a coupon)
    route(runtime, app, "1", {publish_build(runtime, app, "v3"): 0.2})
    # when 5 orders per virtual second run for two virtual minutes
    with runtime.traffic(app.function_name, app.alias, rate_per_second=5.0) as traffic:
        started = runtime.clock.now()
        runtime.clock.sleep(120)
    counts = traffic.snapshot()
    # then exactly as many were sent as the rate says, on both versions
    assert counts.total == 600
    assert set(counts.sent) == {"1", "2"} and counts.failed.get("1", 0) == 0
    assert 0 < counts.failed["2"] < counts.sent["2"]
    # and CloudWatch counts the same invocations by version, plus one stream batch every 10 s
    window = (started - timedelta(minutes=1), runtime.clock.now() + timedelta(minutes=1))
    assert _invocations(runtime, app, *window) == 600 + 12
    by_version = {v: _invocations(runtime, app, *window, ExecutedVersion=v) for v in ("1", "2")}
    assert sum(by_version.values()) == 612 and by_version["2"] >= counts.sent["2"]  # batches are routed too
    assert not traffic.running


def test_each_invocation_is_routed_by_the_weights_in_force_at_its_instant(
    runtime: LocalRuntime, app: SampleApp
) -> None:
    v2 = publish_build(runtime, app, "v2")
    with runtime.traffic(app.function_name, app.alias, rate_per_second=5.0, drive_streams=False) as traffic:
        started = runtime.clock.now()
        runtime.clock.sleep(60)
        # when the alias moves after exactly one minute
        route(runtime, app, v2)
        runtime.clock.sleep(60)
    # then the first minute is v1's and the second v2's, to the invocation
    assert traffic.snapshot().sent == {"1": 300, v2: 300}
    # and CloudWatch agrees (the invocation due at the very instant of the change still went to v1)
    window = (started, started + timedelta(minutes=3))
    assert _invocations(runtime, app, *window, ExecutedVersion="1") == 300
    assert _invocations(runtime, app, *window, ExecutedVersion=v2) == 300


def test_the_same_seed_routes_and_fails_the_same_invocations() -> None:
    def run() -> tuple[dict[str, int], dict[str, int], list[float]]:
        with LocalRuntime(seed=7, start=datetime(2030, 1, 1, tzinfo=UTC)) as runtime:
            app = runtime.sample_app()
            route(runtime, app, "1", {publish_build(runtime, app, "v3"): 0.2})
            with runtime.traffic(app.function_name, app.alias, rate_per_second=5.0) as traffic:
                started = runtime.clock.now()
                runtime.clock.sleep(300)
            errors = runtime.client("cloudwatch").get_metric_statistics(
                Namespace="AWS/Lambda",
                MetricName="Errors",
                Period=60,
                Statistics=["Sum"],
                StartTime=started,
                EndTime=started + timedelta(minutes=5),
                Dimensions=[{"Name": "FunctionName", "Value": app.function_name}],
            )["Datapoints"]
            counts = traffic.snapshot()
            return counts.sent, counts.failed, [p["Sum"] for p in sorted(errors, key=lambda p: p["Timestamp"])]

    # two runtimes with the same seed: the same versions chosen, the same orders failed, minute by minute
    assert run() == run()
