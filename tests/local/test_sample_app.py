"""The sample application orders-api: its builds behave as the demo story needs."""

from __future__ import annotations

import random
import statistics

from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import BUILDS, SampleApp, build_zip, code_sha256, order_payload, smoke_payload
from tests.local.conftest import publish_build


def test_builds_are_deterministic_zips_with_distinct_code() -> None:
    assert build_zip("v1") == build_zip("v1")
    assert len({code_sha256(build_zip(build)) for build in BUILDS}) == len(BUILDS)


def test_payloads_look_like_real_traffic_and_smoke_tests() -> None:
    rng = random.Random(5)
    orders = [order_payload(rng) for _ in range(2000)]
    share = sum("coupon" in order for order in orders) / len(orders)
    assert 0.27 <= share <= 0.33, share
    assert all(1 <= len(order["items"]) <= 3 and order["order_id"] for order in orders)
    assert "coupon" not in smoke_payload()


def test_sample_app_is_live_on_v1_with_a_dlq_a_tag_and_a_stream_consumer(runtime: LocalRuntime, app: SampleApp) -> None:
    lambda_ = runtime.client("lambda")
    assert lambda_.get_alias(FunctionName=app.function_name, Name=app.alias)["FunctionVersion"] == "1"
    assert lambda_.list_tags(Resource=app.function_arn)["Tags"] == {"rollgate:managed": "true"}
    config = lambda_.get_function_configuration(FunctionName=app.function_name, Qualifier="1")
    assert config["DeadLetterConfig"]["TargetArn"] == app.dlq_arn and config["CodeSha256"] == app.code_sha256
    assert app.stream_arn and app.event_source_mapping_uuid


def _run(runtime: LocalRuntime, app: SampleApp, version: str, payload: dict) -> tuple[str | None, dict]:
    result = runtime.data_plane.invoke(app.function_name, version, payload)
    return result.function_error, result.json()


def test_each_build_fails_the_way_the_story_says(runtime: LocalRuntime, app: SampleApp) -> None:
    versions = {"v1": "1", **{build: publish_build(runtime, app, build) for build in BUILDS[1:]}}
    coupon_order = {**smoke_payload(), "coupon": "WELCOME5"}
    for build in ("v1", "v2", "v6"):
        assert _run(runtime, app, versions[build], coupon_order)[0] is None, build
    assert _run(runtime, app, versions["v2"], smoke_payload())[1]["currency"] == "EUR"
    assert "currency" not in _run(runtime, app, versions["v1"], smoke_payload())[1]
    # v3: smoke passes, coupon orders fail
    assert _run(runtime, app, versions["v3"], smoke_payload())[0] is None
    assert _run(runtime, app, versions["v3"], coupon_order)[1]["errorType"] == "KeyError"
    # v4 and v5 cannot start
    assert _run(runtime, app, versions["v4"], smoke_payload())[1]["errorMessage"] == "'PAYMENTS_URL'"
    assert _run(runtime, app, versions["v5"], smoke_payload())[1]["errorType"] == "Runtime.ImportModuleError"


def test_v6_is_about_three_times_slower_than_v1(runtime: LocalRuntime, app: SampleApp) -> None:
    v6 = publish_build(runtime, app, "v6")
    durations = {version: [] for version in ("1", v6)}
    for version, samples in durations.items():
        for _ in range(200):
            runtime.data_plane.invoke(app.function_name, version, smoke_payload())
        samples.extend(
            float(line.split("Duration: ")[1].split(" ms")[0])
            for line in runtime.data_plane.logs(app.function_name)[-200:]
        )
    v1_mean, v6_mean = statistics.mean(durations["1"]), statistics.mean(durations[v6])
    assert 35 < v1_mean < 45 and 2.5 < v6_mean / v1_mean < 3.5, (v1_mean, v6_mean)
