"""Task Assess (Remediate): which function, which deployment is at fault (or which holder of the
lease no longer runs), and what to do — without changing anything."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.domain.remediate.remediation import RemediationContext, assess, start_remediation
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.triggers import ALARM_DETAIL_TYPE, parse_alarm_event
from rollgate.tasks._runtime import Dependencies, entry_task


def _alarm_arn(request: Any) -> str | None:
    """The alarm's ARN, to read its tags; a malformed event has none (start_remediation names why)."""
    if isinstance(request, dict) and request.get("detail-type") == ALARM_DETAIL_TYPE:
        try:
            return parse_alarm_event(request).arn
        except InvalidRequest:
            return None
    return None


@entry_task(
    correlation_id=lambda ctx: ctx.remediation_id,
    started=lambda ctx: ("remediation assessed", {"action": ctx.action, "assessment": ctx.assessment}),
)
def lambda_handler(request: Any, execution: Any, context: LambdaContext, deps: Dependencies) -> RemediationContext:
    ctx = start_remediation(
        request,
        execution,
        alarm_tags=deps.alarm_tags.tags(_alarm_arn(request)),
        default_lookback_minutes=deps.settings.remediation_lookback_minutes,
        clock=deps.clock,
    )
    # whether a lease holder's execution still runs: a dead one is taken over, not asked to abort
    executions = StepFunctionsExecutions(boto3.client("stepfunctions"))
    return assess(ctx, ledger=deps.ledger, lambda_api=deps.lambda_api, clock=deps.clock, executions=executions)
