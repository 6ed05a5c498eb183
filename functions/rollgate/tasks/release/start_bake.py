"""Task StartBake: the bake after a promoted wave begins (its functions' DLQs and alarms read now)."""

from __future__ import annotations

from rollgate.domain.release.bake_gate import begin_bake
from rollgate.domain.release.waves import ReleaseContext
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return begin_bake(ctx, ledger=deps.ledger, probes=deps.probes, clock=deps.clock)
