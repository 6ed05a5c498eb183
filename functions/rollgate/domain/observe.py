"""Gather what the judge needs: per-version metric series, queue and stream levels, alarm states.

The new version is compared with the stable one through the ExecutedVersion dimension: behind a
weighted alias both run side by side, under the same load, at the same time.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from rollgate.domain.health import (
    AlarmObservation,
    GaugeSample,
    HealthWindow,
    QueueSeries,
    StreamSeries,
    VersionSeries,
)
from rollgate.domain.models import Baseline, DeploymentContext
from rollgate.domain.ports import AlarmProbe, HealthProbes, MetricSource

#: How far back the pre-deploy baseline reaches for the watch phase.
BASELINE_LOOKBACK = timedelta(minutes=30)


def _series(
    metrics: MetricSource, ctx: DeploymentContext, version: str, start: datetime, end: datetime
) -> VersionSeries:
    period = ctx.request.health.metric_period_seconds
    if end <= start:
        return VersionSeries(version=version, periods=[])
    return VersionSeries(
        version=version,
        periods=metrics.version_series(ctx.function_name, ctx.alias, version, start, end, period),
    )


def _alarms(alarms: AlarmProbe, baseline: Baseline) -> list[AlarmObservation]:
    if not baseline.alarms:
        return []
    before = {a.name: a.state for a in baseline.alarms}
    return [a.model_copy(update={"state_at_preflight": before.get(a.name, "OK")}) for a in alarms.states(list(before))]


def observe(
    ctx: DeploymentContext,
    *,
    phase: str,
    since: datetime,
    now: datetime,
    weight: int,
    probes: HealthProbes,
) -> HealthWindow:
    baseline = ctx.require_baseline()
    new_version = ctx.require_version().version
    stable = baseline.live_version
    period = ctx.request.health.metric_period_seconds
    metrics = probes.metrics
    queue_series = [
        QueueSeries(queue=q.queue, baseline=q.depth, samples=[GaugeSample(at=now, value=probes.queues.depth(q.queue))])
        for q in baseline.dead_letter_queues
    ]
    ages = metrics.iterator_age(ctx.function_name, since, now, period) if baseline.streams else []
    stream_series = [
        StreamSeries(mapping_uuid=s.mapping_uuid, baseline_ms=s.iterator_age_ms, samples=ages) for s in baseline.streams
    ]
    if phase == "canary":
        stable_series: VersionSeries | None = _series(metrics, ctx, stable, since, now)
        before: VersionSeries | None = None
    else:
        stable_series = None
        before = _series(metrics, ctx, stable, ctx.started_at - BASELINE_LOOKBACK, ctx.started_at)
    return HealthWindow(
        phase=phase,  # type: ignore[arg-type]
        canary_weight=weight,
        elapsed_seconds=(now - since).total_seconds(),
        canary=_series(metrics, ctx, new_version, since, now),
        stable=stable_series,
        baseline=before,
        queues=queue_series,
        streams=stream_series,
        alarms=_alarms(probes.alarms, baseline),
    )
