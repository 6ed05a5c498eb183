"""``Rollgate``: the whole of Rollgate as one construct, to add to any CDK app (the Rollgate stack
itself is one user of it); ``Rollgate.manage`` declares a function it releases next to the
function's own definition."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, TypedDict

from aws_cdk import CfnOutput, Stack, Tags, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from constructs import Construct

from rollgate import contract
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.managed import ManagedFunction
from rollgate.domain.shared.models import parse_model
from rollgate_cdk.artifacts import Artifacts
from rollgate_cdk.deploy_tasks import DeployTasks
from rollgate_cdk.deploy_workflow import DeployWorkflow
from rollgate_cdk.event_bus import RollgateBus
from rollgate_cdk.ledger import Ledger
from rollgate_cdk.observability import Observability
from rollgate_cdk.reconcile import Reconciler
from rollgate_cdk.release_tasks import ReleaseTasks, RemediateTasks
from rollgate_cdk.release_workflow import ReleaseWorkflow
from rollgate_cdk.remediate_workflow import RemediateWorkflow
from rollgate_cdk.settings import MAX_HEALTH_POLICIES_BYTES, Settings
from rollgate_cdk.task_group import TaskGroup
from rollgate_cdk.triggers import Triggers
from rollgate_cdk.webhook import WebhookReceiver

_DEFAULTS = Settings()

#: The CDK feature flags Rollgate's constructs are built with (the Rollgate app's cdk.json sets the same).
FEATURE_FLAGS: dict[str, bool] = {
    "@aws-cdk/core:enablePartitionLiterals": True,
    "@aws-cdk/core:validateSnapshotRemovalPolicy": True,
    "@aws-cdk/aws-iam:minimizePolicies": True,
    "@aws-cdk/aws-lambda:recognizeLayerVersion": True,
    "@aws-cdk/aws-lambda:recognizeVersionProps": True,
    "@aws-cdk/aws-s3:createDefaultLoggingPolicy": True,
    "@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True,
    "@aws-cdk/aws-s3:publicAccessBlockedByDefault": True,
    "@aws-cdk/aws-events:requireEventBusPolicySid": True,
}
#: What a function name that is a token (resolved at deploy time) may take in the tasks' environment.
_MAX_FUNCTION_NAME = 64


class _SharedResources(TypedDict):
    """What the release, remediate and reconcile task groups are each given (typed, so a wrong one fails mypy)."""

    settings: Settings
    table: dynamodb.ITable
    bucket: s3.IBucket
    bus: events.IEventBus


class Rollgate(Construct):
    """Rollgate in a CDK app: the DeployFunction, Release and Remediate state machines and their
    task Lambdas, the ledger table, the artifact bucket, the event bus, the triggers (GitHub webhook,
    EventBridge rules, notifications topic), the reconciler and the dashboard and alarms.

    ``Rollgate(scope, "Rollgate", release_branches=["release/*"], notification_email="team@example.com")``

    Every option is keyword-only; each default is ``rollgate_cdk.settings.Settings``'s (the
    Rollgate stack reads the same options from cdk.json context, ``rollgate:<camelCase name>``):

    * ``managed_function_tag`` (``"rollgate:managed"``): the tag whose value ``"true"`` marks a
      function Rollgate may release; every Lambda permission of the tasks is conditioned on it.
    * ``log_retention_days`` (``30``): retention of every Rollgate log group, a CloudWatch Logs period.
    * ``log_level`` (``"INFO"``): the task Lambdas' Powertools log level.
    * ``powertools_layer_version`` (``27``): the public Powertools for AWS Lambda (Python) v3 layer
      version (python3.12, arm64).
    * ``release_branches`` (``("release/*",)``): branch patterns (fnmatch globs) whose pushes start
      a release; one string is one pattern.
    * ``guard_alarm_prefix`` (``"rollgate-guard-"``): CloudWatch alarms whose name starts with it
      guard managed functions: ALARM starts the Remediate workflow.
    * ``remediation_lookback_minutes`` (``60``): how far back a promotion can be and still be
      blamed by an alarm.
    * ``notification_email`` (``None``: no subscription): an address subscribed to the
      notifications topic.
    * ``health_policies`` (``{}``): named health policies (``{"strict": {…HealthPolicy fields…}}``)
      a request or a manifest names with ``health_policy``; validated here, a bad one fails the synth.
    * ``deployment_windows`` (``{}``): named deployment windows
      (``{"production": {"allowed": [...], "freezes": [...]}}``) a manifest names with ``windows``.

    The stack's outputs (``DeployStateMachineArn``, ``ArtifactBucketName``, ``EventBusName``, …,
    exported as ``<stack name>-<output>``) are what the ``rollgate`` CLI and the local runtime
    read, so they keep those names in any stack: one Rollgate per stack.

    What it creates is exposed as attributes (``ledger``, ``artifacts``, ``events``, ``deploy``,
    ``release``, ``remediate``, their task groups, ``reconciler``, ``triggers``, ``webhook``,
    ``observability``) and its options as ``settings``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        managed_function_tag: str = _DEFAULTS.managed_function_tag,
        log_retention_days: int = _DEFAULTS.log_retention_days,
        log_level: str = _DEFAULTS.log_level,
        powertools_layer_version: int = _DEFAULTS.powertools_layer_version,
        release_branches: Sequence[str] = _DEFAULTS.release_branches,
        guard_alarm_prefix: str = _DEFAULTS.guard_alarm_prefix,
        remediation_lookback_minutes: int = _DEFAULTS.remediation_lookback_minutes,
        notification_email: str | None = _DEFAULTS.notification_email,
        health_policies: Mapping[str, Any] | None = None,
        deployment_windows: Mapping[str, Any] | None = None,
    ) -> None:
        # before any child: a bad option fails here, naming it, and leaves nothing half-built
        settings = Settings(
            managed_function_tag=managed_function_tag,
            log_retention_days=log_retention_days,
            log_level=log_level.upper(),
            powertools_layer_version=powertools_layer_version,
            release_branches=(release_branches,) if isinstance(release_branches, str) else tuple(release_branches),
            guard_alarm_prefix=guard_alarm_prefix,
            remediation_lookback_minutes=remediation_lookback_minutes,
            notification_email=notification_email or None,
            health_policies=dict(health_policies or {}),
            deployment_windows=dict(deployment_windows or {}),
        )
        stack = Stack.of(scope)
        taken = [output for output, _ in _OUTPUTS if stack.node.try_find_child(output) is not None]
        if taken:
            raise ValueError(
                f"{stack.node.path} already has the output {taken[0]}: one Rollgate per stack (the CLI and "
                "the local runtime read its outputs by these names)"
            )
        super().__init__(scope, construct_id)
        # Rollgate is built, linted and tested with these on; set here, before any child, they hold
        # for Rollgate's constructs whatever the app around it sets
        for flag, value in FEATURE_FLAGS.items():
            self.node.set_context(flag, value)
        self.settings = settings
        self._managed: dict[str, tuple[str, dict[str, Any]]] = {}  # function name -> (construct path, entry)

        self.ledger = Ledger(self, "Ledger")
        self.artifacts = Artifacts(self, "Artifacts")
        self.events = RollgateBus(self, "Events")
        self.deploy_tasks = DeployTasks(
            self,
            "DeployTasks",
            settings=settings,
            table=self.ledger.table,
            bucket=self.artifacts.bucket,
            bus=self.events.bus,
        )
        # before DeployFunction: its own Reconcile step (after Record, ReleaseLease or Rollback failed)
        # invokes this same function
        self.reconciler = Reconciler(
            self,
            "Reconciler",
            settings=settings,
            table=self.ledger.table,
            bucket=self.artifacts.bucket,
            bus=self.events.bus,
        )
        self.deploy = DeployWorkflow(
            self,
            "Deploy",
            settings=settings,
            steps=self.deploy_tasks,
            reconcile=self.reconciler.task("reconcile").function,
        )
        shared: _SharedResources = {
            "settings": settings,
            "table": self.ledger.table,
            "bucket": self.artifacts.bucket,
            "bus": self.events.bus,
        }
        self.release_tasks = ReleaseTasks(self, "ReleaseTasks", **shared)
        self.release = ReleaseWorkflow(
            self, "Release", settings=settings, steps=self.release_tasks, deploy=self.deploy.state_machine
        )
        self.remediate_tasks = RemediateTasks(self, "RemediateTasks", **shared)
        self.remediate = RemediateWorkflow(self, "Remediate", settings=settings, steps=self.remediate_tasks)
        # an execution that ends without its Record (stopped, timed out, failed in Record or
        # Rollback) is put right by Reconcile: alias on one version, lease free, one record
        self.reconciler.watch(self.deploy.state_machine)
        # the console's Control function answers the approval gates of both workflows
        control = self.deploy_tasks.task("control").function
        for machine in (self.deploy.state_machine, self.release.state_machine):
            machine.grant_task_response(control)
        self.control_function = control
        self.triggers = Triggers(
            self,
            "Triggers",
            settings=settings,
            bus=self.events.bus,
            bucket=self.artifacts.bucket,
            release=self.release.state_machine,
            remediate=self.remediate.state_machine,
        )
        # created between the outputs as the stack always did: the template's order stays the same
        self._output("DeployStateMachineArn", self.deploy.state_machine.state_machine_arn)
        self.webhook = WebhookReceiver(self, "Webhook", settings=settings, table=self.ledger.table, bus=self.events.bus)
        for output, _ in _OUTPUTS[1:]:
            self._output(output, self._output_value(output))
        self.observability = self._observability()

    @property
    def task_groups(self) -> tuple[TaskGroup, ...]:
        """Every group of task Lambdas (the tasks that read the request defaults among them)."""
        return (self.deploy_tasks, self.release_tasks, self.remediate_tasks, self.reconciler)

    # ---- managed functions ---------------------------------------------------------------------
    def manage(
        self,
        function: lambda_.Function,
        *,
        alias: str | None = None,
        policy: str | Mapping[str, Any] | None = None,
        strategy: Mapping[str, Any] | None = None,
        smoke_tests: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        """Let Rollgate release `function` (defined in this CDK app), and record its defaults.

        Tags the function ``<managed_function_tag> = "true"``: the tag every Lambda permission of
        the tasks is conditioned on, so the tasks may act on this function, and the infrastructure
        contract Preflight checks. Each default fills what a DeployFunction input, or a release
        manifest's entry for this function, leaves out (the input always wins: in a manifest, the
        function's entry, then its ``defaults``); None leaves the request's own default:

        * ``alias``: the alias a release moves (a request's default: ``"live"``).
        * ``policy``: the health policy, one of ``health_policies`` by name, or inline
          HealthPolicy fields (only those it sets; a request's own ``health`` fields win over them).
          Used when the request names no ``health_policy`` of its own.
        * ``strategy``: a Strategy (``{"type": "canary", "steps": [10], "interval_seconds": 300}``).
        * ``smoke_tests``: a list of SmokeTest (``[{"name": …, "payload": …, "expect_subset": …}]``).

        Each is validated with the request's own model here, so a bad default fails the synth
        naming its field. They reach the tasks as ``ROLLGATE_MANAGED_FUNCTIONS``, which shares
        the tasks' environment with the named policies and windows: keep smoke payloads small.
        """
        if not isinstance(function, lambda_.Function):
            raise TypeError(
                f"manage({function.node.path}): give a lambda Function defined in this app; an imported "
                f"one cannot be tagged from here (tag it {self.settings.managed_function_tag}=true yourself)"
            )
        name = function.function_name
        where = f"manage({function.node.path})"
        key = name if not Token.is_unresolved(name) else function.node.path
        if key in self._managed:
            raise ValueError(f"{where}: the function is managed already")
        entry = self._validated_entry(
            where, name, alias=alias, policy=policy, strategy=strategy, smoke_tests=smoke_tests
        )
        self._check_environment_room(where, [*(item for _, item in self._managed.values()), entry])
        self._managed[key] = (function.node.path, entry)
        Tags.of(function).add(
            self.settings.managed_function_tag, "true", include_resource_types=["AWS::Lambda::Function"]
        )
        document = Stack.of(self).to_json_string([item for _, item in self._managed.values()])
        for group in self.task_groups:
            for task in group.tasks.values():
                task.function.add_environment(contract.MANAGED_FUNCTIONS.name, document)

    @property
    def managed_functions(self) -> dict[str, dict[str, Any]]:
        """Construct path of each managed function -> the defaults recorded for it (JSON)."""
        return {path: dict(entry) for path, entry in self._managed.values()}

    def _validated_entry(
        self,
        where: str,
        name: str,
        *,
        alias: str | None,
        policy: str | Mapping[str, Any] | None,
        strategy: Mapping[str, Any] | None,
        smoke_tests: Sequence[Mapping[str, Any]] | None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"function_name": "placeholder" if Token.is_unresolved(name) else name}
        if alias is not None:
            body["alias"] = alias
        if strategy is not None:
            body["strategy"] = dict(strategy)
        if smoke_tests is not None:
            if isinstance(smoke_tests, Mapping):
                raise TypeError(f"{where}.smoke_tests: give a list of smoke tests, not one")
            body["smoke_tests"] = [dict(test) for test in smoke_tests]
        if isinstance(policy, str):
            if policy not in self.settings.health_policies:
                known = ", ".join(sorted(self.settings.health_policies)) or "none (health_policies is empty)"
                raise ValueError(f"{where}.policy: unknown health policy {policy!r}; known: {known}")
            body["health_policy"] = policy
        elif policy is not None:
            body["health"] = dict(policy)
        try:
            parsed = parse_model(ManagedFunction, body, where)
        except InvalidRequest as error:
            raise ValueError(str(error)) from None
        return {"function_name": name, **parsed.defaults()}

    def _check_environment_room(self, where: str, entries: list[dict[str, Any]]) -> None:
        """The defaults share the tasks' 4 KB environment with the named policies and windows."""
        sized = [
            {**entry, "function_name": "x" * _MAX_FUNCTION_NAME}
            if Token.is_unresolved(entry["function_name"])
            else entry
            for entry in entries
        ]
        managed = len(json.dumps(sized, separators=(",", ":")).encode())
        others = len(self.settings.health_policies_json.encode()) + len(self.settings.deployment_windows_json.encode())
        if managed + others > MAX_HEALTH_POLICIES_BYTES:
            raise ValueError(
                f"{where}: the managed functions' defaults take {managed:,} bytes of JSON, which with the health "
                f"policies and deployment windows ({others:,}) is over the {MAX_HEALTH_POLICIES_BYTES:,} a task's "
                "environment has room for; keep large smoke tests in the release manifest instead"
            )

    # ---- outputs and observability -------------------------------------------------------------
    def _output_value(self, output: str) -> str:
        values = {
            "WebhookUrl": self.webhook.url.url,
            "ReleaseStateMachineArn": self.release.state_machine.state_machine_arn,
            "RemediateStateMachineArn": self.remediate.state_machine.state_machine_arn,
            "NotificationsTopicArn": self.triggers.topic.topic_arn,
            "LedgerTableName": self.ledger.table.table_name,
            "ArtifactBucketName": self.artifacts.bucket.bucket_name,
            "EventBusName": self.events.bus.event_bus_name,
            "ControlFunctionName": self.control_function.function_name,
        }
        return values[output]

    def _output(self, output_id: str, value: str) -> None:
        # on the stack, not under this construct: the names the CLI looks the outputs up by
        stack = Stack.of(self)
        CfnOutput(
            stack,
            output_id,
            value=value,
            description=dict(_OUTPUTS)[output_id],
            export_name=f"{stack.stack_name}-{output_id}",
        )

    def _observability(self) -> Observability:
        task_functions = {module: task.function for group in self.task_groups for module, task in group.tasks.items()}
        return Observability(
            self,
            "Observability",
            topic=self.triggers.topic,
            topic_key=self.triggers.key,
            workflows={
                "DeployFunction": self.deploy.state_machine,
                "Release": self.release.state_machine,
                "Remediate": self.remediate.state_machine,
            },
            task_functions={
                **task_functions,
                "dispatch": self.triggers.dispatch.function,
                "webhook": self.webhook.function,
            },
            record_functions={
                module: task_functions[module] for module in ("record", "record_release", "record_remediation")
            },
            reconcile_function=task_functions["reconcile"],
            dead_letters={"trigger": self.triggers.dead_letters, "reconcile": self.reconciler.dead_letters},
        )


#: The stack outputs, in the template's order, and their descriptions.
_OUTPUTS: tuple[tuple[str, str], ...] = (
    ("DeployStateMachineArn", "ARN of the DeployFunction state machine"),
    ("WebhookUrl", "Payload URL of the GitHub webhook (content type application/json, push events)"),
    ("ReleaseStateMachineArn", "ARN of the Release state machine"),
    ("RemediateStateMachineArn", "ARN of the Remediate state machine"),
    ("NotificationsTopicArn", "SNS topic of outcome notifications"),
    ("LedgerTableName", "Ledger DynamoDB table"),
    ("ArtifactBucketName", "Bucket CI uploads release artifacts and manifests to"),
    ("EventBusName", "Rollgate EventBridge bus"),
    (
        "ControlFunctionName",
        "Lambda the console steers a deployment with (promote, pause, resume, abort, approve, reject)",
    ),
)


def settings_options(settings: Settings) -> dict[str, Any]:
    """`settings` as Rollgate's keyword options (one per Settings field, the same names)."""
    return {field.name: getattr(settings, field.name) for field in fields(settings)}
