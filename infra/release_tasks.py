"""The task Lambdas of the Release and Remediate workflows, each allowed its own step only.

Lambda permissions are scoped to functions carrying the managed tag, like the DeployFunction tasks
(see ``infra.deploy_tasks``); the lists below are the contract with ``rollgate.tasks``.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions
from constructs import Construct

from infra.deploy_tasks import TaskGroup, grant_artifact_reads, grant_ledger
from infra.settings import Settings

RELEASE_TASK_MODULES: tuple[str, ...] = (
    "start_release",
    "load_manifest",
    "advance_wave",
    "revert_function",
    "record_release",
)
REMEDIATE_TASK_MODULES: tuple[str, ...] = ("assess_remediation", "remediate", "record_remediation")

# Putting an alias back: read it, move it, read it back, smoke-test the restored version.
_REVERT = ("lambda:GetAlias", "lambda:UpdateAlias", "lambda:InvokeFunction")

LAMBDA_ACTIONS: dict[str, tuple[str, ...]] = {
    "start_release": (),
    "load_manifest": (),
    "advance_wave": (),
    "revert_function": _REVERT,
    "record_release": (),
    "assess_remediation": ("lambda:GetAlias",),  # is the blamed promotion still live?
    "remediate": _REVERT,
    "record_remediation": (),
}
_READS_MANIFESTS = ("load_manifest",)
_WRITES_LEDGER = ("revert_function", "record_release", "remediate", "record_remediation")  # leases, records
_READS_LEDGER = ("advance_wave", "assess_remediation")  # child outcomes; promotions and leases
_PUTS_EVENTS = ("record_release", "record_remediation")


class _Tasks(TaskGroup):
    def _grant(self, *, settings: Settings, table: dynamodb.ITable, bucket: s3.IBucket, bus: events.IEventBus) -> None:
        for module, task in self.tasks.items():
            if LAMBDA_ACTIONS[module]:
                task.allow_managed_functions(
                    actions=LAMBDA_ACTIONS[module], managed_function_tag=settings.managed_function_tag
                )
            if module in _READS_MANIFESTS:
                grant_artifact_reads(task, bucket)
            if module in _WRITES_LEDGER:
                grant_ledger(task, table, write=True)
            if module in _READS_LEDGER:
                grant_ledger(task, table, write=False)
            if module in _PUTS_EVENTS:
                bus.grant_put_events_to(task.function)


class ReleaseTasks(_Tasks):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            workflow="Release",
            modules=RELEASE_TASK_MODULES,
            settings=settings,
            table=table,
            bucket=bucket,
            bus=bus,
        )
        self._grant(settings=settings, table=table, bucket=bucket, bus=bus)


class RemediateTasks(_Tasks):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: Settings,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        bus: events.IEventBus,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            workflow="Remediate",
            modules=REMEDIATE_TASK_MODULES,
            settings=settings,
            table=table,
            bucket=bucket,
            bus=bus,
            extra_environment={"REMEDIATION_LOOKBACK_MINUTES": str(settings.remediation_lookback_minutes)},
        )
        self._grant(settings=settings, table=table, bucket=bucket, bus=bus)
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
