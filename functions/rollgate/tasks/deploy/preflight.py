"""Task Preflight: check the infrastructure contract and capture the baseline (gate 2)."""

from __future__ import annotations

from rollgate.domain.deploy.preflight import run_preflight
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return run_preflight(
        ctx,
        lambda_api=deps.lambda_api,
        artifacts=deps.artifacts,
        probes=deps.probes,
        clock=deps.clock,
        images=deps.images,
    )
