"""The Control function: the console's way to steer a deployment (the Lambda console's "Test"
with one of these events, or `aws lambda invoke`), the same as `rollgate promote|pause|resume|abort`
and `rollgate approve|reject` (rollgate.domain.deploy.controls):

    {"function_name": "orders-api", "alias": "live", "control": "pause", "reason": "…", "requested_by": "…"}
    {"control": "approve", "execution_arn": "arn:aws:states:…:execution:…", "reason": "…", "requested_by": "…"}

A control for a deployment that is not running, or an answer nobody waits for, fails ControlRefused
with the reason, and nothing is written.
"""

from __future__ import annotations

import functools
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.aws.task_tokens import StepFunctionsTaskTokens
from rollgate.domain.deploy.controls import take_control
from rollgate.tasks._runtime import dependencies, logger, metrics, tracer


@functools.cache
def _tokens() -> StepFunctionsTaskTokens:
    return StepFunctionsTaskTokens(boto3.client("stepfunctions"))


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    taken = take_control(event, ledger=deps.ledger, tokens=_tokens(), clock=deps.clock)
    logger.info("control taken", extra={"control": taken.control, "requested_by": taken.requested_by})
    return taken.model_dump(mode="json")
