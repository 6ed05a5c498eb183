"""Task tokens on the local runtime, as AWS runs them: a `lambda:invoke.waitForTaskToken` state
waits (on the virtual clock) for SendTaskSuccess / SendTaskFailure, with the cause AWS gives the
Catch (rollgate_local/task_tokens.py), or ends with States.Timeout after TimeoutSecondsPath; a token
answered twice is InvalidToken."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_local import task_tokens
from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import smoke_payload

DEFINITION = {
    "StartAt": "Ask",
    "States": {
        "Ask": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
            "Parameters": {"FunctionName": "orders-api", "Payload": {"token.$": "$$.Task.Token", **smoke_payload()}},
            "TimeoutSecondsPath": "$.timeout",
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timed_out", "Next": "TimedOut"},
                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failed", "Next": "Failed"},
            ],
            "ResultPath": "$.answer",
            "End": True,
        },
        "TimedOut": {"Type": "Pass", "End": True},
        "Failed": {"Type": "Pass", "End": True},
    },
}


def test_the_patched_moto_code_is_the_code_the_patch_was_written_for() -> None:
    assert task_tokens.problems() == []


@pytest.fixture
def machine() -> Iterator[tuple[LocalRuntime, Any, str]]:
    with LocalRuntime(seed=3) as runtime:
        runtime.sample_app(function_name="orders-api", alias="live")
        sfn = runtime.client("stepfunctions")
        role = runtime.client("iam").create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = sfn.create_state_machine(name="tokens", definition=json.dumps(DEFINITION), roleArn=role)
        yield runtime, sfn, arn["stateMachineArn"]


def _start(runtime: LocalRuntime, sfn: Any, machine_arn: str, name: str, timeout: int) -> tuple[str, str]:
    execution = sfn.start_execution(stateMachineArn=machine_arn, name=name, input=json.dumps({"timeout": timeout}))
    arn = execution["executionArn"]
    for _ in range(60):
        runtime.clock.sleep(1)
        for event in sfn.get_execution_history(executionArn=arn)["events"]:
            scheduled = event.get("taskScheduledEventDetails")
            if scheduled:
                return arn, json.loads(scheduled["parameters"])["Payload"]["token"]
    raise AssertionError("the task was never scheduled")


def _ended(runtime: LocalRuntime, sfn: Any, arn: str) -> dict[str, Any]:
    for _ in range(1000):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return described
        runtime.clock.sleep(5)
    raise AssertionError("still running")


def test_send_task_success_answers_the_waiting_state_and_a_second_answer_is_invalid(machine: Any) -> None:
    runtime, sfn, machine_arn = machine
    arn, token = _start(runtime, sfn, machine_arn, "success", timeout=3600)
    runtime.clock.sleep(600)  # waiting, on the virtual clock
    assert sfn.describe_execution(executionArn=arn)["status"] == "RUNNING"
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved": True}))
    ended = _ended(runtime, sfn, arn)
    assert ended["status"] == "SUCCEEDED" and json.loads(ended["output"])["answer"] == {"approved": True}
    with pytest.raises(ClientError, match="InvalidToken"):
        sfn.send_task_success(taskToken=token, output="{}")


def test_send_task_failure_reaches_the_catch_with_its_error_and_cause(machine: Any) -> None:
    runtime, sfn, machine_arn = machine
    arn, token = _start(runtime, sfn, machine_arn, "failure", timeout=3600)
    sfn.send_task_failure(taskToken=token, error="ApprovalRejected", cause="promotion rejected by ana: not today")
    output = json.loads(_ended(runtime, sfn, arn)["output"])
    assert output["failed"] == {"Error": "ApprovalRejected", "Cause": "promotion rejected by ana: not today"}


def test_no_answer_ends_the_state_with_states_timeout_after_its_timeout_seconds_path(machine: Any) -> None:
    runtime, sfn, machine_arn = machine
    arn, _ = _start(runtime, sfn, machine_arn, "timeout", timeout=300)
    started = runtime.clock.now()
    ended = _ended(runtime, sfn, arn)
    assert json.loads(ended["output"])["timed_out"]["Error"] == "States.Timeout"
    assert 295 <= (runtime.clock.now() - started).total_seconds() <= 320
