"""The Rollgate stack: composes the constructs and exports what the CLI and local runtime read."""

from __future__ import annotations

from typing import TypedDict

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from constructs import Construct

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
from rollgate_cdk.settings import Settings
from rollgate_cdk.triggers import Triggers
from rollgate_cdk.webhook import WebhookReceiver

STACK_NAME = "Rollgate"


class _SharedResources(TypedDict):
    """What the release, remediate and reconcile task groups are each given (typed, so a wrong one fails mypy)."""

    settings: Settings
    table: dynamodb.ITable
    bucket: s3.IBucket
    bus: events.IEventBus


class RollgateStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: Settings, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]

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
        self.triggers = Triggers(
            self,
            "Triggers",
            settings=settings,
            bus=self.events.bus,
            bucket=self.artifacts.bucket,
            release=self.release.state_machine,
            remediate=self.remediate.state_machine,
        )

        self._output(
            "DeployStateMachineArn",
            self.deploy.state_machine.state_machine_arn,
            "ARN of the DeployFunction state machine",
        )
        self.webhook = WebhookReceiver(self, "Webhook", settings=settings, table=self.ledger.table, bus=self.events.bus)
        self._output(
            "WebhookUrl",
            self.webhook.url.url,
            "Payload URL of the GitHub webhook (content type application/json, push events)",
        )
        self._output(
            "ReleaseStateMachineArn", self.release.state_machine.state_machine_arn, "ARN of the Release state machine"
        )
        self._output(
            "RemediateStateMachineArn",
            self.remediate.state_machine.state_machine_arn,
            "ARN of the Remediate state machine",
        )
        self._output("NotificationsTopicArn", self.triggers.topic.topic_arn, "SNS topic of outcome notifications")
        self._output("LedgerTableName", self.ledger.table.table_name, "Ledger DynamoDB table")
        self._output(
            "ArtifactBucketName",
            self.artifacts.bucket.bucket_name,
            "Bucket CI uploads release artifacts and manifests to",
        )
        self._output("EventBusName", self.events.bus.event_bus_name, "Rollgate EventBridge bus")
        self._output(
            "ControlFunctionName",
            control.function_name,
            "Lambda the console steers a deployment with (promote, pause, resume, abort, approve, reject)",
        )
        self.observability = self._observability()

    def _observability(self) -> Observability:
        groups = (self.deploy_tasks, self.release_tasks, self.remediate_tasks, self.reconciler)
        task_functions = {module: task.function for group in groups for module, task in group.tasks.items()}
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

    def _output(self, output_id: str, value: str, description: str) -> None:
        CfnOutput(self, output_id, value=value, description=description, export_name=f"{self.stack_name}-{output_id}")
