"""Pushes to one release branch back to back, on the local runtime: the second waits in the
branch's queue (a Wait loop) until the first concludes, then releases, never reverting the first;
with policy supersede, a queued release a newer push overtakes ends SUPERSEDED, nothing deployed.

Before the queue, the second push's child DeployFunction was refused (DeploymentInProgress on the
alias lease) and the release ended ROLLED_BACK: the newest commit was never released."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from rollgate.domain.release.windows import DAYS
from tests.workflow.conftest import ALIAS, FUNCTION, Harness
from tests.workflow.test_release import OTHERS, _manifest

BRANCH = "release/1"


def _push(harness: Harness, build: str, commit: str, **queue: Any) -> dict[str, Any]:
    """A push of orders-api `build` to the release branch, its manifest inline."""
    manifest = _manifest(harness, {"payments-api": "v2", "inventory-api": "v2", FUNCTION: build})
    manifest["waves"] = manifest["waves"][1:]  # orders-api alone
    manifest.pop("release_id")  # each push is its own release: acme/shop@<commit>
    if queue:
        manifest["queue"] = queue
    source = {"trigger": "github", "repository": "acme/shop", "branch": BRANCH, "commit": commit * 40}
    return {"manifest": manifest, "source": source}


def _entered(harness: Harness, execution_arn: str, state: str) -> list[Any]:
    """The times `execution_arn` entered `state`."""
    history = harness.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)
    return [e["timestamp"] for e in history["events"] if e.get("stateEnteredEventDetails", {}).get("name") == state]


def _queue_items(harness: Harness) -> list[dict[str, Any]]:
    return harness.client("dynamodb").query(
        TableName=harness.outputs["LedgerTableName"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"QUEUE#shop#{BRANCH}"}},
    )["Items"]


def test_a_push_while_its_branch_releases_waits_then_releases_never_reverting_the_first(harness: Harness) -> None:
    # given a release of orders-api v2 whose wave runs
    first = harness.start_workflow("ReleaseStateMachineArn", _push(harness, "v2", "a"), "push-a")
    harness.wait_until(harness.lease)
    # when a second push to the branch (orders-api v7) arrives
    second = harness.start_workflow("ReleaseStateMachineArn", _push(harness, "v7", "b"), "push-b")
    harness.wait_until(lambda: _entered(harness, second, "WaitInQueue"))
    one = harness.wait(first)
    two = harness.wait(second)

    # then the first released undisturbed, and the second after it
    assert (one.execution_status, (one.result or {}).get("status")) == ("SUCCEEDED", "RELEASED"), one.result
    assert (two.execution_status, (two.result or {}).get("status")) == ("SUCCEEDED", "RELEASED"), two.result
    assert harness.alias() == ("3", {})  # v1 -> 2 (first) -> 3 (second)
    history = harness.ledger_api.list_deployments(FUNCTION, ALIAS)
    assert [(r.kind, r.status.value, r.from_version, r.to_version) for r in history] == [
        ("deployment", "PROMOTED", "2", "3"),
        ("deployment", "PROMOTED", "1", "2"),
    ]  # nothing reverted, nothing refused
    first_end = harness.client("stepfunctions").describe_execution(executionArn=first)["stopDate"]
    (second_wave,) = _entered(harness, second, "RunWave")
    assert second_wave >= first_end  # its wave started only once the first concluded
    assert _queue_items(harness) == []  # both gave their place back


def test_supersede_a_queued_release_a_newer_push_overtakes_ends_superseded(harness: Harness) -> None:
    # given a running release and a second push queued behind it, both with policy supersede
    first = harness.start_workflow(
        "ReleaseStateMachineArn", _push(harness, "v2", "a", on_newer_push="supersede"), "push-a"
    )
    harness.wait_until(harness.lease)
    queued = harness.start_workflow(
        "ReleaseStateMachineArn", _push(harness, "v7", "b", on_newer_push="supersede"), "push-b"
    )
    harness.wait_until(lambda: _entered(harness, queued, "WaitInQueue"))
    # when a third push arrives
    newest = harness.start_workflow(
        "ReleaseStateMachineArn", _push(harness, "v7", "c", on_newer_push="supersede"), "push-c"
    )
    overtaken = harness.wait(queued)

    # then the queued one ends SUPERSEDED, nothing of it deployed; the first and the newest release
    assert (overtaken.execution_status, overtaken.error) == ("FAILED", "ReleaseSuperseded"), overtaken.result
    result = overtaken.result or {}
    assert result["status"] == "SUPERSEDED"
    assert "acme/shop@cccccccccccc" in result["reason"]
    assert [f["status"] for f in result["functions"]] == ["NOT_STARTED"]
    assert _entered(harness, queued, "RunWave") == []
    one, three = harness.wait(first), harness.wait(newest)
    assert ((one.result or {}).get("status"), (three.result or {}).get("status")) == ("RELEASED", "RELEASED")
    history = harness.ledger_api.list_deployments(FUNCTION, ALIAS)
    assert [(r.status.value, r.from_version, r.to_version) for r in history] == [
        ("PROMOTED", "2", "3"),  # the newest push
        ("PROMOTED", "1", "2"),  # the first, never reverted
    ]
    assert _queue_items(harness) == []


def test_supersede_a_running_release_finishes_its_wave_and_stops_before_the_next_reverting_nothing(
    harness: Harness,
) -> None:
    shop = harness
    for name in OTHERS:  # the backends of wave 1, with traffic of their own (as test_release's shop)
        shop.runtime.sample_app(function_name=name, alias=ALIAS, stream_name=None)
        shop.runtime.traffic(function_name=name, alias=ALIAS, rate_per_second=3.0)

    def push(build: str, commit: str) -> dict[str, Any]:
        manifest = _manifest(shop, {"payments-api": build, "inventory-api": build, FUNCTION: build})
        manifest.pop("release_id")
        manifest["queue"] = {"on_newer_push": "supersede"}
        source = {"trigger": "github", "repository": "acme/shop", "branch": BRANCH, "commit": commit * 40}
        return {"manifest": manifest, "source": source}

    # given a two-wave release whose first wave (payments-api, inventory-api) runs
    running = shop.start_workflow("ReleaseStateMachineArn", push("v2", "a"), "push-a")
    shop.wait_until(lambda: shop.ledger_api.current_lease("payments-api", ALIAS))
    # when a newer push of the branch queues
    newer = shop.start_workflow("ReleaseStateMachineArn", push("v7", "b"), "push-b")
    stopped = shop.wait(running)

    # then the running one finished its wave, stopped before the next, and reverted nothing
    assert (stopped.execution_status, stopped.error) == ("FAILED", "ReleaseSuperseded"), stopped.result
    result = stopped.result or {}
    assert result["status"] == "SUPERSEDED" and result["reverts"] == []
    statuses = {f["function_name"]: f["status"] for f in result["functions"]}
    assert statuses == {"payments-api": "PROMOTED", "inventory-api": "PROMOTED", FUNCTION: "NOT_STARTED"}
    assert "after wave 1" in result["reason"] and "acme/shop@bbbbbbbbbbbb" in result["reason"]
    assert len(_entered(shop, running, "RunWave")) == 1
    # and the newer push released every function from there
    released = shop.wait(newer)
    assert (released.result or {}).get("status") == "RELEASED", released.result
    assert [shop.alias(name) for name in ("payments-api", "inventory-api", FUNCTION)] == [
        ("3", {}),
        ("3", {}),
        ("2", {}),
    ]
    assert all(r.kind == "deployment" for r in shop.ledger_api.list_deployments("payments-api", ALIAS))


def test_a_release_stopped_in_the_console_while_it_holds_the_queue_never_blocks_the_next(harness: Harness) -> None:
    # given a release that holds the branch's queue while it waits for its deployment window
    opens = harness.runtime.clock.now().astimezone(UTC) + timedelta(hours=2)
    window = {"days": list(DAYS), "start": f"{opens:%H:%M}", "end": f"{opens + timedelta(hours=1):%H:%M}"}
    held = _push(harness, "v2", "a")
    held["manifest"]["windows"] = {"allowed": [window]}
    first = harness.start_workflow("ReleaseStateMachineArn", held, "push-a")
    harness.wait_until(lambda: _entered(harness, first, "WaitForWindow"))
    second = harness.start_workflow("ReleaseStateMachineArn", _push(harness, "v7", "b"), "push-b")
    harness.wait_until(lambda: _entered(harness, second, "WaitInQueue"))
    # when the first is stopped in the console (its RecordRelease never runs)
    harness.client("stepfunctions").stop_execution(executionArn=first, cause="stopped by a person")
    released = harness.wait(second)

    # then the second takes its place over and releases
    assert (released.result or {}).get("status") == "RELEASED", released.result
    assert harness.alias() == ("2", {})  # v7, the only version published
    assert _queue_items(harness) == []
