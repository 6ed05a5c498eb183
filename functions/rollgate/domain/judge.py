"""The health judge: is the new version worse than the one it replaces?

The canary gate shows it the new and the stable version side by side behind one weighted alias
(the ExecutedVersion dimension), over the same periods and under the same load; the watch gate,
after promotion, shows it the new version against the old version's pre-deploy series. It answers
HEALTHY, UNHEALTHY or INCONCLUSIVE with one Check per question asked, each carrying what was
compared, the numbers seen, the threshold or test statistic, and one sentence for the person on call.

Rules that hold throughout:
- no data is never healthy: a canary without datapoints, or with fewer invocations than a verdict
  needs, is INCONCLUSIVE; an empty stable or baseline series falls back to the absolute ceilings;
- a failing check wins even while samples are still short: clear evidence does not wait;
- every comparison is "worse than the reference by a practical margin, with statistical
  significance", so noise and tiny real differences at huge traffic do not roll back a release.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import median, median_low

from rollgate.domain.health import (
    Check,
    CheckStatus,
    EvidenceKind,
    HealthWindow,
    Outcome,
    PeriodStats,
    Verdict,
    VersionSeries,
)
from rollgate.domain.models import HealthPolicy
from rollgate.domain.stats import binomial_sf, excess_rate_pvalue, invocations_to_rule_out, shortfall_pvalue

#: Reference invocations per canary invocation assumed for the watch phase, where the reference is
#: the long pre-deploy series (its noise is negligible next to the new version's).
_LONG_REFERENCE = 1000.0
_PERCENTILES = (95, 99)
#: Latency periods vote by the invocations beyond the percentile: full weight from this many ...
_FULL_TAIL_INVOCATIONS = 5.0
#: ... and none under this many (a "p99" of 100 invocations is the slowest one).
_MIN_TAIL_INVOCATIONS = 2.0
#: Breaching weight that fails the check (two full periods).
_BREACH_WEIGHT = 2.0
#: After promotion there is no concurrent stable version: a failure rate significantly above the
#: pre-deploy baseline may be a downstream blip hitting everything. With fewer failures than this
#: (2 of 2 invocations at 2 requests a minute) the rate check does not roll back, it waits a period.
_MIN_UNPAIRED_FAILURES = 3

_PASS, _FAIL = CheckStatus.PASS, CheckStatus.FAIL
_INCONCLUSIVE, _SKIPPED = CheckStatus.INCONCLUSIVE, CheckStatus.SKIPPED


# --------------------------------------------------------------------------- public API
def judge(window: HealthWindow, policy: HealthPolicy) -> Verdict:
    """One verdict on one window. UNHEALTHY if any check fails; else INCONCLUSIVE while the canary
    has too few organic invocations (or none) to rule out a gross regression, or while reads failed;
    else HEALTHY. Synthetic probes are their own check: they can fail a release, never pass one."""
    view = _View.of(window)
    samples = _Samples.of(view, policy)
    organic = EvidenceKind.ORGANIC_PAIRED if view.paired else EvidenceKind.UNPAIRED
    checks = [
        _kind(_samples_check(view, policy, samples), organic),
        _kind(_errors_check(view, policy, samples), organic),
        _kind(_throttles_check(view, policy), organic),
        *(_kind(_latency_check(view, policy, q), organic) for q in _PERCENTILES),
        _kind(_synthetic_check(window, policy, view), EvidenceKind.SYNTHETIC),
        _kind(_dlq_check(window, policy, view), EvidenceKind.UNPAIRED),
        _kind(_streams_check(window, policy), EvidenceKind.UNPAIRED),
        _kind(_alarms_check(window, view), EvidenceKind.UNPAIRED),
    ]
    failed = [c for c in checks if c.status is _FAIL]
    if window.read_failures:
        # the metric reads behind the organic checks are not to be trusted: only evidence that does
        # not come from them (the probes' own invoke responses) may still fail the release
        failed = [c for c in failed if c.kind is EvidenceKind.SYNTHETIC]
    decided_by: EvidenceKind | None
    if failed:
        outcome = Outcome.UNHEALTHY
        decided_by = failed[0].kind
        summary = f"UNHEALTHY ({', '.join(c.name for c in failed)}): " + " | ".join(c.summary for c in failed)
    elif window.read_failures:
        outcome, decided_by = Outcome.INCONCLUSIVE, EvidenceKind.OPERATIONAL
        summary = (
            f"INCONCLUSIVE: reads failed after retries ({'; '.join(window.read_failures)}); an operational "
            f"failure says nothing about the release, so it is not judged"
        )
    elif checks[0].status is not _PASS:
        outcome, decided_by = Outcome.INCONCLUSIVE, checks[0].kind
        summary = f"INCONCLUSIVE: {checks[0].summary}"
    else:
        outcome, decided_by = Outcome.HEALTHY, checks[0].kind
        passed = [c.name for c in checks if c.status is _PASS]
        unjudged = [c.name for c in checks if c.status in (_SKIPPED, _INCONCLUSIVE)]
        summary = f"HEALTHY: {view.canary_label} served {_count(view.canary_n)} invocations; {', '.join(passed)} pass"
        if unjudged:
            summary += f" ({', '.join(unjudged)} not judged)"
    return Verdict(
        outcome=outcome,
        summary=summary,
        checks=checks,
        samples_seen=view.canary_n,
        samples_needed=samples.needed,
        decided_by=decided_by,
    )


def _kind(check: Check, kind: EvidenceKind) -> Check:
    return check.model_copy(update={"kind": kind})


def samples_needed(weight_percent: int, policy: HealthPolicy, stable_error_rate: float) -> int:
    """Canary invocations a HEALTHY verdict needs if the canary fails as often as the stable version:
    enough to rule out, by the one-sided test at `significance`, that it fails `error_rate_ceiling`
    more often than the tolerated rate (stable + `error_rate_margin`). Never fewer than
    `min_invocations`.

    The weight matters because the stable version's count is noisy too: at 10% the stable version
    has 9 invocations per canary invocation, at 50% only one. At 100% (the watch phase) the
    reference is the long pre-deploy series."""
    return max(
        policy.min_invocations,
        _forecast(
            _reference_ratio(weight_percent),
            policy.error_rate_margin + policy.error_rate_ceiling,
            policy.significance,
            round(min(max(stable_error_rate, 0.0), 1.0), 4),
        ),
    )


def _reference_ratio(weight_percent: int) -> float:
    weight = min(max(weight_percent, 1), 100)
    return (100 - weight) / weight if weight < 100 else _LONG_REFERENCE


@lru_cache(maxsize=4096)
def _forecast(ratio: float, bound: float, significance: float, reference_rate: float) -> int:
    needed = invocations_to_rule_out(reference_rate, 0.0, bound, significance, ratio)
    return needed if needed is not None else 10_000_000


@dataclass(frozen=True)
class _Samples:
    """Does the canary have enough invocations for a HEALTHY verdict? Enough means they rule out
    (one-sided test at `significance`) that it fails `margin + ceiling` more often than the
    reference: a canary clearly better than a burning stable version qualifies early, one that
    fails more than expected needs more. `needed` forecasts the count, for the person on call and
    for driving synthetic traffic."""

    seen: float
    needed: int | None
    ruled_out: bool
    bound: float
    p_value: float | None

    @classmethod
    def of(cls, view: _View, policy: HealthPolicy) -> _Samples:
        bound = policy.error_rate_margin + policy.error_rate_ceiling
        seen = view.canary_n
        reference_rate = view.reference_error_rate
        forecast = samples_needed(view.weight, policy, reference_rate)
        if seen <= 0:
            return cls(seen, forecast, False, bound, None)
        errors = view.window.canary.total("errors")
        n_r = view.reference_n
        x_r = view.reference.total("errors") if view.reference and n_r > 0 else 0.0
        p_value = shortfall_pvalue(errors, seen, x_r, n_r, bound)
        if p_value < policy.significance and seen >= policy.min_invocations:
            return cls(seen, int(min(forecast, seen)), True, bound, p_value)
        if seen < forecast:
            return cls(seen, forecast, False, bound, p_value)
        # as many as a stable-like canary needs, and still not ruled out: it fails more than stable
        more = invocations_to_rule_out(
            reference_rate,
            errors / seen - reference_rate,
            bound,
            policy.significance,
            _reference_ratio(view.weight),
        )
        return cls(seen, max(more, math.floor(seen) + 1) if more else None, False, bound, p_value)


# --------------------------------------------------------------------------- what is compared
@dataclass(frozen=True)
class _View:
    """The window seen as "canary against reference", in either phase."""

    window: HealthWindow
    canary_label: str
    reference: VersionSeries | None
    reference_label: str
    paired: bool  # canary phase: the reference ran in the same periods, so compare period by period

    @classmethod
    def of(cls, window: HealthWindow) -> _View:
        canary = _version(window.canary.version)
        if window.phase == "canary":
            stable = window.stable
            label = f"stable {_version(stable.version)}" if stable else "the stable version"
            return cls(window, f"canary {canary}", stable, label, paired=True)
        baseline = window.baseline
        label = f"{_version(baseline.version)} before the deploy" if baseline else "the pre-deploy baseline"
        return cls(window, f"{canary} (all traffic)", baseline, label, paired=False)

    @property
    def weight(self) -> int:
        return 100 if self.window.phase == "watch" else self.window.canary_weight

    @property
    def canary_n(self) -> float:
        return self.window.canary.total("invocations")

    @property
    def reference_n(self) -> float:
        return self.reference.total("invocations") if self.reference else 0.0

    @property
    def reference_error_rate(self) -> float:
        n = self.reference_n
        return self.reference.total("errors") / n if self.reference and n > 0 else 0.0

    def canary_has_datapoints(self) -> bool:
        return any(p.invocations is not None for p in self.window.canary.periods)

    def alias_rate_per_second(self) -> float | None:
        """Observed traffic through the alias, from both versions' invocations (canary phase)."""
        seconds = self.window.elapsed_seconds
        if seconds <= 0:
            return None
        total = self.canary_n + (self.reference_n if self.paired else 0.0)
        return total / seconds if total > 0 else None


# --------------------------------------------------------------------------- samples
def _samples_check(view: _View, policy: HealthPolicy, samples: _Samples) -> Check:
    seen = samples.seen
    observed: dict = {"canary_invocations": seen, "elapsed_seconds": view.window.elapsed_seconds}
    if samples.p_value is not None:
        observed["p_value_rule_out"] = _p_round(samples.p_value)
    threshold = {
        "needed": samples.needed,
        "rule": f"rule out failing {_points(samples.bound, sign=False)} more often than "
        f"{view.reference_label} (one-sided, significance {policy.significance:g})",
        "min_invocations": policy.min_invocations,
    }
    excess = f"{_points(samples.bound, sign=False)} more often than {view.reference_label}"
    if not view.canary_has_datapoints():
        return Check(
            name="samples",
            status=_INCONCLUSIVE,
            observed=observed,
            threshold=threshold,
            summary=f"no datapoints for {view.canary_label} yet (no traffic reached it, or CloudWatch has "
            f"not published them: they arrive 1-3 min late); no data is never healthy",
        )
    if samples.ruled_out:
        return Check(
            name="samples",
            status=_PASS,
            observed=observed,
            threshold=threshold,
            summary=f"{_count(seen)} invocations of {view.canary_label} rule out that it fails {excess} "
            f"({_below(samples.p_value or 0.0, policy.significance)})",
        )
    if samples.needed is None:
        summary = (
            f"{_count(seen)} invocations of {view.canary_label} do not rule out that it fails {excess}, and "
            f"at its current error rate more will not; the errors check decides"
        )
    else:
        summary = (
            f"{view.canary_label} has {_count(seen)} of the ~{samples.needed} invocations needed to rule out "
            f"that it fails {excess}"
        )
        rate = view.alias_rate_per_second()
        if rate and view.weight > 0:
            canary_rate = rate * view.weight / 100
            minutes = (samples.needed - seen) / canary_rate / 60
            observed["alias_rate_per_second"] = round(rate, 4)
            observed["minutes_to_go"] = round(minutes, 1)
            summary += f"; at {view.weight}% of {_rate(rate)} that is {_minutes(minutes)} more"
    return Check(name="samples", status=_INCONCLUSIVE, observed=observed, threshold=threshold, summary=summary)


# --------------------------------------------------------------------------- errors and throttles
def _errors_check(view: _View, policy: HealthPolicy, samples: _Samples) -> Check:
    n_c, x_c = view.canary_n, view.window.canary.total("errors")
    n_r = view.reference_n
    x_r = view.reference.total("errors") if view.reference else 0.0
    check = _rate_test(
        name="errors",
        view=view,
        policy=policy,
        canary=(x_c, n_c),
        reference=(x_r, n_r),
        ceiling=policy.error_rate_ceiling,
        ceiling_name="error_rate_ceiling",
        samples=samples,
    )
    return _unless_unpaired_blip(check, view, x_c)


def _throttles_check(view: _View, policy: HealthPolicy) -> Check:
    """Throttled requests never run, so the rate is throttles over (invocations + throttles)."""
    x_c = view.window.canary.total("throttles")
    x_r = view.reference.total("throttles") if view.reference else 0.0
    check = _rate_test(
        name="throttles",
        view=view,
        policy=policy,
        canary=(x_c, view.canary_n + x_c),
        reference=(x_r, view.reference_n + x_r),
        ceiling=policy.throttle_rate_ceiling,
        ceiling_name="throttle_rate_ceiling",
        samples=None,
    )
    return _unless_unpaired_blip(check, view, x_c)


def _unless_unpaired_blip(check: Check, view: _View, failures: float) -> Check:
    """Without a concurrent stable version (the watch), a handful of failures may be a downstream
    blip that would have hit any version: fewer than _MIN_UNPAIRED_FAILURES is judged again next
    period instead of rolling back."""
    if check.status is not _FAIL or view.paired or failures >= _MIN_UNPAIRED_FAILURES:
        return check
    return check.model_copy(
        update={
            "status": _INCONCLUSIVE,
            "threshold": {**check.threshold, "min_failures_without_control": _MIN_UNPAIRED_FAILURES},
            "summary": f"{check.summary}; but only {_count(failures)} {check.name} and no concurrent stable version to "
            f"rule out a downstream blip: {_MIN_UNPAIRED_FAILURES} are needed to roll back, judged again next period",
        }
    )


def _rate_test(
    *,
    name: str,
    view: _View,
    policy: HealthPolicy,
    canary: tuple[float, float],
    reference: tuple[float, float],
    ceiling: float,
    ceiling_name: str,
    samples: _Samples | None,
) -> Check:
    """Canary rate against the reference (one-sided test with the practical margin) and against
    the absolute ceiling. The ceiling fails a canary that is significantly above it *and* worse
    than the reference: when the stable version fails as often, rolling back would not help (a
    fix released while the old version burns)."""
    (x_c, n_c), (x_r, n_r) = canary, reference
    alpha, margin = policy.significance, policy.error_rate_margin
    threshold = {
        "margin": margin,
        ceiling_name: ceiling,
        "significance": alpha,
        "test": "one-sided: Farrington-Manning score test with margin, checked by the exact binomial tail",
    }
    if n_c <= 0:
        return Check(
            name=name,
            status=_INCONCLUSIVE,
            observed={"canary_invocations": 0},
            threshold=threshold,
            summary=f"no {name} can be judged: {view.canary_label} has no invocations yet",
        )
    rate_c = x_c / n_c
    if x_c == 0:
        return _not_failed(
            name,
            {"canary_count": 0, "canary_total": n_c, "canary_rate": 0.0},
            threshold,
            samples,
            f"no {name} in {_count(n_c)} invocations of {view.canary_label}",
        )
    seen = f"{view.canary_label} {name} {_count(x_c)}/{_count(n_c)} ({_pct(rate_c)})"
    observed: dict = {"canary_count": x_c, "canary_total": n_c, "canary_rate": round(rate_c, 6)}
    p_ceiling = binomial_sf(x_c, n_c, ceiling)
    observed["p_value_vs_ceiling"] = _p_round(p_ceiling)

    if n_r <= 0:
        observed["reference"] = "none: no datapoints"
        if p_ceiling < alpha:
            return Check(
                name=name,
                status=_FAIL,
                observed=observed,
                threshold=threshold,
                summary=f"{seen} with no datapoints from {view.reference_label} to compare: above the "
                f"{_limit(ceiling)} ceiling ({_below(p_ceiling, alpha)})",
            )
        return _not_failed(
            name,
            observed,
            threshold,
            samples,
            f"{seen}; no datapoints from {view.reference_label}, so judged against the {_limit(ceiling)} "
            f"ceiling only: not significantly above it ({_p(p_ceiling)})",
        )

    rate_r = x_r / n_r
    difference = rate_c - rate_r
    p_margin = excess_rate_pvalue(x_c, n_c, x_r, n_r, margin)
    observed.update(
        {
            "reference": view.reference_label,
            "reference_count": x_r,
            "reference_total": n_r,
            "reference_rate": round(rate_r, 6),
            "difference_points": round(difference * 100, 3),
            "p_value_vs_reference": _p_round(p_margin),
        }
    )
    compared = f"{seen} vs {view.reference_label} {_count(x_r)}/{_count(n_r)} ({_pct(rate_r)}): {_points(difference)}"
    if p_margin < alpha:
        return Check(
            name=name,
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"{compared}, {_below(p_margin, alpha)} and above the {_margin(margin)}",
        )
    if p_ceiling < alpha:
        p_worse = excess_rate_pvalue(x_c, n_c, x_r, n_r, 0.0)
        observed["p_value_worse_than_reference"] = _p_round(p_worse)
        if p_worse < alpha:
            return Check(
                name=name,
                status=_FAIL,
                observed=observed,
                threshold=threshold,
                summary=f"{compared}: above the {_limit(ceiling)} ceiling ({_p(p_ceiling)}) and worse than "
                f"{view.reference_label} ({_p(p_worse)})",
            )
        return _not_failed(
            name,
            observed,
            threshold,
            samples,
            f"{compared}: above the {_limit(ceiling)} ceiling, but {view.reference_label} fails as often, "
            f"so rolling back would not help",
        )
    return _not_failed(
        name,
        observed,
        threshold,
        samples,
        f"{compared}, not significantly beyond the {_margin(margin)} ({_p(p_margin)}) "
        f"{'and under' if rate_c <= ceiling else 'nor above'} the {_limit(ceiling)} ceiling",
    )


def _not_failed(name: str, observed: dict, threshold: dict, samples: _Samples | None, summary: str) -> Check:
    """No significant excess: a pass once the samples rule a gross regression out, else not yet."""
    if samples is not None and not samples.ruled_out:
        return Check(
            name=name,
            status=_INCONCLUSIVE,
            observed=observed,
            threshold=threshold,
            summary=f"{summary}; too few invocations to rule a regression out yet",
        )
    return Check(name=name, status=_PASS, observed=observed, threshold=threshold, summary=summary)


# --------------------------------------------------------------------------- latency
def _latency_check(view: _View, policy: HealthPolicy, percentile: int) -> Check:
    """Canary p95/p99 against the reference, period by period: a period breaches when it is slower
    by the ratio AND by the absolute delta.

    A percentile of a few invocations is mostly noise (the p99 of 100 invocations rests on the
    slowest one or two), so each period votes with a weight: the invocations beyond the
    percentile, up to 5 (full weight from 100 invocations for p95, 500 for p99; under 2 the period
    is not judged). The check fails when the breaching weight is at least 2 and the majority of
    the weight compared, so one noisy period (the cold starts of a new version's first minute, a
    noisy neighbour) is never a rollback, and thin periods must agree in numbers. The first period
    of the window is the new environments' warm-up (every one starts cold after a traffic shift)
    and is left out once a later period has data."""
    name = f"latency_p{percentile}"
    field = f"p{percentile}_ms"
    tail = (100 - percentile) / 100
    min_count = round(_MIN_TAIL_INVOCATIONS / tail)
    full_count = round(_FULL_TAIL_INVOCATIONS / tail)
    threshold = {
        "ratio": policy.latency_ratio_limit,
        "min_delta_ms": policy.latency_min_delta_ms,
        "period_weight": f"invocations beyond the p{percentile} / {_FULL_TAIL_INVOCATIONS:g}, at most 1; "
        f"periods under {min_count} invocations not judged",
        "rule": "breaching weight >= 2 and more than half of the weight compared; first period is warm-up",
    }

    def usable(p: PeriodStats) -> tuple[float, float] | None:
        value = getattr(p, field)
        n = p.invocations or 0
        return (value, min(1.0, n / full_count)) if value is not None and n >= min_count else None

    with_data = [p for p in view.window.canary.periods if p.invocations]
    warm_up = min((p.start for p in with_data), default=None) if len(with_data) > 1 else None
    canary = [(p.start, *u) for p in with_data if p.start != warm_up and (u := usable(p)) is not None]
    reference_periods = view.reference.periods if view.reference else []
    reference = [(p.start, u[0]) for p in reference_periods if (u := usable(p)) is not None]
    if not canary:
        busiest = max((p.invocations or 0 for p in view.window.canary.periods), default=0)
        return Check(
            name=name,
            status=_SKIPPED,
            observed={"busiest_canary_period_invocations": busiest},
            threshold=threshold,
            summary=f"p{percentile} not judged: no period of {view.canary_label} had the {min_count} invocations "
            f"a p{percentile} needs (busiest: {_count(busiest)})",
        )
    if not reference:
        return Check(
            name=name,
            status=_SKIPPED,
            observed={"canary_periods": len(canary)},
            threshold=threshold,
            summary=f"p{percentile} not judged: {view.reference_label} has no period with {min_count} "
            f"invocations to compare with, and the policy sets no absolute latency limit",
        )
    typical = median(v for _, v in reference)
    by_start = dict(reference) if view.paired else {}
    rows = [(c, by_start.get(start, typical), weight) for start, c, weight in canary]
    breaching = [c > r * policy.latency_ratio_limit and c - r > policy.latency_min_delta_ms for c, r, _ in rows]
    weight_breached = sum(w for (_, _, w), b in zip(rows, breaching, strict=True) if b)
    weight_total = sum(w for _, _, w in rows)
    breached, compared = sum(breaching), len(rows)
    canary_typical = median_low(c for c, _, _ in rows)
    reference_typical = median_low(r for _, r, _ in rows)
    observed = {
        "periods_compared": compared,
        "periods_breached": breached,
        "weight_breached": round(weight_breached, 2),
        "weight_compared": round(weight_total, 2),
        "canary_ms": [round(c, 1) for c, _, _ in rows][-20:],
        "reference_ms": [round(r, 1) for _, r, _ in rows][-20:],
        "canary_median_ms": round(canary_typical, 1),
        "reference_median_ms": round(reference_typical, 1),
    }
    limit = f"{policy.latency_ratio_limit:g}x and +{policy.latency_min_delta_ms:g} ms"
    head = (
        f"p{percentile} of {view.canary_label} {canary_typical:.0f} ms vs {view.reference_label} "
        f"{reference_typical:.0f} ms (median over {compared} period{'s' if compared != 1 else ''})"
    )
    if weight_breached >= _BREACH_WEIGHT - 1e-9 and 2 * weight_breached > weight_total:
        return Check(
            name=name,
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"{head}: slower by more than {limit} in {breached} of {compared} periods",
        )
    if breached:
        thin = " thin" if weight_breached < breached else ""
        verdict = (
            f"slower by more than {limit} in only {breached} of {compared}{thin} periods, not a sustained regression"
        )
    else:
        verdict = f"within {limit} in every period"
    return Check(name=name, status=_PASS, observed=observed, threshold=threshold, summary=f"{head}: {verdict}")


# --------------------------------------------------------------------------- synthetic probes
def _synthetic_check(window: HealthWindow, policy: HealthPolicy, view: _View) -> Check:
    """Rollgate's probes of the new version's qualifier, judged from their invoke responses against
    the reference's organic failure rate plus the margin. They can fail a release; a pass here
    never counts as samples (the probes exercise only the smoke payloads' request types)."""
    probes = window.synthetic
    threshold = {"margin": policy.error_rate_margin, "significance": policy.significance}
    if probes is None or probes.sent <= 0:
        return Check(name="synthetic", status=_SKIPPED, threshold=threshold, summary="no synthetic probes sent")
    x_r = view.reference.total("errors") if view.reference else 0.0
    n_r = view.reference_n
    p_value = excess_rate_pvalue(probes.failed, probes.sent, x_r, n_r, policy.error_rate_margin)
    observed = {
        "sent": probes.sent,
        "failed": probes.failed,
        "examples": probes.failures[:3],
        "p_value_vs_reference": _p_round(p_value),
    }
    seen = f"{probes.failed} of {probes.sent} synthetic probes of {view.canary_label} failed"
    if probes.failed and p_value < policy.significance:
        example = f" (e.g. {probes.failures[0]})" if probes.failures else ""
        return Check(
            name="synthetic",
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"{seen}{example}: more than {view.reference_label} fails ({_below(p_value, policy.significance)})",
        )
    return Check(
        name="synthetic",
        status=_PASS,
        observed=observed,
        threshold=threshold,
        summary=f"{seen}; probes only exercise the smoke payloads, so they never count as samples",
    )


# --------------------------------------------------------------------------- queues, streams, alarms
def _dlq_check(window: HealthWindow, policy: HealthPolicy, view: _View) -> Check:
    """Growth over the depth at preflight, not absolute depth: an old backlog does not block a fix.

    Growth beyond `max_dlq_growth` fails, unless it is a negligible share of the new version's
    invocations: a dead-lettered message is an invocation that failed for good, so a growth of at
    most `error_rate_margin` of them (2 messages over 5,000 invocations) is the stray poison
    message the old version dead-letters too, within the margin the errors check already
    tolerates, not a regression. Without canary invocations to compare with, the count alone
    decides."""
    served = view.canary_n
    threshold = {"max_dlq_growth": policy.max_dlq_growth, "max_share_of_invocations": policy.error_rate_margin}
    if not window.queues:
        return Check(name="dlq", status=_SKIPPED, threshold=threshold, summary="no dead-letter queue to watch")
    rows: list[dict] = []
    grown: list[str] = []
    stray: list[str] = []
    unread: list[str] = []
    for queue in window.queues:
        latest = next((s.value for s in reversed(queue.samples) if s.value is not None), None)
        if latest is None:
            unread.append(queue.queue)
            rows.append({"queue": queue.queue, "baseline": queue.baseline, "now": None})
            continue
        growth = latest - queue.baseline
        rows.append({"queue": queue.queue, "baseline": queue.baseline, "now": latest, "growth": growth})
        if growth > policy.max_dlq_growth and served > 0 and growth / served <= policy.error_rate_margin:
            stray.append(
                f"{queue.queue} grew +{_count(growth)}, {_pct(growth / served)} of the {_count(served)} invocations "
                f"of {view.canary_label}"
            )
        elif growth > policy.max_dlq_growth:
            grown.append(
                f"{queue.queue} grew {_count(queue.baseline)} -> {_count(latest)} messages (+{_count(growth)})"
            )
    held = [r for r in rows if r["now"] is not None]
    backlog = sum(r["baseline"] for r in held)
    plural = "s" if len(held) != 1 else ""
    summary = f"{len(held)} dead-letter queue{plural} within +{policy.max_dlq_growth} of preflight"
    if stray:
        summary += (
            f" or within {_limit(policy.error_rate_margin)} of the invocations: {'; '.join(stray)} "
            f"(stray messages, not a regression)"
        )
    if backlog:
        summary += f" (an old backlog of {_count(backlog)} messages is not held against the release)"
    if unread:
        summary += f"; no reading for {', '.join(unread)}"
    return _gauge_check(
        "dlq",
        {"queues": rows},
        threshold,
        breaches=grown,
        breach_summary=f"{'; '.join(grown)} since preflight; the limit is +{policy.max_dlq_growth}",
        nothing_read=len(unread) == len(window.queues),
        unread_summary=f"no depth reading yet for {', '.join(unread)}",
        pass_summary=summary,
    )


def _streams_check(window: HealthWindow, policy: HealthPolicy) -> Check:
    """Iterator age judged by its trend: beyond the allowed growth over the preflight level AND
    still rising (the last three readings strictly increasing). A burst that is being drained is
    not a rollback; a consumer falling further behind is."""
    limit = policy.max_iterator_age_growth_ms
    threshold = {"max_iterator_age_growth_ms": limit, "rising": "last 3 readings strictly increasing"}
    if not window.streams:
        return Check(name="streams", status=_SKIPPED, threshold=threshold, summary="no event source mapping to watch")
    rows: list[dict] = []
    lagging: list[str] = []
    unread: list[str] = []
    for stream in window.streams:
        values = [s.value for s in stream.samples if s.value is not None]
        if not values:
            unread.append(stream.mapping_uuid)
            rows.append({"mapping": stream.mapping_uuid, "baseline_ms": stream.baseline_ms, "readings": 0})
            continue
        reference = stream.baseline_ms if stream.baseline_ms is not None else values[0]
        growth = values[-1] - reference
        last = values[-3:]
        rising = len(last) == 3 and last[0] < last[1] < last[2]
        rows.append(
            {
                "mapping": stream.mapping_uuid,
                "baseline_ms": reference,
                "latest_ms": values[-1],
                "growth_ms": growth,
                "rising": rising,
                "readings": len(values),
            }
        )
        if growth > limit and rising:
            lagging.append(
                f"iterator age of {stream.mapping_uuid} {_seconds(reference)} -> {_seconds(values[-1])} "
                "and still rising"
            )
    read = len(rows) - len(unread)
    return _gauge_check(
        "streams",
        {"streams": rows},
        threshold,
        breaches=lagging,
        breach_summary=f"{'; '.join(lagging)} (allowed growth {_seconds(limit)})",
        nothing_read=not read,
        unread_summary=f"no iterator age datapoints yet for {', '.join(unread)}",
        pass_summary=f"iterator age within {_seconds(limit)} of preflight, or not rising, on "
        f"{read} mapping{'s' if read != 1 else ''}",
    )


def _gauge_check(
    name: str,
    observed: dict,
    threshold: dict,
    *,
    breaches: list[str],
    breach_summary: str,
    nothing_read: bool,
    unread_summary: str,
    pass_summary: str,
) -> Check:
    """The verdict shared by the queue and stream checks: any breach fails; no reading at all is
    not a pass (no data is never healthy); otherwise pass."""
    if breaches:
        status, summary = _FAIL, breach_summary
    elif nothing_read:
        status, summary = _INCONCLUSIVE, unread_summary
    else:
        status, summary = _PASS, pass_summary
    return Check(name=name, status=status, observed=observed, threshold=threshold, summary=summary)


def _alarms_check(window: HealthWindow, view: _View) -> Check:
    """Version-aware: an alarm already in ALARM at preflight was raised by the stable version and
    does not fail the new one; an alarm that went into ALARM since preflight does."""
    if not window.alarms:
        return Check(name="alarms", status=_SKIPPED, summary="no guarding alarms configured")
    fired = [a for a in window.alarms if a.state_now == "ALARM" and a.state_at_preflight != "ALARM"]
    inherited = [a for a in window.alarms if a.state_now == "ALARM" and a.state_at_preflight == "ALARM"]
    observed = {
        "alarms": [
            {"name": a.name, "at_preflight": a.state_at_preflight, "now": a.state_now, "reason": a.reason}
            for a in window.alarms
        ]
    }
    threshold = {"rule": "fails when an alarm not in ALARM at preflight is in ALARM now"}
    if fired:
        names = ", ".join(f"{a.name} ({a.state_at_preflight} -> ALARM)" for a in fired)
        return Check(
            name="alarms",
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"guarding alarm went into ALARM while {view.canary_label} took traffic: {names}",
        )
    summary = f"{len(window.alarms)} guarding alarm{'s' if len(window.alarms) != 1 else ''}: none went into ALARM"
    if inherited:
        summary += (
            f"; {', '.join(a.name for a in inherited)} was already in ALARM at preflight (raised by the "
            f"version being replaced) and is not held against the release"
        )
    return Check(name="alarms", status=_PASS, observed=observed, threshold=threshold, summary=summary)


# --------------------------------------------------------------------------- wording
def _version(version: str) -> str:
    return f"v{version}" if version.isdigit() else version


def _count(value: float) -> str:
    return f"{value:,.0f}" if abs(value - round(value)) < 1e-9 else f"{value:,.1f}"


def _pct(rate: float) -> str:
    percent = rate * 100
    if percent == 0:
        return "0%"
    if percent >= 10:
        return f"{percent:.0f}%"
    if percent >= 1:
        return f"{percent:.1f}%"
    return f"{percent:.2f}%"


def _points(difference: float, sign: bool = True) -> str:
    points = difference * 100
    text = f"{points:+.1f}" if sign else f"{points:g}"
    return f"{text} point{'s' if abs(points) != 1 else ''}"


def _margin(margin: float) -> str:
    return f"{margin * 100:g}-point margin"


def _limit(rate: float) -> str:
    return f"{rate * 100:g}%"


def _p(p: float) -> str:
    if p < 1e-12:
        return "p<1e-12"
    if p < 0.001:
        mantissa, exponent = f"{p:.0e}".split("e")
        return f"p={mantissa}e{int(exponent)}"
    return f"p={p:.2g}"


def _below(p: float, alpha: float) -> str:
    return _p(p) if p < 1e-12 else f"{_p(p)} < {alpha:g}"


def _p_round(p: float) -> float:
    return float(f"{p:.3g}")


def _rate(per_second: float) -> str:
    if per_second >= 1:
        return f"{per_second:.1f} req/s"
    return f"{per_second * 60:.1f} req/min"


def _minutes(minutes: float) -> str:
    if minutes < 1:
        return "under a minute"
    if minutes < 90:
        return f"about {math.ceil(minutes)} min"
    return f"about {minutes / 60:.1f} h"


def _seconds(ms: float) -> str:
    return f"{ms / 1000:.0f} s" if ms >= 10_000 else f"{ms / 1000:.1f} s"
