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
    """One metric period of one version. A field is None when CloudWatch returned no datapoint."""

    start: datetime
    invocations: float | None = None
    errors: float | None = None
    throttles: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None


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


class StreamSeries(_Model):
    """An event source mapping's IteratorAge (max per period, ms): preflight level and samples."""

    mapping_uuid: str
    baseline_ms: float | None
    samples: list[GaugeSample] = Field(default_factory=list)


class AlarmObservation(_Model):
    """A guarding alarm: its state at preflight and now. An alarm already in ALARM at preflight was
    raised by the stable version and does not fail the new one."""

    name: str
    state_at_preflight: str
    state_now: str
    reason: str | None = None


class SyntheticSeries(_Model):
    """Rollgate's own probe invocations of the new version's *qualifier* (never the alias), judged
    from the invoke responses. They are their own evidence: they can fail a release, they never
    count as organic samples and never make a verdict HEALTHY on their own."""

    version: str
    sent: int = Field(description="probe invocations sent to the new version's qualifier")
    failed: int = Field(description="of those, how many returned a function error or failed to invoke")
    failures: list[str] = Field(default_factory=list, description="a few example failure messages")


class HealthWindow(_Model):
    """Everything the judge is shown for one verdict.

    canary phase: `canary` is the new version's series, `stable` the old version's over the same
    periods, behind the same alias, under the same load. watch phase (after promotion): there is no
    stable version any more; `stable` is None and `baseline` holds the old version's series from
    before the deployment."""

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
