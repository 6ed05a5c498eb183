"""A stand-in for the CLI's `Connection`: the stack's outputs without CloudFormation, and clients
that record every call instead of reaching AWS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_cli import main as cli_main
from rollgate_cli.session import StackOutputs


class RecordingConnection:
    """The stack in 123456789012 / us-east-1; every AWS call is recorded with its arguments, none
    reaches AWS (each answers as StartExecution would)."""

    stack = "Rollgate"

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call_names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def outputs(self) -> StackOutputs:
        return StackOutputs(
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Deploy",
            ledger_table="ledger",
            artifact_bucket="rollgate-artifacts-123456789012",
            event_bus="bus",
            release_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Release",
        )

    def client(self, service: str) -> Any:
        calls = self.calls

        class Client:
            def __getattr__(self, name: str) -> Any:
                def call(**kwargs: Any) -> dict[str, Any]:
                    calls.append((name, kwargs))
                    return {"executionArn": "arn:aws:states:us-east-1:123456789012:execution:Deploy:x"}

                return call

        return Client()


def install_recording_connection(monkeypatch: pytest.MonkeyPatch) -> RecordingConnection:
    """Every command run in the test connects to this recorder instead of a real stack."""
    conn = RecordingConnection()
    monkeypatch.setattr(cli_main.Connection, "from_args", staticmethod(lambda args: conn))
    return conn


# --------------------------------------------------------------------------- a scripted execution
DEPLOY_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Deploy"
RELEASE_MACHINE = "arn:aws:states:us-east-1:123456789012:stateMachine:Release"
DEPLOY_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Deploy:orders-api-live-1"
RELEASE_EXECUTION = "arn:aws:states:us-east-1:123456789012:execution:Release:shop-1"


class HistoryBuilder:
    """Step Functions history events, numbered from 1 as the service numbers them."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def _add(self, kind: str, **details: Any) -> None:
        self.events.append({"id": len(self.events) + 1, "type": kind, **details})

    def entered(self, state: str) -> HistoryBuilder:
        self._add("TaskStateEntered", stateEnteredEventDetails={"name": state})
        return self

    def exited(self, state: str, output: dict[str, Any]) -> HistoryBuilder:
        self._add("TaskStateExited", stateExitedEventDetails={"name": state, "output": json.dumps(output)})
        return self

    def failure(self, error: str, cause: str) -> HistoryBuilder:
        self._add("TaskFailed", taskFailedEventDetails={"error": error, "cause": cause})
        return self

    def task(self, state: str, output: dict[str, Any]) -> HistoryBuilder:
        """A task state that completed with `output` as its state output."""
        self.entered(state)
        self._add("LambdaFunctionScheduled")
        return self.exited(state, output)

    def failed(self, state: str, error: str, cause: str, output: dict[str, Any] | None = None) -> HistoryBuilder:
        """A task state that failed; a Catch then exits it with `output` (the error at its ResultPath)."""
        return self.entered(state).failure(error, cause).exited(state, output or {"error": {"Error": error}})


class ScriptedStepFunctions:
    """DescribeExecution and GetExecutionHistory of executions that already ended, as recorded."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}

    def add(self, arn: str, history: HistoryBuilder, status: str = "SUCCEEDED", **described: Any) -> None:
        self.executions[arn] = {"history": history.events, "described": {"status": status, **described}}

    def _execution(self, arn: str) -> dict[str, Any]:
        if arn not in self.executions:
            raise ClientError(
                {"Error": {"Code": "ExecutionDoesNotExist", "Message": f"Execution Does Not Exist: '{arn}'"}},
                "DescribeExecution",
            )
        return self.executions[arn]

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return dict(self._execution(executionArn)["described"], executionArn=executionArn)

    def get_execution_history(self, executionArn: str, maxResults: int, reverseOrder: bool, **_: Any) -> dict[str, Any]:
        events = self._execution(executionArn)["history"]
        ordered = events[::-1] if reverseOrder else events
        return {"events": ordered[:maxResults]}


class ScriptedConnection(RecordingConnection):
    """The recording stack, with a Release state machine, whose Step Functions client answers for
    the executions scripted on `sfn`."""

    def __init__(self) -> None:
        super().__init__()
        self.sfn = ScriptedStepFunctions()

    def outputs(self) -> StackOutputs:
        return StackOutputs(
            state_machine_arn=DEPLOY_MACHINE,
            ledger_table="ledger",
            artifact_bucket="rollgate-artifacts-123456789012",
            event_bus="bus",
            release_state_machine_arn=RELEASE_MACHINE,
        )

    def client(self, service: str) -> Any:
        return self.sfn if service == "stepfunctions" else super().client(service)

    @property
    def sleep(self) -> Any:
        return lambda seconds: None


def install_scripted_connection(monkeypatch: pytest.MonkeyPatch) -> ScriptedConnection:
    conn = ScriptedConnection()
    monkeypatch.setattr(cli_main.Connection, "from_args", staticmethod(lambda args: conn))
    return conn
