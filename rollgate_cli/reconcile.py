"""`rollgate reconcile --function F [--alias A]`: put an alias right after a deployment execution
ended without finishing (stopped, timed out, failed past Record or Rollback), the same reconcile
the Reconcile function runs on the execution's end, run by hand."""

from __future__ import annotations

from typing import TextIO

from rollgate.aws.clock import current_clock
from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.domain.deploy.reconcile import ReconcileReport, ReconcileRequest, reconcile
from rollgate.domain.shared.models import parse_model
from rollgate_cli.output import report as report_document
from rollgate_cli.output import wants_json
from rollgate_cli.progress import readable_cause
from rollgate_cli.session import Connection
from rollgate_cli.views import ledger_for


def run_reconcile(conn: Connection, *, function: str, alias: str, out: TextIO) -> int:
    """0 when the alias is right (now or already), 1 when a running execution still holds it."""
    report = _reconcile(conn, function=function, alias=alias)
    exit_code = 1 if report.status == "HOLDER_RUNNING" else 0
    # what it found can quote an execution's error cause: said as our error name and message
    found, did = [readable_cause(line) for line in report.found], [readable_cause(line) for line in report.did]
    report_document(out, {"function": function, "alias": alias, "status": report.status, "found": found, "did": did})
    if wants_json(out):
        return exit_code
    for line in found:
        print(f"  found: {line}", file=out)
    for line in did:
        print(f"  did:   {line}", file=out)
    print(f"{function}:{alias}: {report.status}", file=out)
    return exit_code


def take_over_before_rollback(conn: Connection, *, function: str, alias: str, out: TextIO) -> list[str]:
    """Before `rollgate rollback` starts Remediate: a lease whose execution no longer runs is taken
    over (reconciled: alias on its baseline, outcome recorded, lease released) instead of Remediate
    setting an abort flag no running execution would read. A running holder is left to Remediate."""
    report = _reconcile(conn, function=function, alias=alias)
    did = [readable_cause(line) for line in report.did]
    for line in did:
        print(f"rollgate: took over from a deployment that no longer runs: {line}", file=out)
    return did


def _reconcile(conn: Connection, *, function: str, alias: str) -> ReconcileReport:
    request = parse_model(ReconcileRequest, {"function_name": function, "alias": alias}, "reconcile")
    return reconcile(
        request,
        ledger=ledger_for(conn),
        lambda_api=Boto3LambdaApi(conn.client("lambda")),
        events=EventBridgePublisher(conn.client("events"), conn.outputs().event_bus),
        clock=current_clock(),
        executions=StepFunctionsExecutions(conn.client("stepfunctions")),
    )
