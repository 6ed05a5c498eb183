"""What a running deployment tells the outside world while it runs.

- **`Deployment Step Changed`** events, put on the Rollgate bus each time the alias weight moves
  (a canary step, the promotion, a control share, 100% at the end of the watch) and after each
  judgement, so a chat integration can show a rollout live. Their source is `rollgate.progress`,
  not `rollgate`: the notifications rule sends every `rollgate` event to the SNS topic, and a
  line a minute per deployment would bury the outcomes people are paged for.
- **The per-period series the judge looked at**, kept in the gate's evidence (check `series`), so
  that the ledger alone can draw a deployment (`rollgate report`). Each judgement reads its window
  from the start of the canary (the watch: from its own start), so the latest one covers the
  whole gate; it replaces the previous one instead of piling up, and is capped so that a long
  bake cannot crowd the execution's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from rollgate.domain.judge.health import HealthWindow, PeriodStats
from rollgate.domain.shared.models import CanaryProgress, DeploymentContext, Evidence, VerdictSummary, WatchProgress

STEP_CHANGED = "Deployment Step Changed"
PROGRESS_SOURCE = "rollgate.progress"

#: what moved: a canary step, the promotion (holdback left), the control share of an unpaired
#: watch, the holdback moved at the end of the watch; or a verdict
Step = Literal["shift", "promote", "control", "complete", "judge"]

SERIES_CHECK = "series"
#: the columns of a `series` row; None is "no datapoint" (never zero)
SERIES_COLUMNS = (
    "offset_seconds",
    "new_invocations",
    "new_errors",
    "new_p95_ms",
    "previous_invocations",
    "previous_errors",
    "previous_p95_ms",
)
#: the columns of a `series` verdict row
VERDICT_COLUMNS = ("at", "outcome", "weight", "decided_by")
#: periods kept per gate: two hours of one-minute periods, about 5 KB of the execution's state
KEPT_PERIODS = 120


class StepChanged(BaseModel):
    """The detail of a `Deployment Step Changed` event."""

    deployment_id: str = Field(description="the deployment (as in the ledger and the outcome event)")
    function_name: str = Field(description="the function being released")
    alias: str = Field(description="the alias whose traffic moves")
    phase: Literal["canary", "watch"] = Field(description="canary (before promotion) or watch (after)")
    step: Step = Field(description="what happened: shift | promote | control | complete (a move) or judge")
    weight: int = Field(description="percent of the alias's traffic on the new version now")
    new_version: str | None = Field(default=None, description="the version being released")
    previous_version: str | None = Field(default=None, description="the version live before")
    verdict: str | None = Field(default=None, description="for step judge: HEALTHY | UNHEALTHY | INCONCLUSIVE")
    decided_by: str | None = Field(default=None, description="for step judge: the evidence kind that decided")
    summary: str | None = Field(default=None, description="for step judge: the verdict in one sentence")
    next: str = Field(description="what the workflow does next (bake, shift, promote, watch, complete, rollback …)")
    at: datetime = Field(description="when it happened")
    release_id: str | None = Field(default=None, description="the release this deployment belongs to, if any")
    execution_arn: str | None = Field(default=None, description="the DeployFunction execution")
    message: str = Field(description="one readable line for a chat message")


def _weight(progress: CanaryProgress | WatchProgress) -> int:
    return progress.weight if isinstance(progress, CanaryProgress) else 100 - progress.holdback_percent


def _moved_at(progress: CanaryProgress | WatchProgress) -> datetime:
    if isinstance(progress, CanaryProgress):
        return progress.step_started_at
    return progress.weight_since or progress.promoted_at


def step_changed(
    ctx: DeploymentContext, progress: CanaryProgress | WatchProgress, *, step: Step, at: datetime | None = None
) -> StepChanged | None:
    """The event for `progress` as a task just returned it, or None when nothing moved and nothing
    was judged (an already-live artifact, a strategy without steps: Promote makes the move)."""
    baseline, version = ctx.baseline, ctx.version
    if baseline is not None and baseline.already_live:
        return None
    if step == "shift" and (not isinstance(progress, CanaryProgress) or progress.next != "bake"):
        return None
    phase: Literal["canary", "watch"] = "canary" if isinstance(progress, CanaryProgress) else "watch"
    weight = _weight(progress)
    verdict = progress.verdicts[-1] if step == "judge" and progress.verdicts else None
    if step == "judge" and verdict is None:
        return None
    where = f"{ctx.function_name}:{ctx.alias}"
    new = f"v{version.version}" if version else "the new version"
    if verdict is not None:
        by = f" (decided by {verdict.decided_by} evidence)" if verdict.decided_by else ""
        judged = f"{verdict.outcome} with {new} at {weight}%{by}"
        message = f"{where} {phase}: {judged} -> {progress.next}: {verdict.summary}"
    else:
        message = f"{where} {phase}: {step}, {new} now takes {weight}% -> {progress.next}"
    return StepChanged(
        deployment_id=ctx.deployment_id,
        function_name=ctx.function_name,
        alias=ctx.alias,
        phase=phase,
        step=step,
        weight=weight,
        new_version=version.version if version else None,
        previous_version=baseline.live_version if baseline else None,
        verdict=verdict.outcome if verdict else None,
        decided_by=verdict.decided_by if verdict else None,
        summary=verdict.summary if verdict else None,
        next=progress.next,
        at=verdict.at if verdict else (at or _moved_at(progress)),
        release_id=ctx.request.provenance.release_id,
        execution_arn=ctx.execution_arn,
        message=message,
    )


def promotion_step(ctx: DeploymentContext) -> Step | None:
    """Which move the Promote task makes for this context (the watch record says which is due), or
    None when it makes none (a replay)."""
    if ctx.watch is None:
        return "promote"
    if ctx.watch.next == "control":
        return "control"
    if ctx.watch.next == "complete":
        return "complete"
    return None


# --------------------------------------------------------------------------- the judged series
def _number(value: float | None, digits: int = 0) -> float | int | None:
    if value is None:
        return None
    rounded = round(value, digits)
    return int(rounded) if float(rounded).is_integer() else rounded


def _row(start: datetime, new: PeriodStats | None, previous: PeriodStats | None, origin: datetime) -> list[Any]:
    def cells(stats: PeriodStats | None) -> list[Any]:
        if stats is None:
            return [None, None, None]
        return [_number(stats.invocations), _number(stats.errors), _number(stats.p95_ms, 1)]

    return [int((start - origin).total_seconds()), *cells(new), *cells(previous)]


def series_evidence(window: HealthWindow, verdicts: list[VerdictSummary], period_seconds: int) -> Evidence:
    """The periods `window` holds, new version beside the previous one (the stable version in the
    canary, the holdback in a paired watch; none in an unpaired watch), one row a period, with the
    verdicts so far: what `rollgate report` draws."""
    new = {p.start: p for p in window.canary.periods}
    previous = {p.start: p for p in window.stable.periods} if window.stable else {}
    starts = sorted(set(new) | set(previous))[-KEPT_PERIODS:]
    rows = [_row(start, new.get(start), previous.get(start), starts[0]) for start in starts]
    previous_version = window.stable.version if window.stable else None
    beside = f" beside v{previous_version}" if previous_version else " (unpaired: no previous version alongside)"
    return Evidence(
        check=SERIES_CHECK,
        ok=True,
        detail=f"{len(rows)} period(s) of {period_seconds} s of v{window.canary.version}{beside}, as judged",
        data={
            "phase": window.phase,
            "period_seconds": period_seconds,
            "start": starts[0].isoformat() if starts else None,
            "weight_since": window.weight_since.isoformat() if window.weight_since else None,
            "new_version": window.canary.version,
            "previous_version": previous_version,
            "columns": list(SERIES_COLUMNS),
            "periods": rows,
            "verdict_columns": list(VERDICT_COLUMNS),
            "verdicts": [[v.at.isoformat(), v.outcome, v.weight, v.decided_by] for v in verdicts],
        },
    )
