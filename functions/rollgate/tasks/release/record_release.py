"""Task RecordRelease: the release's outcome to the ledger and the bus."""

from __future__ import annotations

from typing import Any

from rollgate.domain.release.waves import RELEASE_ANNOUNCEMENT, ReleaseContext, conclude_release
from rollgate.domain.shared.notify import release_message
from rollgate.tasks._conclude import announce
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> dict[str, Any]:
    result = conclude_release(ctx, clock=deps.clock)
    deps.ledger.put_release(result)
    return announce(deps, result, RELEASE_ANNOUNCEMENT, message=release_message(result))
