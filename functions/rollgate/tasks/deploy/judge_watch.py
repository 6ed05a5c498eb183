"""Task JudgeWatch (gate 7): judge the promoted version against the holdback left on the previous
version (paired), or the pre-deploy baseline when there is none, and decide what next: watch
again, shift a control share back, complete, hold, or roll back."""

from __future__ import annotations

from rollgate.domain.deploy.canary import judge_watch
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._progress import announce_step
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    progress = judge_watch(ctx, probes=deps.probes, ledger=deps.ledger, clock=deps.clock)
    announce_step(ctx, progress, "judge", deps)
    return progress
