"""The small interfaces the domain needs from the outside world.

Adapters in `rollgate.aws` implement them over boto3; tests implement them in memory. Every method
returns domain values and raises `rollgate.domain.shared.errors` exceptions, never botocore's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from rollgate.domain.judge.health import AlarmObservation, GaugeSample, LogSeries, PeriodStats

if TYPE_CHECKING:
    from rollgate.domain.deploy.controls import ControlRecord
    from rollgate.domain.shared.models import CustomMetric
    from rollgate.domain.shared.records import HistoryRecord, ReleaseRecord


class Clock(Protocol):
    def now(self) -> datetime:
        """Timezone-aware UTC now. The local runtime's clock runs faster than real time."""
        ...


@dataclass(frozen=True)
class FunctionConfig:
    """The parts of GetFunctionConfiguration the gates look at."""

    name: str
    arn: str
    version: str
    code_sha256: str
    revision_id: str
    state: str  # Pending | Active | Inactive | Failed
    last_update_status: str  # InProgress | Successful | Failed
    last_update_reason: str | None
    role: str
    environment: dict[str, str]
    dead_letter_target_arn: str | None
    package_type: str = "Zip"
    image_uri: str | None = None
    # the settings a release may change (FunctionConfiguration); None where unknown
    memory_size: int | None = None
    timeout: int | None = None
    ephemeral_storage: int | None = None
    layers: tuple[str, ...] = ()
    architectures: tuple[str, ...] = ("x86_64",)
    runtime: str | None = None
    handler: str | None = None

    def settings(self) -> dict[str, Any]:
        """The configurable settings by FunctionConfiguration's field names."""
        return {
            "memory_size": self.memory_size,
            "timeout": self.timeout,
            "ephemeral_storage": self.ephemeral_storage,
            "layers": list(self.layers),
            "architectures": list(self.architectures),
            "runtime": self.runtime,
            "handler": self.handler,
        }


@dataclass(frozen=True)
class ProvisionedConcurrencyConfig:
    """GetProvisionedConcurrencyConfig of one qualifier."""

    qualifier: str
    requested: int
    allocated: int
    available: int
    status: str  # IN_PROGRESS | READY | FAILED
    reason: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    exists: bool
    digest: str | None = None  # sha256:<hex>
    detail: str | None = None  # why it could not be found


@dataclass(frozen=True)
class AliasRouting:
    name: str
    version: str  # the primary version
    additional_weights: dict[str, float]  # version -> fraction 0..1
    revision_id: str

    def weight_of(self, version: str) -> float:
        """Fraction of traffic `version` gets through this alias."""
        if version in self.additional_weights:
            return self.additional_weights[version]
        if version == self.version:
            return 1.0 - sum(self.additional_weights.values())
        return 0.0


@dataclass(frozen=True)
class Invocation:
    status_code: int
    function_error: str | None
    payload: Any
    executed_version: str | None = None


@dataclass(frozen=True)
class EventSourceMapping:
    uuid: str
    source_arn: str
    function_arn: str  # the qualified or unqualified ARN it invokes
    state: str


@dataclass(frozen=True)
class ArtifactInfo:
    exists: bool
    code_sha256: str | None  # base64 SHA-256 of the zip, as Lambda reports CodeSha256
    size: int | None = None


class LambdaApi(Protocol):
    def get_config(self, function_name: str, qualifier: str | None = None) -> FunctionConfig: ...
    def get_alias(self, function_name: str, alias: str) -> AliasRouting: ...
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
        """Point $LATEST at the artifact; `architectures` (Lambda takes them with the code) when a
        release changes them."""
        ...

    def update_environment(
        self, function_name: str, environment: dict[str, str], revision_id: str
    ) -> FunctionConfig: ...
    def list_versions(self, function_name: str) -> list[FunctionConfig]: ...
    def publish_version(
        self, function_name: str, code_sha256: str, revision_id: str, description: str
    ) -> FunctionConfig: ...
    def update_alias(
        self, function_name: str, alias: str, *, version: str, additional_weights: dict[str, float], revision_id: str
    ) -> AliasRouting: ...
    def invoke(
        self, function_name: str, qualifier: str | None, payload: Any, asynchronous: bool = False
    ) -> Invocation: ...
    def list_event_source_mappings(self, function_name: str) -> list[EventSourceMapping]:
        """Every mapping that invokes the function, whatever qualifier it is bound to."""
        ...

    def provisioned_concurrency_versions(self, function_name: str) -> list[str]: ...

    # --- configuration, provisioned concurrency, pruning (adapters and fakes implement them all)
    def update_configuration(
        self, function_name: str, *, environment: dict[str, str], settings: dict[str, Any], revision_id: str
    ) -> FunctionConfig:
        """Set the environment to exactly `environment` and the FunctionConfiguration `settings`
        given (by field name; architectures excepted: Lambda takes them with the code)."""
        ...

    def get_provisioned_concurrency(self, function_name: str, qualifier: str) -> ProvisionedConcurrencyConfig | None:
        """None when the qualifier has none."""
        ...

    def put_provisioned_concurrency(self, function_name: str, qualifier: str, executions: int) -> None: ...
    def delete_provisioned_concurrency(self, function_name: str, qualifier: str) -> None:
        """Idempotent: nothing to delete is not an error."""
        ...

    def list_aliases(self, function_name: str) -> list[AliasRouting]: ...
    def delete_version(self, function_name: str, version: str) -> None:
        """Idempotent: a version already gone is not an error."""
        ...


class HookInvoker(Protocol):
    def invoke_hook(self, function_name: str, payload: Any, timeout_seconds: int) -> Invocation:
        """Invoke synchronously and wait at most `timeout_seconds`; raises
        `rollgate.domain.shared.errors.HookFailed` when no answer came in time."""
        ...


class ImageRegistry(Protocol):
    def inspect_image(self, image_uri: str) -> ImageInfo:
        """Whether the image (by digest) exists in its repository."""
        ...


class ArtifactStore(Protocol):
    def inspect(self, bucket: str, key: str, version_id: str | None) -> ArtifactInfo: ...


class ManifestStore(Protocol):
    def read_json(self, bucket: str, key: str, version_id: str | None) -> Any | None:
        """The object parsed as JSON, or None while it does not exist. Raises InvalidRequest when
        it exists but is not JSON."""
        ...


class MetricSource(Protocol):
    def version_series(
        self, function_name: str, alias: str, version: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[PeriodStats]:
        """Per-period stats of `version` executed through `alias` (the ExecutedVersion dimension
        set: FunctionName, Resource=function:alias, ExecutedVersion)."""
        ...

    def iterator_age(
        self, function_name: str, start: datetime, end: datetime, period_seconds: int
    ) -> list[GaugeSample]: ...


@runtime_checkable
class CustomMetricSource(Protocol):
    """A MetricSource that also reads the team's own metrics and metric-math expressions."""

    def custom_series(
        self, metric: CustomMetric, version: str | None, start: datetime, end: datetime, period_seconds: int
    ) -> list[GaugeSample]:
        """`metric` per period, None where there is no datapoint; with `version`, its
        version_dimension (and each versioned input's) set to it."""
        ...


class LogSource(Protocol):
    """A function's log lines by version (CloudWatch Logs: the stream names carry the version)."""

    def version_logs(
        self, function_name: str, version: str, start: datetime, end: datetime, *, max_events: int
    ) -> LogSeries:
        """The version's REPORT and error-class lines in [start, end), summarised
        (rollgate.domain.judge.log_lines.summarise); at most `max_events` of each read, the cut said in
        `window_end` and `note`. Raises TransientAwsError / NotFoundError like the other reads."""
        ...


class QueueProbe(Protocol):
    def depth(self, queue: str) -> int:
        """Visible + in-flight messages of a queue given by URL or ARN."""
        ...


@runtime_checkable
class RedriveProbe(Protocol):
    """A QueueProbe that can also read a queue's redrive policy (the SQS adapter can): how
    preflight finds the dead-letter queue behind an SQS event source, where the records the
    function keeps failing (including partial batch failures, which produce no Errors) end up."""

    def redrive_target(self, queue: str) -> str | None:
        """The ARN of the queue's redrive dead-letter queue, or None when it has none."""
        ...


@dataclass(frozen=True)
class MessageMoveTask:
    """One SQS message move task (ListMessageMoveTasks): a DLQ's messages moved back to a queue."""

    status: str  # RUNNING | COMPLETED | CANCELLING | CANCELLED | FAILED
    source_arn: str
    destination_arn: str | None
    handle: str | None  # only while RUNNING: what CancelMessageMoveTask takes
    moved: int  # ApproximateNumberOfMessagesMoved
    to_move: int | None  # ApproximateNumberOfMessagesToMove
    max_per_second: int | None
    started_at: datetime | None
    failure_reason: str | None = None


class MessageMover(Protocol):
    """DLQ redrive (SQS StartMessageMoveTask and friends): how a fixed consumer's dead letters go
    back to the queue it reads."""

    def start_message_move(self, source_arn: str, destination_arn: str, *, max_per_second: int) -> str:
        """Start moving the DLQ `source_arn`'s messages to `destination_arn`; the task handle.
        Raises ConflictError while another task runs on the DLQ, InvalidRequest when the queue is
        no one's DLQ."""
        ...

    def message_moves(self, source_arn: str) -> list[MessageMoveTask]:
        """The DLQ's recent move tasks, newest first (at most 10)."""
        ...

    def cancel_message_move(self, handle: str) -> int | None:
        """Stop a RUNNING task: how many messages it had moved; None when it no longer runs
        (idempotent: a retried cancel is not an error). NotFoundError for an unknown handle."""
        ...


@dataclass(frozen=True)
class AlarmMetric:
    """The one metric a (non-math) metric alarm watches: what lets the judge split it by version."""

    namespace: str
    metric_name: str
    dimensions: dict[str, str]


class AlarmProbe(Protocol):
    def states(self, alarm_names: list[str]) -> list[AlarmObservation]:
        """Current state per alarm (state_at_preflight is left equal to state_now)."""
        ...


@runtime_checkable
class AlarmMetricsProbe(Protocol):
    """An AlarmProbe that can also say what each alarm watches (the CloudWatch adapter can). With
    it, an alarm on the function's Lambda metrics is split by version for the judge; without it an
    alarm has no per-version evidence, and the judge never holds it against the release."""

    def watched_metrics(self, alarm_names: list[str]) -> dict[str, AlarmMetric]:
        """The metric each single-metric alarm watches; metric-math and composite alarms are left
        out (they cannot be split by version)."""
        ...


@dataclass(frozen=True)
class HealthProbes:
    """Everything health is read from; preflight takes the baseline from it, the judges the
    window."""

    metrics: MetricSource
    queues: QueueProbe
    alarms: AlarmProbe
    #: the new and the stable version's log lines (None: logs are not read)
    logs: LogSource | None = None


@dataclass
class Lease:
    function_name: str
    alias: str
    holder: str  # deployment id
    acquired_at: datetime
    expires_at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


class Ledger(Protocol):
    def acquire_lease(self, lease: Lease) -> Lease:
        """Take the lease, or return the existing one if `lease.holder` already holds it. Raises
        DeploymentInProgress naming the holder when someone else holds an unexpired lease."""
        ...

    def release_lease(self, function_name: str, alias: str, holder: str) -> bool:
        """Release if held by `holder`; True if released, False if not held by it (idempotent)."""
        ...

    def current_lease(self, function_name: str, alias: str) -> Lease | None: ...
    def put_deployment(self, record: HistoryRecord) -> None:
        """Write (or overwrite, idempotently) a deployment or remediation record."""
        ...

    def get_deployment(self, function_name: str, alias: str, deployment_id: str) -> HistoryRecord | None: ...
    def list_deployments(self, function_name: str, alias: str | None = None, limit: int = 20) -> list[HistoryRecord]:
        """Newest first (deployments and remediations of the function+alias, as one timeline)."""
        ...

    def abort_requested(self, function_name: str, alias: str) -> str | None:
        """The reason, if someone asked the running deployment of this alias to stop."""
        ...

    def request_abort(self, function_name: str, alias: str, reason: str) -> None:
        """Ask the running deployment of this alias to stop at its next health check."""
        ...

    def clear_abort(self, function_name: str, alias: str) -> None: ...
    def put_release(self, record: ReleaseRecord) -> None:
        """Write (or overwrite, idempotently) one release run's record."""
        ...


@runtime_checkable
class ControlLog(Protocol):
    """A Ledger that also keeps the operators' controls of each deployment (rollgate.domain.deploy.controls);
    a ledger without it (the benchmark's) has no controls."""

    def put_control(self, record: ControlRecord) -> None:
        """Append one control to the log of its function+alias and deployment."""
        ...

    def list_controls(self, function_name: str, alias: str, deployment_id: str) -> list[ControlRecord]:
        """The deployment's controls, oldest first."""
        ...


class EventPublisher(Protocol):
    def publish(self, detail_type: str, detail: dict[str, Any]) -> None: ...
