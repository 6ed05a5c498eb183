"""Task UpdateFunction: start updating $LATEST to the artifact and environment (gate 3)."""

from __future__ import annotations

from rollgate.domain.deploy.update import converge_latest
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return converge_latest(ctx, lambda_api=deps.lambda_api, clock=deps.clock)
