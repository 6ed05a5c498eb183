"""The task Lambdas of the DeployFunction workflow, each allowed its own step only.

The table below is the contract with ``rollgate.tasks``: what rollgate.domain calls through
rollgate.aws, step by step (see ``rollgate_cdk.task_group`` for how it is applied).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from cdk_nag import NagPackSuppression, NagSuppressions

from rollgate_cdk.task_function import TaskFunction
from rollgate_cdk.task_group import TaskGrants, TaskGroup

#: Task modules under ``rollgate.tasks``, in workflow order.
DEPLOY_TASK_MODULES: tuple[str, ...] = (
    "validate",
    "preflight",
    "update_function",
    "check_update",
    "publish_version",
    "check_version",
    "smoke_test",
    "run_hook",
    "provision_concurrency",
    "shift_traffic",
    "judge_canary",
    "promote",
    "judge_watch",
    "await_approval",
    "release_concurrency",
    "prune",
    "start_redrive",
    "check_redrive",
    "rollback",
    "record",
    "release_lease",
    # not a state: the console's Control function (rollgate.tasks.deploy.control), granted its answers in the stack
    "control",
)

# --- Lambda actions per step (all on tag-conditioned function ARNs) ------------------------------
# Matches what rollgate.domain calls through rollgate.aws.lambda_api, step by step.
# GetFunction (image digests) on a tagged function also needs ListTags: Lambda checks it to return
# the function's tags.
_READ_FUNCTION = ("lambda:GetFunctionConfiguration", "lambda:GetFunction", "lambda:ListTags")
_MOVE_ALIAS = ("lambda:GetAlias", "lambda:UpdateAlias")  # read back after every update
_PROVISIONED_CONCURRENCY = ("lambda:GetProvisionedConcurrencyConfig", "lambda:PutProvisionedConcurrencyConfig")

LAMBDA_ACTIONS: dict[str, tuple[str, ...]] = {
    "validate": (),
    # The infrastructure contract and the baseline: $LATEST and alias, provisioned concurrency;
    # ListTags (in _READ_FUNCTION) for the managed tag; GetPolicy and ListFunctionUrlConfigs for
    # the invokers that would bypass the alias.
    "preflight": (
        *_READ_FUNCTION,
        "lambda:GetPolicy",
        "lambda:ListFunctionUrlConfigs",
        "lambda:GetAlias",
        "lambda:ListProvisionedConcurrencyConfigs",
        "lambda:GetProvisionedConcurrencyConfig",
    ),
    # UpdateFunction and CheckUpdate run the same convergence step: re-read $LATEST, apply the
    # next pending change (code, then configuration) or report InProgress / Successful.
    "update_function": (*_READ_FUNCTION, "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"),
    "check_update": (*_READ_FUNCTION, "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"),
    # ListVersionsByFunction: a rerun reuses the version it already published for this code sha.
    "publish_version": (*_READ_FUNCTION, "lambda:PublishVersion", "lambda:ListVersionsByFunction"),
    "check_version": _READ_FUNCTION,
    # the hook functions are not managed functions: their InvokeFunction is granted apart (invokes_hooks)
    "run_hook": (),
    # ProvisionConcurrency and CheckConcurrency: allocate on the new version, poll READY
    "provision_concurrency": _PROVISIONED_CONCURRENCY,
    # after promotion: the previous version's allocation, unless another alias routes to it
    "release_concurrency": (
        "lambda:DeleteProvisionedConcurrencyConfig",
        "lambda:GetAlias",
        "lambda:ListAliases",
    ),
    # what a version may still be needed by; DeleteFunction is granted on qualified ARNs only (deletes_versions)
    "prune": ("lambda:ListVersionsByFunction", "lambda:ListAliases", "lambda:ListProvisionedConcurrencyConfigs"),
    # the DLQ redrive: SQS only (redrive_grants), the mappings read to plan it
    "start_redrive": (),
    "check_redrive": (),
    "smoke_test": ("lambda:InvokeFunction",),
    "shift_traffic": _MOVE_ALIAS,
    # GetAlias: the stable version must still be primary; InvokeFunction: too few samples drive
    # synthetic invocations of the alias (by policy) instead of "no data means healthy".
    "judge_canary": ("lambda:GetAlias", "lambda:InvokeFunction"),
    "promote": _MOVE_ALIAS,
    "judge_watch": (),  # metrics, queues, alarms and logs only
    # InvokeFunction: the smoke test of the restored version; provisioned concurrency put back as it was.
    "rollback": (
        *_MOVE_ALIAS,
        "lambda:InvokeFunction",
        *_PROVISIONED_CONCURRENCY,
        "lambda:DeleteProvisionedConcurrencyConfig",
    ),
    "record": (),
    "release_lease": (),
    "await_approval": (),  # the task token and the canary record into the ledger; an event on the bus
    "control": (),  # a control into the ledger, or an approval gate's task token answered
}

GRANTS = TaskGrants(
    lambda_actions=LAMBDA_ACTIONS,
    # preflight hashes the artifact; UpdateFunctionCode makes Lambda fetch it with the caller's rights
    reads_artifacts=("preflight", "update_function", "check_update"),
    # every trigger must point at the alias; prune keeps versions a mapping is bound to
    reads_event_source_mappings=("preflight", "prune", "start_redrive"),
    # baseline, then verdicts; the redrive: DLQ depths and the consumer's errors
    reads_health=("preflight", "judge_canary", "judge_watch", "start_redrive", "check_redrive"),
    # the new and the stable version's log lines, read at every verdict
    reads_logs=("judge_canary", "judge_watch"),
    # take the lease; write the outcome; give the lease back
    writes_ledger=("validate", "record", "release_lease", "await_approval", "control"),
    # the abort flag; prune: the versions recent records name
    reads_ledger=("shift_traffic", "judge_canary", "promote", "judge_watch", "prune"),
    # the outcome; and the progress events (Deployment Step Changed) of every traffic move and verdict
    puts_events=(
        "record",
        "shift_traffic",
        "judge_canary",
        "promote",
        "judge_watch",
        "await_approval",
        "check_redrive",  # Deployment Redrive Stopped
    ),
    # container images: preflight checks the digest exists; UpdateFunctionCode makes Lambda pull it
    # with the caller's rights
    describes_images=("preflight",),
    pulls_images=("update_function", "check_update"),
    invokes_hooks=("run_hook",),
    deletes_versions=("prune",),
)


#: The DLQ redrive's SQS calls. StartMessageMoveTask moves the messages with the caller's rights:
#: it needs ReceiveMessage, DeleteMessage and GetQueueAttributes on the DLQ and SendMessage on the
#: source besides the move task calls themselves.
REDRIVE_SQS_ACTIONS: dict[str, tuple[str, ...]] = {
    "start_redrive": (
        "sqs:StartMessageMoveTask",
        "sqs:ListMessageMoveTasks",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
    ),
    "check_redrive": ("sqs:ListMessageMoveTasks", "sqs:CancelMessageMoveTask", "sqs:GetQueueAttributes"),
}


class DeployTasks(TaskGroup):
    """One TaskFunction per DeployFunction step, with that step's permissions and nothing else."""

    WORKFLOW = "DeployFunction"
    PACKAGE = "deploy"
    MODULES = DEPLOY_TASK_MODULES
    GRANTS = GRANTS
    # a hook may take up to 600 s to answer (models.Hook.timeout_seconds)
    TIMEOUT_SECONDS = {"run_hook": 660}

    def _grant(self, grants: TaskGrants, **resources: Any) -> None:
        super()._grant(grants, **resources)
        for module, actions in REDRIVE_SQS_ACTIONS.items():
            _allow_redrive(self.tasks[module], actions)


def _allow_redrive(task: TaskFunction, actions: tuple[str, ...]) -> None:
    """The redrive's SQS actions on this account's queues: the DLQ and its source are found at run
    time, from the function's event source mappings and the source queue's redrive policy."""
    stack = Stack.of(task)
    task.add_to_role_policy(
        iam.PolicyStatement(
            actions=list(actions),
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
                    "DLQ redrive after a verified promotion (request.redrive.after_fix): the dead-letter "
                    "queue and the source queue it is moved back to are discovered at run time from the "
                    "managed function's event source mappings; StartMessageMoveTask needs the receive, "
                    "delete and send rights on them, in this account and region only."
                ),
            )
        ],
        apply_to_children=True,
    )
