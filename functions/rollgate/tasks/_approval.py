"""What the two approval gates (AwaitApproval, AwaitWaveApproval) do alike with their task token."""

from __future__ import annotations

from typing import Any

from rollgate.domain.deploy import controls
from rollgate.domain.deploy.controls import ApprovalRequest
from rollgate.tasks._runtime import Dependencies


def leave_token(deps: Dependencies, request: ApprovalRequest, *, execution_arn: str, detail_type: str) -> Any:
    """Leave the token in the ledger for `rollgate approve|reject`, announce the wait; the state's
    result is then the token's answer, not what this returns."""
    deps.ledger.put_approval_request(request, execution_arn=execution_arn)
    deps.events.publish(detail_type, controls.approval_event(request))
    return {"waiting_for": "approval"}
