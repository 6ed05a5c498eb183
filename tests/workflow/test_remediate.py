"""The Remediate workflow end to end: an alarm after a promotion rolls the function back; an alarm
with no recent deployment changes nothing; an operator's rollback; a deployment in flight is asked
to abort, while one whose execution no longer runs is taken over; and the alarm -> EventBridge ->
dispatcher -> Remediate path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.workflow.conftest import ALIAS, FUNCTION, Harness
from tests.workflow.test_reconcile import _without_the_reconciler_rule

EVENTS = Path(__file__).resolve().parents[1] / "events"
GUARD_ALARM = "rollgate-guard-orders-api-errors"


def _create_guard_alarm(harness: Harness, name: str = GUARD_ALARM) -> None:
    harness.client("cloudwatch").put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": FUNCTION}, {"Name": "Resource", "Value": f"{FUNCTION}:{ALIAS}"}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=5,
        ComparisonOperator="GreaterThanThreshold",
    )


def _alarm_event(name: str = GUARD_ALARM) -> dict[str, Any]:
    event = json.loads((EVENTS / "alarm_state_change.json").read_text())
    event["detail"]["alarmName"] = name
    return event


def _promote_v2(harness: Harness) -> None:
    conclusion = harness.run(harness.request("v2"), "deploy-v2")
    assert conclusion.succeeded, conclusion
    assert harness.alias() == ("2", {})


def _remediate(harness: Harness, body: dict[str, Any], name: str) -> Any:
    return harness.wait(harness.start_workflow("RemediateStateMachineArn", body, name))


def test_an_alarm_after_a_promotion_rolls_that_function_back(harness: Harness) -> None:
    _promote_v2(harness)
    conclusion = _remediate(harness, _alarm_event(), "remediate-alarm")

    assert conclusion.execution_status == "SUCCEEDED", conclusion
    result = conclusion.result or {}
    assert result["status"] == "ROLLED_BACK"
    assert (result["from_version"], result["to_version"]) == ("2", "1")
    assert harness.alias() == ("1", {})
    history = harness.ledger()
    assert history[0]["kind"] == "remediation" and history[0]["trigger"] == "alarm"
    assert history[0]["alarm"]["name"] == GUARD_ALARM
    checks = {e["check"]: e["ok"] for e in history[0]["evidence"]["remediation"]}
    assert checks["alias_restored"] and checks["smoke:place-order"]
    assert harness.lease() is None
    kinds = [e["detail-type"] for e in harness.events()]
    assert "Remediation Rolled Back" in kinds

    # a rerun of the same input changes nothing that is already true
    again = _remediate(harness, _alarm_event(), "remediate-alarm-rerun")
    assert again.result and again.result["status"] == "NO_ACTION"
    assert harness.alias() == ("1", {})


def test_an_alarm_with_no_recent_deployment_changes_nothing(harness: Harness) -> None:
    conclusion = _remediate(harness, _alarm_event(), "remediate-nothing")

    assert conclusion.execution_status == "SUCCEEDED"
    assert conclusion.result and conclusion.result["status"] == "NO_ACTION"
    assert "no promotion" in conclusion.result["reason"]
    assert harness.alias() == ("1", {})
    assert harness.ledger()[0]["status"] == "NO_ACTION"
    assert "Remediation No Action" in [e["detail-type"] for e in harness.events()]


def test_an_old_promotion_is_outside_the_lookback(harness: Harness) -> None:
    _promote_v2(harness)
    harness.runtime.clock.sleep(61 * 60)
    conclusion = _remediate(harness, _alarm_event(), "remediate-too-old")

    assert conclusion.result and conclusion.result["status"] == "NO_ACTION"
    assert "lookback" in conclusion.result["reason"]
    assert harness.alias() == ("2", {})


def test_manual_rollback_from_the_console_input(harness: Harness) -> None:
    _promote_v2(harness)
    body = json.loads((EVENTS / "manual_rollback.json").read_text())
    conclusion = _remediate(harness, body, "remediate-manual")

    assert conclusion.result and conclusion.result["status"] == "ROLLED_BACK"
    assert harness.alias() == ("1", {})


def test_a_deployment_in_flight_is_asked_to_abort_and_rolls_back(harness: Harness) -> None:
    arn = harness.start(
        harness.request("v2", strategy={"type": "canary", "steps": [20], "interval_seconds": 600}), "deploy-long-canary"
    )
    harness.wait_until(lambda: harness.alias()[1])  # until the canary has traffic
    conclusion = _remediate(harness, _alarm_event(), "remediate-in-flight")
    assert conclusion.result and conclusion.result["status"] == "ABORT_REQUESTED"

    deployment = harness.wait(arn)
    assert deployment.outcome == "ROLLED_BACK"
    assert "abort" in deployment.reason().lower()
    assert harness.alias() == ("1", {})


def test_an_alarm_state_change_starts_remediate_through_eventbridge(harness: Harness) -> None:
    _promote_v2(harness)
    _create_guard_alarm(harness)
    harness.client("cloudwatch").set_alarm_state(
        AlarmName=GUARD_ALARM, StateValue="ALARM", StateReason="Threshold Crossed: 9 errors"
    )
    sfn = harness.client("stepfunctions")

    def finished() -> list[dict[str, Any]]:
        executions = sfn.list_executions(stateMachineArn=harness.outputs["RemediateStateMachineArn"])["executions"]
        return executions if executions and executions[0]["status"] != "RUNNING" else []

    executions = harness.wait_until(finished)
    assert len(executions) == 1
    assert executions[0]["name"].startswith(f"remediate-{GUARD_ALARM}")
    assert harness.alias() == ("1", {})


def test_an_alarm_takes_over_from_a_deployment_whose_execution_was_stopped(harness: Harness) -> None:
    # given a deployment stopped mid-canary, its leftovers not yet reconciled (the Reconciler's rule off):
    # the alias split, the lease held, no record
    _without_the_reconciler_rule(harness)
    arn = harness.start(
        harness.request("v2", strategy={"type": "canary", "steps": [20], "interval_seconds": 600}), "deploy-stopped"
    )
    harness.wait_until(lambda: harness.alias()[1], every=5.0)
    harness.client("stepfunctions").stop_execution(executionArn=arn, cause="operator stop")
    harness.wait_until(
        lambda: harness.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "ABORTED"
    )
    assert harness.lease() is not None and harness.alias()[1]

    # when the guard alarm goes into ALARM
    conclusion = _remediate(harness, _alarm_event(), "remediate-dead-holder")

    # then Remediate takes the lease over and rolls back instead of setting an abort flag nobody reads
    assert conclusion.execution_status == "SUCCEEDED", conclusion
    result = conclusion.result or {}
    assert result["status"] == "ROLLED_BACK", result
    assert result["reason"].startswith("took over: alias live put back on v1")
    assert result["to_version"] == "1"
    assert harness.alias() == ("1", {})
    assert harness.lease() is None
    assert harness.ledger_api.abort_requested(FUNCTION, ALIAS) is None
    by_kind = {r.get("kind", "deployment"): r for r in harness.ledger()}
    assert by_kind["deployment"]["status"] == "ABORTED" and by_kind["deployment"]["execution_arn"] == arn
    assert by_kind["remediation"]["taken_over"] == by_kind["deployment"]["deployment_id"]
