"""Count tests: errors, failed batch items, function-level throttles and synthetic probes.

Every comparison is "worse than the reference by the tolerated margin, with significance":
- the margin is relative AND absolute: the canary may fail up to (1 + error_rate_relative_margin)
  times the reference's rate, or error_rate_margin more, whichever is larger. A doubling of a 0.1%
  rate at high traffic is a regression; a half-point wobble of a function that fails 10% is not.
- near the absolute ceiling the tolerated rate shrinks to the ceiling, never below half the margin:
  a reference already above the ceiling keeps a margin (rolling back would not help);
- real error counts are overdispersed (they cluster in time and by caller). Paired, the test is
  per period: conditioned on a period's failures, each is the canary's with a probability set by
  the two versions' invocations and the tolerated ratio, so whatever moved both versions' rates
  that minute cancels; the pooled Farrington-Manning score test of the absolute excess must agree.
  Unpaired, the score test is widened by the between-period dispersion of the pre-deploy series.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import Check, CheckStatus, EvidenceKind, SyntheticSeries
from rollgate.domain.judge.stats import binomial_sf, excess_rate_pvalue, rate_dispersion, stratified_ratio_pvalue
from rollgate.domain.judge.view import CountField, Counts, TrialField, View
from rollgate.domain.shared.models import HealthPolicy

_PASS, _FAIL = CheckStatus.PASS, CheckStatus.FAIL
_INCONCLUSIVE, _SKIPPED = CheckStatus.INCONCLUSIVE, CheckStatus.SKIPPED

#: Without a concurrent control (an unpaired watch, or no reference at all), a handful of failures
#: may be a downstream blip that would have hit any version: fewer than this are judged again next
#: period instead of rolling back (2 of 2 invocations at 2 requests a minute).
MIN_UNPAIRED_FAILURES = 3
#: A paired watch with a thin holdback is held in doubt while it fails significantly beyond the
#: pre-deploy rate and its latest this many periods still fail beyond the tolerated rate.
_DOUBT_PERIODS = 10
#: Without a control for the probes, they fail a release only above this failure rate.
SYNTHETIC_UNPAIRED_FLOOR = 0.5


def tolerated_rate(reference_rate: float, policy: HealthPolicy, ceiling: float | None) -> float:
    """The highest rate the new version may show against a reference failing `reference_rate`."""
    full = max(reference_rate * (1 + policy.error_rate_relative_margin), reference_rate + policy.error_rate_margin)
    if ceiling is None:
        return min(full, 1.0)
    return min(max(min(full, ceiling), reference_rate + (full - reference_rate) / 2), 1.0)


def margin_rule(policy: HealthPolicy) -> str:
    return (
        f"the larger of {policy.error_rate_relative_margin * 100:g}% of the reference's rate and "
        f"{text.points(policy.error_rate_margin, sign=False)}"
    )


def _extra_variance(counts: Counts, reference_rate: float, canary_null: float) -> tuple[float, float]:
    """The overdispersion term of the difference's variance (unpaired), and the relative
    between-period variance it came from, estimated on the reference's periods (the canary's own
    few periods would hide a regression's spread in it)."""
    tau2 = rate_dispersion(counts.reference_periods)
    if tau2 <= 0:
        return 0.0, 0.0
    variance = 0.0
    for rows, rate in ((counts.canary_periods, canary_null), (counts.reference_periods, reference_rate)):
        total = sum(n for _, n in rows)
        if total > 0:
            variance += tau2 * rate * rate * sum(n * n for _, n in rows) / (total * total)
    return variance, tau2


@dataclass(frozen=True)
class _Reference:
    """What the canary's counts are compared with, and how.

    paired: the concurrent control's periods (stable, or the watch's holdback). Pooling a small
    holdback with its pre-deploy series was tried and rejected: the holdback cannot see a downstream
    incident that the pre-deploy series then blames on the new version;
    unpaired: the pre-deploy series alone (no control, or a control without traffic);
    none: nothing to compare with (the ceiling decides)."""

    counts: Counts
    label: str
    mode: str

    @property
    def with_control(self) -> bool:
        return self.mode == "paired"


def _reference(view: View, count: CountField, trials: TrialField) -> _Reference:
    counts = view.counts(count, trials)
    before = view.baseline_counts(count, trials) if view.window.baseline is not None else []
    baseline_label = f"v{view.window.baseline.version}" if view.window.baseline else ""
    if view.paired and counts.reference[1] > 0:
        return _Reference(counts, view.reference_label, "paired")
    if before:
        unpaired = Counts(counts.canary_periods, before, counts.missing)
        return _Reference(unpaired, f"{baseline_label} before the deploy", "unpaired")
    return _Reference(counts, view.reference_label, "none" if counts.reference[1] <= 0 else "unpaired")


def _excess_pvalue(reference: _Reference, rate_r: float, tolerated: float) -> tuple[float, float]:
    """p-value for "the canary fails more than the tolerated rate", and the dispersion used.

    Paired: per-period conditional test of the ratio (shared incidents, diurnal swings and errors
    clustered in time cancel period by period) AND the pooled score test of the absolute excess
    (needed where the reference's rate is near zero); both must reject. Otherwise: the pooled score
    test widened by the between-period dispersion of the reference's periods, since nothing ran
    alongside to cancel it."""
    counts = reference.counts
    (x_c, n_c), (x_r, n_r) = counts.canary, counts.reference
    margin = tolerated - rate_r
    if reference.with_control:
        pooled = excess_rate_pvalue(x_c, n_c, x_r, n_r, margin)
        if x_r <= 0:
            return pooled, 0.0
        return max(pooled, stratified_ratio_pvalue(counts.paired, tolerated / rate_r)), 0.0
    extra, tau2 = _extra_variance(counts, rate_r, tolerated)
    return excess_rate_pvalue(x_c, n_c, x_r, n_r, margin, extra_variance=extra), tau2


def rate_check(
    *,
    name: str,
    view: View,
    policy: HealthPolicy,
    ceiling: float,
    ruled_out: bool | None,
    count: CountField = "errors",
    trials: TrialField = "invocations",
    what: str | None = None,
) -> Check:
    """Canary rate of `count` over `trials` against the reference's (see _Reference). `ruled_out`
    (the samples' answer) turns "no significant excess" into PASS or not-yet; None: always PASS."""
    what = what or name
    reference = _reference(view, count, trials)
    current = view.since_shift()
    if reference.with_control and reference.counts.reference[0] <= 0 and len(current.pairs) < len(view.pairs):
        # a control without failures leaves only the pooled test, which must not compare the watch's
        # periods (95% on the new version, and an incident in them) with the canary's: the periods
        # under the current weight only
        view, reference = current, _reference(current, count, trials)
    counts = reference.counts
    (x_c, n_c), (x_r, n_r) = counts.canary, counts.reference
    alpha = view.significance
    threshold = {
        "relative_margin": policy.error_rate_relative_margin,
        "absolute_margin": policy.error_rate_margin,
        "ceiling": ceiling,
        "significance": alpha,
        **({"final_look": True} if view.final_look else {}),
        "test": "paired: per-period conditional ratio test and the pooled Farrington-Manning score test, both; "
        "otherwise the score test widened by the reference's between-period dispersion",
    }
    observed: dict[str, Any] = {"canary_count": x_c, "canary_total": n_c, "reference_mode": reference.mode}
    if counts.missing:
        observed["periods_missing_counts"] = len(counts.missing)
    if view.late:
        observed["periods_not_yet_published"] = len(view.late)
    if view.mixed:
        observed["periods_mixing_a_shift"] = len(view.mixed)
    kind = EvidenceKind.ORGANIC_PAIRED if reference.with_control else EvidenceKind.UNPAIRED

    def check(status: CheckStatus, summary: str) -> Check:
        return Check(name=name, status=status, observed=observed, threshold=threshold, summary=summary, kind=kind)

    def not_failed(summary: str) -> Check:
        if ruled_out is False:
            return check(_INCONCLUSIVE, f"{summary}; too few invocations to rule a regression out yet")
        return check(_PASS, summary)

    if n_c <= 0:
        waiting = _waiting(view)
        return check(
            _INCONCLUSIVE, f"no {what} can be judged: {waiting or f'{view.canary_label} has no invocations yet'}"
        )
    rate_c = x_c / n_c
    observed["canary_rate"] = round(rate_c, 6)
    seen = f"{view.canary_label} {what} {text.count(x_c)}/{text.count(n_c)} ({text.pct(rate_c)})"
    if n_r <= 0:
        above, p, sentence = _against_ceiling(view, policy, ceiling, x_c, n_c)
        observed.update({"reference": "none: no datapoints", "p_value_vs_ceiling": text.p_round(p)})
        if above:  # without a control, a few failures wait
            return _unless_blip(check(_FAIL, f"{seen} {sentence}"), False, x_c, what)
        return not_failed(f"{seen}{sentence}")

    rate_r = x_r / n_r
    tolerated = tolerated_rate(rate_r, policy, ceiling)
    p, tau2 = _excess_pvalue(reference, rate_r, tolerated) if x_c > 0 else (1.0, 0.0)
    observed.update(
        {
            "reference": reference.label,
            "reference_count": x_r,
            "reference_total": n_r,
            "reference_rate": round(rate_r, 6),
            "tolerated_rate": round(tolerated, 6),
            "difference_points": round((rate_c - rate_r) * 100, 3),
            "relative_dispersion": round(tau2, 4),
            "p_value_vs_reference": text.p_round(p),
        }
    )
    compared = (
        f"{seen} vs {reference.label} {text.count(x_r)}/{text.count(n_r)} ({text.pct(rate_r)}): "
        f"{text.points(rate_c - rate_r)}"
    )
    capped = " (capped by the ceiling)" if tolerated < rate_r + _full_margin(rate_r, policy) - 1e-12 else ""
    if p < alpha:
        failed = check(
            _FAIL,
            f"{compared}, beyond the tolerated {text.pct(tolerated)}{capped} ({text.below(p, alpha)}; margin: "
            f"{margin_rule(policy)})",
        )
        return _unless_blip(failed, reference.with_control, x_c, what)
    if rate_c > ceiling and rate_r >= ceiling:
        return not_failed(
            f"{compared}: above the {text.limit(ceiling)} ceiling, but {reference.label} fails as often, "
            f"so rolling back would not help"
        )
    doubt = _thin_holdback_doubt(view, policy, reference, count, trials, ceiling)
    if doubt is not None:
        observed["p_value_vs_before_the_deploy"] = text.p_round(doubt[0])
        return check(
            _INCONCLUSIVE, f"{compared}, not significantly beyond the tolerated {text.pct(tolerated)}; {doubt[1]}"
        )
    return not_failed(f"{compared}, not significantly beyond the tolerated {text.pct(tolerated)} ({text.p_value(p)})")


def _thin_holdback_doubt(
    view: View,
    policy: HealthPolicy,
    reference: _Reference,
    count: CountField,
    trials: TrialField,
    ceiling: float,
) -> tuple[float, str] | None:
    """A paired watch whose holdback is too thin to see what the new version shows: against the
    previous version's own rate before the deploy (with the holdback's), the new version fails
    significantly beyond the tolerated rate over the watch, and still beyond it in its latest
    _DOUBT_PERIODS periods. That is not a
    rollback (a downstream incident the thin holdback cannot show reads the same), and it is not a
    pass either: the watch is held INCONCLUSIVE, and its end takes on_inconclusive_watch. An
    incident passes and the doubt with it; a regression stays. (p, sentence), or None."""
    if not reference.with_control or view.window.phase != "watch":
        return None
    watched = view.since_shift().counts(count, trials).canary_periods
    recent = watched[-_DOUBT_PERIODS:]
    x_c, n_c = sum(x for x, _ in watched), sum(n for _, n in watched)
    x_now, n_now = sum(x for x, _ in recent), sum(n for _, n in recent)
    if x_c <= 0 or n_now <= 0:
        return None
    before = view.baseline_counts(count, trials)
    if not before:
        return None
    x_r, n_r = reference.counts.reference
    x_0, n_0 = sum(x for x, _ in before), sum(n for _, n in before)
    if n_0 > 0 and n_r > 0 and binomial_sf(x_r, n_r, x_0 / n_0) < view.significance:
        return None  # the holdback shows the incident itself: the paired test is the one to trust
    x_b, n_b = x_0 + x_r, n_0 + n_r
    if n_b <= 0:
        return None
    rate_b = x_b / n_b
    tolerated_b = tolerated_rate(rate_b, policy, ceiling)
    # significant over the watch, and still beyond the tolerated rate in its latest periods: an
    # incident that has passed no longer is (a regression too quiet to be significant in any ten
    # minutes of its own still is)
    p = excess_rate_pvalue(x_c, n_c, x_b, n_b, tolerated_b - rate_b)
    if p >= view.significance or x_now / n_now <= tolerated_b:
        return None
    return (
        p,
        f"but against v{view.window.baseline.version if view.window.baseline else '?'} before the deploy "
        f"({text.pct(rate_b)}) it is ({text.below(p, view.significance)}): the holdback is too thin to tell a "
        f"release fault from a downstream incident, so the watch is not healthy yet",
    )


def _full_margin(reference_rate: float, policy: HealthPolicy) -> float:
    return tolerated_rate(reference_rate, policy, None) - reference_rate


def _waiting(view: View) -> str | None:
    if view.late and view.canary_has_datapoints():
        return (
            f"{len(view.late)} period(s) are not yet published for both versions (CloudWatch delivers them 1-5 min "
            f"late, not always together); they are compared once both are in"
        )
    return None


def _against_ceiling(
    view: View, policy: HealthPolicy, ceiling: float, x_c: float, n_c: float
) -> tuple[bool, float, str]:
    """No reference counts at all (no stable series given, or its periods settled without traffic):
    the absolute ceiling is the only yardstick. Returns (significantly above, p, the sentence)."""
    alpha = policy.significance
    p = binomial_sf(x_c, n_c, ceiling)
    if p < alpha:
        return (
            True,
            p,
            (
                f"with no datapoints from {view.reference_label} to compare: above the {text.limit(ceiling)} ceiling "
                f"({text.below(p, alpha)})"
            ),
        )
    return (
        False,
        p,
        (
            f"; no datapoints from {view.reference_label}, so judged against the {text.limit(ceiling)} ceiling only: "
            f"not significantly above it ({text.p_value(p)})"
        ),
    )


def _unless_blip(check: Check, with_control: bool, failures: float, what: str) -> Check:
    """Without a concurrent control, fewer than MIN_UNPAIRED_FAILURES failures may be a downstream
    blip that would have hit any version: judged again next period instead of rolling back."""
    if check.status is not _FAIL or with_control or failures >= MIN_UNPAIRED_FAILURES:
        return check
    return check.model_copy(
        update={
            "status": _INCONCLUSIVE,
            "threshold": {**check.threshold, "min_failures_without_control": MIN_UNPAIRED_FAILURES},
            "summary": f"{check.summary}; but only {text.count(failures)} {what} and no concurrent control to rule "
            f"out a downstream blip: {MIN_UNPAIRED_FAILURES} are needed to roll back, judged again next period",
        }
    )


# --------------------------------------------------------------------------- throttles
def throttles_check(view: View, policy: HealthPolicy) -> Check:
    """Throttles are a function-level signal: concurrency is shared by every version, so comparing
    the two versions' throttle rates says nothing about which one caused them. The function's
    throttle rate is judged against its pre-deploy rate (or the ceiling without one), and it fails
    the release only with evidence that the new version causes it: it holds concurrency longer per
    invocation (average duration, else p95, by latency_ratio_limit). Otherwise rolling back would
    not help, and the check passes with a note."""
    counts = view.counts("throttles")
    (x_c, n_c), (x_r, n_r) = counts.canary, counts.reference
    # with a concurrent control the function's requests are both versions'; without one (an
    # unpaired watch) the new version takes all of them and the reference is another time
    throttled, total = (x_c + x_r, n_c + n_r) if view.paired else (x_c, n_c)
    before = view.baseline_counts("throttles")
    x_b, n_b = sum(x for x, _ in before), sum(n for _, n in before)
    threshold: dict[str, Any] = {
        "throttle_rate_ceiling": policy.throttle_rate_ceiling,
        "significance": policy.significance,
    }
    observed: dict[str, Any] = {"function_throttles": throttled, "function_requests": total}
    if total <= 0:
        return Check(
            name="throttles",
            status=_SKIPPED,
            observed=observed,
            threshold=threshold,
            summary="no requests in the comparable periods yet",
            kind=view.kind,
        )
    if throttled <= 0:
        return Check(
            name="throttles",
            status=_PASS,
            observed=observed,
            threshold=threshold,
            summary=f"no throttles in {text.count(total)} requests to the function",
            kind=view.kind,
        )
    rate = throttled / total
    if n_b > 0:
        rate_b = x_b / n_b
        tolerated = max(tolerated_rate(rate_b, policy, None), min(policy.throttle_rate_ceiling, 1.0))
        p = excess_rate_pvalue(throttled, total, x_b, n_b, tolerated - rate_b)
        yardstick = f"its pre-deploy rate {text.pct(rate_b)}"
        observed["pre_deploy_rate"] = round(rate_b, 6)
    else:
        tolerated = policy.throttle_rate_ceiling
        p = binomial_sf(throttled, total, tolerated)
        yardstick = f"the {text.limit(tolerated)} ceiling"
    observed.update({"function_rate": round(rate, 6), "p_value": text.p_round(p)})
    seen = f"the function throttled {text.count(throttled)} of {text.count(total)} requests ({text.pct(rate)})"
    if p >= policy.significance:
        return Check(
            name="throttles",
            status=_PASS,
            observed=observed,
            threshold=threshold,
            summary=f"{seen}: not significantly above {yardstick}",
            kind=view.kind,
        )
    blame = concurrency_blame(view, policy)
    observed["new_version_concurrency_ratio"] = round(blame[0], 3) if blame else None
    if blame and blame[0] >= policy.latency_ratio_limit:
        return Check(
            name="throttles",
            status=_FAIL,
            observed=observed,
            threshold={
                **threshold,
                "blame": f"new version holds concurrency >= {policy.latency_ratio_limit:g}x longer",
            },
            summary=f"{seen}, above {yardstick}, and {view.canary_label} holds concurrency {blame[0]:.1f}x as long "
            f"per invocation as {view.reference_label} ({blame[1]}): it is using up the function's concurrency",
            kind=view.kind,
        )
    return Check(
        name="throttles",
        status=_PASS,
        observed=observed,
        threshold=threshold,
        summary=f"{seen}, above {yardstick}, but throttling is function-wide and nothing shows {view.canary_label} "
        f"causing it (it holds no more concurrency per invocation): rolling back would not help",
        kind=view.kind,
    )


def concurrency_blame(view: View, policy: HealthPolicy) -> tuple[float, str] | None:
    """How much longer the new version holds an execution environment per invocation than the
    reference: invocation-weighted average duration where published, else the median p95 ratio."""
    reference_periods = view.reference.periods if view.reference else []
    for field, label in (("duration_avg_ms", "average duration"), ("p95_ms", "p95")):
        canary = [(p.invocations, getattr(p, field)) for x in view.pairs if (p := x.canary) and p.invocations]
        canary = [(n, v) for n, v in canary if v is not None]
        if view.paired:
            reference = [(p.invocations, getattr(p, field)) for x in view.pairs if (p := x.reference) and p.invocations]
        else:
            reference = [(p.invocations, getattr(p, field)) for p in reference_periods if p.invocations]
        reference = [(n, v) for n, v in reference if v is not None]
        if canary and reference:
            mean_c = sum(n * v for n, v in canary) / sum(n for n, _ in canary)
            mean_r = sum(n * v for n, v in reference) / sum(n for n, _ in reference)
            if mean_r > 0:
                return mean_c / mean_r, f"{label} {mean_c:.0f} vs {mean_r:.0f} ms"
    return None


# --------------------------------------------------------------------------- synthetic probes
def synthetic_check(
    probes: SyntheticSeries | None, control: SyntheticSeries | None, view: View, policy: HealthPolicy
) -> Check:
    """Rollgate's probes of the new version's qualifier, judged from their invoke responses. With a
    control (the same probes to the previous version), against its failure rate with the tolerated
    margin. Without one, against the reference's organic rate AND significantly above
    SYNTHETIC_UNPAIRED_FLOOR of the probes: the probes are live while the metrics lag, so a
    downstream incident failing 10-30% of them has not reached the reference's published periods
    yet, while a build that breaks the payloads the smoke test passed fails most of them. They can
    fail a release; a pass never counts as samples (the probes exercise only the smoke payloads'
    request types)."""
    threshold: dict[str, Any] = {
        "relative_margin": policy.error_rate_relative_margin,
        "absolute_margin": policy.error_rate_margin,
    }
    kind = EvidenceKind.SYNTHETIC
    if probes is None or probes.sent <= 0:
        return Check(
            name="synthetic", status=_SKIPPED, threshold=threshold, summary="no synthetic probes sent", kind=kind
        )
    alpha = policy.significance
    if control is not None and control.sent > 0:
        x_r, n_r = float(control.failed), float(control.sent)
        against = f"the same probes of {view.reference_label} ({control.failed} of {control.sent} failed)"
        p_ceiling = 0.0
    else:
        x_r, n_r = view.counts("errors").reference
        against = f"{view.reference_label}'s organic rate and {SYNTHETIC_UNPAIRED_FLOOR:.0%} of the probes"
        p_ceiling = binomial_sf(probes.failed, probes.sent, SYNTHETIC_UNPAIRED_FLOOR)
        threshold["unpaired_floor"] = SYNTHETIC_UNPAIRED_FLOOR
    rate_r = x_r / n_r if n_r > 0 else 0.0
    tolerated = tolerated_rate(rate_r, policy, policy.error_rate_ceiling)
    p = excess_rate_pvalue(probes.failed, probes.sent, x_r, n_r, tolerated - rate_r) if probes.failed else 1.0
    p = max(p, p_ceiling)
    observed = {
        "sent": probes.sent,
        "failed": probes.failed,
        "examples": probes.failures[:3],
        "tolerated_rate": round(tolerated, 6),
        "p_value": text.p_round(p),
    }
    seen = f"{probes.failed} of {probes.sent} synthetic probes of {view.canary_label} failed"
    if p < alpha:
        example = f" (e.g. {probes.failures[0]})" if probes.failures else ""
        return Check(
            name="synthetic",
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"{seen}{example}: beyond {against} ({text.below(p, alpha)})",
            kind=kind,
        )
    return Check(
        name="synthetic",
        status=_PASS,
        observed=observed,
        threshold=threshold,
        summary=f"{seen}: not significantly beyond {against}; probes only exercise the smoke payloads, so they "
        f"never count as samples",
        kind=kind,
    )
