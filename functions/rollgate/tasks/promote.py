"""Task Promote: move all traffic to the new version and start the watch (gate 7)."""

from __future__ import annotations

from rollgate.domain.canary import promote_version
from rollgate.domain.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return promote_version(ctx, lambda_api=deps.lambda_api, ledger=deps.ledger, clock=deps.clock)
