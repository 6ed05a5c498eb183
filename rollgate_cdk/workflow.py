"""Workflow: a Standard state machine with the house defaults (logging ALL with execution data to
its own log group, X-Ray tracing, no state machine timeout) and the acknowledgements its role needs."""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from rollgate_cdk.settings import Settings


class Workflow(Construct):
    """Subclasses build their states under `self`, then call `_create(definition, ...)`."""

    state_machine: sfn.StateMachine
    log_group: logs.LogGroup

    def _create(self, *, settings: Settings, definition: sfn.IChainable, comment: str, invokes: str) -> None:
        """`invokes` says, for the IAM acknowledgement, which task functions the role may invoke."""
        # No physical name: a named log group survives the stack (logs are retained) and would
        # block re-creating it under the same name.
        self.log_group = logs.LogGroup(self, "Logs", retention=settings.log_retention)
        # No state machine timeout on purpose: a timed-out execution would skip its Record step,
        # leaving a lease held and perhaps an alias half-shifted. Every wait is bounded by its task.
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_type=sfn.StateMachineType.STANDARD,
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            comment=comment,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=True),
            tracing_enabled=True,
        )
        NagSuppressions.add_resource_suppressions(
            self.state_machine.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=["Resource::*"],
                    reason=(
                        "Added by CDK for execution logging and tracing: logs:*LogDelivery*, "
                        "logs:PutResourcePolicy/DescribeResourcePolicies/DescribeLogGroups (vended-log "
                        "delivery set-up) and xray:PutTraceSegments/PutTelemetryRecords/GetSampling* "
                        "support no resource-level permissions."
                    ),
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=[RegexAppliesTo(regex=r"/^Resource::<.*Function[0-9A-F]{8}\.Arn>:\*$/")],
                    reason=(
                        "lambda:InvokeFunction on the qualified ARNs (version/alias) of Rollgate's own "
                        f"{invokes}, added by LambdaInvoke; no other function."
                    ),
                ),
            ],
            apply_to_children=True,
        )
