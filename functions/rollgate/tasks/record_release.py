"""Task RecordRelease: the release's outcome to the ledger and the bus."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rollgate.domain.notify import release_message
from rollgate.domain.release import RELEASE_DETAIL_TYPES, ReleaseContext, conclude_release
from rollgate.tasks._release import release_task
from rollgate.tasks._runtime import Dependencies, logger, metrics

_EVENT_FIELDS = ("release_id", "status", "application", "reason", "execution_arn", "source", "functions", "reverts")


@release_task
def lambda_handler(ctx: ReleaseContext, deps: Dependencies) -> dict[str, Any]:
    result = conclude_release(ctx, clock=deps.clock)
    deps.ledger.put_release(result)
    document = result.document()
    detail = {name: document.get(name) for name in _EVENT_FIELDS}
    detail["message"] = release_message(result)
    deps.events.publish(RELEASE_DETAIL_TYPES[result.status], detail)
    metrics.add_dimension(name="outcome", value=result.status.value)
    metrics.add_metric(name="Releases", unit=MetricUnit.Count, value=1)
    logger.info("release concluded", extra={"status": result.status.value, "reason": result.reason})
    return document
