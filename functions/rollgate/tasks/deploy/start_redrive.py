"""Task StartRedrive: after a verified promotion, each SQS event source's DLQ moved back to its source."""

from __future__ import annotations

import functools

import boto3

from rollgate.aws.queues import SqsMessageMover, SqsQueueProbe
from rollgate.domain.deploy.redrive import start_redrive
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@functools.cache
def movers() -> tuple[SqsQueueProbe, SqsMessageMover]:
    """The redrive's SQS adapters, built once per process (lazily: moto must be able to intercept
    them); tests call movers.cache_clear()."""
    client = boto3.client("sqs")
    return SqsQueueProbe(client), SqsMessageMover(client)


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    queues, mover = movers()
    return start_redrive(
        ctx,
        mappings=deps.lambda_api.list_event_source_mappings(ctx.function_name),
        queues=queues,
        depths=queues,
        mover=mover,
        metrics=deps.probes.metrics,
        clock=deps.clock,
    )
