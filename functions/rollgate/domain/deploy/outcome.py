"""Gate 9 — conclude: decide the outcome, record it with every gate's evidence, announce it, and
release the lease. Every path through the state machine ends here, so no lease is left held.

Each of the three steps is idempotent on its own, so a retried Record (after any of them failed)
finishes the work without doing any twice: the ledger record is keyed by deployment id and written
once (a retry finds it and concludes on it, not on a second decision); the outcome event is sent
once per deployment and outcome (the record carries `event_published` once it went out); the lease
release is a no-op when already released. In the state machine the release is its own step
(ReleaseLease, after Record: `record_outcome` then `release`); `conclude` is the two in one, for
the in-process runs of the gates.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from rollgate.contract import DEPLOY_ERRORS, DEPLOY_STATUSES, Status
from rollgate.domain.deploy.rollback import rollback_reason
from rollgate.domain.shared.errors import REJECTING_ERRORS, RollgateError
from rollgate.domain.shared.models import (
    DeploymentContext,
    DeploymentResult,
    Evidence,
    RollbackVerification,
    TimelineEntry,
    WatchConclusion,
)
from rollgate.domain.shared.notify import FUNCTION_OUTCOME_FIELDS, Announcement, deployment_message
from rollgate.domain.shared.ports import Clock, EventPublisher, Ledger
from rollgate.domain.shared.records import DeploymentRecord, HistoryRecord

DEPLOYMENT_ANNOUNCEMENT = Announcement(
    noun="Deployment",
    statuses=DEPLOY_STATUSES,
    fields=(
        *FUNCTION_OUTCOME_FIELDS,
        "release_id",
        "execution_arn",
        "decided_by",
        "verification",
        "rollback_verification",
    ),
    metric="Deployments",
)


def deciding_kind(ctx: DeploymentContext) -> str | None:
    """The evidence kind of the verdict that decided the outcome: the watch's last verdict once
    there was a watch, else the canary's; None when an error (an abort, a failed gate) decided."""
    if ctx.error is not None:
        return None
    for progress in (ctx.watch, ctx.canary):
        if progress is not None and progress.verdicts:
            return progress.verdicts[-1].decided_by
    return None


def _decided_by(ctx: DeploymentContext) -> str:
    kind = deciding_kind(ctx)
    return f" (decided by {kind} evidence)" if kind else ""


def rollback_cause(ctx: DeploymentContext) -> str:
    """Why the alias goes back: a watch that ended INCONCLUSIVE is said as such (it is not
    "unhealthy"); otherwise the Rollback gate's reason."""
    watch = ctx.watch
    if ctx.error is None and watch is not None and watch.conclusion is WatchConclusion.INCONCLUSIVE:
        ended = next((e.detail for e in reversed(watch.evidence) if e.check == "watch"), "the watch ended INCONCLUSIVE")
        return f"never verified healthy after promotion: {ended}"
    return (ctx.rollback.reason if ctx.rollback else rollback_reason(ctx)) + _decided_by(ctx)


def verification(ctx: DeploymentContext) -> WatchConclusion | None:
    if ctx.watch is None or ctx.watch.next != "done" or ctx.error is not None or ctx.rollback is not None:
        return None
    return ctx.watch.conclusion


def rollback_verification(ctx: DeploymentContext) -> RollbackVerification | None:
    """How the Rollback gate verified what it restored; None when it did not roll back."""
    if ctx.rollback is None or ctx.rollback_error is not None:
        return None
    if ctx.rollback.smoke_passed is False:
        return RollbackVerification.SMOKE_FAILED
    return RollbackVerification.VERIFIED if ctx.rollback.smoke_passed else RollbackVerification.ALIAS_ONLY


def decide(ctx: DeploymentContext) -> tuple[Status, str]:
    if ctx.rollback_error is not None:
        return Status.FAILED, (
            f"ROLLBACK FAILED, check alias {ctx.alias} by hand: {ctx.rollback_error.Error}: "
            f"{ctx.rollback_error.message()}"
        )
    if rollback_verification(ctx) is RollbackVerification.SMOKE_FAILED and ctx.rollback is not None:
        # its own outcome (rollback_verification): the alias is back and verified, only the
        # restored version is in doubt
        restored = ctx.rollback.restored_version
        failed = "; ".join(e.detail for e in ctx.rollback.evidence if not e.ok and e.check.startswith("smoke"))
        return Status.ROLLED_BACK, (
            f"rolled back to v{restored} (alias restored and verified), BUT v{restored} FAILED ITS SMOKE TEST "
            f"({failed or 'see the rollback evidence'}): {rollback_cause(ctx)}"
        )
    if ctx.rollback is not None:
        return Status.ROLLED_BACK, f"rolled back to v{ctx.rollback.restored_version}: {rollback_cause(ctx)}"
    if ctx.error is not None:
        status = Status.REJECTED if ctx.error.Error in REJECTING_ERRORS else Status.FAILED
        return status, f"{ctx.error.Error}: {ctx.error.message()}"
    if ctx.watch is not None and ctx.watch.next == "done":
        version = ctx.require_version().version
        if ctx.require_baseline().already_live:
            return Status.PROMOTED, f"v{version} was already live with this artifact; nothing changed"
        return Status.PROMOTED, _promotion_reason(ctx, version)
    return Status.FAILED, "the workflow ended without reaching a conclusion"


def _promotion_reason(ctx: DeploymentContext, version: str) -> str:
    conclusion = verification(ctx)
    by = _decided_by(ctx)
    # say only what ran: an all-at-once release had no canary to be healthy
    canary = "after a healthy canary" if ctx.canary is not None and ctx.canary.verdicts else "all at once (no canary)"
    if conclusion is WatchConclusion.VERIFIED:
        return f"v{version} promoted {canary} and a healthy watch{by}"
    if conclusion is WatchConclusion.UNWATCHED:
        return f"v{version} promoted without a watch (watch_seconds is 0), {canary}{by}"
    if conclusion is WatchConclusion.OPERATOR:
        from rollgate.domain.deploy.controls import operator_promotion

        notes = [*(ctx.watch.evidence if ctx.watch else []), *(ctx.canary.evidence if ctx.canary else [])]
        note = operator_promotion(notes)
        return f"v{version} promoted early by an operator: {note.detail if note else 'rollgate promote'}"
    if conclusion is WatchConclusion.UNVERIFIED:
        return (
            f"v{version} promoted UNVERIFIED: the watch ended INCONCLUSIVE and on_inconclusive_watch is "
            f"promote_unverified{by}"
        )
    return f"v{version} promoted; the watch recorded no conclusion{by}"


def _gate_evidence(ctx: DeploymentContext) -> dict[str, list[Evidence]]:
    gates = {
        "preflight": ctx.baseline,
        "update": ctx.update,
        "publish": ctx.version,
        "smoke": ctx.smoke,
        "pre_traffic_hook": ctx.pre_traffic,
        "concurrency": ctx.concurrency,
        "canary": ctx.canary,
        "watch": ctx.watch,
        "post_traffic_hook": ctx.post_traffic,
        "prune": ctx.prune,
        "redrive": ctx.redrive,
        "rollback": ctx.rollback,
    }
    evidence = {name: record.evidence for name, record in gates.items() if record is not None and record.evidence}
    if ctx.cleanup_error is not None:
        # housekeeping after a promotion failed past its retries: recorded, the promotion stands
        evidence["cleanup"] = [
            Evidence(check="cleanup", ok=False, detail=f"{ctx.cleanup_error.Error}: {ctx.cleanup_error.message()}")
        ]
    return evidence


def _timeline(ctx: DeploymentContext, finished: Any) -> list[TimelineEntry]:
    entries = [TimelineEntry(at=ctx.started_at, gate="validate", detail=f"lease taken by {ctx.deployment_id}")]
    if ctx.baseline:
        entries.append(
            TimelineEntry(
                at=ctx.baseline.captured_at, gate="preflight", detail=f"baseline v{ctx.baseline.live_version}"
            )
        )
    if ctx.update:
        entries.append(
            TimelineEntry(
                at=ctx.update.started_at, gate="update", detail=f"{ctx.update.status} after {ctx.update.polls} poll(s)"
            )
        )
    if ctx.version:
        entries.append(TimelineEntry(at=ctx.version.published_at, gate="publish", detail=f"v{ctx.version.version}"))
    if ctx.smoke:
        entries.append(TimelineEntry(at=ctx.smoke.at, gate="smoke", detail="passed" if ctx.smoke.passed else "failed"))
    if ctx.canary:
        entries.append(
            TimelineEntry(
                at=ctx.canary.canary_started_at, gate="canary", detail=f"first traffic at {ctx.canary.weight}%"
            )
        )
        entries += [
            TimelineEntry(at=v.at, gate="judge", detail=f"{v.outcome} at {v.weight}%: {v.summary}")
            for v in ctx.canary.verdicts
        ]
    if ctx.watch:
        moved = next((e.detail for e in ctx.watch.evidence if e.check == "promote"), "promoted")
        entries.append(TimelineEntry(at=ctx.watch.promoted_at, gate="promote", detail=moved))
        entries += [
            TimelineEntry(at=v.at, gate="watch", detail=f"{v.outcome}: {v.summary}") for v in ctx.watch.verdicts
        ]
    if ctx.rollback:
        entries.append(
            TimelineEntry(at=ctx.rollback.at, gate="rollback", detail=f"restored v{ctx.rollback.restored_version}")
        )
    entries.append(TimelineEntry(at=finished, gate="record", detail="concluded"))
    return sorted(entries, key=lambda e: e.at)


_EVENT_CHECKS = 10


def event_detail(record: DeploymentRecord) -> dict[str, Any]:
    """The outcome event: enough for a notification to say what, which versions, why, and the
    failed checks as evidence (the full evidence stays in the ledger; events are capped at 256 KB)."""
    failed = [
        {"gate": gate, "check": e.check, "detail": e.detail}
        for gate, items in record.evidence.items()
        for e in items
        if not e.ok and e.check != "verdict"
    ]
    fields = DEPLOYMENT_ANNOUNCEMENT.fields
    document = record.model_dump(mode="json", include=set(fields))
    return {
        **{k: document.get(k) for k in fields},
        "failed_checks": failed[:_EVENT_CHECKS],
        "message": deployment_message(record),
    }


def _detection_times(ctx: DeploymentContext) -> tuple[float | None, float | None]:
    """(time to detect, time to recover) in seconds, when the judge caused the rollback."""
    if ctx.rollback is None or ctx.canary is None:
        return None, None
    unhealthy = [v.at for p in (ctx.canary, ctx.watch) if p is not None for v in p.verdicts if v.outcome == "UNHEALTHY"]
    if not unhealthy:
        return None, None
    detected = min(unhealthy)
    return (
        (detected - ctx.canary.canary_started_at).total_seconds(),
        (ctx.rollback.at - detected).total_seconds(),
    )


@runtime_checkable
class OutcomeWriter(Protocol):
    """A Ledger that writes an outcome record only if none exists for its deployment id (the
    DynamoDB adapter: a conditional PutItem) and answers the stored one."""

    def put_outcome(self, record: DeploymentRecord) -> HistoryRecord: ...


def conclude(ctx: DeploymentContext, *, ledger: Ledger, events: EventPublisher, clock: Clock) -> DeploymentResult:
    """Record the outcome and release the lease (the Record and ReleaseLease steps in one)."""
    result = record_outcome(ctx, ledger=ledger, events=events, clock=clock)
    release(ctx, ledger=ledger)
    return result


def record_outcome(ctx: DeploymentContext, *, ledger: Ledger, events: EventPublisher, clock: Clock) -> DeploymentResult:
    """The Record step: the outcome written once (a stored one is concluded on), announced once."""
    stored = ledger.get_deployment(ctx.function_name, ctx.alias, ctx.deployment_id)
    record = stored if isinstance(stored, DeploymentRecord) else None
    if record is None:
        record = outcome_record(ctx, clock=clock)
        if isinstance(ledger, OutcomeWriter):
            written = ledger.put_outcome(record)
            record = written if isinstance(written, DeploymentRecord) else record
        else:
            ledger.put_deployment(record)
    announce_once(record, ledger=ledger, events=events)
    return record.result()


def release(ctx: DeploymentContext, *, ledger: Ledger) -> bool:
    """The ReleaseLease step: the deployment's lease given back (False: it no longer held it)."""
    return ledger.release_lease(ctx.function_name, ctx.alias, ctx.deployment_id)


def announce_once(record: DeploymentRecord, *, ledger: Ledger, events: EventPublisher) -> None:
    """The outcome event, unless the record says it already went out for this outcome. Marked after
    the put, so a crash between the two sends it once more on the retry (at least once, never lost,
    the deployment id lets a consumer drop the repeat)."""
    if record.event_published is record.status:
        return
    events.publish(DEPLOYMENT_ANNOUNCEMENT.detail_types[record.status], event_detail(record))
    try:
        ledger.put_deployment(record.model_copy(update={"event_published": record.status}))
    except RollgateError:
        # the event is out: failing Record now would only make its retry send it a second time;
        # the record itself is already written, only the mark is missing
        return
    record.event_published = record.status


def outcome_record(ctx: DeploymentContext, *, clock: Clock) -> DeploymentRecord:
    """The ledger record of the outcome decided now (decide) with every gate's evidence."""
    status, reason = decide(ctx)
    finished = clock.now()
    result = DeploymentResult(
        deployment_id=ctx.deployment_id,
        function_name=ctx.function_name,
        alias=ctx.alias,
        status=status,
        from_version=ctx.baseline.live_version if ctx.baseline else None,
        to_version=ctx.version.version if ctx.version else None,
        code_sha256=ctx.baseline.artifact_code_sha256 if ctx.baseline else None,
        reason=reason,
        started_at=ctx.started_at,
        finished_at=finished,
        release_id=ctx.request.provenance.release_id,
        trigger=ctx.request.provenance.trigger,
        evidence=_gate_evidence(ctx),
        timeline=_timeline(ctx, finished),
    )
    result.time_to_detect_seconds, result.time_to_recover_seconds = _detection_times(ctx)
    result.decided_by = deciding_kind(ctx)
    result.verification = verification(ctx)
    result.rollback_verification = rollback_verification(ctx)
    return DeploymentRecord(
        **dict(result),
        execution_arn=ctx.execution_arn,
        # the request travels with the record: a later remediation smoke-tests the restored version
        # with the same tests, and a person can see exactly what was asked for
        request=ctx.request.model_dump(mode="json"),
    )


def error_name(status: Status) -> str | None:
    """The error a DeployFunction execution ends with for `status` (None: it succeeds)."""
    return DEPLOY_ERRORS.get(status)
