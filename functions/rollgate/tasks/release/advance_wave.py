"""Task AdvanceWave: the wave's outcomes from the ledger, then next wave, revert, or done."""

from __future__ import annotations

from rollgate.domain.release.waves import ReleaseContext, advance
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return advance(ctx, ledger=deps.ledger)
