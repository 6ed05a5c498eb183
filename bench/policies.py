"""The release policies compared on the corpus, each reading only what CloudWatch has published.

- rollgate: the DeployFunction canary/bake/watch loop around `rollgate.domain.judge.judge`, as the
  canary and watch tasks drive it: 10% canary for 300 s judged every 60 s period; INCONCLUSIVE past
  the step extends (and, by policy, drives synthetic invocations) up to max_extension_seconds, then
  rolls back for lack of evidence; HEALTHY promotes to 100% and the watch judges against the
  pre-deploy baseline for DeploymentRequest's default watch_seconds, all with HealthPolicy() defaults.
- codedeploy_alarm: Canary10Percent5Minutes with the alias-level `Errors > T` alarm of the SAM docs
  (2 of 2 one-minute periods; T set just above the function's normal errors); an alarm already in
  ALARM stops the deployment; nothing watches after 100%.
- sfn_sample: linear 10% a minute; after each minute, `Errors > 0` for the new version over the
  last minute rolls back; no datapoint counts as healthy.
- flagger_style: 10% steps every minute up to 50%, then promotion; each minute the canary's latest
  error-rate datapoint (CloudWatch provider: newest value of the last 10 intervals) above the
  threshold is a failed check, 5 failed checks roll back, and no datapoint halts the analysis.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bench.world import HORIZON, NEW, OLD, PERIOD, PRE_DEPLOY, Finish, Run, World
from rollgate.domain.health import (
    AlarmObservation,
    GaugeSample,
    HealthWindow,
    Outcome,
    PeriodStats,
    QueueSeries,
    StreamSeries,
    VersionSeries,
)
from rollgate.domain.judge import judge
from rollgate.domain.models import DeploymentRequest, HealthPolicy, InconclusiveAction

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
CANARY_WEIGHT = 10
CANARY_INTERVAL_S = 300
WATCH_S = DeploymentRequest.model_fields["watch_seconds"].default
PREFLIGHT_LEAD_S = 20  # preflight reads its baselines this long before the first shift


# --------------------------------------------------------------------------- rollgate
def _at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def _series(run: Run, version: int, label: str, start_s: float, now: float) -> VersionSeries:
    first, end = int(start_s // PERIOD), math.ceil(now / PERIOD)
    return VersionSeries(
        version=label,
        periods=[
            PeriodStats(start=_at(p * PERIOD), invocations=n, errors=e, throttles=t, p95_ms=p95, p99_ms=p99)
            for p, n, e, t, p95, p99 in run.period_stats(version, first, end, now)
        ],
    )


class _Observer:
    """What rollgate.domain.observe gathers for the judge, from the simulated CloudWatch and SQS."""

    def __init__(self, run: Run) -> None:
        self.run, self.world = run, run.world
        t0 = self.world.t0
        self.preflight = t0 - PREFLIGHT_LEAD_S
        sc = run.sc
        self.alarm_at_preflight = run.alarm_state(self.preflight) if sc.has_alarm else None
        self.dlq_at_preflight = run.dlq_depth(self.preflight) if sc.has_dlq else None
        self.age_at_preflight: float | None = None
        if sc.has_stream:
            recent = [
                v
                for _, v in run.iterator_age(
                    int(self.preflight // PERIOD) - 5, int(self.preflight // PERIOD), self.preflight
                )
                if v is not None
            ]
            self.age_at_preflight = recent[-1] if recent else None
        self._baseline: VersionSeries | None = None

    def window(self, phase: str, since: float, now: float, weight: int) -> HealthWindow:
        run, sc = self.run, self.run.sc
        queues = []
        if self.dlq_at_preflight is not None:
            queues = [
                QueueSeries(
                    queue="orders-dlq",
                    baseline=self.dlq_at_preflight,
                    samples=[GaugeSample(at=_at(now), value=run.dlq_depth(now))],
                )
            ]
        streams = []
        if sc.has_stream:
            ages = run.iterator_age(int(since // PERIOD), math.ceil(now / PERIOD), now)
            streams = [
                StreamSeries(
                    mapping_uuid="kinesis-orders",
                    baseline_ms=self.age_at_preflight,
                    samples=[GaugeSample(at=_at(p * PERIOD), value=v) for p, v in ages],
                )
            ]
        alarms = []
        if self.alarm_at_preflight is not None:
            alarms = [
                AlarmObservation(
                    name="orders-errors", state_at_preflight=self.alarm_at_preflight, state_now=run.alarm_state(now)
                )
            ]
        canary = _series(run, NEW, "7", since, now)
        if phase == "canary":
            stable, baseline = _series(run, OLD, "6", since, now), None
        else:
            stable, baseline = None, self.baseline()
        return HealthWindow(
            phase=phase,  # type: ignore[arg-type]
            canary_weight=weight,
            elapsed_seconds=now - since,
            canary=canary,
            stable=stable,
            baseline=baseline,
            queues=queues,
            streams=streams,
            alarms=alarms,
        )

    def baseline(self) -> VersionSeries:
        """The old version's 30 minutes before the deploy (all published long since)."""
        if self._baseline is None:
            t0 = self.world.t0
            self._baseline = _series(self.run, OLD, "6", t0 - PRE_DEPLOY, t0 - 1)
        return self._baseline


def run_rollgate(world: World, policy: HealthPolicy, stream: int, watch_s: int = WATCH_S) -> Finish:
    run = Run(world, stream, latency=True)
    t0 = world.t0
    run.advance(t0)
    observer = _Observer(run)
    period = policy.metric_period_seconds
    run.set_weight(t0, CANARY_WEIGHT / 100)
    t, extension = float(t0), 0
    while True:  # canary and bake
        t += period
        run.advance(t)
        verdict = judge(observer.window("canary", t0, t, CANARY_WEIGHT), policy)
        if verdict.outcome is Outcome.UNHEALTHY:
            return run.finish(
                t, "rollback", weight_after=0, reason=_failed(verdict), detected=True, evidence=verdict.samples_seen
            )
        if t - t0 < CANARY_INTERVAL_S:
            continue
        if verdict.outcome is Outcome.HEALTHY:
            break
        if policy.on_inconclusive is InconclusiveAction.FAIL or extension >= policy.max_extension_seconds:
            return run.finish(
                t, "undecided", weight_after=0, reason="inconclusive", detected=False, evidence=verdict.samples_seen
            )
        if policy.on_inconclusive is InconclusiveAction.DRIVE_TRAFFIC:  # as canary._drive_traffic does
            missing = max((verdict.samples_needed or policy.min_invocations) - verdict.samples_seen, 1)
            count = min(math.ceil(missing * 100 / CANARY_WEIGHT), policy.synthetic_invocations_per_period)
            run.add_synthetic(t, count)
        extension += period
    canary_seen = verdict.samples_seen
    run.set_weight(t, 1.0)
    promoted, until = t, t + watch_s
    while t < until:  # watch
        t = min(t + period, until)
        run.advance(t)
        verdict = judge(observer.window("watch", promoted, t, 100), policy)
        if verdict.outcome is Outcome.UNHEALTHY:
            return run.finish(
                t, "rollback", weight_after=0, reason=_failed(verdict), detected=True, evidence=verdict.samples_seen
            )
    return run.finish(t, "promoted", weight_after=1.0, reason="healthy", detected=False, evidence=canary_seen)


def _failed(verdict) -> str:
    return ",".join(c.name for c in verdict.failed_checks())


# --------------------------------------------------------------------------- codedeploy_alarm
def run_codedeploy_alarm(world: World, stream: int) -> Finish:
    run = Run(world, stream, latency=False)
    t0 = world.t0
    run.advance(t0)
    if run.alarm_state(t0) == "ALARM":
        return run.finish(t0, "rollback", weight_after=0, reason="alarm already in ALARM", detected=True)
    run.set_weight(t0, 0.1)
    for minute in range(1, 6):
        t = t0 + minute * PERIOD
        run.advance(t)
        if run.alarm_state(t) == "ALARM":
            return run.finish(t, "rollback", weight_after=0, reason="alarm", detected=True)
    return run.finish(t0 + 300, "promoted", weight_after=1.0, reason="no alarm", detected=False)


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
    "codedeploy_alarm": run_codedeploy_alarm,
    "sfn_sample": run_sfn_sample,
    "flagger_style": run_flagger_style,
}
