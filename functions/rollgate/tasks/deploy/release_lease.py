"""Task ReleaseLease: the deployment's lease given back, after Record (gate 9's last step).

Its own step, so a failed release is retried by itself without running Record again; releasing a
lease already released is a no-op (False)."""

from __future__ import annotations

from typing import Any

from rollgate.domain.deploy.outcome import release
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> dict[str, Any]:
    return {"released": release(ctx, ledger=deps.ledger), "holder": ctx.deployment_id}
