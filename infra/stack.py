"""The Rollgate stack: composes the constructs and exports what the CLI and local runtime read."""

from __future__ import annotations

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.artifacts import Artifacts
from infra.deploy_tasks import DeployTasks
from infra.deploy_workflow import DeployWorkflow
from infra.event_bus import RollgateBus
from infra.ledger import Ledger
from infra.settings import Settings

STACK_NAME = "Rollgate"


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
        self.deploy = DeployWorkflow(self, "Deploy", settings=settings, steps=self.deploy_tasks)

        self._output(
            "DeployStateMachineArn",
            self.deploy.state_machine.state_machine_arn,
            "ARN of the DeployFunction state machine",
        )
        self._output("LedgerTableName", self.ledger.table.table_name, "Ledger DynamoDB table")
        self._output(
            "ArtifactBucketName",
            self.artifacts.bucket.bucket_name,
            "Bucket CI uploads release artifacts and manifests to",
        )
        self._output("EventBusName", self.events.bus.event_bus_name, "Rollgate EventBridge bus")

    def _output(self, output_id: str, value: str, description: str) -> None:
        CfnOutput(self, output_id, value=value, description=description, export_name=f"{self.stack_name}-{output_id}")
