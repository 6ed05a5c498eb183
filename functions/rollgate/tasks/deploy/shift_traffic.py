"""Task ShiftTraffic: move the alias to the next canary weight (gate 6)."""

from __future__ import annotations

from rollgate.domain.deploy.canary import shift_traffic
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._progress import announce_step
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    progress = shift_traffic(ctx, lambda_api=deps.lambda_api, ledger=deps.ledger, clock=deps.clock)
    announce_step(ctx, progress, "shift", deps)
    return progress
