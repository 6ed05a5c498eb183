"""A small state machine (a 600-second Wait, a Lambda task with Retry, a Timestamp wait) runs on the
fast clock in a few real seconds, and the interpreter's timestamps are virtual."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from local.runtime import LocalRuntime
from tests.local.conftest import make_function

FLAKY = """
import os
calls = {"n": 0}

class Flaky(Exception):
    pass

def handler(event, context):
    calls["n"] += 1
    if calls["n"] < 3:
        raise Flaky(f"attempt {calls['n']} failed")
    return {"attempts": calls["n"], "entered": event["entered"], "clock": os.environ["ROLLGATE_CLOCK_SPEED"]}
"""


@pytest.fixture
def fast_runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(speed=400.0) as local:
        yield local


def test_wait_task_retry_and_timestamp_wait_run_on_the_fast_clock(fast_runtime: LocalRuntime) -> None:
    runtime = fast_runtime
    function_arn = make_function(runtime, "flaky", {"task.py": FLAKY}, "task.handler")
    definition = {"StartAt": "Bake", "States": {
        "Bake": {"Type": "Wait", "Seconds": 600, "Next": "Task"},
        "Task": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                 "Parameters": {"FunctionName": function_arn, "Payload": {"entered.$": "$$.State.EnteredTime"}},
                 "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 30, "BackoffRate": 2.0, "MaxAttempts": 3}],
                 "ResultSelector": {"result.$": "$.Payload"}, "ResultPath": "$.task", "Next": "Until"},
        "Until": {"Type": "Wait", "TimestampPath": "$.until", "End": True}}}
    sfn = runtime.client("stepfunctions")
    role = runtime.client("iam").get_role(RoleName="local-test-role")["Role"]["Arn"]
    machine = sfn.create_state_machine(name="bake", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    virtual_start, real_start = runtime.clock.now(), time.monotonic()
    until = (virtual_start + timedelta(seconds=900)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # when it runs: 600 s wait, two retries (30 s then 60 s), then wait until start + 900 s
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"until": until}))["executionArn"]
    described = runtime.wait_for_execution(execution, timeout=20)
    real_seconds = time.monotonic() - real_start
    # then it succeeded after three attempts, in a few real seconds for 15 virtual minutes
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])["task"]["result"]
    assert result["attempts"] == 3 and result["clock"] == "400.0"
    assert real_seconds < 6, real_seconds
    # and what the interpreter reports is virtual time: the task entered after the bake and retries
    entered = datetime.fromisoformat(result["entered"])
    assert timedelta(seconds=600) <= entered - virtual_start < timedelta(seconds=640)
    assert described["stopDate"] - described["startDate"] >= timedelta(seconds=890)
    history = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in history].count("TaskFailed") == 2
