"""Task JudgeBake: the baked wave's functions judged again; bake on, next wave, or stop and revert."""

from __future__ import annotations

from rollgate.domain.release.bake_gate import continue_bake
from rollgate.domain.release.waves import ReleaseContext
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> object:
    return continue_bake(ctx, probes=deps.probes, clock=deps.clock)
