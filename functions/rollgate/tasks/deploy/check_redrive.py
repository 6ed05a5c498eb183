"""Task CheckRedrive: one poll of the redrive (moves, DLQs, the consumer's errors); stops the moves
when the redriven messages fail again."""

from __future__ import annotations

from rollgate.domain.deploy.redrive import RedriveProgress, check_redrive
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.models import DeploymentContext
from rollgate.tasks._runtime import Dependencies, gate_task
from rollgate.tasks.deploy.start_redrive import movers


@gate_task
def lambda_handler(ctx: DeploymentContext, deps: Dependencies) -> object:
    if ctx.redrive is None:
        raise InvalidRequest("redrive: CheckRedrive runs after StartRedrive; the input has no redrive record")
    queues, mover = movers()
    return check_redrive(
        ctx,
        RedriveProgress.model_validate(ctx.redrive.model_dump(mode="json")),
        mover=mover,
        queues=queues,
        metrics=deps.probes.metrics,
        events=deps.events,
        clock=deps.clock,
    )
