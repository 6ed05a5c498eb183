"""Task JudgeCanary: judge the canary against the stable version and decide what next (gate 6)."""

from __future__ import annotations

from rollgate.domain.deploy.canary import judge_canary
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._progress import announce_step
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    progress = judge_canary(ctx, lambda_api=deps.lambda_api, probes=deps.probes, ledger=deps.ledger, clock=deps.clock)
    announce_step(ctx, progress, "judge", deps)
    return progress
