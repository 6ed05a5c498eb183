"""Tasks ProvisionConcurrency and CheckConcurrency: the new version's provisioned concurrency,
allocated and polled until READY before any traffic moves."""

from __future__ import annotations

from rollgate.domain.deploy.concurrency import converge_concurrency
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return converge_concurrency(ctx, lambda_api=deps.lambda_api)
