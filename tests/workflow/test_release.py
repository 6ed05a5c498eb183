"""The Release workflow end to end: waves of child DeployFunction executions, atomic rollback,
manifests inline and by S3 location, and the bad-input errors."""

from __future__ import annotations

import json
from typing import Any

import pytest

from rollgate_local.sample_app import smoke_payload
from tests.workflow.conftest import ALIAS, FUNCTION, Harness

OTHERS = ("payments-api", "inventory-api")


def _manifest(harness: Harness, builds: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """Wave 1: payments-api and inventory-api; wave 2: orders-api (the function with real traffic)."""

    def entry(function_name: str) -> dict[str, Any]:
        return {"function_name": function_name, "artifact": harness.upload(builds[function_name], function_name)}

    manifest: dict[str, Any] = {
        "application": "shop",
        "release_id": "shop-2026.11.23",
        "atomic": True,
        "max_concurrency": 2,
        "defaults": {
            # latency needs three periods past the warm-up before a canary can be HEALTHY
            "strategy": {"type": "canary", "steps": [50], "interval_seconds": 180},
            "smoke_tests": [{"name": "place-order", "payload": smoke_payload(), "expect_subset": {"ok": True}}],
            "health": {"metric_period_seconds": 60, "max_extension_seconds": 300},
            "watch_seconds": 60,
        },
        "waves": [
            {"name": "backends", "functions": [entry(name) for name in OTHERS]},
            {"name": "front", "functions": [entry(FUNCTION)]},
        ],
    }
    manifest.update(overrides)
    return manifest


@pytest.fixture
def shop(harness: Harness) -> Harness:
    for name in OTHERS:  # backends with steady traffic of their own, so their canaries have samples
        harness.runtime.sample_app(function_name=name, alias=ALIAS, stream_name=None)
        harness.runtime.traffic(function_name=name, alias=ALIAS, rate_per_second=3.0)
    return harness


def test_atomic_release_rolls_every_function_back_when_one_regresses(shop: Harness) -> None:
    # orders-api's v3 passes smoke and fails only real traffic (orders with a coupon): its canary
    # detects it, on the virtual clock exactly as it would on any machine under any load
    manifest = _manifest(shop, {"payments-api": "v2", "inventory-api": "v2", FUNCTION: "v3"})
    conclusion = shop.wait(shop.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-atomic"))

    assert conclusion.execution_status == "FAILED", conclusion.result
    assert conclusion.error == "ReleaseRolledBack"
    result = conclusion.result or {}
    assert result["status"] == "ROLLED_BACK"
    statuses = {f["function_name"]: f["status"] for f in result["functions"]}
    assert statuses == {"payments-api": "PROMOTED", "inventory-api": "PROMOTED", FUNCTION: "ROLLED_BACK"}, [
        f["reason"] for f in result["functions"]
    ]
    assert {r["function_name"]: r["status"] for r in result["reverts"]} == {
        "payments-api": "RESTORED",
        "inventory-api": "RESTORED",
    }
    for name in (*OTHERS, FUNCTION):  # all three back on v1, no weights
        assert shop.alias(name) == ("1", {})
    # each revert is in the function's own history
    history = shop.ledger_api.list_deployments("payments-api", ALIAS)
    assert history[0].kind == "remediation" and history[0].trigger == "release"
    assert history[0].release_id == "shop-2026.11.23"
    assert not any(shop.ledger_api.current_lease(name, ALIAS) for name in (*OTHERS, FUNCTION))
    # and the release itself is in the ledger
    runs = shop.client("dynamodb").query(
        TableName=shop.outputs["LedgerTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "RELEASE#shop-2026.11.23"}},
    )["Items"]
    assert [run["status"]["S"] for run in runs] == ["ROLLED_BACK"]


def test_release_from_s3_waits_for_the_manifest_ci_uploads_after_the_push(shop: Harness) -> None:
    bucket = shop.outputs["ArtifactBucketName"]
    key = "releases/acme/shop/0123456789abcdef/manifest.json"
    body = {
        "manifest_location": {"bucket": bucket, "key": key},
        "source": {"trigger": "github", "repository": "acme/shop", "commit": "0123456789abcdef", "branch": "release/1"},
        "manifest_wait": {"interval_seconds": 30, "max_polls": 20},
    }
    arn = shop.start_workflow("ReleaseStateMachineArn", body, "release-from-s3")
    shop.runtime.clock.sleep(75)  # CI is still building: two polls find nothing
    manifest = _manifest(shop, {"payments-api": "v2", "inventory-api": "v2", FUNCTION: "v2"})
    shop.client("s3").put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest).encode())
    conclusion = shop.wait(arn)

    assert conclusion.execution_status == "SUCCEEDED", conclusion
    assert conclusion.result and conclusion.result["status"] == "RELEASED"
    for name in (*OTHERS, FUNCTION):
        assert shop.alias(name) == ("2", {})


def test_release_fails_clearly_when_the_manifest_never_arrives(harness: Harness) -> None:
    body = {
        "manifest_location": {"bucket": harness.outputs["ArtifactBucketName"], "key": "releases/never/manifest.json"},
        "manifest_wait": {"interval_seconds": 10, "max_polls": 3},
    }
    conclusion = harness.wait(harness.start_workflow("ReleaseStateMachineArn", body, "release-no-manifest"))

    assert conclusion.error == "ReleaseRejected"
    assert "did not appear within 3 polls" in conclusion.reason()
    assert harness.alias() == ("1", {})


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda m: m["waves"][1]["functions"][0].pop("artifact"), "manifest.waves.1.functions.0.artifact"),
        (
            lambda m: m["waves"][0]["functions"][0].update(strategy={"type": "canary", "steps": [150]}),
            "manifest.waves.0.functions.0.strategy.steps",
        ),
        (lambda m: m.update(max_concurrency=0), "manifest.max_concurrency"),
        (lambda m: m["waves"][1]["functions"].append(dict(m["waves"][0]["functions"][0])), "waves.1.functions.1"),
    ],
)
def test_a_bad_manifest_is_rejected_naming_the_field_and_deploys_nothing(
    shop: Harness, mutate: Any, field: str
) -> None:
    manifest = _manifest(shop, {"payments-api": "v2", "inventory-api": "v2", FUNCTION: "v2"})
    mutate(manifest)
    conclusion = shop.wait(shop.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-bad"))

    assert conclusion.error == "ReleaseRejected"
    assert field in conclusion.reason()
    for name in (*OTHERS, FUNCTION):
        assert shop.alias(name) == ("1", {})
        assert shop.ledger_api.list_deployments(name, ALIAS) == []
