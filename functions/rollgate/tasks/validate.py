"""Task Validate: parse the request and take the lease (gate 1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.domain.start import start_deployment
from rollgate.domain.validation import StackHome
from rollgate.tasks._runtime import dependencies, logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = dependencies()
    ctx = start_deployment(
        event.get("request"),
        event.get("execution"),
        ledger=deps.ledger,
        clock=deps.clock,
        lease_seconds=deps.settings.lease_seconds,
        # this task runs in the stack's account and region: the only place it releases functions
        home=StackHome.from_arn(getattr(context, "invoked_function_arn", None)),
        # the stack's named policies: a request's health_policy is resolved here, once
        health_policies=deps.settings.health_policies,
    )
    logger.set_correlation_id(ctx.deployment_id)
    logger.info("deployment started", extra={"function_name": ctx.function_name, "alias": ctx.alias})
    return ctx.model_dump(mode="json")
