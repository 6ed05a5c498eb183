"""Task ReleaseConcurrency: after promotion, the previous version's provisioned concurrency goes."""

from __future__ import annotations

from rollgate.domain.deploy.concurrency import release_previous
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return release_previous(ctx, lambda_api=deps.lambda_api)
