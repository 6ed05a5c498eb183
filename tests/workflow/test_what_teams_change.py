"""What teams actually change, released through the gates on the local runtime: an image by digest,
a configuration change, provisioned concurrency, old versions pruned, and the team's own hooks.

Each test asserts what an operator would check: the ledger's outcome and evidence, where the alias
ends, the configuration and allocations of the versions, and the event on the bus.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_local.sample_app import (
    SampleApp,
    build_zip,
    create_sample_app,
    order_payload,
    push_build_image,
    smoke_payload,
)
from rollgate_local.sample_app.hooks import create_hook
from tests.workflow.conftest import ALIAS, FUNCTION, Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


@contextmanager
def another_app(harness: Harness, name: str, *, build: str = "v1", image: bool = False) -> Iterator[SampleApp]:
    """A second orders-api, `build` live on version 1 of alias live, with two minutes of its own traffic."""
    app = create_sample_app(
        harness.runtime, function_name=name, alias=ALIAS, stream_name=None, build=build, image=image
    )
    with harness.runtime.traffic(function_name=name, alias=ALIAS, rate_per_second=5.0, payload_factory=order_payload):
        harness.runtime.clock.sleep(120)
        yield app


def record_of(harness: Harness, function_name: str = FUNCTION) -> dict[str, Any]:
    return harness.ledger_api.list_deployments(function_name, ALIAS)[0].document()


def versions_of(harness: Harness, function_name: str) -> list[str]:
    listed = harness.client("lambda").list_versions_by_function(FunctionName=function_name)["Versions"]
    return sorted((v["Version"] for v in listed if v["Version"] != "$LATEST"), key=int)


def allocation(harness: Harness, version: str, function_name: str = FUNCTION) -> dict[str, Any] | None:
    try:
        return dict(
            harness.client("lambda").get_provisioned_concurrency_config(FunctionName=function_name, Qualifier=version)
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ProvisionedConcurrencyConfigNotFoundException":
            raise
        return None


def checks(record: dict[str, Any], gate: str) -> dict[str, dict[str, Any]]:
    return {e["check"]: e for e in record["evidence"].get(gate, [])}


def _through_alias(harness: Harness, metric: str, version: str, stat: str, *, function_name: str = FUNCTION) -> float:
    """`stat` of AWS/Lambda `metric` of `version` invoked through the alias (user traffic) in the
    last hour, per CloudWatch (0 without datapoints)."""
    now = harness.runtime.clock.now()
    answer = harness.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName=metric,
        Dimensions=[
            {"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{ALIAS}"},
            {"Name": "ExecutedVersion", "Value": version},
        ],
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=[stat],
    )
    values = [float(point[stat]) for point in answer["Datapoints"]]
    return (max(values) if stat == "Maximum" else sum(values)) if values else 0.0


# ---------------------------------------------------------------------------------------- images
def test_an_image_released_by_digest_is_promoted_and_a_missing_digest_is_rejected(harness: Harness) -> None:
    # given an image function (v1's image live) and v2's image pushed to the same repository
    with another_app(harness, "orders-image", image=True) as app:
        v2_image = push_build_image(harness.runtime, app.function_name, "v2")
        missing = v2_image.rsplit(":", 1)[0] + ":" + "0" * 64
        # when a digest the registry does not hold is released, then preflight rejects it, nothing changed
        body = harness.request("v2", function_name=app.function_name, artifact={"image_uri": missing})
        rejected = harness.run(body, "image-missing")
        assert rejected.outcome == "REJECTED", rejected.reason()
        assert "does not exist" in rejected.reason() and missing in rejected.reason()
        assert versions_of(harness, app.function_name) == ["1"]
        assert harness.alias(app.function_name) == ("1", {})
        # when v2's image is released by its digest
        body = harness.request("v2", function_name=app.function_name, artifact={"image_uri": v2_image})
        promoted = harness.run(body, "image-v2")
        # then it went through every gate, and the version it promoted runs that image
        assert promoted.outcome == "PROMOTED", promoted.reason()
        assert harness.alias(app.function_name) == ("2", {})
        code = harness.client("lambda").get_function(FunctionName=app.function_name, Qualifier="2")["Code"]
        assert code["ResolvedImageUri"] == v2_image
        assert harness.runtime.data_plane.invoke(app.function_name, ALIAS, smoke_payload()).json()["currency"] == "EUR"
        record = record_of(harness, app.function_name)
        assert record["status"] == "PROMOTED" and record["to_version"] == "2"
        assert {"preflight", "update", "publish", "smoke", "canary", "watch"} <= set(record["evidence"])
        assert v2_image.rsplit(":", 1)[1] in checks(record, "publish")["code_sha256"]["detail"]


# ----------------------------------------------------------------------------------- configuration
def test_a_timeout_lowered_below_the_real_duration_is_rolled_back_to_the_unchanged_version(harness: Harness) -> None:
    # given a function whose orders take ~0.4 s a line (3 lines: ~1.3 s), live on v1 with a 10 s timeout
    with another_app(harness, "orders-slow", build="v8") as app:
        before = harness.client("lambda").get_function_configuration(FunctionName=app.function_name, Qualifier="1")
        assert before["Timeout"] == 10
        # when the same code is released with the timeout lowered to 1 s
        body = harness.request(
            "v8",
            function_name=app.function_name,
            artifact=harness.upload("v8", app.function_name),
            configuration={"timeout": 1},
        )
        conclusion = harness.run(body, "timeout-1s")
        # then the smoke order (one line) passes, real traffic's longer orders time out in the canary,
        # and the release is rolled back to v1, whose configuration never changed
        assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
        assert harness.alias(app.function_name) == ("1", {})
        lambda_ = harness.client("lambda")
        assert lambda_.get_function_configuration(FunctionName=app.function_name, Qualifier="2")["Timeout"] == 1
        after = lambda_.get_function_configuration(FunctionName=app.function_name, Qualifier="1")
        assert {k: after[k] for k in ("Timeout", "MemorySize", "CodeSha256")} == {
            k: before[k] for k in ("Timeout", "MemorySize", "CodeSha256")
        }
        record = record_of(harness, app.function_name)
        assert record["status"] == "ROLLED_BACK"
        assert "timeout 1" in checks(record, "publish")["configuration"]["detail"]
        failed = [e for e in record["evidence"]["canary"] if not e["ok"]]
        # the log lines see the failures first (seconds after they happen), else the Errors metric
        assert any(e["check"] in ("health:errors", "health:logs") for e in failed), failed
        # what timed out is what CloudWatch shows: v2's errors, its longest Duration cut at the timeout
        assert _through_alias(harness, "Errors", "2", "Sum", function_name=app.function_name) > 0
        assert _through_alias(harness, "Duration", "2", "Maximum", function_name=app.function_name) == 1000.0


# ---------------------------------------------------------------------------- provisioned concurrency
def _live_allocation(harness: Harness, executions: int) -> None:
    """orders-api v1 with `executions` provisioned environments, READY (an admin's doing)."""
    harness.client("lambda").put_provisioned_concurrency_config(
        FunctionName=FUNCTION, Qualifier="1", ProvisionedConcurrentExecutions=executions
    )
    harness.wait_until(lambda: (allocation(harness, "1") or {}).get("Status") == "READY", every=15)


def test_provisioned_concurrency_is_ready_before_the_first_shift_and_the_old_released_after(harness: Harness) -> None:
    # given v1 live with 2 provisioned environments, and allocations that take a minute to be READY
    harness.runtime.data_plane.set_provisioning_seconds(FUNCTION, 60)
    _live_allocation(harness, 2)
    # when v2 is released asking for 3
    body = harness.request("v2", provisioned_concurrency={"executions": 3, "poll_interval_seconds": 15})
    execution = harness.start(body, "pc-promoted")
    # then at the first shift of traffic v2's allocation is already READY
    harness.wait_until(lambda: harness.alias()[1], every=5)
    at_first_shift = allocation(harness, "2")
    assert at_first_shift is not None and at_first_shift["Status"] == "READY"
    assert at_first_shift["AvailableProvisionedConcurrentExecutions"] == 3
    done = harness.wait(execution)
    # and after the promotion v1's allocation is released, v2's kept
    assert done.outcome == "PROMOTED", done.reason()
    assert harness.alias() == ("2", {})
    assert allocation(harness, "1") is None
    assert (allocation(harness, "2") or {}).get("RequestedProvisionedConcurrentExecutions") == 3
    evidence = checks(record_of(harness), "concurrency")
    assert {"provisioned_concurrency", "provisioned_concurrency_ready", "release_concurrency"} <= set(evidence)
    assert "released v1" in evidence["release_concurrency"]["detail"]


def test_a_rollback_releases_the_new_versions_provisioned_concurrency(harness: Harness) -> None:
    # given v1 live with 2 provisioned environments
    harness.runtime.data_plane.set_provisioning_seconds(FUNCTION, 30)
    _live_allocation(harness, 2)
    # when v3 (fails orders with a coupon) is released without asking: the live allocation carries over
    conclusion = harness.run(harness.request("v3"), "pc-rolled-back")
    # then v3 had the same allocation, READY before its canary; it is rolled back, v3's allocation
    # released and v1's still in place
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    assert harness.alias() == ("1", {})
    record = record_of(harness)
    assert checks(record, "concurrency")["provisioned_concurrency"]["data"] == {"executions": 2}
    assert "provisioned_concurrency_ready" in checks(record, "concurrency")
    assert allocation(harness, "2") is None
    assert (allocation(harness, "1") or {}).get("RequestedProvisionedConcurrentExecutions") == 2
    assert "concurrency_released" in checks(record, "rollback")


# ------------------------------------------------------------------------------------------- pruning
def test_pruning_after_a_promotion_keeps_what_the_policy_keeps_and_never_a_routed_version(harness: Harness) -> None:
    # given orders-api with versions 2..4 published by hand, and a second alias routing to 2 and 3
    lambda_ = harness.client("lambda")
    harness.runtime.data_plane.set_update_seconds(FUNCTION, 0)
    for build in ("v3", "v4", "v6"):
        lambda_.update_function_code(FunctionName=FUNCTION, ZipFile=build_zip(build))
        lambda_.publish_version(FunctionName=FUNCTION, Description=build)
    lambda_.create_alias(
        FunctionName=FUNCTION, Name="beta", FunctionVersion="2", RoutingConfig={"AdditionalVersionWeights": {"3": 0.1}}
    )
    harness.runtime.data_plane.set_update_seconds(FUNCTION, harness.runtime.data_plane.update_seconds)
    assert harness.versions() == ["1", "2", "3", "4"]
    # when v2 is released (version 5) with pruning down to the newest one
    body = harness.request("v2", prune={"enabled": True, "keep_last": 1, "keep_days": 0})
    conclusion = harness.run(body, "pruned")
    # then only version 4 is deleted: 5 is the newest, 1 the version it replaced, 2 and 3 routed by beta
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("5", {})
    assert harness.versions() == ["1", "2", "3", "5"]
    record = record_of(harness)
    assert checks(record, "prune")["prune"]["data"]["deleted"] == ["4"]
    assert lambda_.get_alias(FunctionName=FUNCTION, Name="beta")["FunctionVersion"] == "2"


# --------------------------------------------------------------------------------------------- hooks
def test_a_failing_pre_traffic_hook_stops_the_release_before_any_traffic(harness: Harness) -> None:
    # given the team's hook, which prices an order with a coupon on the new version
    create_hook(harness.runtime, "orders-release-check")
    # when v3 (passes the smoke test, fails coupon orders) is released with it as pre-traffic hook
    body = harness.request("v3", hooks={"pre_traffic": {"function": "orders-release-check", "timeout_seconds": 30}})
    conclusion = harness.run(body, "pre-hook-fails")
    # then it is rejected with the hook's own reason, and no user traffic ever reached v3
    assert conclusion.outcome == "REJECTED", conclusion.reason()
    assert "could not price an order with a coupon" in conclusion.reason()
    assert harness.alias() == ("1", {})
    record = record_of(harness)
    assert record["status"] == "REJECTED" and "canary" not in record["evidence"]
    assert _through_alias(harness, "Invocations", "2", "Sum") == 0
    assert "Deployment Rejected" in [e["detail-type"] for e in harness.events()]


def test_a_failing_post_traffic_hook_rolls_back_and_a_passing_one_is_evidence(harness: Harness) -> None:
    # given a pre-traffic hook that checks coupon orders and a post-traffic one that finds a problem
    create_hook(harness.runtime, "orders-release-check")
    create_hook(harness.runtime, "orders-reconcile", verdict="fail", reason="reconciliation: 3 orders charged twice")
    hooks = {
        "pre_traffic": {"function": "orders-release-check", "timeout_seconds": 30},
        "post_traffic": {"function": "orders-reconcile", "timeout_seconds": 30},
    }
    # when v2 (good) is released with both
    conclusion = harness.run(harness.request("v2", hooks=hooks), "post-hook-fails")
    # then the passing pre-traffic hook is recorded as evidence, and the failing post-traffic hook,
    # after the watch with all traffic on v2, rolls the release back with its reason
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    assert "3 orders charged twice" in conclusion.reason()
    assert harness.alias() == ("1", {})
    record = record_of(harness)
    passed = checks(record, "pre_traffic_hook")["pre_traffic_hook"]
    assert passed["ok"] and passed["data"]["status"] == "pass" and "coupon" in passed["data"]["reason"]
    assert "watch" in record["evidence"]
    assert "Deployment Rolled Back" in [e["detail-type"] for e in harness.events()]
