"""Task CheckVersion: poll a Pending version until it is Active (gate 4)."""

from __future__ import annotations

from rollgate.domain.models import DeploymentContext
from rollgate.domain.publish import check_version
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return check_version(ctx, lambda_api=deps.lambda_api)
