"""Gates 6 and 7 — canary, bake, promote and watch.

Each function returns the record whose `next` field the state machine's Choice follows, so the
decisions (bake again, next step, promote, roll back) live here, in tested Python, and the state
machine only waits and routes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from rollgate.domain.errors import DeploymentAborted
from rollgate.domain.health import HealthWindow, Outcome, Verdict
from rollgate.domain.judge import judge
from rollgate.domain.models import (
    CanaryProgress,
    DeploymentContext,
    Evidence,
    HealthPolicy,
    InconclusiveAction,
    SmokeTest,
    VerdictSummary,
    WatchProgress,
)
from rollgate.domain.observe import observe
from rollgate.domain.ports import Clock, HealthProbes, LambdaApi, Ledger
from rollgate.domain.routing import describe, guard_expected_primary, promote, shift

_KEPT_VERDICTS = 30

#: The judge's signature; tests pass a stub, the tasks use rollgate.domain.judge.judge.
Judge = Callable[[HealthWindow, HealthPolicy], Verdict]


def check_abort(ctx: DeploymentContext, ledger: Ledger) -> None:
    reason = ledger.abort_requested(ctx.function_name, ctx.alias)
    if reason:
        raise DeploymentAborted(f"abort requested for {ctx.function_name}:{ctx.alias}: {reason}")


def verdict_evidence(verdict: Verdict, weight: int) -> list[Evidence]:
    """The verdict in one line, then each of its checks."""
    headline = Evidence(
        check="verdict",
        ok=verdict.outcome is not Outcome.UNHEALTHY,
        detail=f"{verdict.outcome.value} at {weight}% traffic: {verdict.summary}",
        data={"samples_seen": verdict.samples_seen, "samples_needed": verdict.samples_needed},
    )
    return [headline] + [
        Evidence(
            check=f"health:{check.name}",
            ok=check.status.value != "fail",
            detail=check.summary,
            data={"status": check.status.value, "observed": check.observed, "threshold": check.threshold},
        )
        for check in verdict.checks
    ]


def _shift_notes(evidence: list[Evidence]) -> list[Evidence]:
    """What traffic moves were made: kept when each new verdict replaces the previous checks."""
    return [e for e in evidence if e.check in ("shift", "promote")]


def _summary(verdict: Verdict, weight: int, at: datetime) -> VerdictSummary:
    return VerdictSummary(at=at, outcome=verdict.outcome.value, weight=weight, summary=verdict.summary)


def _judge_now(
    ctx: DeploymentContext,
    phase: str,
    progress: CanaryProgress | WatchProgress,
    *,
    since: datetime,
    weight: int,
    clock: Clock,
    probes: HealthProbes,
    judge_fn: Judge,
) -> tuple[datetime, Verdict, dict[str, Any]]:
    """Observe, judge, and fold the verdict into the progress record's history and evidence."""
    now = clock.now()
    window = observe(ctx, phase=phase, since=since, now=now, weight=weight, probes=probes)
    verdict = judge_fn(window, ctx.request.health)
    return (
        now,
        verdict,
        {
            "verdicts": [*progress.verdicts, _summary(verdict, weight, now)][-_KEPT_VERDICTS:],
            "evidence": [*_shift_notes(progress.evidence), *verdict_evidence(verdict, weight)],
        },
    )


# --------------------------------------------------------------------------- canary
def shift_traffic(ctx: DeploymentContext, *, lambda_api: LambdaApi, ledger: Ledger, clock: Clock) -> CanaryProgress:
    check_abort(ctx, ledger)
    baseline, version = ctx.require_baseline(), ctx.require_version()
    now = clock.now()
    period = ctx.request.health.metric_period_seconds
    weights = ctx.request.strategy.weights()
    step = ctx.canary.step_index + 1 if ctx.canary else 0
    if version.version == baseline.live_version or step >= len(weights):
        reason = "already live: nothing to shift" if version.version == baseline.live_version else "all steps done"
        return CanaryProgress(
            step_index=step,
            weight=100,
            canary_started_at=now,
            step_started_at=now,
            wait_seconds=period,
            next="promote",
            evidence=[Evidence(check="shift", ok=True, detail=reason)],
        )
    weight = weights[step]
    routing, changed = shift(
        lambda_api, ctx.function_name, ctx.alias, stable=baseline.live_version, canary=version.version, percent=weight
    )
    previous = ctx.canary
    note = f"alias {ctx.alias} now routes {describe(routing)}" + ("" if changed else " (already so)")
    return CanaryProgress(
        step_index=step,
        weight=weight,
        canary_started_at=previous.canary_started_at if previous else now,
        step_started_at=now,
        wait_seconds=period,
        next="bake",
        extension_seconds_used=previous.extension_seconds_used if previous else 0,
        synthetic_invocations=previous.synthetic_invocations if previous else 0,
        verdicts=previous.verdicts if previous else [],
        evidence=[Evidence(check="shift", ok=True, detail=note, data={"weight": weight})],
    )


def _drive_traffic(ctx: DeploymentContext, lambda_api: LambdaApi, weight: int, verdict: Verdict) -> int:
    """Invoke the alias with the smoke payloads so the canary gathers samples; returns how many."""
    tests: list[SmokeTest] = [t for t in ctx.request.smoke_tests if not t.expect_error]
    if not tests:
        return 0
    policy = ctx.request.health
    missing = max((verdict.samples_needed or policy.min_invocations) - verdict.samples_seen, 1)
    count = min(math.ceil(missing * 100 / max(weight, 1)), policy.synthetic_invocations_per_period)
    for i in range(count):
        lambda_api.invoke(ctx.function_name, ctx.alias, tests[i % len(tests)].payload, asynchronous=True)
    return count


def judge_canary(
    ctx: DeploymentContext,
    *,
    lambda_api: LambdaApi,
    probes: HealthProbes,
    ledger: Ledger,
    clock: Clock,
    judge_fn: Judge = judge,
) -> CanaryProgress:
    check_abort(ctx, ledger)
    progress = ctx.canary
    if progress is None:
        raise DeploymentAborted("canary: JudgeCanary ran before ShiftTraffic")
    baseline = ctx.require_baseline()
    guard_expected_primary(lambda_api.get_alias(ctx.function_name, ctx.alias), baseline.live_version, ctx.alias)
    now, verdict, judged = _judge_now(
        ctx,
        "canary",
        progress,
        since=progress.canary_started_at,
        weight=progress.weight,
        clock=clock,
        probes=probes,
        judge_fn=judge_fn,
    )
    policy = ctx.request.health
    update: dict = {**judged, "wait_seconds": policy.metric_period_seconds}
    step_elapsed = (now - progress.step_started_at).total_seconds()
    interval = ctx.request.strategy.interval_seconds
    last_step = progress.step_index + 1 >= len(ctx.request.strategy.weights())

    if verdict.outcome is Outcome.UNHEALTHY:
        return progress.model_copy(update={**update, "next": "rollback"})
    if verdict.outcome is Outcome.HEALTHY:
        if step_elapsed < interval:
            return progress.model_copy(update={**update, "next": "bake"})
        return progress.model_copy(update={**update, "next": "promote" if last_step else "shift"})

    # INCONCLUSIVE: keep baking while the step lasts; past it, the policy decides.
    if step_elapsed < interval:
        return progress.model_copy(update={**update, "next": "bake"})
    if (
        policy.on_inconclusive is InconclusiveAction.FAIL
        or progress.extension_seconds_used >= policy.max_extension_seconds
    ):
        verdict_note = Evidence(
            check="health:inconclusive",
            ok=False,
            detail=(
                f"still INCONCLUSIVE after the {interval} s step"
                + (f" and {progress.extension_seconds_used} s of extension" if progress.extension_seconds_used else "")
                + f": {verdict.summary}. Too few samples is never healthy."
            ),
        )
        return progress.model_copy(
            update={**update, "next": "rollback", "evidence": [*update["evidence"], verdict_note]}
        )
    driven = 0
    if policy.on_inconclusive is InconclusiveAction.DRIVE_TRAFFIC:
        driven = _drive_traffic(ctx, lambda_api, progress.weight, verdict)
    return progress.model_copy(
        update={
            **update,
            "next": "bake",
            "extension_seconds_used": progress.extension_seconds_used + policy.metric_period_seconds,
            "synthetic_invocations": progress.synthetic_invocations + driven,
        }
    )


# --------------------------------------------------------------------------- promote and watch
def promote_version(ctx: DeploymentContext, *, lambda_api: LambdaApi, ledger: Ledger, clock: Clock) -> WatchProgress:
    check_abort(ctx, ledger)
    baseline, version = ctx.require_baseline(), ctx.require_version()
    routing, changed = promote(lambda_api, ctx.function_name, ctx.alias, version=version.version)
    now = clock.now()
    watch = 0 if baseline.already_live else ctx.request.watch_seconds
    detail = f"alias {ctx.alias} now routes {describe(routing)}" + ("" if changed else " (already so)")
    if watch:
        detail += f"; watching for {watch} s against the pre-deploy baseline of v{baseline.live_version}"
    return WatchProgress(
        promoted_at=now,
        watch_until=now + timedelta(seconds=watch),
        wait_seconds=min(ctx.request.health.metric_period_seconds, max(watch, 1)),
        next="watch" if watch else "done",
        evidence=[Evidence(check="promote", ok=True, detail=detail)],
    )


def judge_watch(
    ctx: DeploymentContext,
    *,
    probes: HealthProbes,
    ledger: Ledger,
    clock: Clock,
    judge_fn: Judge = judge,
) -> WatchProgress:
    check_abort(ctx, ledger)
    progress = ctx.watch
    if progress is None:
        raise DeploymentAborted("watch: JudgeWatch ran before Promote")
    now, verdict, judged = _judge_now(
        ctx,
        "watch",
        progress,
        since=progress.promoted_at,
        weight=100,
        clock=clock,
        probes=probes,
        judge_fn=judge_fn,
    )
    verdicts, evidence = judged["verdicts"], judged["evidence"]
    if verdict.outcome is Outcome.UNHEALTHY:
        return progress.model_copy(update={"verdicts": verdicts, "evidence": evidence, "next": "rollback"})
    if now >= progress.watch_until:
        if verdict.outcome is Outcome.INCONCLUSIVE:
            evidence.append(
                Evidence(
                    check="watch", ok=True, detail=f"watch ended with too little traffic to judge: {verdict.summary}"
                )
            )
        return progress.model_copy(update={"verdicts": verdicts, "evidence": evidence, "next": "done"})
    remaining = (progress.watch_until - now).total_seconds()
    wait = max(1, min(ctx.request.health.metric_period_seconds, math.ceil(remaining)))
    return progress.model_copy(
        update={"verdicts": verdicts, "evidence": evidence, "next": "watch", "wait_seconds": wait}
    )
