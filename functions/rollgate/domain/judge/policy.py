"""The team's own rules: absolute thresholds held for a duration, and custom metrics.

Teams already run rules such as "error rate above 10% for 5 minutes", "p95 above 5 s", "IteratorAge
above 60 s", "DLQ not empty", or a business metric ("orders per request must not fall"). They are
judged here with the built-in checks' rules:
- missing is not zero: a period without a datapoint (or, for a rate, with Errors missing while
  Invocations is present) is not judged; it neither extends nor ends a threshold's run;
- a threshold is the new version's own: a period where the version in comparison breaches the same
  limit (a downstream incident, a shared dependency) is not blamed on the release unless the team
  says the limit is absolute (`also_when_reference_breaches`);
- a custom metric is compared like latency, by per-period votes: paired against the version
  alongside when the metric carries the version as a dimension, else against its own pre-deploy
  level; it fails when at least three compared periods, and the majority of them, are worse by the
  ratio AND the delta (one odd minute is never a rollback), and, for a per-invocation count, when
  the pooled counts say so too at the significance (thin periods' noise is not a regression);
- a check that has not been able to judge yet says so; a threshold in the middle of a breach, and a
  required custom metric not yet compared, keep a verdict from being HEALTHY (`holds_healthy`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import Check, CheckStatus, CustomSeries, EvidenceKind, GaugeSample, PeriodStats
from rollgate.domain.judge.stats import stratified_ratio_pvalue
from rollgate.domain.judge.view import View
from rollgate.domain.shared.models import CustomMetric, HealthPolicy, Threshold

_PASS, _FAIL = CheckStatus.PASS, CheckStatus.FAIL
_INCONCLUSIVE, _SKIPPED = CheckStatus.INCONCLUSIVE, CheckStatus.SKIPPED

THRESHOLD_PREFIX = "threshold:"
CUSTOM_PREFIX = "metric:"
#: A custom metric fails on at least this many worse periods (and the majority of those compared);
#: it passes once this many were compared without that.
_CUSTOM_MIN_PERIODS = 3
#: The pre-deploy level of an unpaired custom metric needs this many periods.
_BASELINE_MIN_PERIODS = 3

_LATENCY_FIELDS = {"p50": "p50_ms", "p95": "p95_ms", "p99": "p99_ms", "duration_average": "duration_avg_ms"}
_UNITS = {"error_rate": "rate", "throttle_rate": "rate", "iterator_age": "ms", "dlq_depth": "messages"}


def policy_checks(view: View, policy: HealthPolicy) -> list[Check]:
    """One check per threshold and per compared custom metric, in the policy's order."""
    custom = {s.name: s for s in view.window.custom}
    metrics = {m.name: m for m in policy.custom_metrics}
    checks = [
        _threshold_check(t, _threshold_name(policy.thresholds, i), view, metrics, custom)
        for i, t in enumerate(policy.thresholds)
    ]
    checks += [_custom_check(m, custom.get(m.name), view) for m in policy.custom_metrics if m.compare]
    return checks


def holds_healthy(check: Check) -> bool:
    """A threshold mid-breach, or a required custom metric not yet compared (non-required ones
    answer SKIPPED): the verdict waits."""
    return check.name.startswith((THRESHOLD_PREFIX, CUSTOM_PREFIX)) and check.status is _INCONCLUSIVE


def _threshold_name(thresholds: list[Threshold], index: int) -> str:
    metric = thresholds[index].metric
    twins = [i for i, t in enumerate(thresholds) if t.metric == metric]
    return f"{THRESHOLD_PREFIX}{metric}" + (f"#{twins.index(index) + 1}" if len(twins) > 1 else "")


# --------------------------------------------------------------------------- thresholds
@dataclass(frozen=True)
class _Point:
    """One judged period of a threshold: the new version's value, and whether the reference breached
    the same limit then (None: no reference value)."""

    start: datetime
    value: float
    reference_breaches: bool | None


def _threshold_check(
    threshold: Threshold,
    name: str,
    view: View,
    metrics: dict[str, CustomMetric],
    custom: dict[str, CustomSeries],
) -> Check:
    policy = view.policy
    period = policy.metric_period_seconds
    needed = max(1, math.ceil(threshold.for_seconds / period))
    breaches = _breaches(threshold)
    points = _threshold_points(threshold, view, metrics, custom, breaches)
    blamed = [
        breaches(p.value) and (threshold.also_when_reference_breaches or not p.reference_breaches) for p in points
    ]
    excused = sum(1 for p, b in zip(points, blamed, strict=True) if breaches(p.value) and not b)
    runs = _runs(blamed)
    failing = [(first, last) for first, last in runs if last - first >= needed]
    now = runs[-1][1] - runs[-1][0] if runs and runs[-1][1] == len(points) else 0
    limit = f"{'above' if threshold.above is not None else 'below'} {_shown(threshold.metric, _bound(threshold))}"
    held = f"for {threshold.for_seconds} s ({needed} period(s))" if threshold.for_seconds else "in any period"
    observed: dict[str, Any] = {
        "periods_judged": len(points),
        "longest_breach_periods": max((last - first for first, last in runs), default=0),
        "breaching_now_periods": now,
        "latest": _shown(threshold.metric, points[-1].value) if points else None,
    }
    if excused:
        observed["breaches_shared_with_reference"] = excused
    rule = {"limit": limit, "held": held, "periods_needed": needed}
    if _counts_invocations(threshold, metrics):
        rule["min_invocations_per_period"] = min_invocations(threshold)

    def check(status: CheckStatus, summary: str) -> Check:
        return Check(name=name, status=status, observed=observed, threshold=rule, summary=summary, kind=view.kind)

    what = f"{threshold.metric} of {view.canary_label}"
    if failing:
        first, last = max(failing, key=lambda r: r[1] - r[0])
        observed["breach_from"], observed["breach_to"] = (
            points[first].start.isoformat(),
            points[last - 1].start.isoformat(),
        )
        values = ", ".join(_shown(threshold.metric, p.value) for p in points[first:last][-5:])
        return check(_FAIL, f"{what} was {limit} {held}: {last - first} period(s) in a row ({values})")
    if now:
        return check(
            _INCONCLUSIVE,
            f"{what} is {limit} in the last {now} of the {needed} period(s) in a row that fail the release; judged "
            f"again next period",
        )
    if not points:
        return check(_SKIPPED, f"no period of {what} to judge yet ({_unjudged_reason(threshold, metrics)})")
    tail = f" ({excused} breaching period(s) shared with {view.reference_label}: not the release's)" if excused else ""
    return check(_PASS, f"{what} not {limit} {held} over {len(points)} judged period(s){tail}")


def _runs(flags: list[bool]) -> list[tuple[int, int]]:
    """The maximal runs of True, as [first, last) index pairs."""
    runs, first = [], None
    for i, flag in enumerate([*flags, False]):
        if flag and first is None:
            first = i
        elif not flag and first is not None:
            runs.append((first, i))
            first = None
    return runs


def _breaches(threshold: Threshold) -> Callable[[float], bool]:
    if threshold.above is not None:
        above = threshold.above
        return lambda value: value > above
    below = threshold.below if threshold.below is not None else -math.inf
    return lambda value: value < below


def _bound(threshold: Threshold) -> float:
    return threshold.above if threshold.above is not None else threshold.below or 0.0


def _counts_invocations(threshold: Threshold, metrics: dict[str, CustomMetric]) -> bool:
    """Rates and latencies of the version's own periods need min_invocations; gauges and custom metrics do not."""
    return threshold.metric not in metrics and threshold.metric not in ("iterator_age", "dlq_depth")


def _unjudged_reason(threshold: Threshold, metrics: dict[str, CustomMetric]) -> str:
    if not _counts_invocations(threshold, metrics):
        return "no datapoint of it in this window"
    return f"no published period with at least {min_invocations(threshold)} invocations yet"


def _threshold_points(
    threshold: Threshold,
    view: View,
    metrics: dict[str, CustomMetric],
    custom: dict[str, CustomSeries],
    breaches: Callable[[float], bool],
) -> list[_Point]:
    window = view.window
    metric = threshold.metric
    if metric == "dlq_depth":
        return [
            _Point(sample.at, sample.value, queue.baseline is not None and breaches(queue.baseline))
            for queue in window.queues
            for sample in queue.samples[-1:]
            if sample.value is not None
        ]
    if metric == "iterator_age":
        stream = window.streams[0] if window.streams else None
        if stream is None:
            return []
        before = stream.baseline_ms is not None and breaches(stream.baseline_ms)
        return [_Point(s.at, s.value, before) for s in stream.samples if s.value is not None]
    if metric in metrics:
        values = _custom_values(metrics[metric], custom.get(metric), view)
        return [
            _Point(start, value, _reference_breaches(values.reference_for(start), None, breaches))
            for start, value in values.canary
        ]
    return _builtin_points(threshold, view, breaches)


def _builtin_points(threshold: Threshold, view: View, breaches: Callable[[float], bool]) -> list[_Point]:
    window = view.window
    value_of = _builtin_value(threshold.metric)
    latency = threshold.metric in _LATENCY_FIELDS
    least = max(1, min_invocations(threshold))

    def judged(period: PeriodStats | None) -> float | None:
        if period is None or (period.invocations or 0) < least:
            return None
        return value_of(period)

    reference = {p.start: p for p in window.stable.periods} if window.stable is not None else {}
    before = (
        [v for p in window.baseline.periods if (v := judged(p)) is not None] if (window.baseline is not None) else []
    )
    level = median(before) if len(before) >= _BASELINE_MIN_PERIODS else None
    points = []
    for period in sorted(window.canary.periods, key=lambda p: p.start):
        value = judged(period)
        if value is None or (latency and not view.warm(period.start)):
            continue
        alongside = judged(reference.get(period.start))
        points.append(_Point(period.start, value, _reference_breaches(alongside, level, breaches)))
    return points


#: A percentile is judged from this many invocations beyond it (a p95 from 100, a p99 from 500): below,
#: a thin canary period's "p95" is its few slowest invocations, and cold starts alone put it over a
#: budget three periods in a row.
_TAIL_INVOCATIONS = 5
_TAILS = {"p50": 0.5, "p95": 0.05, "p99": 0.01}


def min_invocations(threshold: Threshold) -> int:
    """The threshold's own minimum, else 5 beyond a percentile, else 20 (a rate of fewer says little)."""
    if threshold.min_invocations is not None:
        return threshold.min_invocations
    tail = _TAILS.get(threshold.metric)
    return math.ceil(_TAIL_INVOCATIONS / tail) if tail else _DEFAULT_MIN_INVOCATIONS


_DEFAULT_MIN_INVOCATIONS = 20


def _reference_breaches(alongside: float | None, level: float | None, breaches: Callable[[float], bool]) -> bool | None:
    """Did the reference breach the limit then: the version alongside in the same period when it has
    a value, else the pre-deploy level; None when neither is known (the breach is the release's)."""
    known = alongside if alongside is not None else level
    return None if known is None else breaches(known)


def _builtin_value(metric: str) -> Callable[[PeriodStats], float | None]:
    if metric == "error_rate":
        return lambda p: p.errors / p.invocations if p.errors is not None and p.invocations else None
    if metric == "throttle_rate":

        def throttle_rate(p: PeriodStats) -> float | None:
            if p.throttles is None or p.invocations is None:
                return None
            attempts = p.invocations + p.throttles
            return p.throttles / attempts if attempts else None

        return throttle_rate
    field = _LATENCY_FIELDS[metric]
    return lambda p: getattr(p, field)


def _shown(metric: str, value: float) -> str:
    unit = _UNITS.get(metric, "ms" if metric in _LATENCY_FIELDS else "")
    if unit == "rate":
        return text.pct(value)
    if unit == "ms":
        return f"{value:,.0f} ms"
    if unit == "messages":
        return f"{value:,.0f} message(s)"
    return f"{value:,.4g}"


# --------------------------------------------------------------------------- custom metrics
@dataclass(frozen=True)
class _CustomValues:
    """A custom metric's comparable values: the new version's per period, the reference's per period
    (paired) or its pre-deploy level (unpaired)."""

    canary: list[tuple[datetime, float]]
    reference: dict[datetime, float]
    level: float | None
    paired: bool

    def reference_for(self, start: datetime) -> float | None:
        """What the period is compared with: the version alongside then (paired), else the level."""
        return self.reference.get(start) if self.paired else self.level


def _custom_values(metric: CustomMetric, series: CustomSeries | None, view: View) -> _CustomValues:
    window = view.window
    if series is None:
        return _CustomValues([], {}, None, paired=False)
    paired = series.reference is not None
    canary = _normalised(metric, series.canary, window.canary.periods)
    reference_periods = window.stable.periods if window.stable is not None else []
    reference = _normalised(metric, series.reference or [], reference_periods)
    before_periods = window.baseline.periods if window.baseline is not None else []
    before = [v for _, v in _normalised(metric, series.baseline, before_periods)]
    level = median(before) if not paired and len(before) >= _BASELINE_MIN_PERIODS else None
    return _CustomValues(sorted(canary), dict(reference), level, paired)


def _normalised(
    metric: CustomMetric, samples: Iterable[GaugeSample], periods: list[PeriodStats]
) -> list[tuple[datetime, float]]:
    """(period start, value) where there is a datapoint; per invocation of that version when the
    metric asks (a period without that version's invocations then has no value)."""
    if not metric.per_invocation:
        return [(s.at, s.value) for s in samples if s.value is not None]
    invocations = {p.start: p.invocations for p in periods}
    return [(s.at, s.value / n) for s in samples if s.value is not None and (n := invocations.get(s.at))]


def _custom_check(metric: CustomMetric, series: CustomSeries | None, view: View) -> Check:
    window = view.window
    values = _custom_values(metric, series, view)
    shift = window.weight_since if window.phase == "watch" else None
    kind = EvidenceKind.ORGANIC_PAIRED if values.paired else EvidenceKind.UNPAIRED
    reference_label = view.reference_label if values.paired else "its level before the deploy"
    worse = _worse(metric)
    rows: list[tuple[datetime, float, float]] = []
    for start, value in values.canary:
        # a raw per-version value changes with the weight: only periods under one weight, past its warm-up
        if not view.warm(start) or (shift is not None and start < shift):
            continue
        reference = values.reference_for(start)
        if reference is not None:
            rows.append((start, value, reference))
    breaching = [row for row in rows if worse(row[1], row[2])]
    p_value = _pooled_pvalue(metric, series, view, [start for start, _, _ in rows]) if values.paired else None
    direction = "higher" if metric.worse_when == "higher" else "lower"
    tolerance = f"{metric.max_ratio:g}x" + (f" and by {metric.min_delta:g}" if metric.min_delta else "")
    observed: dict[str, Any] = {
        "periods_compared": len(rows),
        "periods_worse": len(breaching),
        "latest": {"value": round(rows[-1][1], 6), "reference": round(rows[-1][2], 6)} if rows else None,
        "paired": values.paired,
    }
    if values.level is not None:
        observed["pre_deploy_level"] = round(values.level, 6)
    if p_value is not None:
        observed["p_value"] = text.p_round(p_value)
    rule = {
        "worse_when": metric.worse_when,
        "tolerated": tolerance,
        "fails_on": f"at least {_CUSTOM_MIN_PERIODS} periods worse and the majority of those compared",
        "per_invocation": metric.per_invocation,
    }
    who = view.canary_label if metric.version_dimension is not None else f"{metric.name} (function-wide)"

    def check(status: CheckStatus, summary: str) -> Check:
        name = f"{CUSTOM_PREFIX}{metric.name}"
        return Check(name=name, status=status, observed=observed, threshold=rule, summary=summary, kind=kind)

    significant = p_value is None or p_value < view.significance
    if p_value is not None:
        rule["pooled_test"] = f"per-invocation counts, stratified by period (significance {view.significance:g})"
    if len(breaching) >= _CUSTOM_MIN_PERIODS and 2 * len(breaching) > len(rows) and significant:
        shown = ", ".join(f"{v:,.4g} vs {r:,.4g}" for _, v, r in breaching[-3:])
        return check(
            _FAIL,
            f"{metric.name} of {who} was {direction} than {reference_label} by more than {tolerance} in "
            f"{len(breaching)} of {len(rows)} periods ({shown})",
        )
    if len(rows) >= _CUSTOM_MIN_PERIODS and 2 * len(breaching) <= len(rows):
        return check(
            _PASS,
            f"{metric.name} of {who} within {tolerance} of {reference_label} in "
            f"{len(rows) - len(breaching)} of {len(rows)} periods",
        )
    if len(rows) >= _CUSTOM_MIN_PERIODS and not significant:
        return check(
            _PASS,
            f"{metric.name} of {who} looked {direction} than {reference_label} in {len(breaching)} of {len(rows)} "
            f"periods, but its counts do not show it beyond {tolerance} ({text.p_value(p_value or 1.0)}): "
            f"thin periods' noise",
        )
    if values.paired or values.level is not None:
        why = f"{len(rows)} of the {_CUSTOM_MIN_PERIODS} periods needed compared with {reference_label}"
    else:
        why = f"no pre-deploy level of {metric.name} to compare with (fewer than {_BASELINE_MIN_PERIODS} datapoints)"
    if len(breaching):
        why += f"; {len(breaching)} worse so far"
    return check(_INCONCLUSIVE if metric.required else _SKIPPED, f"{metric.name} not judged yet: {why}")


def _pooled_pvalue(
    metric: CustomMetric, series: CustomSeries | None, view: View, starts: list[datetime]
) -> float | None:
    """A per-invocation count compared paired: is the new version's rate worse than the tolerated
    ratio, conditioned on each period's total (stratified_ratio_pvalue, as the errors test does), so
    thin periods' count noise cannot fail a release on votes alone? None for other metrics."""
    window = view.window
    if not metric.per_invocation or series is None or series.reference is None or window.stable is None:
        return None
    canary = {s.at: s.value for s in series.canary}
    reference = {s.at: s.value for s in series.reference}
    n_canary = {p.start: p.invocations for p in window.canary.periods}
    n_reference = {p.start: p.invocations for p in window.stable.periods}
    periods = [
        (canary[t] or 0.0, n_canary[t] or 0.0, reference[t] or 0.0, n_reference[t] or 0.0)
        for t in starts
        if t in n_canary and t in n_reference
    ]
    if metric.worse_when == "higher":
        return stratified_ratio_pvalue(periods, metric.max_ratio)
    # fewer per invocation is worse: the reference then has more than `ratio` times the new version's
    return stratified_ratio_pvalue([(x2, n2, x1, n1) for x1, n1, x2, n2 in periods], metric.max_ratio)


def _worse(metric: CustomMetric) -> Callable[[float, float], bool]:
    ratio, delta = metric.max_ratio, metric.min_delta
    if metric.worse_when == "higher":
        return lambda value, reference: value > reference * ratio and value - reference > delta
    return lambda value, reference: value * ratio < reference and reference - value > delta
