"""The seeded corpus: synthetic releases of a Lambda function, in families, split train / test.

Each scenario describes a function (traffic, normal error rate and how it clusters, latency,
queues, streams, alarms, how CloudWatch delivers its metrics) and a release (good, or bad in one
way). `rollgate_bench.world` turns it into what CloudWatch, SQS and Lambda would show. Ground truth is the
family and is defined by user harm, never by what any judge can see: a release is bad when the new
code hurts users (errors, latency users notice, dropped or dead-lettered messages, stream lag);
it is good otherwise, including a real error-rate difference too small to matter (see
`TOLERABLE`), and including releases made during incidents, drifts or throttling that are not
the release's fault.

Splits. Every family is marked `train` (what a judge may be tuned on) or `test` (never tuned on),
and so is every seed: `TRAIN_SEEDS` and `TEST_SEEDS` never overlap, and the test split draws only
test families, so a test result is on shapes *and* draws no tuning has seen. Each mechanism class
in rollgate_bench/WORLD.md has a family in each split where a second shape exists, so tuning on train can
fix the class while test checks the fix generalises (e.g. callers' error bursts in test, time-clustered
errors in train).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

TRAIN, TEST = "train", "test"
SPLITS = (TRAIN, TEST)

#: What counts as a tolerable error-rate difference (a good release): at most this much relative
#: increase or this many points absolute, whichever is larger. Anything from 1.5x and +0.05 points
#: up is a regression users notice. Both are product statements, not a judge's thresholds.
TOLERABLE_RELATIVE = 0.10
TOLERABLE_ABSOLUTE = 0.001


@dataclass(frozen=True)
class Family:
    share: float  # weight within its split
    split: str
    good: bool
    about: str


FAMILIES: dict[str, Family] = {
    # ---------------------------------------------------------------- train: the original corpus
    "good": Family(0.16, TRAIN, True, "healthy release, realistic noise, 1 req/min to 100 req/s"),
    "fix_while_alarm": Family(0.03, TRAIN, True, "a fix released while the old version trips the alias alarm"),
    "error_small": Family(0.04, TRAIN, False, "+2-5 points of errors"),
    "error_medium": Family(0.04, TRAIN, False, "+5-30 points of errors"),
    "error_total": Family(0.03, TRAIN, False, "every invocation fails"),
    "latency": Family(0.04, TRAIN, False, "1.5-4x slower, or a slow path for 10-30% of requests"),
    "dlq_inflow": Family(0.03, TRAIN, False, "the new build dead-letters 2-50% of async events"),
    "stream_lag": Family(0.03, TRAIN, False, "the new build is too slow for its Kinesis shard"),
    "low_traffic": Family(0.03, TRAIN, False, "an error regression at 1 req/min to 0.2 req/s"),
    "post_promotion": Family(0.04, TRAIN, False, "a regression that starts once the build takes the load"),
    # ---------------------------------------------------------------- train: new shapes
    "incident_watch": Family(0.04, TRAIN, True, "a downstream incident hits both versions during the watch"),
    "latency_drift_watch": Family(0.03, TRAIN, True, "a shared latency drift (dependency) during the watch"),
    "noisy_high_base": Family(0.04, TRAIN, True, "5-20% normal errors, clustered in time (overdispersed)"),
    "late_data": Family(0.04, TRAIN, True, "publishing delays with a tail to 5 min, Errors late behind Invocations"),
    "below_margin": Family(0.03, TRAIN, True, "a real but tolerable error difference (+2-8% relative)"),
    "bursty_good": Family(0.03, TRAIN, True, "bursty traffic: x3-8 bursts of 1-3 minutes"),
    "quiet_watch": Family(0.03, TRAIN, True, "traffic stops after the canary: the watch sees (almost) nothing"),
    "metric_outage_short": Family(0.02, TRAIN, True, "CloudWatch reads fail for 2-4 minutes"),
    "smoke_blind": Family(0.03, TRAIN, False, "a request type the smoke payloads do not exercise, 0.05-0.3 req/s"),
    "doubling_high_traffic": Family(0.03, TRAIN, False, "0.1-0.5% errors doubled or tripled at 30-300 req/s"),
    "above_margin": Family(0.03, TRAIN, False, "errors 1.6-2.5x of a 1-10% normal rate"),
    "async_retries": Family(0.03, TRAIN, False, "async events failing; Lambda retries them twice on either version"),
    "error_burn": Family(0.02, TRAIN, False, "errors growing 0.2-1 point a minute (a leak)"),
    "throttle_slow_build": Family(0.02, TRAIN, False, "a slower build near reserved concurrency: throttles"),
    # the team's own rules (health.custom_metrics, health.thresholds): what only they can see
    "business_good": Family(0.03, TRAIN, True, "a noisy business metric (orders per request) the build keeps"),
    "latency_budget_ok": Family(0.03, TRAIN, True, "a team p95 budget 15-40% above the usual p95; same speed"),
    # ---------------------------------------------------------------- test: never tuned on
    "good_diurnal": Family(0.10, TEST, True, "healthy release on a diurnal ramp (x0.4 to x2.5 over the hour)"),
    "incident_canary": Family(0.06, TEST, True, "a downstream incident hits both versions during the canary"),
    "throttled_near_limit": Family(0.05, TEST, True, "function-wide throttling near reserved concurrency"),
    "caller_clustered": Family(0.05, TEST, True, "1-15% errors in bursts from one caller (overdispersed)"),
    "stable_above_ceiling": Family(0.04, TEST, True, "the stable version already fails 6-15%; the new one the same"),
    "wobble_high_base": Family(0.04, TEST, True, "a ~10% function, new build +0.2-0.5 points (tolerable)"),
    "long_warmup": Family(0.04, TEST, True, "JIT / cache warm-up lasting 2-6 minutes after each shift"),
    "late_missing": Family(0.04, TEST, True, "long publishing tail and Errors datapoints missing for minutes"),
    "metric_outage_long": Family(0.03, TEST, True, "CloudWatch reads fail for 5-12 minutes"),
    "alarm_flap_fix": Family(0.03, TEST, True, "a fix while the old version keeps the alias alarm flapping"),
    "async_blips": Family(0.03, TEST, True, "async function, downstream blips retried by Lambda (good)"),
    "untested_request_type": Family(
        0.05, TEST, False, "regression in a request type no smoke payload hits, <=0.05 req/s"
    ),
    "relative_high_traffic": Family(0.04, TEST, False, "0.05-0.2% errors up 4-10x at 100-400 req/s"),
    "thin_slow_build": Family(0.04, TEST, False, "2.5-4x slower build at 0.5-4 req/s (thin periods)"),
    "slow_burn": Family(0.04, TEST, False, "latency growing 2-5% a minute"),
    "stream_steps": Family(0.03, TEST, False, "iterator age growing in steps, a flat minute between"),
    "sqs_partial_batch": Family(
        0.04, TEST, False, "SQS consumer failing items by partial batch response: source-queue DLQ"
    ),
    "noisy_base_regression": Family(0.04, TEST, False, "5-15% clustered normal errors, new build x1.6-2.5"),
    "late_data_regression": Family(0.04, TEST, False, "+3-30 points under long publishing delays and late Errors"),
    "bursty_regression": Family(0.04, TEST, False, "+3-30 points on bursty or diurnal traffic"),
    "incident_and_regression": Family(0.03, TEST, False, "a real regression while a downstream incident runs"),
    "business_regression": Family(
        0.04, TEST, False, "20-70% fewer orders per request, no errors: only the team's metric shows it"
    ),
    "latency_budget_breach": Family(
        0.03, TEST, False, "1.15-1.27x slower (inside the built-in ratio) through the team's p95 budget"
    ),
}

GOOD_FAMILIES = tuple(name for name, f in FAMILIES.items() if f.good)
#: error regressions whose time to detect the targets measure (at >= 1 req/s)
ERROR_FAMILIES = (
    "error_small",
    "error_medium",
    "error_total",
    "above_margin",
    "async_retries",
    "doubling_high_traffic",
    "relative_high_traffic",
    "noisy_base_regression",
    "late_data_regression",
    "bursty_regression",
    "incident_and_regression",
)
TRAIN_SEEDS = tuple(20260301 + i for i in range(100))
TEST_SEEDS = tuple(20271301 + i for i in range(100))


def families_of(split: str) -> list[str]:
    return [name for name, f in FAMILIES.items() if f.split == split]


def seeds_of(split: str, count: int, first: int = 0) -> list[int]:
    """`count` seeds of the split, from its `first` on (a later range: seeds nobody has looked at)."""
    seeds = TRAIN_SEEDS if split == TRAIN else TEST_SEEDS
    if first < 0 or first + count > len(seeds):
        raise ValueError(f"seeds {first}..{first + count - 1} asked; a split has {len(seeds)} (0..{len(seeds) - 1})")
    return list(seeds[first : first + count])


@dataclass(frozen=True)
class Scenario:
    idx: int
    family: str
    seed: int
    rate: float  # mean requests per second through the alias
    offset_s: int  # where in its minute the canary starts (CloudWatch periods are minute-aligned)
    # errors
    normal_error: float  # what a healthy build of this function fails (downstream noise, bad input)
    old_error: float  # what the live (stable) version fails: normal, or more when it is the buggy one
    new_error: float  # what the new build fails without its regression
    # how normal errors cluster: a per-minute gamma factor shared by both versions (shape; 0 = none)
    # and a share of them arriving in bursts from one caller (split between versions by weight)
    error_dispersion: float = 0.0
    caller_burst_share: float = 0.0
    caller_burst_size: float = 1.0
    # the regression, if any
    kind: str = "none"  # none | error | latency | dlq | stream | burn | sqs_partial | business
    regression_error: float = 0.0  # extra failure probability per invocation
    error_growth_per_min: float = 0.0  # or: extra failure probability growing this much a minute
    latency_multiplier: float = 1.0  # every invocation slower by this factor
    tail_fraction: float = 0.0  # or: this fraction of invocations ...
    tail_add_ms: float = 0.0  # ... slower by this much
    burn_per_min: float = 0.0  # or: latency growing this much a minute (relative)
    trigger: str = "start"  # start: from the first canary invocation; load: once it serves >= 50%
    trigger_delay_s: float = 0.0
    smoke_hits_regression: bool = True  # whether the smoke payloads exercise the broken request type
    # traffic shape
    traffic_shape: str = "steady"  # steady | bursty | diurnal
    burst_per_hour: float = 0.0
    burst_multiplier: float = 1.0
    diurnal_change: float = 1.0  # traffic multiplier reached one hour after canary start
    quiet_after_s: float | None = None  # traffic drops to `quiet_factor` from t0 + this
    quiet_factor: float = 1.0
    # latency of a healthy build
    latency_median_ms: float = 100.0
    latency_sigma: float = 0.4
    warmup_multiplier: float = 1.8  # first invocation in a fresh execution environment
    jit_extra: float = 0.0  # a fresh version is this much slower at first ...
    jit_tau_s: float = 0.0  # ... decaying with this time constant since it first served
    # shared events, placed relative to the release
    incident_phase: str = "none"  # none | canary | watch
    incident_error: float = 0.0
    incident_latency: float = 1.0
    incident_len_s: float = 0.0
    drift_phase: str = "none"  # none | watch
    drift_multiplier: float = 1.0
    # concurrency: None = unreserved (no function-level throttling)
    reserved_concurrency: float | None = None
    # CloudWatch delivery
    delay_profile: str = "default"  # default | late
    errors_lag_probability: float = 0.0  # a minute's Errors published this much later than Invocations
    metric_outage_start_s: float | None = None  # metric reads fail from t0 + start ...
    metric_outage_len_s: float = 0.0  # ... for this long
    # invocation type
    asynchronous: bool = False  # async events: Lambda retries a failed event twice (1 and 2 min later)
    # dead-letter queue of the function (async on-failure) and its poison level
    has_dlq: bool = False
    dlq_backlog: int = 0
    dlq_poison_per_hour: float = 0.0  # poison messages the live version dead-letters anyway
    dlq_drop_fraction: float = 0.0  # messages the bad build dead-letters
    # SQS event source with ReportBatchItemFailures and a redrive policy on the source queue
    has_sqs_source: bool = False
    sqs_fail_fraction: float = 0.0  # items the bad build reports as failed (no Errors)
    sqs_max_receive: int = 3
    sqs_visibility_s: float = 30.0
    # Kinesis event source mapping
    has_stream: bool = False
    stream_utilisation: float = 0.5  # share of the shard's time the healthy build is busy
    stream_slowdown: float = 1.0  # per-batch time multiplier of the bad build
    stream_steps: bool = False  # the bad build stalls every other minute only
    stream_base_age_ms: float = 500.0
    # the guarding alias-level Errors alarm (SAM's CodeDeploy alarm shape, threshold set just above normal)
    business_rate: float = 0.0  # orders per request on a healthy build (0: the team watches no business metric)
    business_factor: float = 1.0  # the new build's orders per request, relative
    business_noise: float = 0.1  # per-period lognormal spread of the orders rate (campaigns, carts)
    team_p95_budget_ms: float | None = None  # the team's absolute p95 limit, held for 3 minutes

    has_alarm: bool = False
    alarm_threshold: int = 0
    alarm_flap: bool = False  # the old version's fault comes and goes in 2-4 minute waves
    flagger_threshold: float = 0.01
    note: str = field(default="", compare=False)

    @property
    def split(self) -> str:
        return FAMILIES[self.family].split

    @property
    def bad(self) -> bool:
        return not FAMILIES[self.family].good

    def harm_per_new_invocation(self) -> float:
        """The probability that an invocation of the new build hurts its user, while the regression is on
        (for growing regressions: at the end of a 15-minute release)."""
        if self.kind == "error":
            return min(1.0, self.regression_error + self.error_growth_per_min * 15)
        if self.kind == "latency":
            return self.tail_fraction if self.tail_fraction else 1.0
        if self.kind == "burn":
            return 1.0
        if self.kind == "dlq":
            return self.dlq_drop_fraction
        if self.kind == "sqs_partial":
            return self.sqs_fail_fraction
        if self.kind == "stream":
            return 1.0
        if self.kind == "business":
            return self.business_rate * (1 - self.business_factor)  # an order lost per request
        return 0.0

    @property
    def visible_to_a_watch(self) -> bool:
        """Whether a 5-minute 10% canary and a 10-minute watch can see the bad release at all: enough
        harmed invocations (or, for latency, enough invocations for a percentile) happen in that time
        at the expected rate, and extra errors stand 3 sigma out of the normal ones. Pure statistics
        of the world, no judge's. The detection target is over these; the rest are reported apart."""
        if not self.bad:
            return False
        served = self.rate * (0.1 * 300 + 600)
        if self.kind == "burn":
            return (1 + self.burn_per_min) ** 15 >= 1.3 and served >= 40
        if self.kind == "latency":
            return served * self.harm_per_new_invocation() >= 20
        if self.kind == "sqs_partial":
            return self.sqs_max_receive * self.sqs_visibility_s <= 480 and served * self.sqs_fail_fraction >= 3
        if self.kind == "stream":
            return True
        extra = served * self.harm_per_new_invocation()
        if self.kind == "error":
            # the extra failures must stand out of the build's normal ones (3 sigma of a Poisson count)
            return extra >= max(3.0, 3 * math.sqrt(served * self.new_error))
        return extra >= 3


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def alarm_threshold(rate: float, normal_error: float) -> int:
    """The docs-shaped operator threshold for `Errors > T` over 1-minute periods: just above what the
    function fails normally *if errors were independent*, so that a normal minute at 1.5x traffic
    trips it less than once in 1,000 under a Poisson count."""
    mean = rate * 60 * normal_error * 1.5
    if mean > 200:  # the normal approximation; exp(-mean) would underflow below
        return math.ceil(mean + 3.09 * math.sqrt(mean))
    threshold, cumulative, term = 0, math.exp(-mean), math.exp(-mean)
    while 1 - cumulative >= 0.001:
        threshold += 1
        term *= mean / threshold
        cumulative += term
    return threshold


def _family_sequence(count: int, split: str, rng: np.random.Generator) -> list[str]:
    names = families_of(split)
    total = sum(FAMILIES[n].share for n in names)
    quotas = [math.floor(FAMILIES[n].share / total * count) for n in names]
    order = sorted(range(len(names)), key=lambda i: -FAMILIES[names[i]].share)
    for i in range(count - sum(quotas)):
        quotas[order[i % len(names)]] += 1
    sequence = [n for n, q in zip(names, quotas, strict=True) for _ in range(q)]
    rng.shuffle(sequence)
    return sequence


def make_corpus(count: int, seed: int, split: str = TRAIN) -> list[Scenario]:
    """`count` scenarios of the split's families (in proportion to their shares), drawn from `seed`."""
    if split not in SPLITS:
        raise ValueError(f"split is one of {SPLITS}")
    rng = np.random.default_rng([seed, 11])
    families = _family_sequence(count, split, rng)
    return [make_scenario(i, family, seed) for i, family in enumerate(families)]


def _base(rng: np.random.Generator, idx: int, family: str, seed: int) -> dict:
    normal_error = 0.0 if rng.random() < 0.3 else _log_uniform(rng, 0.0005, 0.03)
    median_ms = _log_uniform(rng, 20, 800)
    common: dict = {
        "idx": idx,
        "family": family,
        "seed": seed,
        "offset_s": int(rng.integers(0, 6)) * 10,
        "normal_error": normal_error,
        "old_error": normal_error,
        "new_error": normal_error,
        "latency_median_ms": median_ms,
        "latency_sigma": float(rng.uniform(0.25, 0.7)),
        "warmup_multiplier": float(rng.uniform(1.3, 2.5)),
        "has_alarm": bool(rng.random() < 0.5),
        # most real error counts are somewhat overdispersed; a few functions are very much so
        "error_dispersion": float(rng.uniform(2, 20)) if rng.random() < 0.5 else 0.0,
    }
    if rng.random() < 0.25:
        common.update(
            has_dlq=True,
            asynchronous=True,
            dlq_backlog=0 if rng.random() < 0.5 else int(_log_uniform(rng, 1, 5000)),
            dlq_poison_per_hour=0.0 if rng.random() < 0.8 else float(rng.uniform(0.1, 1.0)),
        )
    if rng.random() < 0.1:
        common.update(has_stream=True, stream_utilisation=float(rng.uniform(0.2, 0.7)))
    return common


def _set_error_rates(common: dict, old: float, new: float | None = None) -> None:
    common.update(normal_error=old, old_error=old, new_error=old if new is None else new)


def make_scenario(idx: int, family: str, seed: int) -> Scenario:
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}")
    rng = np.random.default_rng([seed, idx, 7])
    common = _base(rng, idx, family, seed)
    median_ms, sigma = common["latency_median_ms"], common["latency_sigma"]
    p95_ms = median_ms * math.exp(1.645 * sigma)
    slower = max(float(rng.uniform(1.5, 4.0)), 1 + 60 / p95_ms)

    def error_regression(low: float, high: float) -> None:
        common.update(kind="error", regression_error=float(rng.uniform(low, high)))

    if family == "good":
        rate = _log_uniform(rng, 1 / 60, 100)
    elif family == "fix_while_alarm" or family == "alarm_flap_fix":
        rate = _log_uniform(rng, 1, 100)
        threshold = alarm_threshold(rate, common["normal_error"])
        floor = (2 * threshold + 5) / (rate * 60)
        common.update(has_alarm=True, old_error=min(0.9, max(float(rng.uniform(0.06, 0.3)), floor)))
        if family == "alarm_flap_fix":
            common["alarm_flap"] = True
    elif family in ("error_small", "error_medium", "error_total"):
        rate = _log_uniform(rng, 0.2, 100)
        error_regression(*{"error_small": (0.02, 0.05), "error_medium": (0.05, 0.3), "error_total": (1.0, 1.0)}[family])
    elif family == "latency":
        rate = _log_uniform(rng, 1, 100)
        if rng.random() < 0.7:  # everything slower: a slower dependency, less memory, an N+1 query
            common.update(kind="latency", latency_multiplier=slower)
        else:  # a slow path hit by a share of requests
            common.update(
                kind="latency",
                tail_fraction=float(rng.uniform(0.1, 0.3)),
                tail_add_ms=float(rng.uniform(max(200.0, p95_ms), max(2000.0, 3 * p95_ms))),
            )
    elif family == "dlq_inflow":
        rate = _log_uniform(rng, 0.1, 50)
        common.update(
            kind="dlq",
            has_dlq=True,
            asynchronous=True,
            dlq_backlog=0 if rng.random() < 0.5 else int(_log_uniform(rng, 1, 5000)),
            dlq_drop_fraction=float(rng.uniform(0.02, 0.5)),
        )
    elif family in ("stream_lag", "stream_steps"):
        rate = _log_uniform(rng, 0.2, 5)  # batches per second
        utilisation = float(rng.uniform(0.3, 0.7))
        common.update(
            kind="stream",
            has_stream=True,
            stream_utilisation=utilisation,
            stream_slowdown=float(rng.uniform(1.5, 4.0)) / utilisation,
            stream_steps=family == "stream_steps",
        )
    elif family == "low_traffic":
        rate = _log_uniform(rng, 1 / 60, 0.2)
        error_regression(*((1.0, 1.0) if rng.random() < 0.5 else (0.1, 0.5)))
    elif family == "post_promotion":
        rate = _log_uniform(rng, 0.5, 100)
        common.update(trigger="load", trigger_delay_s=float(rng.uniform(0, 120)))
        if rng.random() < 0.7:
            error_regression(0.05, 0.5)
        else:
            common.update(kind="latency", latency_multiplier=max(float(rng.uniform(2.0, 4.0)), 1 + 60 / p95_ms))
    elif family == "incident_watch" or family == "incident_canary":
        rate = _log_uniform(rng, 0.5, 100)
        common.update(
            incident_phase="watch" if family == "incident_watch" else "canary",
            incident_error=float(rng.uniform(0.05, 0.5)),
            incident_latency=float(rng.uniform(1.0, 3.0)),
            incident_len_s=float(rng.uniform(60, 300)),
        )
    elif family == "latency_drift_watch":
        rate = _log_uniform(rng, 0.5, 100)
        common.update(drift_phase="watch", drift_multiplier=float(rng.uniform(1.4, 3.0)))
    elif family == "noisy_high_base":
        rate = _log_uniform(rng, 0.5, 100)
        _set_error_rates(common, float(rng.uniform(0.05, 0.2)))
        common.update(error_dispersion=float(rng.uniform(1.5, 5)))
    elif family == "caller_clustered":
        rate = _log_uniform(rng, 0.5, 100)
        _set_error_rates(common, float(rng.uniform(0.01, 0.15)))
        common.update(caller_burst_share=float(rng.uniform(0.5, 0.9)), caller_burst_size=float(rng.uniform(5, 40)))
    elif family == "stable_above_ceiling":
        rate = _log_uniform(rng, 0.5, 100)
        _set_error_rates(common, float(rng.uniform(0.06, 0.15)))
    elif family in ("late_data", "late_missing"):
        rate = _log_uniform(rng, 0.2, 100)
        common.update(delay_profile="late", errors_lag_probability=0.2 if family == "late_data" else 0.5)
    elif family == "below_margin":
        rate = _log_uniform(rng, 1, 100)
        old = float(rng.uniform(0.02, 0.15))
        _set_error_rates(common, old, old * float(rng.uniform(1.02, 1.08)))
    elif family == "wobble_high_base":
        rate = _log_uniform(rng, 1, 100)
        old = float(rng.uniform(0.08, 0.12))
        _set_error_rates(common, old, old + float(rng.uniform(0.002, 0.005)))
        common.update(error_dispersion=float(rng.uniform(3, 20)))
    elif family == "bursty_good" or family == "bursty_regression":
        rate = _log_uniform(rng, 0.3, 60)
        if family == "bursty_regression" and rng.random() < 0.5:
            common.update(traffic_shape="diurnal", diurnal_change=_log_uniform(rng, 0.4, 2.5))
        else:
            common.update(
                traffic_shape="bursty",
                burst_per_hour=float(rng.uniform(4, 12)),
                burst_multiplier=float(rng.uniform(3, 8)),
            )
        if family == "bursty_regression":
            error_regression(0.03, 0.3)
    elif family == "good_diurnal":
        rate = _log_uniform(rng, 1 / 60, 100)
        common.update(traffic_shape="diurnal", diurnal_change=_log_uniform(rng, 0.4, 2.5))
    elif family == "quiet_watch":
        rate = _log_uniform(rng, 0.3, 20)
        common.update(quiet_after_s=float(rng.uniform(300, 420)), quiet_factor=float(rng.uniform(0, 0.01)))
    elif family in ("metric_outage_short", "metric_outage_long"):
        rate = _log_uniform(rng, 0.5, 100)
        length = rng.uniform(120, 240) if family == "metric_outage_short" else rng.uniform(300, 720)
        common.update(metric_outage_start_s=float(rng.uniform(0, 600)), metric_outage_len_s=float(length))
    elif family in ("smoke_blind", "untested_request_type"):
        rate = _log_uniform(rng, 0.05, 0.3) if family == "smoke_blind" else _log_uniform(rng, 1 / 60, 0.05)
        error_regression(*((1.0, 1.0) if rng.random() < 0.5 else (0.2, 0.6)))
        common["smoke_hits_regression"] = False
    elif family == "doubling_high_traffic":
        rate = _log_uniform(rng, 30, 300)
        old = _log_uniform(rng, 0.001, 0.005)
        _set_error_rates(common, old)
        error_regression(old * 1.0, old * 2.0)
    elif family == "relative_high_traffic":
        rate = _log_uniform(rng, 100, 400)
        old = _log_uniform(rng, 0.0005, 0.002)
        _set_error_rates(common, old)
        error_regression(old * 3.0, old * 9.0)
    elif family == "above_margin" or family == "noisy_base_regression":
        rate = _log_uniform(rng, 1, 100)
        old = float(rng.uniform(0.01, 0.1)) if family == "above_margin" else float(rng.uniform(0.05, 0.15))
        _set_error_rates(common, old)
        if family == "noisy_base_regression":
            common.update(error_dispersion=float(rng.uniform(2, 6)))
        error_regression(old * 0.6, old * 1.5)
    elif family == "async_retries" or family == "async_blips":
        rate = _log_uniform(rng, 0.2, 50)
        common.update(asynchronous=True, has_dlq=True)
        if family == "async_retries":
            error_regression(0.05, 0.5)
        else:
            common.update(
                incident_phase="canary" if rng.random() < 0.5 else "watch",
                incident_error=float(rng.uniform(0.1, 0.6)),
                incident_len_s=float(rng.uniform(30, 120)),
            )
    elif family == "error_burn":
        rate = _log_uniform(rng, 0.5, 100)
        common.update(kind="error", error_growth_per_min=float(rng.uniform(0.002, 0.01)))
    elif family == "throttle_slow_build" or family == "throttled_near_limit":
        rate = _log_uniform(rng, 5, 200)
        mean_s = median_ms * math.exp(sigma**2 / 2) / 1000
        # reserved concurrency just above normal demand: normal bursts graze it
        common["reserved_concurrency"] = max(2.0, rate * mean_s * float(rng.uniform(1.1, 1.4)))
        if family == "throttle_slow_build":
            common.update(kind="latency", latency_multiplier=float(rng.uniform(1.5, 3.0)))
        else:
            common.update(traffic_shape="bursty", burst_per_hour=float(rng.uniform(6, 12)), burst_multiplier=2.0)
    elif family == "long_warmup":
        rate = _log_uniform(rng, 0.5, 100)
        # lasting 2-6 minutes: about three time constants
        common.update(jit_extra=float(rng.uniform(0.5, 1.5)), jit_tau_s=float(rng.uniform(40, 120)))
    elif family == "thin_slow_build":
        rate = _log_uniform(rng, 0.5, 4)
        common.update(kind="latency", latency_multiplier=float(rng.uniform(2.5, 4.0)))
    elif family == "slow_burn":
        rate = _log_uniform(rng, 1, 100)
        common.update(kind="burn", burn_per_min=float(rng.uniform(0.02, 0.05)))
    elif family == "sqs_partial_batch":
        rate = _log_uniform(rng, 0.5, 50)
        common.update(
            kind="sqs_partial",
            has_dlq=False,
            asynchronous=False,
            has_sqs_source=True,
            sqs_fail_fraction=float(rng.uniform(0.05, 0.5)),
            sqs_max_receive=int(rng.integers(2, 5)),
            sqs_visibility_s=float(rng.uniform(20, 90)),
        )
    elif family == "late_data_regression":
        rate = _log_uniform(rng, 1, 100)
        common.update(delay_profile="late", errors_lag_probability=0.5)
        error_regression(0.03, 0.3)
    elif family == "incident_and_regression":
        rate = _log_uniform(rng, 1, 100)
        common.update(
            incident_phase="canary",
            incident_error=float(rng.uniform(0.05, 0.3)),
            incident_len_s=float(rng.uniform(60, 240)),
        )
        error_regression(0.05, 0.3)
    elif family in ("business_good", "business_regression"):
        rate = _log_uniform(rng, 0.5, 100)
        common.update(business_rate=float(rng.uniform(0.05, 0.6)), business_noise=float(rng.uniform(0.05, 0.25)))
        if family == "business_regression":
            common.update(kind="business", business_factor=float(rng.uniform(0.3, 0.8)))
    elif family in ("latency_budget_ok", "latency_budget_breach"):
        rate = _log_uniform(rng, 1, 100)
        if family == "latency_budget_ok":
            common["team_p95_budget_ms"] = p95_ms * float(rng.uniform(1.15, 1.4))
        else:
            common.update(
                kind="latency",
                latency_multiplier=float(rng.uniform(1.15, 1.27)),
                team_p95_budget_ms=p95_ms * float(rng.uniform(1.02, 1.1)),
            )
    else:  # pragma: no cover - every family above has a branch
        raise ValueError(f"family {family!r} has no generator")
    if common.get("has_stream"):
        common["stream_base_age_ms"] = float(rng.uniform(100, 3000))
    return Scenario(
        rate=rate,
        alarm_threshold=alarm_threshold(rate, common["normal_error"]),
        flagger_threshold=max(0.01, common["normal_error"] + 0.01),
        **common,
    )
