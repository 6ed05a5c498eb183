"""Tasks Promote, ShiftControl and CompleteWatch (gate 7): the new version primary with a holdback
on the previous one, a control share back on a breach of an unpaired watch, 100% when the watch is
over. One module: the watch record says which move is due."""

from __future__ import annotations

from rollgate.domain.deploy.canary import promote_version
from rollgate.domain.shared.models import DeploymentContext
from rollgate.domain.shared.progress import promotion_step
from rollgate.tasks._progress import announce_step
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    progress = promote_version(ctx, lambda_api=deps.lambda_api, ledger=deps.ledger, clock=deps.clock)
    announce_step(ctx, progress, promotion_step(ctx), deps)
    return progress
