"""The thirteen task Lambdas of the DeployFunction workflow, each allowed its own step only.

Every Lambda permission is scoped to functions tagged ``<managedFunctionTag> = "true"`` in this
account and region. The lists below are the contract with ``rollgate.tasks``: a task that needs
another call gets it here, on its own role, not on a shared one.
"""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from infra.settings import Settings
from infra.task_function import TaskFunction, task_code

#: Task modules under ``rollgate.tasks``, in workflow order.
DEPLOY_TASK_MODULES: tuple[str, ...] = (
    "validate",
    "preflight",
    "update_function",
    "check_update",
    "publish_version",
    "check_version",
    "smoke_test",
    "shift_traffic",
    "judge_canary",
    "promote",
    "judge_watch",
    "rollback",
    "record",
)

# --- Lambda actions per step (all on tag-conditioned function ARNs) ------------------------------
# Matches what rollgate.domain calls through rollgate.aws.lambda_api, step by step.
# GetFunction (image digests) on a tagged function also needs ListTags (Lambda developer guide,
# "Using tags on Lambda functions").
_READ_FUNCTION = ("lambda:GetFunctionConfiguration", "lambda:GetFunction", "lambda:ListTags")
_MOVE_ALIAS = ("lambda:GetAlias", "lambda:UpdateAlias")  # read back after every update

LAMBDA_ACTIONS: dict[str, tuple[str, ...]] = {
    "validate": (),
    # The infrastructure contract and the baseline: $LATEST and alias, provisioned concurrency.
    "preflight": (*_READ_FUNCTION, "lambda:GetAlias", "lambda:ListProvisionedConcurrencyConfigs"),
    # UpdateFunction and CheckUpdate run the same convergence step: re-read $LATEST, apply the
    # next pending change (code, then configuration) or report InProgress / Successful.
    "update_function": (*_READ_FUNCTION, "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"),
    "check_update": (*_READ_FUNCTION, "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"),
    # ListVersionsByFunction: a rerun reuses the version it already published for this code sha.
    "publish_version": (*_READ_FUNCTION, "lambda:PublishVersion", "lambda:ListVersionsByFunction"),
    "check_version": _READ_FUNCTION,
    "smoke_test": ("lambda:InvokeFunction",),
    "shift_traffic": _MOVE_ALIAS,
    # GetAlias: the stable version must still be primary; InvokeFunction: too few samples drive
    # synthetic invocations of the alias (by policy) instead of "no data means healthy".
    "judge_canary": ("lambda:GetAlias", "lambda:InvokeFunction"),
    "promote": _MOVE_ALIAS,
    "judge_watch": (),  # metrics, queues and alarms only
    # InvokeFunction: the smoke test of the restored version.
    "rollback": (*_MOVE_ALIAS, "lambda:InvokeFunction"),
    "record": (),
}

#: preflight hashes the artifact; UpdateFunctionCode makes Lambda fetch it with the caller's rights.
_READS_ARTIFACTS = ("preflight", "update_function", "check_update")
_READS_EVENT_SOURCE_MAPPINGS = ("preflight",)  # every trigger must point at the alias
_READS_HEALTH = ("preflight", "judge_canary", "judge_watch")  # baseline, then verdicts
_WRITES_LEDGER = ("validate", "record")  # take the lease; write the outcome and release the lease
_READS_LEDGER = ("shift_traffic", "judge_canary", "promote", "judge_watch")  # the abort flag
_PUTS_EVENTS = ("record",)


def _pascal(module: str) -> str:
    return "".join(part.capitalize() for part in module.split("_"))


class TaskGroup(Construct):
    """One TaskFunction per step of a workflow (handler ``rollgate.tasks.<module>.lambda_handler``),
    sharing one code asset and the environment every task reads its settings from."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        workflow: str,
        modules: tuple[str, ...],
        settings: Settings,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        bus: events.IEventBus,
        extra_environment: dict[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self._settings = settings
        code = task_code()  # one asset for the whole group
        environment = {
            "LEDGER_TABLE_NAME": table.table_name,
            "EVENT_BUS_NAME": bus.event_bus_name,
            "ARTIFACT_BUCKET_NAME": bucket.bucket_name,
            **(extra_environment or {}),
        }
        self.tasks: dict[str, TaskFunction] = {
            module: TaskFunction(
                self,
                _pascal(module),
                handler=f"rollgate.tasks.{module}.lambda_handler",
                description=f"Rollgate {workflow} step: {module}",
                settings=settings,
                code=code,
                environment=environment,
            )
            for module in modules
        }

    def task(self, module: str) -> TaskFunction:
        return self.tasks[module]


class DeployTasks(TaskGroup):
    """One TaskFunction per DeployFunction step, with that step's permissions and nothing else."""

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
            workflow="DeployFunction",
            modules=DEPLOY_TASK_MODULES,
            settings=settings,
            table=table,
            bucket=bucket,
            bus=bus,
        )
        for module, task in self.tasks.items():
            if LAMBDA_ACTIONS[module]:
                task.allow_managed_functions(
                    actions=LAMBDA_ACTIONS[module],
                    managed_function_tag=settings.managed_function_tag,
                )
        for module in _READS_ARTIFACTS:
            grant_artifact_reads(self.tasks[module], bucket)
        for module in _READS_EVENT_SOURCE_MAPPINGS:
            allow_event_source_mapping_reads(self.tasks[module])
        for module in _READS_HEALTH:
            allow_health_reads(self.tasks[module])
        for module in _WRITES_LEDGER:
            grant_ledger(self.tasks[module], table, write=True)
        for module in _READS_LEDGER:
            grant_ledger(self.tasks[module], table, write=False)
        for module in _PUTS_EVENTS:
            bus.grant_put_events_to(self.tasks[module].function)


# --- permissions that need more than a grant_* ----------------------------------------------------
def grant_ledger(task: TaskFunction, table: dynamodb.ITable, *, write: bool) -> None:
    if write:
        table.grant_read_write_data(task.function)
    else:
        table.grant_read_data(task.function)
    _acknowledge_ledger_indexes(task)


def grant_artifact_reads(task: TaskFunction, bucket: s3.IBucket) -> None:
    bucket.grant_read(task.function)
    _acknowledge_artifact_objects(task)


def allow_event_source_mapping_reads(task: TaskFunction) -> None:
    task.allow_unscoped(
        "ListEventSourceMappings",
        actions=["lambda:ListEventSourceMappings"],
        why=(
            "lambda:ListEventSourceMappings supports no resource-level permissions; it is "
            "read-only and used to check that every trigger of the function points at the alias."
        ),
    )


def allow_health_reads(task: TaskFunction) -> None:
    stack = Stack.of(task)
    task.allow_unscoped(
        "ReadHealth",
        actions=["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"],
        why=(
            "cloudwatch:GetMetricData supports no resource-level permissions and the guarding "
            "alarms are named per request; both are read-only (metrics per ExecutedVersion, "
            "alarm states)."
        ),
    )
    task.add_to_role_policy(
        iam.PolicyStatement(
            actions=["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            resources=[f"arn:{stack.partition}:sqs:{stack.region}:{stack.account}:*"],
        )
    )
    NagSuppressions.add_resource_suppressions(
        task.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                applies_to=["Resource::arn:<AWS::Partition>:sqs:<AWS::Region>:<AWS::AccountId>:*"],
                reason=(
                    "Read-only queue depth (GetQueueAttributes/GetQueueUrl) of the managed "
                    "function's DLQs, which are discovered from its configuration at run time."
                ),
            )
        ],
        apply_to_children=True,
    )


def _acknowledge_ledger_indexes(task: TaskFunction) -> None:
    NagSuppressions.add_resource_suppressions(
        task.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                applies_to=[RegexAppliesTo(regex=r"/^Resource::<.*Ledger.*\.Arn>\/index\/\*$/")],
                reason=(
                    "table.grant_*_data covers the Ledger table's own indexes (by_function), "
                    "which history queries read; no other table is reachable."
                ),
            )
        ],
        apply_to_children=True,
    )


def _acknowledge_artifact_objects(task: TaskFunction) -> None:
    NagSuppressions.add_resource_suppressions(
        task.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                applies_to=[
                    "Action::s3:GetBucket*",
                    "Action::s3:GetObject*",
                    "Action::s3:List*",
                    RegexAppliesTo(regex=r"/^Resource::<.*Artifacts.*\.Arn>\/\*$/"),
                ],
                reason=(
                    "bucket.grant_read on the Artifacts bucket only: release zips and manifests "
                    "are keyed per release, so the task reads objects it learns from the request."
                ),
            )
        ],
        apply_to_children=True,
    )
