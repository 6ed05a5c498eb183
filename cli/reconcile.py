"""`rollgate reconcile --function F [--alias A]`: put an alias right after a deployment execution
ended without finishing (stopped, timed out, failed past Record or Rollback), the same reconcile
the Reconcile function runs on the execution's end, run by hand."""

from __future__ import annotations

from typing import TextIO

from cli.session import Connection
from cli.views import ledger_for
from rollgate.aws.clock import current_clock
from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.models import parse_model
from rollgate.domain.reconcile import ReconcileRequest, reconcile


def run_reconcile(conn: Connection, *, function: str, alias: str, out: TextIO) -> int:
    """0 when the alias is right (now or already), 1 when a running execution still holds it."""
    request = parse_model(ReconcileRequest, {"function_name": function, "alias": alias}, "reconcile")
    report = reconcile(
        request,
        ledger=ledger_for(conn),
        lambda_api=Boto3LambdaApi(conn.client("lambda")),
        events=EventBridgePublisher(conn.client("events"), conn.outputs().event_bus),
        clock=current_clock(),
        execution_status=StepFunctionsExecutions(conn.client("stepfunctions")).status,
    )
    for line in report.found:
        print(f"  found: {line}", file=out)
    for line in report.did:
        print(f"  did:   {line}", file=out)
    print(f"{function}:{alias}: {report.status}", file=out)
    return 1 if report.status == "HOLDER_RUNNING" else 0
