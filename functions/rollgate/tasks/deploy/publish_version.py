"""Task PublishVersion: publish with the CodeSha256 guard and verify the code (gate 4)."""

from __future__ import annotations

from rollgate.domain.deploy.publish import publish
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    return publish(ctx, lambda_api=deps.lambda_api, clock=deps.clock)
