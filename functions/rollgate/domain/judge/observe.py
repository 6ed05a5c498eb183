"""Gather what the judge needs: per-version metric series, queue and stream levels, alarm states.

The new version is compared with the previous one through the ExecutedVersion dimension: behind a
weighted alias both run side by side, under the same load, at the same time. That holds in the
canary (the stable version is primary) and in a watch with a holdback (the previous version keeps a
small share as a control); a watch without one is compared with the pre-deploy baseline instead.

A read that fails after the adapter's retries (a CloudWatch outage, sustained throttling) is not
evidence against the release: it is recorded in `read_failures`, and the judge answers
INCONCLUSIVE for it, which the inconclusive policy then handles.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, TypeVar

from rollgate.domain.judge.health import (
    AlarmObservation,
    CustomSeries,
    GaugeSample,
    HealthWindow,
    LogSeries,
    PeriodStats,
    QueueSeries,
    StreamSeries,
    VersionSeries,
)
from rollgate.domain.shared.errors import NotFoundError, TransientAwsError
from rollgate.domain.shared.models import Baseline, CustomMetric, DeploymentContext
from rollgate.domain.shared.ports import (
    AlarmMetric,
    AlarmMetricsProbe,
    AlarmProbe,
    CustomMetricSource,
    HealthProbes,
    MetricSource,
)

#: How far back the pre-deploy baseline reaches for the watch phase.
BASELINE_LOOKBACK = timedelta(minutes=30)

Phase = Literal["canary", "watch"]
T = TypeVar("T")


class _Reads:
    """Runs each probe read; a transient failure (after the adapter's own retries) is noted and
    answered with `fallback`, so one failed read never reads as health."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def attempt(self, what: str, read: Callable[[], T], fallback: T) -> T:
        try:
            return read()
        except (TransientAwsError, NotFoundError) as error:
            self.failures.append(f"{what}: {type(error).__name__}: {error}")
            return fallback


def _series(
    reads: _Reads,
    metrics: MetricSource,
    ctx: DeploymentContext,
    version: str,
    start: datetime,
    end: datetime,
) -> VersionSeries:
    period = ctx.request.health.metric_period_seconds
    if end <= start:
        return VersionSeries(version=version, periods=[])
    periods: list[PeriodStats] = reads.attempt(
        f"metrics of v{version}",
        lambda: metrics.version_series(ctx.function_name, ctx.alias, version, start, end, period),
        [],
    )
    return VersionSeries(version=version, periods=periods)


def _custom(
    reads: _Reads,
    metrics: MetricSource,
    ctx: DeploymentContext,
    metric: CustomMetric,
    versions: tuple[str, str],
    since: datetime,
    now: datetime,
    side_by_side: bool,
) -> CustomSeries:
    """A custom metric over the window: per version when it carries the version (the previous one
    alongside, or before the deploy without one), else the function's, against its pre-deploy values."""
    new, previous = versions
    period = ctx.request.health.metric_period_seconds
    before = (ctx.started_at - BASELINE_LOOKBACK, ctx.started_at)
    if not isinstance(metrics, CustomMetricSource):
        reads.failures.append(f"custom metric {metric.name}: this metric source cannot read custom metrics")
        return CustomSeries(name=metric.name)
    source = metrics

    def read(version: str | None, start: datetime, end: datetime) -> list[GaugeSample]:
        if end <= start:
            return []
        label = f"custom metric {metric.name}" + (f" of v{version}" if version else "")
        return reads.attempt(label, lambda: source.custom_series(metric, version, start, end, period), [])

    if metric.version_dimension is None:
        return CustomSeries(name=metric.name, canary=read(None, since, now), baseline=read(None, *before))
    if side_by_side:
        return CustomSeries(name=metric.name, canary=read(new, since, now), reference=read(previous, since, now))
    return CustomSeries(name=metric.name, canary=read(new, since, now), baseline=read(previous, *before))


def _logs(
    ctx: DeploymentContext,
    probes: HealthProbes,
    versions: tuple[str, str],
    since: datetime,
    now: datetime,
    side_by_side: bool,
) -> tuple[LogSeries | None, LogSeries | None, str | None]:
    """Both versions' log lines over the window, when the policy reads logs and a version runs
    alongside (logs are compared paired only). A failed read is said, and judged as not read: the
    metrics still decide, so it never goes to `read_failures`."""
    policy = ctx.request.health
    source = probes.logs
    if source is None or not policy.log_evidence or not side_by_side or now <= since:
        return None, None, None
    reads = _Reads()
    new, previous = versions
    limit = policy.log_max_events

    def read(version: str) -> LogSeries | None:
        def lines() -> LogSeries | None:
            return source.version_logs(ctx.function_name, version, since, now, max_events=limit)

        return reads.attempt(f"logs of v{version}", lines, None)

    pair = [read(new), read(previous)]
    if reads.failures:
        return None, None, "; ".join(reads.failures)
    return pair[0], pair[1], None


def _alarms(reads: _Reads, alarms: AlarmProbe, baseline: Baseline) -> list[AlarmObservation]:
    if not baseline.alarms:
        return []
    before = {a.name: a.state for a in baseline.alarms}
    now: list[AlarmObservation] = reads.attempt("alarm states", lambda: alarms.states(list(before)), [])
    return [a.model_copy(update={"state_at_preflight": before.get(a.name, "OK")}) for a in now]


#: Lambda's count metrics that the ExecutedVersion dimension splits by version -> PeriodStats field.
_COUNTS: dict[str, Literal["invocations", "errors", "throttles"]] = {
    "Invocations": "invocations",
    "Errors": "errors",
    "Throttles": "throttles",
}


def _attributed(
    ctx: DeploymentContext,
    reads: _Reads,
    alarms: AlarmProbe,
    observed: list[AlarmObservation],
    canary: VersionSeries,
    stable: VersionSeries | None,
    counted_from: datetime | None,
) -> list[AlarmObservation]:
    """Evidence of which version moved each alarm in ALARM: an alarm on the function's own Lambda
    count metric is split by version through the same series the judge compares (the new
    version's share of the amount over the window's periods from `counted_from`: under one
    weight, as the judge's traffic share is); an alarm on one version's ExecutedVersion metric
    breaches for that version alone. Anything else stays without evidence, and the judge does not
    hold it against the release."""
    firing = [a.name for a in observed if a.state_now == "ALARM"]
    if not firing or not isinstance(alarms, AlarmMetricsProbe):
        return observed
    describe = alarms.watched_metrics
    watched: dict[str, AlarmMetric] = reads.attempt("alarm metrics", lambda: describe(firing), {})
    return [_split(ctx, a, watched.get(a.name), canary, stable, counted_from) for a in observed]


def _split(
    ctx: DeploymentContext,
    alarm: AlarmObservation,
    metric: AlarmMetric | None,
    canary: VersionSeries,
    stable: VersionSeries | None,
    counted_from: datetime | None,
) -> AlarmObservation:
    if metric is None or metric.namespace != "AWS/Lambda" or alarm.state_now != "ALARM":
        return alarm
    dims = metric.dimensions
    if dims.get("FunctionName") != ctx.function_name or dims.get("Resource") not in (
        None,
        ctx.function_name,
        f"{ctx.function_name}:{ctx.alias}",
    ):
        return alarm
    executed = dims.get("ExecutedVersion")
    if executed is not None:
        return alarm.model_copy(update={"new_version_breaches": executed == canary.version})
    field = _COUNTS.get(metric.metric_name)
    if field is None:
        return alarm
    new = _total(canary, field, counted_from)
    total = new + (_total(stable, field, counted_from) if stable is not None else 0.0)
    return alarm.model_copy(update={"new_version_amount": new, "total_amount": total})


def _total(series: VersionSeries, field: str, counted_from: datetime | None) -> float:
    return sum(getattr(p, field) or 0.0 for p in series.periods if counted_from is None or p.start >= counted_from)


def _depth(reads: _Reads, probes: HealthProbes, queue: str) -> float | None:
    return reads.attempt(f"depth of {queue}", lambda: float(probes.queues.depth(queue)), None)


def observe_logs(
    ctx: DeploymentContext,
    *,
    phase: Phase,
    since: datetime,
    now: datetime,
    weight: int,
    probes: HealthProbes,
    weight_since: datetime | None = None,
) -> HealthWindow:
    """The window of a log poll between two judgements: both versions' log lines only (no metric,
    queue or alarm read), so it costs two FilterLogEvents reads and can be made every few seconds."""
    new_version = ctx.require_version().version
    previous = ctx.require_baseline().live_version
    side_by_side = phase == "canary" or weight < 100
    logs, logs_reference, logs_failure = _logs(ctx, probes, (new_version, previous), since, now, side_by_side)
    return HealthWindow(
        phase=phase,
        canary_weight=weight,
        elapsed_seconds=(now - since).total_seconds(),
        canary=VersionSeries(version=new_version),
        logs=logs,
        logs_reference=logs_reference,
        logs_read_failure=logs_failure,
        weight_since=weight_since,
        observed_at=now,
        logs_only=True,
    )


def observe(
    ctx: DeploymentContext,
    *,
    phase: Phase,
    since: datetime,
    now: datetime,
    weight: int,
    probes: HealthProbes,
    weight_since: datetime | None = None,
) -> HealthWindow:
    """The window for one verdict. `weight` is the new version's share now (100 minus the watch's
    holdback); below 100 the previous version runs alongside and its series over the same periods
    is `stable`. The watch also gets the pre-deploy `baseline`."""
    baseline = ctx.require_baseline()
    new_version = ctx.require_version().version
    previous = baseline.live_version
    period = ctx.request.health.metric_period_seconds
    metrics = probes.metrics
    reads = _Reads()
    queue_series = [
        QueueSeries(
            queue=q.queue,
            baseline=q.depth,
            samples=[GaugeSample(at=now, value=_depth(reads, probes, q.queue))],
            source=q.source,
            kind=q.kind,
        )
        for q in baseline.dead_letter_queues
    ]
    ages: list[GaugeSample] = (
        reads.attempt("iterator age", lambda: metrics.iterator_age(ctx.function_name, since, now, period), [])
        if baseline.streams
        else []
    )
    stream_series = [
        StreamSeries(mapping_uuid=s.mapping_uuid, baseline_ms=s.iterator_age_ms, samples=ages) for s in baseline.streams
    ]
    side_by_side = phase == "canary" or weight < 100
    stable = _series(reads, metrics, ctx, previous, since, now) if side_by_side else None
    before = (
        _series(reads, metrics, ctx, previous, ctx.started_at - BASELINE_LOOKBACK, ctx.started_at)
        if phase == "watch"
        else None
    )
    canary = _series(reads, metrics, ctx, new_version, since, now)
    custom = [
        _custom(reads, metrics, ctx, m, (new_version, previous), since, now, side_by_side)
        for m in ctx.request.health.custom_metrics
    ]
    logs, logs_reference, logs_failure = _logs(ctx, probes, (new_version, previous), since, now, side_by_side)
    observed = _alarms(reads, probes.alarms, baseline)
    counted_from = weight_since if phase == "watch" else None
    alarms = _attributed(ctx, reads, probes.alarms, observed, canary, stable, counted_from)
    return HealthWindow(
        phase=phase,
        canary_weight=weight,
        elapsed_seconds=(now - since).total_seconds(),
        canary=canary,
        stable=stable,
        baseline=before,
        queues=queue_series,
        streams=stream_series,
        alarms=alarms,
        custom=custom,
        logs=logs,
        logs_reference=logs_reference,
        logs_read_failure=logs_failure,
        read_failures=reads.failures,
        weight_since=weight_since,
        observed_at=now,
    )
