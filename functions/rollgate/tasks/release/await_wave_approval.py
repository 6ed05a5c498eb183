"""Tasks AwaitWaveApproval, WaveApprovalTimedOut and WaveNotApproved: a person's go-ahead before
each wave of a release after the first (manifest `approval.between_waves`).

AwaitWaveApproval is a `lambda:invoke.waitForTaskToken` state: this handler leaves the token in
the ledger for `rollgate approve|reject EXECUTION` and announces the wait; an approval's answer
goes to `$.wave_approval` and the wave runs. No answer in time (States.Timeout) takes
`approval.on_timeout`; a rejection (ApprovalRejected) stops the release there: the waiting wave
and every later one are NOT_STARTED, and an atomic release puts back what it promoted.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from rollgate.domain.deploy import controls
from rollgate.domain.release.waves import ReleaseContext
from rollgate.domain.shared.models import Lenient, StepError
from rollgate.tasks._approval import leave_token
from rollgate.tasks._runtime import Dependencies, workflow_task

REQUESTED_DETAIL_TYPE = "Release Approval Requested"


class WaveApprovalStep(Lenient):
    release: ReleaseContext
    approval_token: str | None = Field(default=None, description="AwaitWaveApproval: $$.Task.Token")
    timed_out: bool = Field(default=False, description="WaveApprovalTimedOut: nobody answered in time")
    rejected: StepError | None = Field(default=None, description="WaveNotApproved: the gate's error")


@workflow_task(
    WaveApprovalStep,
    correlation_id_path="release.release_id",
    log_keys=lambda step: {"release_id": step.release.release_id, "wave": step.release.wave_index},
)
def lambda_handler(step: WaveApprovalStep, deps: Dependencies) -> Any:
    ctx, now = step.release, deps.clock.now()
    if step.approval_token is not None:
        request = controls.wave_approval_request(ctx, task_token=step.approval_token, now=now)
        return leave_token(
            deps, request, execution_arn=ctx.execution_arn or ctx.execution_name, detail_type=REQUESTED_DETAIL_TYPE
        )
    return controls.wave_gate_ended(ctx, rejected=step.rejected, now=now)
