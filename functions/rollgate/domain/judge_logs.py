"""The logs check: the new version's own log lines against the version alongside, over one window.

Logs arrive within seconds, metrics one to several minutes late: a crashing canary shows in its
logs at the first judgement. Two questions are asked of the lines (rollgate.domain.logs):
- a new signature: one the new version shows in at least `log_signature_min_invocations`
  invocations and the version alongside never does, where that absence is significant at the
  traffic split (with a share pi of the invocations on the new version, k invocations all landing
  there by chance has probability pi^k): a release that catches an exception, logs it and answers
  200 is caught, though the Errors metric never moves;
- a higher failure rate: invocations with an error, timeout or crash line over the REPORT lines,
  tested stretch by stretch and pooled as the errors check tests counts (the larger of the relative
  and the absolute margin), at a tenth of `significance`, from three failed invocations.
The probes Rollgate sends to the new version's qualifier log in its streams too: they are taken out
of its invocations and failures (the synthetic check judges them). Logs can fail a release; they
never make it healthy (the check's PASS holds nothing and counts for nothing), and a version
alongside is needed: an unpaired watch does not judge logs. A failed log read leaves the check
unjudged; it is not a reason to hold the release (metrics still decide).
"""

from __future__ import annotations

from rollgate.domain import judge_text as text
from rollgate.domain.health import Check, CheckStatus, EvidenceKind, HealthWindow, LogSeries, LogSignature
from rollgate.domain.logs import signature_key
from rollgate.domain.models import HealthPolicy
from rollgate.domain.stats import excess_rate_pvalue, stratified_ratio_pvalue

_PASS, _FAIL, _SKIPPED = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIPPED
#: The failure-rate test needs this many failed invocations of the new version, and a p-value below
#: this share of the significance: it is asked at every judgement of a growing window, and without the
#: dispersion estimate the errors check has (a caller's retries, an async event redelivered, all count),
#: so it is kept for the regressions that are plain within seconds; the errors check has the rest.
_MIN_FAILURES = 3
_RATE_SIGNIFICANCE_SHARE = 0.1
#: Findings quoted in the summary, at most.
_QUOTED = 3


def logs_check(window: HealthWindow, policy: HealthPolicy, significance: float) -> Check:
    def check(status: CheckStatus, summary: str, observed: dict | None = None, threshold: dict | None = None) -> Check:
        return Check(
            name="logs",
            status=status,
            observed=observed or {},
            threshold=threshold or {},
            summary=summary,
            kind=EvidenceKind.LOGS,
        )

    if not policy.log_evidence:
        return check(_SKIPPED, "log evidence is off (health.log_evidence)")
    if window.logs_read_failure:
        return check(_SKIPPED, f"logs not judged: the read failed ({window.logs_read_failure})")
    new, reference = window.logs, window.logs_reference
    if new is None:
        return check(_SKIPPED, "no log lines read for the new version")
    if reference is None:
        return check(_SKIPPED, "no version alongside to compare the new version's log lines with (unpaired)")
    label = f"v{new.version}"
    other = f"v{reference.version}"
    fresh = _new_signatures(new, reference, window, policy, significance)
    x, n, x_r, n_r = new.failed_invocations, new.invocations, reference.failed_invocations, reference.invocations
    probes = window.synthetic
    if probes is not None:
        # the probes of the new version's qualifier log in its streams too: they are judged on their
        # own (the synthetic check) and must not dilute the organic failure rate
        n, x = max(0, n - probes.sent), max(0, x - probes.failed)
    observed: dict = {
        "new": {"invocations": n, "failed": x},
        "reference": {"invocations": n_r, "failed": x_r},
        "new_signatures": [_shown(s) for s in fresh],
        "top_signatures": [_shown(s) for s in new.signatures[:_QUOTED]],
    }
    notes = [s.note for s in (new, reference) if s.note]
    if notes:
        observed["sampled"] = notes
    reference_rate = x_r / n_r if n_r else 0.0
    margin = max(policy.error_rate_margin, policy.error_rate_relative_margin * reference_rate)
    threshold = {
        "new_signature": f"in >= {policy.log_signature_min_invocations} invocations of {label}, none of {other}, "
        f"absence significant at {significance:g}",
        "failure_rate": f"{label} fails more than {text.points(margin, sign=False)} more often than {other} "
        f"(one-sided, {significance * _RATE_SIGNIFICANCE_SHARE:g}), from {_MIN_FAILURES} failed invocations",
    }
    p_value = None
    if n > 0 and n_r > 0 and x >= _MIN_FAILURES:
        # stretch by stretch (an incident or a burst that moves both versions in one minute cancels out)
        # and pooled (the absolute margin): both must say so, as in the errors check
        stratified = stratified_ratio_pvalue(_paired(new, reference, window), 1 + policy.error_rate_relative_margin)
        p_value = max(stratified, excess_rate_pvalue(x, n, x_r, n_r, margin))
        observed["p_value"] = text.p_round(p_value)
    if fresh:
        quoted = "; ".join(f"{s.signature!r} in {s.invocations} invocation(s), e.g. {s.example[:120]!r}" for s in fresh)
        return check(
            _FAIL,
            f"new error signature(s) in the logs of {label}, never in {other}'s {text.count(n_r)} invocations: "
            f"{quoted}",
            observed,
            threshold,
        )
    if p_value is not None and p_value < significance * _RATE_SIGNIFICANCE_SHARE:
        return check(
            _FAIL,
            f"logs: {x} of {text.count(n)} invocations of {label} failed vs {x_r} of {text.count(n_r)} of {other} "
            f"({text.below(p_value, significance * _RATE_SIGNIFICANCE_SHARE)})",
            observed,
            threshold,
        )
    if n == 0 and x == 0:
        return check(_SKIPPED, f"no log lines of {label} in this window yet (logs never make a release healthy)")
    return check(
        _PASS,
        f"logs: {x} of {text.count(n)} invocations of {label} failed vs {x_r} of {text.count(n_r)} of {other}; no new "
        f"error signature",
        observed,
        threshold,
    )


def _paired(new: LogSeries, reference: LogSeries, window: HealthWindow) -> list[tuple[float, float, float, float]]:
    """(failed, invocations) of each version per stretch both were read over, the probes' share taken out
    of the new version's (spread over its stretches by their invocations: only their total is known)."""
    others = {b.start: b for b in reference.buckets}
    sent = window.synthetic.sent if window.synthetic is not None else 0
    share = sent / new.invocations if new.invocations else 0.0
    return [
        (float(b.failed), b.invocations * (1 - min(share, 1.0)), float(o.failed), float(o.invocations))
        for b in new.buckets
        if (o := others.get(b.start)) is not None
    ]


def _new_signatures(
    new: LogSeries, reference: LogSeries, window: HealthWindow, policy: HealthPolicy, significance: float
) -> list[LogSignature]:
    """Signatures the new version shows and the reference never does, in enough invocations, whose
    absence there is significant: with a share pi of a stretch's invocations on the new version, k of
    its invocations there showing it all by chance has probability pi^k, multiplied over stretches (a
    stretch where the reference had no invocations says nothing)."""
    seen = {(s.kind, s.signature) for s in reference.signatures}
    others = {b.start: b for b in reference.buckets}
    fallback = min(max(window.canary_weight, 1), 99) / 100
    found = []
    for signature in new.signatures:
        if (signature.kind, signature.signature) in seen:
            continue
        if signature.invocations < policy.log_signature_min_invocations:
            continue
        key = signature_key(signature.kind, signature.signature)
        chance = 1.0
        for stretch in new.buckets:
            k = stretch.signatures.get(key, 0)
            if not k:
                continue
            other = others.get(stretch.start)
            total = stretch.invocations + (other.invocations if other is not None else 0)
            share = stretch.invocations / total if stretch.invocations and total else fallback
            chance *= (share if other is not None and other.invocations else 1.0) ** k
        if not new.buckets:  # a source that does not split by stretch: the whole window's split
            total = new.invocations + reference.invocations
            share = new.invocations / total if new.invocations and total else fallback
            chance = share**signature.invocations
        if chance < significance:
            found.append(signature)
    return found


def _shown(signature: LogSignature) -> dict:
    return {"kind": signature.kind, "signature": signature.signature, "invocations": signature.invocations}
