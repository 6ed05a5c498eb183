"""Task Prune: after promotion, old versions no alias, allocation, mapping or recent record needs."""

from __future__ import annotations

from rollgate.domain.deploy.prune import prune_after_promotion
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return prune_after_promotion(ctx, lambda_api=deps.lambda_api, ledger=deps.ledger, clock=deps.clock)
