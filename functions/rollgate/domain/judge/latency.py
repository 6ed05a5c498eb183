"""Latency: per-period votes where periods are well sampled, a pooled test where they are thin, and
a trend test for slow burns.

CloudWatch gives percentiles per period, never raw durations. Three questions are asked of them:
- votes: in a period with enough invocations beyond the percentile (5 for full weight, 2 at least),
  the canary's p95/p99 is compared with the reference's, by the ratio AND the absolute delta. The
  check fails when the breaching weight is at least 2 and the majority of the weight compared, so
  one noisy period (a noisy neighbour) is never a rollback;
- pooled: below ~4 req/s no canary period is well sampled, yet a 3x slower build must fail. A
  period's percentile above a threshold says at least `n - ceil(q (n - 1))` of its n invocations
  were beyond it; under "no slower than the reference by the ratio", an invocation is beyond the
  reference's q_r-percentile (times the ratio, plus the delta) with probability at most 1 - q_r.
  Summed over periods this is a binomial tail test; the canary's p50 (when published) and p95
  against the reference's p95/p99 make it strong on thin periods. It also needs at least three
  breaching periods and 75% of those compared (a 10% canary's small pool of environments goes
  cold more often than stable's: a cold start lands in some of its thin periods' tails);
- mean: where periods are thin, the percentiles say little (a "p95" of 8 invocations is about its
  slowest one), but Duration's Average is published with them and sums exactly: the canary's
  invocation-weighted mean over its thin periods is tested against the tolerated multiple of the
  reference's over the same periods (normal approximation; the per-invocation variance taken as the
  larger of the reference's between-period spread and its lognormal shape from p50 and p95), and
  most of those periods must breach too (one cold-start period is not a regression);
- trend: a latency that grows 2% a minute never trips a per-period ratio within a canary. The
  canary/reference p95 ratio per paired period is tested for a monotone increase (Mann-Kendall, at
  a fifth of the significance since it is asked every period), with a Theil-Sen slope of at least
  latency_max_growth_per_minute and the canary already slower by five minutes of that growth.
Periods within warmup_seconds of a traffic shift are left out of all three: every new environment
starts cold and JIT-compiles after a shift.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median, median_low
from typing import Any

from rollgate.domain.judge import text
from rollgate.domain.judge.health import Check, CheckStatus, PeriodStats
from rollgate.domain.judge.stats import binomial_sf, increasing_trend_pvalue, normal_sf, theil_sen_slope
from rollgate.domain.judge.view import Pair, View
from rollgate.domain.shared.models import HealthPolicy

_PASS, _FAIL, _SKIPPED = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.SKIPPED

#: Latency periods vote by the invocations beyond the percentile: full weight from this many ...
_FULL_TAIL_INVOCATIONS = 5.0
#: ... and none under this many (a "p99" of 100 invocations is the slowest one).
_MIN_TAIL_INVOCATIONS = 2.0
#: A reference period's percentile is used from this many invocations beyond it (a p99 of 100).
_MIN_REFERENCE_TAIL_INVOCATIONS = 1.0
#: The percentile that must be judged before a canary is HEALTHY; higher ones only when the
#: reference has the traffic to make them a statistic.
_PRIMARY_PERCENTILE = 95
#: Breaching weight that fails the check (two full periods).
_BREACH_WEIGHT = 2.0
#: Canary statistics tested against each reference percentile in the pooled test. It fails only
#: with this many breaching periods and this share of the periods compared: a 10% canary's small
#: pool of environments goes cold more often than stable's, so a cold start lands in some of its
#: thin periods' tails; a slower build is slow in nearly every period.
_POOLED = {95: (50, 95), 99: (50, 95, 99)}
_POOLED_MIN_BREACHED = 3
_POOLED_BREACHED_SHARE = 0.75
#: Latency passes on two full periods' votes or this many pooled periods; before, it is not judged.
_MIN_EVIDENCE_PERIODS = 4
#: ... and only periods whose reference percentile has at least 2 invocations beyond it.
_POOLED_MIN_REFERENCE_WEIGHT = 0.4
#: The thin-period mean test: at least this many periods with an Average on both sides, this share
#: of them breaching on their own, and the reference's variance from at least this many periods.
_MEAN_MIN_PERIODS = 4
_MEAN_BREACHED_SHARE = 0.75
#: ... at this share of the significance: a 10% canary's small pool of environments starts cold
#: more often than stable's, and cold starts weigh on a thin period's mean
_MEAN_SIGNIFICANCE_SHARE = 0.1
#: z of the 95th percentile of a normal: the lognormal shape from p50 and p95.
_Z95 = 1.6449
#: The trend test: paired periods with at least this many canary invocations, at least this many
#: periods, at this share of the significance, and the canary already slower by this many minutes
#: of the minimum growth.
_TREND_MIN_INVOCATIONS = 20
#: Warm-up that outlasts `warmup_seconds`: a latency failure is held while the canary's ratio over
#: its last periods keeps falling this fast (a JIT or cache warm-up decays; a regression persists),
#: for at most this long after the shift.
_WARMING_PER_MINUTE = 0.03
_WARMING_PERIODS = 4
_WARMING_MAX_SECONDS = 600
_TREND_MIN_PERIODS = 6
_TREND_SIGNIFICANCE_SHARE = 0.2
_TREND_MINUTES_AHEAD = 5


def _field(percentile: int) -> str:
    return f"p{percentile}_ms"


def _value(period: PeriodStats | None, percentile: int) -> float | None:
    return getattr(period, _field(percentile)) if period is not None else None


@dataclass(frozen=True)
class _Reference:
    """The reference's percentile for a canary period: the same period's when it has invocations
    beyond the percentile (paired), else its typical period (median). Each comes with a weight, by
    the same rule as the canary's periods: a watch's thin holdback cannot outvote a drift."""

    by_start: dict[datetime, tuple[float, float]]
    typical: float | None
    typical_weight: float
    #: may a period without a usable reference value of its own borrow the typical one? Not in the
    #: watch: its holdback is thin, and a typical value from other minutes is not paired (an
    #: incident in this minute would read as the new version's)
    borrow: bool = True

    @classmethod
    def of(cls, view: View, percentile: int, warm: list[Pair]) -> _Reference:
        tail = (100 - percentile) / 100
        min_count = _MIN_REFERENCE_TAIL_INVOCATIONS / tail

        def usable(p: PeriodStats | None) -> tuple[float, float] | None:
            value = _value(p, percentile)
            if p is None or value is None or (p.invocations or 0) < min_count:
                return None
            return value, min(1.0, (p.invocations or 0) * tail / _FULL_TAIL_INVOCATIONS)

        if view.paired:
            by_start = {x.start: u for x in warm if (u := usable(x.reference)) is not None}
            rows = list(by_start.values())
        else:
            by_start = {}
            reference_periods = view.reference.periods if view.reference else []
            rows = [u for p in reference_periods if (u := usable(p)) is not None]
        typical = median(v for v, _ in rows) if rows else None
        weight = min(1.0, sum(w for _, w in rows) / 2) if rows else 0.0
        return cls(by_start, typical, weight, borrow=not (view.paired and view.window.phase == "watch"))

    def _own(self, start: datetime) -> tuple[float, float] | None:
        """The period's own value, unless it is thinner than the typical period's evidence."""
        row = self.by_start.get(start)
        if row is None or (row[1] < _POOLED_MIN_REFERENCE_WEIGHT and self.typical_weight > row[1]):
            return None
        return row

    def at(self, start: datetime) -> float | None:
        row = self._own(start)
        return row[0] if row else self.typical if self.borrow else None

    def weight(self, start: datetime) -> float:
        row = self._own(start)
        return row[1] if row else self.typical_weight if self.borrow else 0.0


def latency_check(view: View, policy: HealthPolicy, percentile: int) -> Check:
    name = f"latency_p{percentile}"
    tail = (100 - percentile) / 100
    min_count = round(_MIN_TAIL_INVOCATIONS / tail)
    full_count = round(_FULL_TAIL_INVOCATIONS / tail)
    threshold = {
        "ratio": policy.latency_ratio_limit,
        "min_delta_ms": policy.latency_min_delta_ms,
        "period_weight": f"invocations beyond the p{percentile} / {_FULL_TAIL_INVOCATIONS:g}, at most 1; "
        f"periods under {min_count} invocations vote not",
        "rule": "breaching weight >= 2 and more than half of the weight compared; or the pooled exceedance test "
        "(binomial, significance split over the statistics) with >= 2 breaching periods, a majority",
        "warmup_seconds": policy.warmup_seconds,
    }
    warm = [x for x in view.pairs if view.warm(x.start)]
    reference = _Reference.of(view, percentile, warm)
    canary_periods = [(x.start, x.canary) for x in warm if x.canary is not None and x.canary.invocations]
    if not canary_periods:
        busiest = max((p.invocations or 0 for p in view.window.canary.periods), default=0)
        warming = any(x.canary is not None and x.canary.invocations for x in view.pairs)
        return Check(
            name=name,
            # periods with traffic, all in the warm-up: not judged yet, which holds a HEALTHY verdict
            status=CheckStatus.INCONCLUSIVE if warming else _SKIPPED,
            observed={"busiest_canary_period_invocations": busiest},
            threshold=threshold,
            summary=f"p{percentile} not judged yet: no period of {view.canary_label} past the "
            f"{policy.warmup_seconds} s warm-up after the shift with invocations in it",
            kind=view.kind,
        )
    limit = f"{policy.latency_ratio_limit:g}x and +{policy.latency_min_delta_ms:g} ms"
    mean = _mean_test(view, policy, warm, min_count, reference) if percentile == _PRIMARY_PERCENTILE else None
    mean_failure = (
        f"mean duration of {view.canary_label} {mean.canary_ms:.0f} ms vs {view.reference_label} "
        f"{mean.reference_ms:.0f} ms over {mean.periods} thin periods ({text.count(mean.canary_n)} invocations): "
        f"beyond {limit} (p={mean.p:.1e}; {mean.breached} of {mean.periods} periods beyond on their own)"
        if mean is not None and mean.failed(policy.significance * _MEAN_SIGNIFICANCE_SHARE)
        else None
    )
    if reference.typical is None and mean_failure is not None and mean is not None:
        return Check(
            name=name,
            status=_FAIL,
            observed={"canary_periods": len(canary_periods), "mean_of_thin_periods": mean.as_dict()},
            threshold=threshold,
            summary=mean_failure,
            kind=view.kind,
        )
    if reference.typical is None:
        return Check(
            name=name,
            status=_SKIPPED,
            observed={"canary_periods": len(canary_periods)},
            threshold=threshold,
            summary=f"p{percentile} not judged: {view.reference_label} has no period with {min_count} "
            f"invocations to compare with, and the policy sets no absolute latency limit",
            kind=view.kind,
        )

    def breaches(value: float, ref: float) -> bool:
        return value > ref * policy.latency_ratio_limit and value - ref > policy.latency_min_delta_ms

    # votes of the well-sampled periods
    rows = []
    for start, p in canary_periods:
        value, ref, n = _value(p, percentile), reference.at(start), p.invocations or 0
        if value is not None and ref is not None and n >= min_count:
            rows.append((value, ref, min(1.0, n / full_count, reference.weight(start))))
    voted = [breaches(c, r) for c, r, _ in rows]
    weight_breached = sum(w for (_, _, w), b in zip(rows, voted, strict=True) if b)
    weight_total = sum(w for _, _, w in rows)
    pooled = _pooled(canary_periods, reference, percentile, breaches)
    alpha_each = policy.significance / len(_POOLED[percentile])
    pooled_fail = next(
        (
            t
            for t in pooled
            if t.p < alpha_each
            and t.breached >= _POOLED_MIN_BREACHED
            and t.breached >= _POOLED_BREACHED_SHARE * t.compared
        ),
        None,
    )
    observed: dict[str, Any] = {
        "periods_compared": len(rows),
        "periods_breached": sum(voted),
        "weight_breached": round(weight_breached, 2),
        "weight_compared": round(weight_total, 2),
        "canary_ms": [round(c, 1) for c, _, _ in rows][-20:],
        "reference_ms": [round(r, 1) for _, r, _ in rows][-20:],
        "pooled": [t.as_dict() for t in pooled],
        **({"mean_of_thin_periods": mean.as_dict()} if mean else {}),
    }
    failure: str | None = None
    if weight_breached >= _BREACH_WEIGHT - 1e-9 and 2 * weight_breached > weight_total:
        failure = f"{_head(view, rows, percentile)}: slower by more than {limit} in {sum(voted)} of {len(rows)} periods"
    elif pooled_fail is not None:
        failure = (
            f"p{pooled_fail.canary_percentile} of {view.canary_label} beyond {limit} over "
            f"{view.reference_label}'s p{percentile} in {pooled_fail.breached} of {pooled_fail.compared} periods: at "
            f"least {pooled_fail.exceeding:.0f} of {pooled_fail.trials:.0f} invocations that slow, where at most "
            f"{tail:.0%} would be (p={pooled_fail.p:.1e} pooled over thin periods)"
        )
    elif mean_failure is not None:
        failure = mean_failure
    if failure is not None:
        improving = _still_warming(view, policy, canary_periods, reference, percentile)
        if improving is not None:
            observed["improving_per_minute"] = round(improving, 4)
            return Check(
                name=name,
                status=CheckStatus.INCONCLUSIVE,
                observed=observed,
                threshold={**threshold, "warming": f"improving >= {_WARMING_PER_MINUTE:.0%}/min since the shift"},
                summary=f"{failure}; but it is improving {-improving:.0%} a minute since the shift: the new "
                f"environments are still warming up (JIT, caches), judged again next period",
                kind=view.kind,
            )
        return Check(name=name, status=_FAIL, observed=observed, threshold=threshold, summary=failure, kind=view.kind)
    judged_periods = max([t.compared for t in pooled] + ([mean.periods] if mean else []), default=0)
    if percentile != _PRIMARY_PERCENTILE and not rows and not judged_periods:
        # No canary period could be compared: the reference never had the invocations beyond this
        # percentile that make it a statistic: at this traffic the primary percentile stands for the tail.
        # INCONCLUSIVE here would hold every canary of a low-traffic function until it rolls back.
        return Check(
            name=name,
            status=_SKIPPED,
            observed=observed,
            threshold=threshold,
            summary=f"p{percentile} not judged at this traffic: no period of {view.reference_label} had the "
            f"{round(_POOLED_MIN_REFERENCE_WEIGHT * _FULL_TAIL_INVOCATIONS / tail)} invocations it needs; "
            f"p{_PRIMARY_PERCENTILE} stands for the tail",
            kind=view.kind,
        )
    evidence = weight_total >= _BREACH_WEIGHT - 1e-9 or judged_periods >= _MIN_EVIDENCE_PERIODS
    # not slower so far, but on too little to say so: PASS only once two full periods voted or
    # _MIN_EVIDENCE_PERIODS periods were pooled (this holds a canary's HEALTHY, see judge)
    passing = _PASS if evidence else CheckStatus.INCONCLUSIVE
    observed["enough_evidence"] = evidence
    if not rows:
        return Check(
            name=name,
            status=passing,
            observed=observed,
            threshold=threshold,
            summary=f"p{percentile}: no period of {view.canary_label} had the {min_count} invocations a vote needs; "
            f"pooled over {len(canary_periods)} thin periods it is not significantly slower",
            kind=view.kind,
        )
    if any(voted):
        thin = " thin" if weight_breached < sum(voted) else ""
        verdict = (
            f"slower by more than {limit} in only {sum(voted)} of {len(rows)}{thin} periods, not a sustained regression"
        )
    else:
        verdict = f"within {limit} in every period"
    return Check(
        name=name,
        status=passing,
        observed=observed,
        threshold=threshold,
        summary=f"{_head(view, rows, percentile)}: {verdict}" + ("" if evidence else "; too little yet to say so"),
        kind=view.kind,
    )


def _head(view: View, rows: list[tuple[float, float, float]], percentile: int) -> str:
    canary = median_low(c for c, _, _ in rows) if rows else 0.0
    reference = median_low(r for _, r, _ in rows) if rows else 0.0
    plural = "s" if len(rows) != 1 else ""
    return (
        f"p{percentile} of {view.canary_label} {canary:.0f} ms vs {view.reference_label} {reference:.0f} ms "
        f"(median over {len(rows)} period{plural})"
    )


@dataclass(frozen=True)
class _Pooled:
    canary_percentile: int
    compared: int
    breached: int
    exceeding: float
    trials: float
    p: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "canary_statistic": f"p{self.canary_percentile}",
            "periods": self.compared,
            "breached": self.breached,
            "invocations_beyond_at_least": self.exceeding,
            "invocations": self.trials,
            "p_value": float(f"{self.p:.3g}"),
        }


def _pooled(
    canary_periods: list[tuple[datetime, PeriodStats]],
    reference: _Reference,
    percentile: int,
    breaches: Callable[[float, float], bool],
) -> list[_Pooled]:
    tail = (100 - percentile) / 100
    tests = []
    for q in _POOLED[percentile]:
        compared = breached = 0
        exceeding = trials = 0.0
        for start, p in canary_periods:
            value, ref = _value(p, q), reference.at(start)
            n = round(p.invocations or 0)
            if value is None or ref is None or n < 1 or reference.weight(start) < _POOLED_MIN_REFERENCE_WEIGHT:
                continue
            compared += 1
            trials += n
            if breaches(value, ref):
                breached += 1
                exceeding += n - math.ceil(q / 100 * (n - 1) - 1e-9)
        if compared:
            tests.append(_Pooled(q, compared, breached, exceeding, trials, binomial_sf(exceeding, trials, tail)))
    return tests


def _still_warming(
    view: View,
    policy: HealthPolicy,
    canary_periods: list[tuple[datetime, PeriodStats]],
    reference: _Reference,
    percentile: int,
) -> float | None:
    """A warm-up decays, a regression persists. Within _WARMING_MAX_SECONDS of the shift, a canary
    whose latency ratio over its last periods is falling by _WARMING_PER_MINUTE or more (Theil-Sen)
    is still warming up: the per-minute slope, else None."""
    shift = view.shift_at
    if shift is None:
        return None
    horizon = shift + timedelta(seconds=max(_WARMING_MAX_SECONDS, policy.warmup_seconds))
    points = []
    for start, p in canary_periods[-_WARMING_PERIODS:]:
        value, ref = _value(p, percentile), reference.at(start)
        if value and ref and start < horizon:
            points.append(((start - shift).total_seconds() / 60, math.log(value / ref)))
    if len(points) < 3:
        return None
    log_slope = theil_sen_slope([x for x, _ in points], [y for _, y in points])
    slope = math.expm1(log_slope)
    if slope > -_WARMING_PER_MINUTE:
        return None
    # a warm-up is over in time: at this decay the ratio is back within the limit by the horizon
    # (a 3x slower build whose ratio wobbles down is not warming up)
    minutes_left = (horizon - shift).total_seconds() / 60 - points[-1][0]
    projected = points[-1][1] + log_slope * max(minutes_left, 0.0)
    return slope if projected <= math.log(policy.latency_ratio_limit) else None


@dataclass(frozen=True)
class _MeanTest:
    periods: int
    breached: int
    canary_n: float
    canary_ms: float
    reference_ms: float
    tolerated_ms: float
    p: float

    def failed(self, alpha: float) -> bool:
        return (
            self.p < alpha
            and self.periods >= _MEAN_MIN_PERIODS
            and self.breached >= _MEAN_BREACHED_SHARE * self.periods
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "periods": self.periods,
            "breached": self.breached,
            "canary_invocations": self.canary_n,
            "canary_mean_ms": round(self.canary_ms, 1),
            "reference_mean_ms": round(self.reference_ms, 1),
            "tolerated_mean_ms": round(self.tolerated_ms, 1),
            "p_value": float(f"{self.p:.3g}"),
        }


def _mean_test(
    view: View, policy: HealthPolicy, warm: list[Pair], min_count: int, reference: _Reference
) -> _MeanTest | None:
    """The canary's mean duration over its warm thin periods (too few invocations on either side
    for a percentile vote: a 10% canary at low traffic, a 5% holdback in the watch) against the
    tolerated multiple of the reference's over the same periods. None when it cannot be asked (no
    Average published, unpaired, fewer than _MEAN_MIN_PERIODS periods)."""
    if not view.paired:
        return None
    rows = []
    for pair in warm:
        c, r = pair.canary, pair.reference
        if not (c and r and c.invocations and r.invocations and c.duration_avg_ms and r.duration_avg_ms):
            continue
        if c.invocations >= min_count and reference.at(pair.start) is not None:
            continue  # a well-sampled pair votes with its percentile
        rows.append((c.invocations, c.duration_avg_ms, r.invocations, r.duration_avg_ms, r.p50_ms, r.p95_ms))
    if len(rows) < _MEAN_MIN_PERIODS:
        return None
    n_c = sum(row[0] for row in rows)
    n_r = sum(row[2] for row in rows)
    mean_c = sum(row[0] * row[1] for row in rows) / n_c
    mean_r = sum(row[2] * row[3] for row in rows) / n_r
    if mean_r <= 0:
        return None
    # per-invocation variance of the reference: between-period spread of its period means (noisy
    # neighbours included), or its lognormal shape, whichever is larger
    spread = sum(row[2] * (row[3] - mean_r) ** 2 for row in rows) / (len(rows) - 1)
    shapes = [math.log(p95 / p50) / _Z95 for *_, p50, p95 in rows if p50 and p95 and p95 > p50]
    sigma = median(shapes) if shapes else 0.0
    lognormal = mean_r**2 * math.expm1(sigma**2)
    variance_r = max(spread, lognormal)
    cv2 = variance_r / mean_r**2
    ratio = policy.latency_ratio_limit
    tolerated = max(mean_r * ratio, mean_r + policy.latency_min_delta_ms)
    scale = tolerated / mean_r
    se = math.sqrt(cv2 * mean_c**2 / n_c + scale**2 * variance_r / n_r)
    p = normal_sf((mean_c - tolerated) / se) if se > 0 else (0.0 if mean_c > tolerated else 1.0)
    breached = sum(1 for row in rows if row[1] > max(row[3] * ratio, row[3] + policy.latency_min_delta_ms))
    return _MeanTest(len(rows), breached, n_c, mean_c, mean_r, tolerated, p)


# --------------------------------------------------------------------------- slow burns
def latency_trend_check(view: View, policy: HealthPolicy) -> Check:
    growth = policy.latency_max_growth_per_minute
    alpha = policy.significance * _TREND_SIGNIFICANCE_SHARE
    threshold = {
        "max_growth_per_minute": growth,
        "significance": alpha,
        "test": "Mann-Kendall on the canary/reference p95 ratio per paired period, Theil-Sen slope",
        "min_periods": _TREND_MIN_PERIODS,
    }
    if not view.paired:
        return Check(
            name="latency_trend",
            status=_SKIPPED,
            threshold=threshold,
            summary="no concurrent control: a latency trend without one may be a shared drift",
            kind=view.kind,
        )
    minutes_per_period = view.policy.metric_period_seconds / 60
    first = None
    xs: list[float] = []
    ys: list[float] = []
    for pair in view.pairs:
        c, r = pair.canary, pair.reference
        if not (view.warm(pair.start) and c and r and (c.invocations or 0) >= _TREND_MIN_INVOCATIONS):
            continue
        if not c.p95_ms or not r.p95_ms or (r.invocations or 0) < _TREND_MIN_INVOCATIONS:
            continue
        first = first or pair.start
        xs.append((pair.start - first).total_seconds() / 60)
        ys.append(math.log(c.p95_ms / r.p95_ms))
    if len(xs) < _TREND_MIN_PERIODS:
        return Check(
            name="latency_trend",
            status=_SKIPPED,
            observed={"periods": len(xs)},
            threshold=threshold,
            summary=f"latency trend not judged: {len(xs)} of the {_TREND_MIN_PERIODS} paired periods it needs",
            kind=view.kind,
        )
    slope = theil_sen_slope(xs, ys)
    p = increasing_trend_pvalue(ys)
    intercept = median(y - slope * x for x, y in zip(xs, ys, strict=True))
    now_ratio = math.exp(intercept + slope * xs[-1])
    observed = {
        "periods": len(xs),
        "slope_per_minute": round(math.expm1(slope), 4),
        "p_value": float(f"{p:.3g}"),
        "ratio_now": round(now_ratio, 3),
        "minutes_per_period": minutes_per_period,
    }
    slower_by = 1 + growth * _TREND_MINUTES_AHEAD
    if p < alpha and slope >= math.log1p(growth) and now_ratio >= slower_by:
        return Check(
            name="latency_trend",
            status=_FAIL,
            observed=observed,
            threshold=threshold,
            summary=f"p95 of {view.canary_label} grows {math.expm1(slope):.1%} a minute against {view.reference_label} "
            f"(now {now_ratio:.2f}x, p={p:.1e} over {len(xs)} periods): a slow burn",
            kind=view.kind,
        )
    return Check(
        name="latency_trend",
        status=_PASS,
        observed=observed,
        threshold=threshold,
        summary=f"p95 ratio of {view.canary_label} to {view.reference_label} {now_ratio:.2f}x, changing "
        f"{math.expm1(slope):+.1%} a minute: no sustained growth",
        kind=view.kind,
    )
