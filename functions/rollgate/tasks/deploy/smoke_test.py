"""Task SmokeTest: invoke the new version directly before any user traffic reaches it (gate 5)."""

from __future__ import annotations

from rollgate.domain.shared.models import DeploymentContext, SmokeReport
from rollgate.domain.shared.smoke import require_smoke_pass, run_smoke_tests
from rollgate.tasks._runtime import Dependencies, gate_task


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> SmokeReport:
    report = run_smoke_tests(
        ctx.function_name,
        ctx.require_version().version,
        ctx.request.smoke_tests,
        lambda_api=deps.lambda_api,
        clock=deps.clock,
    )
    return require_smoke_pass(report, ctx.function_name)
