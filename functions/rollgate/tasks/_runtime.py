"""What every task module shares: Powertools objects, the lazily built dependencies, and the
decorator that makes a thin handler.

Clients are built on first use, never at import (moto cannot intercept a client made at import
time, and a cold start should not pay for clients a task never uses). Tests call
`dependencies.cache_clear()` or pass fakes straight to the domain functions.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.aws.alarms import CloudWatchAlarmProbe
from rollgate.aws.artifacts import S3ArtifactStore
from rollgate.aws.clock import clock_from_env
from rollgate.aws.events import EventBridgePublisher
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.aws.ledger import DynamoLedger
from rollgate.aws.metrics import CloudWatchMetricSource
from rollgate.aws.queues import SqsQueueProbe
from rollgate.aws.settings import Settings, load_settings
from rollgate.domain.models import DeploymentContext
from rollgate.domain.ports import Clock, HealthProbes

logger = Logger(service="rollgate")
tracer = Tracer(service="rollgate")
metrics = Metrics(namespace="Rollgate", service="rollgate")


@dataclass(frozen=True)
class Dependencies:
    settings: Settings
    clock: Clock
    lambda_api: Boto3LambdaApi
    artifacts: S3ArtifactStore
    probes: HealthProbes
    ledger: DynamoLedger
    events: EventBridgePublisher


@functools.cache
def dependencies() -> Dependencies:
    settings = load_settings()
    clock = clock_from_env(os.environ)
    return Dependencies(
        settings=settings,
        clock=clock,
        lambda_api=Boto3LambdaApi(boto3.client("lambda")),
        artifacts=S3ArtifactStore(boto3.client("s3")),
        probes=HealthProbes(
            metrics=CloudWatchMetricSource(boto3.client("cloudwatch")),
            queues=SqsQueueProbe(boto3.client("sqs")),
            alarms=CloudWatchAlarmProbe(boto3.client("cloudwatch")),
        ),
        ledger=DynamoLedger(boto3.client("dynamodb"), settings.ledger_table_name, clock),
        events=EventBridgePublisher(boto3.client("events"), settings.event_bus_name),
    )


def _dump(result: Any) -> Any:
    return result.model_dump(mode="json") if hasattr(result, "model_dump") else result


def gate_task(gate: Callable[[DeploymentContext, Dependencies], Any]) -> Callable[[dict, LambdaContext], Any]:
    """Make a DeployFunction task handler from `gate(ctx, deps) -> record`: parse the execution
    document, log with the deployment id as correlation id, return the record as JSON."""

    @logger.inject_lambda_context(correlation_id_path="deployment_id", clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    @functools.wraps(gate)
    def handler(event: dict, context: LambdaContext) -> Any:
        ctx = DeploymentContext.model_validate(event)
        logger.append_keys(function_name=ctx.function_name, alias=ctx.alias)
        return _dump(gate(ctx, dependencies()))

    return handler
