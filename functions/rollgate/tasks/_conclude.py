"""What the Release and Remediate record steps do alike once their record is in the ledger: announce
it on the bus, count it, log it. (DeployFunction's Record does more: rollgate.domain.deploy.outcome.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rollgate.contract import Status
from rollgate.domain.shared.records import ReleaseRecord, RemediationRecord
from rollgate.tasks._runtime import Dependencies, logger, metrics


def announce(
    deps: Dependencies,
    record: ReleaseRecord | RemediationRecord,
    *,
    fields: tuple[str, ...],
    message: str,
    detail_types: Mapping[Status, str],
    metric: str,
    what: str,
) -> dict[str, Any]:
    """Publish the record's `fields` and `message` as its outcome's event, count it under `metric` by
    outcome, log it as `what` concluded; the record's document is the step's result."""
    document = record.document()
    detail = {name: document.get(name) for name in fields}
    detail["message"] = message
    deps.events.publish(detail_types[record.status], detail)
    metrics.add_dimension(name="outcome", value=record.status.value)
    metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)
    logger.info(
        f"{metric.lower().rstrip('s')} concluded", extra={"status": record.status.value, "reason": record.reason}
    )
    return document
