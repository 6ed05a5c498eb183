"""Gate 9 — conclude: decide the outcome, record it with every gate's evidence, announce it, and
release the lease. Every path through the state machine ends here, so no lease is left held.

Idempotent: the ledger record is keyed by deployment id and overwritten, the lease release is a
no-op when already released, and a duplicate event carries the same deployment id.
"""

from __future__ import annotations

from typing import Any

from rollgate.domain.errors import REJECTING_ERRORS
from rollgate.domain.models import (
    DeploymentContext,
    DeploymentResult,
    DeploymentStatus,
    Evidence,
    TimelineEntry,
)
from rollgate.domain.notify import deployment_message
from rollgate.domain.ports import Clock, EventPublisher, Ledger

ERROR_NAMES = {
    DeploymentStatus.ROLLED_BACK: "DeploymentRolledBack",
    DeploymentStatus.REJECTED: "DeploymentRejected",
    DeploymentStatus.FAILED: "DeploymentFailed",
}
DETAIL_TYPES = {
    DeploymentStatus.PROMOTED: "Deployment Promoted",
    DeploymentStatus.ROLLED_BACK: "Deployment Rolled Back",
    DeploymentStatus.REJECTED: "Deployment Rejected",
    DeploymentStatus.FAILED: "Deployment Failed",
}


def decide(ctx: DeploymentContext) -> tuple[DeploymentStatus, str]:
    if ctx.rollback_error is not None:
        return DeploymentStatus.FAILED, (
            f"ROLLBACK FAILED, check alias {ctx.alias} by hand: {ctx.rollback_error.Error}: "
            f"{ctx.rollback_error.message()}"
        )
    if ctx.rollback is not None:
        return DeploymentStatus.ROLLED_BACK, (f"rolled back to v{ctx.rollback.restored_version}: {ctx.rollback.reason}")
    if ctx.error is not None:
        status = DeploymentStatus.REJECTED if ctx.error.Error in REJECTING_ERRORS else DeploymentStatus.FAILED
        return status, f"{ctx.error.Error}: {ctx.error.message()}"
    if ctx.watch is not None and ctx.watch.next == "done":
        version = ctx.require_version().version
        baseline = ctx.require_baseline()
        if baseline.already_live:
            return DeploymentStatus.PROMOTED, f"v{version} was already live with this artifact; nothing changed"
        return DeploymentStatus.PROMOTED, f"v{version} promoted after a healthy canary and watch"
    return DeploymentStatus.FAILED, "the workflow ended without reaching a conclusion"


def _gate_evidence(ctx: DeploymentContext) -> dict[str, list[Evidence]]:
    gates = {
        "preflight": ctx.baseline,
        "update": ctx.update,
        "publish": ctx.version,
        "smoke": ctx.smoke,
        "canary": ctx.canary,
        "watch": ctx.watch,
        "rollback": ctx.rollback,
    }
    return {name: record.evidence for name, record in gates.items() if record is not None and record.evidence}


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
        entries.append(TimelineEntry(at=ctx.watch.promoted_at, gate="promote", detail="100%"))
        entries += [
            TimelineEntry(at=v.at, gate="watch", detail=f"{v.outcome}: {v.summary}") for v in ctx.watch.verdicts
        ]
    if ctx.rollback:
        entries.append(
            TimelineEntry(at=ctx.rollback.at, gate="rollback", detail=f"restored v{ctx.rollback.restored_version}")
        )
    entries.append(TimelineEntry(at=finished, gate="record", detail="concluded"))
    return sorted(entries, key=lambda e: e.at)


_EVENT_FIELDS = (
    "deployment_id",
    "function_name",
    "alias",
    "status",
    "from_version",
    "to_version",
    "reason",
    "release_id",
    "execution_arn",
)
_EVENT_CHECKS = 10


def event_detail(document: dict[str, Any]) -> dict[str, Any]:
    """The outcome event: enough for a notification to say what, which versions, why, and the
    failed checks as evidence (the full evidence stays in the ledger; events are capped at 256 KB)."""
    failed = [
        {"gate": gate, "check": e["check"], "detail": e["detail"]}
        for gate, items in document.get("evidence", {}).items()
        for e in items
        if not e.get("ok", True) and e.get("check") != "verdict"
    ]
    return {
        **{k: document.get(k) for k in _EVENT_FIELDS},
        "failed_checks": failed[:_EVENT_CHECKS],
        "message": deployment_message(document),
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


def conclude(ctx: DeploymentContext, *, ledger: Ledger, events: EventPublisher, clock: Clock) -> DeploymentResult:
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
    document = result.model_dump(mode="json")
    document["execution_arn"] = ctx.execution_arn
    document["kind"] = "deployment"
    # the request travels with the record: a later remediation smoke-tests the restored version
    # with the same tests, and a person can see exactly what was asked for
    document["request"] = ctx.request.model_dump(mode="json")
    ledger.put_deployment(document)
    events.publish(DETAIL_TYPES[status], event_detail(document))
    ledger.release_lease(ctx.function_name, ctx.alias, ctx.deployment_id)
    return result


def error_name(status: DeploymentStatus) -> str | None:
    return ERROR_NAMES.get(status)
