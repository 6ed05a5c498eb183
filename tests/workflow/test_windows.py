"""Deployment windows on the local runtime: a release started outside its window waits (a Wait
state until the window opens, on the virtual clock), then releases."""

from __future__ import annotations

from datetime import UTC, timedelta

from tests.workflow.conftest import FUNCTION, Harness
from tests.workflow.test_release import _manifest

BUILDS = {"payments-api": "v2", "inventory-api": "v2", FUNCTION: "v2"}


def test_a_release_outside_its_window_waits_for_it_then_releases(harness: Harness) -> None:
    now = harness.runtime.clock.now().astimezone(UTC)
    opens = (now + timedelta(minutes=20)).replace(second=0, microsecond=0)
    closes = opens + timedelta(hours=2)
    window = {
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start": f"{opens:%H:%M}",
        "end": f"{closes:%H:%M}",
    }
    manifest = _manifest(harness, BUILDS, windows={"allowed": [window]})
    manifest["waves"] = manifest["waves"][1:]  # orders-api alone

    arn = harness.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-window")
    conclusion = harness.wait(arn)

    assert conclusion.execution_status == "SUCCEEDED", conclusion.result
    assert (conclusion.result or {})["status"] == "RELEASED"
    events = harness.client("stepfunctions").get_execution_history(executionArn=arn, maxResults=1000)["events"]
    waited = [e for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "WaitForWindow"]
    assert len(waited) == 1
    child_started = next(
        e["timestamp"] for e in events if e.get("stateEnteredEventDetails", {}).get("name") == "RunWave"
    )
    assert child_started.astimezone(UTC) >= opens  # no wave started before its window opened
    assert harness.alias(FUNCTION) == ("2", {})


def test_a_release_frozen_past_its_max_wait_ends_before_the_wave_saying_why(harness: Harness) -> None:
    frozen_until = (harness.runtime.clock.now().astimezone(UTC) + timedelta(minutes=5)).replace(microsecond=0)
    freeze = {"start": "2020-01-01T00:00:00Z", "end": frozen_until.strftime("%Y-%m-%dT%H:%M:%SZ"), "reason": "launch"}
    manifest = _manifest(harness, BUILDS, windows={"freezes": [freeze], "max_wait_seconds": 60})
    manifest["waves"] = manifest["waves"][1:]

    conclusion = harness.wait(harness.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "frozen"))

    result = conclusion.result or {}
    # as a wave not approved: nothing of it started, and an atomic release ends with everything as before
    assert (conclusion.execution_status, conclusion.error, result["status"]) == (
        "FAILED",
        "ReleaseRolledBack",
        "ROLLED_BACK",
    )
    (function,) = result["functions"]
    assert function["status"] == "NOT_STARTED"
    assert "frozen: launch" in function["reason"] and "past max_wait_seconds" in function["reason"]
    assert harness.alias(FUNCTION) == ("1", {})
