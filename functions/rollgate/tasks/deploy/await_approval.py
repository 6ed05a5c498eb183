"""Tasks AwaitApproval and ApprovalTimedOut: a person's go-ahead before the promotion.

AwaitApproval is a `lambda:invoke.waitForTaskToken` state: this handler leaves the task token in
the ledger for `rollgate approve|reject EXECUTION` and announces the wait on the Rollgate bus; the
execution then waits for the token's answer (SendTaskSuccess with the canary record to continue
with, or SendTaskFailure ApprovalRejected) up to `approval.timeout_seconds`. ApprovalTimedOut runs
on the state's States.Timeout and answers the policy's default (rollgate.domain.deploy.controls.timed_out).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rollgate.domain.deploy import controls
from rollgate.domain.shared.models import DeploymentContext, Lenient
from rollgate.tasks._approval import leave_token
from rollgate.tasks._runtime import Dependencies, workflow_task

REQUESTED_DETAIL_TYPE = "Deployment Approval Requested"


class ApprovalStep(Lenient):
    deployment: DeploymentContext
    approval_token: str | None = Field(default=None, description="AwaitApproval: $$.Task.Token")
    timed_out: bool = Field(default=False, description="ApprovalTimedOut: nobody answered in time")


@workflow_task(
    ApprovalStep,
    correlation_id_path="deployment.deployment_id",
    log_keys=lambda step: {"function_name": step.deployment.function_name, "alias": step.deployment.alias},
)
def lambda_handler(step: ApprovalStep, deps: Dependencies) -> Any:
    ctx, now = step.deployment, deps.clock.now()
    if step.timed_out or step.approval_token is None:
        return controls.timed_out(ctx, now)
    request = controls.approval_request(ctx, task_token=step.approval_token, now=now)
    return leave_token(
        deps, request, execution_arn=ctx.execution_arn or ctx.deployment_id, detail_type=REQUESTED_DETAIL_TYPE
    )
