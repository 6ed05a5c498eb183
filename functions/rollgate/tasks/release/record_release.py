"""Task RecordRelease: the release's outcome to the ledger and the bus, then its place in the
branch's queue given up (on every path: it runs after every step from LoadManifest on)."""

from __future__ import annotations

from typing import Any

from rollgate.domain.release.queue import leave_queue
from rollgate.domain.release.waves import RELEASE_ANNOUNCEMENT, ReleaseContext, conclude_release
from rollgate.domain.shared.notify import release_message
from rollgate.tasks._conclude import announce
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies
from rollgate.tasks.release._queue import queue_store


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> dict[str, Any]:
    result = conclude_release(ctx, clock=deps.clock)
    deps.ledger.put_release(result)
    announced = announce(deps, result, RELEASE_ANNOUNCEMENT, message=release_message(result))
    # after the record: the next release of the branch starts only once this one's outcome is written
    leave_queue(ctx, store=queue_store())
    return announced
