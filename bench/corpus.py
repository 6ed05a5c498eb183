"""The seeded corpus: synthetic releases of a Lambda function, in families.

Each scenario describes a function (traffic, normal error rate, latency distribution, queues,
streams, alarms) and a release (good, or bad in one way). The world model in `bench.world` turns
it into CloudWatch-like series. Ground truth is the family: a release is bad when the new code
hurts users (errors, latency users notice, dropped messages, stream lag), good otherwise, including
a tiny real error-rate difference well under the policy margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Families and their share of the corpus. The "good" families are what a false rollback is
#: measured on; every other family is a bad release.
FAMILIES: dict[str, float] = {
    "good": 0.40,
    "fix_while_alarm": 0.05,
    "error_small": 0.08,
    "error_medium": 0.08,
    "error_total": 0.07,
    "latency": 0.08,
    "dlq_inflow": 0.06,
    "stream_lag": 0.06,
    "low_traffic": 0.06,
    "post_promotion": 0.06,
}
GOOD_FAMILIES = ("good", "fix_while_alarm")
ERROR_FAMILIES = ("error_small", "error_medium", "error_total")


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
    # the regression, if any
    kind: str = "none"  # none | error | latency | dlq | stream
    regression_error: float = 0.0  # extra failure probability per invocation
    latency_multiplier: float = 1.0  # every invocation slower by this factor
    tail_fraction: float = 0.0  # or: this fraction of invocations ...
    tail_add_ms: float = 0.0  # ... slower by this much
    trigger: str = "start"  # start: from the first canary invocation; load: once it serves >= 50%
    trigger_delay_s: float = 0.0
    # latency of a healthy build
    latency_median_ms: float = 100.0
    latency_sigma: float = 0.4
    warmup_multiplier: float = 1.8  # first invocation in a fresh execution environment
    throttle_rate: float = 0.0  # the function's concurrency limit, hits both versions alike
    # dead-letter queue
    has_dlq: bool = False
    dlq_backlog: int = 0
    dlq_poison_per_hour: float = 0.0  # poison messages the live version dead-letters anyway
    dlq_drop_fraction: float = 0.0  # messages the bad build drops (partial batch failures)
    # Kinesis event source mapping
    has_stream: bool = False
    stream_utilisation: float = 0.5  # share of the shard's time the healthy build is busy
    stream_slowdown: float = 1.0  # per-batch time multiplier of the bad build
    stream_base_age_ms: float = 500.0
    # the guarding alias-level Errors alarm (the SAM docs shape, threshold set just above normal)
    has_alarm: bool = False
    alarm_threshold: int = 0
    flagger_threshold: float = 0.01
    note: str = field(default="", compare=False)

    @property
    def bad(self) -> bool:
        return self.family not in GOOD_FAMILIES

    def harm_per_new_invocation(self) -> float:
        """The probability that an invocation of the new build hurts its user, while the regression is on."""
        if self.kind == "error":
            return self.regression_error
        if self.kind == "latency":
            return self.tail_fraction if self.tail_fraction else 1.0
        if self.kind == "dlq":
            return self.dlq_drop_fraction
        if self.kind == "stream":
            return 1.0
        return 0.0


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def alarm_threshold(rate: float, normal_error: float) -> int:
    """An operator's threshold for `Errors > T` over 1-minute periods: just above what the function
    fails normally, so that a normal minute at 1.5x traffic trips it less than once in 1,000."""
    mean = rate * 60 * normal_error * 1.5
    threshold, cumulative, term = 0, math.exp(-mean), math.exp(-mean)
    while 1 - cumulative >= 0.001:
        threshold += 1
        term *= mean / threshold
        cumulative += term
    return threshold


def _family_sequence(count: int, rng: np.random.Generator) -> list[str]:
    names = list(FAMILIES)
    quotas = [math.floor(FAMILIES[n] * count) for n in names]
    for i in range(count - sum(quotas)):
        quotas[i % len(names)] += 1
    sequence = [n for n, q in zip(names, quotas, strict=True) for _ in range(q)]
    rng.shuffle(sequence)
    return sequence


def make_corpus(count: int, seed: int) -> list[Scenario]:
    rng = np.random.default_rng(seed)
    families = _family_sequence(count, rng)
    return [make_scenario(i, family, seed) for i, family in enumerate(families)]


def make_scenario(idx: int, family: str, seed: int) -> Scenario:
    rng = np.random.default_rng([seed, idx, 7])
    normal_error = 0.0 if rng.random() < 0.3 else _log_uniform(rng, 0.0005, 0.03)
    median_ms = _log_uniform(rng, 20, 800)
    sigma = float(rng.uniform(0.25, 0.7))
    common: dict = {
        "idx": idx,
        "family": family,
        "seed": seed,
        "offset_s": int(rng.integers(0, 6)) * 10,
        "normal_error": normal_error,
        "old_error": normal_error,
        "new_error": normal_error,
        "latency_median_ms": median_ms,
        "latency_sigma": sigma,
        "warmup_multiplier": float(rng.uniform(1.3, 2.5)),
        "throttle_rate": 0.0 if rng.random() < 0.85 else float(rng.uniform(0.001, 0.01)),
        "has_alarm": bool(rng.random() < 0.5),
    }
    if rng.random() < 0.25:
        common.update(
            has_dlq=True,
            dlq_backlog=0 if rng.random() < 0.5 else int(_log_uniform(rng, 1, 5000)),
            dlq_poison_per_hour=0.0 if rng.random() < 0.8 else float(rng.uniform(0.1, 1.0)),
        )
    if rng.random() < 0.1:
        common.update(has_stream=True, stream_utilisation=float(rng.uniform(0.2, 0.7)))
    p95_ms = median_ms * math.exp(1.645 * sigma)

    if family == "good":
        rate = _log_uniform(rng, 1 / 60, 100)
        if normal_error >= 0.005 and rng.random() < 0.3:  # a tiny real difference, well under the 1-point margin
            common["new_error"] = normal_error + float(rng.uniform(0.001, 0.004))
            common["note"] = "tiny real difference"
    elif family == "fix_while_alarm":
        rate = _log_uniform(rng, 1, 100)
        threshold = alarm_threshold(rate, normal_error)
        floor = (2 * threshold + 5) / (rate * 60)
        common.update(has_alarm=True, old_error=min(0.9, max(float(rng.uniform(0.06, 0.3)), floor)))
    elif family in ERROR_FAMILIES:
        rate = _log_uniform(rng, 0.2, 100)
        size = {"error_small": (0.02, 0.05), "error_medium": (0.05, 0.3), "error_total": (1.0, 1.0)}[family]
        common.update(kind="error", regression_error=float(rng.uniform(*size)))
    elif family == "latency":
        rate = _log_uniform(rng, 1, 100)
        if rng.random() < 0.7:  # everything slower: a slower dependency, less memory, an N+1 query
            multiplier = max(float(rng.uniform(1.5, 4.0)), 1 + 60 / p95_ms)
            common.update(kind="latency", latency_multiplier=multiplier)
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
            dlq_backlog=0 if rng.random() < 0.5 else int(_log_uniform(rng, 1, 5000)),
            dlq_drop_fraction=float(rng.uniform(0.02, 0.5)),
        )
    elif family == "stream_lag":
        rate = _log_uniform(rng, 0.2, 5)  # batches per second
        utilisation = float(rng.uniform(0.3, 0.7))
        common.update(
            kind="stream",
            has_stream=True,
            stream_utilisation=utilisation,
            stream_slowdown=float(rng.uniform(1.5, 4.0)) / utilisation,
        )
    elif family == "low_traffic":
        rate = _log_uniform(rng, 1 / 60, 0.2)
        size = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.1, 0.5))
        common.update(kind="error", regression_error=size)
    elif family == "post_promotion":
        rate = _log_uniform(rng, 0.5, 100)
        common.update(trigger="load", trigger_delay_s=float(rng.uniform(0, 120)))
        if rng.random() < 0.7:
            common.update(kind="error", regression_error=float(rng.uniform(0.05, 0.5)))
        else:
            common.update(kind="latency", latency_multiplier=max(float(rng.uniform(2.0, 4.0)), 1 + 60 / p95_ms))
    else:
        raise ValueError(f"unknown family {family!r}")
    if common.get("has_stream"):
        common["stream_base_age_ms"] = float(rng.uniform(100, 3000))
    return Scenario(
        rate=rate,
        alarm_threshold=alarm_threshold(rate, normal_error),
        flagger_threshold=max(0.01, normal_error + 0.01),
        **common,
    )
