"""What the Release and Remediate record steps do alike once their record is in the ledger: announce
it on the bus, count it, log it. (DeployFunction's Record does more: rollgate.domain.deploy.outcome.)"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rollgate.domain.shared.notify import Announcement
from rollgate.domain.shared.records import ReleaseRecord, RemediationRecord
from rollgate.tasks._runtime import Dependencies, logger, metrics


def announce(
    deps: Dependencies, record: ReleaseRecord | RemediationRecord, announcement: Announcement, *, message: str
) -> dict[str, Any]:
    """Publish the record's announced fields and `message` as its outcome's event, count it by
    outcome, log it; the record's document is the step's result."""
    document = record.document()
    detail = {name: document.get(name) for name in announcement.fields}
    detail["message"] = message
    deps.events.publish(announcement.detail_types[record.status], detail)
    metrics.add_dimension(name="outcome", value=record.status.value)
    metrics.add_metric(name=announcement.metric, unit=MetricUnit.Count, value=1)
    logger.info(
        f"{announcement.metric.lower().rstrip('s')} concluded",
        extra={"status": record.status.value, "reason": record.reason},
    )
    return document
