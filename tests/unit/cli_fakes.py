"""A stand-in for the CLI's `Connection`: the stack's outputs without CloudFormation, and clients
that record every call instead of reaching AWS."""

from __future__ import annotations

from typing import Any

import pytest

from cli import main as cli_main
from cli.session import StackOutputs


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
