"""The release policies compared on the corpus, each reading only what CloudWatch has published.

- rollgate: the shipped gates on the simulated world: preflight captures the baseline, then
  `rollgate.domain.deploy.gate_loop.run_gates` runs shift, judge every period, the inconclusive policy,
  promote and the watch exactly as the state machine routes them, with HealthPolicy() and
  DeploymentRequest defaults as shipped (see rollgate_bench.gate for the ports).
- codedeploy_alarm: Canary10Percent5Minutes with the alias-level `Errors > T` alarm shaped as in the
  SAM docs (2 of 2 one-minute periods; T just above the function's normal errors as if they were
  Poisson); an alarm already in ALARM stops the deployment; nothing watches after 100%.
- codedeploy_tuned: the same deployment with the alarm threshold an operator would tune from a week
  of the function's own per-minute Errors (the highest normal minute in about a thousand): the fair
  comparison for a function whose errors are overdispersed.
- sfn_sample: linear 10% a minute; after each minute, `Errors > 0` for the new version over the
  last minute rolls back; no datapoint counts as healthy.
- flagger_style: 10% steps every minute up to 50%, then promotion; each minute the canary's latest
  error-rate datapoint (CloudWatch provider: newest value of the last 10 intervals) above the
  threshold is a failed check, 5 failed checks roll back, and no datapoint halts the analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import numpy as np

from rollgate.domain.deploy.gate_loop import GatePorts, run_gates
from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.models import DeploymentRequest, HealthPolicy
from rollgate_bench.corpus import Scenario
from rollgate_bench.gate import CANDIDATE, RecordingJudge, prepare
from rollgate_bench.world import HORIZON, NEW, PERIOD, Finish, Run, World

WATCH_S = DeploymentRequest.model_fields["watch_seconds"].default


# --------------------------------------------------------------------------- rollgate
def run_rollgate(world: World, policy: HealthPolicy, stream: int) -> Finish:
    run = Run(world, stream, latency=True)
    release = prepare(run, policy)
    recorder = RecordingJudge()
    ports = GatePorts(lambda_api=release.lambda_api, ledger=release.ledger, probes=release.probes, clock=release.clock)
    gate = run_gates(release.ctx, ports, judge=recorder)
    conclusion, reason, decided_by = gate.conclusion, gate.reason, gate.decided_by
    t = release.clock.t
    # the log polls between judgements are judged apart (rollgate.domain.judge.verdict.judge_log_poll):
    # their UNHEALTHY verdicts are in the gate's record, not the recorder's calls
    unhealthy = any(v.outcome is Outcome.UNHEALTHY for _, v in recorder.calls) or any(
        v.outcome == Outcome.UNHEALTHY.value for v in gate.verdicts
    )
    canary_calls = [(w, v) for w, v in recorder.calls if w.phase == "canary"]
    organic = canary_calls[-1][0].canary.total("invocations") if canary_calls else 0.0
    if decided_by is None and recorder.calls:
        kind = getattr(recorder.calls[-1][1], "decided_by", None)
        decided_by = getattr(kind, "value", kind)

    def finish(decision: str, weight_after: float, **flags: bool) -> Finish:
        return run.finish(
            t,
            decision,
            weight_after=weight_after,
            reason=reason[:200],
            detected=decision == "rollback",
            evidence=organic,
            conclusion=conclusion,
            decided_by=decided_by,
            **flags,
        )

    if conclusion == "ROLLED_BACK":
        return finish("rollback" if unhealthy else "undecided", 0.0)
    if conclusion.startswith("PROMOTED"):
        flagged = conclusion != "PROMOTED" or decided_by == "synthetic"
        return finish("promoted", 1.0, synthetic_only=organic == 0, flagged=flagged)
    # held for a human (or any other stop): the alias stays where the gates left it
    return finish("undecided", release.lambda_api.get_alias("", "").weight_of(CANDIDATE), flagged=True)


# --------------------------------------------------------------------------- codedeploy
HISTORY_MINUTES = 7 * 24 * 60  # a week of the function's own per-minute Errors


@lru_cache(maxsize=4096)
def tuned_threshold(scenario: Scenario) -> float:
    """`Errors > T` as an operator tunes it on a week of normal minutes of the live version: T is the
    999th-per-thousand normal minute, errors clustered as the world clusters them (same model as
    rollgate_bench.world: per-minute gamma factor, callers' bursts), traffic wandering as it does."""
    sc = scenario
    rng = np.random.default_rng([sc.seed, sc.idx, 31])
    minutes = HISTORY_MINUTES
    requests = rng.poisson(sc.rate * 60 * np.exp(rng.normal(0, 0.23, minutes)))
    factor = rng.gamma(sc.error_dispersion, 1 / sc.error_dispersion, minutes) if sc.error_dispersion else 1.0
    share = sc.caller_burst_share if sc.normal_error > 0 else 0.0
    errors = rng.binomial(requests, np.minimum(1, sc.normal_error * (1 - share) * factor))
    if share:
        bursts = rng.poisson(share * sc.normal_error * requests / sc.caller_burst_size)
        # a sum of k geometric burst sizes is negative binomial: k successes plus the failures before them
        p = 1 / sc.caller_burst_size
        errors = errors + np.where(bursts > 0, rng.negative_binomial(np.maximum(bursts, 1), p) + bursts, 0)
    return float(np.percentile(errors, 99.9))


def _codedeploy(world: World, stream: int, threshold: float | None) -> Finish:
    run = Run(world, stream, latency=False)
    t0 = world.t0
    run.advance(t0)
    if run.alarm_state(t0, threshold) == "ALARM":
        return run.finish(t0, "rollback", weight_after=0, reason="alarm already in ALARM", detected=True)
    run.set_weight(t0, 0.1)
    for minute in range(1, 6):
        t = t0 + minute * PERIOD
        run.advance(t)
        if run.alarm_state(t, threshold) == "ALARM":
            return run.finish(t, "rollback", weight_after=0, reason="alarm", detected=True)
    return run.finish(t0 + 300, "promoted", weight_after=1.0, reason="no alarm", detected=False)


def run_codedeploy_alarm(world: World, stream: int) -> Finish:
    return _codedeploy(world, stream, None)


def run_codedeploy_tuned(world: World, stream: int) -> Finish:
    return _codedeploy(world, stream, tuned_threshold(world.scenario))


# --------------------------------------------------------------------------- sfn_sample
def run_sfn_sample(world: World, stream: int) -> Finish:
    run = Run(world, stream, latency=False)
    t0 = world.t0
    seen = 0.0
    for step in range(10):
        run.set_weight(t0 + step * PERIOD, (step + 1) / 10)
        t = t0 + (step + 1) * PERIOD
        run.advance(t)
        # GetMetricStatistics(StartTime=now-60s, EndTime=now, Period=60): datapoints stamped in that range
        first = math.ceil((t - PERIOD) / PERIOD)
        rows = run.period_stats(NEW, first, math.ceil(t / PERIOD), t)
        seen += sum(n or 0 for _, n, *_ in rows)
        if sum(e or 0 for _, _, e, *_ in rows) > 0:
            return run.finish(t, "rollback", weight_after=0, reason="Errors > 0", detected=True, evidence=seen)
    return run.finish(
        t0 + 10 * PERIOD, "promoted", weight_after=1.0, reason="no errors seen", detected=False, evidence=seen
    )


# --------------------------------------------------------------------------- flagger_style
FLAGGER_MAX_FAILED_CHECKS = 5


def run_flagger_style(world: World, stream: int) -> Finish:
    run = Run(world, stream, latency=False)
    t0 = world.t0
    weight, failed, t, seen = 0.1, 0, float(t0), 0.0
    run.set_weight(t0, weight)
    threshold = world.scenario.flagger_threshold
    while t < t0 + HORIZON - PERIOD:
        t += PERIOD
        run.advance(t)
        latest = None
        for _, n, e, *_ in reversed(run.period_stats(NEW, int((t - 10 * PERIOD) // PERIOD), math.ceil(t / PERIOD), t)):
            if n:
                latest, seen = (e or 0) / n, seen + n
                break
        if latest is None:
            continue  # "no values found": the analysis halts, neither advancing nor failing
        if latest > threshold:
            failed += 1
            if failed >= FLAGGER_MAX_FAILED_CHECKS:
                return run.finish(t, "rollback", weight_after=0, reason="failed checks", detected=True, evidence=seen)
            continue
        if weight >= 0.5 - 1e-9:
            return run.finish(t, "promoted", weight_after=1.0, reason="analysis passed", detected=False, evidence=seen)
        weight += 0.1
        run.set_weight(t, weight)
    return run.finish(t, "undecided", weight_after=weight, reason="halted: no data", detected=False, evidence=seen)


# --------------------------------------------------------------------------- registry
POLICIES: dict[str, Callable[[World, int], Finish]] = {
    "rollgate": lambda world, stream: run_rollgate(world, HealthPolicy(), stream),
    # the same without the versions' log lines: what the log evidence adds to time to detect
    "rollgate_no_logs": lambda world, stream: run_rollgate(world, HealthPolicy(log_evidence=False), stream),
    "codedeploy_alarm": run_codedeploy_alarm,
    "codedeploy_tuned": run_codedeploy_tuned,
    "sfn_sample": run_sfn_sample,
    "flagger_style": run_flagger_style,
}
