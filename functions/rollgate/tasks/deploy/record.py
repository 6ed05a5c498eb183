"""Task Record: outcome to the ledger and the bus (gate 9); the ReleaseLease step after it gives
the lease back."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rollgate.contract import Status
from rollgate.domain.deploy.outcome import error_name, record_outcome
from rollgate.domain.shared.models import DeploymentContext, RollbackVerification, WatchConclusion
from rollgate.tasks._runtime import Dependencies, gate_task, logger, metrics


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> dict[str, Any]:
    result = record_outcome(ctx, ledger=deps.ledger, events=deps.events, clock=deps.clock)
    metrics.add_dimension(name="outcome", value=result.status.value)
    metrics.add_metric(name="Deployments", unit=MetricUnit.Count, value=1)
    if result.status is Status.ROLLED_BACK:
        metrics.add_metric(name="Rollbacks", unit=MetricUnit.Count, value=1)
    if result.rollback_verification is RollbackVerification.SMOKE_FAILED:
        metrics.add_metric(name="UnverifiedRollbacks", unit=MetricUnit.Count, value=1)
    if result.verification is WatchConclusion.UNVERIFIED:
        metrics.add_metric(name="UnverifiedPromotions", unit=MetricUnit.Count, value=1)
    duration = (result.finished_at - result.started_at).total_seconds()
    metrics.add_metric(name="DeploymentSeconds", unit=MetricUnit.Seconds, value=duration)
    if result.time_to_detect_seconds is not None:
        metrics.add_metric(name="TimeToDetect", unit=MetricUnit.Seconds, value=result.time_to_detect_seconds)
    if result.time_to_recover_seconds is not None:
        metrics.add_metric(name="TimeToRecover", unit=MetricUnit.Seconds, value=result.time_to_recover_seconds)
    logger.info(
        "deployment concluded",
        extra={
            "status": result.status.value,
            "reason": result.reason,
            "decided_by": result.decided_by,
            "verification": result.verification.value if result.verification else None,
            "rollback_verification": result.rollback_verification.value if result.rollback_verification else None,
        },
    )
    return {**result.model_dump(mode="json"), "error_name": error_name(result.status)}
