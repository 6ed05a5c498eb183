"""What the judge sees and what it answers.

The inputs model CloudWatch as it really behaves: per-period aggregates only (no raw samples),
percentiles as statistics, and *no datapoint* (None, not zero) for a period with no traffic.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EvidenceKind(str, Enum):
    """Where a check's evidence came from. Kinds are kept apart end to end: synthetic probes can
    fail a release but never make it healthy, and an operational failure (metric reads failing) is
    never evidence against the release."""

    ORGANIC_PAIRED = "organic_paired"  # canary vs stable (or the holdback) over the same periods
    SYNTHETIC = "synthetic"  # Rollgate's own probe invocations of the new version's qualifier
    UNPAIRED = "unpaired"  # the new version against its pre-deploy baseline, nothing alongside
    LOGS = "logs"
    OPERATIONAL = "operational"  # reads of metrics, queues or alarms failed: nothing was judged


class PeriodStats(_Model):
    """One metric period of one version. A field is None when CloudWatch returned no datapoint:
    missing is never zero (Errors missing while Invocations is present is missing data, and the
    judge leaves that period out rather than count no errors)."""

    start: datetime
    invocations: float | None = None
    errors: float | None = None
    throttles: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    p50_ms: float | None = Field(
        default=None,
        description="Duration p50: lets the judge pool thin periods (a median above the reference's p95 "
        "is half the invocations beyond where 5% of the reference's are)",
    )
    duration_avg_ms: float | None = Field(
        default=None,
        description="Duration average: concurrency held per invocation, the evidence that blames function-level "
        "throttles on a version",
    )
    batch_items: float | None = Field(
        default=None, description="SQS records delivered to this version in the period (partial batch responses)"
    )
    batch_item_failures: float | None = Field(
        default=None,
        description="records this version reported as batchItemFailures: they produce no Errors, so they are "
        "judged as their own failure rate",
    )


class VersionSeries(_Model):
    version: str
    periods: list[PeriodStats] = Field(default_factory=list)

    def total(self, field: Literal["invocations", "errors", "throttles"]) -> float:
        return sum(getattr(p, field) or 0.0 for p in self.periods)


class GaugeSample(_Model):
    at: datetime
    value: float | None


class QueueSeries(_Model):
    """A dead-letter queue: its depth at preflight and samples since."""

    queue: str
    baseline: float
    samples: list[GaugeSample] = Field(default_factory=list)
    source: str | None = Field(
        default=None,
        description="what feeds it: the SQS source queue whose redrive policy it is, or None for the "
        "function's own async dead-letter queue / on-failure destination",
    )
    kind: Literal["async", "source_redrive"] = Field(
        default="async",
        description="async: failed async invocations (they also count as Errors); source_redrive: records a "
        "source queue gave up on, including partial batch failures that produce no Errors",
    )
    expected_growth: float | None = Field(
        default=None,
        description="messages the queue's inflow before the deploy (e.g. NumberOfMessagesSent over the previous "
        "hours) would have added since preflight: the old version's stray poison messages. Growth is then judged "
        "against it (Poisson tail at the significance) instead of against max_dlq_growth alone",
    )


class StreamSeries(_Model):
    """An event source mapping's IteratorAge (max per period, ms): preflight level and samples."""

    mapping_uuid: str
    baseline_ms: float | None
    samples: list[GaugeSample] = Field(default_factory=list)


class AlarmObservation(_Model):
    """A guarding alarm: its state at preflight and now, and the evidence of which version moved
    it. An alarm counts against the new version only with that evidence (its metric split by
    version, or the new version's share of the breach), never by timing alone: an alias-level
    alarm the old version trips during the canary must not fail an error-free fix."""

    name: str
    state_at_preflight: str
    state_now: str
    reason: str | None = None
    new_version_breaches: bool | None = Field(
        default=None,
        description="the alarm's metric restricted to the new version (ExecutedVersion) breaches the alarm's "
        "threshold on its own; None when the metric cannot be split by version",
    )
    new_version_amount: float | None = Field(
        default=None,
        description="the alarm metric's amount (e.g. errors) from the new version over the breach; with "
        "total_amount, the new version's share of the breach",
    )
    total_amount: float | None = Field(default=None, description="the alarm metric's amount from all versions")


class SyntheticSeries(_Model):
    """Rollgate's own probe invocations of the new version's *qualifier* (never the alias), judged
    from the invoke responses. They are their own evidence: they can fail a release, they never
    count as organic samples and never make a verdict HEALTHY on their own."""

    version: str
    sent: int = Field(description="probe invocations sent to the new version's qualifier")
    failed: int = Field(description="of those, how many returned a function error or failed to invoke")
    failures: list[str] = Field(default_factory=list, description="a few example failure messages")


class CustomSeries(_Model):
    """One of the policy's custom metrics (by name) over the window: the new version's values (or,
    without a version dimension, the function's), the version alongside over the same periods when
    the metric carries the version (paired), else its pre-deploy values (unpaired)."""

    name: str
    canary: list[GaugeSample] = Field(default_factory=list)
    reference: list[GaugeSample] | None = Field(
        default=None, description="the version alongside (stable or the holdback), same periods: paired"
    )
    baseline: list[GaugeSample] = Field(
        default_factory=list, description="the pre-deploy values the canary's are compared with when not paired"
    )


class LogSignature(_Model):
    """One normalised error signature in a version's logs: how many invocations showed it."""

    kind: Literal["error", "timeout", "crash"]
    signature: str
    invocations: int
    example: str = Field(default="", description="one line that showed it, as logged (cut to 300 characters)")


class LogBucket(_Model):
    """One stretch of time (10 s) of a version's log lines: counted apart so the checks can compare the
    versions stretch by stretch, as the errors test compares periods (an incident that hits both in one
    stretch cancels out)."""

    start: datetime
    invocations: int = 0
    failed: int = 0
    signatures: dict[str, int] = Field(
        default_factory=dict, description="'kind:signature' -> invocations that showed it in this stretch"
    )


class LogSeries(_Model):
    """One version's own log lines over the window (its streams carry the version in their name):
    invocations from the REPORT lines, failed invocations from the error-class lines."""

    version: str
    invocations: int = Field(description="REPORT lines read: one per invocation")
    failed_invocations: int = Field(description="distinct invocations with an error, timeout or crash line")
    signatures: list[LogSignature] = Field(default_factory=list)
    window_end: datetime | None = Field(
        default=None,
        description="the lines were read up to here, earlier than the window's end when a page budget cut the "
        "read (at high traffic)",
    )
    note: str | None = Field(default=None, description="what was sampled or cut, in a sentence")
    buckets: list[LogBucket] = Field(
        default_factory=list, description="the same counts per stretch of `bucket_seconds` (by the line's time)"
    )
    bucket_seconds: int = Field(default=10, description="the stretches' length")


class HealthWindow(_Model):
    """Everything the judge is shown for one verdict.

    canary phase: `canary` is the new version's series, `stable` the old version's over the same
    periods, behind the same alias, under the same load. watch phase (after promotion): with a
    holdback, `stable` is the previous version's small share over the same periods and the watch is
    paired like the canary; without one, `stable` is None and `baseline` holds the old version's
    series from before the deployment (unpaired)."""

    phase: Literal["canary", "watch"]
    canary_weight: int
    elapsed_seconds: float
    canary: VersionSeries
    stable: VersionSeries | None = None
    baseline: VersionSeries | None = None
    queues: list[QueueSeries] = Field(default_factory=list)
    streams: list[StreamSeries] = Field(default_factory=list)
    alarms: list[AlarmObservation] = Field(default_factory=list)
    synthetic: SyntheticSeries | None = Field(
        default=None, description="probe invocations of the new version's qualifier, judged as their own check"
    )
    synthetic_control: SyntheticSeries | None = Field(
        default=None,
        description="the same probes sent to the previous version's qualifier at the same time: with it, probe "
        "failures are compared paired (a downstream incident fails both); without it, they must also be "
        "significantly above the error ceiling to fail the release",
    )
    custom: list[CustomSeries] = Field(
        default_factory=list, description="the policy's custom metrics, read for this window"
    )
    logs: LogSeries | None = Field(default=None, description="the new version's log lines over the window")
    logs_reference: LogSeries | None = Field(
        default=None, description="the version alongside's (stable or the holdback), over the same window"
    )
    logs_read_failure: str | None = Field(
        default=None,
        description="the log read failed: the logs check is not judged (metrics still are; a logs outage is not "
        "a reason to hold a release)",
    )
    read_failures: list[str] = Field(
        default_factory=list,
        description="metric, queue or alarm reads that failed after retries: the verdict is INCONCLUSIVE "
        "(decided by OPERATIONAL), never UNHEALTHY",
    )
    weight_since: datetime | None = Field(
        default=None,
        description="when the current canary weight took effect: periods that mix pre-shift traffic are "
        "excluded and warm-up is counted from it",
    )
    budget_seconds: float | None = Field(
        default=None,
        description="how much longer the gate may judge before it must decide (canary: the step's bake left plus "
        "the extension budget left; watch: to its end plus the hold). The canary asks for the samples that rule "
        "out a doubling of the reference's error rate only when they can arrive within it; the last judgement "
        "of either uses final_look_significance. None: neither",
    )
    earlier_shifts: list[datetime] = Field(
        default_factory=list,
        description="the canary's weight changes before `weight_since` (strategy steps, widenings): latency "
        "periods within the warm-up after any of them are not judged",
    )
    observed_at: datetime | None = Field(
        default=None,
        description="when the window was read: a period older than the policy's metric_settle_seconds is taken "
        "as published on both sides even without a datapoint (no traffic)",
    )
    logs_only: bool = Field(
        default=False,
        description="a log poll between two judgements (health.log_poll_seconds): only the versions' log lines "
        "were read; the verdict can fail the release on them and is otherwise INCONCLUSIVE until the next full "
        "judgement",
    )


class Outcome(str, Enum):
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    INCONCLUSIVE = "INCONCLUSIVE"


class CheckStatus(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    SKIPPED = "skipped"


class Check(_Model):
    """One check of a verdict: what was compared, what was seen, the threshold or statistic, the
    decision, and one sentence a person on call understands without the dashboard."""

    name: str
    status: CheckStatus
    observed: dict[str, Any] = Field(default_factory=dict)
    threshold: dict[str, Any] = Field(default_factory=dict)
    summary: str
    kind: EvidenceKind | None = Field(default=None, description="which kind of evidence the check used")


class Verdict(_Model):
    outcome: Outcome
    summary: str
    checks: list[Check] = Field(default_factory=list)
    samples_seen: float = 0
    samples_needed: float | None = None
    decided_by: EvidenceKind | None = Field(default=None, description="the kind of evidence that decided the outcome")

    def failed_checks(self) -> list[Check]:
        return [c for c in self.checks if c.status is CheckStatus.FAIL]
