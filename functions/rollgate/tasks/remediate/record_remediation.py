"""Task RecordRemediation: the remediation into the function's history, and announced."""

from __future__ import annotations

from typing import Any

from rollgate.contract import Status
from rollgate.domain.remediate.remediation import (
    REMEDIATION_ANNOUNCEMENT,
    REMEDIATION_FAILED,
    RemediationContext,
    conclude_remediation,
)
from rollgate.domain.shared.notify import remediation_message
from rollgate.tasks._conclude import announce
from rollgate.tasks._release import remediation_task
from rollgate.tasks._runtime import Dependencies


@remediation_task
def lambda_handler(ctx: RemediationContext, deps: Dependencies) -> dict[str, Any]:
    record = conclude_remediation(ctx, clock=deps.clock)
    deps.ledger.put_deployment(record)
    document = announce(deps, record, REMEDIATION_ANNOUNCEMENT, message=remediation_message(record))
    return {**document, "error_name": REMEDIATION_FAILED if record.status is Status.FAILED else None}
