"""The deployment contract: what a user asks for (DeploymentRequest) and what each gate records.

Everything here is plain pydantic, no AWS. The request is the execution input of the
DeployFunction state machine, so every field is documented in the README and every validation
message names the field it is about.
"""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from rollgate.contract import DEPLOY_STATUSES, Status
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.validation import (
    MAX_METRIC_PERIOD_SECONDS,
    MAX_SAFE_INTEGER,
    MAX_STAGE_SECONDS,
    MAX_WAIT_LOOPS,
    AliasName,
    BucketName,
    CodeSha256,
    Environment,
    EnvironmentKey,
    FunctionRef,
    ImageUri,
    LongText,
    MappingUuid,
    ObjectKey,
    QueueArn,
    StackHome,
    StageSeconds,
    Text,
    path_part,
)

_ASCII_NUMBER = re.compile(r"[0-9]{1,9}", re.ASCII)
ModelT = TypeVar("ModelT", bound=BaseModel)


class Strict(BaseModel):
    """Unknown fields are an error: a typo in a request must not be silently ignored."""

    # NaN and Infinity are not JSON, and no threshold or duration means anything with them
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        """pydantic reads `true` as 1; a duration or a threshold given as a boolean is a mistake."""
        if isinstance(value, bool) and info.field_name and _takes_number(cls.model_fields[info.field_name].annotation):
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value


def _takes_number(annotation: Any) -> bool:
    options = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    # Annotated[int, …] (a bounded duration) is an int too
    options = tuple(get_args(o)[0] if get_origin(o) is Annotated else o for o in options)
    return bool not in options and any(option in (int, float) for option in options)


class Lenient(BaseModel):
    """Gate records pass through the state machine whole; each task reads only what it needs."""

    model_config = ConfigDict(extra="ignore")


# --------------------------------------------------------------------------- the request
class Artifact(Strict):
    """Where the new code is: a zip in S3 (pinned by object version when the bucket is versioned),
    or a container image by digest (a tag can move under us, a digest cannot)."""

    bucket: BucketName | None = None
    key: ObjectKey | None = None
    version_id: LongText | None = None
    image_uri: ImageUri | None = None
    function_version: Annotated[str, Field(pattern=r"^[0-9]{1,10}$")] | None = Field(
        default=None,
        description="instead: a version of the function already published, released through the gates as it is "
        "(smoke, canary, watch; nothing updated or published): `rollgate deploy --version N`, undo to a known "
        "good version",
    )

    @model_validator(mode="after")
    def _one_source(self) -> Artifact:
        has_zip = bool(self.bucket or self.key)
        if self.function_version is not None:
            if has_zip or self.image_uri:
                raise ValueError("give function_version alone: an existing version is released as it is")
            return self
        if has_zip and self.image_uri:
            raise ValueError("give either bucket+key or image_uri, not both")
        if has_zip and not (self.bucket and self.key):
            raise ValueError("a zip artifact needs both bucket and key")
        if not has_zip and not self.image_uri:
            raise ValueError("give bucket+key of a zip, or image_uri of an image")
        return self

    @property
    def is_image(self) -> bool:
        return self.image_uri is not None

    def describe(self) -> str:
        if self.function_version is not None:
            return f"published version {self.function_version}"
        if self.image_uri:
            return self.image_uri
        suffix = f"?versionId={self.version_id}" if self.version_id else ""
        return f"s3://{self.bucket}/{self.key}{suffix}"


class StrategyType(str, Enum):
    CANARY = "canary"
    LINEAR = "linear"
    ALL_AT_ONCE = "all_at_once"


class Strategy(Strict):
    """How traffic moves: weights (percent of traffic on the new version) held for interval_seconds
    each while the judge watches, then 100%. all_at_once has no steps."""

    type: StrategyType = StrategyType.CANARY
    steps: list[int] = Field(default_factory=lambda: [10], max_length=99)
    interval_seconds: int = Field(default=300, le=MAX_STAGE_SECONDS)

    @field_validator("steps")
    @classmethod
    def _steps_are_increasing_percentages(cls, steps: list[int]) -> list[int]:
        for weight in steps:
            if not 0 < weight < 100:
                raise ValueError(f"each weight must be between 1 and 99 percent (got {weight})")
        if any(later <= earlier for earlier, later in itertools.pairwise(steps)):
            raise ValueError(f"weights must strictly increase (got {steps})")
        return steps

    @field_validator("interval_seconds")
    @classmethod
    def _positive_interval(cls, seconds: int) -> int:
        if seconds <= 0:
            raise ValueError(f"must be a positive number of seconds (got {seconds})")
        return seconds

    @model_validator(mode="after")
    def _steps_match_type(self) -> Strategy:
        if self.type is StrategyType.ALL_AT_ONCE and self.steps:
            raise ValueError("all_at_once takes no steps")
        if self.type is not StrategyType.ALL_AT_ONCE and not self.steps:
            raise ValueError(f"{self.type.value} needs at least one weight step")
        if self.type is StrategyType.CANARY and len(self.steps) != 1:
            raise ValueError("canary takes exactly one weight step; use linear for several")
        return self

    @classmethod
    def parse_shorthand(cls, text: str) -> Strategy:
        """`canary:10:300`, `linear:10:60` (10% more every 60 s) or `all-at-once`."""
        parts = text.strip().lower().replace("-", "_").split(":")
        kind = parts[0]
        if kind == StrategyType.ALL_AT_ONCE.value and len(parts) == 1:
            return cls(type=StrategyType.ALL_AT_ONCE, steps=[])
        if kind not in (StrategyType.CANARY.value, StrategyType.LINEAR.value) or len(parts) != 3:
            raise InvalidRequest(
                f"strategy: unknown strategy {text!r}; use canary:PERCENT:SECONDS, "
                "linear:PERCENT:SECONDS or all-at-once"
            )
        # int() would take fullwidth digits and " +10"; only plain ASCII digits are a number here
        if not all(_ASCII_NUMBER.fullmatch(part) for part in parts[1:]):
            raise InvalidRequest(f"strategy: {text!a} needs whole numbers for percent and seconds")
        percent, seconds = int(parts[1]), int(parts[2])
        if not 0 < percent < 100:
            raise InvalidRequest(f"strategy: percent must be between 1 and 99 (got {percent})")
        steps = [percent] if kind == "canary" else list(range(percent, 100, percent))
        return parse_model(cls, {"type": kind, "steps": steps, "interval_seconds": seconds}, "strategy")

    def weights(self) -> list[int]:
        return list(self.steps)


class SmokeTest(Strict):
    """One direct invocation of the new version. It passes when the function returns without a
    FunctionError (or with one, when expect_error) and the response contains expect_subset."""

    name: Text
    payload: Any = None
    expect_error: bool = False
    expect_subset: dict[str, Any] | None = None


class InconclusiveAction(str, Enum):
    # keep baking, and probe the new version's qualifier with the smoke payloads: the probes can
    # fail the release, they never count as samples (the alias's organic traffic decides)
    DRIVE_TRAFFIC = "drive_traffic"
    EXTEND = "extend"  # keep baking, up to max_extension_seconds
    FAIL = "fail"  # treat as unhealthy


class InconclusiveWatchAction(str, Enum):
    """What happens when the watch ends without a HEALTHY verdict on its data. It is never reported
    as healthy."""

    ROLLBACK = "rollback"  # put the previous version back
    # keep the watch going (with its holdback) for up to max_hold_seconds, for more data or for a
    # person to roll back (`rollgate rollback`); still INCONCLUSIVE then: roll back
    HOLD = "hold"
    PROMOTE_UNVERIFIED = "promote_unverified"  # move to 100%, concluded PROMOTED with verification "unverified"


#: The built-in series a threshold can name: the new version's own Lambda metrics per period (rates
#: as fractions, latencies in ms), the function's IteratorAge (ms) and its dead-letter queues' depth.
BUILTIN_THRESHOLD_METRICS = (
    "error_rate",
    "throttle_rate",
    "p50",
    "p95",
    "p99",
    "duration_average",
    "iterator_age",
    "dlq_depth",
)
#: The id the metric adapter gives a custom metric's result query; no input may take it.
RESERVED_QUERY_ID = "rollgate_result"
_METRIC_ID = Annotated[str, Field(pattern=r"^[a-z][a-zA-Z0-9_]{0,254}$")]
_CHECK_NAME = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]


class Threshold(Strict):
    """An absolute limit the team already runs, held for a duration: "error rate above 10% for 5
    minutes", "p95 above 5 s", "IteratorAge above 60 s", "DLQ not empty", or a custom metric's.
    Judged on the new version's own series, period by period; a breach must hold in
    ceil(for_seconds / metric_period_seconds) consecutive judged periods (at least one). A period
    without a datapoint, with fewer than `min_invocations`, or (latency) in a warm-up is not judged:
    it neither extends nor ends a run, as CloudWatch's own alarms treat missing data when told to
    ignore it."""

    metric: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")] = Field(
        description=f"one of {', '.join(BUILTIN_THRESHOLD_METRICS)}, or the name of one of health.custom_metrics"
    )
    above: float | None = Field(default=None, description="breached when the value is above this")
    below: float | None = Field(
        default=None, description="breached when the value is below this (e.g. orders per minute falling)"
    )
    for_seconds: int = Field(default=0, ge=0, le=MAX_STAGE_SECONDS, description="how long the breach must hold")
    min_invocations: int | None = Field(
        default=None,
        ge=0,
        le=1_000_000,
        description="rates and latencies: a period with fewer of the new version's invocations is not judged. "
        "Default: 5 beyond a percentile (p50 10, p95 100, p99 500: a thin canary period's 'p95' is its few "
        "slowest invocations), 20 for rates and the average",
    )
    also_when_reference_breaches: bool = Field(
        default=False,
        description="false: a period where the version in comparison (stable, the holdback, or the pre-deploy "
        "level) breaches the same limit is not blamed on the release, since rolling back would not cure it (a "
        "downstream incident); true: the limit is absolute",
    )

    @model_validator(mode="after")
    def _one_bound(self) -> Threshold:
        if (self.above is None) == (self.below is None):
            raise ValueError(f"threshold on {self.metric}: give exactly one of above or below")
        if self.below is not None and self.metric in BUILTIN_THRESHOLD_METRICS:
            raise ValueError(f"threshold on {self.metric}: a built-in metric takes `above` (worse is higher)")
        if self.metric == "dlq_depth" and self.for_seconds:
            raise ValueError("threshold on dlq_depth: for_seconds must be 0 (a dead-letter queue never drains itself)")
        return self


class MetricQuery(Strict):
    """One CloudWatch metric, an input of a custom metric's expression."""

    id: _METRIC_ID = Field(description="the name the expression uses for it (lower-case first letter)")
    namespace: Text
    metric_name: Text
    dimensions: dict[Text, Text] = Field(default_factory=dict, max_length=30)
    stat: Text = Field(default="Sum", description="Sum, Average, Maximum, p95, ...")
    versioned: bool = Field(
        default=True,
        description="with version_dimension: read once per version, that dimension set to the version",
    )


class CustomMetric(Strict):
    """A team's own metric (a business metric such as orders placed, an API Gateway 5xx rate) or a
    metric-math expression, compared new version against a reference like the built-in checks: paired
    against the version alongside when the metric carries the version as a dimension, else against
    its own pre-deploy level. It fails on the majority of compared periods (at least three) being worse
    by the ratio AND the delta; periods without a datapoint on either side are not compared (missing
    is not zero)."""

    name: _CHECK_NAME = Field(description="the check's name in the evidence (also what a threshold names)")
    namespace: Text | None = None
    metric_name: Text | None = None
    dimensions: dict[Text, Text] = Field(default_factory=dict, max_length=30)
    stat: Text = "Average"
    expression: LongText | None = Field(
        default=None, description="a metric-math expression over `metrics` (instead of namespace/metric_name)"
    )
    metrics: list[MetricQuery] = Field(default_factory=list, max_length=10)
    version_dimension: Text | None = Field(
        default=None,
        description="the dimension whose value is the function version (the team's metric is emitted with it): "
        "then compared paired, version against version; without it, function-wide against the pre-deploy level",
    )
    per_invocation: bool = Field(
        default=False,
        description="with version_dimension: divide each period's value by that version's invocations, so versions "
        "at different weights compare (orders per request, not orders)",
    )
    worse_when: Literal["higher", "lower"] = "higher"
    max_ratio: float = Field(default=1.2, ge=1.0, le=1_000.0, description="tolerated ratio to the reference")
    min_delta: float = Field(default=0.0, ge=0.0, description="and tolerated absolute difference")
    compare: bool = Field(default=True, description="false: only its thresholds judge it")
    required: bool = Field(
        default=True,
        description="a HEALTHY verdict waits for this metric to be compared (no data is never healthy); false: "
        "judged when it has data, never waited for",
    )

    @model_validator(mode="after")
    def _one_source(self) -> CustomMetric:
        where = f"custom metric {self.name}"
        if (self.expression is None) == (self.metric_name is None):
            raise ValueError(f"{where}: give either metric_name (with namespace) or expression (with metrics)")
        if self.metric_name is not None and (self.namespace is None or self.metrics):
            raise ValueError(f"{where}: a metric_name needs a namespace and takes no `metrics`")
        if self.expression is not None:
            if not self.metrics:
                raise ValueError(f"{where}: an expression needs its input `metrics`")
            ids = [m.id for m in self.metrics]
            if len(set(ids)) != len(ids) or RESERVED_QUERY_ID in ids:
                raise ValueError(f"{where}: metrics ids must be unique and not {RESERVED_QUERY_ID!r} (got {ids})")
        if self.per_invocation and self.version_dimension is None:
            raise ValueError(
                f"{where}: per_invocation needs version_dimension (divide a function-wide metric in its expression)"
            )
        return self


class HealthPolicy(Strict):
    """What healthy means. Defaults suit a function with steady traffic; every threshold is a
    margin against the stable version (or the pre-deploy baseline), plus an absolute ceiling."""

    metric_period_seconds: int = 60
    canary_judge_seconds: int | None = Field(
        default=None,
        description="how often the canary is judged (default: every half metric period). CloudWatch publishes a "
        "period's datapoints 1-2 min after it ends, at no fixed second, so judging twice a period sees a breach "
        "up to half a period sooner",
    )
    # errors: the canary's rate must not exceed stable's by more than the margin (one-sided test
    # at `significance`, widened by the overdispersion seen in the reference's periods)
    error_rate_margin: float = Field(
        default=0.0005,
        description="absolute part of the error margin (0.0005 = 0.05 points): the tolerated excess is the larger "
        "of this and error_rate_relative_margin times the reference's rate, so a doubling of a 0.1% rate at "
        "high traffic rolls back",
    )
    error_rate_relative_margin: float = Field(
        default=0.25,
        description="relative part of the error margin: the canary may fail up to 1.25x as often as the reference "
        "(a half-point wobble of a function that normally fails 10% is noise; 1.6x is a regression)",
    )
    error_rate_ceiling: float = Field(
        default=0.05,
        description="near this absolute rate the margin shrinks to reach it, but never below half the margin: "
        "when the reference itself is above the ceiling, rolling back would not help",
    )
    metric_settle_seconds: int = Field(
        default=300,
        description="CloudWatch publishes most periods within 1-2 min, some up to 5: a period this old without "
        "a datapoint had no traffic; a younger one is compared only once both versions have published it",
    )
    warmup_seconds: int = Field(
        default=60,
        description="after each traffic shift, latency periods starting within this many seconds are the new "
        "environments' cold starts, not judged; a longer JIT or cache warm-up is recognised by its decay",
    )
    latency_max_growth_per_minute: float = Field(
        default=0.01,
        description="slow-burn test: a canary/reference latency ratio growing faster than this per minute "
        "(Theil-Sen slope, significant by Mann-Kendall) fails even below latency_ratio_limit",
    )
    significance: float = 0.01
    final_look_significance: float = Field(
        default=0.05,
        description="the paired errors test's significance at the canary's last judgement, its budget spent: the "
        "release is then promoted or rolled back, and a canary that more likely than not fails beyond the "
        "tolerated rate is rolled back for it rather than for lack of evidence (never below `significance`)",
    )
    throttle_rate_ceiling: float = 0.02
    # latency: canary p95/p99 over stable's, by ratio AND by absolute milliseconds
    latency_ratio_limit: float = 1.3
    latency_min_delta_ms: float = 25.0
    # samples: fewer canary invocations than this (or than the judge computes) is INCONCLUSIVE
    min_invocations: int = 20
    on_inconclusive: InconclusiveAction = InconclusiveAction.DRIVE_TRAFFIC
    max_extension_seconds: int = 900
    widen_on_inconclusive: list[int] = Field(
        default_factory=lambda: [25, 50],
        max_length=10,
        description="weights (percent) the canary is widened to, in turn, when a step ends INCONCLUSIVE with "
        "nothing failing: a low-traffic function gathers organic, paired samples several times faster, the "
        "stable version still serving the rest as the control and the exposure capped at the last weight. Each "
        "widened step bakes one strategy interval, counted in max_extension_seconds. [] keeps the weight",
    )
    synthetic_invocations_per_period: int = 200
    # the watch: a holdback on the previous version keeps a concurrent control (paired watch)
    watch_holdback_percent: int = Field(
        default=5,
        description="share of traffic (percent) left on the previous version during the watch, as a control; "
        "0: an unpaired watch against the pre-deploy baseline",
    )
    control_percent: int = Field(
        default=10,
        description="unpaired watch only: on a breach, this share is shifted back to the previous version and "
        "judged paired for one strategy interval before rolling back (a release fault, or an incident?)",
    )
    on_inconclusive_watch: InconclusiveWatchAction = Field(
        default=InconclusiveWatchAction.HOLD,
        description="when the watch ends INCONCLUSIVE: rollback, hold (keep watching up to max_hold_seconds, "
        "then roll back), or promote_unverified",
    )
    max_hold_seconds: int = Field(default=1800, description="how long `hold` keeps an INCONCLUSIVE watch going")
    # queues and streams: None means "discover from the function"; growth over the preflight baseline
    # (one message of growth is tolerated: during a 10% canary a lone poison message most likely
    # came from the stable version)
    dead_letter_queues: list[QueueArn] | None = Field(default=None, max_length=20)
    max_dlq_growth: int = 1
    event_source_mappings: list[MappingUuid] | None = Field(default=None, max_length=20)
    max_iterator_age_growth_ms: float = 60_000.0
    alarm_names: list[Text] = Field(default_factory=list, max_length=50)
    # the versions' own log lines: seconds old where metrics are minutes late
    log_evidence: bool = Field(
        default=True,
        description="read the new and the stable version's log lines (REPORT and error lines) at every judgement: "
        "a new error signature or a higher failure rate fails the release within one judgement; logs never make "
        "a release healthy",
    )
    log_signature_min_invocations: int = Field(
        default=3,
        ge=1,
        le=10_000,
        description="a signature the new version shows and the version alongside does not fails the release from "
        "this many invocations (and when its absence there is significant at the traffic split)",
    )
    log_poll_seconds: int | None = Field(
        default=10,
        description="between two judgements of the canary (and of a watch with a holdback), the versions' log "
        "lines alone are read this often: a new error signature or a crash rate fails the release seconds after "
        "Lambda's lines are ingested instead of a metric period later. Null, or no shorter than the interval "
        "between judgements: logs are read at the judgements only",
    )
    log_max_events: int = Field(
        default=10_000,
        ge=100,
        le=100_000,
        description="log events read per version and judgement, at most, for each of the REPORT and error reads; "
        "a read cut short says so in the evidence",
    )
    # the team's own rules: absolute limits held for a duration, and their own metrics
    thresholds: list[Threshold] = Field(
        default_factory=list,
        max_length=20,
        description="absolute limits on the new version held for a duration (errors above 10% for 5 min, p95 "
        "above 5 s, IteratorAge above 60 s, DLQ not empty, a custom metric's)",
    )
    custom_metrics: list[CustomMetric] = Field(
        default_factory=list,
        max_length=10,
        description="the team's own CloudWatch metrics or metric-math expressions, compared like the built-in ones",
    )

    @property
    def canary_judge_interval(self) -> int:
        """Seconds between two judgements of the canary."""
        return self.canary_judge_seconds or max(1, self.metric_period_seconds // 2)

    @property
    def log_poll_interval(self) -> int | None:
        """Seconds between two log polls between the judgements; None when logs are not polled."""
        return self.log_poll_seconds if self.log_evidence and self.log_poll_seconds else None

    @model_validator(mode="after")
    def _sane(self) -> HealthPolicy:
        if self.metric_period_seconds <= 0:
            raise ValueError("metric_period_seconds must be positive")
        if self.log_poll_seconds is not None and self.log_poll_seconds < 1:
            raise ValueError(f"log_poll_seconds must be at least 1 (or null: no polls); got {self.log_poll_seconds}")
        if self.canary_judge_seconds is not None and not 1 <= self.canary_judge_seconds <= self.metric_period_seconds:
            raise ValueError(
                f"canary_judge_seconds must be between 1 and metric_period_seconds ({self.metric_period_seconds}); "
                f"got {self.canary_judge_seconds}"
            )
        for name in ("error_rate_margin", "error_rate_ceiling", "throttle_rate_ceiling"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"{name} is a fraction between 0 and 1 (got {value})")
        if self.error_rate_relative_margin < 0 or self.metric_settle_seconds < 0 or self.warmup_seconds < 0:
            raise ValueError("error_rate_relative_margin, metric_settle_seconds and warmup_seconds cannot be negative")
        if not 0 < self.significance < 0.5 or not 0 < self.final_look_significance < 0.5:
            raise ValueError(
                f"significance and final_look_significance must be between 0 and 0.5 (got {self.significance}, "
                f"{self.final_look_significance})"
            )
        if self.latency_ratio_limit < 1:
            raise ValueError("latency_ratio_limit must be at least 1")
        if self.min_invocations < 1:
            raise ValueError("min_invocations must be at least 1")
        if self.max_extension_seconds < 0 or self.max_dlq_growth < 0:
            raise ValueError("max_extension_seconds and max_dlq_growth cannot be negative")
        if not 0 <= self.watch_holdback_percent <= 50 or not 1 <= self.control_percent <= 50:
            raise ValueError("watch_holdback_percent must be 0-50 and control_percent 1-50")
        if self.max_hold_seconds < 0:
            raise ValueError("max_hold_seconds cannot be negative")
        widen = self.widen_on_inconclusive
        if any(not 1 <= w <= 99 for w in widen) or any(b <= a for a, b in itertools.pairwise(widen)):
            raise ValueError(f"widen_on_inconclusive: strictly increasing weights between 1 and 99 (got {widen})")
        return self

    @model_validator(mode="after")
    def _thresholds_name_metrics(self) -> HealthPolicy:
        names = [m.name for m in self.custom_metrics]
        if len(set(names)) != len(names):
            raise ValueError(f"custom_metrics: names must be unique (got {names})")
        for t in self.thresholds:
            if t.metric not in BUILTIN_THRESHOLD_METRICS and t.metric not in names:
                raise ValueError(
                    f"thresholds: {t.metric!r} is neither a built-in metric ({', '.join(BUILTIN_THRESHOLD_METRICS)}) "
                    f"nor one of custom_metrics ({', '.join(names) or 'none'})"
                )
        return self

    @model_validator(mode="after")
    def _bounded(self) -> HealthPolicy:
        """Every knob is a non-negative quantity, and durations stay within what one execution
        (and the lease sized from them) can hold."""
        for name, value in self:
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            cap = _HEALTH_CAPS.get(name, MAX_SAFE_INTEGER)
            if not 0 <= value <= cap:
                raise ValueError(f"{name} must be between 0 and {cap:,} (got {value})")
        return self


_HEALTH_CAPS: dict[str, float] = {
    "metric_period_seconds": MAX_METRIC_PERIOD_SECONDS,
    "max_extension_seconds": MAX_STAGE_SECONDS,
    "max_hold_seconds": MAX_STAGE_SECONDS,
    "min_invocations": 1_000_000,
    "synthetic_invocations_per_period": 10_000,
    "latency_ratio_limit": 1_000,
}


class UpdatePolling(Strict):
    """The Wait -> CheckUpdate loop: how often, and for how long at most."""

    interval_seconds: int = Field(default=5, le=3_600)
    max_polls: int = Field(default=60, le=MAX_WAIT_LOOPS // 2)

    @model_validator(mode="after")
    def _positive(self) -> UpdatePolling:
        if self.interval_seconds <= 0 or self.max_polls <= 0:
            raise ValueError("interval_seconds and max_polls must be positive")
        return self


class Provenance(Strict):
    release_id: Text | None = None
    trigger: Text = "manual"
    requested_by: Text | None = None
    commit: Text | None = None


_LAYER_ARN = re.compile(
    r"arn:aws[a-z-]*:lambda:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]:[0-9]{12}:layer:[A-Za-z0-9_-]{1,140}:[0-9]{1,9}",
    re.ASCII,
)
_RUNTIME = re.compile(r"[a-z][a-z0-9.]{1,30}", re.ASCII)
_HANDLER = re.compile(r"[^\s]{1,128}", re.ASCII)


class FunctionConfiguration(Strict):
    """Settings of the new version, applied to $LATEST with the RevisionId guard before publishing
    and verified on the published version. Unset fields keep the function's current value. A
    rollback restores the previous configuration by moving the alias: a version carries its own."""

    memory_size: int | None = Field(default=None, ge=128, le=10_240, description="MB of memory (128-10,240)")
    timeout: int | None = Field(default=None, ge=1, le=900, description="seconds an invocation may run (1-900)")
    ephemeral_storage: int | None = Field(default=None, ge=512, le=10_240, description="MB of /tmp (512-10,240)")
    layers: list[Text] | None = Field(
        default=None,
        max_length=5,
        description="layer version ARNs, in order (replaces the function's list; [] removes every layer)",
    )
    architectures: list[Literal["x86_64", "arm64"]] | None = Field(
        default=None, min_length=1, max_length=1, description='the one instruction set: ["x86_64"] or ["arm64"]'
    )
    runtime: Text | None = Field(default=None, description="a zip function's runtime identifier, e.g. python3.12")
    handler: Text | None = Field(default=None, description="a zip function's handler, e.g. app.handler")

    @field_validator("layers")
    @classmethod
    def _layer_versions(cls, layers: list[str] | None) -> list[str] | None:
        for arn in layers or []:
            if not _LAYER_ARN.fullmatch(arn):
                raise ValueError(f"{arn!a} is not a layer version ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:N)")
        return layers

    @field_validator("runtime")
    @classmethod
    def _runtime_id(cls, runtime: str | None) -> str | None:
        if runtime is not None and not _RUNTIME.fullmatch(runtime):
            raise ValueError(f"{runtime!a} is not a Lambda runtime identifier (e.g. python3.12, nodejs20.x)")
        return runtime

    @field_validator("handler")
    @classmethod
    def _handler_text(cls, handler: str | None) -> str | None:
        if handler is not None and not _HANDLER.fullmatch(handler):
            raise ValueError(f"{handler!a} is not a handler (1-128 characters without spaces)")
        return handler

    def requested(self) -> dict[str, Any]:
        """Only the fields the request sets, by name."""
        return self.model_dump(exclude_none=True)


class ProvisionedConcurrency(Strict):
    """Provisioned concurrency of the new version: allocated before it takes any traffic, READY
    before the first shift (a Wait/Choice poll), the previous version's released after promotion,
    the new version's released (and the previous one's restored) on rollback."""

    executions: int = Field(ge=0, le=100_000, description="environments kept warm on the new version (0: none)")
    poll_interval_seconds: int = Field(default=15, ge=1, le=300, description="how often READY is polled")
    max_polls: int = Field(default=60, ge=1, le=500, description="polls before giving up (the release is rolled back)")


class ApprovalPolicy(Strict):
    """A person's go-ahead, asked for with a task token (`rollgate approve|reject EXECUTION`): before
    the promotion of each deployment, and between the waves of a release. No answer within
    `timeout_seconds` takes `on_timeout`."""

    before_promotion: bool = Field(
        default=False, description="wait for approval after a healthy canary, before the promotion"
    )
    between_waves: bool = Field(
        default=False, description="release manifests: wait for approval before every wave after the first"
    )
    timeout_seconds: int = Field(
        default=3600, ge=1, le=MAX_STAGE_SECONDS, description="how long to wait for an answer (at most a day)"
    )
    on_timeout: Literal["approve", "reject"] = Field(
        default="reject", description="the answer when nobody answers in time: reject rolls back"
    )


class PrunePolicy(Strict):
    """Old versions deleted after a promotion (Lambda's code storage is a quota). Never deleted: the
    last `keep_last` versions, any version an alias routes to (weights included), any version with
    provisioned concurrency or an event source mapping, any version newer than the one promoted,
    and any version a ledger record of the last `keep_days` days names (a remediation may go back
    to it)."""

    enabled: bool = Field(default=False, description="prune after each promotion")
    keep_last: int = Field(default=10, ge=1, le=1_000, description="newest versions always kept")
    keep_days: int = Field(
        default=30, ge=0, le=3_650, description="versions the ledger names within this many days are kept"
    )
    max_deletions: int = Field(default=50, ge=1, le=500, description="versions deleted per run at most")


class Hook(Strict):
    """A Lambda the team owns, invoked synchronously with the deployment's context. It answers
    `{"status": "pass" | "fail", "reason": "..."}`; anything else, an error, or no answer within
    `timeout_seconds` fails the release (fail closed). The answer is recorded as evidence."""

    function: FunctionRef = Field(description="name or ARN of the hook function (tagged rollgate:hook=true)")
    timeout_seconds: int = Field(default=60, ge=1, le=600, description="how long the hook may take to answer")


class Hooks(Strict):
    pre_traffic: Hook | None = Field(
        default=None, description="after the smoke tests, before any user traffic: a failure rejects the release"
    )
    post_traffic: Hook | None = Field(
        default=None, description="after the watch, with all traffic on the new version: a failure rolls back"
    )


class RedrivePolicy(Strict):
    """DLQ redrive after a fixing release: once the new version is promoted and its watch verified
    it, the dead-letter queue of each SQS event source (the source queue's RedrivePolicy
    deadLetterTargetArn) is moved back to that source (SQS StartMessageMoveTask) at a bounded rate,
    and the redriven messages are judged as they are consumed: the move is cancelled when the DLQ
    refills or the consumer's error rate rises over its rate before the redrive. A stopped
    redrive is a finding in the record and an event; it never rolls the promoted release back."""

    after_fix: bool = Field(
        default=False, description="redrive the event sources' dead-letter queues after a verified promotion"
    )
    max_messages_per_second: int = Field(
        default=10, ge=1, le=500, description="MaxNumberOfMessagesPerSecond of each move (SQS allows 1-500)"
    )
    max_seconds: int = Field(
        default=600,
        ge=1,
        le=MAX_STAGE_SECONDS,
        description="how long the redrive may run; a move still running then is cancelled (at most a day)",
    )
    poll_interval_seconds: int = Field(
        default=30, ge=1, le=3600, description="how often the moves, the DLQs and the consumer's errors are read"
    )
    max_refill_share: float = Field(
        default=0.1,
        ge=0.0,
        le=1.0,
        description="stop when a DLQ takes back more than this share of the messages moved out of it",
    )
    max_error_rate_increase: float = Field(
        default=0.0,
        ge=0.0,
        le=1.0,
        description="stop when the consumer's error rate during the redrive exceeds its rate before by more than "
        "this (judged at the health policy's significance)",
    )

    def max_polls(self) -> int:
        """Polls of the moves within max_seconds, and one more after they end (the messages settle)."""
        return -(-self.max_seconds // self.poll_interval_seconds) + 2


#: The name of a health policy the stack is configured with (cdk.json context rollgate:healthPolicies).
HealthPolicyName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class DeploymentRequest(Strict):
    """The DeployFunction workflow input. Self-contained, so a console rerun with the same JSON
    is safe."""

    function_name: FunctionRef
    alias: AliasName = "live"
    artifact: Artifact
    expected_code_sha256: CodeSha256 | None = None
    environment: Environment = Field(default_factory=dict)
    required_environment: list[EnvironmentKey] = Field(default_factory=list, max_length=100)
    strategy: Strategy = Field(default_factory=Strategy)
    smoke_tests: list[SmokeTest] = Field(default_factory=list, max_length=20)
    health: HealthPolicy = Field(default_factory=HealthPolicy)
    health_policy: HealthPolicyName | None = Field(
        default=None,
        description="a named policy of the stack (cdk.json context rollgate:healthPolicies) under `health`: the "
        "request's own health fields override it field by field; resolved once, by Validate",
    )
    # late CloudWatch data and the promotion warm-up use up 2-3 minutes of the watch
    watch_seconds: StageSeconds = 600
    update_polling: UpdatePolling = Field(default_factory=UpdatePolling)
    provenance: Provenance = Field(default_factory=Provenance)
    configuration: FunctionConfiguration | None = Field(
        default=None, description="memory, timeout, ephemeral storage, layers, architecture, runtime, handler"
    )
    provisioned_concurrency: ProvisionedConcurrency | None = Field(
        default=None,
        description="provisioned concurrency of the new version; unset: the live version's allocation, if any, "
        "is carried to the new version",
    )
    prune: PrunePolicy = Field(default_factory=PrunePolicy, description="old versions deleted after a promotion")
    approval: ApprovalPolicy | None = Field(
        default=None, description="a person's go-ahead before the promotion (before_promotion), by task token"
    )
    hooks: Hooks = Field(default_factory=Hooks, description="the team's own pre- and post-traffic checks")
    redrive: RedrivePolicy | None = Field(
        default=None,
        description="after a verified promotion, move the event sources' dead-letter queues back to their "
        "sources and watch the redriven messages (see RedrivePolicy)",
    )
    bypass_invokers: Literal["reject", "warn"] = Field(
        default="reject",
        description="an invoker that bypasses the alias (an event source mapping, a resource-policy grant or a "
        "function URL on the unqualified function or another qualifier) runs the new code at 100% from the "
        "update on: reject (default) refuses the release naming each one; warn goes on and records them as a "
        "failed preflight check in the evidence",
    )

    @model_validator(mode="after")
    def _configuration_fits_the_package(self) -> DeploymentRequest:
        config = self.configuration
        if self.artifact.is_image and config is not None and (config.runtime or config.handler):
            raise ValueError("configuration: an image function takes no runtime or handler (its image defines them)")
        if self.artifact.function_version is not None and (
            config is not None or self.environment or self.required_environment
        ):
            raise ValueError(
                "artifact.function_version: an existing version is released as it is: give no environment, "
                "required_environment or configuration (deploy new code for those)"
            )
        return self

    def concurrency_polls(self) -> int:
        """The READY polls of a requested allocation. A live allocation carried over without one
        polls at the default budget, which the 2,000-loop cap leaves room for (it is sized below
        what an execution's history holds)."""
        pc = self.provisioned_concurrency
        return pc.max_polls if pc is not None else 0

    def worst_case_seconds(self) -> int:
        """How long this deployment can take at most if every wait runs to its budget: the update
        and version polls, every canary step, the longest extension, the watch with a control step
        and a hold."""
        polling = 2 * self.update_polling.max_polls * self.update_polling.interval_seconds
        if self.provisioned_concurrency is not None:
            pc = self.provisioned_concurrency
            polling += pc.max_polls * pc.poll_interval_seconds
        polling += sum(h.timeout_seconds for h in (self.hooks.pre_traffic, self.hooks.post_traffic) if h)
        steps = len(self.strategy.steps) * self.strategy.interval_seconds
        watch = self.watch_seconds + self.strategy.interval_seconds + self.health.max_hold_seconds
        # an operator's pause (at most max_hold_seconds) and a wait for approval
        steered = self.health.max_hold_seconds + (self.approval.timeout_seconds if self.approval else 0)
        redrive = self._redrive_seconds()
        return polling + steps + self.health.max_extension_seconds + watch + steered + redrive

    def _redrive_seconds(self) -> int:
        """The redrive after the watch, when asked for: every poll of its loop."""
        policy = self.redrive
        return policy.max_polls() * policy.poll_interval_seconds if policy and policy.after_fix else 0

    def _judged_seconds(self) -> int:
        judged = len(self.strategy.steps) * self.strategy.interval_seconds + self.watch_seconds
        health = self.health
        return judged + self.strategy.interval_seconds + health.max_extension_seconds + health.max_hold_seconds

    def wait_loops(self) -> int:
        """How many Wait -> Task -> Choice loops the execution runs at most: every update and
        version poll, and one judgement per metric period of the canary, extension and watch (the log
        polls between them take what room is left: log_poll_seconds)."""
        polls = 2 * self.update_polling.max_polls + self.concurrency_polls()
        if self.redrive is not None and self.redrive.after_fix:
            polls += self.redrive.max_polls()
        return polls + -(-self._judged_seconds() // self.health.metric_period_seconds)

    def log_poll_seconds(self) -> int | None:
        """How often the logs are polled between two judgements: health.log_poll_seconds, widened so
        that the polls fit in the room the execution's history has left after the judgements (a
        day-long watch polls less often); None when logs are not polled."""
        poll = self.health.log_poll_interval
        room = MAX_WAIT_LOOPS - self.wait_loops()
        if poll is None or room <= 0:
            return None
        return max(poll, -(-self._judged_seconds() // room))

    @model_validator(mode="after")
    def _fits_one_execution(self) -> DeploymentRequest:
        loops = self.wait_loops()
        if loops > MAX_WAIT_LOOPS:
            raise ValueError(
                f"this request can wait and judge {loops} times, and one Step Functions execution has room for "
                f"{MAX_WAIT_LOOPS}: lower update_polling.max_polls, provisioned_concurrency.max_polls, "
                "strategy.interval_seconds, watch_seconds, redrive.max_seconds, "
                "health.max_extension_seconds or health.max_hold_seconds, or raise health.metric_period_seconds"
            )
        return self


# --------------------------------------------------------------------------- validation helper
def describe_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per problem, each led by the dotted path of the field, e.g.
    ``strategy.steps: weights must strictly increase (got [10, 5])``."""
    lines = []
    for problem in error.errors():
        # pydantic adds "function-…" steps for validators and "[key]" for a bad key of a dict
        path = ".".join(
            path_part(part) for part in problem["loc"] if not str(part).startswith("function-") and part != "[key]"
        )
        path = ".".join(p for p in (prefix, path) if p) or "(request)"
        message = problem["msg"].removeprefix("Value error, ")
        if problem["type"] == "extra_forbidden":
            message = "unknown field"
        elif problem["type"] == "missing":
            message = "required field is missing"
        lines.append(f"{path}: {message}")
    return "; ".join(lines)


def parse_model(model: type[ModelT], data: Any, prefix: str = "", *, home: StackHome | None = None) -> ModelT:
    """Validate `data` into `model`, raising InvalidRequest that names each bad field. With `home`,
    function ARNs must be in the stack's own account and region."""
    try:
        return model.model_validate(data, context={"home": home})
    except ValidationError as error:
        raise InvalidRequest(describe_validation_error(error, prefix)) from None


# --------------------------------------------------------------------------- gate records
class Evidence(Lenient):
    """One thing a gate checked, readable by a person on call from the ledger alone."""

    check: str
    ok: bool
    detail: str
    data: dict[str, Any] = Field(default_factory=dict)


class QueueDepth(Lenient):
    queue: str
    depth: int
    source: str | None = Field(
        default=None,
        description="the SQS event source whose redrive policy names this queue; None: the function's own DLQ",
    )
    kind: Literal["async", "source_redrive"] = Field(
        default="async", description="async: the function's own DLQ; source_redrive: a source queue's redrive DLQ"
    )


class StreamLag(Lenient):
    mapping_uuid: str
    source: str
    iterator_age_ms: float | None


class AlarmState(Lenient):
    name: str
    state: str


class Baseline(Lenient):
    """What was live before, captured at preflight: the version to roll back to and the levels
    growth is judged against."""

    captured_at: datetime
    live_version: str
    live_code_sha256: str
    alias_revision_id: str
    function_revision_id: str
    artifact_code_sha256: str | None = None
    already_live: bool = False
    dead_letter_queues: list[QueueDepth] = Field(default_factory=list)
    streams: list[StreamLag] = Field(default_factory=list)
    alarms: list[AlarmState] = Field(default_factory=list)
    live_configuration: dict[str, Any] = Field(
        default_factory=dict, description="the live version's settings (memory, timeout …), for the record"
    )
    live_provisioned_concurrency: int = Field(
        default=0, description="provisioned concurrency requested on the live version at preflight"
    )
    evidence: list[Evidence] = Field(default_factory=list)


class UpdateProgress(Lenient):
    status: Literal["InProgress", "Successful", "Skipped"]
    revision_id: str | None = None
    code_sha256: str | None = None
    polls: int = 0
    max_polls: int
    poll_interval_seconds: int
    started_at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


class PublishedVersion(Lenient):
    version: str
    code_sha256: str
    state: str
    reused: bool = False
    polls: int = 0
    poll_interval_seconds: int = 2
    published_at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


class SmokeReport(Lenient):
    version: str
    passed: bool
    evidence: list[Evidence] = Field(default_factory=list)
    at: datetime


class HookReport(Lenient):
    """A hook's answer. Only a pass is recorded here: a failure raises HookFailed, whose message
    (with the hook's reason) is the rejection's or the rollback's reason."""

    phase: Literal["pre_traffic", "post_traffic"]
    function: str | None = None
    status: Literal["passed", "skipped"]
    reason: str
    at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


class ConcurrencyProgress(Lenient):
    """Provisioned concurrency of the new version. `status` drives ConcurrencyReady?: InProgress
    waits `poll_interval_seconds` and checks again; anything else goes on to the canary."""

    status: Literal["Skipped", "InProgress", "Ready", "Released"]
    version: str
    executions: int = 0
    previous_version: str | None = None
    previous_executions: int = 0
    polls: int = 0
    max_polls: int = 60
    poll_interval_seconds: int = 15
    evidence: list[Evidence] = Field(default_factory=list)


class PruneReport(Lenient):
    deleted: list[str] = Field(default_factory=list, description="versions deleted (or, dry run, to delete)")
    kept: dict[str, str] = Field(default_factory=dict, description="version -> why it is kept")
    dry_run: bool = False
    at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


class RedriveReport(Lenient):
    """The DLQ redrive after a verified promotion (`rollgate.domain.deploy.redrive.RedriveProgress`
    is the whole record, kept whole here: its next poll reads it back): how it ended; its evidence
    reaches the deployment record."""

    model_config = ConfigDict(extra="allow")

    status: Literal["Skipped", "Running", "Done"]
    outcome: str | None = Field(default=None, description="REDRIVE_COMPLETED, REDRIVE_STOPPED, ... once it ended")
    reason: str = ""
    evidence: list[Evidence] = Field(default_factory=list)


class VerdictSummary(Lenient):
    at: datetime
    outcome: str
    weight: int
    summary: str
    decided_by: str | None = Field(default=None, description="the evidence kind that decided the verdict")
    failed_checks: list[str] = Field(default_factory=list, description="the checks that failed (UNHEALTHY)")


class CanaryProgress(Lenient):
    """Where the canary stands. `next` drives the state machine's Choice: bake (wait and judge
    again), shift (next weight step), promote, or rollback (the judge said UNHEALTHY; the verdict's
    checks are in `evidence`, so they reach the ledger)."""

    step_index: int
    weight: int
    canary_started_at: datetime
    step_started_at: datetime
    wait_seconds: int
    next: Literal["bake", "shift", "promote", "rollback", "approve"]
    extension_seconds_used: int = 0
    widen_to: int | None = Field(
        default=None,
        description="set with next=shift when a step ended INCONCLUSIVE with nothing failing: the weight the "
        "canary is widened to (HealthPolicy.widen_on_inconclusive)",
    )
    widened: bool = Field(default=False, description="this step is a widening: its bake is extension time")
    earlier_shifts: list[datetime] = Field(
        default_factory=list, max_length=120, description="when the canary's earlier steps took effect"
    )
    # synthetic probes of the new version's qualifier (on_inconclusive: drive_traffic), judged apart
    synthetic_invocations: int = Field(default=0, description="probe invocations sent to the new version")
    synthetic_failed: int = Field(default=0, description="of those, how many failed")
    synthetic_failures: list[str] = Field(default_factory=list, description="a few example failure messages")
    applied_controls: list[str] = Field(
        default_factory=list, description="ids of the operator's one-shot controls (promote) already acted on"
    )
    approval_asked_at: datetime | None = Field(
        default=None, description="next=approve: when the canary asked for a person's go-ahead"
    )
    approved: bool = Field(default=False, description="the promotion was approved (or approved by default)")
    next_judgement_at: datetime | None = Field(
        default=None,
        description="when the next full judgement is due; a look before it is a log poll (health.log_poll_seconds)",
    )
    verdicts: list[VerdictSummary] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class WatchConclusion(str, Enum):
    """How a promotion was verified; the ledger, the event and the CLI show it."""

    VERIFIED = "verified"  # HEALTHY at the end of a watch that had data
    UNVERIFIED = "unverified"  # the watch ended INCONCLUSIVE; promoted because on_inconclusive_watch said so
    UNWATCHED = "unwatched"  # watch_seconds is 0: promoted after the canary, without a watch
    INCONCLUSIVE = "inconclusive"  # the watch ended (or its hold ran out) INCONCLUSIVE: rolled back
    OPERATOR = "operator"  # an operator's promote ended the bake or the watch early (rollgate promote [--full])


class WatchProgress(Lenient):
    """Where the watch stands. `next`: watch (wait and judge again), control (an unpaired watch saw a
    breach: shift a control share back to the previous version first), complete (the watch is
    over: move the holdback to the new version, 100%), done (Record), rollback."""

    promoted_at: datetime
    watch_until: datetime
    wait_seconds: int
    next: Literal["watch", "control", "complete", "done", "rollback"]
    holdback_percent: int = Field(default=0, description="share on the previous version now, as a control")
    weight_since: datetime | None = Field(default=None, description="when the current routing took effect")
    control_reason: str | None = Field(default=None, description="the breach that made the watch shift a control")
    held_since: datetime | None = Field(default=None, description="when an INCONCLUSIVE watch started its hold")
    conclusion: WatchConclusion | None = Field(default=None, description="how the watch ended, once it has")
    applied_controls: list[str] = Field(
        default_factory=list, description="ids of the operator's one-shot controls (promote) already acted on"
    )
    next_judgement_at: datetime | None = Field(
        default=None,
        description="when the next full judgement is due; a look before it is a log poll (health.log_poll_seconds)",
    )
    verdicts: list[VerdictSummary] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)


class RollbackReport(Lenient):
    restored_version: str
    verified: bool
    smoke_passed: bool | None
    reason: str
    at: datetime
    evidence: list[Evidence] = Field(default_factory=list)


class StepError(Lenient):
    """What a Step Functions Catch puts at ResultPath: the error name and its cause."""

    Error: str
    Cause: str | None = None

    def message(self) -> str:
        """The exception message out of a Lambda error Cause (a JSON document), or the raw cause."""
        import json

        if not self.Cause:
            return self.Error
        try:
            cause = json.loads(self.Cause)
        except ValueError:
            return self.Cause
        if isinstance(cause, dict):
            return str(cause.get("errorMessage") or cause.get("Cause") or self.Cause)
        return self.Cause


class RollbackVerification(str, Enum):
    """How a rollback's restored version was verified; the ledger, the event and the CLI show it.
    The alias is read back on the restored version in every case (else the rollback FAILED)."""

    VERIFIED = "verified"  # the restored version passed the request's smoke tests
    ALIAS_ONLY = "alias_only"  # the request has no smoke tests: only the alias was read back
    SMOKE_FAILED = "smoke_failed"  # the restored version failed its smoke tests (or they could not run)


class TimelineEntry(Lenient):
    at: datetime
    gate: str
    detail: str


class DeploymentResult(Lenient):
    """The DeployFunction output, the ledger record and the body of the outcome event."""

    deployment_id: str
    function_name: str
    alias: str
    #: one of contract.DEPLOY_STATUSES (a deployment cannot say RELEASED)
    status: Status
    from_version: str | None = None
    to_version: str | None = None
    code_sha256: str | None = None
    reason: str
    started_at: datetime
    finished_at: datetime
    release_id: str | None = None
    trigger: str = "manual"
    evidence: dict[str, list[Evidence]] = Field(default_factory=dict)
    timeline: list[TimelineEntry] = Field(default_factory=list)
    # for rollbacks on health: first user traffic to the UNHEALTHY verdict, and verdict to restored alias
    time_to_detect_seconds: float | None = None
    time_to_recover_seconds: float | None = None
    decided_by: str | None = Field(default=None, description="the evidence kind of the verdict that decided")
    verification: WatchConclusion | None = Field(default=None, description="for a promotion: how it was verified")
    rollback_verification: RollbackVerification | None = Field(
        default=None, description="for a rollback by the Rollback gate: how the restored version was verified"
    )

    @field_validator("status")
    @classmethod
    def _a_deployment_status(cls, value: Status) -> Status:
        return status_of(value, DEPLOY_STATUSES, "deployment")


def status_of(value: Status, allowed: frozenset[Status], workflow: str) -> Status:
    """`value`, when it is one of the outcomes `workflow` records (else a ValueError naming them)."""
    if value not in allowed:
        known = ", ".join(sorted(s.value for s in allowed))
        raise ValueError(f"{value.value} is not an outcome of a {workflow} (one of {known})")
    return value


class DeploymentContext(Lenient):
    """The document that flows through the DeployFunction state machine. Validate creates it;
    each later gate adds its record at its own key (the state's ResultPath); a Catch adds `error`.
    Tasks read what they need from it but re-read live AWS state before acting on it."""

    request: DeploymentRequest
    deployment_id: str
    started_at: datetime
    execution_arn: str | None = None
    baseline: Baseline | None = None
    update: UpdateProgress | None = None
    version: PublishedVersion | None = None
    smoke: SmokeReport | None = None
    canary: CanaryProgress | None = None
    watch: WatchProgress | None = None
    error: StepError | None = None
    rollback: RollbackReport | None = None
    rollback_error: StepError | None = None
    # Record or the lease release failed past its retries: the execution's own Reconcile step
    # concludes it (rollgate.domain.deploy.reconcile.reconcile_from_the_execution)
    record_error: StepError | None = None
    pre_traffic: HookReport | None = None
    post_traffic: HookReport | None = None
    concurrency: ConcurrencyProgress | None = None
    prune: PruneReport | None = None
    redrive: RedriveReport | None = None
    # housekeeping after a promotion (releasing the old allocation, pruning) that failed past its
    # retries: recorded, never a reason to roll a healthy release back
    cleanup_error: StepError | None = None

    @property
    def function_name(self) -> str:
        return self.request.function_name

    @property
    def alias(self) -> str:
        return self.request.alias

    def require_baseline(self) -> Baseline:
        if self.baseline is None:
            raise InvalidRequest("baseline: this gate runs after Preflight; the input has no baseline")
        return self.baseline

    def require_version(self) -> PublishedVersion:
        if self.version is None:
            raise InvalidRequest("version: this gate runs after PublishVersion; the input has no version")
        return self.version
