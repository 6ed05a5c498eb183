"""The only module of Rollgate that touches moto internals.

moto (pinned: see ``EXPECTED_MOTO_VERSION``) gives the local runtime its AWS control planes and runs
the synthesized state machines. Where it differs from AWS in ways Rollgate's gates can see, this
module patches it, each patch small and documented as *AWS does / moto does / we change*. Everything
else in ``local/`` talks to moto only through boto3 (the public API) or through the read helpers
below, so a moto upgrade can break only this file, and ``tests/local/test_moto_bridge.py`` says which
symbol moved or changed.

Public API:

    EXPECTED_MOTO_VERSION: str
    install(data_plane: DataPlaneHooks, clock: BridgeClock) -> None   idempotent; swaps targets
    uninstall() -> None                                                idempotent; restores moto
                                                                       (after drain_deliveries())
    drain_deliveries(timeout: float = 5.0) -> bool                     waits for EventBridge -> Lambda
                                                                       deliveries; False if some still run
    set_traffic_catch_up(catch_up | None)      called before metric reads and UpdateAlias
    installed() -> bool
    verify() -> list[str]          problems with the guarded symbols (empty when moto is as expected)
    changed_sources() -> list[str] guarded symbols whose source differs from the pinned moto's
    source_fingerprint(dotted) -> str
    PATCHED_SYMBOLS: tuple[str, ...]   dotted paths of every moto symbol replaced or wrapped
    GUARDED_SYMBOLS: tuple[str, ...]   those plus the ones the patches rely on, unchanged
    SOURCE_FINGERPRINTS: dict[str, str]  sha256 of each patched symbol's source at the pinned moto

    Contract with the data plane (see ``local.data_plane``):
    DataPlaneHooks (Protocol): handle_invoke(InvokeRequest) -> InvokeResult,
        function_updated(account, region, function_name), update_status(account, region,
        function_name) -> UpdateStatus | None, flush_metrics()
    InvokeRequest, InvokeResult, UpdateStatus, LambdaServiceError

    Read helpers (plain values, no moto objects leak out):
    read_target(account, region, function_name, qualifier) -> Target
    read_version(account, region, function_name, version) -> FunctionRecord
    list_stream_mappings(account, region) -> list[StreamMappingRecord]
    read_image(account, region, repository, digest) -> ImageRecord   an ECR image's manifest and the
        blobs pushed for it (27); LookupError when the repository has no such image

    Write helpers:
    register_stack_resources(account, region, stack_name, resources: list[StackResource])
        what CloudFormation reports as the resources of a stack the deployer registered (25);
        StackResource(logical_resource_id, physical_resource_id, cf_resource_type)
    put_function_log_events(account, region, log_group, log_stream, events: list[FunctionLogEvent],
                            *, oldest_ms=None)
        what Lambda's log agent writes for an invocation (30): the group and stream created when
        missing (retention unset), each event with its own ingestion time (hidden from reads until
        the clock reaches it); FunctionLogEvent(timestamp_ms, ingestion_ms, message); events
        before `oldest_ms` dropped now and then

Patches (what AWS does / what moto 5.2.5 does / what we change):

 1. Lambda Invoke (``LambdaBackend.invoke``). AWS runs the handler of the version the qualifier
    resolves to, an alias splitting traffic by its RoutingConfig weights. moto runs code in Docker
    (absent here) and ignores weights. We hand the call to the in-process data plane.
 1b. Invoke's Qualifier (``LambdaResponse.invoke``): AWS takes it from the ?Qualifier= query
    parameter; moto looks for "qualifier" (lower case), finds none (or a "qualifier" key of the
    payload!) and runs $LATEST. We pass the query parameter through.
 2. Event-source and InvokeAsync paths (``LambdaFunction.invoke``): the same, so SQS, Kinesis,
    DynamoDB-stream and SNS deliveries never try Docker either.
 3. Function configuration (``LambdaFunction.get_configuration``). AWS reports LastUpdateStatus
    InProgress for a while after UpdateFunctionCode/UpdateFunctionConfiguration (then Successful or
    Failed with LastUpdateStatusReason), a RevisionId and the DeadLetterConfig. moto always says
    Successful and stores neither RevisionId nor DeadLetterConfig. We report what the data plane's
    update tracker says, a RevisionId that changes on every change, and the DeadLetterConfig.
    State stays Active during an update, as on AWS.
 4. DeadLetterConfig storage (``LambdaFunction.__init__``, ``LambdaFunction.update_configuration``):
    moto drops it; we keep it on the function (versions copy it when published).
 5. Updates (``LambdaBackend.update_function_code`` / ``update_function_configuration``). AWS
    refuses an update while one is in progress (ResourceConflictException) and checks RevisionId
    (PreconditionFailedException). moto does neither. We do both, then tell the data plane so it
    reports InProgress for its update time.
 6. PublishVersion (``LambdaBackend.publish_version``, ``LambdaResponse.publish_version``). AWS
    refuses while an update is in progress (ResourceConflictException), and honours the CodeSha256
    (InvalidParameterValueException) and RevisionId (PreconditionFailedException) guards. moto
    ignores all three. We add them.
 7. Alias RevisionId (``LambdaAlias.update``, ``LambdaResponse.update_alias``). AWS changes an
    alias's RevisionId on every update and checks the one given. moto keeps one forever and ignores
    it. We rotate and check.
 8. Event source mappings (``LambdaBackend.create_event_source_mapping``). AWS reports the
    FunctionArn as given (alias-qualified for a mapping on an alias); moto reports the ARN of the
    version the alias pointed at on creation. We keep the qualifier.
 9. Wait states (``WaitFunction._wait_interval``). AWS waits real seconds; moto too. We wait on
    the runtime clock (``clock.wait_on(env.program_state_event, seconds)``), so a 300 s Wait costs
    nothing on the virtual clock (five real seconds on a x60 scaled one), and a stop still ends it.
10. Retry backoff and the ``.sync`` poll (``time`` in ``retrier_decl`` and
    ``state_task_service_callback``): moto ``time.sleep(interval)``; we sleep on the runtime clock.
    AWS notices a ``.sync`` child's end within seconds; moto polls DescribeExecution every 0.5 s,
    which on the virtual clock is a poll (real milliseconds) per half virtual second of a child
    that bakes for minutes: we poll every ``SYNC_POLL_SECONDS`` (5) of the clock instead.
11. State machine timestamps (``datetime`` in five moto.stepfunctions.parser modules): Timestamp
    waits, ``$$.State.EnteredTime``, ``$$.Execution.StartTime``, history and stop dates read the
    runtime clock instead of the wall clock, so the interpreter and the tasks agree on "now".
12. CloudWatch distributions (``CloudWatchBackend.put_metric_data``). AWS keeps Values/Counts as a
    distribution; moto expands every count into its own datum (slow, big). We store one datum that
    keeps the values and counts.
13. CloudWatch percentiles (``Statistics.get_statistics_for_type``). AWS computes pNN / pNN.N from
    raw values; moto returns None (the client then fails to parse the answer). We compute them
    (nearest rank) from single values and distributions.
14. CloudWatch reads (``CloudWatchBackend.get_metric_data`` / ``get_metric_statistics``,
    ``CloudWatchResponse.get_metric_statistics``). AWS rounds a recent StartTime down to the whole
    minute, matches GetMetricStatistics dimensions exactly and serves ExtendedStatistics. moto does
    none of these and would also see metrics the data plane has not flushed yet. We flush the data
    plane first, round, match exactly, serve percentiles and drop empty (None) values.
15. EventBridge rule targets (``Rule.send_to_targets``). AWS delivers an event an ENABLED rule's
    pattern matches to each target, among them Lambda functions (an asynchronous invoke), SNS topics
    (Publish) and Step Functions state machines (StartExecution), each given what the target's Input
    (that JSON), InputPath (that part of the event) or InputTransformer makes of the event, else the
    event itself (time in ISO 8601); an InputTransformer whose template is a JSON string gives SNS
    that plain text. moto delivers to log groups, archives, SQS, buses and API destinations only
    (anything else raises NotImplementedError out of PutEvents), applies InputTransformer only, and
    also delivers for DISABLED and schedule-only rules. We skip DISABLED and schedule-only rules,
    deliver Lambda, SNS and Step Functions targets ourselves with AWS's input rules (moto's own
    ``EventTemplateParser.parse`` for InputTransformer) and hand the other targets to moto. A Lambda
    delivery runs on a daemon thread as an Event invoke through the data plane (which retries it and
    dead-letters it like Lambda), so a slow or failing handler never holds up or fails PutEvents;
    handlers on that thread still see the mock (mock_aws patches botocore process-wide). A delivery
    that cannot be made (no such function, topic or state machine) is a RuntimeWarning, never a
    PutEvents failure. uninstall() first waits (a few seconds at most) for deliveries still running.
    Left as moto has them: the targets moto delivers get its default template (no "account") or the
    InputTransformer's output, and ignore Input and InputPath.
16. Alarm state changes (``CloudWatchBackend.set_alarm_state``). AWS puts a "CloudWatch Alarm State
    Change" event (source aws.cloudwatch) on the account's default bus whenever an alarm's state
    value changes; moto puts none, and stamps the state with the wall clock. We stamp it with the
    runtime clock and, when the value changed, put AWS's event through the events backend's
    put_events (in process, so rules on the default bus match it; PutEvents on AWS refuses "aws."
    sources): resources [alarm ARN], time, and detail {alarmName, state and previousState {value,
    reason, reasonData when given, timestamp "...T..:..:...mmm+0000"}, configuration {description,
    metrics [{id, metricStat {metric {namespace, name, dimensions {Name: Value}}, period, stat},
    returnData}] or the alarm's metric queries}}. Delivery problems never fail SetAlarmState.
    Not modelled: moto creates alarms in OK (AWS: INSUFFICIENT_DATA), and PutMetricAlarm on an
    existing alarm resets it to OK without an event (AWS keeps the state).
17. Step Functions' own integration (``StateTaskServiceSfn._normalise_parameters`` /
    ``_normalise_response``), used by ``arn:aws:states:::states:startExecution[.sync[:2]]``. AWS
    takes the ASL parameters in PascalCase (StateMachineArn, Input, Name) and returns PascalCase
    fields (ExecutionArn, StartDate; for .sync also Status, Output …). moto hands the PascalCase
    parameters to boto3 unchanged (botocore fails with KeyError 'StateMachineArn') and reads
    "ExecutionArn" from boto3's camelCase answer. We rename parameters to boto3's member names and
    the answer's top-level fields to PascalCase, dates as epoch milliseconds like AWS.
18. Threads and waits of the interpreter (``threading`` in ten moto.stepfunctions.parser modules,
    ``Thread`` in two, callback's ``Event``; listed in ``_SFN_WAITING``). AWS's interpreter is no
    process of ours; moto's runs every execution, program, Task, Map iteration and Parallel branch
    on real threads that wait on real events, conditions and joins with real timeouts. We swap in
    local.virtual_time's Thread/Event/Condition: on a virtual clock each thread is an actor and
    each wait a clock-aware one (virtual time moves only when all of them wait); otherwise they are
    plain threading. EventBridge -> Lambda deliveries (15) are such threads too.
19. Execution names (``StepFunctionsParserBackend.start_execution``). AWS names an execution started
    without a name with a generated UUID; moto names it ``None`` (every unnamed execution gets the
    same ARN, so a second one fails or returns the first). We generate the UUID.
20. RedriveExecution (``StepFunctionResponse.redrive_execution``, added; ``describe_execution``). AWS
    restarts a FAILED, ABORTED or TIMED_OUT Standard execution from the state that did not succeed,
    keeping its ARN, name, input and history (an ExecutionRedriven event, then the new events),
    and reports redriveCount / redriveDate / redriveStatus in DescribeExecution. moto has no such
    action (HTTP 500). We run the execution again on moto's interpreter from the top-level state it
    was in when it failed, with that state's input (a Map or Parallel state is re-run whole: AWS
    re-runs only its unsuccessful iterations), and add the redrive fields. Anything else is
    refused with ExecutionNotRedrivable.
21. GetExecutionHistory (``StepFunctionResponse.get_execution_history``). AWS honours reverseOrder,
    maxResults (1000 at most) and nextToken; moto returns every event, oldest first. We honour them.
22. ListMetrics (``CloudWatchBackend.get_filtered_metrics``). AWS lists each metric (namespace,
    name, dimensions) once; moto's duplicate check fails for two or more dimensions (and is
    quadratic), so every datum of a Lambda metric by Resource and ExecutedVersion is listed again.
    We list each metric once, the Dimensions filter as AWS applies it.
23. Resource timestamps (``utcnow`` / ``unix_time`` / ``iso_8601_datetime_with_nanoseconds`` as
    imported by moto's S3, Lambda, CloudFormation, Logs, SNS, CloudWatch, EventBridge and DynamoDB
    modules). AWS stamps everything with one time; moto uses the wall clock, hours behind the
    runtime clock's metrics and executions. We stamp with the runtime clock (S3 LastModified,
    Lambda LastModified, stack CreationTime, log ingestion, alarm and datum defaults, SNS message
    and EventBridge event times). Left on the wall clock: SQS timers (visibility, long polls).
24. The managed-function tag condition (``LambdaBackend.update_alias``, and inside 5 and 6). AWS
    IAM lets a task Lambda's role change only functions its policy allows, here those tagged
    ``rollgate:managed=true`` (``aws:ResourceTag`` conditions); moto enforces no IAM. For calls
    made by a function running in the data plane (the caller is the function of the invocation in
    that thread) we evaluate its role's policies for UpdateFunctionCode, UpdateFunctionConfiguration,
    PublishVersion and UpdateAlias: explicit Deny wins, else an Allow whose Action, Resource and
    aws:ResourceTag conditions match (other condition keys are taken as met), else
    AccessDeniedException as IAM words it. Calls from outside an invocation (tests, the CLI,
    ``local serve`` clients) are an administrator's and are not checked; reads are not checked.
25. Stack resources (``CloudFormationBackend.list_stack_resources`` / ``describe_stack_resource`` /
    ``describe_stack_resources``). AWS describes each resource a stack created (logical id,
    physical id, type). The local deployer creates the resources itself and registers a stack
    holding only the outputs, so moto would describe one placeholder. For a stack given
    ``register_stack_resources`` we describe the resources the deployer created instead (status
    CREATE_COMPLETE; the template's resources not modelled locally are not listed).
26. Execution status changes (``BaseExecutionWorkerCommunication.terminated``). AWS puts a "Step
    Functions Execution Status Change" event (source aws.states) on the account's default bus when
    a Standard execution ends; moto puts none. When moto has reflected the end (SUCCEEDED, FAILED,
    TIMED_OUT, ABORTED) we put AWS's event through the events backend's put_events, as for 16:
    resources [execution ARN], time (the runtime clock), detail {executionArn, stateMachineArn,
    name, status, startDate and stopDate (epoch ms), input and output (JSON text), inputDetails and
    outputDetails {included: true}, error, cause}. This is what starts Rollgate's Reconcile rule.
    Delivery problems never fail the execution. Not modelled: the RUNNING event at the start.
27. ECR blobs (``ECRBackend.complete_layer_upload``). AWS keeps the bytes of every blob pushed
    (InitiateLayerUpload / UploadLayerPart / CompleteLayerUpload), the image config as well as the
    layers; moto keeps only their sizes. We keep the bytes on the repository, so ``read_image`` can
    give the data plane what an image holds (its code, its CMD).
28. Image functions (``moto.settings.lambda_stub_ecr``, ``LambdaFunction.get_code``, and inside 6).
    AWS resolves an image function's ImageUri in ECR (a missing image fails CreateFunction /
    UpdateFunctionCode) and reports CodeSha256 as the image digest's hex; GetFunction's
    ResolvedImageUri is REPOSITORY@sha256:DIGEST. moto stubs ECR unless MOTO_LAMBDA_STUB_ECR=false
    (CodeSha256 then hashes the URI text), builds ResolvedImageUri as "REPOSITORY@sha256@sha256:…"
    for a URI by digest, and publishes versions sharing $LATEST's code dict, so a later
    UpdateFunctionCode changes every version's ImageUri. We resolve in moto's ECR while installed,
    report ResolvedImageUri as AWS does, and give each published version its own code dict.
29. Provisioned concurrency (``moto.awslambda.urls.url_paths`` gains the provisioned-concurrency
    path; ``LambdaResponse`` gains Put/Get/Delete/ListProvisionedConcurrencyConfig(s)). AWS
    allocates the requested environments on a version or alias (Status IN_PROGRESS, then READY
    with AvailableProvisionedConcurrentExecutions = requested) and refuses $LATEST; moto answers
    "Not yet implemented". We serve the four calls from the data plane, which keeps the
    allocations and says when each is READY (on the runtime clock).
30. Function logs (``LambdaBackend.create_function``; ``LogStream.filter_log_events`` /
    ``get_log_events``; ``LogsResponse.filter_log_events`` / ``get_log_events``; inside 3 and 4).
    AWS keeps a function's LoggingConfig (LogFormat Text|JSON, LogGroup, ApplicationLogLevel,
    SystemLogLevel; GetFunctionConfiguration always reports LogFormat and LogGroup, default
    /aws/lambda/NAME) and writes each invocation's output to that group, one stream per execution
    environment, each event readable a few seconds after it happened (its ingestion time).
    FilterLogEvents takes logStreamNamePrefix and the filter-pattern syntax: terms (all must
    appear), "quoted phrases", ?term ?"phrase" (any of them) and -term (none of them), matched
    case-sensitively. moto drops LoggingConfig, has no data plane to write logs, returns events
    the moment they are put, ignores logStreamNamePrefix (every stream of the group is searched)
    and matches only one term list or one phrase (a pattern starting with ? or - matches every
    event). We keep LoggingConfig on the function (versions copy it) and report it; create
    /aws/lambda/NAME when a function without its own LogGroup is created; let the data plane write
    events with their own ingestion times (``put_function_log_events``); hide from FilterLogEvents
    and GetLogEvents what is not ingested at the clock's now (traffic due by then generated first);
    honour logStreamNamePrefix (InvalidParameterException with logStreamNames too, as AWS); and
    match term, phrase, ?-any and -exclusion patterns. JSON ({ $.x = ... }) and space-delimited
    ([a, b]) patterns are left to moto, which matches every event with them. Not modelled:
    subscription filters on the events the data plane writes.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as _dt
import functools
import hashlib
import importlib
import inspect
import json
import math
import re
import threading
import time as _time
import types
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, cast
from urllib.parse import unquote

from local import faults, metric_math, task_tokens, virtual_time

EXPECTED_MOTO_VERSION = "5.2.5"


# --------------------------------------------------------------------------------------------
# Contract with the data plane
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class InvokeRequest:
    account: str
    region: str
    function_name: str  # name, "name:qualifier", or (qualified) ARN
    qualifier: str | None
    payload: bytes
    invocation_type: str = "RequestResponse"  # RequestResponse | Event | DryRun
    log_type: str | None = None  # "Tail" to get the last 4 KB of log in log_result
    client_context: str | None = None


@dataclass
class InvokeResult:
    status_code: int
    payload: bytes
    function_error: str | None = None  # "Unhandled" like the Lambda runtime
    executed_version: str | None = None
    log_result: str | None = None  # base64, only when asked with log_type Tail

    def json(self) -> Any:
        return json.loads(self.payload) if self.payload else None


class LambdaServiceError(Exception):
    """An error of the Lambda service itself (not of the function), e.g. throttling."""

    def __init__(self, status: int, code: str, message: str, **extra: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class UpdateStatus:
    status: str  # InProgress | Successful | Failed
    reason: str | None = None
    reason_code: str | None = None


class DataPlaneHooks(Protocol):
    def handle_invoke(self, request: InvokeRequest) -> InvokeResult: ...
    def function_updated(self, account: str, region: str, function_name: str) -> None: ...
    def update_status(self, account: str, region: str, function_name: str) -> UpdateStatus | None: ...
    def flush_metrics(self) -> None: ...


class ProvisionedConcurrencyHooks(Protocol):
    """What patch 29 asks the data plane (optional: without it the calls stay unimplemented)."""

    def put_provisioned_concurrency(
        self, account: str, region: str, function_name: str, qualifier: str, executions: int
    ) -> dict[str, Any]: ...
    def provisioned_concurrency(self, account: str, region: str, function_name: str) -> dict[str, dict[str, Any]]: ...
    def delete_provisioned_concurrency(self, account: str, region: str, function_name: str, qualifier: str) -> bool: ...


class BridgeClock(Protocol):
    virtual: bool

    def now(self) -> _dt.datetime: ...
    def timestamp(self) -> float: ...
    def sleep(self, virtual_seconds: float) -> None: ...
    def wait_on(self, event: Any, virtual_seconds: float | None) -> bool: ...


# --------------------------------------------------------------------------------------------
# Read helpers: plain records out of moto's Lambda backend
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionRecord:
    account: str
    region: str
    name: str
    version: str  # "$LATEST" or "1", "2", ...
    arn: str  # unqualified
    handler: str
    runtime: str | None
    timeout: int
    memory_size: int
    role: str
    environment: dict[str, str]
    code_sha256: str
    code_bytes: bytes = field(repr=False)
    dead_letter_arn: str | None
    reserved_concurrency: int | None
    package_type: str
    image_uri: str | None = None  # an image function's ImageUri (this version's)
    image_command: tuple[str, ...] = ()  # ImageConfig.Command: overrides the image's CMD
    log_format: str = "Text"  # LoggingConfig.LogFormat: Text | JSON (30)
    log_group: str = ""  # LoggingConfig.LogGroup; /aws/lambda/NAME unless the function names one
    application_log_level: str | None = None  # LoggingConfig (JSON format only)
    system_log_level: str | None = None

    @property
    def qualified_arn(self) -> str:
        return f"{self.arn}:{self.version}"


@dataclass(frozen=True)
class AliasRecord:
    name: str
    arn: str
    function_version: str
    additional_weights: dict[str, float]


@dataclass(frozen=True)
class Target:
    """What an invoke of (function, qualifier) addresses, before any weighted choice."""

    function_name: str
    function_arn: str  # unqualified
    qualifier: str | None  # None for unqualified / $LATEST
    alias: AliasRecord | None
    latest: FunctionRecord


@dataclass(frozen=True)
class StreamMappingRecord:
    uuid: str
    event_source_arn: str
    function_arn: str  # as reported: alias-qualified when mapped to an alias
    enabled: bool
    batch_size: int


def _lambda_backend(account: str, region: str) -> Any:
    from moto.awslambda.utils import get_backend

    return get_backend(account, region)


def _split_name(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    if function_name.startswith("arn:"):
        tail = function_name.split(":function:", 1)[1]
        name, _, arn_qualifier = tail.partition(":")
        return name, arn_qualifier or qualifier
    name, _, name_qualifier = function_name.partition(":")
    return name, name_qualifier or qualifier


def _not_found(message: str) -> LambdaServiceError:
    return LambdaServiceError(404, "ResourceNotFoundException", message)


def _record(fn: Any, dlq: str | None = None) -> FunctionRecord:
    arn = str(fn.function_arn)
    if str(fn.version) != "$LATEST":
        arn = arn.rsplit(":", 1)[0]
    reserved = fn.reserved_concurrency
    return FunctionRecord(
        account=fn.account_id,
        region=fn.region,
        name=fn.function_name,
        version=str(fn.version),
        arn=arn,
        handler=fn.handler or "",
        runtime=fn.run_time,
        timeout=int(fn.timeout or 3),
        memory_size=int(fn.memory_size or 128),
        role=fn.role,
        environment=dict(fn.environment_vars or {}),
        code_sha256=fn.code_sha_256,
        code_bytes=getattr(fn, "code_bytes", b"") or b"",
        dead_letter_arn=dlq if dlq is not None else getattr(fn, _DLQ_ATTR, None),
        reserved_concurrency=None if reserved in (None, "") else int(reserved),
        package_type=fn.package_type,
        image_uri=(fn.code or {}).get("ImageUri") if fn.package_type == "Image" else None,
        image_command=tuple(getattr(getattr(fn, "image_config", None), "cmd", None) or ()),
        **_logging_fields(fn),
    )


def _logging_config(fn: Any) -> dict[str, str]:
    """The function's LoggingConfig as GetFunctionConfiguration reports it (30)."""
    kept = dict(getattr(fn, _LOGGING_ATTR, None) or {})
    config = {"LogFormat": kept.get("LogFormat") or "Text", "LogGroup": kept.get("LogGroup") or ""}
    config["LogGroup"] = config["LogGroup"] or f"/aws/lambda/{fn.function_name}"
    if config["LogFormat"] == "JSON":  # the levels apply to the JSON format only
        config["ApplicationLogLevel"] = kept.get("ApplicationLogLevel") or "INFO"
        config["SystemLogLevel"] = kept.get("SystemLogLevel") or "INFO"
    return config


def _logging_fields(fn: Any) -> dict[str, Any]:
    config = _logging_config(fn)
    return {
        "log_format": config["LogFormat"],
        "log_group": config["LogGroup"],
        "application_log_level": config.get("ApplicationLogLevel"),
        "system_log_level": config.get("SystemLogLevel"),
    }


def read_target(account: str, region: str, function_name: str, qualifier: str | None) -> Target:
    """Resolve what an Invoke addresses. Raises LambdaServiceError 404 like Lambda does."""
    from moto.core.exceptions import JsonRESTError

    backend = _lambda_backend(account, region)
    name, qualifier = _split_name(function_name, qualifier)
    try:
        latest = backend.get_function(name)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: arn:aws:lambda:{region}:{account}:function:{name}") from error
    latest_record = _record(latest)
    if qualifier in (None, "", "$LATEST"):
        return Target(name, latest_record.arn, None, None, latest_record)
    if qualifier.isdigit():
        read_version(account, region, name, qualifier)  # 404 if it does not exist
        return Target(name, latest_record.arn, qualifier, None, latest_record)
    try:
        alias = backend.get_alias(qualifier, name)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: {latest_record.arn}:{qualifier}") from error
    weights = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    record = AliasRecord(
        name=alias.name,
        arn=alias.arn,
        function_version=str(alias.function_version),
        additional_weights={str(k): float(v) for k, v in weights.items()},
    )
    return Target(name, latest_record.arn, qualifier, record, latest_record)


def read_version(account: str, region: str, function_name: str, version: str) -> FunctionRecord:
    from moto.core.exceptions import JsonRESTError

    backend = _lambda_backend(account, region)
    name, _ = _split_name(function_name, None)
    try:
        fn = backend.get_function(name, None if version == "$LATEST" else version)
    except JsonRESTError as error:
        raise _not_found(f"Function not found: {name}:{version}") from error
    if version != "$LATEST" and str(fn.version) != version:
        raise _not_found(f"Function not found: {name}:{version}")
    return _record(fn)


def list_stream_mappings(account: str, region: str) -> list[StreamMappingRecord]:
    """Event source mappings on Kinesis or DynamoDB streams."""
    backend = _lambda_backend(account, region)
    records = []
    for esm in list(backend.list_event_source_mappings(None, None)):
        if ":kinesis:" not in esm.event_source_arn and ":dynamodb:" not in esm.event_source_arn:
            continue
        records.append(
            StreamMappingRecord(
                uuid=esm.uuid,
                event_source_arn=esm.event_source_arn,
                function_arn=esm.function_arn,
                enabled=bool(esm.enabled),
                batch_size=int(esm.batch_size),
            )
        )
    return records


@dataclass(frozen=True)
class ImageRecord:
    repository: str
    digest: str  # "sha256:<hex>"
    manifest: dict[str, Any]
    blobs: dict[str, bytes] = field(repr=False)  # digest -> bytes, of what was pushed to the repository


def read_image(account: str, region: str, repository: str, digest: str) -> ImageRecord:
    """An ECR image by digest, with the blobs pushed to its repository (27). LookupError if absent."""
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account][region]
    repo = backend.repositories.get(repository)
    if repo is None:
        raise LookupError(f"repository {repository} does not exist in ECR")
    for image in repo.images:
        if image.get_image_digest() == digest:
            return ImageRecord(
                repository, digest, json.loads(image.image_manifest), dict(getattr(repo, _BLOBS_ATTR, {}))
            )
    raise LookupError(f"image {digest} is not in repository {repository}")


# --------------------------------------------------------------------------------------------
# Installation bookkeeping
# --------------------------------------------------------------------------------------------
_BLOBS_ATTR = "_rollgate_blobs"
_DLQ_ATTR = "_rollgate_dead_letter_arn"
_LOGGING_ATTR = "_rollgate_logging_config"
_REVISION_ATTR = "_rollgate_revision_id"


@dataclass
class _State:
    data_plane: DataPlaneHooks | None = None
    clock: BridgeClock | None = None
    originals: list[tuple[Any, str, Any]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    deliveries: set[threading.Thread] = field(default_factory=set)  # EventBridge -> Lambda, running
    deliveries_lock: threading.Lock = field(default_factory=threading.Lock)
    catch_up: Callable[[], None] | None = None  # brings traffic up to now (before reads, alias changes)


_state = _State()
_local = threading.local()


def _dp() -> DataPlaneHooks:
    if _state.data_plane is None:
        raise RuntimeError("local.moto_bridge is not installed")
    return _state.data_plane


def _clock() -> BridgeClock:
    if _state.clock is None:
        raise RuntimeError("local.moto_bridge is not installed")
    return _state.clock


# Every symbol we replace or wrap, with the parameters we rely on. The guard test checks each one.
_SFN = "moto.stepfunctions.parser"
_SFN_SERVICE = f"{_SFN}.asl.component.state.exec.state_task.service.state_task_service_sfn"
_SFN_TIME_MODULES = (
    f"{_SFN}.models",
    f"{_SFN}.backend.execution",
    f"{_SFN}.asl.component.state.state",
    f"{_SFN}.asl.eval.event.event_manager",
    f"{_SFN}.asl.component.state.wait.wait_function.timestamp",
)
_SFN_EXEC = f"{_SFN}.asl.component.state.exec"
# Modules whose `time.sleep` is a wait the clock must see (-> the least it sleeps): retry backoff,
# the .sync poll.
SYNC_POLL_SECONDS = 5.0
_SFN_SLEEPING_MODULES = {
    f"{_SFN}.asl.component.common.retry.retrier_decl": 0.0,
    f"{_SFN_EXEC}.state_task.service.state_task_service_callback": SYNC_POLL_SECONDS,
}
# 18. Every place the interpreter starts a thread or waits on one: the execution worker, the program
# and its worker thread, each Task's thread and timeout, Map and Parallel (threads, events, the
# CountDownLatch condition), callbacks (.waitForTaskToken, heartbeats). Their `threading` (or the
# names they import from it) becomes local.virtual_time's look-alikes, which are plain threading
# unless a virtual clock is installed.
_SFN_WAITING: dict[str, str] = {
    **{
        f"{module}.threading": "threading"
        for module in (
            f"{_SFN}.asl.component.program.program",
            f"{_SFN_EXEC}.execute_state",
            f"{_SFN_EXEC}.state_map.iteration.inline_iteration_component",
            f"{_SFN_EXEC}.state_map.iteration.itemprocessor.map_run_record",
            f"{_SFN_EXEC}.state_map.iteration.job",
            f"{_SFN_EXEC}.state_task.service.state_task_service_callback",
            f"{_SFN_EXEC}.state_parallel.branch_worker",
            f"{_SFN_EXEC}.state_parallel.branches_decl",
            f"{_SFN}.asl.eval.count_down_latch",
            f"{_SFN}.asl.eval.environment",
        )
    },
    f"{_SFN_EXEC}.execute_state.Thread": "Thread",
    f"{_SFN}.backend.execution_worker.Thread": "Thread",
    f"{_SFN}.asl.eval.callback.callback.Event": "Event",
}
_SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models.LambdaBackend.invoke": (
        "self",
        "function_name",
        "qualifier",
        "body",
        "headers",
        "response_headers",
    ),
    "moto.awslambda.responses.LambdaResponse.invoke": ("self",),
    "moto.awslambda.models.LambdaFunction.invoke": ("self", "body", "request_headers", "response_headers"),
    "moto.awslambda.models.LambdaFunction.get_configuration": ("self", "on_create"),
    "moto.awslambda.models.LambdaFunction.__init__": ("self", "account_id", "spec", "region", "version"),
    "moto.awslambda.models.LambdaFunction.update_configuration": ("self", "config_updates"),
    "moto.awslambda.models.LambdaBackend.update_function_code": ("self", "function_name", "qualifier", "body"),
    "moto.awslambda.models.LambdaBackend.update_function_configuration": ("self", "function_name", "qualifier", "body"),
    "moto.awslambda.models.LambdaBackend.publish_version": ("self", "function_name", "description"),
    "moto.awslambda.responses.LambdaResponse.publish_version": ("self",),
    "moto.awslambda.models.LambdaAlias.update": ("self", "description", "function_version", "routing_config"),
    "moto.awslambda.responses.LambdaResponse.update_alias": ("self",),
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping": ("self", "spec"),
    f"{_SFN}.asl.component.state.wait.wait_function.wait_function.WaitFunction._wait_interval": (
        "self",
        "env",
        "wait_seconds",
    ),
    f"{_SFN}.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body": ("self", "env"),
    f"{_SFN_SERVICE}.StateTaskServiceSfn._normalise_parameters": (
        "self",
        "parameters",
        "boto_service_name",
        "service_action_name",
    ),
    f"{_SFN_SERVICE}.StateTaskServiceSfn._normalise_response": (
        "self",
        "response",
        "boto_service_name",
        "service_action_name",
    ),
    "moto.cloudwatch.models.CloudWatchBackend.put_metric_data": ("self", "namespace", "metric_data"),
    "moto.cloudwatch.models.Statistics.get_statistics_for_type": ("self", "stat"),
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_data": (
        "self",
        "queries",
        "start_time",
        "end_time",
        "scan_by",
    ),
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics": (
        "self",
        "namespace",
        "metric_name",
        "start_time",
        "end_time",
        "period",
        "stats",
        "dimensions",
        "unit",
    ),
    "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics": ("self",),
    "moto.events.models.Rule.send_to_targets": ("self", "original_event", "transform_input"),
    "moto.cloudwatch.models.CloudWatchBackend.set_alarm_state": (
        "self",
        "alarm_name",
        "reason",
        "reason_data",
        "state_value",
    ),
    # 19-24
    f"{_SFN}.models.StepFunctionsParserBackend.start_execution": (
        "self",
        "state_machine_arn",
        "name",
        "execution_input",
        "trace_header",
    ),
    "moto.stepfunctions.responses.StepFunctionResponse.describe_execution": ("self",),
    "moto.stepfunctions.responses.StepFunctionResponse.get_execution_history": ("self",),
    "moto.cloudwatch.models.CloudWatchBackend.get_filtered_metrics": ("self", "metric_name", "namespace", "dimensions"),
    "moto.awslambda.models.LambdaBackend.update_alias": (
        "self",
        "name",
        "function_name",
        "function_version",
        "description",
        "routing_config",
    ),
    "moto.cloudformation.models.CloudFormationBackend.list_stack_resources": ("self", "stack_name_or_id"),
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resource": (
        "self",
        "stack_name",
        "logical_resource_id",
    ),
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resources": (
        "self",
        "stack_name",
        "logical_resource_id",
    ),
    # 26
    f"{_SFN}.backend.execution.BaseExecutionWorkerCommunication.terminated": ("self",),
    # 27-28
    "moto.ecr.models.ECRBackend.complete_layer_upload": ("self", "repository_name", "upload_id", "layer_digests"),
    "moto.settings.lambda_stub_ecr": (),
    "moto.awslambda.models.LambdaFunction.get_code": ("self",),
    # 30
    "moto.awslambda.models.LambdaBackend.create_function": ("self", "spec"),
    "moto.logs.models.LogStream.filter_log_events": ("self", "start_time", "end_time", "filter_pattern"),
    "moto.logs.models.LogStream.get_log_events": (
        "self",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "start_from_head",
    ),
    "moto.logs.responses.LogsResponse.filter_log_events": ("self",),
    "moto.logs.responses.LogsResponse.get_log_events": ("self",),
    "moto.logs.models.LogGroup.filter_log_events": (
        "self",
        "log_group_name",
        "log_stream_names",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "filter_pattern",
        "interleaved",
    ),
    "moto.logs.models.LogEvent.__init__": ("self", "ingestion_time", "log_event"),
    "moto.logs.models.LogGroup.create_log_stream": ("self", "log_stream_name"),
    "moto.logs.models.LogsBackend.create_log_group": ("self", "log_group_name", "tags"),
    "moto.logs.utils.EventMessageFilter.__init__": ("self", "pattern"),
    # relied on by 15 and 16 (called, not replaced)
    "moto.events.utils.EventTemplateParser.parse": ("input_template", "input_paths_map", "event"),
    "moto.events.models.EventsBackend.put_events": ("self", "events"),
    "moto.sns.models.SNSBackend.publish": ("self", "message", "arn"),
    "moto.stepfunctions.responses.get_backend": ("account", "region"),
    "moto.cloudwatch.models.Alarm.update_state": ("self", "reason", "reason_data", "state_value"),
}
# The stamping functions moto's service modules import by name, swapped for the runtime clock (23).
_STAMPING_FUNCTIONS = (
    "moto.s3.models.utcnow",
    "moto.awslambda.models.utcnow",
    "moto.awslambda.models.iso_8601_datetime_with_nanoseconds",
    "moto.cloudformation.models.utcnow",
    "moto.logs.models.utcnow",
    "moto.sns.models.utcnow",
    "moto.cloudwatch.models.utcnow",
    "moto.events.models.unix_time",
    "moto.dynamodb.models.table.utcnow",
)
# Module attributes we swap for clock-aware shims.
_MODULE_ATTRIBUTES: dict[str, str] = {
    **{dotted: dotted.rpartition(".")[2] for dotted in _STAMPING_FUNCTIONS},
    **{f"{module}.time": "time" for module in _SFN_SLEEPING_MODULES},
    **_SFN_WAITING,
    **{f"{module}.datetime": "datetime" for module in _SFN_TIME_MODULES},
}
# Not replaced, but the patches depend on them (the retrier must keep calling `time.sleep`; 15 and 16
# call moto's template parser, put_events, SNS publish and StartExecution, and read what
# Alarm.update_state sets).
_RELIED_ON = frozenset(
    {
        f"{_SFN}.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body",
        "moto.events.utils.EventTemplateParser.parse",
        "moto.events.models.EventsBackend.put_events",
        "moto.sns.models.SNSBackend.publish",
        "moto.stepfunctions.responses.get_backend",
        "moto.cloudwatch.models.Alarm.update_state",
        "moto.logs.models.LogGroup.filter_log_events",
        "moto.logs.models.LogEvent.__init__",
        "moto.logs.models.LogGroup.create_log_stream",
        "moto.logs.models.LogsBackend.create_log_group",
        "moto.logs.utils.EventMessageFilter.__init__",
    }
)
PATCHED_SYMBOLS: tuple[str, ...] = (*(s for s in _SIGNATURES if s not in _RELIED_ON), *_MODULE_ATTRIBUTES)
GUARDED_SYMBOLS: tuple[str, ...] = (*_SIGNATURES, *_MODULE_ATTRIBUTES)


def _resolve(dotted: str) -> Any:
    """Import `a.b.c.Class.attr` (module part found by trying the longest importable prefix)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(dotted)


def verify() -> list[str]:
    """Problems with the moto symbols this module patches; empty when moto is what we expect."""
    import moto

    problems = []
    if moto.__version__ != EXPECTED_MOTO_VERSION:
        problems.append(
            f"moto {moto.__version__} is installed; local.moto_bridge was written for "
            f"{EXPECTED_MOTO_VERSION} (requirements pin it)"
        )
    for dotted, params in _SIGNATURES.items():
        try:
            target = _resolve(dotted)
        except (ImportError, AttributeError) as error:
            problems.append(f"{dotted} is missing ({error!r}): moto moved or removed it")
            continue
        original = _original_of(target)
        found = tuple(inspect.signature(original).parameters)
        if found[: len(params)] != params:
            problems.append(f"{dotted} has parameters {found}, the bridge expects {params}")
    for dotted, module_name in _MODULE_ATTRIBUTES.items():
        module_path, _, attr = dotted.rpartition(".")
        try:
            module = importlib.import_module(module_path)
        except ImportError as error:
            problems.append(f"{module_path} is missing ({error!r}): moto moved or removed it")
            continue
        value = getattr(module, attr, None)
        value = getattr(value, "_rollgate_wraps", value)
        if getattr(value, "__name__", None) != module_name:
            problems.append(f"{dotted} is not the `{module_name}` module any more: moto changed how it reads the time")
    from moto.awslambda.responses import LambdaResponse

    for method_name in _PROVISIONED_METHODS:  # 29 adds these; a moto that has them needs the patch re-read
        own = LambdaResponse.__dict__.get(method_name)
        if own is not None and not getattr(own, "_rollgate_added", False):
            problems.append(f"moto.awslambda.responses.LambdaResponse.{method_name} exists now: re-check patch 29")
    return problems


def _original_of(obj: Any) -> Any:
    return getattr(obj, "_rollgate_original", obj)


def installed() -> bool:
    return bool(_state.originals)


def install(data_plane: DataPlaneHooks, clock: BridgeClock) -> None:
    """Patch moto to use `data_plane` and `clock`. Calling it again swaps the targets. A virtual
    clock (``clock.virtual``) also becomes the one local.virtual_time's look-alikes wait on."""
    with _state.lock:
        _state.data_plane = data_plane
        _state.clock = clock
        if getattr(clock, "virtual", False):
            virtual_time.install(clock)  # type: ignore[arg-type]
        else:
            virtual_time.uninstall()
        if _state.originals:
            return
        problems = verify()
        version_only = all(p.startswith("moto ") for p in problems)
        if problems and not version_only:
            raise RuntimeError("local.moto_bridge cannot patch this moto:\n  " + "\n  ".join(problems))
        for problem in problems:
            warnings.warn(problem, RuntimeWarning, stacklevel=2)
        from moto.core.config import default_user_config

        if default_user_config.get("lambda", {}).get("use_docker", True) is False:
            raise RuntimeError(
                'moto config {"lambda": {"use_docker": False}} selects moto\'s echoing '
                "Lambda backend, which bypasses the data plane: leave it at the default"
            )
        try:
            _install_lambda()
            _install_stepfunctions()
            _install_cloudwatch()
            _install_events()
            _install_fidelity()
            _install_stack_resources()
            _install_images()
            _install_provisioned_concurrency()
            _install_logs()
            task_tokens.install(_patch)  # SendTaskFailure's cause (local/task_tokens.py)
            metric_math.install(_patch)  # arithmetic metric math in GetMetricData (local/metric_math.py)
        except Exception:
            _restore()
            raise


def uninstall() -> None:
    drain_deliveries()  # a handler still running after the mock ends would call the real AWS
    with _state.lock:
        _restore()
        _state.data_plane = None
        _state.clock = None
        _state.catch_up = None
        virtual_time.uninstall()


def set_traffic_catch_up(catch_up: Callable[[], None] | None) -> None:
    """`catch_up()` is called before every CloudWatch metric read and every UpdateAlias, so traffic
    due by then exists and is routed by the weights in force when it was due."""
    _state.catch_up = catch_up


def _catch_up() -> None:
    if _state.catch_up is not None:
        _state.catch_up()


_INHERITED = object()  # the patched class had no attribute of its own: restoring deletes ours


def _restore() -> None:
    while _state.originals:
        owner, attr, original = _state.originals.pop()
        if original is _INHERITED:
            delattr(owner, attr)
        else:
            setattr(owner, attr, original)


def _patch(owner: Any, attr: str, replacement: Any) -> None:
    original = owner.__dict__.get(attr, _INHERITED) if isinstance(owner, type) else getattr(owner, attr)
    with contextlib.suppress(AttributeError, TypeError):
        replacement._rollgate_original = getattr(owner, attr) if original is _INHERITED else original
    _state.originals.append((owner, attr, original))
    setattr(owner, attr, replacement)


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    for key in (name, name.lower()):
        value = headers.get(key)
        if value:
            return str(value)
    return None


def _as_bytes(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body).encode()


def _rest_error(error: LambdaServiceError) -> Exception:
    from moto.core.exceptions import JsonRESTError

    rest = JsonRESTError(error.code, error.message)
    rest.code = error.status
    if error.extra:
        body = json.loads(rest.description)
        body.update(error.extra)
        rest.description = json.dumps(body)
    return rest


# --------------------------------------------------------------------------------------------
# Lambda patches (1-8)
# --------------------------------------------------------------------------------------------
def _revision(fn: Any) -> str:
    revision = getattr(fn, _REVISION_ATTR, None)
    if revision is None:
        revision = str(uuid.uuid4())
        setattr(fn, _REVISION_ATTR, revision)
    return revision


def _rotate_revision(fn: Any) -> None:
    setattr(fn, _REVISION_ATTR, str(uuid.uuid4()))


def _update_in_progress(fn: Any) -> bool:
    status = _dp().update_status(fn.account_id, fn.region, fn.function_name)
    return status is not None and status.status == "InProgress"


def _raise_if_updating(fn: Any) -> None:
    if _update_in_progress(fn):
        arn = str(fn.function_arn)
        raise _rest_error(
            LambdaServiceError(
                409,
                "ResourceConflictException",
                f"The operation cannot be performed at this time. An update is in progress for resource: {arn}",
            )
        )


def _raise_revision_mismatch() -> None:
    from moto.awslambda.exceptions import PreconditionFailedException

    raise PreconditionFailedException(
        "The Revision Id provided does not match the latest Revision Id. "
        "Call the GetFunction/GetAlias API to retrieve the latest Revision Id"
    )


def _install_lambda() -> None:
    from moto.awslambda import models, responses

    # 1. Invoke -> data plane (alias weights, in-process handler, metrics).
    def backend_invoke(
        self: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: dict[str, str]
    ) -> bytes:
        from_query = getattr(_local, "invoke_qualifier", None)
        if from_query is not None:  # the request came through LambdaResponse.invoke (1b)
            qualifier = from_query[0]
            _local.invoke_qualifier = None  # consumed: nested invokes bring their own
        request = InvokeRequest(
            account=self.account_id,
            region=self.region_name,
            function_name=unquote(function_name),
            qualifier=qualifier or None,
            payload=_as_bytes(body),
            invocation_type=_header(headers, "X-Amz-Invocation-Type") or "RequestResponse",
            log_type=_header(headers, "X-Amz-Log-Type"),
            client_context=_header(headers, "X-Amz-Client-Context"),
        )
        try:
            result = _dp().handle_invoke(request)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        if result.executed_version:
            response_headers["x-amz-executed-version"] = result.executed_version
        if result.log_result:
            response_headers["x-amz-log-result"] = result.log_result
        response_headers["Content-Length"] = str(len(result.payload))
        return result.payload

    _patch(models.LambdaBackend, "invoke", backend_invoke)

    # 1b. Invoke takes its Qualifier from the query string.
    original_invoke_response = responses.LambdaResponse.invoke

    def invoke_response(self: Any) -> Any:
        previous = getattr(_local, "invoke_qualifier", None)
        _local.invoke_qualifier = ((self.querystring.get("Qualifier") or [None])[0],)
        try:
            return original_invoke_response(self)
        finally:
            _local.invoke_qualifier = previous

    _patch(responses.LambdaResponse, "invoke", invoke_response)

    # 2. Event-source deliveries and InvokeAsync call the function object directly.
    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        version = str(self.version)
        request = InvokeRequest(
            account=self.account_id,
            region=self.region,
            function_name=self.function_name,
            qualifier=None if version == "$LATEST" else version,
            payload=_as_bytes(body),
            invocation_type=_header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse",
        )
        try:
            result = _dp().handle_invoke(request)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
        if result.function_error:
            response_headers["x-amz-function-error"] = result.function_error
        return result.payload

    _patch(models.LambdaFunction, "invoke", function_invoke)

    # 3. Configuration: LastUpdateStatus from the data plane, RevisionId, DeadLetterConfig.
    original_get_configuration = models.LambdaFunction.get_configuration

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original_get_configuration(self, on_create)
        config["RevisionId"] = _revision(self)
        dlq = getattr(self, _DLQ_ATTR, None)
        if dlq:
            config["DeadLetterConfig"] = {"TargetArn": dlq}
        config["LoggingConfig"] = _logging_config(self)  # 30
        if str(self.version) == "$LATEST" and not on_create and _state.data_plane is not None:
            status = _state.data_plane.update_status(self.account_id, self.region, self.function_name)
            if status is not None:
                config["LastUpdateStatus"] = status.status
                if status.reason:
                    config["LastUpdateStatusReason"] = status.reason
                if status.reason_code:
                    config["LastUpdateStatusReasonCode"] = status.reason_code
        return config

    _patch(models.LambdaFunction, "get_configuration", get_configuration)

    # 4. DeadLetterConfig storage.
    original_init = models.LambdaFunction.__init__

    def function_init(self: Any, account_id: str, spec: dict[str, Any], region: str, version: str | int = 1) -> None:
        original_init(self, account_id, spec, region, version)
        setattr(self, _DLQ_ATTR, (spec.get("DeadLetterConfig") or {}).get("TargetArn") or None)
        setattr(self, _LOGGING_ATTR, dict(spec.get("LoggingConfig") or {}))  # 30

    _patch(models.LambdaFunction, "__init__", function_init)

    original_update_configuration = models.LambdaFunction.update_configuration

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            setattr(self, _DLQ_ATTR, (config_updates["DeadLetterConfig"] or {}).get("TargetArn") or None)
        if "LoggingConfig" in config_updates:  # 30: fields not given are kept, as on AWS
            kept = dict(getattr(self, _LOGGING_ATTR, None) or {})
            setattr(self, _LOGGING_ATTR, {**kept, **(config_updates["LoggingConfig"] or {})})
        return original_update_configuration(self, config_updates)

    _patch(models.LambdaFunction, "update_configuration", update_configuration)

    # 5. Updates: conflict while InProgress, RevisionId guard, then InProgress for a while.
    def guarded_update(original: Callable[..., Any]) -> Callable[..., Any]:
        def update(self: Any, function_name: str, qualifier: str | None, body: dict[str, Any]) -> Any:
            fn = self.get_function(function_name, qualifier)
            _authorize(self, _ACTION_OF_METHOD[original.__name__], function_name)  # 24
            _raise_if_updating(fn)
            if body.get("RevisionId") and body["RevisionId"] != _revision(fn):
                _raise_revision_mismatch()
            result = original(self, function_name, qualifier, body)
            if body.get("DryRun"):
                return result
            _rotate_revision(fn)
            _dp().function_updated(fn.account_id, fn.region, fn.function_name)
            return result if body.get("Publish") else fn.get_configuration()

        return update

    _patch(models.LambdaBackend, "update_function_code", guarded_update(models.LambdaBackend.update_function_code))
    _patch(
        models.LambdaBackend,
        "update_function_configuration",
        guarded_update(models.LambdaBackend.update_function_configuration),
    )

    # 6. PublishVersion guards.
    original_publish = models.LambdaBackend.publish_version

    def publish_version(self: Any, function_name: str, description: str = "") -> Any:
        latest = self.get_function(function_name)
        _authorize(self, "lambda:PublishVersion", function_name)  # 24
        _raise_if_updating(latest)
        version = original_publish(self, function_name, description)
        if version is not None and getattr(version, _REVISION_ATTR, None) == getattr(latest, _REVISION_ATTR, None):
            _rotate_revision(version)
        if version is not None and version is not latest and version.code is latest.code:
            version.code = dict(latest.code)  # 28: a later update of $LATEST must not change this version
        return version

    _patch(models.LambdaBackend, "publish_version", publish_version)

    original_publish_response = responses.LambdaResponse.publish_version

    def publish_version_response(self: Any) -> Any:
        function_name = unquote(self.path.split("/")[-2])
        params = json.loads(self.body) if self.body else {}
        latest = self.backend.get_function(function_name)
        wanted_sha = params.get("CodeSha256")
        if wanted_sha and wanted_sha != latest.code_sha_256:
            from moto.awslambda.exceptions import InvalidParameterValueException

            raise InvalidParameterValueException(
                f"CodeSHA256 ({wanted_sha}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST."
            )
        if params.get("RevisionId") and params["RevisionId"] != _revision(latest):
            _raise_revision_mismatch()
        return original_publish_response(self)

    _patch(responses.LambdaResponse, "publish_version", publish_version_response)

    # 7. Alias RevisionId.
    original_alias_update = models.LambdaAlias.update

    def alias_update(self: Any, description: str | None, function_version: str | None, routing_config: Any) -> None:
        original_alias_update(self, description, function_version, routing_config)
        self.revision_id = str(uuid.uuid4())

    _patch(models.LambdaAlias, "update", alias_update)

    original_update_alias_response = responses.LambdaResponse.update_alias

    def update_alias_response(self: Any) -> Any:
        function_name = unquote(self.path.rsplit("/")[-3])
        alias_name = unquote(self.path.rsplit("/", 2)[-1])
        params = json.loads(self.body) if self.body else {}
        if params.get("RevisionId"):
            alias = self.backend.get_alias(name=alias_name, function_name=function_name)
            if params["RevisionId"] != alias.revision_id:
                _raise_revision_mismatch()
        _catch_up()  # traffic due before the change is routed by the weights it was due under
        return original_update_alias_response(self)

    _patch(responses.LambdaResponse, "update_alias", update_alias_response)

    # 8. Event source mappings keep the alias qualifier in FunctionArn.
    original_create_esm = models.LambdaBackend.create_event_source_mapping

    def create_event_source_mapping(self: Any, spec: dict[str, Any]) -> Any:
        name, qualifier = _split_name(str(spec.get("FunctionName", "")), None)
        esm = original_create_esm(self, spec)
        if qualifier and qualifier != "$LATEST" and not qualifier.isdigit():
            esm.function_arn = f"{self.get_function(name).function_arn}:{qualifier}"
        return esm

    _patch(models.LambdaBackend, "create_event_source_mapping", create_event_source_mapping)


# --------------------------------------------------------------------------------------------
# Step Functions patches (9-11)
# --------------------------------------------------------------------------------------------
class _ClockTime(types.ModuleType):
    """`time` for moto's retrier and .sync poll: sleep() sleeps on the runtime clock (at least
    `minimum` seconds), everything else is `time`."""

    def __init__(self, minimum: float = 0.0) -> None:
        super().__init__("time")
        self._rollgate_wraps = _time
        self._minimum = minimum

    def sleep(self, seconds: float) -> None:
        _clock().sleep(max(seconds, self._minimum))

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)


class _VirtualDatetime(_dt.datetime):
    """datetime.datetime whose now() is the runtime clock (naive now() = naive UTC)."""

    @classmethod
    def now(cls, tz: _dt.tzinfo | None = None) -> _VirtualDatetime:  # type: ignore[override]
        virtual = _clock().now()
        value = virtual.astimezone(tz) if tz is not None else virtual.astimezone(_dt.UTC).replace(tzinfo=None)
        return cls(
            value.year, value.month, value.day, value.hour, value.minute, value.second, value.microsecond, value.tzinfo
        )

    @classmethod
    def utcnow(cls) -> _VirtualDatetime:  # type: ignore[override]
        return cls.now(None)


def _virtual_datetime_module() -> types.ModuleType:
    shim = types.ModuleType("datetime")
    shim.__dict__.update({k: v for k, v in vars(_dt).items() if not k.startswith("__")})
    shim.datetime = _VirtualDatetime  # type: ignore[attr-defined]
    shim._rollgate_wraps = _dt  # type: ignore[attr-defined]
    return shim


def _install_stepfunctions() -> None:
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function

    # 9. Wait states wait on the runtime clock, and stop early when the execution stops.
    def wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        clock = _clock()
        deadline = clock.timestamp() + max(0, wait_seconds)
        while env.is_running():
            remaining = deadline - clock.timestamp()
            if remaining <= 0:
                return
            clock.wait_on(env.program_state_event, remaining)

    _patch(wait_function.WaitFunction, "_wait_interval", wait_interval)

    # 10. Retry backoff sleeps scaled time.
    for module_name, minimum in _SFN_SLEEPING_MODULES.items():
        _patch(importlib.import_module(module_name), "time", _ClockTime(minimum))

    # 18. Every thread, event and condition of the interpreter on the runtime clock (see _SFN_WAITING).
    for dotted, name in _SFN_WAITING.items():
        module = importlib.import_module(dotted.rpartition(".")[0])
        _patch(
            module,
            dotted.rpartition(".")[2],
            virtual_time.threading_module() if name == "threading" else getattr(virtual_time, name),
        )

    # 11. The interpreter's notion of "now" is the runtime clock.
    shim = _virtual_datetime_module()
    for module_name in _SFN_TIME_MODULES:
        _patch(importlib.import_module(module_name), "datetime", shim)

    # 17. states:startExecution: boto3 member names in, PascalCase out.
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn

    service = state_task_service_sfn.StateTaskServiceSfn
    original_parameters = service._normalise_parameters
    original_response = service._normalise_response

    def normalise_parameters(
        self: Any, parameters: dict, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        original_parameters(self, parameters, boto_service_name, service_action_name)
        action = service_action_name or self._get_boto_service_action()
        members = _boto_members("stepfunctions", action)
        for key in list(parameters):
            member = members.get(key.lower())
            if member and member != key:
                parameters[member] = parameters.pop(key)

    def normalise_response(
        self: Any, response: Any, boto_service_name: str | None = None, service_action_name: str | None = None
    ) -> None:
        original_response(self, response, boto_service_name, service_action_name)
        if not isinstance(response, dict):
            return
        for key in list(response):
            value = response.pop(key)
            if isinstance(value, _dt.datetime):
                value = int(value.timestamp() * 1000)
            response[key[:1].upper() + key[1:]] = value

    _patch(service, "_normalise_parameters", normalise_parameters)
    _patch(service, "_normalise_response", normalise_response)


@functools.cache
def _boto_members(service: str, action: str) -> dict[str, str]:
    """lower-cased name -> boto3's member name, for the input of `action` (snake_case)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    operation = next(name for name in model.operation_names if _snake(name) == action)
    shape = model.operation_model(operation).input_shape
    return {name.lower(): name for name in (shape.members if shape else {})}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# CloudWatch patches (12-14)
# --------------------------------------------------------------------------------------------
_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")


def _percentile(samples: list[tuple[float, float]], p: float) -> float | None:
    """Nearest-rank percentile of (value, count) samples."""
    total = sum(count for _, count in samples)
    if total <= 0:
        return None
    rank = max(1.0, math.ceil(p / 100.0 * total))
    seen = 0.0
    for value, count in sorted(samples):
        seen += count
        if seen >= rank:
            return value
    return max(value for value, _ in samples)


def _floor_minute(moment: _dt.datetime) -> _dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _same_dimensions(datum: Any, dimensions: list[dict[str, str]]) -> bool:
    have = sorted((d.name, d.value) for d in datum.dimensions)
    want = sorted((d["Name"], d.get("Value")) for d in dimensions or [])
    return have == want


def _install_cloudwatch() -> None:
    from moto.cloudwatch import models, responses
    from moto.cloudwatch.exceptions import InvalidParameterValue

    class DistributionDatum(models.MetricAggregatedDatum):
        """Values/Counts kept as one datum; Sum/Min/Max/SampleCount work as for statistic sets."""

        def __init__(
            self,
            namespace: str,
            name: str,
            values: list[float],
            counts: list[float],
            dimensions: list[dict[str, str]],
            timestamp: Any,
            unit: Any,
        ) -> None:
            pairs = [(float(v), float(c)) for v, c in zip(values, counts, strict=True) if float(c) > 0]
            super().__init__(
                namespace=namespace,
                name=name,
                min_stat=min((v for v, _ in pairs), default=0.0),
                max_stat=max((v for v, _ in pairs), default=0.0),
                sample_count=sum(c for _, c in pairs),
                sum_stat=sum(v * c for v, c in pairs),
                dimensions=dimensions,
                timestamp=timestamp,
                unit=unit,
            )
            self.distribution = pairs

    # 12. Values/Counts stored as one distribution datum.
    original_put = models.CloudWatchBackend.put_metric_data

    def put_metric_data(self: Any, namespace: str, metric_data: list[dict[str, Any]]) -> None:
        for index, member in enumerate(metric_data):
            self._validate_parameters_put_metric_data(member, index + 1)
        plain = [m for m in metric_data if not m.get("Values")]
        if plain:
            original_put(self, namespace, plain)
        for member in metric_data:
            if not member.get("Values"):
                continue
            values = member["Values"]
            counts = member.get("Counts") or [1] * len(values)
            self.metric_data.append(
                DistributionDatum(
                    namespace,
                    member["MetricName"],
                    values,
                    counts,
                    member.get("Dimensions") or [],
                    member.get("Timestamp"),
                    member.get("Unit"),
                )
            )

    _patch(models.CloudWatchBackend, "put_metric_data", put_metric_data)

    # 13. Percentiles.
    original_stat = models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.match(stat or "")
        if not match:
            return original_stat(self, stat)
        samples: list[tuple[float, float]] = []
        for datum in self.metric_data or []:
            if isinstance(datum, DistributionDatum):
                samples.extend(datum.distribution)
            elif isinstance(datum, models.MetricDatum):
                samples.append((float(datum.value), 1.0))
        return _percentile(samples, float(match.group(1)))

    _patch(models.Statistics, "get_statistics_for_type", get_statistics_for_type)

    # 14. Reads: flush first, round StartTime to the minute, exact dimensions, percentiles.
    original_get_metric_data = models.CloudWatchBackend.get_metric_data

    def get_metric_data(
        self: Any,
        queries: list[dict[str, Any]],
        start_time: _dt.datetime,
        end_time: _dt.datetime,
        scan_by: str = "TimestampAscending",
    ) -> list[dict[str, Any]]:
        _flush()
        results = original_get_metric_data(self, queries, _floor_minute(start_time), end_time, scan_by)
        for result in results:
            pairs = [(t, v) for t, v in zip(result["timestamps"], result["values"], strict=True) if v is not None]
            result["timestamps"] = [t for t, _ in pairs]
            result["values"] = [v for _, v in pairs]
        faults.spoil_metric_results(results)  # local.faults.metric_outage, for tests
        return results

    _patch(models.CloudWatchBackend, "get_metric_data", get_metric_data)

    def get_metric_statistics(
        self: Any,
        namespace: str,
        metric_name: str,
        start_time: _dt.datetime,
        end_time: _dt.datetime,
        period: int,
        stats: list[str],
        dimensions: list[dict[str, str]],
        unit: str | None = None,
    ) -> list[Any]:
        _flush()
        start_time = _floor_minute(start_time)
        end_time = end_time.replace(microsecond=0)
        if start_time >= end_time:
            raise InvalidParameterValue("The parameter StartTime must be less than the parameter EndTime.")
        extended = list(getattr(_local, "extended_statistics", None) or [])
        data = [
            md
            for md in self.get_all_metrics()
            if md.namespace == namespace
            and md.name == metric_name
            and start_time <= md.timestamp < end_time
            and _same_dimensions(md, dimensions)
            and (not unit or md.unit == unit)
        ]
        buckets: dict[int, list[Any]] = {}
        for datum in data:
            buckets.setdefault(int((datum.timestamp - start_time).total_seconds()) // period, []).append(datum)
        answer = []
        for index in sorted(buckets):
            statistics = models.Statistics(stats, start_time + _dt.timedelta(seconds=index * period))
            statistics.metric_data = buckets[index]
            statistics.unit = buckets[index][-1].unit
            if extended:
                values = {p: statistics.get_statistics_for_type(p) for p in extended}
                statistics.extended_statistics = {  # type: ignore[attr-defined]  # serialized as ExtendedStatistics
                    p: v for p, v in values.items() if v is not None
                }
            answer.append(statistics)
        return answer

    _patch(models.CloudWatchBackend, "get_metric_statistics", get_metric_statistics)

    original_response = responses.CloudWatchResponse.get_metric_statistics

    def get_metric_statistics_response(self: Any) -> Any:
        _local.extended_statistics = self._get_param("ExtendedStatistics") or []
        try:
            return original_response(self)
        finally:
            _local.extended_statistics = None

    _patch(responses.CloudWatchResponse, "get_metric_statistics", get_metric_statistics_response)


def _flush() -> None:
    """Pending metrics into CloudWatch before a read (traffic due by now generated first); a failed
    flush must not fail the read."""
    _catch_up()
    if _state.data_plane is not None:
        try:
            _state.data_plane.flush_metrics()
        except Exception as error:
            warnings.warn(
                f"flushing the data plane's metrics before a read failed: {error!r}", RuntimeWarning, stacklevel=2
            )


# --------------------------------------------------------------------------------------------
# EventBridge deliveries and alarm events (15-16)
# --------------------------------------------------------------------------------------------
_DELIVERED_HERE = frozenset({"lambda", "sns", "states"})  # target services 15 delivers itself
_ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"


def _arn_parts(arn: str) -> tuple[str, str, str]:
    """(service, region, account) of an ARN."""
    parts = arn.split(":")
    return (parts[2], parts[3], parts[4]) if len(parts) > 5 else ("", "", "")


def _iso_seconds(epoch: float) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_delivered(event: dict[str, Any]) -> dict[str, Any]:
    """The event as a target sees it: no moto bookkeeping, time in ISO 8601 (moto keeps epoch seconds)."""
    delivered = {key: value for key, value in event.items() if key != "ingestion-time"}
    if isinstance(delivered.get("time"), int | float):
        delivered["time"] = _iso_seconds(float(delivered["time"]))
    return delivered


def _target_input(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What a target receives, by AWS's rules: Input, else InputPath, else InputTransformer, else the event."""
    delivered = _as_delivered(event)
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse as parse_path

        matches = parse_path(target["InputPath"]).find(delivered)
        return matches[0].value if matches else None
    transformer = target.get("InputTransformer")
    if transformer:
        ingested = event.get("ingestion-time", _time.time())  # moto's parser needs it
        return _transformed(rule, transformer, {**delivered, "ingestion-time": ingested})
    return delivered


def _transformed(rule: Any, transformer: dict[str, Any], event: Any) -> Any:
    """An InputTransformer's output. A JSON template (an object, or a "quoted string" that becomes
    text) goes through moto's parser, as for the targets moto delivers. AWS also takes a plain-text
    template ("<id> is in state <state>"), and inserts values verbatim (unescaped) in both kinds, so a
    template that is no JSON once filled is delivered as text (a string template's own). The predefined
    <aws.events.rule-name> and <aws.events.rule-arn>, which moto does not know, are filled in first."""
    from moto.events.utils import EventTemplateParser

    template = str(transformer.get("InputTemplate") or "")
    for variable, value in (("aws.events.rule-name", rule.name), ("aws.events.rule-arn", rule.arn)):
        template = template.replace(f"<{variable}>", value)
    paths = transformer.get("InputPathsMap") or {}
    try:
        return EventTemplateParser.parse(input_template=template, input_paths_map=paths, event=event)
    except ValueError:
        pass
    from jsonpath_ng.ext import parse as parse_path

    text = template
    with contextlib.suppress(ValueError):
        literal = json.loads(template)
        if isinstance(literal, str):  # a JSON string template: its text, placeholders and all
            text = literal
    for variable, path in paths.items():
        matches = parse_path(path).find(event)
        if matches:
            text = text.replace(f"<{variable}>", EventTemplateParser._stringify(matches[0].value))
    return text


def _deliver(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    """Deliver `event` to one Lambda, SNS or Step Functions target; problems are warnings, as on AWS
    (where they end in the target's retry policy and dead-letter queue, not in PutEvents)."""
    arn = str(target.get("Arn", ""))
    service, region, account = _arn_parts(arn)
    try:
        value = _target_input(rule, target, event)
        if service == "lambda":
            _invoke_later(
                InvokeRequest(
                    account=account,
                    region=region,
                    function_name=arn,
                    qualifier=None,
                    payload=json.dumps(value).encode(),
                    invocation_type="Event",
                )
            )
        elif service == "sns":
            from moto.sns.models import sns_backends

            message = value if isinstance(value, str) else json.dumps(value)  # a JSON string is plain text
            sns_backends[account][region].publish(message, arn=arn)
        elif service == "states":
            from moto.stepfunctions.responses import get_backend

            get_backend(account, region).start_execution(arn, str(uuid.uuid4()), json.dumps(value))
    except Exception as error:
        warnings.warn(
            f"EventBridge could not deliver event {event.get('id')} to target {target.get('Id')} ({arn}): {error!r}",
            RuntimeWarning,
            stacklevel=2,
        )


def _invoke_later(request: InvokeRequest) -> None:
    """An asynchronous invoke on a daemon thread, like EventBridge's: PutEvents does not wait for it."""

    def run() -> None:
        try:
            _dp().handle_invoke(request)  # Event: the data plane retries and dead-letters failures
        except Exception as error:  # e.g. the function no longer exists, or the bridge was uninstalled
            warnings.warn(
                f"EventBridge could not invoke {request.function_name}: {error!r}", RuntimeWarning, stacklevel=1
            )
        finally:
            with _state.deliveries_lock:
                _state.deliveries.discard(thread)

    # an actor of a virtual clock: the clock waits for it like for any thread of the interpreter
    thread = virtual_time.Thread(
        target=run, daemon=True, name=f"rollgate-eventbridge-{request.function_name.rsplit(':', 1)[-1]}"
    )
    with _state.deliveries_lock:
        _state.deliveries.add(thread)
    thread.start()


def drain_deliveries(timeout: float = 5.0) -> bool:
    """Wait until no EventBridge -> Lambda delivery is running, including the ones those handlers
    cause: on a virtual clock as long as they take (they are actors: a delivery that waits forever is
    a Deadlock, not a hang), else at most `timeout` real seconds. False if some are still running."""
    deadline = _time.monotonic() + timeout
    virtual = virtual_time.installed_clock() is not None
    while True:
        with _state.deliveries_lock:
            running = [thread for thread in _state.deliveries if thread.is_alive()]
        remaining = deadline - _time.monotonic()
        if not running:
            return True
        if virtual:
            running[0].join()
            continue
        if remaining <= 0:
            warnings.warn(
                f"{len(running)} EventBridge -> Lambda deliveries still running after {timeout} s",
                RuntimeWarning,
                stacklevel=2,
            )
            return False
        running[0].join(remaining)


def _alarm_timestamp(moment: _dt.datetime) -> str:
    """CloudWatch's event timestamp: 2019-10-02T17:04:40.985+0000."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=_dt.UTC)).astimezone(_dt.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}+0000"


def _alarm_state(alarm: Any) -> dict[str, Any]:
    state = {"value": alarm.state_value, "reason": alarm.state_reason}
    if alarm.state_reason_data not in (None, "", "{}"):  # "{}" is moto's placeholder at creation
        state["reasonData"] = alarm.state_reason_data
    state["timestamp"] = _alarm_timestamp(alarm.state_updated_timestamp)
    return state


def _metric_stat(namespace: str, name: str, dimensions: list[Any], period: Any, stat: str | None) -> dict[str, Any]:
    return {
        "metric": {"namespace": namespace, "name": name, "dimensions": {d.name: d.value for d in dimensions}},
        "period": int(period) if period is not None else None,
        "stat": stat,
    }


def _alarm_metrics(alarm: Any) -> list[dict[str, Any]]:
    """configuration.metrics of the event: the alarm's metric queries, or its one metric."""
    if alarm.metric_data_queries:
        metrics = []
        for query in alarm.metric_data_queries:
            entry: dict[str, Any] = {"id": query.id}
            if query.expression:
                entry["expression"] = query.expression
            if query.label:
                entry["label"] = query.label
            if query.metric_stat is not None:
                stat = query.metric_stat
                entry["metricStat"] = _metric_stat(
                    stat.metric.namespace, stat.metric.metric_name, stat.metric.dimensions, stat.period, stat.stat
                )
            entry["returnData"] = query.return_data is None or str(query.return_data).lower() != "false"
            metrics.append(entry)
        return metrics
    if not alarm.metric_name:
        return []
    return [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm.alarm_arn)),  # AWS: an opaque id, stable per alarm
            "metricStat": _metric_stat(
                alarm.namespace,
                alarm.metric_name,
                alarm.dimensions,
                alarm.period,
                alarm.extended_statistic or alarm.statistic,
            ),
            "returnData": True,
        }
    ]


def _alarm_state_change_detail(alarm: Any, previous: dict[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = {}
    if alarm.description:
        configuration["description"] = alarm.description
    if getattr(alarm, "rule", None):  # a composite alarm
        configuration["alarmRule"] = alarm.rule
    else:
        configuration["metrics"] = _alarm_metrics(alarm)
    return {
        "alarmName": alarm.name,
        "state": _alarm_state(alarm),
        "previousState": previous,
        "configuration": configuration,
    }


def _put_alarm_state_change(account: str, region: str, alarm: Any, previous: dict[str, Any], at: _dt.datetime) -> None:
    """The "CloudWatch Alarm State Change" event on the default bus of the alarm's account and region."""
    from moto.events.models import events_backends

    entry = {
        "Source": "aws.cloudwatch",
        "DetailType": _ALARM_DETAIL_TYPE,
        "Detail": json.dumps(_alarm_state_change_detail(alarm, previous)),
        "Resources": [alarm.alarm_arn],
        "Time": at.timestamp(),
    }
    try:
        results = events_backends[account][region].put_events([entry])
        failed = [r for r in results if r.get("ErrorCode")]
        if failed:
            raise RuntimeError(failed)
    except Exception as error:  # CloudWatch's SetAlarmState never fails because of EventBridge
        warnings.warn(
            f"the state change event of alarm {alarm.name} was not put on the default bus: {error!r}",
            RuntimeWarning,
            stacklevel=3,
        )


_EXECUTION_DETAIL_TYPE = "Step Functions Execution Status Change"


def _epoch_ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, _dt.datetime) else None


def _put_execution_status_change(execution: Any, at: _dt.datetime) -> None:
    """The "Step Functions Execution Status Change" event of an execution that ended (26)."""
    from moto.events.models import events_backends

    status = getattr(execution.exec_status, "value", execution.exec_status)
    detail = {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine_arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date) or _epoch_ms(at),
        "input": json.dumps(execution.input_data),
        "output": json.dumps(execution.output) if execution.output is not None else None,
        "inputDetails": {"included": True},
        "outputDetails": {"included": True},
        "error": execution.error,
        "cause": execution.cause,
    }
    entry = {
        "Source": "aws.states",
        "DetailType": _EXECUTION_DETAIL_TYPE,
        "Detail": json.dumps(detail, default=str),
        "Resources": [execution.exec_arn],
        "Time": at.timestamp(),
    }
    try:
        results = events_backends[execution.account_id][execution.region_name].put_events([entry])
        failed = [r for r in results if r.get("ErrorCode")]
        if failed:
            raise RuntimeError(failed)
    except Exception as error:  # the execution has ended either way: EventBridge never changes that
        warnings.warn(
            f"the status change event of {execution.exec_arn} was not put on the default bus: {error!r}",
            RuntimeWarning,
            stacklevel=3,
        )


def _install_events() -> None:
    from moto.cloudwatch import models as cloudwatch_models
    from moto.events import models as events_models

    # 15. Rule targets: Lambda, SNS and Step Functions delivered here, the rest by moto.
    original_send = events_models.Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if self.state == "DISABLED" or self.event_pattern.dump() is None:
            return  # AWS: a disabled rule, or one with only a ScheduleExpression, matches no event
        if not self.event_pattern.matches_event(original_event):
            return
        ours = [t for t in self.targets if _arn_parts(str(t.get("Arn", "")))[0] in _DELIVERED_HERE]
        for target in ours:
            _deliver(self, target, original_event)
        theirs = [t for t in self.targets if t not in ours]
        if theirs:
            rule = copy.copy(self)  # the same rule with only the targets moto delivers
            rule.targets = theirs
            original_send(rule, original_event, transform_input)

    _patch(events_models.Rule, "send_to_targets", send_to_targets)

    # 16. Alarm state changes stamped with the runtime clock and put on the default bus.
    original_set_alarm_state = cloudwatch_models.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str, state_value: str) -> None:
        alarm = self.alarms.get(alarm_name)
        previous = _alarm_state(alarm) if alarm is not None else None
        original_set_alarm_state(self, alarm_name, reason, reason_data, state_value)
        alarm = self.alarms[alarm_name]
        now = _clock().now()
        alarm.state_updated_timestamp = now.astimezone(_dt.UTC).replace(tzinfo=None)  # naive UTC, like moto's
        if previous is not None and previous["value"] != alarm.state_value:
            _put_alarm_state_change(self.account_id, self.region_name, alarm, previous, now)

    _patch(cloudwatch_models.CloudWatchBackend, "set_alarm_state", set_alarm_state)

    # 26. The end of an execution put on the default bus.
    from moto.stepfunctions.parser.backend import execution as sfn_execution

    original_terminated = sfn_execution.BaseExecutionWorkerCommunication.terminated

    def terminated(self: Any) -> None:
        original_terminated(self)
        _put_execution_status_change(self.execution, _clock().now())

    _patch(sfn_execution.BaseExecutionWorkerCommunication, "terminated", terminated)


# --------------------------------------------------------------------------------------------
# Fidelity patches (19-24): execution names, redrive, history order, metric listing, resource
# timestamps, the managed-function tag condition
# --------------------------------------------------------------------------------------------
_REDRIVE_COUNT_ATTR = "_rollgate_redrive_count"
_REDRIVE_DATE_ATTR = "_rollgate_redrive_date"
_REDRIVABLE = ("FAILED", "ABORTED", "TIMED_OUT")
# Lambda actions Rollgate's roles are granted only on functions with the managed tag, that change them.
_TAG_CONDITIONED_ACTIONS = (
    "lambda:UpdateFunctionCode",
    "lambda:UpdateFunctionConfiguration",
    "lambda:PublishVersion",
    "lambda:UpdateAlias",
)
_ACTION_OF_METHOD = {
    "update_function_code": "lambda:UpdateFunctionCode",
    "update_function_configuration": "lambda:UpdateFunctionConfiguration",
}


def _virtual_utcnow() -> _dt.datetime:
    """moto's `utcnow()` (naive UTC) on the runtime clock."""
    return _clock().now().astimezone(_dt.UTC).replace(tzinfo=None)


def _virtual_unix_time(dt: _dt.datetime | None = None) -> float:
    """moto's `unix_time(dt=None)`: epoch seconds of `dt`, else of the runtime clock's now."""
    moment = dt or _virtual_utcnow()
    return (moment - _dt.datetime(1970, 1, 1)).total_seconds()


def _virtual_iso_nanoseconds() -> str:
    return _virtual_utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f000Z")


_VIRTUAL_TIME_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "utcnow": _virtual_utcnow,
    "unix_time": _virtual_unix_time,
    "iso_8601_datetime_with_nanoseconds": _virtual_iso_nanoseconds,
}


def _virtual_time_function(name: str, original: Any) -> Callable[..., Any]:
    virtual = _VIRTUAL_TIME_FUNCTIONS[name]

    def shim(*args: Any, **kwargs: Any) -> Any:
        return virtual(*args, **kwargs)

    shim.__name__ = name
    shim._rollgate_wraps = original  # type: ignore[attr-defined]  # what verify() checks
    return shim


class _NotRedrivable(Exception):
    pass


def _redrive_point(program: Any, events: list[dict[str, Any]], execution_input: Any) -> tuple[str, Any]:
    """Where AWS restarts a redriven execution: the top-level state that was running when it
    failed (the last one entered), with the input it was entered with; the start state when it
    failed before entering any."""
    top_level = set(program.states.states)
    point: tuple[str, Any] = (program.start_at.start_at_name, execution_input)
    for event in events:
        details = event.get("stateEnteredEventDetails")
        if details and details.get("name") in top_level:
            point = (details["name"], json.loads(details["input"]) if details.get("input") else {})
    return point


def _redrive(execution: Any) -> _dt.datetime:
    """RedriveExecution: the same execution (ARN, name, input, start date) runs again from its
    failed state, its history continued after an ExecutionRedriven event."""
    from moto.stepfunctions.parser.api import ExecutionStatus, HistoryEventType
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

    status = execution.exec_status.value if execution.exec_status is not None else "RUNNING"
    if status not in _REDRIVABLE:
        raise _NotRedrivable(
            f"Execution with status {status} cannot be redriven: only FAILED, ABORTED or TIMED_OUT executions can"
        )
    if execution.sm_type != "STANDARD":
        raise _NotRedrivable("Only executions of STANDARD state machines can be redriven")
    previous = execution.exec_worker.env.event_manager.get_event_history() if execution.exec_worker else []
    count = getattr(execution, _REDRIVE_COUNT_ATTR, 0) + 1
    redrive_date = _clock().now()
    worker = execution._get_start_execution_worker()
    program = worker._get_evaluation_entrypoint()
    state_name, state_input = _redrive_point(program, previous, execution.input_data)
    env = worker._get_evaluation_environment()
    last_id = max((event["id"] for event in previous), default=0)
    manager = env.event_manager
    manager._history_event_list.extend(previous)
    manager._event_id_gen._next_id = last_id + 1
    env.event_history_context.source_event_id = env.event_history_context.last_published_event_id = last_id
    manager.add_event(
        context=env.event_history_context,
        event_type=HistoryEventType.ExecutionRedriven,
        event_details=cast(EventDetails, {"executionRedrivenEventDetails": {"redriveCount": count}}),
        update_source_event_id=False,
    )
    env.states.reset(input_value=state_input)
    program.start_at.start_at_name = state_name
    worker.env = env

    def run_from_the_failed_state() -> None:
        program.eval(env)
        worker._execution_communication.terminated()

    worker._execution_logic = run_from_the_failed_state  # started by moto's own worker.start()
    setattr(execution, _REDRIVE_COUNT_ATTR, count)
    setattr(execution, _REDRIVE_DATE_ATTR, redrive_date)
    execution.exec_worker = worker
    execution.exec_status = ExecutionStatus.RUNNING
    execution.stop_date = execution.error = execution.cause = execution.output = None
    worker.start()
    return redrive_date


def _metric_key(datum: Any) -> tuple[Any, ...]:
    return (datum.namespace, datum.name, tuple(sorted((d.name, d.value) for d in datum.dimensions)))


def _tag_condition_holds(condition: dict[str, Any] | None, tags: dict[str, str]) -> bool:
    """The aws:ResourceTag/<key> conditions of a statement against the resource's tags; other
    condition keys are not modelled (taken as met)."""
    for operator, clauses in (condition or {}).items():
        for key, wanted in clauses.items():
            if not key.startswith("aws:ResourceTag/"):
                continue
            have = tags.get(key.split("/", 1)[1])
            values = wanted if isinstance(wanted, list) else [wanted]
            if operator in ("StringEquals", "StringLike") and have is None:
                return False
            if operator == "StringEquals" and have not in [str(v) for v in values]:
                return False
            if operator == "StringLike" and not any(_glob(have or "", str(v)) for v in values):
                return False
            if operator == "StringNotEquals" and have in [str(v) for v in values]:
                return False
    return True


def _glob(text: str, pattern: str, *, ignore_case: bool = False) -> bool:
    regex = "^" + ".*".join(".".join(re.escape(p) for p in part.split("?")) for part in pattern.split("*")) + "$"
    return re.match(regex, text, re.IGNORECASE if ignore_case else 0) is not None


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _policy_allows(documents: list[dict[str, Any]], action: str, resource: str, tags: dict[str, str]) -> bool:
    """IAM's evaluation of identity policies for one action: an explicit Deny wins, else some Allow
    whose Action, Resource and tag conditions match is needed."""
    allowed = False
    for document in documents:
        statements = document.get("Statement") or []
        for statement in [statements] if isinstance(statements, dict) else statements:
            if not any(_glob(action, a, ignore_case=True) for a in _listed(statement.get("Action"))):
                continue
            if not any(_glob(resource, r) for r in _listed(statement.get("Resource"))):
                continue
            if not _tag_condition_holds(statement.get("Condition"), tags):
                continue
            if statement.get("Effect") == "Deny":
                return False
            allowed = True
    return allowed


def _role_documents(account: str, role_arn: str) -> list[dict[str, Any]]:
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:  # no such role: nothing allows anything
        return []
    documents = [json.loads(text) if isinstance(text, str) else text for text in role.policies.values()]
    for policy in role.managed_policies.values():
        document = getattr(getattr(policy, "default_version", None), "document", None)
        if document:
            documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def _authorize(backend: Any, action: str, function_name: str) -> None:
    """The IAM check for `action` on `function_name` when the caller is a function running in the
    data plane (its role's policies, as IAM evaluates them for the tag condition). Calls from
    outside any invocation (tests, the CLI, `local serve` clients) are not checked: they stand for
    an administrator."""
    import os

    caller = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")  # per invocation (the data plane's overlay)
    if not caller:
        return
    try:
        caller_role = backend.get_function(caller).role
        target = backend.get_function(_split_name(function_name, None)[0])
    except Exception:
        return  # moto answers the missing function itself
    tags = dict(target.tags or {})
    if _policy_allows(_role_documents(backend.account_id, caller_role), action, str(target.function_arn), tags):
        return
    role_name = caller_role.rsplit("/", 1)[-1]
    raise _rest_error(
        LambdaServiceError(
            403,
            "AccessDeniedException",
            f"User: arn:aws:sts::{backend.account_id}:assumed-role/{role_name}/{caller} is not authorized to "
            f"perform: {action} on resource: {target.function_arn} because no identity-based policy allows "
            f"the {action} action",
        )
    )


def _install_fidelity() -> None:
    from moto.awslambda import models as lambda_models
    from moto.cloudwatch import models as cloudwatch_models
    from moto.stepfunctions import responses as sfn_responses
    from moto.stepfunctions.exceptions import AWSError, InvalidToken
    from moto.stepfunctions.parser import models as sfn_models

    # 19. An execution started without a name gets a generated one (a UUID, as on AWS).
    original_start = sfn_models.StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any,
        state_machine_arn: str,
        name: str | None = None,
        execution_input: Any = None,
        trace_header: Any = None,
    ) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    _patch(sfn_models.StepFunctionsParserBackend, "start_execution", start_execution)

    # 20. RedriveExecution, and the redrive fields of DescribeExecution.
    class ExecutionNotRedrivable(AWSError):
        TYPE = "ExecutionNotRedrivable"
        STATUS = 400

    def redrive_execution(self: Any) -> Any:
        from moto.core.responses import ActionResult

        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        try:
            return ActionResult({"redriveDate": _redrive(execution)})
        except _NotRedrivable as refused:
            raise ExecutionNotRedrivable(str(refused)) from refused

    _patch(sfn_responses.StepFunctionResponse, "redrive_execution", redrive_execution)

    original_describe = sfn_responses.StepFunctionResponse.describe_execution

    def describe_execution(self: Any) -> Any:
        answer = original_describe(self)
        execution = self.stepfunction_backend.describe_execution(self._get_param("executionArn"))
        described = cast(dict[str, Any], answer.result)
        described["redriveCount"] = getattr(execution, _REDRIVE_COUNT_ATTR, 0)
        if hasattr(execution, _REDRIVE_DATE_ATTR):
            described["redriveDate"] = getattr(execution, _REDRIVE_DATE_ATTR)
        redrivable = described["status"] in _REDRIVABLE
        described["redriveStatus"] = "REDRIVABLE" if redrivable else "NOT_REDRIVABLE"
        if not redrivable:
            described["redriveStatusReason"] = f"Execution is {described['status']}"
        return answer

    _patch(sfn_responses.StepFunctionResponse, "describe_execution", describe_execution)

    # 21. GetExecutionHistory honours reverseOrder, maxResults and nextToken.
    original_history = sfn_responses.StepFunctionResponse.get_execution_history

    def get_execution_history(self: Any) -> Any:
        answer = original_history(self)
        history = cast(dict[str, Any], answer.result)
        events = list(history["events"])
        if self._get_param("reverseOrder"):
            events.reverse()
        token = str(self._get_param("nextToken") or "0")
        if not token.isdigit():
            raise InvalidToken(f"Invalid Token: {token}")
        start = int(token)
        size = int(self._get_param("maxResults") or 0) or 1000  # AWS: 0 means the maximum, 1000
        history["events"] = events[start : start + size]
        if start + size < len(events):
            history["nextToken"] = str(start + size)
        return answer

    _patch(sfn_responses.StepFunctionResponse, "get_execution_history", get_execution_history)

    # 22. ListMetrics lists each metric (namespace, name, dimensions) once.
    def get_filtered_metrics(
        self: Any, metric_name: str, namespace: str, dimensions: list[dict[str, str]]
    ) -> list[Any]:
        listed: dict[tuple[Any, ...], Any] = {}
        for datum in self.get_all_metrics():
            if (namespace and datum.namespace != namespace) or (metric_name and datum.name != metric_name):
                continue
            have = {(d.name, d.value) for d in datum.dimensions}
            names = {d.name for d in datum.dimensions}
            if any(
                (d["Name"], d["Value"]) not in have if d.get("Value") is not None else d["Name"] not in names
                for d in dimensions or []
            ):
                continue
            listed.setdefault(_metric_key(datum), datum)
        return list(listed.values())

    _patch(cloudwatch_models.CloudWatchBackend, "get_filtered_metrics", get_filtered_metrics)

    # 23. Resource timestamps (S3 LastModified, Lambda LastModified, stacks, log events, alarms,
    #     SNS messages, EventBridge event times ...) on the runtime clock.
    for dotted in _STAMPING_FUNCTIONS:
        module_name, _, attribute = dotted.rpartition(".")
        module = importlib.import_module(module_name)
        _patch(module, attribute, _virtual_time_function(attribute, getattr(module, attribute)))

    # 24. The managed-function tag condition on the mutating Lambda calls of functions' roles.
    original_update_alias = lambda_models.LambdaBackend.update_alias

    def update_alias(
        self: Any, name: str, function_name: str, function_version: str, description: str, routing_config: Any
    ) -> Any:
        _authorize(self, "lambda:UpdateAlias", function_name)
        return original_update_alias(self, name, function_name, function_version, description, routing_config)

    _patch(lambda_models.LambdaBackend, "update_alias", update_alias)


# --------------------------------------------------------------------------------------------
# Stack resources (25)
# --------------------------------------------------------------------------------------------
_STACK_RESOURCES_ATTR = "_rollgate_resources"


@dataclass(frozen=True)
class StackResource:
    """A resource of a registered stack, with the attribute names moto's responses read."""

    logical_resource_id: str
    physical_resource_id: str
    cf_resource_type: str


def register_stack_resources(account: str, region: str, stack_name: str, resources: list[StackResource]) -> None:
    """Make CloudFormation describe `resources` as the resources of stack `stack_name` (25)."""
    from moto.cloudformation.models import cloudformation_backends

    stack = cloudformation_backends[account][region].get_stack(stack_name)
    setattr(stack, _STACK_RESOURCES_ATTR, list(resources))


# --------------------------------------------------------------------------------------------
# Image functions and provisioned concurrency (27-29)
# --------------------------------------------------------------------------------------------
def _install_images() -> None:
    from moto import settings
    from moto.awslambda import models as lambda_models
    from moto.ecr import models as ecr_models

    # 27. The bytes of each blob pushed are kept on its repository.
    original_complete = ecr_models.ECRBackend.complete_layer_upload

    def complete_layer_upload(
        self: Any, repository_name: str, upload_id: str, layer_digests: list[str], registry_id: str | None = None
    ) -> dict[str, Any]:
        repository = self._get_repository(repository_name, registry_id)
        upload = repository.uploads.get(upload_id)
        data = bytes(upload.layer_parts) if upload is not None else b""
        result: dict[str, Any] = original_complete(self, repository_name, upload_id, layer_digests, registry_id)
        blobs = repository.__dict__.setdefault(_BLOBS_ATTR, {})
        blobs[result["layerDigest"]] = data
        return result

    _patch(ecr_models.ECRBackend, "complete_layer_upload", complete_layer_upload)

    # 28. Images resolved in moto's ECR (CodeSha256 = the digest), ResolvedImageUri as AWS reports it.
    _patch(settings, "lambda_stub_ecr", lambda: False)
    original_get_code = lambda_models.LambdaFunction.get_code

    def get_code(self: Any) -> dict[str, Any]:
        response: dict[str, Any] = original_get_code(self)
        code = response.get("Code") or {}
        if code.get("ImageUri"):
            uri = str(code["ImageUri"]).split("@", 1)[0]
            repository = uri.rsplit(":", 1)[0] if ":" in uri.rsplit("/", 1)[-1] else uri
            code["ResolvedImageUri"] = f"{repository}@sha256:{self.code_sha_256}"
        return response

    _patch(lambda_models.LambdaFunction, "get_code", get_code)


_PROVISIONED_PATH = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"
_PROVISIONED_METHODS = (
    "put_provisioned_concurrency_config",
    "get_provisioned_concurrency_config",
    "delete_provisioned_concurrency_config",
    "list_provisioned_concurrency_configs",
)


def _provisioned_hooks() -> ProvisionedConcurrencyHooks:
    data_plane = _dp()
    if not hasattr(data_plane, "put_provisioned_concurrency"):
        raise _rest_error(LambdaServiceError(404, "ResourceNotFoundException", "Not yet implemented"))
    return cast(ProvisionedConcurrencyHooks, data_plane)


def _provisioned_target(response: Any) -> tuple[Any, str, str | None]:
    """(the function's $LATEST, its name, the qualifier) of a provisioned-concurrency request; 404
    for an unknown function, version or alias, as Lambda answers."""
    name, qualifier = _split_name(unquote(response.path.split("/")[-2]), None)
    qualifier = qualifier or (response.querystring.get("Qualifier") or [None])[0]
    fn = response.backend.get_function(name)
    if qualifier and qualifier != "$LATEST":
        try:
            read_target(fn.account_id, fn.region, name, qualifier)
        except LambdaServiceError as error:
            raise _rest_error(error) from error
    return fn, name, qualifier


def _install_provisioned_concurrency() -> None:
    from moto.awslambda import responses, urls
    from moto.awslambda.exceptions import InvalidParameterValueException

    # 29. The provisioned-concurrency calls, served from the data plane.
    _patch(urls, "url_paths", {**urls.url_paths, _PROVISIONED_PATH: responses.LambdaResponse.dispatch})

    def put(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        if not qualifier or qualifier == "$LATEST":
            raise InvalidParameterValueException("Provisioned Concurrency Configs cannot be applied to unpublished")
        executions = int(json.loads(self.body or "{}").get("ProvisionedConcurrentExecutions", 0))
        if executions < 1:
            raise InvalidParameterValueException("ProvisionedConcurrentExecutions must be at least 1")
        answer = _provisioned_hooks().put_provisioned_concurrency(fn.account_id, fn.region, name, qualifier, executions)
        return 202, {}, json.dumps(answer)

    def get(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        found = _provisioned_hooks().provisioned_concurrency(fn.account_id, fn.region, name).get(str(qualifier))
        if found is None:
            raise _rest_error(
                LambdaServiceError(
                    404,
                    "ProvisionedConcurrencyConfigNotFoundException",
                    "No Provisioned Concurrency Config found for this function",
                )
            )
        return 200, {}, json.dumps(found)

    def delete(self: Any) -> Any:
        fn, name, qualifier = _provisioned_target(self)
        _provisioned_hooks().delete_provisioned_concurrency(fn.account_id, fn.region, name, str(qualifier))
        return 204, {}, ""

    def list_configs(self: Any) -> Any:
        fn, name, _ = _provisioned_target(self)
        configs = _provisioned_hooks().provisioned_concurrency(fn.account_id, fn.region, name)
        listed = [{"FunctionArn": f"{fn.function_arn}:{q}", **c} for q, c in sorted(configs.items())]
        return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": listed})

    for method_name, method in zip(_PROVISIONED_METHODS, (put, get, delete, list_configs), strict=True):
        setattr(method, "_rollgate_added", True)  # noqa: B010 - ours, so verify() does not take it for moto's
        _patch(responses.LambdaResponse, method_name, method)


def _install_stack_resources() -> None:
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import ValidationError

    original_list = models.CloudFormationBackend.list_stack_resources
    original_describe_one = models.CloudFormationBackend.describe_stack_resource
    original_describe = models.CloudFormationBackend.describe_stack_resources

    def list_stack_resources(self: Any, stack_name_or_id: str) -> Any:
        stack = self.get_stack(stack_name_or_id)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        return original_list(self, stack_name_or_id) if registered is None else (stack, registered)

    def describe_stack_resource(self: Any, stack_name: str, logical_resource_id: str) -> Any:
        stack = self.get_stack(stack_name)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        if registered is None:
            return original_describe_one(self, stack_name, logical_resource_id)
        for resource in registered:
            if resource.logical_resource_id == logical_resource_id:
                return stack, resource
        raise ValidationError(stack_name, f"Resource {logical_resource_id} does not exist for stack {stack_name}")

    def describe_stack_resources(self: Any, stack_name: str, logical_resource_id: Any) -> Any:  # None: all
        stack = self.get_stack(stack_name)
        registered = getattr(stack, _STACK_RESOURCES_ATTR, None)
        if registered is None:
            return original_describe(self, stack_name, logical_resource_id)
        if logical_resource_id is None:
            return stack, registered
        return stack, [r for r in registered if r.logical_resource_id == logical_resource_id]

    _patch(models.CloudFormationBackend, "list_stack_resources", list_stack_resources)
    _patch(models.CloudFormationBackend, "describe_stack_resource", describe_stack_resource)
    _patch(models.CloudFormationBackend, "describe_stack_resources", describe_stack_resources)


# --------------------------------------------------------------------------------------------
# Function logs (30)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FunctionLogEvent:
    timestamp_ms: int  # when it happened (the runtime clock)
    ingestion_ms: int  # when CloudWatch Logs has it: reads before this instant do not see it
    message: str


_logs_lock = threading.Lock()  # the data plane's writes vs reads iterating a group's streams


def _logs_backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def _ensure_log_group(backend: Any, name: str) -> Any:
    group = backend.groups.get(name)
    if group is None:  # as Lambda creates it: no retention (never expire), no tags
        group = backend.create_log_group(name, {})
    return group


_TRIM_EVERY = 512  # appends to a stream between two looks for events older than `oldest_ms`


def put_function_log_events(
    account: str,
    region: str,
    log_group: str,
    log_stream: str,
    events: list[FunctionLogEvent],
    *,
    oldest_ms: int | None = None,
) -> None:
    """Write what an invocation logged, as Lambda's log agent does: the group and the stream made
    when missing, each event with its own ingestion time (PutLogEvents would stamp them all now).
    With `oldest_ms`, the stream's events before that instant are dropped now and then (memory
    stays bounded however long a `local serve` session runs)."""
    if not events:
        return
    from moto.logs.models import LogEvent

    backend = _logs_backend(account, region)
    with _logs_lock:
        group = _ensure_log_group(backend, log_group)
        if log_stream not in group.streams:
            group.create_log_stream(log_stream)
        stream = group.streams[log_stream]
        written = [LogEvent(e.ingestion_ms, {"timestamp": e.timestamp_ms, "message": e.message}) for e in events]
        stream.events.extend(written)
        if oldest_ms is not None and stream.upload_sequence_token % _TRIM_EVERY == 0:
            stream.events = [event for event in stream.events if event.timestamp >= oldest_ms]
        stream.stored_bytes += sum(len(e.message) for e in events)
        last = max(e.ingestion_ms for e in events)
        stream.last_ingestion_time = _dt.datetime.fromtimestamp(last / 1000, _dt.UTC).replace(tzinfo=None)
        stream.upload_sequence_token += 1


_TERM = re.compile(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


class _TermPattern:
    """FilterLogEvents' term syntax: `a b` both, `"a phrase"`, `?a ?b` any of them, `-a` not a."""

    def __init__(self, pattern: str) -> None:
        self.required: list[str] = []
        self.any_of: list[str] = []
        self.excluded: list[str] = []
        for prefix, quoted, bare in _TERM.findall(pattern):
            term = re.sub(r"\\(.)", r"\1", quoted) if quoted or not bare else bare
            {"": self.required, "?": self.any_of, "-": self.excluded}[prefix].append(term)

    def matches(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )


def _message_filter(pattern: str | None) -> Callable[[str], bool]:
    from moto.logs.utils import EventMessageFilter

    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text[0] in "{[":  # JSON and space-delimited patterns: left to moto (matches every event)
        return EventMessageFilter(text).matches
    return _TermPattern(text).matches


def _install_logs() -> None:
    from moto.awslambda import models as lambda_models
    from moto.logs import models, responses
    from moto.logs.exceptions import InvalidParameterException

    # A function without a LoggingConfig.LogGroup gets /aws/lambda/NAME when it is created.
    original_create = lambda_models.LambdaBackend.create_function

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        fn = original_create(self, spec)
        if not (spec.get("LoggingConfig") or {}).get("LogGroup"):
            with _logs_lock:
                _ensure_log_group(_logs_backend(self.account_id, self.region_name), f"/aws/lambda/{fn.function_name}")
        return fn

    _patch(lambda_models.LambdaBackend, "create_function", create_function)

    # Reads see only what is ingested by the clock's now.
    def visible(stream: Any) -> Any:
        now_ms = int(_clock().timestamp() * 1000)
        view = copy.copy(stream)  # moto's readers use only .events of it
        view.events = [event for event in stream.events if event.ingestion_time <= now_ms]
        return view

    def stream_filter_log_events(
        self: Any, start_time: int, end_time: int, filter_pattern: str
    ) -> list[dict[str, Any]]:
        matches, now_ms = _message_filter(filter_pattern), int(_clock().timestamp() * 1000)
        found = [
            event
            for event in list(self.events)  # one pass: the time and ingestion tests before the pattern's
            if event.ingestion_time <= now_ms
            and not (start_time and event.timestamp < start_time)
            and not (end_time and event.timestamp > end_time)
            and matches(event.message)
        ]
        found.sort(key=lambda event: event.timestamp)
        return [{**event.to_filter_dict(), "logStreamName": self.log_stream_name} for event in found]

    _patch(models.LogStream, "filter_log_events", stream_filter_log_events)

    original_get_events = models.LogStream.get_log_events

    def stream_get_log_events(
        self: Any, start_time: Any, end_time: Any, limit: Any, next_token: Any, start_from_head: Any
    ) -> Any:
        return original_get_events(visible(self), start_time, end_time, limit, next_token, start_from_head)

    _patch(models.LogStream, "get_log_events", stream_get_log_events)

    # logStreamNamePrefix, traffic due by now generated first, one read at a time with the writes.
    def filter_log_events_response(self: Any) -> str:
        group_name = self._get_param("logGroupName") or str(self._get_param("logGroupIdentifier") or "").split(":")[-1]
        names = self._get_param("logStreamNames", [])
        prefix = self._get_param("logStreamNamePrefix")
        if names and prefix:
            raise InvalidParameterException(msg="Cannot specify both logStreamNames and logStreamNamePrefix")
        _catch_up()
        with _logs_lock:
            group = self.logs_backend.groups.get(group_name)
            if prefix and group is not None:
                names = [name for name in group.streams if name.startswith(prefix)]
                if not names:  # no stream has the prefix (moto would search them all)
                    return json.dumps({"events": [], "searchedLogStreams": []})
            events, next_token, searched = self.logs_backend.filter_log_events(
                group_name,
                names,
                self._get_param("startTime"),
                self._get_param("endTime"),
                self._get_param("limit"),
                self._get_param("nextToken"),
                self._get_param("filterPattern"),
                self._get_param("interleaved", False),
            )
        return json.dumps({"events": events, "nextToken": next_token, "searchedLogStreams": searched})

    _patch(responses.LogsResponse, "filter_log_events", filter_log_events_response)

    original_get_response = responses.LogsResponse.get_log_events

    def get_log_events_response(self: Any) -> str:
        _catch_up()
        with _logs_lock:
            return str(original_get_response(self))

    _patch(responses.LogsResponse, "get_log_events", get_log_events_response)


# sha256 of the source of every patched callable, and of each module whose `time`/`datetime` we swap,
# at the pinned moto. A different hash means moto changed code we replace or wrap: re-read it, re-check
# the patch, then update the hash (print them with `python -m local.moto_bridge`).
# the dotted names leave no room for their hash on the same line: one line each
# fmt: off
SOURCE_FINGERPRINTS: dict[str, str] = {
    "moto.stepfunctions.parser.backend.execution.BaseExecutionWorkerCommunication.terminated":
        "360372a6a57bf99b6067dcd0a364f56330f090650dc94d32f80b41b875456caf",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn.StateTaskServiceSfn._normalise_parameters":
        "d75d3da19aad01fb6166a22a30955b50a9c0f5c5da6707e492f9757c455bcb6c",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn.StateTaskServiceSfn._normalise_response":
        "00e0b0a50b1dd4baea457d318dcc88928f27a633d3383c6224ae47c17eedbc87",
    "moto.awslambda.models.LambdaBackend.invoke":
        "708fb4c92029f2dc29aa3f3f1826f7552de95ad6bfd1fa3fda9eda0f97ce4d61",
    "moto.awslambda.responses.LambdaResponse.invoke":
        "8f68f0bf023a3eb476e13ab0f688e6fbde8462c194532e8ce67421dbeb91c44b",
    "moto.awslambda.models.LambdaFunction.invoke":
        "dadc324f30aed38bf9dde5a93000c195ed3e5fb5e984f71ebd4c6629fc89aa2e",
    "moto.awslambda.models.LambdaFunction.get_configuration":
        "803fb04bffde71d97d974007c506f6dabaf64242efdf47b05502890335eb5be2",
    "moto.awslambda.models.LambdaFunction.__init__":
        "70a285222b4a0e116bf028325b1e929bd4a8de6615b9a14c0acb3376af6609a4",
    "moto.awslambda.models.LambdaFunction.update_configuration":
        "eca1cdec066f996f69a7c2045cb3ae7608a15275f6fb75fc44e1c5a362f37096",
    "moto.awslambda.models.LambdaBackend.update_function_code":
        "da42535db0cfddda6180b9f2891dc965f4d88a02dc1761bc3f6d0a45422af8b1",
    "moto.awslambda.models.LambdaBackend.update_function_configuration":
        "b11ed261c9acd60e195b98f8c9307d95bacd5252dfba134a3e756322b907936b",
    "moto.awslambda.models.LambdaBackend.publish_version":
        "d1aa1e465bb61c37fbb7f8571a2c4d8028d91a4f36325023f04997e578134d65",
    "moto.awslambda.responses.LambdaResponse.publish_version":
        "c2a60dd2c34610f1e857f5363aaa8bb5837c90b002f38a4f30beb991ce86ce4b",
    "moto.awslambda.models.LambdaAlias.update":
        "03fcbe801895941dff7f95c76b4c5290e34d0986dd2002158dade029c1c1075c",
    "moto.awslambda.responses.LambdaResponse.update_alias":
        "385d65fb37eef5de776bc57166b856361f4e64549e911dd5eb1088d258d29bd1",
    "moto.awslambda.models.LambdaBackend.create_event_source_mapping":
        "19f8125cabf7d67b294269f6db0c16bc46ebb7e496a9a259894c30546839fe9e",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function.WaitFunction._wait_interval":
        "8f954dee80372b4b8233918f4d94810949f402cb3ddd2361ef4cbd9719d02253",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl.RetrierDecl._eval_body":
        "48463fff19cefa98cfb054311706ba47abfe813da0e65ce1a6376a9101f35f09",
    "moto.cloudwatch.models.CloudWatchBackend.put_metric_data":
        "300dda002442b818cba5f1296fd0f2703a8eeeea5300c3cbe02bde3c1f057ee9",
    "moto.cloudwatch.models.Statistics.get_statistics_for_type":
        "d10becd72eee65f1147ff456b34f05c52b54fbb27ccbb8131b3703a81d81a8d6",
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_data":
        "ea8fffafcc06a35f9155563657ad693fee66cb40f9a39f54078a09f0777be01c",
    "moto.cloudwatch.models.CloudWatchBackend.get_metric_statistics":
        "844bf661c8f9b2d658376bfd31721dbb418b47126f0f5b10d1b8422d3477dd35",
    "moto.cloudwatch.responses.CloudWatchResponse.get_metric_statistics":
        "76e1c0922a6787ac95e0d48788d7b484eebd52c9400f064e55c626baf56ae38f",
    "moto.events.models.Rule.send_to_targets":
        "472e002e2dab8a599554a7d6c7ea0910625a5b39c7699b9ca4404255efcfc172",
    "moto.cloudwatch.models.CloudWatchBackend.set_alarm_state":
        "a25532144b2a458c71a552544136bfc408fb2f76ff4c54b748db39a2b598c29e",
    "moto.events.utils.EventTemplateParser.parse":
        "40a5a46a321811bb2643aaabb7b45c37f75644fcce9cb95524e729a43f0d97d7",
    "moto.events.models.EventsBackend.put_events":
        "c56f6ac1f932c70d3dbe82d2e85d4a6de2bdc2368dda47d755d3548481e46783",
    "moto.sns.models.SNSBackend.publish":
        "6356a2b5b79eb3de95310121382af269daf267821a5c936c9d728d4e96a4fe28",
    "moto.stepfunctions.responses.get_backend":
        "e736380f7d9c98a50540b6b8e86c014eeb8c3beb66eefc05b2fa73796b0d1589",
    "moto.stepfunctions.parser.models.StepFunctionsParserBackend.start_execution":
        "0f8d9dd57baf0c2803dda23c5250b1c787a4a1a3d05239cafbddff1ef905be3a",
    "moto.cloudwatch.models.Alarm.update_state":
        "9308fec8c5cd8039de8afdef01bd41053f417824ec558b81e58f2753555998d5",
    "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl":
        "70bd3a0664d8eefe0ac9be0012343d8140a258d90b841d4d86bdca7507a1769e",
    "moto.stepfunctions.parser.models":
        "be4646bb5c7f1aef74c275bb44a0321b88203d2795e51cd45cf32d391d52a6d0",
    "moto.stepfunctions.parser.backend.execution":
        "7fb8d9974b83b566bf5fb80edf8634c527cf7015ee4184f90d78ad646f2150dc",
    "moto.stepfunctions.parser.asl.component.state.state":
        "70fcbfdfa0d55078f948cdc718b48fa87f472ef8e0b25d6ee06629fe42a78f1a",
    "moto.stepfunctions.parser.asl.eval.event.event_manager":
        "5bdb7c20cc1bcf4e8c93c0340a7413158ea3215eea9b0d5b0ce9c20a4a0b1f0d",
    "moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp":
        "34e093f81307e6d049569ef1e0a1c1a63ac0b24010d4def2849dd93ec3504c5b",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback":
        "01b0a4f739385bd98bdf935e58e3b5cadfcfa0356f7df923d04db285dff69710",
    "moto.stepfunctions.parser.asl.component.program.program":
        "2b45e2d237c1c5c10a86f43d7f7b13a8c6ab6d3343b19f7bde3be66586ab6aee",
    "moto.stepfunctions.parser.asl.component.state.exec.execute_state":
        "6cc52e59c727d41ef27b6db2cfad63ee6f8ea43328bf7b5f7db3f05d7817ab0d",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.inline_iteration_component":
        "cf553565e1435ffd9f79d92d8426ae4d7cd4245b3b90e9968f2901b7f138899b",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor.map_run_record":
        "c3caf5ed47f439fde3b741f17548635bf60a3ec8eddd30814c40232a61a0b316",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.job":
        "35c3336f2c73ba3d53332832ef215fe0cb75b6752cbc4b311f8b46483dbf8ffc",
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branch_worker":
        "b8f851ffa79b700e008c4b6c8fd0b17aac45f769a4256ed944da22d7cb5aba97",
    "moto.stepfunctions.parser.asl.component.state.exec.state_parallel.branches_decl":
        "848a285adb7c4426069a18ebc9732fee073b42c38987819b3b78afd37766c264",
    "moto.stepfunctions.parser.asl.eval.count_down_latch":
        "2ecd6268bd204739ee123f697f5ec4c102f50c53168fb9fd500d869304ed839a",
    "moto.stepfunctions.parser.asl.eval.environment":
        "0c57e3472828e031f6fe278d13264f6ec8bf49115df0fbd2da5be225eb73207c",
    "moto.stepfunctions.parser.backend.execution_worker":
        "f2bc8ae7d18d64e7b8991b4a675814de0cc1564faf2a7c15ac0eff828366d22b",
    "moto.stepfunctions.parser.asl.eval.callback.callback":
        "944daf2ac0bf957cc73686eaec842836dac647f6fe077a8938704203d3e3370c",
    # 19-24
    "moto.stepfunctions.responses.StepFunctionResponse.describe_execution":
        "c3953bdc9ce21fda47ee3e996bf749950fb31c22a169464f6f2c878aa8372977",
    "moto.stepfunctions.responses.StepFunctionResponse.get_execution_history":
        "3889cc6224ac2f762d44a217cdd02255957d21862ad88af0c6b30af47b17a206",
    "moto.cloudwatch.models.CloudWatchBackend.get_filtered_metrics":
        "63270f556ea9d022145cce1ee6485631a315673cdb1a1ed82ba1146ac977e9e2",
    "moto.awslambda.models.LambdaBackend.update_alias":
        "c24de12517dca5324da9f23f95622eac47788ed2ffa561388b0ca3322fb469aa",
    "moto.s3.models":
        "3ade247b680ce75603ce6ff5885ad8807037f09716d84832492f6024bdd77987",
    "moto.awslambda.models":
        "fc37ae1c1fa75676dcd044bb8802a42e1ec92cf6047d46a2b5e2a6f305d0a326",
    "moto.cloudformation.models":
        "7c0cc121fadb8cb5cb9a184a45896870b7f46e6bfd304f06819c5d4c1b711622",
    "moto.logs.models":
        "6a2a6ac73a071be02d7d6fc7c4a59b9b4b3436f0e9ea69ba4331b79ed624e1f2",
    "moto.sns.models":
        "86913311a745b39ea75d177e205c958441467ca6e83657566042f2499fbb46e9",
    "moto.cloudwatch.models":
        "f32acfa22dfa9ce929a2c5ea158e41326ebdd15e076493208c6b69e7064e4101",
    "moto.events.models":
        "153ec3d8232288b8886fb2e135bb51603c5416fbaece76cf506c91fbb4f8d69f",
    "moto.dynamodb.models.table":
        "3fecc9e51039f5a1ac5e302a21dc7aef48639a185ba01b11f9a6c32cf7853ba8",
    "moto.cloudformation.models.CloudFormationBackend.list_stack_resources":
        "49bd801307f90d4374df4aaa152fa65249d643f0f1077cc36c5739f3f606deca",
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resource":
        "2abd9d3a3bb56c9fca8b041650b36511aef25de88f709f955e38cb7ec0f3a90a",
    "moto.cloudformation.models.CloudFormationBackend.describe_stack_resources":
        "f4af301dba2d346180734c31a56fe9ddbf6beed2a5d1118ea69a747f97f86cba",
    # 27-28
    "moto.ecr.models.ECRBackend.complete_layer_upload":
        "3b72d22fe126a15e9c6e1d150cf79b7506ae54c4fb16f918c5f8430bc0a8027f",
    "moto.settings.lambda_stub_ecr":
        "e629e10290560108075e3bc32c2e4e9df4cbe8c84aa6aaeef5f27c989636ffa4",
    "moto.awslambda.models.LambdaFunction.get_code":
        "06c9aab0ee2bf01397638a3f4e5de32a15a1a98acc7467c854adc041955165cb",
    # 30
    "moto.awslambda.models.LambdaBackend.create_function":
        "dea879c1b1bc6a0921c49e929e8eeb0b8f1b7cdecf47aa37bea89abd6eb32432",
    "moto.logs.models.LogStream.filter_log_events":
        "26285fdf86c34c85e09691b3f09b41040d796c203320ca83ecb5671474838963",
    "moto.logs.models.LogStream.get_log_events":
        "452dd48e5d2a97b8fdc0c9f1ec8a50bfe00fcba91358b888266b51ff57dd9e0d",
    "moto.logs.responses.LogsResponse.filter_log_events":
        "bcfea899647e0d0bcc81241a000b18e38fcc3962cddd171f1f1c550e88583cf9",
    "moto.logs.responses.LogsResponse.get_log_events":
        "237294eb63ff1f08cac96158727b71ddb62562153ea3923f26dff3f3f21f2550",
    "moto.logs.models.LogGroup.filter_log_events":
        "8248a53b63f0f95eb3853516fbd1c10238f8842654d1050891678813dfbbfeee",
    "moto.logs.models.LogEvent.__init__":
        "bb6367725c297f27300637939a69a9d99fd6d05e0c2dd5798b5ac4a950508459",
    "moto.logs.models.LogGroup.create_log_stream":
        "f6ef230bfbb5c9a33654bc0dbb9120d458ebf2d1131793efa794bcbd30565bde",
    "moto.logs.models.LogsBackend.create_log_group":
        "7ec171fd0d557299a92693470f5d0aaa59ebebae872781ad01a245f499d2752d",
    "moto.logs.utils.EventMessageFilter.__init__":
        "0e1ed97a67756862a265049483bf10acfb87fba5e080f848e1bdd5313884b8eb",
}
# fmt: on


def _fingerprint_targets() -> list[str]:
    return [*_SIGNATURES, *(dotted.rpartition(".")[0] for dotted in _MODULE_ATTRIBUTES)]


def source_fingerprint(dotted: str) -> str:
    """sha256 of the source of the original (unpatched) callable or module at `dotted`."""
    return hashlib.sha256(inspect.getsource(_original_of(_resolve(dotted))).encode()).hexdigest()


def changed_sources() -> list[str]:
    """Patched symbols whose moto source differs from the one the bridge was written against."""
    changed = []
    for dotted in _fingerprint_targets():
        expected = SOURCE_FINGERPRINTS.get(dotted)
        try:
            found = source_fingerprint(dotted)
        except (ImportError, AttributeError, OSError, TypeError) as error:
            changed.append(f"{dotted}: cannot read its source ({error!r})")
            continue
        if found != expected:
            changed.append(
                f"{dotted}: source changed since moto {EXPECTED_MOTO_VERSION} "
                f"(sha256 {found[:12]}, expected {str(expected)[:12]}); re-check its patch"
            )
    return changed


if __name__ == "__main__":
    for target in _fingerprint_targets():
        print(f'    "{target}":\n        "{source_fingerprint(target)}",')
