"""A small state machine (a 600-second Wait, a Lambda task with Retry, a Timestamp wait) runs on the
virtual clock: fifteen virtual minutes cost only its CPU work, and the interpreter's timestamps are
exactly the virtual instants its waits end at."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from rollgate_local.runtime import LocalRuntime
from tests.local.conftest import make_function

FLAKY = """
calls = {"n": 0}

class Flaky(Exception):
    pass

def handler(event, context):
    calls["n"] += 1
    if calls["n"] < 3:
        raise Flaky(f"attempt {calls['n']} failed")
    return {"attempts": calls["n"], "entered": event["entered"]}
"""


def test_wait_task_retry_and_timestamp_wait_run_on_the_virtual_clock(runtime: LocalRuntime) -> None:
    function_arn = make_function(runtime, "flaky", {"task.py": FLAKY}, "task.handler")
    definition = {
        "StartAt": "Bake",
        "States": {
            "Bake": {"Type": "Wait", "Seconds": 600, "Next": "Task"},
            "Task": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": function_arn, "Payload": {"entered.$": "$$.State.EnteredTime"}},
                "Retry": [{"ErrorEquals": ["Flaky"], "IntervalSeconds": 30, "BackoffRate": 2.0, "MaxAttempts": 3}],
                "ResultSelector": {"result.$": "$.Payload"},
                "ResultPath": "$.task",
                "Next": "Until",
            },
            "Until": {"Type": "Wait", "TimestampPath": "$.until", "End": True},
        },
    }
    sfn = runtime.client("stepfunctions")
    role = runtime.client("iam").get_role(RoleName="local-test-role")["Role"]["Arn"]
    machine = sfn.create_state_machine(name="bake", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    virtual_start = runtime.clock.now()
    until = (virtual_start + timedelta(seconds=900)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # when it runs: 600 s wait, two retries (30 s then 60 s), then wait until start + 900 s
    execution = sfn.start_execution(stateMachineArn=machine, input=json.dumps({"until": until}))["executionArn"]
    described = runtime.wait_for_execution(execution)
    # then it succeeded after three attempts
    assert described["status"] == "SUCCEEDED", described
    result = json.loads(described["output"])["task"]["result"]
    assert result["attempts"] == 3
    # and what the interpreter reports is virtual time: the task state was entered when the bake
    # ended, the execution started when it was started and ended when the last wait did
    assert datetime.fromisoformat(result["entered"]) - virtual_start == timedelta(seconds=600)
    assert described["startDate"] == virtual_start
    assert described["stopDate"] - virtual_start == timedelta(seconds=900)
    # and the test saw it end at the first poll after it did
    assert runtime.clock.now() - virtual_start == timedelta(seconds=900)
    history = sfn.get_execution_history(executionArn=execution)["events"]
    assert [e["type"] for e in history].count("TaskFailed") == 2
