"""Reconcile on the local runtime: a deployment stopped in the console mid-canary leaves the alias
split, the lease held and no record; the Reconciler's rule on the execution's end (or a person,
when the rule could not act) puts the alias back on the baseline, records the outcome ABORTED,
announces it once and releases the lease. All on the virtual clock."""

from __future__ import annotations

import io
import json

import pytest

from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.deploy.reconcile import ReconcileRequest, reconcile
from rollgate_cli.main import run
from rollgate_local import moto_bridge
from tests.workflow.conftest import ALIAS, FUNCTION, Harness


def _reconcile(harness: Harness):
    return reconcile(
        ReconcileRequest(function_name=FUNCTION, alias=ALIAS),
        ledger=harness.ledger_api,
        lambda_api=Boto3LambdaApi(harness.client("lambda")),
        events=EventBridgePublisher(harness.client("events"), harness.outputs["EventBusName"]),
        clock=harness.runtime.clock,
        executions=StepFunctionsExecutions(harness.client("stepfunctions")),
    )


pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def _stopped_mid_canary(harness: Harness, name: str) -> str:
    execution_arn = harness.start(harness.request("v2"), name)
    harness.wait_until(lambda: harness.alias()[1], every=5.0)
    harness.client("stepfunctions").stop_execution(executionArn=execution_arn, cause="operator stop")
    harness.wait_until(
        lambda: harness.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "ABORTED"
    )
    return execution_arn


def _without_the_reconciler_rule(harness: Harness) -> None:
    """What a person meets when the Reconciler's rule could not act (its deliveries dead-lettered):
    the stop's leftovers stay until someone reconciles by hand."""
    events = harness.client("events")
    for rule in events.list_rules()["Rules"]:
        targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
        if any("Reconcile" in target["Arn"] for target in targets):
            events.disable_rule(Name=rule["Name"])
            return
    raise AssertionError("the stack has no rule targeting the Reconcile function")


def _settle(harness: Harness) -> None:
    """On the virtual clock a sleep returns once every other actor waits: the execution's end has
    been delivered to the Reconciler's rule, and its delivery has run."""
    harness.runtime.clock.sleep(1)
    moto_bridge.drain_deliveries()


def rollgate(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def test_rollgate_reconcile_by_hand(harness: Harness) -> None:
    _without_the_reconciler_rule(harness)
    _stopped_mid_canary(harness, "stopped-then-cli-reconcile")
    _settle(harness)

    code, out = rollgate("reconcile", "--function", "orders-api")

    assert code == 0, out
    assert "RECONCILED" in out and "put back on v1" in out
    assert harness.alias() == ("1", {}) and harness.lease() is None
    code, out = rollgate("reconcile", "--function", "orders-api", "--alias", "live")
    assert code == 0 and "NOTHING_TO_DO" in out


def test_rollgate_rollback_takes_over_from_a_stopped_deployment(harness: Harness) -> None:
    _without_the_reconciler_rule(harness)
    _stopped_mid_canary(harness, "stopped-then-cli-rollback")
    _settle(harness)

    code, out = rollgate("rollback", "--function", "orders-api", "--watch", "--poll-seconds", "5")

    # no abort flag nobody reads: the alias is back, the lease free, the stopped deployment recorded
    assert "took over" in out, out
    assert "ABORT_REQUESTED" not in out
    assert code == 0, out
    assert harness.alias() == ("1", {}) and harness.lease() is None
    assert harness.ledger_api.abort_requested("orders-api", "live") is None
    assert [r["status"] for r in harness.ledger() if r.get("kind", "deployment") == "deployment"] == ["ABORTED"]


def test_a_deployment_stopped_mid_canary_is_reconciled_by_the_rule(harness: Harness) -> None:
    # given a deployment of v2 with its canary share on the alias
    execution_arn = harness.start(harness.request("v2"), "stopped-mid-canary")
    harness.wait_until(lambda: harness.alias()[1], every=5.0)
    # while it runs, reconcile leaves it alone
    assert _reconcile(harness).status == "HOLDER_RUNNING"
    # when it is stopped in the console
    harness.client("stepfunctions").stop_execution(executionArn=execution_arn, cause="operator stop")
    harness.wait_until(
        lambda: harness.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"] == "ABORTED"
    )
    # then the Reconciler's rule, run on the execution's end, puts right what the stop left
    # behind: one version, no lease, one outcome, one event; reconciling again changes nothing
    _settle(harness)
    assert harness.alias() == ("1", {})
    assert harness.lease() is None
    (record,) = harness.ledger()
    assert record["status"] == "ABORTED"  # how the holder's execution ended
    assert record["execution_arn"] == execution_arn
    assert _reconcile(harness).status == "NOTHING_TO_DO"
    outcomes = [e["detail-type"] for e in harness.events() if e["detail"].get("deployment_id")]
    assert outcomes == ["Deployment Aborted"]


def test_the_end_of_an_execution_is_an_event_on_the_default_bus(harness: Harness) -> None:
    """What starts the Reconciler's rule: "Step Functions Execution Status Change" (bridge patch 26)."""
    sqs, events = harness.client("sqs"), harness.client("events")
    queue_url = sqs.create_queue(QueueName="execution-ends")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {"status": ["ABORTED", "TIMED_OUT", "FAILED"]},
    }
    events.put_rule(Name="execution-ends", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="execution-ends", Targets=[{"Id": "q", "Arn": queue_arn}])

    execution_arn = _stopped_mid_canary(harness, "stopped-for-the-event")
    _settle(harness)  # the execution's worker puts the event as it ends, after the status reads ABORTED

    (message,) = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    event = json.loads(message["Body"])
    assert event["resources"] == [execution_arn]
    detail = event["detail"]
    assert (detail["executionArn"], detail["status"]) == (execution_arn, "ABORTED")
    assert detail["stateMachineArn"] == harness.outputs["DeployStateMachineArn"]
    assert json.loads(detail["input"])["function_name"] == FUNCTION
