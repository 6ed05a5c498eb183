"""Reconciler: the Reconcile function and the rule that runs it when a DeployFunction execution
ends early.

    default bus   Step Functions Execution Status Change of DeployFunction (ABORTED, TIMED_OUT,
                  FAILED) -> Reconcile (retried with backoff, then a dead-letter queue)

Reconcile (``rollgate.domain.deploy.reconcile``) reads the ledger and the alias and puts them right: the
alias on one version, the missing outcome recorded, one event, the lease released. A stop in the
console, a timeout or a failure past Record or Rollback all end the execution, so all reach it;
a FAILED execution whose Record ran finds nothing to do. When it cannot act it sends "Rollback
Failed" to the Rollgate bus, which the notifications rule passes to the SNS topic.
"""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_stepfunctions as sfn
from cdk_nag import NagPackSuppression, NagSuppressions

from rollgate_cdk.dead_letters import rule_dead_letters
from rollgate_cdk.task_function import TaskFunction
from rollgate_cdk.task_group import TaskGrants, TaskGroup

#: Execution statuses that end an execution without its Record having run to the end
#: (rollgate.domain.deploy.reconcile.ENDED_EARLY).
ENDED_EARLY = ("ABORTED", "TIMED_OUT", "FAILED")

GRANTS = TaskGrants(
    # GetAlias / UpdateAlias: the alias back on one version, read back after the update
    lambda_actions={"reconcile": ("lambda:GetAlias", "lambda:UpdateAlias")},
    writes_ledger=("reconcile",),  # the missing outcome, the event mark, the lease release
    puts_events=("reconcile",),  # the outcome event, or "Rollback Failed" when it cannot act
)


def allow_execution_reads(task: TaskFunction, *, baseline: bool) -> None:
    """`task` may ask whether the execution holding a lease still runs (DescribeExecution) and, with
    `baseline`, which baseline its Preflight captured (GetExecutionHistory): what reconcile reads,
    and Remediate before taking over from a dead holder.

    On this account and region's executions: an execution ARN is
    execution:<state machine name>:<execution name>, and the name is only known at deploy time
    (naming it through a token would make the rule, the role and the machine a cycle); the ARN
    read comes from the ledger's lease."""
    executions = Stack.of(task).format_arn(
        service="states", resource="execution", resource_name="*", arn_format=ArnFormat.COLON_RESOURCE_NAME
    )
    actions = ["states:DescribeExecution", *(["states:GetExecutionHistory"] if baseline else [])]
    task.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=[executions]))
    NagSuppressions.add_resource_suppressions(
        task.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                applies_to=["Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:*"],
                reason=(
                    f"{' and '.join(actions)} (read only) of this account and region's executions: whether "
                    "the execution holding a lease still runs (and which baseline it captured); its ARN "
                    "comes from the ledger, not the stack."
                ),
            )
        ],
        apply_to_children=True,
    )


class Reconciler(TaskGroup):
    """The Reconcile function, and its rule on the DeployFunction executions' ends."""

    WORKFLOW = "Reconcile"
    PACKAGE = "deploy"  # it keeps the DeployFunction workflow's promise
    MODULES = ("reconcile",)
    GRANTS = GRANTS

    def watch(self, state_machine: sfn.IStateMachine) -> events.Rule:
        """Run Reconcile when an execution of `state_machine` ends ABORTED, TIMED_OUT or FAILED;
        allow it to tell whether an execution holding a lease still runs."""
        function = self.task("reconcile").function
        allow_execution_reads(self.task("reconcile"), baseline=True)
        self.dead_letters = rule_dead_letters(self, of="the reconcile rule")
        return events.Rule(
            self,
            "ExecutionEnded",
            description="A DeployFunction execution ended ABORTED, TIMED_OUT or FAILED: reconcile its alias",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"status": list(ENDED_EARLY), "stateMachineArn": [state_machine.state_machine_arn]},
            ),
            targets=[
                targets.LambdaFunction(
                    function,
                    dead_letter_queue=self.dead_letters,
                    retry_attempts=8,
                    max_event_age=Duration.hours(2),
                )
            ],
        )
