"""The task Lambdas of the Release and Remediate workflows, each allowed its own step only.

Lambda permissions are scoped to functions carrying the managed tag, like the DeployFunction tasks
(see ``rollgate_cdk.deploy_tasks``); the lists below are the contract with ``rollgate.tasks``.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions

from rollgate import contract
from rollgate_cdk.reconcile import allow_execution_reads
from rollgate_cdk.settings import Settings
from rollgate_cdk.task_group import TaskGrants, TaskGroup

RELEASE_TASK_MODULES: tuple[str, ...] = (
    "start_release",
    "load_manifest",
    "check_queue",
    "advance_wave",
    "check_window",
    "await_wave_approval",
    "start_bake",
    "judge_bake",
    "revert_function",
    "record_release",
)
REMEDIATE_TASK_MODULES: tuple[str, ...] = ("assess_remediation", "remediate", "record_remediation")

# Putting an alias back: read it, move it, read it back, smoke-test the restored version; then the
# provisioned concurrency moved with it (put on the restored version, released from the promoted one
# unless another alias routes to it).
_REVERT = (
    "lambda:GetAlias",
    "lambda:UpdateAlias",
    "lambda:InvokeFunction",
    "lambda:ListProvisionedConcurrencyConfigs",
    "lambda:GetProvisionedConcurrencyConfig",
    "lambda:PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig",
    "lambda:ListAliases",
)

RELEASE_GRANTS = TaskGrants(
    lambda_actions={"revert_function": _REVERT},
    reads_artifacts=("load_manifest",),
    # the bake between waves: DLQ depths and alarm states when it begins, then metrics, queues, alarms
    # and the versions' log lines, as a watch reads them
    reads_health=("start_bake", "judge_bake"),
    reads_logs=("judge_bake",),
    # the revert's lease and record; the release record (and its queue ticket and slot given back); the
    # task token of an approval between waves; a queue ticket and slot taken, a dead release's dropped
    writes_ledger=("revert_function", "record_release", "await_wave_approval", "check_queue"),
    # each child's outcome; a newer push queued (supersede); the baked deployments' start
    reads_ledger=("advance_wave", "start_bake"),
    puts_events=("record_release", "await_wave_approval"),  # Release Approval Requested
)
REMEDIATE_GRANTS = TaskGrants(
    lambda_actions={"assess_remediation": ("lambda:GetAlias",), "remediate": _REVERT},  # Assess: still live?
    # lease and abort flag, and a dead holder's outcome when taking over; the record
    writes_ledger=("remediate", "record_remediation"),
    reads_ledger=("assess_remediation",),  # promotions and leases
    # taking over from a dead holder announces its outcome once, as Reconcile does
    puts_events=("remediate", "record_remediation"),
)


class ReleaseTasks(TaskGroup):
    WORKFLOW = "Release"
    PACKAGE = "release"
    MODULES = RELEASE_TASK_MODULES
    GRANTS = RELEASE_GRANTS

    def extra_grants(self, settings: Settings) -> None:
        # whether the release holding (or queued in) a branch's queue still runs: a stopped one's
        # place is taken over, never waited on for ever
        allow_execution_reads(self.task("check_queue"), baseline=False)
        allow_execution_reads(self.task("advance_wave"), baseline=False)


class RemediateTasks(TaskGroup):
    WORKFLOW = "Remediate"
    PACKAGE = "remediate"
    MODULES = REMEDIATE_TASK_MODULES
    GRANTS = REMEDIATE_GRANTS

    def extra_environment(self, settings: Settings) -> dict[str, str]:
        return {contract.REMEDIATION_LOOKBACK_MINUTES.name: str(settings.remediation_lookback_minutes)}

    def extra_grants(self, settings: Settings) -> None:
        # whether a lease holder's execution still runs: a dead one is taken over (Reconcile), which
        # also reads the baseline the holder's Preflight captured
        allow_execution_reads(self.task("assess_remediation"), baseline=False)
        allow_execution_reads(self.task("remediate"), baseline=True)
        # Alarms with no FunctionName dimension name their function in a tag.
        stack = Stack.of(self)
        assess = self.task("assess_remediation")
        assess.add_to_role_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:ListTagsForResource"],
                resources=[
                    f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:{settings.guard_alarm_prefix}*"
                ],
            )
        )
        NagSuppressions.add_resource_suppressions(
            assess.role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    applies_to=[
                        "Resource::arn:<AWS::Partition>:cloudwatch:<AWS::Region>:<AWS::AccountId>:alarm:"
                        f"{settings.guard_alarm_prefix}*"
                    ],
                    reason=(
                        "Read-only ListTagsForResource on the alarms that guard managed functions (named "
                        f"{settings.guard_alarm_prefix}…): an alarm with no FunctionName dimension names "
                        "its function in a tag."
                    ),
                )
            ],
            apply_to_children=True,
        )
