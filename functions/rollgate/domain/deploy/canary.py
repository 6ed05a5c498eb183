"""Gates 6 and 7 — canary, bake, promote and watch.

Each function returns the record whose `next` field the state machine's Choice follows, so the
decisions (bake again, next step, promote, roll back) live here, in tested Python, and the state
machine only waits and routes (rollgate.domain.deploy.gate_loop runs the same routing in memory).

The watch keeps a control: Promote leaves `watch_holdback_percent` of the traffic on the previous
version, so the watch compares the two side by side exactly like the canary, and moves it to the
new version when the watch is over (next "complete", the same Promote task, read back). With no
holdback the watch is unpaired; its first breach shifts `control_percent` back (next "control")
and judges paired for one strategy interval before any rollback, so a downstream incident that
hits both versions does not roll a good release back.

Invariant: no execution ends with the alias half-shifted. Every answer but "done" leads to more
judging, a traffic move, or Rollback; "done" only follows a move to 100% (or a watch without a
holdback). An INCONCLUSIVE end of watch is never reported healthy: `on_inconclusive_watch`
decides (rollback; hold = keep watching with the holdback up to `max_hold_seconds`, then roll back;
promote_unverified = 100%, concluded "unverified").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from rollgate.domain.deploy import controls
from rollgate.domain.judge.health import (
    Check,
    CheckStatus,
    EvidenceKind,
    HealthWindow,
    Outcome,
    SyntheticSeries,
    Verdict,
)
from rollgate.domain.judge.observe import Phase, observe, observe_logs
from rollgate.domain.judge.verdict import judge, judge_log_poll
from rollgate.domain.remediate.remediation import alarm_behind_abort
from rollgate.domain.shared.errors import DeploymentAborted, TransientAwsError
from rollgate.domain.shared.models import (
    CanaryProgress,
    DeploymentContext,
    Evidence,
    HealthPolicy,
    InconclusiveAction,
    InconclusiveWatchAction,
    SmokeTest,
    VerdictSummary,
    WatchConclusion,
    WatchProgress,
)
from rollgate.domain.shared.ports import AliasRouting, Clock, HealthProbes, LambdaApi, Ledger
from rollgate.domain.shared.progress import SERIES_CHECK, series_evidence
from rollgate.domain.shared.routing import describe, guard_expected_primary, set_routing, shift
from rollgate.domain.shared.smoke import judge_invocation

_KEPT_VERDICTS = 30
ProgressT = TypeVar("ProgressT", CanaryProgress, WatchProgress)

#: The judge's signature; tests pass a stub, the tasks use rollgate.domain.judge.verdict.judge.
Judge = Callable[[HealthWindow, HealthPolicy], Verdict]


def check_abort(ctx: DeploymentContext, ledger: Ledger) -> list[Evidence]:
    """Raise DeploymentAborted if someone asked this deployment to stop, unless the ask came from a
    guarding alarm that preflight recorded in ALARM before this deployment: that alarm was raised by
    the previous version, and flapping back into ALARM is no evidence against the new one (the
    per-version checks judge it). Returns the note saying so, for the record's evidence. An
    operator's abort (`rollgate abort`, rollgate.domain.deploy.controls) is never declined."""
    controls.raise_if_aborted(ctx, ledger)
    reason = ledger.abort_requested(ctx.function_name, ctx.alias)
    if not reason:
        return []
    alarm = alarm_behind_abort(reason)
    inherited = {a.name for a in ctx.baseline.alarms if a.state == "ALARM"} if ctx.baseline else set()
    if alarm is not None and alarm in inherited and ctx.baseline is not None:
        return [
            Evidence(
                check="abort_declined",
                ok=True,
                detail=f"{reason}; not aborted: preflight recorded {alarm} in ALARM before this deployment "
                f"(raised by v{ctx.baseline.live_version}), so it counts against the new version only with "
                "evidence that the new version moved it; the per-version checks judge it",
                data={"alarm": alarm},
            )
        ]
    raise DeploymentAborted(f"abort requested for {ctx.function_name}:{ctx.alias}: {reason}")


def verdict_evidence(verdict: Verdict, weight: int) -> list[Evidence]:
    """The verdict in one line (with the kind of evidence that decided it), then each check."""
    kind = verdict.decided_by.value if verdict.decided_by else None
    decided = f" (decided by {kind} evidence)" if kind else ""
    headline = Evidence(
        check="verdict",
        ok=verdict.outcome is not Outcome.UNHEALTHY,
        detail=f"{verdict.outcome.value} at {weight}% traffic{decided}: {verdict.summary}",
        data={"samples_seen": verdict.samples_seen, "samples_needed": verdict.samples_needed, "decided_by": kind},
    )
    return [headline] + [
        Evidence(
            check=f"health:{check.name}",
            ok=check.status.value != "fail",
            detail=check.summary,
            data={
                "status": check.status.value,
                "kind": check.kind.value if check.kind else None,
                "observed": check.observed,
                "threshold": check.threshold,
            },
        )
        for check in verdict.checks
    ]


#: Notes that outlive the verdict they came with: what traffic moves were made, and why an abort
#: was declined.
_CARRIED_NOTES = ("shift", "promote", "control", "hold", "abort_declined", controls.NOTE_CHECK)


def _carried(evidence: list[Evidence], fresh: list[Evidence]) -> list[Evidence]:
    kept = [e for e in evidence if e.check in _CARRIED_NOTES]
    return [*kept, *(e for e in fresh if e not in kept)]


def _noted(evidence: list[Evidence], note: Evidence) -> list[Evidence]:
    """`evidence` with `note` at the end, once (a carried note is already there)."""
    return evidence if note in evidence else [*evidence, note]


def _moved_with(evidence: list[Evidence], move: Evidence, notes: list[Evidence]) -> list[Evidence]:
    """`evidence` with a traffic move's note, then this task's notes that are not there yet (an
    abort declined earlier in the watch is already carried: recorded once)."""
    return [*evidence, move, *(n for n in notes if n not in evidence)]


def _summary(verdict: Verdict, weight: int, at: datetime) -> VerdictSummary:
    return VerdictSummary(
        at=at,
        outcome=verdict.outcome.value,
        weight=weight,
        summary=verdict.summary,
        decided_by=verdict.decided_by.value if verdict.decided_by else None,
        failed_checks=[c.name for c in verdict.failed_checks()],
    )


def _judge_now(
    ctx: DeploymentContext,
    phase: Phase,
    progress: CanaryProgress | WatchProgress,
    *,
    since: datetime,
    weight_since: datetime,
    weight: int,
    clock: Clock,
    probes: HealthProbes,
    judge_fn: Judge,
    notes: list[Evidence],
    synthetic: SyntheticSeries | None = None,
    logs_only: bool = False,
) -> tuple[datetime, Verdict, dict[str, Any]]:
    """Observe, judge, and fold the verdict into the progress record's history and evidence (a log
    poll, `logs_only`, reads and judges the versions' log lines alone)."""
    now = clock.now()
    look = observe_logs if logs_only else observe
    window = look(ctx, phase=phase, since=since, weight_since=weight_since, now=now, weight=weight, probes=probes)
    if synthetic is not None:
        window = window.model_copy(update={"synthetic": synthetic})
    if isinstance(progress, CanaryProgress):
        window = window.model_copy(
            update={"earlier_shifts": progress.earlier_shifts, "budget_seconds": _budget_left(ctx, progress, now)}
        )
    else:
        window = window.model_copy(update={"budget_seconds": _watch_budget_left(ctx, progress, now)})
    verdict = (judge_log_poll if logs_only else judge_fn)(window, ctx.request.health)
    verdicts = [*progress.verdicts, _summary(verdict, weight, now)][-_KEPT_VERDICTS:]
    # the periods just judged, kept for `rollgate report` (the latest window covers the gate); a log
    # poll reads no periods: the last judgement's stay, unless the poll failed, when the metrics as
    # they stand are read too, so the record of a rollback decided on logs shows them beside it
    period = ctx.request.health.metric_period_seconds
    if logs_only and verdict.outcome is not Outcome.UNHEALTHY:
        series = [e for e in progress.evidence if e.check == SERIES_CHECK]
    else:
        if logs_only:
            window = observe(
                ctx, phase=phase, since=since, weight_since=weight_since, now=now, weight=weight, probes=probes
            )
        series = [series_evidence(window, verdicts, period)]
    return (
        now,
        verdict,
        {
            "verdicts": verdicts,
            "evidence": [*_carried(progress.evidence, notes), *verdict_evidence(verdict, weight), *series],
        },
    )


# --------------------------------------------------------------------------- log polls
def _paced(ctx: DeploymentContext, now: datetime, judge_in: int, *, paired: bool) -> dict[str, Any]:
    """The wait before the next look, with the next full judgement `judge_in` seconds from now:
    where logs are polled (a version alongside to compare the lines with), the looks before it read
    the logs alone, every log_poll_seconds."""
    poll = ctx.request.log_poll_seconds() if paired else None
    if poll is None or poll >= judge_in:
        return {"wait_seconds": judge_in, "next_judgement_at": None}
    return {"wait_seconds": poll, "next_judgement_at": now + timedelta(seconds=judge_in)}


def _is_log_poll(progress: CanaryProgress | WatchProgress, now: datetime) -> bool:
    return progress.next_judgement_at is not None and now < progress.next_judgement_at


def _pending_logs_breach(verdicts: list[VerdictSummary]) -> bool:
    """The last look failed on the logs alone and waits for the next look to confirm it."""
    last = verdicts[-1] if verdicts else None
    return last is not None and last.outcome == Outcome.UNHEALTHY.value and set(last.failed_checks) == {"logs"}


def _after_log_poll(
    ctx: DeploymentContext,
    progress: ProgressT,
    verdict: Verdict,
    judged: dict[str, Any],
    now: datetime,
    *,
    waiting: str,
) -> ProgressT:
    """A log poll's answer: a finding rolls back (a failure-rate breach first waits for the next
    look to confirm it, as the judgements' breaches do); anything else looks again at the next poll
    or the full judgement, whichever comes first, and changes nothing else."""
    assert progress.next_judgement_at is not None
    left = math.ceil((progress.next_judgement_at - now).total_seconds())
    wait = max(1, min(ctx.request.log_poll_seconds() or left, left))
    if verdict.outcome is Outcome.UNHEALTHY:
        update = {**judged, "wait_seconds": wait}
        if _to_confirm(verdict, progress.verdicts, ctx.request.health):
            return progress.model_copy(update={**update, "next": waiting, "evidence": _confirming(update)})
        return progress.model_copy(update={**update, "next": "rollback"})
    update = {"wait_seconds": wait, "next": waiting}
    if _pending_logs_breach(progress.verdicts):
        # the logs' breach that waited for this look did not stand: recorded, so it confirms nothing later
        update["verdicts"] = judged["verdicts"]
    return progress.model_copy(update=update)


# --------------------------------------------------------------------------- canary
def shift_traffic(ctx: DeploymentContext, *, lambda_api: LambdaApi, ledger: Ledger, clock: Clock) -> CanaryProgress:
    # an operator's notes outlive the step they were made in: the record says who steered it
    notes = [*controls.notes_of(ctx.canary.evidence if ctx.canary else []), *check_abort(ctx, ledger)]
    baseline, version = ctx.require_baseline(), ctx.require_version()
    now = clock.now()
    period = ctx.request.health.metric_period_seconds
    weights = ctx.request.strategy.weights()
    previous = ctx.canary
    # a widening stays on its strategy step at the wider weight; otherwise the next step above
    widen_to = previous.widen_to if previous is not None and previous.next == "shift" else None
    step = 0 if previous is None else previous.step_index if widen_to else _step_above(previous, weights)
    if version.version == baseline.live_version or step >= len(weights):
        reason = "already live: nothing to shift" if version.version == baseline.live_version else "all steps done"
        return CanaryProgress(
            step_index=step,
            weight=100,
            canary_started_at=now,
            step_started_at=now,
            wait_seconds=period,
            next="promote",
            evidence=[Evidence(check="shift", ok=True, detail=reason), *notes],
        )
    weight = widen_to or weights[step]
    routing, changed = shift(
        lambda_api, ctx.function_name, ctx.alias, stable=baseline.live_version, canary=version.version, percent=weight
    )
    note = f"alias {ctx.alias} now routes {describe(routing)}" + ("" if changed else " (already so)")
    if widen_to:
        note += " (widened: the step ended INCONCLUSIVE with nothing failing; the stable version stays the control)"
    carried = previous.model_dump(include=_CANARY_CARRIED) if previous else {}
    if previous is not None:
        carried["earlier_shifts"] = [*previous.earlier_shifts, previous.step_started_at][-120:]
    return CanaryProgress(
        **carried,
        step_index=step,
        weight=weight,
        widened=widen_to is not None,
        canary_started_at=previous.canary_started_at if previous else now,
        step_started_at=now,
        **_paced(ctx, now, period, paired=True),
        next="bake",
        evidence=[Evidence(check="shift", ok=True, detail=note, data={"weight": weight}), *notes],
    )


def _budget_left(ctx: DeploymentContext, progress: CanaryProgress, now: datetime) -> float:
    """How much longer this canary step may bake before it must decide: the step's interval left
    (a widened step has none of its own) plus the extension budget left."""
    policy = ctx.request.health
    step_left = 0.0
    if not progress.widened:
        elapsed = (now - progress.step_started_at).total_seconds()
        step_left = max(0.0, ctx.request.strategy.interval_seconds - elapsed)
    return step_left + max(0, policy.max_extension_seconds - progress.extension_seconds_used)


#: Paired count checks whose breach is confirmed by the next judgement before it rolls back, unless
#: its p-value is below significance to this power (overwhelming: a broken build does not wait);
#: the logs' failure-rate breach is confirmed the same way (`_confirmable`).
_CONFIRMED_CHECKS = frozenset({"errors", "batch_failures"})
_OVERWHELMING_POWER = 3


def _to_confirm(verdict: Verdict, earlier: list[VerdictSummary], policy: HealthPolicy) -> bool:
    """Should this UNHEALTHY verdict wait for the next judgement? CloudWatch fills a minute's
    datapoints at its own pace per version (and Errors apart from Invocations), so a breach read on
    the newest minutes may be one version's data arriving before the other's, an incident's first
    seconds counted on one side only. A real regression still stands half a period later; that
    artefact rarely does. Only a breach of the paired count checks alone, not overwhelming, and not
    already confirmed (the previous verdict UNHEALTHY on one of the same checks) waits."""
    failed = [c for c in verdict.checks if c.status is CheckStatus.FAIL]
    if earlier and earlier[-1].outcome == Outcome.UNHEALTHY.value:
        # the previous judgement failed too: confirmed when one of the same checks failed then (a
        # breach of the logs' rate is not confirmed by the errors check breaching next, nor the
        # other way round); a summary recorded before checks were listed confirms any
        before = set(earlier[-1].failed_checks)
        if not before or before & {c.name for c in failed}:
            return False
    if not failed or not all(_confirmable(c) for c in failed):
        return False
    overwhelming = policy.significance**_OVERWHELMING_POWER
    return all(_p_value(c) >= overwhelming for c in failed)


def _confirmable(check: Check) -> bool:
    """A paired count breach, or the logs' failure rate (a new error signature never waits: it is
    absent from the other version, not a matter of which minute arrived first)."""
    if check.name == "logs":
        return check.kind is EvidenceKind.LOGS and not check.observed.get("new_signatures")
    return check.name in _CONFIRMED_CHECKS and check.kind is EvidenceKind.ORGANIC_PAIRED


def _p_value(check: Check) -> float:
    return float(check.observed.get("p_value_vs_reference", check.observed.get("p_value", 1.0)))


def _confirming(update: dict[str, Any]) -> list[Evidence]:
    note = Evidence(
        check="health:confirm",
        ok=True,
        detail="UNHEALTHY on the newest datapoints: judged again next time before rolling back (one version's "
        "data can arrive before the other's; a regression still stands then)",
    )
    return [*update["evidence"], note]


def _watch_budget_left(ctx: DeploymentContext, progress: WatchProgress, now: datetime) -> float:
    """How much longer the watch may judge before it must conclude: to its end, plus the hold an
    INCONCLUSIVE end gets under on_inconclusive_watch=hold."""
    policy = ctx.request.health
    hold = policy.max_hold_seconds if policy.on_inconclusive_watch is InconclusiveWatchAction.HOLD else 0
    if now < progress.watch_until:
        return (progress.watch_until - now).total_seconds() + hold
    held = (now - progress.held_since).total_seconds() if progress.held_since else 0.0
    return max(0.0, hold - held)


def _step_above(progress: CanaryProgress, weights: list[int]) -> int:
    """The next strategy step above the canary's current weight (a widened canary never narrows
    back to a smaller step); len(weights) when there is none."""
    step = progress.step_index + 1
    while step < len(weights) and weights[step] <= progress.weight:
        step += 1
    return step


#: What a new canary step keeps from the previous one.
_CANARY_CARRIED = {
    "applied_controls",
    "extension_seconds_used",
    "synthetic_invocations",
    "synthetic_failed",
    "synthetic_failures",
    "verdicts",
}
_KEPT_FAILURES = 5


def _probe_new_version(ctx: DeploymentContext, lambda_api: LambdaApi, verdict: Verdict) -> tuple[int, list[str]]:
    """Invoke the new version's *qualifier* (never the alias) with the smoke payloads and judge each
    response as the smoke gate does. Returns (sent, failure messages). These probes are their own
    evidence: they never reach the alias's metrics, so they never stand in for organic samples."""
    tests: list[SmokeTest] = [t for t in ctx.request.smoke_tests if not t.expect_error]
    if not tests:
        return 0, []
    policy = ctx.request.health
    version = ctx.require_version().version
    missing = math.ceil((verdict.samples_needed or policy.min_invocations) - verdict.samples_seen)
    count = min(max(missing, len(tests)), policy.synthetic_invocations_per_period)
    failures: list[str] = []
    sent = 0
    for i in range(count):
        test = tests[i % len(tests)]
        try:
            result = lambda_api.invoke(ctx.function_name, version, test.payload)
        except TransientAwsError:
            break  # our own probes throttled: no evidence either way; try again next period
        sent += 1
        judged = judge_invocation(test, result)
        if not judged.ok:
            failures.append(f"{test.name}: {judged.detail}")
    return sent, failures


def _synthetic_series(ctx: DeploymentContext, progress: CanaryProgress) -> SyntheticSeries | None:
    if not progress.synthetic_invocations:
        return None
    return SyntheticSeries(
        version=ctx.require_version().version,
        sent=progress.synthetic_invocations,
        failed=progress.synthetic_failed,
        failures=progress.synthetic_failures,
    )


def judge_canary(
    ctx: DeploymentContext,
    *,
    lambda_api: LambdaApi,
    probes: HealthProbes,
    ledger: Ledger,
    clock: Clock,
    judge_fn: Judge = judge,
) -> CanaryProgress:
    notes = check_abort(ctx, ledger)
    progress = ctx.canary
    if progress is None:
        raise DeploymentAborted("canary: JudgeCanary ran before ShiftTraffic")
    baseline = ctx.require_baseline()
    guard_expected_primary(lambda_api.get_alias(ctx.function_name, ctx.alias), baseline.live_version, ctx.alias)
    policy = ctx.request.health
    log_poll = _is_log_poll(progress, clock.now())
    now, verdict, judged = _judge_now(
        ctx,
        "canary",
        progress,
        since=progress.canary_started_at,
        weight_since=progress.step_started_at,
        weight=progress.weight,
        clock=clock,
        probes=probes,
        judge_fn=judge_fn,
        notes=notes,
        synthetic=_synthetic_series(ctx, progress),
        logs_only=log_poll,
    )
    if log_poll:
        return _after_log_poll(ctx, progress, verdict, judged, now, waiting="bake")
    update: dict[str, Any] = {**judged, **_paced(ctx, now, policy.canary_judge_interval, paired=True)}
    step_elapsed = (now - progress.step_started_at).total_seconds()
    interval = ctx.request.strategy.interval_seconds
    weights = ctx.request.strategy.weights()
    last_step = _step_above(progress, weights) >= len(weights)

    if verdict.outcome is Outcome.UNHEALTHY:
        if _to_confirm(verdict, progress.verdicts, policy):
            return progress.model_copy(update={**update, "next": "bake", "evidence": _confirming(update)})
        return progress.model_copy(update={**update, "next": "rollback"})
    # not failing: an operator's promote or pause decides before the bake's clock does
    steering = controls.steer_canary(
        controls.fold(controls.controls_of(ctx, ledger)),
        applied=progress.applied_controls,
        now=now,
        weight=progress.weight,
        last_step=last_step,
        max_pause_seconds=policy.max_hold_seconds,
    )
    if steering is not None:
        steered = steering.update(update["evidence"], progress.applied_controls)
        return progress.model_copy(update={**update, **steered, "widen_to": None})
    if verdict.outcome is Outcome.HEALTHY:
        if step_elapsed < interval and not progress.widened:  # a widened step's interval was the one it widened
            return progress.model_copy(update={**update, "next": "bake"})
        if last_step and controls.promotion_answer(ctx, progress) == "approve":
            return controls.asking(progress.model_copy(update=update), now)
        return progress.model_copy(update={**update, "next": "promote" if last_step else "shift"})

    # INCONCLUSIVE: keep baking while the step lasts; past it (and all through a widened step, whose
    # bake is extension time), widen the canary while the policy allows, else extend, probing the
    # new version under drive_traffic, until the extension budget is spent: then roll back.
    in_extension = progress.widened or step_elapsed >= interval
    if not in_extension:
        return progress.model_copy(update={**update, "next": "bake"})
    extension = progress.extension_seconds_used + policy.canary_judge_interval
    # widening buys samples; when only latency holds (too few warm periods yet), it would cost a new
    # warm-up instead: keep the weight and let the periods come
    short_of_samples = any(c.name == "samples" and c.status is CheckStatus.INCONCLUSIVE for c in verdict.checks)
    widen = next((w for w in policy.widen_on_inconclusive if w > progress.weight), None) if short_of_samples else None
    can_extend = policy.on_inconclusive is not InconclusiveAction.FAIL and extension <= policy.max_extension_seconds
    if not can_extend:
        probed = (
            f"; {progress.synthetic_invocations} synthetic probes of the new version do not count as samples"
            if progress.synthetic_invocations
            else ""
        )
        verdict_note = Evidence(
            check="health:inconclusive",
            ok=False,
            detail=(
                f"still INCONCLUSIVE after the {interval} s step"
                + (f" and {progress.extension_seconds_used} s of extension" if progress.extension_seconds_used else "")
                + f": {verdict.summary}{probed}. Too few samples is never healthy."
            ),
        )
        return progress.model_copy(
            update={**update, "next": "rollback", "evidence": [*update["evidence"], verdict_note]}
        )
    if widen is not None and step_elapsed >= interval:
        note = Evidence(
            check="health:widen",
            ok=True,
            detail=f"INCONCLUSIVE after {step_elapsed:.0f} s at {progress.weight}% with nothing failing "
            f"({verdict.summary}): widening the canary to {widen}% for organic samples sooner",
            data={"from_weight": progress.weight, "to_weight": widen},
        )
        return progress.model_copy(
            update={
                **update,
                "next": "shift",
                "widen_to": widen,
                "extension_seconds_used": extension,
                "evidence": [*update["evidence"], note],
            }
        )
    sent, failures = (
        _probe_new_version(ctx, lambda_api, verdict)
        if policy.on_inconclusive is InconclusiveAction.DRIVE_TRAFFIC
        else (0, [])
    )
    return progress.model_copy(
        update={
            **update,
            "next": "bake",
            "extension_seconds_used": extension,
            "synthetic_invocations": progress.synthetic_invocations + sent,
            "synthetic_failed": progress.synthetic_failed + len(failures),
            "synthetic_failures": [*progress.synthetic_failures, *failures][:_KEPT_FAILURES],
        }
    )


# --------------------------------------------------------------------------- promote and watch
def promote_version(ctx: DeploymentContext, *, lambda_api: LambdaApi, ledger: Ledger, clock: Clock) -> WatchProgress:
    """Every traffic move of gate 7, decided by where the watch stands: the promotion itself (the
    new version primary, a holdback left on the previous one as the watch's control), the control
    share an unpaired watch shifts back on a breach, and 100% when the watch is over. Each move is
    read back (routing.set_routing)."""
    notes = check_abort(ctx, ledger)
    watch = ctx.watch
    if watch is None:
        return _promote(ctx, lambda_api, clock, notes, full=controls.full_promotion(ctx, ledger))
    if watch.next == "control":
        return _shift_control(ctx, watch, lambda_api, clock, notes)
    if watch.next == "complete":
        return _complete(ctx, watch, lambda_api, notes)
    return watch  # a replay whose watch record asks for no move: nothing to do


def _route_new_version(
    ctx: DeploymentContext, lambda_api: LambdaApi, holdback_percent: int
) -> tuple[AliasRouting, bool]:
    baseline, version = ctx.require_baseline(), ctx.require_version()
    weights = {baseline.live_version: holdback_percent / 100} if holdback_percent else {}
    return set_routing(lambda_api, ctx.function_name, ctx.alias, version=version.version, weights=weights)


def _all_on(routing: AliasRouting, version: str) -> bool:
    return routing.version == version and not routing.additional_weights


def _moved(ctx: DeploymentContext, routing: AliasRouting, changed: bool) -> str:
    return f"alias {ctx.alias} now routes {describe(routing)}" + ("" if changed else " (already so)")


def _promote(
    ctx: DeploymentContext,
    lambda_api: LambdaApi,
    clock: Clock,
    notes: list[Evidence],
    *,
    full: controls.ControlRecord | None = None,
) -> WatchProgress:
    """`full`: an operator's promote --full, which skips the watch (100% now)."""
    baseline = ctx.require_baseline()
    policy = ctx.request.health
    watch = 0 if baseline.already_live or full is not None else ctx.request.watch_seconds
    holdback = policy.watch_holdback_percent if watch and not baseline.already_live else 0
    if holdback and _all_on(lambda_api.get_alias(ctx.function_name, ctx.alias), ctx.require_version().version):
        # this promotion was already completed (a task replayed after the execution ended): putting
        # the holdback back would leave the alias split with nothing left to move it
        holdback = 0
    routing, changed = _route_new_version(ctx, lambda_api, holdback)
    now = clock.now()
    detail = _moved(ctx, routing, changed)
    if watch and holdback:
        detail += f"; watching for {watch} s against the holdback on v{baseline.live_version} (paired)"
    elif watch:
        detail += f"; watching for {watch} s against the pre-deploy baseline of v{baseline.live_version} (unpaired)"
    elif full is not None and not baseline.already_live:
        detail += f"; no watch: {full.said()}"
    elif not baseline.already_live:
        detail += "; no watch (watch_seconds is 0)"
    return WatchProgress(
        promoted_at=now,
        watch_until=now + timedelta(seconds=watch),
        **_paced(ctx, now, min(policy.metric_period_seconds, max(watch, 1)), paired=bool(watch and holdback)),
        next="watch" if watch else "done",
        holdback_percent=holdback,
        weight_since=now,
        conclusion=None if watch or baseline.already_live else _unwatched(full),
        evidence=[Evidence(check="promote", ok=True, detail=detail, data={"holdback_percent": holdback}), *notes],
    )


def _unwatched(full: controls.ControlRecord | None) -> WatchConclusion:
    return WatchConclusion.OPERATOR if full is not None else WatchConclusion.UNWATCHED


def _shift_control(
    ctx: DeploymentContext, watch: WatchProgress, lambda_api: LambdaApi, clock: Clock, notes: list[Evidence]
) -> WatchProgress:
    """An unpaired watch breached: put a control share back on the previous version and judge the
    two side by side for one strategy interval. A release fault shows on the new version only; a
    downstream incident on both, and rolling back would not help."""
    policy = ctx.request.health
    routing, changed = _route_new_version(ctx, lambda_api, policy.control_percent)
    now = clock.now()
    confirm = ctx.request.strategy.interval_seconds
    note = Evidence(
        check="control",
        ok=True,
        detail=f"{_moved(ctx, routing, changed)}: a control for {confirm} s, to tell a release fault from an "
        f"incident before rolling back ({watch.control_reason})",
        data={"control_percent": policy.control_percent},
    )
    return watch.model_copy(
        update={
            "next": "watch",
            "holdback_percent": policy.control_percent,
            "weight_since": now,
            "watch_until": max(watch.watch_until, now + timedelta(seconds=confirm)),
            **_paced(ctx, now, policy.metric_period_seconds, paired=True),
            "evidence": _moved_with(watch.evidence, note, notes),
        }
    )


def _complete(
    ctx: DeploymentContext, watch: WatchProgress, lambda_api: LambdaApi, notes: list[Evidence]
) -> WatchProgress:
    """The watch is over and says promote: the holdback moves to the new version, 100%."""
    routing, changed = _route_new_version(ctx, lambda_api, 0)
    note = Evidence(check="promote", ok=True, detail=f"watch over: {_moved(ctx, routing, changed)}")
    evidence = _moved_with(watch.evidence, note, notes)
    return watch.model_copy(update={"next": "done", "holdback_percent": 0, "evidence": evidence})


def judge_watch(
    ctx: DeploymentContext,
    *,
    probes: HealthProbes,
    ledger: Ledger,
    clock: Clock,
    judge_fn: Judge = judge,
) -> WatchProgress:
    notes = check_abort(ctx, ledger)
    progress = ctx.watch
    if progress is None:
        raise DeploymentAborted("watch: JudgeWatch ran before Promote")
    weight_since = progress.weight_since or progress.promoted_at
    policy = ctx.request.health
    log_poll = _is_log_poll(progress, clock.now())
    now, verdict, judged = _judge_now(
        ctx,
        "watch",
        progress,
        since=_watch_since(ctx, progress, weight_since),
        weight_since=weight_since,
        weight=100 - progress.holdback_percent,
        clock=clock,
        probes=probes,
        judge_fn=judge_fn,
        notes=notes,
        logs_only=log_poll,
    )
    if log_poll:
        return _after_log_poll(ctx, progress, verdict, judged, now, waiting="watch")
    paired = progress.holdback_percent > 0
    update: dict[str, Any] = {**judged, **_paced(ctx, now, policy.metric_period_seconds, paired=paired)}
    if verdict.outcome is Outcome.UNHEALTHY:
        if progress.holdback_percent and _to_confirm(verdict, progress.verdicts, policy):
            return progress.model_copy(update={**update, "next": "watch", "evidence": _confirming(update)})
        if progress.holdback_percent == 0 and progress.control_reason is None:
            return progress.model_copy(update={**update, "next": "control", "control_reason": verdict.summary})
        return progress.model_copy(update={**update, "next": "rollback"})
    steered = _steer_watch(ctx, progress, ledger, now, update)
    if steered is not None:
        return steered
    if now < progress.watch_until:
        remaining = (progress.watch_until - now).total_seconds()
        wait = max(1, min(policy.metric_period_seconds, math.ceil(remaining)))
        return progress.model_copy(update={**update, "next": "watch", **_paced(ctx, now, wait, paired=paired)})
    after = "complete" if progress.holdback_percent else "done"
    if verdict.outcome is Outcome.HEALTHY:
        return progress.model_copy(update={**update, "next": after, "conclusion": WatchConclusion.VERIFIED})
    return _inconclusive_end(progress, update, verdict, now, policy, after)


def _steer_watch(
    ctx: DeploymentContext, progress: WatchProgress, ledger: Ledger, now: datetime, update: dict[str, Any]
) -> WatchProgress | None:
    """The watch's answer under the operator's controls (a verdict that is not UNHEALTHY): a promote
    ends the watch as its end would (the holdback moved to 100%), a pause holds a watch that would end."""
    applied = [*(ctx.canary.applied_controls if ctx.canary else []), *progress.applied_controls]
    steering = controls.steer_watch(
        controls.fold(controls.controls_of(ctx, ledger)),
        applied=applied,
        now=now,
        watch_over=now >= progress.watch_until,
        weight=100 - progress.holdback_percent,
        max_pause_seconds=ctx.request.health.max_hold_seconds,
    )
    if steering is None:
        return None
    steered = steering.update(update["evidence"], progress.applied_controls)
    if steering.next == "end":
        after = "complete" if progress.holdback_percent else "done"
        return progress.model_copy(update={**update, **steered, "next": after, "conclusion": WatchConclusion.OPERATOR})
    return progress.model_copy(update={**update, **steered})


def _watch_since(ctx: DeploymentContext, progress: WatchProgress, weight_since: datetime) -> datetime:
    """Where the watch's window starts. With the promotion's holdback it reaches back to the last
    canary step: those periods are paired too (the same two versions side by side behind the alias),
    and a 5% holdback alone is too thin to see a doubled low error rate or a regression that starts
    once the build takes the load. The judge compares period by period, so the weights differing
    before and after the promotion do not bias it, and it leaves out the period mixing the
    promotion (`weight_since`). The start is rounded up to a period boundary, so that the period
    mixing the last canary shift is not read at all. A control shifted back after an unpaired
    breach starts a fresh paired window: before it the previous version had no traffic."""
    canary = ctx.canary
    if canary is None or not progress.holdback_percent or progress.control_reason is not None:
        return weight_since
    period = ctx.request.health.metric_period_seconds
    start = canary.step_started_at
    aligned = datetime.fromtimestamp(math.ceil(start.timestamp() / period) * period, tz=start.tzinfo)
    return min(aligned, weight_since)


def _inconclusive_end(
    progress: WatchProgress,
    update: dict[str, Any],
    verdict: Verdict,
    now: datetime,
    policy: HealthPolicy,
    after: str,
) -> WatchProgress:
    """The watch is over without a HEALTHY verdict on its data: never reported healthy."""
    action = policy.on_inconclusive_watch
    held_since = progress.held_since or now
    held = (now - held_since).total_seconds()
    if action is InconclusiveWatchAction.HOLD and held < policy.max_hold_seconds:
        # the same note every period of the hold (it is carried): when it began, when it ends
        until = held_since + timedelta(seconds=policy.max_hold_seconds)
        note = Evidence(
            check="hold",
            ok=True,
            detail=f"watch ended INCONCLUSIVE at {held_since:%H:%M:%S}; holding with the control in place for more "
            f"data until {until:%H:%M:%S}, then rolling back (`rollgate rollback` rolls back now)",
        )
        return _watch_noted(progress, update, note, "watch", once=True, held_since=held_since)
    if action is InconclusiveWatchAction.PROMOTE_UNVERIFIED:
        note = Evidence(
            check="watch",
            ok=False,
            detail=f"watch ended INCONCLUSIVE ({verdict.summary}): promoted UNVERIFIED, as "
            "on_inconclusive_watch is promote_unverified",
        )
        return _watch_noted(progress, update, note, after, conclusion=WatchConclusion.UNVERIFIED)
    waited = f" and {held:.0f} s of hold" if progress.held_since else ""
    note = Evidence(
        check="watch",
        ok=False,
        detail=f"watch ended INCONCLUSIVE after {(now - progress.promoted_at).total_seconds():.0f} s{waited} "
        f"({verdict.summary}); no data is never healthy: rolling back",
    )
    return _watch_noted(progress, update, note, "rollback", conclusion=WatchConclusion.INCONCLUSIVE)


def _watch_noted(
    progress: WatchProgress,
    update: dict[str, Any],
    note: Evidence,
    next_step: str,
    *,
    once: bool = False,
    **fields: Any,
) -> WatchProgress:
    """`progress` with `update` and `fields`, going to `next_step`, with `note` at the end of the
    evidence (`once`: not again if it is already there, as a note carried every period is)."""
    evidence = _noted(update["evidence"], note) if once else [*update["evidence"], note]
    return progress.model_copy(update={**update, **fields, "next": next_step, "evidence": evidence})
