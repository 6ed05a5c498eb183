"""The Remediate workflow: an alarm (or an operator) says a function is unwell; find the deployment
at fault, put the alias back on the version before it, verify, record, notify.

The culprit is the most recent PROMOTED deployment of the function+alias in the ledger, within the
lookback window (alarms only: an operator's rollback has none unless asked), with the alias still
routing all traffic to the version it promoted. A deployment in flight on that alias is asked to
abort through the ledger instead (its next health check obeys and rolls back), as long as its
execution still runs: a holder whose execution has ended (stopped, failed, timed out), or a split
alias nobody holds (its lease expired), is taken over instead — Reconcile puts the alias back on the
baseline, records the dead deployment's outcome and releases its lease — since a flag nobody reads
would change nothing. If nothing recent is implicated, nothing changes, and that is recorded and
announced too.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from rollgate.contract import REMEDIATION_ERRORS, REMEDIATION_STATUSES, Status
from rollgate.domain.deploy.reconcile import ExecutionReader, ReconcileReport, ReconcileRequest, reconcile
from rollgate.domain.deploy.start import deployment_id_for, function_name_of
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import Evidence, Lenient, StepError, Strict, parse_model
from rollgate.domain.shared.notify import FUNCTION_OUTCOME_FIELDS, Announcement
from rollgate.domain.shared.ports import Clock, EventPublisher, LambdaApi, Lease, Ledger
from rollgate.domain.shared.records import DeploymentRecord, HistoryRecord, RemediationRecord
from rollgate.domain.shared.revert import RevertReport, revert_promotion
from rollgate.domain.shared.routing import describe
from rollgate.domain.shared.triggers import (
    ALARM_DETAIL_TYPE,
    DEFAULT_ALIAS,
    FUNCTION_TAG,
    alarm_target,
    parse_alarm_event,
)
from rollgate.domain.shared.validation import AliasName, FunctionRef, LongText, StackHome, Text, check_document

#: The longest lookback a manual rollback may ask for: a year.
MAX_LOOKBACK_MINUTES = 366 * 24 * 60


class ManualRollback(Strict):
    """The console / `rollgate rollback` input."""

    function_name: FunctionRef
    alias: AliasName = DEFAULT_ALIAS
    reason: LongText = "manual rollback"
    requested_by: Text | None = None
    #: Only blame a promotion this recent (minutes); unset: the latest promotion, whatever its age.
    lookback_minutes: int | None = Field(default=None, gt=0, le=MAX_LOOKBACK_MINUTES)


class AlarmInfo(Lenient):
    name: str
    arn: str | None = None
    state: str
    reason: str = ""
    at: str | None = None


class Culprit(Lenient):
    deployment_id: str
    promoted_version: str
    previous_version: str
    promoted_at: str | None = None
    release_id: str | None = None
    smoke_tests: list[dict[str, Any]] = Field(default_factory=list)


class RemediationContext(Lenient):
    remediation_id: str
    execution_name: str
    execution_arn: str | None = None
    started_at: datetime
    trigger: Literal["alarm", "manual"]
    function_name: str
    alias: str
    reason: str
    alarm: AlarmInfo | None = None
    lookback_minutes: int | None = None
    action: Literal["rollback", "abort", "take_over", "none"] = "none"
    assessment: str = ""
    culprit: Culprit | None = None
    report: RevertReport | None = None
    takeover: ReconcileReport | None = Field(
        default=None, description="take_over: what Reconcile found and did for the deployment that no longer runs"
    )
    error: StepError | None = None


# --------------------------------------------------------------------------- Assess
def parse_trigger(
    raw: Any, *, alarm_tags: dict[str, str], default_lookback_minutes: int, home: StackHome | None = None
) -> tuple[Literal["alarm", "manual"], str, str, str, AlarmInfo | None, int | None]:
    """(trigger, function, alias, reason, alarm, lookback) from an alarm event or a manual request.
    With `home`, a function ARN (or an alarm event) from another account or region is refused."""
    if not isinstance(raw, dict):
        raise InvalidRequest(f"(remediation request): expected a JSON object, got {type(raw).__name__}")
    check_document(raw)
    if raw.get("detail-type") == ALARM_DETAIL_TYPE:
        change = parse_alarm_event(raw, home=home)
        name = change.name
        # an alarm back in OK (or without data) says nothing is wrong: rolling back would be the fault
        if change.state != "ALARM":
            raise InvalidRequest(
                f"detail.state.value: alarm {name} is {change.state!a}: Remediate acts only on an alarm in ALARM"
            )
        alarm = AlarmInfo(name=name, arn=change.arn, state=change.state, reason=change.reason, at=change.at)
        target = alarm_target(change.detail, alarm_tags, home=home)
        if target is None:
            raise InvalidRequest(
                f"detail.configuration.metrics: alarm {name} names no Lambda function: give it a FunctionName "
                f"(or Resource function:alias) dimension, or tag it {FUNCTION_TAG}=<function>"
            )
        return (
            "alarm",
            target[0],
            target[1],
            f"alarm {name} is {alarm.state}: {alarm.reason}",
            alarm,
            default_lookback_minutes,
        )
    manual = parse_model(ManualRollback, raw, home=home)
    who = f" by {manual.requested_by}" if manual.requested_by else ""
    return (
        "manual",
        function_name_of(manual.function_name, home),
        manual.alias,
        f"{manual.reason}{who}",
        None,
        manual.lookback_minutes,
    )


def start_remediation(
    raw: Any,
    execution: dict[str, Any] | None,
    *,
    alarm_tags: dict[str, str],
    default_lookback_minutes: int,
    clock: Clock,
    home: StackHome | None = None,
) -> RemediationContext:
    """`home`: the stack's account and region (default: the execution ARN's)."""
    execution = execution or {}
    trigger, function_name, alias, reason, alarm, lookback = parse_trigger(
        raw,
        alarm_tags=alarm_tags,
        default_lookback_minutes=default_lookback_minutes,
        home=home or StackHome.from_arn(execution.get("Id")),
    )
    name = str(execution.get("Name") or "manual")
    now = clock.now()
    return RemediationContext(
        remediation_id=deployment_id_for(now, name),
        execution_name=name,
        execution_arn=execution.get("Id"),
        started_at=now,
        trigger=trigger,
        function_name=function_name,
        alias=alias,
        reason=reason,
        alarm=alarm,
        lookback_minutes=lookback,
    )


def latest_promotion(records: list[HistoryRecord]) -> DeploymentRecord | None:
    """The newest deployment among `records` that promoted a new version (its alias changed)."""
    for record in records:
        if not isinstance(record, DeploymentRecord) or record.status is not Status.PROMOTED:
            continue
        if record.from_version and record.to_version and record.from_version != record.to_version:
            return record
    return None


def _ended(lease: Lease, executions: ExecutionReader | None) -> str | None:
    """How the lease holder's execution ended (None: it still runs, or cannot be told: a revert's
    lease names no execution, and without `executions` nothing can be asked)."""
    execution_arn = str(lease.detail.get("execution_arn") or "")
    if executions is None or not execution_arn:
        return None
    status = executions.status(execution_arn)
    return None if status == "RUNNING" else status or "no longer exists"


def assess(
    ctx: RemediationContext,
    *,
    ledger: Ledger,
    lambda_api: LambdaApi,
    clock: Clock,
    executions: ExecutionReader | None = None,
) -> RemediationContext:
    """Decide, without changing anything: roll back, ask the running deployment to abort, take over
    from one that no longer runs, or nothing. `executions` tells whether a lease holder still runs."""
    target = f"{ctx.function_name}:{ctx.alias}"
    lease = ledger.current_lease(ctx.function_name, ctx.alias)
    if lease is not None and lease.holder != ctx.remediation_id and (ended := _ended(lease, executions)):
        return ctx.model_copy(
            update={
                "action": "take_over",
                "assessment": (
                    f"deployment {lease.holder} of {target} holds the lease but its execution is {ended}: "
                    "taking over (alias back on its baseline, its outcome recorded, the lease released)"
                ),
            }
        )
    if lease is not None and lease.holder != ctx.remediation_id:
        return ctx.model_copy(
            update={
                "action": "abort",
                "assessment": f"deployment {lease.holder} of {target} is in flight; it is asked to abort and roll back"
                + (
                    " (unless its preflight saw this alarm in ALARM already: then the previous version raised it)"
                    if ctx.alarm
                    else ""
                ),
            }
        )
    if lease is None and (split := lambda_api.get_alias(ctx.function_name, ctx.alias)).additional_weights:
        return ctx.model_copy(
            update={
                "action": "take_over",
                "assessment": (
                    f"{target} routes {describe(split)} with no deployment holding it (one ended, its lease "
                    "expired, without putting it back): taking over"
                ),
            }
        )
    promotion = latest_promotion(ledger.list_deployments(ctx.function_name, ctx.alias, limit=50))
    if promotion is None:
        return _nothing(ctx, f"no promotion of {target} in the ledger; nothing to roll back")
    assert promotion.to_version and promotion.from_version  # latest_promotion says so
    promoted, previous = promotion.to_version, promotion.from_version
    finished = promotion.finished_at.isoformat()
    lookback = timedelta(minutes=ctx.lookback_minutes) if ctx.lookback_minutes is not None else None
    if lookback is not None and promotion.finished_at < clock.now() - lookback:
        return _nothing(
            ctx,
            f"the latest promotion of {target} (v{promoted}, {promotion.deployment_id}) finished at "
            f"{finished}, outside the {ctx.lookback_minutes}-minute lookback: no recent deployment is implicated",
        )
    routing = lambda_api.get_alias(ctx.function_name, ctx.alias)
    if routing.version != promoted or routing.additional_weights:
        return _nothing(
            ctx,
            f"{target} routes {describe(routing)}, so the promotion of v{promoted} ({promotion.deployment_id}) "
            "is no longer live",
        )
    request = promotion.request or {}
    culprit = Culprit(
        deployment_id=promotion.deployment_id,
        promoted_version=promoted,
        previous_version=previous,
        promoted_at=finished,
        release_id=promotion.release_id,
        smoke_tests=list(request.get("smoke_tests") or []),
    )
    return ctx.model_copy(
        update={
            "action": "rollback",
            "culprit": culprit,
            "assessment": (
                f"{culprit.deployment_id} promoted v{promoted} at {finished}; rolling {target} back to v{previous}"
            ),
        }
    )


def _nothing(ctx: RemediationContext, why: str) -> RemediationContext:
    return ctx.model_copy(update={"action": "none", "assessment": why})


# --------------------------------------------------------------------------- Remediate
_ALARM_ABORT = re.compile(r"^remediation \S+: alarm (?P<alarm>\S+) is ALARM")


def abort_reason(ctx: RemediationContext) -> str:
    """The abort flag's text; `alarm_behind_abort` reads the alarm back out of it."""
    return f"remediation {ctx.remediation_id}: {ctx.reason}"


def alarm_behind_abort(reason: str) -> str | None:
    """The alarm whose ALARM made Remediate ask a deployment to abort, if an alarm did. The
    deployment declines when preflight saw that alarm already in ALARM (raised by the previous
    version): flapping back into ALARM is no evidence against the new one."""
    match = _ALARM_ABORT.match(reason)
    return match.group("alarm") if match else None


def remediate(
    ctx: RemediationContext,
    *,
    ledger: Ledger,
    lambda_api: LambdaApi,
    clock: Clock,
    events: EventPublisher | None = None,
    executions: ExecutionReader | None = None,
) -> RemediationContext:
    """Act on the assessment; `events` and `executions` are needed to take over (Reconcile)."""
    if ctx.action == "take_over":
        if events is None or executions is None:
            raise ValueError("remediate: taking over needs the event publisher and the execution reader")
        # the same reconcile `rollgate rollback` and the Reconciler run: it re-checks the holder
        takeover = reconcile(
            ReconcileRequest(function_name=ctx.function_name, alias=ctx.alias),
            ledger=ledger,
            lambda_api=lambda_api,
            events=events,
            clock=clock,
            executions=executions,
        )
        if takeover.status == "HOLDER_RUNNING":
            # a deployment took the lease (or came back) since Assess: ask it to abort, as for any running one
            ctx = ctx.model_copy(update={"action": "abort", "takeover": takeover})
        else:
            ctx = ctx.model_copy(update={"takeover": takeover})
            if takeover.alias_restored:
                return ctx
            # the alias was already where the dead deployment's record says (its promotion stood):
            # with the lease free now, the culprit is found as for any alarm
            reassessed = assess(ctx, ledger=ledger, lambda_api=lambda_api, clock=clock)
            if reassessed.action != "rollback":
                return ctx.model_copy(update={"assessment": f"{ctx.assessment}; then {reassessed.assessment}"})
            ctx = reassessed.model_copy(update={"assessment": f"{ctx.assessment}; then {reassessed.assessment}"})
    if ctx.action == "abort":
        ledger.request_abort(ctx.function_name, ctx.alias, abort_reason(ctx))
        return ctx
    if ctx.action != "rollback" or ctx.culprit is None:
        return ctx
    report = revert_promotion(
        ctx.function_name,
        ctx.alias,
        promoted_version=ctx.culprit.promoted_version,
        restore_version=ctx.culprit.previous_version,
        smoke_tests=ctx.culprit.smoke_tests,
        holder=ctx.remediation_id,
        lambda_api=lambda_api,
        ledger=ledger,
        clock=clock,
    )
    return ctx.model_copy(update={"report": report})


# --------------------------------------------------------------------------- Record
REMEDIATION_ANNOUNCEMENT = Announcement(
    noun="Remediation",
    statuses=REMEDIATION_STATUSES,
    fields=(*FUNCTION_OUTCOME_FIELDS, "trigger", "execution_arn", "alarm", "release_id"),
    metric="Remediations",
)
#: The error a Remediate execution ends with when it failed.
REMEDIATION_FAILED = REMEDIATION_ERRORS[Status.FAILED]


def decide_remediation(ctx: RemediationContext) -> tuple[Status, str]:
    if ctx.error is not None:
        return Status.FAILED, f"{ctx.error.Error}: {ctx.error.message()}"
    if ctx.action == "abort":
        return Status.ABORT_REQUESTED, ctx.assessment
    took_over = f"took over: {'; '.join(ctx.takeover.did)}" if ctx.takeover is not None and ctx.takeover.did else ""
    if ctx.takeover is not None and ctx.report is None:
        if not ctx.takeover.alias_restored:
            # the lease freed, the alias left as the dead deployment's record has it, nothing to blame
            return (
                Status.NO_ACTION,
                f"{took_over or 'reconcile found nothing to put right'}; {ctx.assessment}",
            )
        return Status.ROLLED_BACK, f"{took_over} ({ctx.reason})"
    if ctx.report is not None:
        if ctx.report.status == "MOVED_ON":
            return Status.NO_ACTION, ctx.report.detail
        smoke = "" if ctx.report.smoke_passed is not False else "; THE RESTORED VERSION FAILED ITS SMOKE TEST"
        first = f"{took_over}; then " if took_over else ""
        return Status.ROLLED_BACK, f"{first}{ctx.report.detail}{smoke} ({ctx.reason})"
    return Status.NO_ACTION, ctx.assessment


def remediation_record(
    *,
    remediation_id: str,
    function_name: str,
    alias: str,
    status: Status,
    reason: str,
    trigger: str,
    started_at: datetime,
    finished_at: datetime,
    execution_arn: str | None,
    report: RevertReport | None,
    extra_evidence: list[Evidence] | None = None,
    **context: Any,
) -> RemediationRecord:
    """A ledger record in the function+alias history, beside its deployments (kind "remediation")."""
    evidence = [*(extra_evidence or []), *(report.evidence if report else [])]
    fields: dict[str, Any] = {
        "from_version": report.promoted_version if report else None,
        "to_version": report.restore_version if report else None,
        **context,
    }
    return RemediationRecord(
        deployment_id=remediation_id,
        function_name=function_name,
        alias=alias,
        status=status,
        reason=reason,
        trigger=trigger,
        started_at=started_at,
        finished_at=finished_at,
        execution_arn=execution_arn,
        evidence={"remediation": evidence},
        **fields,
    )


def conclude_remediation(ctx: RemediationContext, *, clock: Clock) -> RemediationRecord:
    status, reason = decide_remediation(ctx)
    evidence = [Evidence(check="assessment", ok=True, detail=ctx.assessment or reason)]
    takeover: dict[str, Any] = {}
    if ctx.takeover is not None:
        found, did = ctx.takeover.found, ctx.takeover.did
        evidence += [Evidence(check="takeover_found", ok=True, detail=line) for line in found]
        evidence += [Evidence(check="takeover_did", ok=True, detail=line) for line in did]
        if ctx.takeover.deployment_id:
            takeover["taken_over"] = ctx.takeover.deployment_id
        if ctx.takeover.alias_restored and ctx.report is None:
            takeover["to_version"] = ctx.takeover.target_version
    return remediation_record(
        remediation_id=ctx.remediation_id,
        function_name=ctx.function_name,
        alias=ctx.alias,
        status=status,
        reason=reason,
        trigger=ctx.trigger,
        started_at=ctx.started_at,
        finished_at=clock.now(),
        execution_arn=ctx.execution_arn,
        report=ctx.report,
        extra_evidence=evidence,
        alarm=ctx.alarm.model_dump(mode="json") if ctx.alarm else None,
        culprit=ctx.culprit.model_dump(mode="json") if ctx.culprit else None,
        release_id=ctx.culprit.release_id if ctx.culprit else None,
        **takeover,
    )
