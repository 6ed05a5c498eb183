"""Task Rollback: alias back on the baseline version, verified, smoke-tested (gate 8)."""

from __future__ import annotations

from rollgate.domain.deploy.rollback import roll_back
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return roll_back(ctx, lambda_api=deps.lambda_api, clock=deps.clock)
