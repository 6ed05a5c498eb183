"""Reconcile: after a deployment execution ended without finishing its own work (stopped, timed out,
failed past Record or Rollback), put function+alias right from what the ledger and the alias say.

What "right" means, in order:
- the alias routes 100% to one version: the version the deployment's own PROMOTED record names;
  else its baseline (the `from_version` of its record, or the version the newest settled record of
  the alias names); with neither known, the primary of a split alias (a canary never moves it);
- the deployment has one ledger outcome: when its record is missing, one is written (ABORTED for a
  stopped execution, FAILED otherwise) saying what was found and what was done;
- one outcome event (the record's `event_published` mark, as Record does);
- the lease released.

Idempotent, so it may run more than once (an EventBridge retry, a person running
`rollgate reconcile` after the automatic run): a second run finds nothing to do. It never touches an
alias whose lease is held by an execution that is still running. When it cannot act (the alias
cannot be read or moved), the caller pages (`PAGE_DETAIL_TYPE`) and the error stands.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Protocol

from pydantic import Field

from rollgate.contract import Status
from rollgate.domain.deploy.outcome import DEPLOYMENT_ANNOUNCEMENT, error_name, event_detail
from rollgate.domain.deploy.start import function_name_of
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentContext, Lenient, StepError, Strict, parse_model
from rollgate.domain.shared.ports import AliasRouting, Clock, EventPublisher, LambdaApi, Lease, Ledger
from rollgate.domain.shared.records import DeploymentRecord, HistoryRecord, ReconcileNote, RemediationRecord
from rollgate.domain.shared.routing import describe, restore
from rollgate.domain.shared.triggers import DEFAULT_ALIAS
from rollgate.domain.shared.validation import AliasName, FunctionRef, LongText, StackHome, Text

#: The event a person must act on: Rollgate could not put the alias right by itself.
PAGE_DETAIL_TYPE = "Rollback Failed"
#: Execution statuses that end an execution without its Record having run to the end.
ENDED_EARLY = ("ABORTED", "TIMED_OUT", "FAILED")
_RUNNING = "RUNNING"


class ExecutionReader(Protocol):
    """What reconcile asks Step Functions about the execution holding a lease."""

    def status(self, execution_arn: str) -> str | None:
        """RUNNING, or how it ended; None when there is no such execution."""
        ...

    def baseline_version(self, execution_arn: str) -> str | None:
        """The live version its Preflight captured, or None when it never left Preflight."""
        ...


class ReconcileRequest(Strict):
    """What to reconcile: a function+alias, optionally the execution that ended (from its
    "Execution Status Change" event)."""

    function_name: FunctionRef = Field(description="the managed function (name or ARN of this stack's account)")
    alias: AliasName = Field(default=DEFAULT_ALIAS, description="the alias the deployment moved")
    execution_arn: Text | None = Field(default=None, description="the execution that ended, when known")
    execution_status: Literal["ABORTED", "TIMED_OUT", "FAILED"] | None = Field(
        default=None, description="how it ended, when known"
    )
    from_the_execution: bool = Field(
        default=False,
        description=(
            "asked by the deployment's own execution (its Reconcile step, after Record, the lease release or "
            "Rollback failed past their retries): its lease counts as held by an execution that has ended, "
            "since the execution ends as soon as this returns"
        ),
    )
    deployment_id: Text | None = Field(default=None, description="the deployment asking, with from_the_execution")
    baseline_version: Text | None = Field(
        default=None, description="the live version its Preflight captured, when the asking execution knows it"
    )
    cause: LongText | None = Field(default=None, description="why it ends: the failed step's error and cause")


class ReconcileReport(Lenient):
    """What reconcile found and did (also the body of the outcome record it may write)."""

    function_name: str = Field(description="the function")
    alias: str = Field(description="the alias")
    status: Literal["RECONCILED", "NOTHING_TO_DO", "HOLDER_RUNNING"] = Field(description="the overall result")
    deployment_id: str | None = Field(default=None, description="the deployment reconciled, when one was found")
    target_version: str | None = Field(default=None, description="the version the alias must route 100% to")
    found: list[str] = Field(default_factory=list, description="what it read")
    did: list[str] = Field(default_factory=list, description="what it changed")
    alias_restored: bool = Field(default=False, description="whether it moved the alias back")
    outcome_written: str | None = Field(
        default=None, description="the outcome it recorded for a deployment that had none (ABORTED or FAILED)"
    )


def request_from_status_change(event: dict[str, Any], home: StackHome | None = None) -> ReconcileRequest | None:
    """The ReconcileRequest of a Step Functions "Execution Status Change" event of a DeployFunction
    execution, or None when it is not one to act on (another status, an input naming no function:
    a Validate that refused it took no lease)."""
    detail = event.get("detail")
    if not isinstance(detail, dict) or detail.get("status") not in ENDED_EARLY:
        return None
    try:
        raw = json.loads(detail.get("input") or "null")
    except ValueError:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("function_name"), str):
        return None
    try:
        function_name = function_name_of(raw["function_name"], home)
        return parse_model(
            ReconcileRequest,
            {
                "function_name": function_name,
                "alias": raw.get("alias", DEFAULT_ALIAS),
                "execution_arn": detail.get("executionArn"),
                "execution_status": detail["status"],
            },
            "reconcile",
        )
    except InvalidRequest:
        return None


#: A deployment that ended on one of these left the alias on its baseline.
_BASELINE_KEPT = frozenset({Status.ROLLED_BACK, Status.FAILED, Status.ABORTED})


def _last_settled(records: list[HistoryRecord], excluding: str | None) -> tuple[str, str] | None:
    """(version, why) from the newest record that settled the alias: a PROMOTED deployment's new
    version, a rolled-back or failed deployment's baseline, a remediation's restored version."""
    for record in records:  # newest first
        record_id = record.deployment_id
        if record_id == excluding:
            continue
        if isinstance(record, DeploymentRecord):
            if record.status is Status.PROMOTED and record.to_version:
                return record.to_version, f"the latest PROMOTED record ({record_id}) names it"
            if record.status in _BASELINE_KEPT and record.from_version:
                why = f"the latest record ({record_id}, {record.status.value}) names it as baseline"
                return record.from_version, why
        if isinstance(record, RemediationRecord) and record.status is Status.ROLLED_BACK and record.to_version:
            return record.to_version, f"the latest remediation ({record_id}) restored it"
    return None


def target_version(
    own: DeploymentRecord | None,
    records: list[HistoryRecord],
    routing: AliasRouting,
    holder: str | None,
    captured: str | None,
) -> tuple[str, str]:
    """(the version the alias must route 100% to, why)."""
    if own is not None and own.status is Status.PROMOTED and own.to_version:
        return own.to_version, f"its record PROMOTED v{own.to_version}"
    if own is not None and own.from_version:
        return own.from_version, f"its record ({own.status.value}) names baseline v{own.from_version}"
    if captured:
        return captured, "the baseline its Preflight captured"
    settled = _last_settled(records, excluding=holder)
    if settled is not None:
        return settled
    if routing.additional_weights:
        # a version published later has a higher number: the older of a split is the baseline
        older = min([routing.version, *routing.additional_weights], key=lambda v: int(v) if v.isdigit() else 0)
        return older, "no record names a version: the older version of the split"
    return routing.version, "no record names a version: the alias as it is"


def reconcile(
    request: ReconcileRequest,
    *,
    ledger: Ledger,
    lambda_api: LambdaApi,
    events: EventPublisher,
    clock: Clock,
    executions: ExecutionReader,
) -> ReconcileReport:
    """Put function+alias right (module docstring). `executions` says whether the holder's
    execution still runs, and which baseline its Preflight captured."""
    report, _record = _reconcile(
        request, ledger=ledger, lambda_api=lambda_api, events=events, clock=clock, executions=executions
    )
    return report


def _own_ending(request: ReconcileRequest, lease: Lease) -> bool:
    """The lease's holder is the execution asking: it ends once reconcile returns."""
    return request.from_the_execution and lease.holder == request.deployment_id


def _reconcile(
    request: ReconcileRequest,
    *,
    ledger: Ledger,
    lambda_api: LambdaApi,
    events: EventPublisher,
    clock: Clock,
    executions: ExecutionReader,
) -> tuple[ReconcileReport, DeploymentRecord | None]:
    """(what it found and did, the deployment's outcome record when it has one now)."""
    function_name, alias = request.function_name, request.alias
    report = ReconcileReport(function_name=function_name, alias=alias, status="NOTHING_TO_DO")
    lease = ledger.current_lease(function_name, alias)
    holder_arn = str(lease.detail.get("execution_arn") or "") if lease else ""
    if lease is not None:
        report.found.append(f"lease held by {lease.holder} (execution {holder_arn or 'unknown'})")
        if _own_ending(request, lease):
            holder_status: str | None = request.execution_status or "FAILED"
            report.found.append(f"asked by that execution itself, which ends {holder_status} when this returns")
        else:
            holder_status = executions.status(holder_arn) if holder_arn else None
        if holder_status == _RUNNING:
            report.status = "HOLDER_RUNNING"
            report.found.append("its execution is still running: nothing to put right")
            return report, None
        if holder_status in ENDED_EARLY and request.execution_status is None:
            # a hand run: how the holder's execution ended says which outcome is missing
            request = request.model_copy(update={"execution_status": holder_status})
    # the asking execution's own deployment, even when its lease is gone (released, then the
    # release step's answer was lost)
    holder = lease.holder if lease else (request.deployment_id if request.from_the_execution else None)
    report.deployment_id = holder
    stored = ledger.get_deployment(function_name, alias, holder) if holder else None
    own = stored if isinstance(stored, DeploymentRecord) else None
    records = ledger.list_deployments(function_name, alias, limit=20)
    routing = lambda_api.get_alias(function_name, alias)
    report.found.append(f"alias {alias} routes {describe(routing)}")
    captured = None
    if own is None:
        captured = request.baseline_version or (executions.baseline_version(holder_arn) if holder_arn else None)
    target, why = target_version(own, records, routing, holder, captured)
    report.target_version = target
    report.found.append(f"target v{target}: {why}")
    # with no lease nothing of Rollgate's is in flight: a whole alias on another version is a
    # person's choice, not ours to undo; only a split (a canary cut short) is put back
    in_flight = lease is not None
    if routing.additional_weights or (in_flight and routing.version != target):
        restored, _changed = restore(lambda_api, function_name, alias, version=target)
        report.alias_restored = True
        report.did.append(f"alias {alias} put back on v{target}, reads back {describe(restored)}")
    if lease is not None:
        own = own or _write_missing_outcome(request, lease, routing, report, ledger=ledger, clock=clock)
    if own is not None and (lease is not None or request.from_the_execution):
        _announce_once(own, ledger=ledger, events=events, report=report)
    if lease is not None and ledger.release_lease(function_name, alias, lease.holder):
        report.did.append(f"lease of {lease.holder} released")
    if report.did:
        report.status = "RECONCILED"
    return report, own


#: Where the in-execution Reconcile finds the error that brought the execution there.
_FAILED_STEPS = (("Rollback", "rollback_error"), ("Record", "record_error"))
_CAUSE_LIMIT = 900


def request_from_context(ctx: DeploymentContext) -> ReconcileRequest:
    """The ReconcileRequest of a DeployFunction execution's own Reconcile step."""
    failures = [(step, err) for step, key in _FAILED_STEPS if isinstance(err := getattr(ctx, key), StepError)]
    cause = "; ".join(f"{step} failed past its retries ({err.Error}: {err.message()})" for step, err in failures)
    return ReconcileRequest(
        function_name=ctx.function_name,
        alias=ctx.alias,
        execution_arn=ctx.execution_arn,
        execution_status="FAILED",
        from_the_execution=True,
        deployment_id=ctx.deployment_id,
        baseline_version=ctx.baseline.live_version if ctx.baseline else None,
        cause=(cause or "a step failed past its retries")[:_CAUSE_LIMIT],
    )


def reconcile_from_the_execution(
    ctx: DeploymentContext,
    *,
    ledger: Ledger,
    lambda_api: LambdaApi,
    events: EventPublisher,
    clock: Clock,
    executions: ExecutionReader,
) -> dict[str, Any]:
    """The DeployFunction execution's own Reconcile step, reached when Record, the lease release or
    Rollback failed past their retries: put things right as the Reconciler would once the execution
    ended, and answer as Record does (the outcome record and its error name), so the execution ends
    on the recorded outcome."""
    report, own = _reconcile(
        request_from_context(ctx),
        ledger=ledger,
        lambda_api=lambda_api,
        events=events,
        clock=clock,
        executions=executions,
    )
    if own is None:
        # no lease and no record: nothing of this deployment is left to put right, nor to conclude on
        own = DeploymentRecord(
            deployment_id=ctx.deployment_id,
            function_name=ctx.function_name,
            alias=ctx.alias,
            status=Status.FAILED,
            reason="the execution reached Reconcile with neither a lease nor a record: " + "; ".join(report.found),
            started_at=ctx.started_at,
            finished_at=clock.now(),
        )
    result = own.result()
    return {
        **result.model_dump(mode="json"),
        "error_name": error_name(result.status),
        "reconciled": report.model_dump(mode="json"),
    }


def _write_missing_outcome(
    request: ReconcileRequest,
    lease: Lease,
    routing: AliasRouting,
    report: ReconcileReport,
    *,
    ledger: Ledger,
    clock: Clock,
) -> DeploymentRecord:
    status = Status.ABORTED if request.execution_status == "ABORTED" else Status.FAILED
    others = sorted({routing.version, *routing.additional_weights} - {report.target_version or ""})
    ended = request.execution_status or "ended"
    release_id = lease.detail.get("release_id")
    record = DeploymentRecord(
        deployment_id=lease.holder,
        function_name=request.function_name,
        alias=request.alias,
        status=status,
        from_version=report.target_version,
        to_version=others[0] if others else None,
        reason=(
            (f"{request.cause}; " if request.cause else f"the execution {ended} before recording an outcome; ")
            + "reconciled: "
            + "; ".join([*report.found, *report.did])
        ),
        started_at=lease.acquired_at,
        finished_at=clock.now(),
        release_id=str(release_id) if release_id else None,
        execution_arn=lease.detail.get("execution_arn") or request.execution_arn,
        reconciled=ReconcileNote(found=list(report.found), did=list(report.did)),
    )
    ledger.put_deployment(record)
    report.did.append(f"outcome {status.value} recorded for {lease.holder}")
    report.outcome_written = status.value
    return record


def _announce_once(
    record: DeploymentRecord, *, ledger: Ledger, events: EventPublisher, report: ReconcileReport
) -> None:
    if record.event_published is record.status:
        return
    detail_type = DEPLOYMENT_ANNOUNCEMENT.detail_types[record.status]
    events.publish(detail_type, event_detail(record))
    record.event_published = record.status
    ledger.put_deployment(record)
    report.did.append(f"{detail_type!r} event published")


def page(request: ReconcileRequest, error: Exception, *, events: EventPublisher) -> None:
    """A person must act: the alias could not be put right automatically."""
    target = f"{request.function_name}:{request.alias}"
    message = (
        f"Rollback Failed for {target}: reconcile could not put the alias right ({type(error).__name__}: {error}). "
        f"Check the alias by hand, then run `rollgate reconcile --function {request.function_name} "
        f"--alias {request.alias}`."
    )
    events.publish(
        PAGE_DETAIL_TYPE,
        {
            "function_name": request.function_name,
            "alias": request.alias,
            "execution_arn": request.execution_arn,
            "error": type(error).__name__,
            "reason": str(error),
            "message": message,
        },
    )
