"""Task AdvanceWave: the wave's outcomes from the ledger, then next wave, revert, or done; with
policy supersede, done when a newer push of the branch is queued (what was promoted stays)."""

from __future__ import annotations

from rollgate.domain.release.queue import supersede_between_waves
from rollgate.domain.release.waves import ReleaseContext, advance
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies
from rollgate.tasks.release._queue import executions, queue_store


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    advanced = advance(ctx, ledger=deps.ledger)
    if advanced.queue is None:  # not queued (its source names no branch): nothing supersedes it
        return advanced
    return supersede_between_waves(advanced, store=queue_store(), executions=executions(), now=deps.clock.now())
