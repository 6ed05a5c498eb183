"""The shipped gates, run on the simulated world: bench-side implementations of rollgate.domain.shared.ports.

Each port answers as its AWS counterpart would at the clock's instant: the alias routes what the
last UpdateAlias set, GetMetricData returns one datapoint per period of [floor(start), end) with None
where CloudWatch has published nothing yet (rollgate.aws.metrics does the same), and fails past its
retries during a metric outage; SQS depths are live; alarms are evaluated on the published minutes.
Preflight runs as shipped (`run_preflight`) to capture the baseline, then `run_gates` (the same
"what next" as the state machine) drives shift, judge, promote and watch. Nothing here decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rollgate.domain.deploy.preflight import run_preflight
from rollgate.domain.judge.health import (
    AlarmObservation,
    GaugeSample,
    HealthWindow,
    LogBucket,
    LogSeries,
    LogSignature,
    PeriodStats,
    Verdict,
)
from rollgate.domain.judge.log_lines import signature_key
from rollgate.domain.judge.verdict import judge as shipped_judge
from rollgate.domain.shared.errors import TransientAwsError
from rollgate.domain.shared.models import (
    Artifact,
    CustomMetric,
    DeploymentContext,
    DeploymentRequest,
    HealthPolicy,
    PublishedVersion,
    SmokeReport,
    SmokeTest,
    Threshold,
)
from rollgate.domain.shared.ports import (
    AliasRouting,
    ArtifactInfo,
    EventSourceMapping,
    FunctionConfig,
    HealthProbes,
    Invocation,
    Lease,
)
from rollgate.domain.shared.records import HistoryRecord, ReleaseRecord
from rollgate_bench.world import NEW, OLD, PERIOD, SLICE, LogCounts, Run

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)  # minute-aligned: world second 0
FUNCTION, ALIAS = "orders", "live"
LIVE, CANDIDATE = "6", "7"
ACCOUNT = "arn:aws:lambda:us-east-1:123456789012"
FUNCTION_DLQ = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"
SOURCE_QUEUE = "arn:aws:sqs:us-east-1:123456789012:orders-queue"
SOURCE_DLQ = "arn:aws:sqs:us-east-1:123456789012:orders-queue-dlq"
STREAM = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
ALARM = "orders-errors"
PREFLIGHT_LEAD_S = 20  # preflight reads its baselines this long before the first shift


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)


def seconds(instant: datetime) -> float:
    return (instant - EPOCH).total_seconds()


class SteppedClock:
    """Virtual time; the world is simulated up to the clock as it moves (a Wait state lets it run)."""

    def __init__(self, start_s: float, run: Run) -> None:
        self.t, self.run = float(start_s), run
        run.advance(self.t)

    def now(self) -> datetime:
        return at(self.t)

    def advance(self, by: float) -> None:
        self.t += by
        self.run.advance(self.t)


def _period_range(start: datetime, end: datetime, period: int) -> range:
    """Period indexes of [floor(start), end), as rollgate.aws.metrics.period_starts lists them."""
    first = int(seconds(start) // period)
    return range(first, max(first, math.ceil(seconds(end) / period)))


class BenchLambda:
    """The LambdaApi subset the gates use: one function, versions 6 (live) and 7 (new), one alias."""

    def __init__(self, run: Run, clock: SteppedClock) -> None:
        self.run, self.clock = run, clock
        self.primary, self.additional = LIVE, {}  # type: str, dict[str, float]
        self.revision = 1
        self.synthetic_sent = 0

    def _config(self, version: str) -> FunctionConfig:
        sc = self.run.sc
        return FunctionConfig(
            name=FUNCTION,
            arn=f"{ACCOUNT}:function:{FUNCTION}" + ("" if version == "$LATEST" else f":{version}"),
            version=version,
            code_sha256="new-code" if version == CANDIDATE else "live-code",
            revision_id=f"fn-{self.revision}",
            state="Active",
            last_update_status="Successful",
            last_update_reason=None,
            role="arn:aws:iam::123456789012:role/orders",
            environment={},
            dead_letter_target_arn=FUNCTION_DLQ if sc.has_dlq else None,
        )

    def get_config(self, function_name: str, qualifier: str | None = None) -> FunctionConfig:
        return self._config(qualifier or "$LATEST")

    def get_alias(self, function_name: str, alias: str) -> AliasRouting:
        return AliasRouting(ALIAS, self.primary, dict(self.additional), f"alias-{self.revision}")

    def update_alias(
        self, function_name: str, alias: str, *, version: str, additional_weights: dict[str, float], revision_id: str
    ) -> AliasRouting:
        self.primary, self.additional = version, dict(additional_weights)
        self.revision += 1
        routing = self.get_alias(function_name, alias)
        self.run.set_weight(self.clock.t, routing.weight_of(CANDIDATE))
        return routing

    def invoke(self, function_name: str, qualifier: str | None, payload: Any, asynchronous: bool = False) -> Invocation:
        now = self.clock.t
        if qualifier == CANDIDATE:
            self.synthetic_sent += 1
            failed = self.run.invoke_new_version(now)
            if asynchronous:  # an Event invocation answers 202 before running: nothing to judge
                return Invocation(status_code=202, function_error=None, payload=None)
            return Invocation(
                status_code=200,
                function_error="Unhandled" if failed else None,
                payload={"errorMessage": "downstream failed"} if failed else {"ok": True},
                executed_version=CANDIDATE,
            )
        # through the alias: routed by weight like user traffic, and counted in the alias's metrics
        self.run.add_synthetic(now, 1)
        return Invocation(status_code=202 if asynchronous else 200, function_error=None, payload=None)

    def list_event_source_mappings(self, function_name: str) -> list[EventSourceMapping]:
        sc, mappings = self.run.sc, []
        target = f"{ACCOUNT}:function:{FUNCTION}:{ALIAS}"
        if sc.has_stream:
            mappings.append(EventSourceMapping("kinesis-orders", STREAM, target, "Enabled"))
        if sc.has_sqs_source:
            mappings.append(EventSourceMapping("sqs-orders", SOURCE_QUEUE, target, "Enabled"))
        return mappings

    def provisioned_concurrency_versions(self, function_name: str) -> list[str]:
        return []

    def list_versions(self, function_name: str) -> list[FunctionConfig]:
        return [self._config(LIVE), self._config(CANDIDATE)]

    def list_aliases(self, function_name: str) -> list[AliasRouting]:
        return [self.get_alias(function_name, ALIAS)]

    def get_provisioned_concurrency(self, function_name: str, qualifier: str) -> None:
        return None  # the benchmark's functions run on demand (cold starts are part of the world)

    def put_provisioned_concurrency(self, function_name: str, qualifier: str, executions: int) -> None:
        raise NotImplementedError("no provisioned concurrency in the benchmark")

    def delete_provisioned_concurrency(self, function_name: str, qualifier: str) -> None:
        return None  # idempotent: there is none

    def _before_the_benchmark(self, *args: Any, **kwargs: Any) -> FunctionConfig:
        raise NotImplementedError("the benchmark starts after the new version is published")

    def update_code(
        self,
        function_name: str,
        *,
        bucket: str | None,
        key: str | None,
        object_version: str | None,
        image_uri: str | None,
        revision_id: str,
        architectures: list[str] | None = None,
    ) -> FunctionConfig:
        return self._before_the_benchmark()

    def update_environment(self, function_name: str, environment: dict[str, str], revision_id: str) -> FunctionConfig:
        return self._before_the_benchmark()

    def update_configuration(
        self, function_name: str, *, environment: dict[str, str], settings: dict[str, Any], revision_id: str
    ) -> FunctionConfig:
        return self._before_the_benchmark()

    def publish_version(
        self, function_name: str, code_sha256: str, revision_id: str, description: str
    ) -> FunctionConfig:
        return self._before_the_benchmark()

    def delete_version(self, function_name: str, version: str) -> None:
        self._before_the_benchmark()


class BenchMetrics:
    """GetMetricData as the gates read it, at the clock's instant."""

    def __init__(self, run: Run, clock: SteppedClock) -> None:
        self.run, self.clock = run, clock

    def _available(self, what: str) -> None:
        if self.run.world.metrics_unavailable(self.clock.t):
            raise TransientAwsError(f"cloudwatch:GetMetricData {what}: ThrottlingException after retries")

    def version_series(
        self, function_name: str, alias: str, version: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[PeriodStats]:
        self._available(f"{function_name}:{alias} version {version}")
        periods = _period_range(start, end, period_seconds)
        if period_seconds != PERIOD or version not in (LIVE, CANDIDATE) or not periods:
            return [PeriodStats(start=at(p * period_seconds)) for p in periods]
        index = NEW if version == CANDIDATE else OLD
        rows = self.run.period_stats(index, periods.start, periods.stop, self.clock.t)
        return [
            PeriodStats(
                start=at(p * PERIOD),
                invocations=n,
                errors=e,
                throttles=t,
                **(dict(zip(("p50_ms", "p95_ms", "p99_ms", "duration_avg_ms"), d, strict=True)) if d else {}),
            )
            for p, n, e, t, d in rows
        ]

    def iterator_age(
        self, function_name: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[GaugeSample]:
        self._available(f"{function_name} IteratorAge")
        periods = _period_range(start, end, period_seconds)
        if not self.run.sc.has_stream or not periods:
            return [GaugeSample(at=at(p * period_seconds), value=None) for p in periods]
        return [
            GaugeSample(at=at(p * PERIOD), value=v)
            for p, v in self.run.iterator_age(periods.start, periods.stop, self.clock.t)
        ]

    def custom_series(
        self, metric: CustomMetric, version: str | None, start: datetime, end: datetime, period_seconds: int
    ) -> list[GaugeSample]:
        """The team's orders metric by version (the only custom metric the world publishes)."""
        self._available(f"custom {metric.name}")
        periods = _period_range(start, end, period_seconds)
        if metric.name != ORDERS.name or version not in (LIVE, CANDIDATE) or not periods or period_seconds != PERIOD:
            return [GaugeSample(at=at(p * period_seconds), value=None) for p in periods]
        index = NEW if version == CANDIDATE else OLD
        return [
            GaugeSample(at=at(p * PERIOD), value=v)
            for p, v in self.run.orders(index, periods.start, periods.stop, self.clock.t)
        ]


class BenchLogs:
    """FilterLogEvents on the versions' streams, as rollgate.aws.logs summarises it (LogSeries): the
    world's log lines, ingested seconds after each slice. Errors that are not the regression's own
    are spread over the signatures both versions log (a downstream timeout, bad input, a throttled
    dependency)."""

    SHARED = ("Timeout: calling inventory after <n> s", "ValidationError: '<*>'", "Throttled")  # world's shares
    OWN = "NewBugError: cannot price order '<*>'"

    def __init__(self, run: Run, clock: SteppedClock) -> None:
        self.run, self.clock = run, clock

    def version_logs(
        self, function_name: str, version: str, start: datetime, end: datetime, *, max_events: int
    ) -> LogSeries:
        index = NEW if version == CANDIDATE else OLD
        rows = self.run.logs(index, seconds(start), seconds(end), self.clock.t, max_events)
        buckets = [
            LogBucket(start=at(r.start_s), invocations=r.invocations, failed=r.failed, signatures=self._split(r))
            for r in rows
        ]
        totals: dict[str, int] = {}
        for bucket in buckets:
            for key, n in bucket.signatures.items():
                totals[key] = totals.get(key, 0) + n
        signatures = [
            LogSignature(kind="error", signature=key.split(":", 1)[1], invocations=n)
            for key, n in sorted(totals.items(), key=lambda item: -item[1])
        ]
        cut_at = rows[-1].cut_at_s if rows else None
        return LogSeries(
            version=version,
            invocations=sum(r.invocations for r in rows),
            failed_invocations=sum(r.failed for r in rows),
            signatures=signatures,
            window_end=at(cut_at) if cut_at is not None else None,
            note=f"REPORT lines cut at {max_events:,} events" if cut_at is not None else None,
            buckets=buckets,
            bucket_seconds=SLICE,
        )

    def _split(self, row: LogCounts) -> dict[str, int]:
        """A slice's failures by signature: the regression's own, and the rest as the world spread them."""
        split = {signature_key("error", name): n for name, n in zip(self.SHARED, row.shared, strict=True) if n}
        if row.own_signature:
            split[signature_key("error", self.OWN)] = row.own_signature
        return split


class BenchQueues:
    def __init__(self, run: Run, clock: SteppedClock) -> None:
        self.run, self.clock = run, clock

    def depth(self, queue: str) -> int:
        if queue == FUNCTION_DLQ:
            return self.run.dlq_depth(self.clock.t)
        if queue == SOURCE_DLQ:
            return self.run.source_dlq_depth(self.clock.t)
        return 0

    def redrive_target(self, queue: str) -> str | None:
        """GetQueueAttributes RedrivePolicy.deadLetterTargetArn (rollgate.domain.shared.ports.RedriveProbe)."""
        return SOURCE_DLQ if queue == SOURCE_QUEUE else None


class BenchAlarms:
    def __init__(self, run: Run, clock: SteppedClock) -> None:
        self.run, self.clock = run, clock

    def states(self, alarm_names: list[str]) -> list[AlarmObservation]:
        state = self.run.alarm_state(self.clock.t)
        return [AlarmObservation(name=n, state_at_preflight=state, state_now=state) for n in alarm_names]

    def watched_metrics(self, alarm_names: list[str]) -> dict[str, Any]:
        """DescribeAlarms' metric of each alarm (rollgate.domain.shared.ports.AlarmMetricsProbe): the
        alias-level Errors alarm watches AWS/Lambda Errors on FunctionName and Resource=function:alias."""
        from rollgate.domain.shared.ports import AlarmMetric  # type: ignore[attr-defined,unused-ignore]

        dimensions = {"FunctionName": FUNCTION, "Resource": f"{FUNCTION}:{ALIAS}"}
        return {n: AlarmMetric("AWS/Lambda", "Errors", dimensions) for n in alarm_names if n == ALARM}


@dataclass
class BenchLedger:
    """In memory; nobody asks for an abort during a benchmark run."""

    deployments: list[HistoryRecord] = field(default_factory=list)

    def acquire_lease(self, lease: Lease) -> Lease:
        return lease

    def release_lease(self, function_name: str, alias: str, holder: str) -> bool:
        return True

    def current_lease(self, function_name: str, alias: str) -> Lease | None:
        return None

    def put_deployment(self, record: HistoryRecord) -> None:
        self.deployments.append(record)

    def get_deployment(self, function_name: str, alias: str, deployment_id: str) -> HistoryRecord | None:
        return None

    def list_deployments(self, function_name: str, alias: str | None = None, limit: int = 20) -> list[HistoryRecord]:
        return []

    def abort_requested(self, function_name: str, alias: str) -> str | None:
        return None

    def request_abort(self, function_name: str, alias: str, reason: str) -> None:
        return None

    def clear_abort(self, function_name: str, alias: str) -> None:
        return None

    def put_release(self, record: ReleaseRecord) -> None:
        return None


class _NoArtifacts:
    def inspect(self, bucket: str, key: str, version_id: str | None) -> ArtifactInfo:
        return ArtifactInfo(exists=True, code_sha256="new-code", size=1)


class RecordingJudge:
    """The shipped judge, keeping every window and verdict (the benchmark reads the evidence kinds)."""

    def __init__(self, judge_fn: Any = shipped_judge) -> None:
        self.judge_fn = judge_fn
        self.calls: list[tuple[HealthWindow, Verdict]] = []

    def __call__(self, window: HealthWindow, policy: HealthPolicy) -> Verdict:
        verdict = self.judge_fn(window, policy)
        self.calls.append((window, verdict))
        return verdict


SMOKE_TESTS = [SmokeTest(name="create order", payload={"op": "create", "sku": "A-1", "qty": 1})]


#: What a team that watches its orders adds to the policy (health.custom_metrics).
ORDERS = CustomMetric(
    name="orders",
    namespace="Shop",
    metric_name="OrdersPlaced",
    stat="Sum",
    version_dimension="Version",
    per_invocation=True,
    worse_when="lower",
)
#: How long a team's p95 budget must be breached (health.thresholds).
BUDGET_FOR_SECONDS = 180


def request(run: Run, policy: HealthPolicy) -> DeploymentRequest:
    """The release request: the policy under test, plus the team's own rules the scenario carries."""
    sc = run.sc
    if sc.has_alarm:
        policy = policy.model_copy(update={"alarm_names": [ALARM]})
    if sc.business_rate > 0:
        policy = policy.model_copy(update={"custom_metrics": [*policy.custom_metrics, ORDERS]})
    if sc.team_p95_budget_ms is not None:
        budget = Threshold(metric="p95", above=round(sc.team_p95_budget_ms, 1), for_seconds=BUDGET_FOR_SECONDS)
        policy = policy.model_copy(update={"thresholds": [*policy.thresholds, budget]})
    return DeploymentRequest(
        function_name=FUNCTION,
        alias=ALIAS,
        artifact=Artifact(bucket="artifacts", key="orders/7.zip"),
        smoke_tests=SMOKE_TESTS,
        health=policy,
    )


@dataclass
class Release:
    """Everything one rollgate release on the world needs: the ports and the context after smoke."""

    run: Run
    clock: SteppedClock
    lambda_api: BenchLambda
    probes: HealthProbes
    ledger: BenchLedger
    ctx: DeploymentContext


def prepare(run: Run, policy: HealthPolicy) -> Release:
    """Preflight (as shipped) just before the canary, then the context as the smoke gate leaves it."""
    t0 = run.world.t0
    clock = SteppedClock(t0 - PREFLIGHT_LEAD_S, run)
    lambda_api = BenchLambda(run, clock)
    probes = HealthProbes(
        metrics=BenchMetrics(run, clock),
        queues=BenchQueues(run, clock),
        alarms=BenchAlarms(run, clock),
        logs=BenchLogs(run, clock),
    )
    ctx = DeploymentContext(request=request(run, policy), deployment_id="bench", started_at=clock.now())
    baseline = run_preflight(ctx, lambda_api=lambda_api, artifacts=_NoArtifacts(), probes=probes, clock=clock)
    clock.advance(t0 - clock.t)
    ctx = ctx.model_copy(
        update={
            "baseline": baseline,
            "version": PublishedVersion(
                version=CANDIDATE, code_sha256="new-code", state="Active", published_at=at(t0 - 10)
            ),
            "smoke": SmokeReport(version=CANDIDATE, passed=True, at=at(t0 - 5)),
        }
    )
    return Release(run, clock, lambda_api, probes, BenchLedger(), ctx)
