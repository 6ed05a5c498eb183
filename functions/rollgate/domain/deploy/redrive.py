"""DLQ redrive after a fixing release: the dead letters of a queue consumer moved back to the queue
they came from once the fix is live, and stopped if they fail again.

A consumer's failed messages wait in the dead-letter queue its SQS event source's RedrivePolicy
names (``deadLetterTargetArn``); once the release that fixes the consumer is promoted and its watch
verified it, those messages can be consumed again. The plan reads the function's event source
mappings: each SQS source with a redrive DLQ is one *leg* (DLQ -> source). The function's own
on-failure DLQ (async invocations) has no source queue to move back to: it is said and skipped.

Each leg is an SQS message move task (StartMessageMoveTask, at most `max_messages_per_second`),
followed by polls (a Wait/Check loop in the state machine, a loop of `rollgate redrive`). Every poll
reads each task's status and ApproximateNumberOfMessagesMoved, each DLQ's depth, and the consuming
version's Errors and Invocations during the redrive and before it. The judgement is the simplest
honest one:

- a DLQ that takes back more than `max_refill_share` of the messages moved out of it: the
  redriven messages fail again (its depth beyond what the move leaves there is the refill; a
  failure of live traffic meanwhile counts too, which errs towards stopping);
- the consumer's error rate during the redrive above its rate before it by more than
  `max_error_rate_increase`, at the health policy's significance (the judge's one-sided test of
  two rates, ``rollgate.domain.judge.stats.excess_rate_pvalue``): failures that SQS retries before
  they reach the DLQ show here first.

Either stops the redrive: every running move is cancelled (CancelMessageMoveTask) and the outcome
is REDRIVE_STOPPED, with what was moved and what came back. A redrive still moving at
`max_seconds` is cancelled too (REDRIVE_INCOMPLETE: the rest stays in the DLQ). When every move
has ended, one more poll lets the last messages be consumed (and fail, if they do) before the
outcome is REDRIVE_COMPLETED. A metric read that fails is said and judged as not read: the DLQs
still decide. The release is promoted already: a stopped redrive is a finding and an event, never
a rollback.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from pydantic import Field

from rollgate.domain.judge.stats import excess_rate_pvalue
from rollgate.domain.shared.errors import ConflictError, NotFoundError, TransientAwsError
from rollgate.domain.shared.models import (
    DeploymentContext,
    Evidence,
    Lenient,
    RedrivePolicy,
    RedriveReport,
    WatchConclusion,
)
from rollgate.domain.shared.ports import (
    Clock,
    EventPublisher,
    EventSourceMapping,
    MessageMover,
    MessageMoveTask,
    MetricSource,
    QueueProbe,
    RedriveProbe,
)

#: How far before the redrive the consumer's error rate is read (never before the promotion).
BEFORE_WINDOW = timedelta(minutes=15)
#: The detail type of the event a stopped redrive puts on the Rollgate bus.
REDRIVE_STOPPED_EVENT = "Deployment Redrive Stopped"

Outcome = Literal["REDRIVE_COMPLETED", "REDRIVE_STOPPED", "REDRIVE_INCOMPLETE", "NOTHING_TO_REDRIVE", "SKIPPED"]
_ENDED = frozenset({"COMPLETED", "CANCELLED", "FAILED"})


class RedriveLeg(Lenient):
    """One DLQ moved back to one source queue."""

    dlq: str = Field(description="ARN of the dead-letter queue the messages are moved out of")
    source: str = Field(description="ARN of the SQS event source they are moved back to")
    depth_at_start: int = Field(default=0, description="the DLQ's depth when the move started")
    handle: str | None = Field(default=None, description="the move task's handle")
    task_status: str = Field(default="PENDING", description="RUNNING, COMPLETED, CANCELLED, FAILED (PENDING: none)")
    to_move: int = 0
    moved: int = 0
    depth: int | None = Field(default=None, description="the DLQ's depth at the last poll")
    refilled: int = Field(default=0, description="messages back in the DLQ beyond what the move left there")
    failure_reason: str | None = None

    def describe(self) -> str:
        return f"{_name(self.dlq)} -> {_name(self.source)}"


class RedriveProgress(RedriveReport):
    """Where the redrive stands. `status` drives the state machine's RedriveNext?: Running waits
    `poll_interval_seconds` and checks again; Skipped and Done go on to Record."""

    outcome: Outcome | None = None
    function_name: str = ""
    alias: str = ""
    version: str | None = Field(default=None, description="the version consuming the redriven messages")
    started_at: datetime | None = None
    until: datetime | None = Field(default=None, description="started_at + max_seconds: moves still running stop")
    ended_at: datetime | None = Field(default=None, description="when every move had ended (then one settling poll)")
    poll_interval_seconds: int = 30
    polls: int = 0
    counted_from: datetime | None = Field(default=None, description="start of the pre-redrive error window")
    errors_before: float | None = None
    invocations_before: float | None = None
    errors_during: float | None = None
    invocations_during: float | None = None
    legs: list[RedriveLeg] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="queues that cannot be redriven, and why")
    evidence: list[Evidence] = Field(default_factory=list)

    @property
    def moved(self) -> int:
        return sum(leg.moved for leg in self.legs)


@dataclass(frozen=True)
class RedriveTarget:
    """What is redriven for whom: the function and alias, the version that consumes, the policy."""

    function_name: str
    alias: str
    version: str
    policy: RedrivePolicy
    metric_period_seconds: int = 60
    significance: float = 0.01


# --------------------------------------------------------------------------- the plan
def plan_redrive(
    mappings: list[EventSourceMapping], queues: RedriveProbe, *, function_dlq: str | None = None
) -> tuple[list[RedriveLeg], list[str]]:
    """The legs (each SQS event source with a redrive DLQ: DLQ -> source) and what cannot be
    redriven, with why. A DLQ shared by several sources cannot be moved back to one of them: skipped."""
    legs: dict[str, RedriveLeg] = {}
    skipped: list[str] = []
    shared: set[str] = set()
    for mapping in mappings:
        if ":sqs:" not in mapping.source_arn:
            continue
        target = queues.redrive_target(mapping.source_arn)
        if target is None:
            skipped.append(f"{_name(mapping.source_arn)} has no redrive policy: its failed messages have no DLQ")
            continue
        if target in legs and legs[target].source != mapping.source_arn:
            shared.add(target)
            continue
        legs[target] = RedriveLeg(dlq=target, source=mapping.source_arn)
    for target in sorted(shared):
        legs.pop(target, None)
        skipped.append(f"{_name(target)} is the DLQ of several sources: which one a message came from is unknown")
    if function_dlq and function_dlq not in legs and ":sqs:" in function_dlq:
        skipped.append(
            f"{_name(function_dlq)} is the function's own on-failure DLQ (async invocations): it has no source "
            "queue to move back to"
        )
    return list(legs.values()), skipped


# --------------------------------------------------------------------------- starting
def start_moves(
    target: RedriveTarget,
    legs: list[RedriveLeg],
    skipped: list[str],
    *,
    mover: MessageMover,
    queues: QueueProbe,
    metrics: MetricSource,
    clock: Clock,
    not_before: datetime | None = None,
    dry_run: bool = False,
) -> RedriveProgress:
    """Start (or adopt: a rerun finds its own move running) a move per leg whose DLQ holds
    messages; read the consumer's error rate before the redrive. `not_before` bounds that window
    (the promotion: the error rate of the version that consumes)."""
    now = clock.now()
    policy = target.policy
    progress = RedriveProgress(
        status="Running",
        function_name=target.function_name,
        alias=target.alias,
        version=target.version,
        started_at=now,
        until=now + timedelta(seconds=policy.max_seconds),
        poll_interval_seconds=policy.poll_interval_seconds,
        skipped=list(skipped),
    )
    started: list[RedriveLeg] = []
    for leg in legs:
        depth = queues.depth(leg.dlq)
        running = _running(mover.message_moves(leg.dlq))
        if running is not None and running.destination_arn not in (None, leg.source):
            progress.skipped.append(f"{leg.describe()}: another move of {_name(leg.dlq)} runs")
            continue
        if running is None and depth == 0:
            progress.skipped.append(f"{_name(leg.dlq)} is empty: nothing to redrive")
            continue
        leg = leg.model_copy(update={"depth_at_start": depth, "depth": depth})
        if running is not None:
            leg = leg.model_copy(update={"handle": running.handle, "task_status": running.status})
        elif not dry_run:
            handle = _start(mover, leg, policy.max_messages_per_second)
            leg = leg.model_copy(update={"handle": handle, "task_status": "RUNNING"})
        started.append(leg)
    progress.legs = started
    for note in progress.skipped:
        progress.evidence.append(Evidence(check="redrive", ok=True, detail=f"skipped: {note}"))
    if not started:
        progress.status, progress.outcome = "Done", "NOTHING_TO_REDRIVE"
        progress.reason = "nothing to redrive" + (f": {'; '.join(progress.skipped)}" if progress.skipped else "")
        progress.evidence.append(Evidence(check="redrive", ok=True, detail=progress.reason))
        return progress
    earliest = now - BEFORE_WINDOW
    progress.counted_from = max(earliest, not_before) if not_before else earliest
    before = _counts(metrics, target, progress.counted_from, now)
    if before is not None:
        progress.errors_before, progress.invocations_before = before
    verb = "would move" if dry_run else "moving"
    detail = (
        f"{verb} {sum(leg.depth_at_start for leg in started)} message(s) at most "
        f"{policy.max_messages_per_second}/s: "
        + ", ".join(f"{leg.describe()} ({leg.depth_at_start})" for leg in started)
    )
    progress.evidence.append(Evidence(check="redrive", ok=True, detail=detail, data={"legs": _legs_data(started)}))
    if dry_run:
        progress.status, progress.outcome, progress.reason = "Done", "SKIPPED", f"dry run: {detail}"
    return progress


def _start(mover: MessageMover, leg: RedriveLeg, rate: int) -> str:
    try:
        return mover.start_message_move(leg.dlq, leg.source, max_per_second=rate)
    except ConflictError:
        # a move started meanwhile (a retried start whose first attempt got through): adopt it
        running = _running(mover.message_moves(leg.dlq))
        if running is None or running.handle is None:
            raise
        return running.handle


def _running(tasks: list[MessageMoveTask]) -> MessageMoveTask | None:
    return next((t for t in tasks if t.status == "RUNNING"), None)


# --------------------------------------------------------------------------- each poll
def poll_moves(
    target: RedriveTarget,
    progress: RedriveProgress,
    *,
    mover: MessageMover,
    queues: QueueProbe,
    metrics: MetricSource,
    clock: Clock,
) -> RedriveProgress:
    """Re-read every move, DLQ and the consumer's errors; judge; stop the moves when the redriven
    messages fail again or the time is up; conclude once every move has ended and settled."""
    if progress.status != "Running":
        return progress
    now = clock.now()
    policy = target.policy
    legs = [_reread(leg, mover, queues) for leg in progress.legs]
    # what the start planned stays; the previous poll's notes give way to this one's
    kept = [e for e in progress.evidence if e.check == "redrive"]
    progress = progress.model_copy(update={"legs": legs, "polls": progress.polls + 1, "evidence": kept})
    notes: list[str] = []
    if progress.started_at is not None:
        during = _counts(metrics, target, progress.started_at, now)
        if during is None:
            notes.append("the consumer's metrics could not be read: judged on the DLQs alone")
        else:
            progress.errors_during, progress.invocations_during = during
    failing = judge_redrive(progress, policy, significance=target.significance)
    if failing:
        return _stop(
            progress, mover, now, "REDRIVE_STOPPED", f"the redriven messages fail again: {'; '.join(failing)}", notes
        )
    failed = [leg for leg in legs if leg.task_status == "FAILED"]
    if failed:
        reasons = "; ".join(f"{leg.describe()}: {leg.failure_reason or 'FAILED'}" for leg in failed)
        return _stop(progress, mover, now, "REDRIVE_INCOMPLETE", f"a move failed: {reasons}", notes)
    if all(leg.task_status in _ENDED for leg in legs):
        if progress.ended_at is None:  # one more poll: the last moved messages are consumed (or fail)
            progress.ended_at = now
            return _noted(progress, notes, "every move has ended; one more poll before concluding")
        progress.status, progress.outcome = "Done", "REDRIVE_COMPLETED"
        progress.reason = f"{progress.moved} message(s) redriven and consumed: " + _summary(progress)
        progress.evidence.append(Evidence(check="redrive", ok=True, detail=progress.reason, data=_data(progress)))
        return _noted(progress, notes, None)
    if progress.until is not None and now >= progress.until:
        return _stop(
            progress,
            mover,
            now,
            "REDRIVE_INCOMPLETE",
            f"still moving after redrive.max_seconds ({policy.max_seconds})",
            notes,
        )
    return _noted(progress, notes, f"moving: {_summary(progress)}")


def judge_redrive(progress: RedriveProgress, policy: RedrivePolicy, *, significance: float = 0.01) -> list[str]:
    """Why the redriven messages fail again (empty: they do not, as far as can be told)."""
    failing: list[str] = []
    for leg in progress.legs:
        if leg.moved > 0 and leg.refilled > policy.max_refill_share * leg.moved:
            failing.append(
                f"{_name(leg.dlq)} took back {leg.refilled} of the {leg.moved} message(s) moved out of it "
                f"(more than {policy.max_refill_share:.0%})"
            )
    errors, invocations = progress.errors_during, progress.invocations_during
    if errors is not None and invocations and errors > 0:
        errors_before = progress.errors_before or 0.0
        invocations_before = progress.invocations_before or 0.0
        p = excess_rate_pvalue(errors, invocations, errors_before, invocations_before, policy.max_error_rate_increase)
        if p < significance:
            before = f"{errors_before:g}/{invocations_before:g}" if invocations_before else "no invocations"
            failing.append(
                f"the consumer's errors rose to {errors:g}/{invocations:g} invocations during the redrive "
                f"({before} before; p={p:.2g})"
            )
    return failing


def _reread(leg: RedriveLeg, mover: MessageMover, queues: QueueProbe) -> RedriveLeg:
    tasks = mover.message_moves(leg.dlq)
    task = next((t for t in tasks if leg.handle is not None and t.handle == leg.handle), None)
    if task is None:  # a handle is listed only while RUNNING: the newest task started at or after ours
        task = tasks[0] if tasks else None
    update: dict[str, object] = {}
    if task is not None:
        update = {
            "task_status": task.status,
            "moved": task.moved,
            "to_move": task.to_move or leg.to_move,
            "failure_reason": task.failure_reason,
        }
    depth = queues.depth(leg.dlq)
    moved = int(update.get("moved", leg.moved))  # type: ignore[call-overload]
    left = max(leg.depth_at_start - moved, 0)
    update.update({"depth": depth, "refilled": max(depth - left, 0)})
    return leg.model_copy(update=update)


def _stop(
    progress: RedriveProgress, mover: MessageMover, now: datetime, outcome: Outcome, why: str, notes: list[str]
) -> RedriveProgress:
    cancelled = []
    legs = []
    for leg in progress.legs:
        if leg.task_status == "RUNNING" and leg.handle:
            try:
                moved = mover.cancel_message_move(leg.handle)
            except NotFoundError:
                moved = None
            if moved is not None:
                leg = leg.model_copy(update={"task_status": "CANCELLED", "moved": max(leg.moved, moved)})
                cancelled.append(leg.describe())
        legs.append(leg)
    progress = progress.model_copy(update={"legs": legs, "status": "Done", "outcome": outcome, "ended_at": now})
    stopped = f"; move cancelled: {', '.join(cancelled)}" if cancelled else ""
    progress.reason = f"{why}{stopped} ({_summary(progress)})"
    progress.evidence.append(Evidence(check="redrive", ok=False, detail=progress.reason, data=_data(progress)))
    return _noted(progress, notes, None)


def _noted(progress: RedriveProgress, notes: list[str], status: str | None) -> RedriveProgress:
    for note in notes:
        progress.evidence.append(Evidence(check="redrive_note", ok=True, detail=note))
    if status is not None:
        progress.evidence.append(Evidence(check="redrive_poll", ok=True, detail=status, data=_data(progress)))
    return progress


def _counts(metrics: MetricSource, target: RedriveTarget, start: datetime, end: datetime) -> tuple[float, float] | None:
    """Errors and invocations of the consuming version over [start, end) (the periods that start in
    it), or None when they cannot be read."""
    if end <= start:
        return 0.0, 0.0
    period = target.metric_period_seconds
    try:
        periods = metrics.version_series(target.function_name, target.alias, target.version, start, end, period)
    except (TransientAwsError, NotFoundError):
        return None
    errors = sum(p.errors or 0.0 for p in periods if p.invocations is not None)
    invocations = sum(p.invocations or 0.0 for p in periods)
    return errors, invocations


def _summary(progress: RedriveProgress) -> str:
    return ", ".join(
        f"{leg.describe()}: {leg.moved}/{leg.to_move or leg.depth_at_start} moved ({leg.task_status.lower()}), "
        f"DLQ {leg.depth if leg.depth is not None else '?'}" + (f", {leg.refilled} back" if leg.refilled else "")
        for leg in progress.legs
    )


def _legs_data(legs: list[RedriveLeg]) -> list[dict[str, object]]:
    return [leg.model_dump(mode="json") for leg in legs]


def _data(progress: RedriveProgress) -> dict[str, object]:
    return {
        "legs": _legs_data(progress.legs),
        "errors_before": progress.errors_before,
        "invocations_before": progress.invocations_before,
        "errors_during": progress.errors_during,
        "invocations_during": progress.invocations_during,
    }


def _name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


# --------------------------------------------------------------------------- the workflow's gate
def redrive_target(ctx: DeploymentContext) -> RedriveTarget | str:
    """What the deployment redrives, or why it does not (not asked, not verified by a watch)."""
    policy = ctx.request.redrive
    if policy is None or not policy.after_fix:
        return "not asked for (redrive.after_fix)"
    watch = ctx.watch
    if watch is None or watch.conclusion != WatchConclusion.VERIFIED:
        how = watch.conclusion.value if watch is not None and watch.conclusion is not None else "not watched"
        return f"the promotion was not verified by its watch ({how}): a fix must be verified before its DLQ is redriven"
    return RedriveTarget(
        function_name=ctx.function_name,
        alias=ctx.alias,
        version=ctx.require_version().version,
        policy=policy,
        metric_period_seconds=ctx.request.health.metric_period_seconds,
        significance=ctx.request.health.significance,
    )


def start_redrive(
    ctx: DeploymentContext,
    *,
    mappings: list[EventSourceMapping],
    queues: RedriveProbe,
    depths: QueueProbe,
    mover: MessageMover,
    metrics: MetricSource,
    clock: Clock,
) -> RedriveProgress:
    """StartRedrive: after a verified promotion, the moves of the plan started (or Skipped, saying why)."""
    target = redrive_target(ctx)
    if isinstance(target, str):
        return RedriveProgress(
            status="Skipped",
            outcome="SKIPPED",
            reason=target,
            function_name=ctx.function_name,
            alias=ctx.alias,
            evidence=[Evidence(check="redrive", ok=True, detail=f"skipped: {target}")],
        )
    baseline = ctx.require_baseline()
    own_dlq = next((q.queue for q in baseline.dead_letter_queues if q.kind == "async"), None)
    legs, skipped = plan_redrive(mappings, queues, function_dlq=own_dlq)
    promoted = ctx.watch.promoted_at if ctx.watch is not None else None
    return start_moves(
        target, legs, skipped, mover=mover, queues=depths, metrics=metrics, clock=clock, not_before=promoted
    )


def check_redrive(
    ctx: DeploymentContext,
    progress: RedriveProgress,
    *,
    mover: MessageMover,
    queues: QueueProbe,
    metrics: MetricSource,
    events: EventPublisher,
    clock: Clock,
) -> RedriveProgress:
    """CheckRedrive: one poll; a stopped redrive also puts `Deployment Redrive Stopped` on the bus."""
    target = redrive_target(ctx)
    if isinstance(target, str) or progress.status != "Running":
        return progress
    answer = poll_moves(target, progress, mover=mover, queues=queues, metrics=metrics, clock=clock)
    if answer.outcome == "REDRIVE_STOPPED":
        message = (
            f"{ctx.function_name}:{ctx.alias} v{target.version} is promoted, but its DLQ redrive was stopped: "
            f"{answer.reason}"
        )
        events.publish(
            REDRIVE_STOPPED_EVENT,
            {
                "deployment_id": ctx.deployment_id,
                "function_name": ctx.function_name,
                "alias": ctx.alias,
                "version": target.version,
                "execution_arn": ctx.execution_arn,
                "outcome": answer.outcome,
                "moved": answer.moved,
                "legs": _legs_data(answer.legs),
                "message": message,
            },
        )
    return answer
