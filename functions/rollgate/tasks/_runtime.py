"""What every task module shares: Powertools objects, the lazily built dependencies, and the
decorator that makes a thin handler.

Clients are built on first use, never at import (moto cannot intercept a client made at import
time, and a cold start should not pay for clients a task never uses). Tests call
`dependencies.cache_clear()` or pass fakes straight to the domain functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config as BotoConfig
from pydantic import BaseModel

from rollgate.aws.alarms import CloudWatchAlarmProbe, CloudWatchAlarmTags
from rollgate.aws.artifacts import S3ArtifactStore
from rollgate.aws.clock import current_clock
from rollgate.aws.ecr import EcrImageRegistry
from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.lambda_api import Boto3HookInvoker, Boto3LambdaApi
from rollgate.aws.ledger import DynamoLedger
from rollgate.aws.logs import CloudWatchLogSource
from rollgate.aws.metrics import CloudWatchMetricSource
from rollgate.aws.queues import SqsQueueProbe
from rollgate.aws.settings import ConfigurationError, Settings, load_settings
from rollgate.aws.targets import TargetSessions
from rollgate.domain.shared.models import DeploymentContext
from rollgate.domain.shared.ports import Clock, HealthProbes
from rollgate.domain.shared.validation import FunctionLocation, StackHome

DocumentT = TypeVar("DocumentT", bound=BaseModel)

logger = Logger(service="rollgate")
tracer = Tracer(service="rollgate")
metrics = Metrics(namespace="Rollgate", service="rollgate")


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    clock: Clock
    lambda_api: Boto3LambdaApi
    artifacts: S3ArtifactStore  # also the ManifestStore
    alarm_tags: CloudWatchAlarmTags
    probes: HealthProbes
    ledger: DynamoLedger
    events: EventBridgePublisher
    images: EcrImageRegistry
    hooks: Boto3HookInvoker


def _hook_client(client: Callable[..., Any], timeout_seconds: int) -> Any:
    """A Lambda client that waits `timeout_seconds` for a hook's answer and never retries by itself."""
    config = BotoConfig(read_timeout=timeout_seconds, connect_timeout=10, retries={"total_max_attempts": 1})
    return client("lambda", config=config)


def _assembled(
    client: Callable[..., Any], settings: Settings, clock: Clock, *, ledger: DynamoLedger, events: EventBridgePublisher
) -> Dependencies:
    """The dependencies with every function-side adapter over clients from `client` (boto3's own at
    home, an assumed role's session in a target): one list of them, wherever they point."""
    return Dependencies(
        settings=settings,
        clock=clock,
        lambda_api=Boto3LambdaApi(client("lambda"), settings.managed_function_tag),
        artifacts=S3ArtifactStore(client("s3")),
        alarm_tags=CloudWatchAlarmTags(client("cloudwatch")),
        probes=HealthProbes(
            metrics=CloudWatchMetricSource(client("cloudwatch")),
            queues=SqsQueueProbe(client("sqs")),
            alarms=CloudWatchAlarmProbe(client("cloudwatch")),
            logs=CloudWatchLogSource(client("logs")),
        ),
        ledger=ledger,
        events=events,
        images=EcrImageRegistry(client("ecr")),
        hooks=Boto3HookInvoker(functools.cache(functools.partial(_hook_client, client))),
    )


@functools.cache
def dependencies() -> Dependencies:
    settings = load_settings()
    clock = current_clock()
    return _assembled(
        boto3.client,
        settings,
        clock,
        ledger=DynamoLedger(boto3.client("dynamodb"), settings.ledger_table_name, clock),
        events=EventBridgePublisher(boto3.client("events"), settings.event_bus_name),
    )


@functools.cache
def _target_sessions(partition: str) -> TargetSessions:
    deps = dependencies()
    return TargetSessions(partition=partition, role_name=deps.settings.deploy_role_name, clock=deps.clock)


def dependencies_for(location: FunctionLocation, home: StackHome) -> Dependencies:
    """The dependencies of a task acting on the function at `location`: at home, `dependencies()`
    itself; in a target, the function-side clients (Lambda, CloudWatch, Logs, SQS, ECR, S3: what
    the function, its health and its artifacts are read and changed through) from the deploy role's
    session in the target's account and region, while the ledger (keyed by the function's ARN),
    the bus and the settings stay the stack's own."""
    home_deps = dependencies()
    target = location.target
    if target is None:
        return home_deps
    if target not in home_deps.settings.allowed_targets():
        raise ConfigurationError(
            f"{target.describe()} is not one of this stack's targets (environment variable ROLLGATE_TARGETS)"
        )
    session = _target_sessions(home.partition).session(target)
    return _function_side(session, home_deps, location.key(home.partition), location.name)


def _function_side(session: Any, home_deps: Dependencies, key: str, name: str) -> Dependencies:
    return _assembled(
        session.client,
        home_deps.settings,
        home_deps.clock,
        ledger=home_deps.ledger.for_function(name, key),
        events=home_deps.events,
    )


def _dump(result: Any) -> Any:
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


def workflow_task(
    document: type[DocumentT], *, correlation_id_path: str, log_keys: Callable[[DocumentT], dict[str, Any]]
) -> Callable[[Callable[[DocumentT, Dependencies], Any]], Callable[[dict[str, Any], LambdaContext], Any]]:
    """Make a task handler from `step(doc, deps) -> record`: parse the execution document into
    `document`, log with its id as correlation id (plus `log_keys`), return the record as JSON."""

    def decorate(step: Callable[[DocumentT, Dependencies], Any]) -> Callable[[dict[str, Any], LambdaContext], Any]:
        @logger.inject_lambda_context(correlation_id_path=correlation_id_path, clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False)
        @metrics.log_metrics
        @functools.wraps(step)
        def handler(event: dict[str, Any], context: LambdaContext) -> Any:
            parsed = document.model_validate(event)
            logger.append_keys(**log_keys(parsed))
            return _dump(step(parsed, dependencies()))

        # Powertools' decorators are untyped: the handler keeps the signature written above
        return cast(Callable[[dict[str, Any], LambdaContext], Any], handler)

    return decorate


#: An entry step's start: (the execution input, $$.Execution, the Lambda context, deps) -> the
#: workflow's first document.
Start = Callable[[Any, Any, LambdaContext, Dependencies], BaseModel]


def entry_task(
    *, correlation_id: Callable[[Any], str], started: Callable[[Any], tuple[str, dict[str, Any]]]
) -> Callable[[Start], Callable[[dict[str, Any], LambdaContext], Any]]:
    """Make a workflow's entry handler (Validate, StartRelease, Assess) from `start`: it gets the raw
    input (`request`) and `$$.Execution` (`execution`), its document's id becomes the correlation id,
    `started` says what to log, and the document is returned as JSON."""

    def decorate(start: Start) -> Callable[[dict[str, Any], LambdaContext], Any]:
        @logger.inject_lambda_context(clear_state=True)
        @tracer.capture_lambda_handler(capture_response=False)
        @metrics.log_metrics
        @functools.wraps(start)
        def handler(event: dict[str, Any], context: LambdaContext) -> Any:
            document = start(event.get("request"), event.get("execution"), context, dependencies())
            logger.set_correlation_id(correlation_id(document))
            message, extra = started(document)
            logger.info(message, extra=extra)
            return document.model_dump(mode="json")

        return cast(Callable[[dict[str, Any], LambdaContext], Any], handler)

    return decorate


#: A DeployFunction task: the document is the DeploymentContext, correlated by deployment id.
gate_task = workflow_task(
    DeploymentContext,
    correlation_id_path="deployment_id",
    log_keys=lambda ctx: {"function_name": ctx.function_name, "alias": ctx.alias},
)
