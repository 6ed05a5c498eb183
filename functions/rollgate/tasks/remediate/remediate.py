"""Task Remediate: roll the culprit back (verified, smoke-tested), take over from a deployment whose
execution no longer runs (Reconcile), or ask the running deployment to abort."""

from __future__ import annotations

import boto3

from rollgate.aws.executions import StepFunctionsExecutions
from rollgate.domain.remediate.remediation import RemediationContext, remediate
from rollgate.tasks._release import remediation_task
from rollgate.tasks._runtime import Dependencies


@remediation_task
def lambda_handler(ctx: RemediationContext, deps: Dependencies) -> object:
    return remediate(
        ctx,
        ledger=deps.ledger,
        lambda_api=deps.lambda_api,
        clock=deps.clock,
        events=deps.events,
        executions=StepFunctionsExecutions(boto3.client("stepfunctions")),
    )
