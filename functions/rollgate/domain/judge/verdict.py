"""The health judge: is the new version worse than the one it replaces?

The canary gate shows it the new and the stable version side by side behind one weighted alias
(the ExecutedVersion dimension), over the same periods and under the same load; the watch gate
shows it the new version against the holdback (paired the same way) or, without one, against the
old version's pre-deploy series. It answers HEALTHY, UNHEALTHY or INCONCLUSIVE with one Check per
question asked, each carrying what was compared, the numbers seen, the threshold or test statistic,
the kind of evidence it used, and one sentence for the person on call.

Rules that hold throughout:
- evidence kinds are never pooled: organic paired (against the concurrent control), unpaired
  (against the pre-deploy baseline), synthetic (Rollgate's probes: they can fail a release, never
  make it healthy or count as samples); every verdict says which kind decided it;
- no data is never healthy: a canary without datapoints, or with fewer organic invocations than a
  verdict needs, is INCONCLUSIVE; only periods both versions have published are compared
  (judge_view);
- reads that failed (a CloudWatch outage, sustained throttling) are "don't know": INCONCLUSIVE,
  decided by OPERATIONAL, never UNHEALTHY;
- a failing check wins even while samples are still short: clear evidence does not wait;
- every comparison is "worse than the reference by a practical margin, with statistical
  significance" (judge_rates, judge_latency), so noise, overdispersed counts and tiny real
  differences at huge traffic do not roll back a release.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import Check, CheckStatus, EvidenceKind, HealthWindow, Outcome, Verdict
from rollgate.domain.judge.latency import latency_check, latency_trend_check
from rollgate.domain.judge.logs import logs_check
from rollgate.domain.judge.policy import holds_healthy, policy_checks
from rollgate.domain.judge.rates import rate_check, synthetic_check, throttles_check
from rollgate.domain.judge.signals import alarms_check, dlq_check, streams_check
from rollgate.domain.judge.stats import binomial_sf, invocations_to_rule_out, shortfall_pvalue
from rollgate.domain.judge.view import View
from rollgate.domain.shared.models import HealthPolicy

#: Reference invocations per canary invocation assumed for an unpaired watch, where the reference is
#: the long pre-deploy series (its noise is negligible next to the new version's).
_LONG_REFERENCE = 1000.0
_PERCENTILES = (95, 99)
#: Checks that must have answered before a canary verdict is HEALTHY: enough organic samples, and
#: latency judged past the warm-up (a slow build is not promoted because its periods were all
#: warm-up). The watch needs the samples, and an errors check that is not in doubt (a thin holdback
#: cannot clear what the pre-deploy series says against the new version); the canary has judged
#: latency already.
_HOLD_HEALTHY = {"canary": ("samples", "latency_p95", "latency_p99"), "watch": ("samples", "errors")}

_PASS, _FAIL = CheckStatus.PASS, CheckStatus.FAIL
_INCONCLUSIVE, _SKIPPED = CheckStatus.INCONCLUSIVE, CheckStatus.SKIPPED


# --------------------------------------------------------------------------- public API
def judge(window: HealthWindow, policy: HealthPolicy) -> Verdict:
    """One verdict on one window. UNHEALTHY if any check fails; else INCONCLUSIVE while reads failed
    or the canary has too few organic invocations (or none) to rule out a gross regression; else
    HEALTHY. Synthetic probes are their own check: they can fail a release, never pass one."""
    whole = View.of(window, policy)
    # only the errors test, period by period, uses a paired watch's periods from before the
    # promotion; everything pooled is judged on the periods under the current weight
    view = whole.since_shift()
    samples = _Samples.of(view, policy)
    checks = [
        _samples_check(view, policy, samples),
        rate_check(
            name="errors",
            view=whole,
            policy=policy,
            ceiling=policy.error_rate_ceiling,
            ruled_out=samples.ruled_out,
        ),
        _batch_failures_check(view, policy, samples),
        throttles_check(view, policy),
        *(latency_check(view, policy, q) for q in _PERCENTILES),
        latency_trend_check(view, policy),
        synthetic_check(window.synthetic, window.synthetic_control, view, policy),
        dlq_check(window, policy, view),
        streams_check(window, policy),
        alarms_check(window, view, policy),
        logs_check(window, policy, view.significance),
        *policy_checks(view, policy),
    ]
    failed = [c for c in checks if c.status is _FAIL]
    if window.read_failures:
        # the reads behind the organic checks are not to be trusted: only evidence that does not
        # come from them (the probes' own invoke responses, the versions' log lines) may still fail
        # the release
        failed = [c for c in failed if c.kind in (EvidenceKind.SYNTHETIC, EvidenceKind.LOGS)]
    decided_by: EvidenceKind | None
    if failed:
        outcome, decided_by = Outcome.UNHEALTHY, _deciding_kind(failed)
        summary = f"UNHEALTHY ({', '.join(c.name for c in failed)}): " + " | ".join(c.summary for c in failed)
    elif window.read_failures:
        outcome, decided_by = Outcome.INCONCLUSIVE, EvidenceKind.OPERATIONAL
        summary = (
            f"INCONCLUSIVE: reads failed after retries ({'; '.join(window.read_failures)}); an operational "
            f"failure says nothing about the release, so it is not judged"
        )
    elif holding := [c for c in checks if _holds_healthy(c, window)]:
        outcome, decided_by = Outcome.INCONCLUSIVE, holding[0].kind
        summary = f"INCONCLUSIVE: {holding[0].summary}"
    else:
        outcome, decided_by = Outcome.HEALTHY, checks[0].kind
        passed = [c.name for c in checks if c.status is _PASS]
        unjudged = [c.name for c in checks if c.status in (_SKIPPED, _INCONCLUSIVE)]
        summary = (
            f"HEALTHY: {view.canary_label} served {text.count(view.canary_n)} invocations; {', '.join(passed)} pass"
        )
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


def judge_log_poll(window: HealthWindow, policy: HealthPolicy) -> Verdict:
    """Between two judgements, the logs alone: a finding fails the release seconds after the lines
    are ingested, instead of a metric period later; anything else is INCONCLUSIVE and changes
    nothing (logs never make a release healthy; the next full judgement decides)."""
    check = logs_check(window, policy, policy.significance)
    if check.status is _FAIL:
        return Verdict(
            outcome=Outcome.UNHEALTHY,
            summary=f"UNHEALTHY (logs, between judgements): {check.summary}",
            checks=[check],
            decided_by=EvidenceKind.LOGS,
        )
    return Verdict(
        outcome=Outcome.INCONCLUSIVE,
        summary=f"log poll: {check.summary}; the metrics are judged at the next full judgement",
        checks=[check],
        decided_by=EvidenceKind.LOGS,
    )


def _holds_healthy(check: Check, window: HealthWindow) -> bool:
    if holds_healthy(check):
        return True
    return check.name in _HOLD_HEALTHY[window.phase] and check.status not in (_PASS, _SKIPPED)


def _deciding_kind(failed: list[Check]) -> EvidenceKind | None:
    """Organic evidence decides when it fails; synthetic only when nothing organic did."""
    kinds = [c.kind for c in failed]
    for kind in (EvidenceKind.ORGANIC_PAIRED, EvidenceKind.UNPAIRED, EvidenceKind.LOGS, EvidenceKind.SYNTHETIC):
        if kind in kinds:
            return kind
    return kinds[0]


def samples_needed(weight_percent: int, policy: HealthPolicy, stable_error_rate: float) -> int:
    """Canary invocations a HEALTHY verdict needs if the canary fails as often as the stable version:
    enough to rule out, by the one-sided test at `significance`, that it fails `error_rate_ceiling`
    (plus the absolute margin) more often than the reference. Never fewer than `min_invocations`.

    The weight matters because the stable version's count is noisy too: at 10% the stable version
    has 9 invocations per canary invocation, at 50% only one. At 100% (an unpaired watch) the
    reference is the long pre-deploy series."""
    return max(
        policy.min_invocations,
        _forecast(
            _reference_ratio(weight_percent),
            _gross_bound(policy),
            policy.significance,
            round(min(max(stable_error_rate, 0.0), 1.0), 4),
        ),
    )


def _gross_bound(policy: HealthPolicy) -> float:
    return policy.error_rate_margin + policy.error_rate_ceiling


def _reference_ratio(weight_percent: int) -> float:
    weight = min(max(weight_percent, 1), 100)
    return (100 - weight) / weight if weight < 100 else _LONG_REFERENCE


@lru_cache(maxsize=4096)
def _forecast(ratio: float, bound: float, significance: float, reference_rate: float) -> int:
    needed = invocations_to_rule_out(reference_rate, 0.0, bound, significance, ratio)
    return needed if needed is not None else 10_000_000


@dataclass(frozen=True)
class _Samples:
    """Does the canary have enough organic invocations, in comparable periods, for a HEALTHY
    verdict? Enough means they rule out (one-sided test at `significance`) that it fails `ceiling +
    margin` more often than the reference: a canary clearly better than a burning stable version
    qualifies early, one that fails more than expected needs more. `needed` forecasts the count,
    for the person on call and for driving synthetic traffic. Synthetic probes never count."""

    seen: float
    needed: int | None
    ruled_out: bool
    bound: float
    p_value: float | None

    @classmethod
    def of(cls, view: View, policy: HealthPolicy) -> _Samples:
        bound = _gross_bound(policy)
        counts = view.counts("errors")
        errors, seen = counts.canary
        x_r, n_r = counts.reference
        before = view.baseline_counts("errors") if view.window.phase == "watch" and view.paired else []
        if before:
            # a watch's holdback is small: for ruling a regression out (never for failing), the old
            # version is taken to fail as the pre-deploy series and the holdback do together, with
            # their invocations behind that rate; unless the holdback fails significantly more than
            # before the deploy (a downstream incident now, not to be blamed on the release): then
            # at its rate. The larger of the two rates would let the holdback's noise alone raise
            # the bar (a doubled low rate then passes as a tolerable one).
            x_b, n_b = sum(x for x, _ in before), sum(n for _, n in before)
            rate = (x_b + x_r) / (n_b + n_r)
            if n_r > 0 and binomial_sf(x_r, n_r, x_b / n_b) < policy.significance:
                rate = x_r / n_r
            n_r += n_b
            x_r = rate * n_r
        # the forecast uses the reference's actual invocations per canary invocation once there
        # are some (a watch's holdback, an uneven split), else the weight's
        reference_rate = x_r / n_r if n_r > 0 else 0.0
        ratio = min(max(round(n_r / seen, 1), 0.1), _LONG_REFERENCE) if seen > 0 and n_r > 0 else None
        forecast = (
            max(policy.min_invocations, _forecast(ratio, bound, policy.significance, round(reference_rate, 4)))
            if ratio is not None
            else samples_needed(view.weight, policy, reference_rate)
        )
        if seen <= 0:
            return cls(seen, forecast, False, bound, None)
        p_value = shortfall_pvalue(errors, seen, x_r, n_r, bound)
        if p_value < policy.significance and seen >= policy.min_invocations:
            doubling = max(reference_rate, policy.error_rate_margin)
            enough = invocations_to_rule_out(
                reference_rate, 0.0, doubling, policy.significance, ratio or _reference_ratio(view.weight)
            )
            if enough is None or seen < enough:
                if enough is not None and view.can_reach(enough):
                    # a doubling can be ruled out before the canary must decide: wait for it
                    return cls(seen, enough, False, doubling, p_value)
                return cls(seen, int(min(forecast, seen)), True, bound, p_value)
            # with as many invocations as rule a doubling out for a canary that fails like the
            # reference, a HEALTHY verdict must rule it out too (at high traffic a doubling of a
            # low rate is a regression the gross bound alone would let through)
            p_double = shortfall_pvalue(errors, seen, x_r, n_r, doubling)
            if p_double < policy.significance:
                return cls(seen, int(min(forecast, seen)), True, bound, p_value)
            more = invocations_to_rule_out(
                reference_rate,
                errors / seen - reference_rate,
                doubling,
                policy.significance,
                ratio or _reference_ratio(view.weight),
            )
            return cls(seen, max(more, math.floor(seen) + 1) if more else None, False, doubling, p_double)
        if seen < forecast:
            return cls(seen, forecast, False, bound, p_value)
        # as many as a stable-like canary needs, and still not ruled out: it fails more than stable
        more = invocations_to_rule_out(
            reference_rate,
            errors / seen - reference_rate,
            bound,
            policy.significance,
            ratio or _reference_ratio(view.weight),
        )
        return cls(seen, max(more, math.floor(seen) + 1) if more else None, False, bound, p_value)


# --------------------------------------------------------------------------- samples
def _samples_check(view: View, policy: HealthPolicy, samples: _Samples) -> Check:
    seen = samples.seen
    observed: dict[str, Any] = {"canary_invocations": seen, "elapsed_seconds": view.window.elapsed_seconds}
    if samples.p_value is not None:
        observed["p_value_rule_out"] = text.p_round(samples.p_value)
    if view.late:
        observed["periods_not_yet_published"] = len(view.late)
    if view.mixed:
        observed["periods_mixing_a_shift"] = len(view.mixed)
    threshold = {
        "needed": samples.needed,
        "rule": f"rule out failing {text.points(samples.bound, sign=False)} more often than "
        f"{view.reference_label} (one-sided, significance {policy.significance:g})",
        "min_invocations": policy.min_invocations,
    }
    excess = f"{text.points(samples.bound, sign=False)} more often than {view.reference_label}"

    def check(status: CheckStatus, summary: str) -> Check:
        return Check(
            name="samples", status=status, observed=observed, threshold=threshold, summary=summary, kind=view.kind
        )

    if not view.canary_has_datapoints():
        return check(
            _INCONCLUSIVE,
            f"no datapoints for {view.canary_label} yet (no traffic reached it, or CloudWatch has not published "
            f"them: they arrive 1-5 min late); no data is never healthy",
        )
    if seen <= 0 and view.late:
        return check(
            _INCONCLUSIVE,
            f"{view.canary_label} has datapoints, but {len(view.late)} period(s) are not yet published for "
            f"{view.reference_label} too; they are compared once both are in (late is not missing)",
        )
    if samples.ruled_out:
        return check(
            _PASS,
            f"{text.count(seen)} invocations of {view.canary_label} rule out that it fails {excess} "
            f"({text.below(samples.p_value or 0.0, policy.significance)})",
        )
    if samples.needed is None:
        summary = (
            f"{text.count(seen)} invocations of {view.canary_label} do not rule out that it fails {excess}, and "
            f"at its current error rate more will not; the errors check decides"
        )
    else:
        summary = (
            f"{view.canary_label} has {text.count(seen)} of the ~{samples.needed} invocations needed to rule out "
            f"that it fails {excess}"
        )
        rate = view.alias_rate_per_second()
        if rate and view.weight > 0:
            canary_rate = rate * view.weight / 100
            minutes = (samples.needed - seen) / canary_rate / 60
            observed["alias_rate_per_second"] = round(rate, 4)
            observed["minutes_to_go"] = round(minutes, 1)
            summary += f"; at {view.weight}% of {text.rate(rate)} that is {text.minutes(minutes)} more"
    return check(_INCONCLUSIVE, summary)


# --------------------------------------------------------------------------- partial batch failures
def _batch_failures_check(view: View, policy: HealthPolicy, samples: _Samples) -> Check:
    """SQS consumers that report partial batch failures return success: their failed records never
    show as Errors. When the window carries them, they are judged like errors, per version."""
    counts = view.counts("batch_item_failures", "batch_items")
    if counts.canary[1] <= 0 and not any(p.batch_items is not None for p in view.window.canary.periods):
        return Check(
            name="batch_failures",
            status=_SKIPPED,
            summary="no partial batch responses reported",
            kind=view.kind,
        )
    return rate_check(
        name="batch_failures",
        view=view,
        count="batch_item_failures",
        trials="batch_items",
        policy=policy,
        ceiling=policy.error_rate_ceiling,
        ruled_out=None,
        what="failed batch items",
    )
