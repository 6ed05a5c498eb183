"""The logs check: the new version's own log lines against the version alongside, over one window.

Logs arrive within seconds, metrics one to several minutes late: a crashing canary shows in its
logs at the first judgement. Two questions are asked of the lines (rollgate.domain.judge.log_lines):
- a new signature: one the new version shows in at least `log_signature_min_invocations`
  invocations and the version alongside never does, where chance cannot explain the absence: each
  invocation goes to the new version with the probability of its weight, so k of them all landing
  there has probability weight^k, which must be below the significance to the power 1.5 (it is
  asked at every judgement and log poll, and never waits). A release that catches an exception, logs it and answers 200
  is caught, though the Errors metric never moves;
- a higher failure rate: invocations with an error, timeout or crash line over the REPORT lines,
  tested stretch by stretch and pooled as the errors check tests counts (the larger of the relative
  and the absolute margin), at `significance`, from three failed invocations, and confirmed
  by the next look (rollgate.domain.deploy.canary).
The probes Rollgate sends to the new version's qualifier log in its streams too: they are taken out
of its pooled invocations and failures (the synthetic check judges them); in the stretches they
stay, where they can only dilute the new version's rate. Logs can fail a release; they
never make it healthy (the check's PASS holds nothing and counts for nothing), and a version
alongside is needed: an unpaired watch does not judge logs. A failed log read leaves the check
unjudged; it is not a reason to hold the release (metrics still decide).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import Check, CheckStatus, EvidenceKind, HealthWindow, LogSeries, LogSignature
from rollgate.domain.judge.log_lines import signature_key
from rollgate.domain.judge.stats import excess_rate_pvalue, stratified_ratio_pvalue
from rollgate.domain.shared.models import HealthPolicy

_PASS, _FAIL, _SKIPPED = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIPPED
#: The failure-rate test needs this many failed invocations of the new version, and a p-value below
#: this share of the significance; a breach waits for the next look to confirm it (ten seconds later
#: with log polls). The share was a tenth before the polls made that confirmation cheap; at 1.0 the
#: benchmark's train split kept its false rollbacks (5 of 260) and detected sooner.
_MIN_FAILURES = 3
_RATE_SIGNIFICANCE_SHARE = 1.0
#: A new signature's absence must be significant at significance to this power: it is asked of every
#: signature at every look and never waits for a confirmation, so one look's 1% would add up to a
#: false rollback in a few releases of a hundred. 1.5 (0.001 at the default 0.01: four invocations
#: at a 10% split) kept the train split's false rollbacks where 2 had them.
_LOOKS_POWER = 1.5
#: A stretch is compared once it ended this long before the read (CloudWatch Logs ingests within
#: seconds, each version's lines on their own delay).
_SETTLE_SECONDS = 10
#: Findings quoted in the summary, at most.
_QUOTED = 3


def logs_check(window: HealthWindow, policy: HealthPolicy, significance: float) -> Check:
    def check(
        status: CheckStatus,
        summary: str,
        observed: dict[str, Any] | None = None,
        threshold: dict[str, Any] | None = None,
    ) -> Check:
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
    new, reference = _settled(new, window), _settled(reference, window)
    label = f"v{new.version}"
    other = f"v{reference.version}"
    fresh = _new_signatures(new, reference, window, policy, significance)
    x, n, x_r, n_r = new.failed_invocations, new.invocations, reference.failed_invocations, reference.invocations
    probes = window.synthetic
    if probes is not None:
        # the probes of the new version's qualifier log in its streams too: they are judged on their
        # own (the synthetic check) and must not dilute the organic failure rate
        n, x = max(0, n - probes.sent), max(0, x - probes.failed)
    observed: dict[str, Any] = {
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
        f"absence significant at {significance**_LOOKS_POWER:g}",
        "failure_rate": f"{label} fails more than {text.points(margin, sign=False)} more often than {other} "
        f"(one-sided, {significance * _RATE_SIGNIFICANCE_SHARE:g}), from {_MIN_FAILURES} failed invocations",
    }
    p_value = None
    if n > 0 and n_r > 0 and x >= _MIN_FAILURES:
        # stretch by stretch (an incident or a burst that moves both versions in one minute cancels out)
        # and pooled (the absolute margin): both must say so, as in the errors check
        stratified = stratified_ratio_pvalue(_paired(new, reference), 1 + policy.error_rate_relative_margin)
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


def _settled(series: LogSeries, window: HealthWindow) -> LogSeries:
    """The series without its stretches younger than `_SETTLE_SECONDS` at the read: CloudWatch Logs
    ingests each version's lines on its own few-second delay, so the newest stretch may hold one
    version's lines and not yet the other's (an incident's first seconds counted on one side)."""
    if not series.buckets or window.observed_at is None:
        return series
    cutoff = window.observed_at - timedelta(seconds=series.bucket_seconds + _SETTLE_SECONDS)
    kept = [b for b in series.buckets if b.start <= cutoff]
    if len(kept) == len(series.buckets):
        return series
    counts: dict[str, int] = {}
    for bucket in kept:
        for key, n in bucket.signatures.items():
            counts[key] = counts.get(key, 0) + n
    signatures = [
        s.model_copy(update={"invocations": counts[key]})
        for s in series.signatures
        if counts.get(key := signature_key(s.kind, s.signature))
    ]
    return series.model_copy(
        update={
            "buckets": kept,
            "invocations": sum(b.invocations for b in kept),
            "failed_invocations": sum(b.failed for b in kept),
            "signatures": signatures,
        }
    )


def _paired(new: LogSeries, reference: LogSeries) -> list[tuple[float, float, float, float]]:
    """(failed, invocations) of each version per stretch both were read over. The probes' REPORT lines
    stay in the new version's stretches (only their total is known, not when they ran): they dilute
    its rate there, which can only keep the logs from failing a release, never pass one."""
    others = {b.start: b for b in reference.buckets}
    return [
        (float(b.failed), float(b.invocations), float(o.failed), float(o.invocations))
        for b in new.buckets
        if (o := others.get(b.start)) is not None
    ]


def _new_signatures(
    new: LogSeries, reference: LogSeries, window: HealthWindow, policy: HealthPolicy, significance: float
) -> list[LogSignature]:
    """Signatures the new version shows and the reference never does, in enough invocations, whose
    absence there is significant: each invocation goes to the new version with the probability of its
    weight, so k of them all landing there by chance has probability weight^k. The weight, not the
    invocations counted: the stretch an error fell in holds at least that invocation, so a split
    counted there leans towards the new version. In a watch, the weight after its promotion (the
    larger: a window reaching back into the canary only weakens the evidence)."""
    seen = {(s.kind, s.signature) for s in reference.signatures}
    share = min(max(window.canary_weight, 1), 99) / 100
    return [
        s
        for s in new.signatures
        if (s.kind, s.signature) not in seen
        and s.invocations >= policy.log_signature_min_invocations
        and share**s.invocations < significance**_LOOKS_POWER
        and reference.invocations > 0
    ]


def _shown(signature: LogSignature) -> dict[str, Any]:
    return {"kind": signature.kind, "signature": signature.signature, "invocations": signature.invocations}
