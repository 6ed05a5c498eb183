"""Console reruns and redrives are safe.

A rerun ("New execution" with the same input) of a finished release changes nothing already true.
A redrive re-runs the failed state with the input it had, after some of its effects may already
have happened; moto has no RedriveExecution, so the test does what a redrive does: it invokes the
task functions again with the inputs they had in the execution's history, and checks that the
second run leaves alias, ledger and lease exactly as the first did.
"""

from __future__ import annotations

import json
from typing import Any

from rollgate import contract
from rollgate_local.sample_app import smoke_payload
from tests.workflow.conftest import ALIAS, FUNCTION, Harness


def _task_inputs(harness: Harness, execution_arn: str) -> dict[str, dict[str, Any]]:
    """state name -> the input its Lambda was invoked with (the last time it ran)."""
    sfn = harness.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000, includeExecutionData=True)["events"]
    inputs: dict[str, dict[str, Any]] = {}
    current = None
    for event in events:
        if event["type"] == "TaskStateEntered":
            current = event["stateEnteredEventDetails"]["name"]
            inputs[current] = json.loads(event["stateEnteredEventDetails"]["input"])
    return inputs


def _invoke_task(harness: Harness, module: str, payload: dict[str, Any], package: str = "deploy") -> dict[str, Any]:
    handler = contract.task_handler(package, module)
    lambda_ = harness.client("lambda")
    names = [
        f["FunctionName"]
        for page in lambda_.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f.get("Handler") == handler
    ]
    response = lambda_.invoke(FunctionName=names[0], Payload=json.dumps(payload).encode())
    assert "FunctionError" not in response, response["Payload"].read()
    return json.loads(response["Payload"].read())


def test_redriven_gates_after_promotion_change_nothing_twice(harness: Harness) -> None:
    arn = harness.start(harness.request("v2"), "deploy-then-redrive")
    conclusion = harness.wait(arn)
    assert conclusion.succeeded, conclusion
    versions, records = harness.versions(), harness.ledger()
    inputs = _task_inputs(harness, arn)

    # the update gate converges: $LATEST already has the code, nothing is updated again
    update = _invoke_task(harness, "update_function", inputs["UpdateFunction"])
    assert update["status"] in ("Successful", "Skipped")
    # publishing again reuses the version published for this code
    assert _invoke_task(harness, "publish_version", inputs["PublishVersion"])["version"] == "2"
    # promote again: the alias already routes 100% v2
    _invoke_task(harness, "promote", inputs["Promote"])
    # record again: the same ledger record, overwritten; the lease stays released
    _invoke_task(harness, "record", inputs["Record"])

    assert harness.alias() == ("2", {})
    assert harness.versions() == versions
    assert [r["deployment_id"] for r in harness.ledger()] == [r["deployment_id"] for r in records]
    assert harness.lease() is None


def test_rerunning_a_finished_release_changes_nothing(harness: Harness) -> None:
    manifest = {
        "application": "shop",
        "defaults": {
            # latency needs three periods past the warm-up before a canary can be HEALTHY
            "strategy": {"type": "canary", "steps": [50], "interval_seconds": 180},
            "smoke_tests": [{"name": "place-order", "payload": smoke_payload(), "expect_subset": {"ok": True}}],
            "health": {"on_inconclusive": "extend", "max_extension_seconds": 300},
            "watch_seconds": 60,
        },
        "waves": [{"functions": [{"function_name": FUNCTION, "artifact": harness.upload("v2")}]}],
    }
    first = harness.wait(harness.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-once"))
    assert first.result and first.result["status"] == "RELEASED", first
    versions = harness.versions()

    again = harness.wait(harness.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-again"))
    assert again.result and again.result["status"] == "RELEASED"
    assert "already live" in harness.ledger_api.list_deployments(FUNCTION, ALIAS)[0].reason
    assert harness.alias() == ("2", {})
    assert harness.versions() == versions
