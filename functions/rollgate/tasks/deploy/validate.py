"""Task Validate: parse the request and take the lease (gate 1)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.domain.deploy.start import start_deployment
from rollgate.domain.shared.managed import request_with_managed_defaults
from rollgate.domain.shared.models import DeploymentContext
from rollgate.domain.shared.validation import StackHome
from rollgate.tasks._runtime import Dependencies, entry_task


@entry_task(
    correlation_id=lambda ctx: ctx.deployment_id,
    started=lambda ctx: ("deployment started", {"function_name": ctx.function_name, "alias": ctx.alias}),
)
def lambda_handler(request: Any, execution: Any, context: LambdaContext, deps: Dependencies) -> DeploymentContext:
    return start_deployment(
        # what the CDK app declared with the function (Rollgate.manage), where the input says nothing
        request_with_managed_defaults(request, deps.settings.managed_functions),
        execution,
        ledger=deps.ledger,
        clock=deps.clock,
        lease_seconds=deps.settings.lease_seconds,
        # this task runs in the stack's account and region: the only place it releases functions
        home=StackHome.from_arn(getattr(context, "invoked_function_arn", None)),
        # the stack's named policies: a request's health_policy is resolved here, once
        health_policies=deps.settings.health_policies,
    )
