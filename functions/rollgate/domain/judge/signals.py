"""Function-level signals: dead-letter queues, stream lag and guarding alarms.

None of them is split by version in CloudWatch, so each is judged for what it can prove:
- DLQs by growth over the depth at preflight (an old backlog does not block a fix), per queue and
  its source. An async DLQ's growth up to the failed invocations of both versions is evidence the
  errors check already judged (every dead-lettered async event failed its attempts, counted as
  Errors); a source queue's redrive DLQ gets no such tolerance, since partial batch failures
  produce no Errors at all;
- iterator age by its trend: beyond the allowed growth AND still rising (not being drained), where
  rising is a climb in steps too: one flat minute does not end it;
- alarms by evidence, not timing: an alarm counts against the new version only when its metric
  split by version shows the new version breaching, or the new version's share of the breach is
  significantly above its share of the traffic.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import AlarmObservation, Check, CheckStatus, EvidenceKind, HealthWindow
from rollgate.domain.judge.stats import binomial_sf, poisson_sf, theil_sen_slope
from rollgate.domain.judge.view import View
from rollgate.domain.shared.models import HealthPolicy

_PASS, _FAIL = CheckStatus.PASS, CheckStatus.FAIL
_INCONCLUSIVE, _SKIPPED = CheckStatus.INCONCLUSIVE, CheckStatus.SKIPPED


def dlq_check(window: HealthWindow, policy: HealthPolicy, view: View) -> Check:
    # every dead-lettered async event failed its attempts, counted as Errors by whichever version
    # ran it: all published Errors of the window (both versions) bound what the DLQ may take
    during = [*window.canary.periods, *(window.stable.periods if window.stable else [])]
    published = any(p.errors is not None for p in during)
    failed = sum(p.errors or 0.0 for p in during) + _old_version_backlog(window)
    threshold = {
        "max_dlq_growth": policy.max_dlq_growth,
        "async": "growth beyond max_dlq_growth and beyond the failed invocations of both versions (each dead "
        "letter of an async invocation is one of them, already judged by the errors check)",
        "source_redrive": "no such tolerance: partial batch failures produce no Errors",
    }
    kind = EvidenceKind.UNPAIRED
    if not window.queues:
        return Check(
            name="dlq", status=_SKIPPED, threshold=threshold, summary="no dead-letter queue to watch", kind=kind
        )
    rows: list[dict[str, Any]] = []
    grown: list[str] = []
    stray: list[str] = []
    waiting: list[str] = []
    unread: list[str] = []
    for queue in window.queues:
        label = f"{queue.queue} (redrive of {queue.source})" if queue.source else queue.queue
        latest = next((s.value for s in reversed(queue.samples) if s.value is not None), None)
        row = {
            "queue": queue.queue,
            "source": queue.source,
            "kind": queue.kind,
            "baseline": queue.baseline,
            "now": latest,
        }
        rows.append(row)
        if latest is None:
            unread.append(label)
            continue
        growth = latest - queue.baseline
        row["growth"] = growth
        if growth <= policy.max_dlq_growth:
            continue
        if queue.expected_growth is not None:
            # the old version dead-letters at its own rate: growth within what that rate explains
            # (Poisson tail at the significance) is not held against the release
            p = poisson_sf(growth, max(queue.expected_growth, 0.0))
            row.update({"expected_growth": queue.expected_growth, "p_value": float(f"{p:.3g}")})
            if p >= policy.significance:
                stray.append(
                    f"{label} grew +{text.count(growth)}, as its inflow before the deploy explains "
                    f"(~{text.count(queue.expected_growth)} expected)"
                )
                continue
        if queue.kind == "async" and not published:
            # the queue is read live, the Errors that would explain it arrive 1-5 min later
            waiting.append(f"{label} grew +{text.count(growth)} before any period of the errors was published")
        elif queue.kind == "async" and growth <= policy.max_dlq_growth + failed:
            stray.append(
                f"{label} grew +{text.count(growth)}, no more than the ~{failed:,.0f} failed invocations of both "
                f"versions (the window's, judged by the errors check, and the old version's earlier ones still "
                f"being retried)"
            )
        else:
            grown.append(
                f"{label} grew {text.count(queue.baseline)} -> {text.count(latest)} messages (+{text.count(growth)})"
            )
    held = [r for r in rows if r["now"] is not None]
    backlog = sum(r["baseline"] for r in held)
    summary = (
        f"{len(held)} dead-letter queue{'s' if len(held) != 1 else ''} within +{policy.max_dlq_growth} of preflight"
    )
    if stray:
        summary += f" or explained: {'; '.join(stray)} (stray messages, not a regression)"
    if backlog:
        summary += f" (an old backlog of {text.count(backlog)} messages is not held against the release)"
    if unread:
        summary += f"; no reading for {', '.join(unread)}"
    if waiting and not grown:
        return Check(
            name="dlq",
            status=_INCONCLUSIVE,
            observed={"queues": rows},
            threshold=threshold,
            summary=f"{'; '.join(waiting)}: judged once the errors are in",
            kind=EvidenceKind.UNPAIRED,
        )
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


#: Lambda retries a failed async event for minutes before dead-lettering it: events the old version
#: failed before the window (before preflight, or in the canary before a watch) still land in it.
_ASYNC_RETRY_HORIZON_S = 600.0


def _old_version_backlog(window: HealthWindow) -> float:
    """Dead letters the old version's failures from before the window may still add: its failure
    rate per second (the pre-deploy series, else its periods in the window) over the window and the
    retry horizon."""
    series = window.baseline if window.baseline is not None else window.stable
    if series is None:
        return 0.0
    known = [p for p in series.periods if p.errors is not None and p.invocations]
    if not known:
        return 0.0
    seconds = len(known) * 60.0
    return sum(p.errors or 0.0 for p in known) / seconds * (window.elapsed_seconds + _ASYNC_RETRY_HORIZON_S)


def still_rising(values: list[float]) -> bool:
    """A consumer falling further behind: the latest reading is the highest so far (a burst being
    drained is below its peak) and the readings trend up (Theil-Sen slope > 0). A flat reading
    between two steps keeps it rising."""
    if len(values) < 3:
        return False
    return values[-1] >= max(values[:-1]) and theil_sen_slope(list(map(float, range(len(values)))), values) > 0


def streams_check(window: HealthWindow, policy: HealthPolicy) -> Check:
    limit = policy.max_iterator_age_growth_ms
    threshold = {"max_iterator_age_growth_ms": limit, "rising": "latest reading the highest, Theil-Sen slope > 0"}
    kind = EvidenceKind.UNPAIRED
    if not window.streams:
        return Check(
            name="streams", status=_SKIPPED, threshold=threshold, summary="no event source mapping to watch", kind=kind
        )
    rows: list[dict[str, Any]] = []
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
        rising = still_rising([reference, *values] if stream.baseline_ms is not None else values)
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
                f"iterator age of {stream.mapping_uuid} {text.seconds(reference)} -> {text.seconds(values[-1])} "
                "and still rising"
            )
    read = len(rows) - len(unread)
    return _gauge_check(
        "streams",
        {"streams": rows},
        threshold,
        breaches=lagging,
        breach_summary=f"{'; '.join(lagging)} (allowed growth {text.seconds(limit)})",
        nothing_read=not read,
        unread_summary=f"no iterator age datapoints yet for {', '.join(unread)}",
        pass_summary=f"iterator age within {text.seconds(limit)} of preflight, or not rising, on "
        f"{read} mapping{'s' if read != 1 else ''}",
    )


def _gauge_check(
    name: str,
    observed: dict[str, Any],
    threshold: dict[str, Any],
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
    return Check(
        name=name, status=status, observed=observed, threshold=threshold, summary=summary, kind=EvidenceKind.UNPAIRED
    )


# --------------------------------------------------------------------------- alarms
def alarms_check(window: HealthWindow, view: View, policy: HealthPolicy) -> Check:
    if not window.alarms:
        return Check(
            name="alarms", status=_SKIPPED, summary="no guarding alarms configured", kind=EvidenceKind.UNPAIRED
        )
    share = _traffic_share(view)
    observed = {
        "alarms": [
            {
                "name": a.name,
                "at_preflight": a.state_at_preflight,
                "now": a.state_now,
                "reason": a.reason,
                "new_version_breaches": a.new_version_breaches,
                "new_version_amount": a.new_version_amount,
                "total_amount": a.total_amount,
            }
            for a in window.alarms
        ],
        "new_version_traffic_share": round(share, 4),
    }
    threshold = {
        "rule": "an alarm in ALARM fails the release only with evidence the new version moved it: its metric split "
        "by version breaches for the new version, or the new version's share of the breach is significantly above "
        "its traffic share (with the relative margin)",
        "significance": policy.significance,
    }
    blamed: list[str] = []
    cleared: list[str] = []
    unattributed: list[str] = []
    for alarm in window.alarms:
        if alarm.state_now != "ALARM":
            continue
        finding = _blame(alarm, share, policy)
        inherited = alarm.state_at_preflight == "ALARM"
        since = "already in ALARM at preflight" if inherited else f"{alarm.state_at_preflight} -> ALARM"
        if finding is True:
            blamed.append(f"{alarm.name} ({since}): {_evidence(alarm, share)}")
        elif finding is False:
            cleared.append(f"{alarm.name} ({since}), {_evidence(alarm, share)}")
        elif inherited:
            # recorded at preflight, before any traffic moved: raised by the version being replaced
            cleared.append(f"{alarm.name} was already in ALARM at preflight (raised by the version being replaced)")
        else:
            unattributed.append(f"{alarm.name} ({since})")
    kind = EvidenceKind.ORGANIC_PAIRED if any(_has_evidence(a) for a in window.alarms) else EvidenceKind.UNPAIRED
    if blamed:
        return Check(
            name="alarms",
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"guarding alarm moved by {view.canary_label}: {'; '.join(blamed)}",
            kind=kind,
        )
    count = len(window.alarms)
    summary = f"{count} guarding alarm{'s' if count != 1 else ''}"
    if not cleared and not unattributed:
        return Check(
            name="alarms",
            status=_PASS,
            observed=observed,
            threshold=threshold,
            summary=f"{summary}: none in ALARM",
            kind=kind,
        )
    notes = []
    if cleared:
        notes.append(
            f"{'; '.join(cleared)}: not held against the release (raised by the version being replaced or a "
            "shared cause)"
        )
    if unattributed:
        notes.append(
            f"{'; '.join(unattributed)} without evidence of which version moved it (its metric is not split by "
            "version): not held against the release, not a pass either"
        )
    return Check(
        name="alarms",
        status=_INCONCLUSIVE if unattributed else _PASS,
        observed=observed,
        threshold=threshold,
        summary=f"{summary}: {' | '.join(notes)}",
        kind=kind,
    )


def _traffic_share(view: View) -> float:
    """The new version's share of the organic traffic under the current weight (else its weight):
    an alarm evaluates its latest periods, so a canary widened from 10% to 50% must not be
    measured against its share since the canary began."""
    shift = view.window.weight_since
    current = replace(view, pairs=[p for p in view.pairs if p.start >= shift]) if shift is not None else view
    counts = (current if current.pairs else view).counts("errors")
    n_c, n_r = counts.canary[1], counts.reference[1]
    if view.paired and n_c + n_r > 0:
        return n_c / (n_c + n_r)
    return min(max(view.weight, 0), 100) / 100


def _has_evidence(alarm: AlarmObservation) -> bool:
    return alarm.new_version_breaches is not None or (
        alarm.new_version_amount is not None and alarm.total_amount is not None and alarm.total_amount > 0
    )


def _blame(alarm: AlarmObservation, share: float, policy: HealthPolicy) -> bool | None:
    """True: the new version moved it; False: the evidence says it did not; None: no evidence."""
    if alarm.new_version_breaches is not None:
        return alarm.new_version_breaches
    if alarm.new_version_amount is None or not alarm.total_amount or alarm.total_amount <= 0:
        return None
    if share >= 1.0:
        return True  # all traffic is the new version's: the breach is its own
    # the breach shared as the traffic is, with the relative margin on the new version's part
    boosted = share * (1 + policy.error_rate_relative_margin)
    expected = boosted / (boosted + (1 - share))
    return binomial_sf(alarm.new_version_amount, alarm.total_amount, expected) < policy.significance


def _evidence(alarm: AlarmObservation, share: float) -> str:
    if alarm.new_version_breaches is not None:
        verb = "breaches" if alarm.new_version_breaches else "does not breach"
        return f"its metric for the new version alone {verb} the threshold"
    amount, total = alarm.new_version_amount or 0.0, alarm.total_amount or 0.0
    return (
        f"the new version's share of the breach is {text.count(amount)} of {text.count(total)} "
        f"({text.pct(amount / total if total else 0.0)}) for {text.pct(share)} of the traffic"
    )
