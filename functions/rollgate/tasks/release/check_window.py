"""Task CheckWindow: before each wave, is it inside the release's deployment windows?"""

from __future__ import annotations

from rollgate.domain.release.waves import ReleaseContext, check_window
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return check_window(ctx, now=deps.clock.now())
