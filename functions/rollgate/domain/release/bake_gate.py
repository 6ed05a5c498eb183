"""StartBake and JudgeBake on the release's state document: which functions the bake judges, and
what its end means for the release (the next wave, or the same stop and revert as a failed wave)."""

from __future__ import annotations

from rollgate.domain.judge.verdict import judge
from rollgate.domain.release.bake import BakeTarget, Judge, judge_bake, start_bake
from rollgate.domain.release.waves import ReleaseContext, RevertTarget, _revert_target, wave_not_approved
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentRequest, QueueDepth
from rollgate.domain.shared.ports import Clock, HealthProbes, Ledger
from rollgate.domain.shared.records import DeploymentRecord


def _targets(ctx: ReleaseContext, ledger: Ledger) -> list[BakeTarget]:
    """The baked wave's functions that moved to a new version, with their deployment's start."""
    assert ctx.plan is not None
    baked = ctx.wave_index - 1
    planned = {(p.function_name, p.alias): p for p in ctx.plan.waves[baked]}
    targets = []
    for outcome in ctx.outcomes:
        if outcome.wave != baked or not outcome.changed_alias:
            continue
        assert outcome.from_version and outcome.to_version  # changed_alias says so
        record = (
            ledger.get_deployment(outcome.function_name, outcome.alias, outcome.deployment_id)
            if outcome.deployment_id
            else None
        )
        request = planned[(outcome.function_name, outcome.alias)].request
        queues = DeploymentRequest.model_validate(request).health.dead_letter_queues or []
        targets.append(
            BakeTarget(
                function_name=outcome.function_name,
                alias=outcome.alias,
                from_version=outcome.from_version,
                to_version=outcome.to_version,
                deployment_id=outcome.deployment_id,
                deployed_at=record.started_at if isinstance(record, DeploymentRecord) else ctx.started_at,
                request=request,
                dead_letter_queues=[QueueDepth(queue=q, depth=0) for q in queues],
            )
        )
    return targets


def begin_bake(ctx: ReleaseContext, *, ledger: Ledger, probes: HealthProbes, clock: Clock) -> ReleaseContext:
    """StartBake: the bake after the wave just promoted begins (a rerun keeps the one begun)."""
    if ctx.plan is None or ctx.bake_after is None:
        raise InvalidRequest("bake: StartBake runs after AdvanceWave asked for a bake; the input asks for none")
    baked = ctx.wave_index - 1
    if ctx.bake is not None and ctx.bake.wave == baked:
        return ctx
    progress = start_bake(
        baked, ctx.bake_after, ctx.plan.bake_seconds[baked], _targets(ctx, ledger), probes=probes, clock=clock
    )
    if not progress.targets:  # nothing moved (every function already live): nothing to judge
        progress = progress.model_copy(
            update={"next": progress.after, "conclusion": "verified", "reason": "no function changed version"}
        )
    return ctx.model_copy(update={"bake": progress})


def continue_bake(
    ctx: ReleaseContext, *, probes: HealthProbes, clock: Clock, judge_fn: Judge = judge
) -> ReleaseContext:
    """JudgeBake: one round of verdicts; UNHEALTHY stops the release before its next wave and,
    atomic, reverts everything it promoted (only the unhealthy functions when it is not)."""
    if ctx.bake is None or ctx.plan is None:
        raise InvalidRequest("bake: JudgeBake runs after StartBake; the input has no bake")
    progress = judge_bake(ctx.bake, probes=probes, clock=clock, judge_fn=judge_fn)
    ctx = ctx.model_copy(update={"bake": progress})
    if progress.next == "bake":
        return ctx
    ctx = ctx.model_copy(update={"bakes": [*ctx.bakes, progress], "bake_after": None})
    if progress.next != "revert":
        return ctx.model_copy(update={"next": progress.next})
    stopped = wave_not_approved(ctx, progress.reason or "the bake found a function UNHEALTHY")
    if ctx.plan is None or ctx.plan.atomic:
        return stopped
    # not atomic: the functions found unhealthy go back, the others stay promoted
    unhealthy = {
        (t.function_name, t.alias) for t in progress.targets if t.verdicts and t.verdicts[-1].outcome == "UNHEALTHY"
    }
    revert = [r for r in _revert_of(ctx) if (r.function_name, r.alias) in unhealthy]
    return stopped.model_copy(update={"next": "revert" if revert else "done", "revert": revert})


def _revert_of(ctx: ReleaseContext) -> list[RevertTarget]:
    assert ctx.plan is not None
    return [_revert_target(o, ctx.plan) for o in ctx.outcomes if o.changed_alias]
