"""The synthesized DeployFunction state machine, executed end to end on the local runtime.

Each test gets a fresh local AWS (moto) with the stack from cdk.out deployed, the sample app live on
v1 with steady traffic, and a queue subscribed to the Rollgate bus so outcome events can be read.
Everything runs on the runtime's virtual clock: the harness waits with runtime.clock.sleep, so a
test's outcome depends on its inputs and seed only, never on how busy the machine is.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rollgate.aws.ledger import DynamoLedger
from rollgate_cli.progress import Conclusion, ExecutionWatcher
from rollgate_local.deployer import synthesize
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import build_zip, order_payload, smoke_payload

FUNCTION, ALIAS = "orders-api", "live"
POLL_SECONDS = 5.0  # virtual seconds between the harness's DescribeExecution polls

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="session")
def cdk_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # this session's own folder: concurrent pytest sessions must not synthesize into one place
    outdir = tmp_path_factory.mktemp("workflow-cdk.out")
    synthesize(outdir, force=True)
    return outdir


@dataclass
class Harness:
    runtime: LocalRuntime
    outputs: dict[str, str]
    events_queue_url: str

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def upload(self, build: str, function_name: str = FUNCTION) -> dict[str, str]:
        key = f"builds/{function_name}-{build}.zip"
        self.client("s3").put_object(Bucket=self.outputs["ArtifactBucketName"], Key=key, Body=build_zip(build))
        return {"bucket": self.outputs["ArtifactBucketName"], "key": key}

    def request(self, build: str, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "function_name": FUNCTION,
            "alias": ALIAS,
            "artifact": self.upload(build),
            "strategy": {"type": "canary", "steps": [20], "interval_seconds": 180},
            "smoke_tests": [{"name": "place-order", "payload": smoke_payload(), "expect_subset": {"ok": True}}],
            # judged once a period (the default is twice): these runs are about the gates, and each
            # judgement is a task invocation on the local runtime; test_judge_scenarios runs defaults
            "health": {
                "metric_period_seconds": 60,
                "canary_judge_seconds": 60,
                "on_inconclusive": "extend",
                "max_extension_seconds": 180,
            },
            "watch_seconds": 120,
        }
        body.update(overrides)
        return body

    def start(self, body: dict[str, Any], name: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.outputs["DeployStateMachineArn"], name=name, input=json.dumps(body)
        )["executionArn"]

    def run(self, body: dict[str, Any], name: str) -> Conclusion:
        return self.wait(self.start(body, name))

    def start_workflow(self, output: str, body: dict[str, Any], name: str) -> str:
        return self.client("stepfunctions").start_execution(
            stateMachineArn=self.outputs[output], name=name, input=json.dumps(body)
        )["executionArn"]

    def watcher(self, execution_arn: str) -> ExecutionWatcher:
        return ExecutionWatcher(
            self.client("stepfunctions"),
            execution_arn,
            poll_seconds=POLL_SECONDS,
            sleep=self.runtime.clock.sleep,
            quiet=True,
        )

    def wait(self, execution_arn: str) -> Conclusion:
        return self.watcher(execution_arn).wait()

    def wait_until(self, condition: Callable[[], Any], *, every: float = 1.0, within: float = 3600.0) -> Any:
        """Sleep `every` virtual seconds until `condition()` is truthy; AssertionError after `within`."""
        waited = 0.0
        while not (answer := condition()):
            assert waited < within, f"not within {within:g} virtual seconds"
            self.runtime.clock.sleep(every)
            waited += every
        return answer

    def alias(self, function_name: str = FUNCTION) -> tuple[str, dict[str, float]]:
        alias = self.client("lambda").get_alias(FunctionName=function_name, Name=ALIAS)
        return alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})

    def versions(self) -> list[str]:
        listed = self.client("lambda").list_versions_by_function(FunctionName=FUNCTION)["Versions"]
        return sorted(v["Version"] for v in listed if v["Version"] != "$LATEST")

    @property
    def ledger_api(self) -> DynamoLedger:
        return DynamoLedger(self.client("dynamodb"), self.outputs["LedgerTableName"], self.runtime.clock)

    def ledger(self) -> list[dict[str, Any]]:
        """The function+alias history as stored (each record's JSON document), newest first."""
        return [record.document() for record in self.ledger_api.list_deployments(FUNCTION, ALIAS)]

    def lease(self) -> Any:
        return self.ledger_api.current_lease(FUNCTION, ALIAS)

    def events(self) -> list[dict[str, Any]]:
        sqs = self.client("sqs")
        received = sqs.receive_message(QueueUrl=self.events_queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in received]


@contextmanager
def running_harness(
    cdk_out: Path,
    payload_factory: Callable[[random.Random], Any] = order_payload,
    *,
    seed: int = 11,
    start: datetime | None = None,
) -> Iterator[Harness]:
    with LocalRuntime(seed=seed, start=start) as runtime:
        outputs = dict(runtime.deploy_stack(cdk_out))
        runtime.sample_app(function_name=FUNCTION, alias=ALIAS)
        sqs, events = runtime.client("sqs"), runtime.client("events")
        queue_url = sqs.create_queue(QueueName="rollgate-outcomes")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(
            Name="outcomes", EventBusName=outputs["EventBusName"], EventPattern=json.dumps({"source": ["rollgate"]})
        )
        events.put_targets(
            Rule="outcomes", EventBusName=outputs["EventBusName"], Targets=[{"Id": "q", "Arn": queue_arn}]
        )
        with runtime.traffic(function_name=FUNCTION, alias=ALIAS, rate_per_second=5.0, payload_factory=payload_factory):
            runtime.clock.sleep(120)  # two minutes of v1 traffic before anything is released
            yield Harness(runtime, outputs, queue_url)


@pytest.fixture
def harness(cdk_out: Path) -> Iterator[Harness]:
    with running_harness(cdk_out) as ready:
        yield ready
