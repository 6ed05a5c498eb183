"""The release queue's adapters for the tasks that use it (CheckQueue, AdvanceWave, RecordRelease),
built lazily like the shared dependencies (moto cannot intercept a client made at import time)."""

from __future__ import annotations

import functools

import boto3

from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.aws.release_queue import DynamoReleaseQueue
from rollgate.tasks._runtime import dependencies


@functools.cache
def queue_store() -> DynamoReleaseQueue:
    return DynamoReleaseQueue(boto3.client("dynamodb"), dependencies().settings.ledger_table_name)


@functools.cache
def executions() -> StepFunctionsExecutions:
    """Whether a queued or running release's execution still runs (a stopped one holds nothing)."""
    return StepFunctionsExecutions(boto3.client("stepfunctions"))
