"""TaskGroup: one TaskFunction per step of a workflow, each allowed its own step only.

A group is data: the workflow's task modules and a `TaskGrants` table saying which step may do
what. Every Lambda permission is scoped to functions tagged ``<managedFunctionTag> = "true"`` in
this account and region; a task that needs another call gets it in its group's table, on its own
role, not on a shared one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo
from constructs import Construct

from rollgate import contract
from rollgate.contract import Step
from rollgate_cdk.settings import Settings
from rollgate_cdk.states import (
    DEFAULT_ATTEMPTS,
    PERSISTENT_ATTEMPTS,
    await_task_token,
    catch,
    fail_on_error,
    lambda_step,
)
from rollgate_cdk.task_function import TaskFunction, task_code


@dataclass(frozen=True)
class TaskGrants:
    """What each task module of a group may do, beyond writing its own logs."""

    #: Lambda actions on managed (tagged) functions, per module; a module absent here has none.
    lambda_actions: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reads_artifacts: tuple[str, ...] = ()
    reads_event_source_mappings: tuple[str, ...] = ()
    reads_health: tuple[str, ...] = ()
    #: logs:FilterLogEvents on Lambda's log groups (/aws/lambda/*): the versions' own log lines
    reads_logs: tuple[str, ...] = ()
    writes_ledger: tuple[str, ...] = ()
    reads_ledger: tuple[str, ...] = ()
    puts_events: tuple[str, ...] = ()
    #: ecr:DescribeImages on the account's repositories that carry the managed tag
    describes_images: tuple[str, ...] = ()
    #: ecr:BatchGetImage / GetDownloadUrlForLayer there (UpdateFunctionCode pulls with the caller's rights)
    pulls_images: tuple[str, ...] = ()
    #: lambda:InvokeFunction on the team's hook functions: tagged HOOK_FUNCTION_TAG = "true"
    invokes_hooks: tuple[str, ...] = ()
    #: lambda:DeleteFunction on qualified (version) ARNs only: never a whole function
    deletes_versions: tuple[str, ...] = ()


#: The tag a team's hook function carries so that Rollgate may invoke it (it is not a managed
#: function: Rollgate never changes it).
HOOK_FUNCTION_TAG = "rollgate:hook"


def _pascal(module: str) -> str:
    return "".join(part.capitalize() for part in module.split("_"))


class TaskGroup(Construct):
    """One TaskFunction per module (handler ``rollgate.tasks.<package>.<module>.lambda_handler``), sharing
    one code asset and the environment every task reads its settings from, each granted what
    `grants` says. Subclasses set WORKFLOW, PACKAGE, MODULES and GRANTS (and may add environment)."""

    WORKFLOW: str
    #: the task package under ``rollgate.tasks`` the modules are in
    PACKAGE: str
    MODULES: tuple[str, ...]
    GRANTS: TaskGrants
    #: module -> its Lambda timeout, where the house default (60 s) is too short
    TIMEOUT_SECONDS: Mapping[str, int] = {}

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
        super().__init__(scope, construct_id)
        code = task_code()  # one asset for the whole group
        environment = {
            contract.LEDGER_TABLE.name: table.table_name,
            contract.EVENT_BUS.name: bus.event_bus_name,
            contract.ARTIFACT_BUCKET.name: bucket.bucket_name,
            # preflight refuses a function without this tag before the first write would be denied
            contract.MANAGED_FUNCTION_TAG.name: settings.managed_function_tag,
            # the named health policies Validate and LoadManifest resolve. On every task, not only
            # those two: every task reads the one Settings model, and where the tasks share a
            # process (the local runtime) the first to load it is the one whose variables count
            contract.HEALTH_POLICIES.name: settings.health_policies_json,
            contract.DEPLOYMENT_WINDOWS.name: settings.deployment_windows_json,
            **self.extra_environment(settings),
        }
        self.tasks: dict[str, TaskFunction] = {
            module: TaskFunction(
                self,
                _pascal(module),
                handler=contract.task_handler(self.PACKAGE, module),
                description=f"Rollgate {self.WORKFLOW} step: {module}",
                settings=settings,
                code=code,
                environment=environment,
                timeout=Duration.seconds(self.TIMEOUT_SECONDS[module]) if module in self.TIMEOUT_SECONDS else None,
            )
            for module in self.MODULES
        }
        self._grant(self.GRANTS, settings=settings, table=table, bucket=bucket, bus=bus)
        self.extra_grants(settings)

    def extra_environment(self, settings: Settings) -> dict[str, str]:
        return {}

    def extra_grants(self, settings: Settings) -> None:
        """What a group's tasks may do beyond the GRANTS table (reading executions, tagged alarms)."""

    def task(self, module: str) -> TaskFunction:
        return self.tasks[module]

    def task_state(
        self,
        scope: Construct,
        step: Step,
        *,
        payload: sfn.TaskInput | None = None,
        max_attempts: int = DEFAULT_ATTEMPTS,
    ) -> tasks.LambdaInvoke:
        """The Task state of a contract step: its state name, task module and ResultPath."""
        return self.step(
            scope, step.state, step.task, result_path=step.result_path, payload=payload, max_attempts=max_attempts
        )

    def entry_state(
        self, scope: Construct, step: Step, *, refusals: Mapping[str, str], failed: str
    ) -> tasks.LambdaInvoke:
        """A workflow's first state: its task gets the execution's input as `request` and the execution
        itself ($$.Execution). An error named in `refusals` fails the execution with that name at the
        Fail state `refusals[error]` (its cause: the message naming the field, the holder …); any other
        error fails it at `failed`. ResultPath "$": the input may not be a JSON object (an array, a
        string), and "$.error" cannot be added to one (States.Runtime); nothing of the input is
        needed once the entry has failed."""
        entry = self.task_state(
            scope,
            step,
            payload=sfn.TaskInput.from_object(
                {"request": sfn.JsonPath.entire_payload, "execution": sfn.JsonPath.object_at("$$.Execution")}
            ),
        )
        for error, state_name in refusals.items():
            catch(entry, fail_on_error(scope, state_name, error=error, error_path="$"), errors=[error], result_path="$")
        catch(entry, sfn.Fail(scope, failed, error_path="$.Error", cause_path="$.Cause"), result_path="$")
        return entry

    def record_state(self, scope: Construct, step: Step, *, conclusion: sfn.IChainable) -> tasks.LambdaInvoke:
        """A Release or Remediate workflow's record step, retried persistently, then `conclusion`; if it
        still fails the execution fails RecordFailed with the cause (there is nowhere else to record)."""
        record = catch(
            self.task_state(scope, step, max_attempts=PERSISTENT_ATTEMPTS),
            sfn.Fail(scope, "RecordFailed", error="RecordFailed", cause_path="$.record_error.Cause"),
            result_path="$.record_error",
        )
        record.next(conclusion)
        return record

    def approval_states(
        self,
        scope: Construct,
        awaiting: Step,
        timed_out: Step,
        *,
        payload_key: str,
        timeout_path: str,
        on_error: sfn.IChainable,
    ) -> tuple[tasks.LambdaInvoke, tasks.LambdaInvoke]:
        """An approval gate: `awaiting` leaves its task token for a person's answer (the whole state
        under `payload_key`) and waits up to the seconds at `timeout_path`; then States.Timeout runs
        `timed_out`, which answers the gate's on_timeout. Either's other errors go to `on_error`
        (the caller adds what a rejection does)."""
        awaiting_state = await_task_token(
            scope,
            awaiting.state,
            self.task(awaiting.task).function,
            payload_key=payload_key,
            timeout_path=timeout_path,
            result_path=awaiting.result_path,
        )
        timed_out_state = catch(
            self.task_state(
                scope,
                timed_out,
                payload=sfn.TaskInput.from_object({"timed_out": True, payload_key: sfn.JsonPath.entire_payload}),
            ),
            on_error,
        )
        awaiting_state.add_catch(timed_out_state, errors=["States.Timeout"], result_path="$.approval_timeout")
        return awaiting_state, timed_out_state

    def step(
        self,
        scope: Construct,
        state_name: str,
        module: str,
        *,
        result_path: str,
        payload: sfn.TaskInput | None = None,
        max_attempts: int = DEFAULT_ATTEMPTS,
    ) -> tasks.LambdaInvoke:
        """The Task state (created under `scope`) that invokes this group's `module`."""
        return lambda_step(
            scope,
            state_name,
            function=self.task(module).function,
            result_path=result_path,
            payload=payload,
            max_attempts=max_attempts,
        )

    def _grant(
        self,
        grants: TaskGrants,
        *,
        settings: Settings,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        bus: events.IEventBus,
    ) -> None:
        for module, actions in grants.lambda_actions.items():
            if actions:
                self.tasks[module].allow_managed_functions(
                    actions=actions, managed_function_tag=settings.managed_function_tag
                )
        for module in grants.reads_artifacts:
            bucket.grant_read(self.tasks[module].function)
            _acknowledge_artifact_objects(self.tasks[module])
        for module in grants.reads_event_source_mappings:
            _allow_event_source_mapping_reads(self.tasks[module])
        for module in grants.reads_health:
            _allow_health_reads(self.tasks[module])
        for module in grants.reads_logs:
            _allow_log_reads(self.tasks[module])
        for module in grants.writes_ledger:
            table.grant_read_write_data(self.tasks[module].function)
            _acknowledge_ledger_indexes(self.tasks[module])
        for module in grants.reads_ledger:
            table.grant_read_data(self.tasks[module].function)
            _acknowledge_ledger_indexes(self.tasks[module])
        for module in grants.puts_events:
            bus.grant_put_events_to(self.tasks[module].function)
        for module in grants.describes_images:
            _allow_images(self.tasks[module], ["ecr:DescribeImages"], settings.managed_function_tag)
        for module in grants.pulls_images:
            _allow_images(
                self.tasks[module], ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"], settings.managed_function_tag
            )
        for module in grants.invokes_hooks:
            _allow_hook_invocation(self.tasks[module])
        for module in grants.deletes_versions:
            _allow_version_deletion(self.tasks[module], settings.managed_function_tag)


# --- permissions that need more than a grant_* ----------------------------------------------------
def _allow_in_account(
    task: TaskFunction, *, actions: list[str], service: str, resource: str, why: str, tag: str | None = None
) -> None:
    """`actions` on `service` resources matching `resource` in this account and region (only those
    tagged `tag` = "true" where a tag is given), with the acknowledgement of that one wildcard."""
    stack = Stack.of(task)
    task.add_to_role_policy(
        iam.PolicyStatement(
            actions=actions,
            resources=[f"arn:{stack.partition}:{service}:{stack.region}:{stack.account}:{resource}"],
            conditions={"StringEquals": {f"aws:ResourceTag/{tag}": "true"}} if tag else None,
        )
    )
    NagSuppressions.add_resource_suppressions(
        task.role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                applies_to=[f"Resource::arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"],
                reason=why,
            )
        ],
        apply_to_children=True,
    )


def _allow_images(task: TaskFunction, actions: list[str], managed_tag: str) -> None:
    """ECR reads on this account's repositories that carry the managed tag (the image a managed
    function runs lives in one)."""
    _allow_in_account(
        task,
        actions=actions,
        service="ecr",
        resource="repository/*",
        tag=managed_tag,
        why=(
            "Read-only ECR calls on the image a request names (by digest); the repository wildcard is "
            f"narrowed by aws:ResourceTag/{managed_tag} = true."
        ),
    )


def _allow_hook_invocation(task: TaskFunction) -> None:
    _allow_in_account(
        task,
        actions=["lambda:InvokeFunction"],
        service="lambda",
        resource="function:*",
        tag=HOOK_FUNCTION_TAG,
        why=(
            "The hook function is named per request; only functions tagged "
            f"{HOOK_FUNCTION_TAG} = true (the team's own checks) can be invoked."
        ),
    )


def _allow_version_deletion(task: TaskFunction, managed_tag: str) -> None:
    """DeleteFunction on `function:NAME:VERSION` only: an unqualified ARN (the whole function) does
    not match `function:*:*`."""
    _allow_in_account(
        task,
        actions=["lambda:DeleteFunction"],
        service="lambda",
        resource="function:*:*",
        tag=managed_tag,
        why=(
            "Pruning deletes old versions of managed functions: qualified ARNs only (never a whole "
            f"function), narrowed by aws:ResourceTag/{managed_tag} = true."
        ),
    )


def _allow_event_source_mapping_reads(task: TaskFunction) -> None:
    task.allow_unscoped(
        "ListEventSourceMappings",
        actions=["lambda:ListEventSourceMappings"],
        why=(
            "lambda:ListEventSourceMappings supports no resource-level permissions; it is "
            "read-only and used to check that every trigger of the function points at the alias."
        ),
    )


def _allow_health_reads(task: TaskFunction) -> None:
    task.allow_unscoped(
        "ReadHealth",
        actions=["cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms"],
        why=(
            "cloudwatch:GetMetricData supports no resource-level permissions and the guarding "
            "alarms are named per request; both are read-only (metrics per ExecutedVersion, "
            "alarm states)."
        ),
    )
    _allow_in_account(
        task,
        actions=["sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
        service="sqs",
        resource="*",
        why=(
            "Read-only queue depth (GetQueueAttributes/GetQueueUrl) of the managed "
            "function's DLQs, which are discovered from its configuration at run time."
        ),
    )


def _allow_log_reads(task: TaskFunction) -> None:
    """FilterLogEvents on Lambda's log groups only: the judged versions' REPORT and error lines."""
    _allow_in_account(
        task,
        actions=["logs:FilterLogEvents"],
        service="logs",
        resource="log-group:/aws/lambda/*",
        why=(
            "Read-only FilterLogEvents on Lambda's own log groups (/aws/lambda/<function>), the "
            "managed function's being named per request; Lambda creates them untagged, so no tag "
            "condition can narrow them further."
        ),
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
