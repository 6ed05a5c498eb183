"""Task JudgeWatch: judge the promoted version against the pre-deploy baseline (gate 7)."""

from __future__ import annotations

from rollgate.domain.canary import judge_watch
from rollgate.domain.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return judge_watch(ctx, probes=deps.probes, ledger=deps.ledger, clock=deps.clock)
