"""Task RecordRemediation: the remediation into the function's history, and announced."""

from __future__ import annotations

from typing import Any

from rollgate.contract import Status
from rollgate.domain.remediate.remediation import (
    REMEDIATION_DETAIL_TYPES,
    REMEDIATION_FAILED,
    RemediationContext,
    conclude_remediation,
)
from rollgate.domain.shared.notify import remediation_message
from rollgate.tasks._conclude import announce
from rollgate.tasks._release import remediation_task
from rollgate.tasks._runtime import Dependencies

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
    document = announce(
        deps,
        record,
        fields=_EVENT_FIELDS,
        message=remediation_message(record),
        detail_types=REMEDIATION_DETAIL_TYPES,
        metric="Remediations",
        what="remediation",
    )
    return {**document, "error_name": REMEDIATION_FAILED if record.status is Status.FAILED else None}
