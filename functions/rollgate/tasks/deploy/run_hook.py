"""Tasks PreTrafficHook and PostTrafficHook: the team's hook function, bounded and failing closed.

One module for both: before Promote there is no watch record (pre-traffic), after it there is."""

from __future__ import annotations

from rollgate.domain.deploy.hooks import Phase, run_hook
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    phase: Phase = "pre_traffic" if ctx.watch is None else "post_traffic"
    return run_hook(ctx, phase, hooks=deps.hooks, clock=deps.clock)
