"""Task RecordRemediation: the remediation into the function's history, and announced."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from rollgate.contract import Status
from rollgate.domain.notify import remediation_message
from rollgate.domain.remediation import (
    REMEDIATION_DETAIL_TYPES,
    REMEDIATION_FAILED,
    RemediationContext,
    conclude_remediation,
)
from rollgate.tasks._release import remediation_task
from rollgate.tasks._runtime import Dependencies, logger, metrics

_EVENT_FIELDS = (
    "deployment_id",
    "function_name",
    "alias",
    "status",
    "from_version",
    "to_version",
    "reason",
    "trigger",
    "execution_arn",
    "alarm",
    "release_id",
)


@remediation_task
def lambda_handler(ctx: RemediationContext, deps: Dependencies) -> dict[str, Any]:
    record = conclude_remediation(ctx, clock=deps.clock)
    deps.ledger.put_deployment(record)
    document = record.document()
    detail = {name: document.get(name) for name in _EVENT_FIELDS}
    detail["message"] = remediation_message(record)
    deps.events.publish(REMEDIATION_DETAIL_TYPES[record.status], detail)
    metrics.add_dimension(name="outcome", value=record.status.value)
    metrics.add_metric(name="Remediations", unit=MetricUnit.Count, value=1)
    logger.info("remediation concluded", extra={"status": record.status.value, "reason": record.reason})
    return {**document, "error_name": REMEDIATION_FAILED if record.status is Status.FAILED else None}
