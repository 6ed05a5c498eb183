"""Task CheckQueue: before the first wave, this release's turn in its application+branch queue."""

from __future__ import annotations

from rollgate.domain.release.queue import check_queue
from rollgate.domain.release.waves import ReleaseContext
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies
from rollgate.tasks.release._queue import executions, queue_store


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return check_queue(ctx, store=queue_store(), executions=executions(), now=deps.clock.now())
