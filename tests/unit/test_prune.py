"""Pruning: keep the last N versions and any version an alias, an allocation, a mapping or a recent
ledger record needs; never a version still routed; only after a promotion."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from rollgate.domain.deploy.prune import LEDGER_PAGE, plan_prune, prune_versions
from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.errors import ThrottledError
from rollgate.domain.shared.models import PrunePolicy
from rollgate.domain.shared.ports import AliasRouting, EventSourceMapping, ProvisionedConcurrencyConfig
from tests.unit.conftest import World, drive, request_for


def with_versions(world: World, count: int) -> World:
    """orders-api with versions 1..count published, alias live on `count`."""
    fn = world.lambda_api.functions["orders-api"]
    for number in range(2, count + 1):
        fn.versions[str(number)] = replace(fn.versions["1"], version=str(number))
    fn.aliases["live"] = AliasRouting("live", str(count), {}, "rev-live")
    return world


def plan(world: World, **policy: int):
    return plan_prune(
        "orders-api",
        PrunePolicy(enabled=True, **policy),
        lambda_api=world.lambda_api,
        ledger=world.ledger,
        clock=world.clock,
    )


def test_keeps_the_newest_and_deletes_the_rest_oldest_first(world: World) -> None:
    with_versions(world, 8)
    report = plan(world, keep_last=3)
    assert report.deleted == ["1", "2", "3", "4", "5"]
    assert set(report.kept) == {"6", "7", "8"}


def test_never_deletes_a_routed_version_an_allocation_or_a_mapped_version(world: World) -> None:
    with_versions(world, 8)
    fn = world.lambda_api.functions["orders-api"]
    fn.aliases["beta"] = AliasRouting("beta", "2", {"3": 0.1}, "rev-beta")
    world.lambda_api.provisioned[("orders-api", "4")] = ProvisionedConcurrencyConfig("4", 5, 5, 5, "READY")
    fn.mappings.append(
        EventSourceMapping("uuid-1", "arn:aws:sqs:us-east-1:123456789012:q", fn.latest.arn + ":5", "Enabled")
    )
    report = plan(world, keep_last=1)
    assert report.deleted == ["1", "6", "7"]
    assert "alias beta" in report.kept["2"] and "alias beta" in report.kept["3"]
    assert "provisioned concurrency" in report.kept["4"] and "uuid-1" in report.kept["5"]


def test_keeps_versions_a_recent_ledger_record_names(world: World) -> None:
    with_versions(world, 6)
    now = world.clock.now()
    world.ledger.put_deployment(
        {
            "deployment_id": "d-recent",
            "function_name": "orders-api",
            "alias": "live",
            "status": "PROMOTED",
            "from_version": "2",
            "to_version": "3",
            "reason": "v3 promoted",
            "started_at": (now - timedelta(days=2)).isoformat(),
            "finished_at": (now - timedelta(days=2)).isoformat(),
        }
    )
    world.ledger.put_deployment(
        {
            "deployment_id": "d-old",
            "function_name": "orders-api",
            "alias": "live",
            "status": "PROMOTED",
            "from_version": "1",
            "to_version": "2",
            "reason": "v2 promoted",
            "started_at": (now - timedelta(days=90)).isoformat(),
            "finished_at": (now - timedelta(days=90)).isoformat(),
        }
    )
    report = plan(world, keep_last=1, keep_days=30)
    assert report.deleted == ["1", "4", "5"]
    assert "d-recent" in report.kept["2"] and "d-recent" in report.kept["3"]


def test_a_ledger_too_busy_to_read_in_one_page_prunes_nothing(world: World) -> None:
    with_versions(world, 4)
    now = world.clock.now().isoformat()
    for i in range(LEDGER_PAGE):
        world.ledger.put_deployment(
            {
                "deployment_id": f"d-{i:04}",
                "function_name": "orders-api",
                "alias": "live",
                "status": "FAILED",
                "reason": "a failed deployment",
                "started_at": now,
                "finished_at": now,
            }
        )
    assert plan(world, keep_last=1).deleted == []


def test_max_deletions_caps_one_run(world: World) -> None:
    with_versions(world, 10)
    report = plan(world, keep_last=1, max_deletions=2)
    assert report.deleted == ["1", "2"]
    assert "max_deletions" in report.kept["3"]


def test_dry_run_deletes_nothing(world: World) -> None:
    with_versions(world, 5)
    policy = PrunePolicy(enabled=True, keep_last=2)
    report = prune_versions(
        "orders-api", policy, lambda_api=world.lambda_api, ledger=world.ledger, clock=world.clock, dry_run=True
    )
    assert report.dry_run and report.deleted == ["1", "2", "3"]
    assert world.lambda_api.deleted_versions == []
    assert report.evidence[0].detail == "would delete v1, v2, v3"


def test_a_version_routed_after_the_plan_was_read_is_not_deleted(world: World) -> None:
    # given an alias moved onto v2 between the plan and the deletions
    with_versions(world, 5)
    api = world.lambda_api
    original = api.list_aliases
    reads = []

    def moving_aliases(name):
        reads.append(name)
        if len(reads) == 2:
            api.functions[name].aliases["hotfix"] = AliasRouting("hotfix", "2", {}, "rev-h")
        return original(name)

    api.list_aliases = moving_aliases  # type: ignore[method-assign]
    report = prune_versions(
        "orders-api", PrunePolicy(enabled=True, keep_last=2), lambda_api=api, ledger=world.ledger, clock=world.clock
    )
    assert report.deleted == ["1", "3"] and api.deleted_versions == ["1", "3"]
    assert "hotfix" in report.kept["2"]


def test_prune_after_promotion_keeps_the_replaced_version_and_nothing_newer(world: World) -> None:
    # given four old versions, live on v4, and v5 published by another alias's deployment meanwhile
    with_versions(world, 4)
    fn = world.lambda_api.functions["orders-api"]
    fn.latest = replace(fn.latest, code_sha256="other")  # the release below publishes v5
    result = drive(world, request_for(prune={"enabled": True, "keep_last": 1}))
    assert result["status"] == "PROMOTED" and result["to_version"] == "5"
    # v4 is what a rollback or remediation returns to; v5 is live
    assert world.lambda_api.deleted_versions == ["1", "2", "3"]
    assert result["evidence"]["prune"][0]["detail"].startswith("deleted v1, v2, v3")


def test_no_prune_unless_enabled_or_after_a_rollback(world: World) -> None:
    with_versions(world, 6)
    drive(world, request_for(), execution="not-enabled")
    world.verdicts = [Outcome.UNHEALTHY]
    drive(world, request_for(prune={"enabled": True, "keep_last": 1}, environment={"XY": "1"}), execution="bad")
    assert world.lambda_api.deleted_versions == []


def test_a_prune_failure_never_rolls_a_promotion_back(world: World) -> None:
    with_versions(world, 4)
    original = world.lambda_api.list_versions
    calls = {"n": 0}

    def list_then_fail(name):
        calls["n"] += 1
        if calls["n"] > 1:  # publish reads versions first; prune's read fails past its retries
            raise ThrottledError("lambda:ListVersionsByFunction throttled")
        return original(name)

    world.lambda_api.list_versions = list_then_fail  # type: ignore[method-assign]
    result = drive(world, request_for(prune={"enabled": True, "keep_last": 1}))
    assert result["status"] == "PROMOTED"
    assert "ThrottledError" in result["evidence"]["cleanup"][0]["detail"]
