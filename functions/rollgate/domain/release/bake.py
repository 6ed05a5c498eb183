"""The bake between two waves: the wave just promoted keeps being judged for `bake_seconds` before
the next one starts.

Each promoted function is judged as its own unpaired watch is (the same `observe` and `judge`): the
new version, now on all of the alias's traffic, over the bake so far, against the previous
version's pre-deploy periods, its dead-letter queues against their depth when the bake began, its
guarding alarms against their state then. An UNHEALTHY verdict stops the release before the next
wave and, atomic, reverts what it promoted, as a failed wave does. A bake that ends without one
lets the next wave start; a last verdict that is not HEALTHY is recorded as `unverified`, never as
healthy.

`decide_bake` is the pure "what next" over the verdicts and the clock; `start_bake` and
`judge_bake` read and write the state document around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from rollgate.domain.judge.health import HealthWindow, Outcome, Verdict
from rollgate.domain.judge.observe import observe
from rollgate.domain.judge.verdict import judge
from rollgate.domain.shared.models import (
    AlarmState,
    Baseline,
    DeploymentContext,
    DeploymentRequest,
    Lenient,
    PublishedVersion,
    QueueDepth,
    VerdictSummary,
)
from rollgate.domain.shared.ports import Clock, HealthProbes

Judge = Callable[[HealthWindow, Any], Verdict]
BakeNext = Literal["bake", "wave", "approve", "revert"]
#: Verdicts kept per function in the bake record (the latest ones).
_KEPT_VERDICTS = 20


class BakeTarget(Lenient):
    """A function of the baked wave: the versions and the deployment its child promoted."""

    function_name: str
    alias: str
    from_version: str
    to_version: str
    deployment_id: str | None = None
    #: when its deployment started: the previous version's periods before it are the reference
    deployed_at: datetime
    request: dict[str, Any]
    dead_letter_queues: list[QueueDepth] = Field(default_factory=list)
    alarms: list[AlarmState] = Field(default_factory=list)
    verdicts: list[VerdictSummary] = Field(default_factory=list)


class BakeProgress(Lenient):
    """Where the bake after `wave` (0-based) stands. `next` drives BakeNext?: bake (wait and judge
    again), wave or approve (the bake is over: the next wave, or its approval), revert (UNHEALTHY)."""

    wave: int
    started_at: datetime
    bake_until: datetime
    wait_seconds: int
    after: Literal["wave", "approve"]
    next: BakeNext
    targets: list[BakeTarget] = Field(default_factory=list)
    conclusion: Literal["verified", "unverified", "unhealthy"] | None = None
    reason: str | None = None


def bake_context(target: BakeTarget, started_at: datetime) -> DeploymentContext:
    """The promoted function as the judge sees a watch without a holdback: what `observe` reads."""
    request = DeploymentRequest.model_validate(target.request)
    baseline = Baseline(
        captured_at=started_at,
        live_version=target.from_version,
        live_code_sha256="",
        alias_revision_id="",
        function_revision_id="",
        dead_letter_queues=target.dead_letter_queues,
        alarms=target.alarms,
    )
    version = PublishedVersion(version=target.to_version, code_sha256="", state="Active", published_at=started_at)
    return DeploymentContext(
        request=request,
        deployment_id=target.deployment_id or f"bake-{target.function_name}",
        started_at=target.deployed_at,
        baseline=baseline,
        version=version,
    )


def decide_bake(progress: BakeProgress, verdicts: list[Verdict], now: datetime, period_seconds: int) -> BakeProgress:
    """The bake's next step from this round's verdicts (one per target, in order) and the clock."""
    unhealthy = [(t, v) for t, v in zip(progress.targets, verdicts, strict=True) if v.outcome is Outcome.UNHEALTHY]
    if unhealthy:
        why = "; ".join(f"{t.function_name}:{t.alias} v{t.to_version} UNHEALTHY: {v.summary}" for t, v in unhealthy)
        reason = f"bake after wave {progress.wave + 1}: {why}"
        return progress.model_copy(update={"next": "revert", "conclusion": "unhealthy", "reason": reason})
    if now < progress.bake_until:
        remaining = math.ceil((progress.bake_until - now).total_seconds())
        return progress.model_copy(update={"next": "bake", "wait_seconds": max(1, min(period_seconds, remaining))})
    healthy = all(v.outcome is Outcome.HEALTHY for v in verdicts)
    seconds = int((progress.bake_until - progress.started_at).total_seconds())
    reason = f"bake after wave {progress.wave + 1}: {seconds} s" + (
        ", every function HEALTHY" if healthy else ", not every function HEALTHY at its end (too little data)"
    )
    return progress.model_copy(
        update={"next": progress.after, "conclusion": "verified" if healthy else "unverified", "reason": reason}
    )


def start_bake(
    wave: int,
    after: Literal["wave", "approve"],
    seconds: int,
    targets: list[BakeTarget],
    *,
    probes: HealthProbes,
    clock: Clock,
) -> BakeProgress:
    """The bake begins: each target's dead-letter queues and alarms read now, the levels its
    growth is judged against; the first judgement one metric period (at most the bake) later."""
    now = clock.now()
    captured = []
    for target in targets:
        request = DeploymentRequest.model_validate(target.request)
        names = request.health.alarm_names
        alarms = [AlarmState(name=a.name, state=a.state_now) for a in probes.alarms.states(names)] if names else []
        queues = [
            QueueDepth(queue=q.queue, depth=probes.queues.depth(q.queue), source=q.source, kind=q.kind)
            for q in target.dead_letter_queues
        ]
        captured.append(target.model_copy(update={"alarms": alarms, "dead_letter_queues": queues}))
    period = min(
        (DeploymentRequest.model_validate(t.request).health.metric_period_seconds for t in targets), default=60
    )
    return BakeProgress(
        wave=wave,
        started_at=now,
        bake_until=now + timedelta(seconds=seconds),
        wait_seconds=max(1, min(period, seconds)),
        after=after,
        next="bake",
        targets=captured,
    )


def judge_bake(progress: BakeProgress, *, probes: HealthProbes, clock: Clock, judge_fn: Judge = judge) -> BakeProgress:
    """One round: every target observed and judged as an unpaired watch over the bake so far."""
    now = clock.now()
    verdicts: list[Verdict] = []
    targets: list[BakeTarget] = []
    period = 60
    for target in progress.targets:
        ctx = bake_context(target, progress.started_at)
        policy = ctx.request.health
        period = min(period, policy.metric_period_seconds)
        window = observe(
            ctx,
            phase="watch",
            since=progress.started_at,
            weight_since=progress.started_at,
            now=now,
            weight=100,
            probes=probes,
        )
        verdict = judge_fn(window, policy)
        verdicts.append(verdict)
        summary = VerdictSummary(
            at=now,
            outcome=verdict.outcome.value,
            weight=100,
            summary=verdict.summary,
            decided_by=verdict.decided_by.value if verdict.decided_by else None,
            failed_checks=[c.name for c in verdict.failed_checks()],
        )
        targets.append(target.model_copy(update={"verdicts": [*target.verdicts, summary][-_KEPT_VERDICTS:]}))
    return decide_bake(progress.model_copy(update={"targets": targets}), verdicts, now, period)
