"""Task CheckVersion: poll a Pending version until it is Active (gate 4)."""

from __future__ import annotations

from rollgate.domain.deploy.publish import check_version
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return check_version(ctx, lambda_api=deps.lambda_api)
