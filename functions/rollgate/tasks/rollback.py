"""Task Rollback: alias back on the baseline version, verified, smoke-tested (gate 8)."""

from __future__ import annotations

from rollgate.domain.models import DeploymentContext
from rollgate.domain.rollback import roll_back
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return roll_back(ctx, lambda_api=deps.lambda_api, clock=deps.clock)
