"""Reconcile on the local runtime: a deployment stopped in the console mid-canary leaves the alias
split, the lease held and no record; reconcile puts the alias back on the baseline, records the
outcome ABORTED, announces it once and releases the lease. All on the virtual clock."""

from __future__ import annotations

from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.reconcile import ReconcileRequest, reconcile
from tests.workflow.conftest import ALIAS, FUNCTION, Harness


def _reconcile(harness: Harness):
    return reconcile(
        ReconcileRequest(function_name=FUNCTION, alias=ALIAS),
        ledger=harness.ledger_api,
        lambda_api=Boto3LambdaApi(harness.client("lambda")),
        events=EventBridgePublisher(harness.client("events"), harness.outputs["EventBusName"]),
        clock=harness.runtime.clock,
        execution_status=StepFunctionsExecutions(harness.client("stepfunctions")).status,
    )


def test_a_deployment_stopped_mid_canary_is_reconciled(harness: Harness) -> None:
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
    assert harness.lease() is not None and harness.alias()[1]  # what a stop leaves behind
    report = _reconcile(harness)
    # then one version, no lease, one outcome, one event; a second run changes nothing
    assert report.status == "RECONCILED", report
    assert harness.alias() == ("1", {})
    assert harness.lease() is None
    (record,) = harness.ledger()
    assert record["status"] == "ABORTED"  # how the holder's execution ended
    assert record["execution_arn"] == execution_arn
    assert _reconcile(harness).status == "NOTHING_TO_DO"
    outcomes = [e["detail-type"] for e in harness.events() if e["detail"].get("deployment_id")]
    assert outcomes == ["Deployment Aborted"]
