"""The logs check: the new version's own log lines against the version alongside, over one window.

Logs arrive within seconds, metrics one to several minutes late: a crashing canary shows in its
logs at the first judgement. Two questions are asked of the lines (rollgate.domain.logs):
- a new signature: one the new version shows in at least `log_signature_min_invocations`
  invocations and the version alongside never does, where that absence is significant at the
  traffic split (with a share pi of the invocations on the new version, k invocations all landing
  there by chance has probability pi^k): a release that catches an exception, logs it and answers
  200 is caught, though the Errors metric never moves;
- a higher failure rate: invocations with an error, timeout or crash line over the REPORT lines,
  tested as the errors check tests counts (one-sided score test of the excess over the larger of
  the relative and the absolute margin, at `significance`), from three failed invocations.
Logs can fail a release; they never make it healthy (the check's PASS holds nothing and counts for
nothing), and a version alongside is needed: an unpaired watch does not judge logs. A failed log
read leaves the check unjudged; it is not a reason to hold the release (metrics still decide).
"""

from __future__ import annotations

from rollgate.domain import judge_text as text
from rollgate.domain.health import Check, CheckStatus, EvidenceKind, HealthWindow, LogSeries, LogSignature
from rollgate.domain.models import HealthPolicy
from rollgate.domain.stats import excess_rate_pvalue

_PASS, _FAIL, _SKIPPED = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIPPED
#: The failure-rate test needs this many failed invocations of the new version.
_MIN_FAILURES = 3
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
    share = _share(new, reference, window)
    fresh = _new_signatures(new, reference, share, policy, significance)
    x, n, x_r, n_r = new.failed_invocations, new.invocations, reference.failed_invocations, reference.invocations
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
        f"(one-sided, {significance:g}), from {_MIN_FAILURES} failed invocations",
    }
    p_value = excess_rate_pvalue(x, n, x_r, n_r, margin) if n > 0 and n_r > 0 and x >= _MIN_FAILURES else None
    if p_value is not None:
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
    if p_value is not None and p_value < significance:
        return check(
            _FAIL,
            f"logs: {x} of {text.count(n)} invocations of {label} failed vs {x_r} of {text.count(n_r)} of {other} "
            f"({text.below(p_value, significance)})",
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


def _share(new: LogSeries, reference: LogSeries, window: HealthWindow) -> float:
    """The new version's share of the invocations, from the REPORT lines (else the weight)."""
    total = new.invocations + reference.invocations
    if total > 0 and new.invocations > 0:
        return new.invocations / total
    return min(max(window.canary_weight, 1), 99) / 100


def _new_signatures(
    new: LogSeries, reference: LogSeries, share: float, policy: HealthPolicy, significance: float
) -> list[LogSignature]:
    seen = {(s.kind, s.signature) for s in reference.signatures}
    return [
        s
        for s in new.signatures
        if (s.kind, s.signature) not in seen
        and s.invocations >= policy.log_signature_min_invocations
        and share**s.invocations < significance
    ]


def _shown(signature: LogSignature) -> dict:
    return {"kind": signature.kind, "signature": signature.signature, "invocations": signature.invocations}
