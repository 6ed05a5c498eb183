"""`rollgate prune FUNCTION [--dry-run]` against moto: the table of what goes and what stays, and
only the unneeded versions deleted."""

from __future__ import annotations

import io

import pytest

from rollgate_cli import main as cli_main
from rollgate_cli.session import StackOutputs


class MotoConnection:
    stack = "Rollgate"

    def __init__(self, clients: dict[str, object], ledger_table: str) -> None:
        self._clients = clients
        self._table = ledger_table

    def outputs(self) -> StackOutputs:
        return StackOutputs(
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Deploy",
            ledger_table=self._table,
            artifact_bucket="unused",
            event_bus="unused",
        )

    def client(self, service: str) -> object:
        return self._clients[service]


@pytest.fixture
def versions(make_function, lambda_client, dynamodb_client, ledger_table, monkeypatch) -> str:
    """orders-api with versions 1-4 (each a new timeout), alias live on 4, beta on 1."""
    name = make_function(name="orders-api", publish=True)
    for timeout in (5, 6, 7):
        lambda_client.update_function_configuration(FunctionName=name, Timeout=timeout)
        lambda_client.publish_version(FunctionName=name)
    lambda_client.create_alias(FunctionName=name, Name="live", FunctionVersion="4")
    lambda_client.create_alias(FunctionName=name, Name="beta", FunctionVersion="1")
    conn = MotoConnection({"lambda": lambda_client, "dynamodb": dynamodb_client}, ledger_table)
    monkeypatch.setattr(cli_main.Connection, "from_args", staticmethod(lambda args: conn))
    return name


def published(lambda_client, name: str) -> list[str]:
    return [v["Version"] for v in lambda_client.list_versions_by_function(FunctionName=name)["Versions"]][1:]


def test_dry_run_says_what_would_go_and_deletes_nothing(versions: str, lambda_client) -> None:
    out = io.StringIO()
    code = cli_main.run(["prune", versions, "--keep-last", "1", "--dry-run"], out=out, err=io.StringIO())
    printed = out.getvalue()
    assert code == 0
    assert "would delete 2 version(s)" in printed
    assert "alias beta routes to it" in printed and "one of the newest 1" in printed
    assert published(lambda_client, versions) == ["1", "2", "3", "4"]


def test_prune_deletes_only_what_nothing_needs(versions: str, lambda_client) -> None:
    code = cli_main.run(["prune", versions, "--keep-last", "1"], out=io.StringIO(), err=io.StringIO())
    assert code == 0
    assert published(lambda_client, versions) == ["1", "4"]
