"""What the judge compares: the window seen as "new version against a reference", period by period.

Only *comparable* periods are used, because CloudWatch does not deliver a clean table:
- a period is compared only once both sides have published it: datapoints of one version often
  arrive a minute or two after the other's, out of order, and "no datapoint from stable yet" is not
  "stable had no traffic" (only a period older than `metric_settle_seconds` before the read, or
  before the newest datapoint seen, counts as "no traffic" without a datapoint);
- a period that straddles a traffic shift (`weight_since`) mixes two weights and is left out;
- a count missing while its trials are present (Errors missing, Invocations present) is missing
  data for that period, never zero: the period is left out of that count's comparison.
The reference is the concurrent control when there is one (the stable version during the canary, the
holdback during the watch): paired, same periods, same load. Without one it is the pre-deploy
baseline (unpaired), whose periods are a different time and are used as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

from rollgate.domain.judge.health import EvidenceKind, HealthWindow, PeriodStats, VersionSeries
from rollgate.domain.shared.models import HealthPolicy

CountField = Literal["errors", "throttles", "batch_item_failures"]
TrialField = Literal["invocations", "batch_items"]


@dataclass(frozen=True)
class Pair:
    """One comparable period: the new version's and the concurrent reference's stats (either may be
    None: published, no traffic). Unpaired windows have no reference side."""

    start: datetime
    canary: PeriodStats | None
    reference: PeriodStats | None


@dataclass(frozen=True)
class Counts:
    """A count (errors, throttles, failed batch items) over its trials, on comparable periods with
    both sides known. `*_periods` keep the per-period (x, n) for the overdispersion estimate."""

    canary_periods: list[tuple[float, float]]
    reference_periods: list[tuple[float, float]]
    missing: list[datetime] = field(default_factory=list)
    #: paired windows: (canary x, canary n, reference x, reference n) of each comparable period
    paired: list[tuple[float, float, float, float]] = field(default_factory=list)

    @property
    def canary(self) -> tuple[float, float]:
        return sum(x for x, _ in self.canary_periods), sum(n for _, n in self.canary_periods)

    @property
    def reference(self) -> tuple[float, float]:
        return sum(x for x, _ in self.reference_periods), sum(n for _, n in self.reference_periods)


@dataclass(frozen=True)
class View:
    window: HealthWindow
    policy: HealthPolicy
    canary_label: str
    reference: VersionSeries | None
    reference_label: str
    paired: bool
    pairs: list[Pair]
    late: list[datetime]
    mixed: list[datetime]

    @classmethod
    def of(cls, window: HealthWindow, policy: HealthPolicy) -> View:
        canary = _version(window.canary.version)
        control = window.stable
        if control is not None:
            role = "stable" if window.phase == "canary" else "holdback"
            label = f"{role} {_version(control.version)}"
            name = f"canary {canary}" if window.phase == "canary" else f"{canary} (the watch)"
            reference: VersionSeries | None = control
            paired = True
        elif window.phase == "watch":
            baseline = window.baseline
            label = f"{_version(baseline.version)} before the deploy" if baseline else "the pre-deploy baseline"
            name, reference, paired = f"{canary} (all traffic)", baseline, False
        else:
            label, name, reference, paired = "the stable version", f"canary {canary}", None, False
        pairs, late, mixed = _comparable(window, policy, reference if paired else None)
        return cls(window, policy, name, reference, label, paired, pairs, late, mixed)

    def since_shift(self) -> View:
        """The view of the periods under the current weight only. A paired watch's window reaches
        back into the canary (its periods add power to the errors test, which compares period by
        period); pooled totals (samples, traffic shares, throttles) must not mix the canary's 10%
        with the watch's 95%: an incident during the watch would read as the new version's."""
        shift = self.window.weight_since
        if shift is None or self.window.phase != "watch":
            return self
        return replace(self, pairs=[p for p in self.pairs if p.start >= shift])

    # ---------------------------------------------------------------- what kind of evidence
    @property
    def kind(self) -> EvidenceKind:
        return EvidenceKind.ORGANIC_PAIRED if self.paired else EvidenceKind.UNPAIRED

    @property
    def weight(self) -> int:
        if self.window.phase == "watch" and self.window.stable is None:
            return 100
        return self.window.canary_weight

    @property
    def has_reference(self) -> bool:
        return self.reference is not None

    # ---------------------------------------------------------------- counts
    def counts(self, count: CountField, trials: TrialField = "invocations") -> Counts:
        """`count` over `trials` per comparable period, leaving out periods where the count is
        missing while its trials are present (on either side: the pair is compared whole)."""
        canary_rows: list[tuple[float, float]] = []
        reference_rows: list[tuple[float, float]] = []
        paired_rows: list[tuple[float, float, float, float]] = []
        missing: list[datetime] = []
        for pair in self.pairs:
            c, r = _known(pair.canary, count, trials), _known(pair.reference, count, trials)
            if c is None or (self.paired and r is None):
                missing.append(pair.start)
                continue
            if c[1] > 0:
                canary_rows.append(c)
            if self.paired and r is not None:
                if r[1] > 0:
                    reference_rows.append(r)
                paired_rows.append((*c, *r))
        if not self.paired and self.reference is not None:
            for period in self.reference.periods:
                known = _known(period, count, trials)
                if known is not None and known[1] > 0:
                    reference_rows.append(known)
        return Counts(canary_rows, reference_rows, missing, paired_rows)

    def baseline_counts(self, count: CountField, trials: TrialField = "invocations") -> list[tuple[float, float]]:
        """The pre-deploy series' periods, when the window carries one (for the dispersion estimate
        and for function-level signals judged against before the deploy)."""
        baseline = self.window.baseline
        if baseline is None:
            return []
        rows = [_known(p, count, trials) for p in baseline.periods]
        return [r for r in rows if r is not None and r[1] > 0]

    @property
    def canary_n(self) -> float:
        return self.counts("errors").canary[1]

    def canary_has_datapoints(self) -> bool:
        return any(p.invocations is not None for p in self.window.canary.periods)

    def alias_rate_per_second(self) -> float | None:
        """Observed traffic through the alias, from both versions' invocations (paired)."""
        seconds = self.window.elapsed_seconds
        if seconds <= 0:
            return None
        counts = self.counts("errors")
        total = counts.canary[1] + (counts.reference[1] if self.paired else 0.0)
        return total / seconds if total > 0 else None

    @property
    def final_look(self) -> bool:
        """The canary's or the watch's last judgement: its budget leaves no room for another."""
        budget = self.window.budget_seconds
        cadence = (
            self.policy.canary_judge_interval if self.window.phase == "canary" else self.policy.metric_period_seconds
        )
        return budget is not None and budget < cadence

    @property
    def significance(self) -> float:
        """The paired tests' significance now: relaxed to final_look_significance at the final look,
        where not deciding is no longer an option."""
        if self.final_look and self.paired:
            return max(self.policy.significance, self.policy.final_look_significance)
        return self.policy.significance

    def can_reach(self, invocations: float) -> bool:
        """Will the canary have served `invocations` in all before its budget runs out, at the
        traffic seen so far and the widest weight the policy allows? (Never when the window has no
        budget: the watch, or a caller that does not say.)"""
        budget, rate = self.window.budget_seconds, self.alias_rate_per_second()
        if budget is None or not rate or self.window.phase != "canary":
            return False
        widest = max([self.weight, *self.policy.widen_on_inconclusive])
        # metrics arrive 1-2 periods late: the last of the budget brings no datapoints in time
        usable = max(0.0, budget - 2 * self.policy.metric_period_seconds)
        return self.canary_n + rate * widest / 100 * usable >= invocations

    # ---------------------------------------------------------------- time
    @property
    def shift_at(self) -> datetime | None:
        """When the current weight took effect; without it, the new version's first datapoint."""
        if self.window.weight_since is not None:
            return self.window.weight_since
        starts = [p.start for p in self.window.canary.periods if p.invocations]
        return min(starts) if starts else None

    def warm(self, start: datetime) -> bool:
        """Is a period past the warm-up after the shift (cold starts, JIT)? Without `weight_since`
        the first period with data is the warm-up, once a later one exists."""
        shift = self.shift_at
        if shift is None:
            return True
        if self.window.weight_since is None:
            later = any(p.invocations and p.start > shift for p in self.window.canary.periods)
            return start > shift or not later
        # the warm-up of the last shift before the period ends (a period mixing a shift is never warm)
        end = start + timedelta(seconds=self.policy.metric_period_seconds)
        shifts = [s for s in (*self.window.earlier_shifts, self.window.weight_since) if s < end]
        return not shifts or start >= max(shifts) + timedelta(seconds=self.policy.warmup_seconds)


def _comparable(
    window: HealthWindow, policy: HealthPolicy, control: VersionSeries | None
) -> tuple[list[Pair], list[datetime], list[datetime]]:
    period = timedelta(seconds=policy.metric_period_seconds)
    settle = timedelta(seconds=policy.metric_settle_seconds)
    canary = {p.start: p for p in window.canary.periods}
    reference = {p.start: p for p in control.periods} if control is not None else {}
    newest = [_newest(window.canary)] + ([_newest(control)] if control is not None else [])
    known = [t for t in newest if t is not None]
    latest_any = max(known, default=None)
    settled_before = window.observed_at - period - settle if window.observed_at else None
    if latest_any is not None:
        by_others = latest_any - settle
        settled_before = max(settled_before, by_others) if settled_before else by_others

    def settled(start: datetime) -> bool:
        # without a datapoint, a period counts as "no traffic" only once it is settled: CloudWatch
        # publishes periods late and out of order, so a later datapoint says nothing about it
        return settled_before is not None and start <= settled_before

    shift = window.weight_since
    pairs: list[Pair] = []
    late: list[datetime] = []
    mixed: list[datetime] = []
    for start in sorted(set(canary) | set(reference)):
        if shift is not None and start < shift < start + period:
            # during the canary both versions' counts stay per version, so the period is compared
            # like any other (the first minute is what makes detection fast); its latency is the new
            # environments' warm-up (View.warm). The watch leaves it out: at the promotion the
            # shares swing from 10/90 to 95/5 within the minute, so an incident starting in it
            # would fall on the new version's share of the minute, not on its share of traffic
            mixed.append(start)
            if window.phase == "watch":
                continue
        c, r = canary.get(start), reference.get(start)
        canary_data = c is not None and c.invocations is not None
        reference_data = r is not None and r.invocations is not None
        if not canary_data and not reference_data:
            continue  # nothing published on either side (no traffic, or not yet): no evidence
        published = (canary_data or settled(start)) and (control is None or reference_data or settled(start))
        # only a canary period under a known current weight has a known split (earlier ones:
        # another step's; the watch's holdback is too thin a share to tell partial from chance)
        current = window.phase == "canary" and shift is not None and start >= shift
        if published and (not current or settled(start) or _complete_alike(c, r, window.canary_weight)):
            pairs.append(Pair(start, c, r))
        else:
            late.append(start)
    return pairs, late, mixed


#: A young period's two datapoints are taken as equally complete when the new version's share of
#: their invocations is within this many standard errors, plus this relative slack, of its weight.
_SHARE_SIGMAS = 4.0
_SHARE_SLACK = 0.25


def _complete_alike(canary: PeriodStats | None, reference: PeriodStats | None, weight: int) -> bool:
    """CloudWatch fills a minute's datapoint as the data comes in, and not at the same pace for both
    versions: a period published in full for one version and in part for the other compares a whole
    minute with its first seconds, and an incident (or a fix) that began within the minute then
    reads as a difference between the versions. The invocations tell: under one weight their split
    follows it. A young period whose split does not is compared once it is settled or it does."""
    if canary is None or reference is None or not 0 < weight < 100:
        return True
    n_c, n_r = canary.invocations or 0.0, reference.invocations or 0.0
    total = n_c + n_r
    if n_c <= 0 or n_r <= 0 or total < 20:
        return True  # too few to tell a partial datapoint from chance
    expected = weight / 100
    spread = _SHARE_SIGMAS * (expected * (1 - expected) / total) ** 0.5 + _SHARE_SLACK * min(expected, 1 - expected)
    return bool(abs(n_c / total - expected) <= spread)


def _newest(series: VersionSeries) -> datetime | None:
    return max((p.start for p in series.periods if p.invocations is not None), default=None)


def _known(period: PeriodStats | None, count: CountField, trials: TrialField) -> tuple[float, float] | None:
    """(count, trials) of a published period: (0, 0) without traffic; None when the count is missing
    while its trials are present (missing is not zero)."""
    if period is None:
        return (0.0, 0.0)
    n = getattr(period, trials)
    x = getattr(period, count)
    if count == "throttles":
        # throttled requests never run: the trials are invocations plus throttles
        if x is None and not n:
            return (0.0, 0.0)
        if x is None:
            return None
        return (x, (n or 0.0) + x)
    if not n:
        return (0.0, 0.0)
    if x is None:
        return None
    return (x, n)


def _version(version: str) -> str:
    return f"v{version}" if version.isdigit() else version
