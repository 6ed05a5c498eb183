"""`rollgate local serve`: the runtime behind an HTTP endpoint, used with plain boto3."""

from __future__ import annotations

import io
import json
import socket
import threading
from typing import Any

import boto3
from botocore.config import Config

from rollgate_local.server import ServeInfo, serve
from tests.local.conftest import FIXTURE_STACK


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_exposes_the_stack_and_the_sample_app_over_http() -> None:
    port, ready, stop, out = _free_port(), threading.Event(), threading.Event(), io.StringIO()
    infos: list[ServeInfo] = []
    server = threading.Thread(
        target=serve,
        kwargs={
            "port": port,
            "speed": 60.0,
            "outdir": str(FIXTURE_STACK),
            "synth": False,
            "traffic_rate": 2.0,
            "ready": ready,
            "stop": stop,
            "on_ready": infos.append,
            "out": out,
        },
        daemon=True,
    )
    server.start()
    try:
        while not ready.wait(0.1):  # no deadline: a serve() that fails ends its thread
            assert server.is_alive(), out.getvalue()
        endpoint = f"http://127.0.0.1:{port}"

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=endpoint,
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(retries={"total_max_attempts": 1}),
            )

        # the stack outputs can be looked up by stack name, as the CLI does on AWS
        (stack,) = client("cloudformation").describe_stacks(StackName="Rollgate")["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
        assert outputs["DeployStateMachineArn"] == infos[0].outputs["DeployStateMachineArn"]
        # the sample app answers through its alias, with the data plane behind the HTTP endpoint
        answer = client("lambda").invoke(
            FunctionName="orders-api", Qualifier="live", Payload=json.dumps({"order_id": "o", "items": []})
        )
        assert answer["ExecutedVersion"] == "1" and json.loads(answer["Payload"].read())["ok"] is True
        # a state machine started over HTTP runs its Lambda task inside the server process
        sfn = client("stepfunctions")
        execution = sfn.start_execution(
            stateMachineArn=outputs["DeployStateMachineArn"], input=json.dumps({"function_name": "orders-api"})
        )["executionArn"]
        # `local serve` runs on a clock scaled from real time, a person watching: poll while it lives
        while (status := sfn.describe_execution(executionArn=execution)["status"]) == "RUNNING":
            assert server.is_alive(), out.getvalue()
            stop.wait(0.05)
        assert status == "SUCCEEDED"
        assert f"Rollgate local runtime on {endpoint}" in out.getvalue()
    finally:
        stop.set()
        server.join(timeout=30)
    assert not server.is_alive()
