"""`--output json` on every command: exactly one JSON document on stdout (also when the command
fails), the lines for people on stderr, the exit code unchanged; no AWS (scripted fakes)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rollgate.domain.deploy.reconcile import ReconcileReport
from rollgate.domain.shared.models import PruneReport
from rollgate.domain.shared.ports import AliasRouting, Lease
from rollgate.domain.shared.records import HistoryRecord, history_record
from rollgate_cli import main as cli_main
from rollgate_cli import prune as cli_prune
from rollgate_cli import reconcile as cli_reconcile
from rollgate_cli import views as cli_views
from rollgate_cli.session import StackOutputs
from tests.unit.cli_fakes import (
    DEPLOY_EXECUTION,
    HistoryBuilder,
    RecordingConnection,
    ScriptedConnection,
    install_recording_connection,
    install_scripted_connection,
)

ENVELOPE = {"command", "exit_code", "error"}
EXECUTION_FIELDS = {
    "execution_arn",
    "workflow",
    "watched",
    "execution_status",
    "outcome",
    "succeeded",
    "verification",
    "reason",
    "execution_error",
    "result",
    "gates",
}


def rollgate_json(*argv: str) -> tuple[int, dict[str, Any], str]:
    """Run the command in json mode: (exit code, the one document on stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    code = cli_main.run([*argv, "--output", "json"], out=out, err=err)
    document = json.loads(out.getvalue())  # one document: json.loads refuses anything after it
    assert document["exit_code"] == code and document.keys() >= ENVELOPE
    return code, document, err.getvalue()


@pytest.fixture
def good_zip(tmp_path: Path) -> str:
    import zipfile

    path = tmp_path / "build.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return str(path)


def promoted_deployment(conn: ScriptedConnection) -> None:
    history = (
        HistoryBuilder()
        .task("Validate", {"deployment_id": "d-1"})
        .task("Record", {"result": {"status": "PROMOTED", "reason": "v2 promoted", "verification": "verified"}})
    )
    conn.sfn.add(DEPLOY_EXECUTION, history)


# --------------------------------------------------------------------------- execution commands
def test_deploy_without_watch_says_which_execution_started(monkeypatch: pytest.MonkeyPatch, good_zip: str) -> None:
    install_recording_connection(monkeypatch)
    code, document, err = rollgate_json("deploy", "--function", "orders-api", "--zip", good_zip)
    assert code == 0 and document["command"] == "deploy" and document["error"] is None
    assert document.keys() >= EXECUTION_FIELDS
    assert document["execution_arn"] == "arn:aws:states:us-east-1:123456789012:execution:Deploy:x"
    assert document["workflow"] == "deploy" and document["watched"] is False and document["outcome"] is None
    assert err.startswith("started arn:")  # the line for people went to stderr


def test_watch_reports_the_conclusion_and_every_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    promoted_deployment(install_scripted_connection(monkeypatch))
    code, document, err = rollgate_json("watch", DEPLOY_EXECUTION)
    assert code == 0
    assert document["command"] == "watch" and document["watched"] is True
    assert document["execution_status"] == "SUCCEEDED" and document["outcome"] == "PROMOTED"
    assert document["succeeded"] is True and document["verification"] == "verified"
    assert document["reason"] == "v2 promoted" and document["result"]["status"] == "PROMOTED"
    assert [(g["state"], g["ok"]) for g in document["gates"]] == [("Validate", True), ("Record", True)]
    assert "✓ Record" in err and "PROMOTED: v2 promoted" in err


def test_an_unverified_promotion_is_exit_3_in_json_too(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = install_scripted_connection(monkeypatch)
    result = {"status": "PROMOTED", "reason": "v2 promoted UNVERIFIED", "verification": "unverified"}
    conn.sfn.add(DEPLOY_EXECUTION, HistoryBuilder().task("Record", {"result": result}))
    code, document, _ = rollgate_json("watch", DEPLOY_EXECUTION)
    assert code == 3 and document["succeeded"] is True and document["verification"] == "unverified"


def test_an_execution_that_failed_carries_its_error_readably(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = install_scripted_connection(monkeypatch)
    cause = json.dumps(
        {
            "errorType": "InvalidRequest",
            "errorMessage": "strategy.steps: must rise",
            "stackTrace": ['  File "/var/task/rollgate/tasks/deploy/validate.py", line 20, in lambda_handler\n'],
        }
    )
    conn.sfn.add(
        DEPLOY_EXECUTION,
        HistoryBuilder().failed("Validate", "InvalidRequest", cause),
        status="FAILED",
        error="InvalidRequest",
        cause=cause,
    )
    code, document, err = rollgate_json("watch", DEPLOY_EXECUTION)
    assert code == 1 and document["succeeded"] is False and document["outcome"] == "InvalidRequest"
    assert document["execution_error"] == {
        "name": "InvalidRequest",
        "message": "InvalidRequest: strategy.steps: must rise",
    }
    assert document["reason"] == "InvalidRequest: strategy.steps: must rise"
    assert "stackTrace" not in err and "/var/task" not in err
    assert err.splitlines()[-1] == "InvalidRequest: strategy.steps: must rise"  # the name said once


def test_rollback_reports_what_it_took_over(monkeypatch: pytest.MonkeyPatch) -> None:
    install_recording_connection(monkeypatch)
    monkeypatch.setattr(
        cli_reconcile, "take_over_before_rollback", lambda conn, *, function, alias, out: ["alias back on v1"]
    )
    monkeypatch.setattr(
        RecordingConnection,
        "outputs",
        lambda self: StackOutputs(
            state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Deploy",
            ledger_table="ledger",
            artifact_bucket="b",
            event_bus="bus",
            remediate_state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:Remediate",
        ),
    )
    code, document, _ = rollgate_json("rollback", "--function", "orders-api")
    assert code == 0 and document["command"] == "rollback"
    assert document["took_over"] == ["alias back on v1"] and document["watched"] is False


def test_release_reports_the_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = install_scripted_connection(monkeypatch)
    conn.sfn.start_execution = lambda **kwargs: {  # type: ignore[attr-defined]
        "executionArn": "arn:aws:states:us-east-1:123456789012:execution:Release:shop-1"
    }
    manifest = Path(__file__).parents[1] / "events" / "release_manifest.json"
    code, document, _ = rollgate_json("release", "--manifest", str(manifest))
    assert code == 0 and document["workflow"] == "release" and document["watched"] is False


# --------------------------------------------------------------------------- errors: still one document
def test_a_usage_error_is_a_document_with_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    install_recording_connection(monkeypatch)
    code, document, err = rollgate_json("deploy", "--function", "orders-api", "--zip", str(tmp_path / "none.zip"))
    assert code == 2 and document["error"]["name"] == "UsageError" and "--zip" in document["error"]["message"]
    assert err.startswith("rollgate: --zip")


def test_an_argument_error_is_a_document_naming_the_flag() -> None:
    code, document, err = rollgate_json("history", "--function", "orders-api", "--limit", "0")
    assert code == 2 and document["command"] == "history"
    assert "--limit" in document["error"]["message"] and "--limit" in err


def test_an_unknown_execution_is_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    install_scripted_connection(monkeypatch)
    code, document, err = rollgate_json("watch", DEPLOY_EXECUTION.replace("-1", "-404"))
    assert code == 2 and document["error"]["name"] == "UsageError"
    assert "EXECUTION: no execution" in err


def test_an_aws_error_is_a_document_with_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    from rollgate.domain.shared.errors import ThrottledError

    install_recording_connection(monkeypatch)

    def throttled(*args: Any, **kwargs: Any) -> None:
        raise ThrottledError("lambda:GetAlias throttled")

    monkeypatch.setattr(cli_views, "print_status", throttled)
    code, document, _ = rollgate_json("status", "--function", "orders-api")
    assert code == 1 and document["error"] == {"name": "ThrottledError", "message": "lambda:GetAlias throttled"}


# --------------------------------------------------------------------------- status, history, prune, reconcile
AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
RECORD = {
    "deployment_id": "d-2",
    "function_name": "orders-api",
    "alias": "live",
    "status": "ROLLED_BACK",
    "from_version": "1",
    "to_version": "2",
    "trigger": "cli",
    "started_at": "2026-12-01T09:00:00Z",
    "finished_at": "2026-12-01T09:08:00Z",
    "reason": 'REJECTED InvalidRequest: {"errorType": "InvalidRequest", "errorMessage": "alias: bad", '
    '"stackTrace": ["  File \\"/home/ci/work/rollgate/tasks/deploy/validate.py\\", line 9"]}',
    "evidence": {"canary": []},
}


class FakeLedger:
    def list_deployments(self, function: str, alias: str | None, limit: int) -> list[HistoryRecord]:
        return [history_record(RECORD)][:limit]

    def current_lease(self, function: str, alias: str) -> Lease:
        return Lease(function, alias, "d-3", AT, AT.replace(hour=10))


class FakeLambda:
    def __init__(self, client: Any) -> None:
        pass

    def get_alias(self, function: str, alias: str) -> AliasRouting:
        return AliasRouting(alias, "1", {"2": 0.1}, "rev")


@pytest.fixture
def fake_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    install_recording_connection(monkeypatch)
    monkeypatch.setattr(cli_views, "ledger_for", lambda conn: FakeLedger())
    monkeypatch.setattr(cli_views, "Boto3LambdaApi", FakeLambda)


@pytest.mark.usefixtures("fake_ledger")
def test_status_document() -> None:
    code, document, _ = rollgate_json("status", "--function", "orders-api")
    assert code == 0 and document["function"] == "orders-api" and document["alias"] == "live"
    assert document["routing"] == {"version": "1", "additional_weights": {"2": 0.1}}
    assert document["routes"] == "v1 90% / v2 10%"
    assert document["lease"]["holder"] == "d-3" and document["lease"]["acquired_at"] == "2026-12-01T09:00:00+00:00"
    assert document["last_deployment"]["status"] == "ROLLED_BACK"


@pytest.mark.usefixtures("fake_ledger")
def test_history_document_has_readable_reasons_and_the_whole_record() -> None:
    code, document, _ = rollgate_json("history", "--function", "orders-api", "--limit", "5")
    assert code == 0 and document["limit"] == 5 and document["alias"] is None
    [entry] = document["records"]
    assert {k: entry[k] for k in ("deployment_id", "kind", "status", "from_version", "to_version")} == {
        "deployment_id": "d-2",
        "kind": "deployment",
        "status": "ROLLED_BACK",
        "from_version": "1",
        "to_version": "2",
    }
    assert entry["reason"] == "REJECTED InvalidRequest: alias: bad"
    assert entry["record"]["evidence"] == {"canary": []}


@pytest.mark.usefixtures("fake_ledger")
def test_history_text_shows_the_readable_reason() -> None:
    out = io.StringIO()
    assert cli_main.run(["history", "--function", "orders-api"], out=out, err=io.StringIO()) == 0
    assert "REJECTED InvalidRequest: alias: bad" in out.getvalue()
    assert "stackTrace" not in out.getvalue() and "/home/ci" not in out.getvalue()


def test_prune_document(monkeypatch: pytest.MonkeyPatch) -> None:
    install_recording_connection(monkeypatch)
    monkeypatch.setattr(cli_prune, "ledger_for", lambda conn: FakeLedger())
    monkeypatch.setattr(
        cli_prune, "prune_versions", lambda *a, **k: PruneReport(deleted=["3"], kept={"5": "alias live"}, at=AT)
    )
    code, document, _ = rollgate_json("prune", "orders-api", "--dry-run")
    assert code == 0 and document["dry_run"] is True
    assert document["deleted"] == ["3"] and document["kept"] == [{"version": "5", "why": "alias live"}]


@pytest.mark.parametrize(("status", "code"), [("RECONCILED", 0), ("HOLDER_RUNNING", 1)])
def test_reconcile_document(monkeypatch: pytest.MonkeyPatch, status: str, code: int) -> None:
    install_recording_connection(monkeypatch)
    cause = json.dumps({"errorType": "RollbackFailed", "errorMessage": "alias live: conflict", "stackTrace": ["x"]})
    found, did = [f"lease of d-1, execution FAILED: {cause}"], ["alias back on v1"]
    monkeypatch.setattr(
        cli_reconcile,
        "_reconcile",
        lambda conn, **k: ReconcileReport(
            function_name="orders-api", alias="live", status=status, found=found, did=did
        ),
    )
    exit_code, document, _ = rollgate_json("reconcile", "--function", "orders-api")
    assert exit_code == code and document["status"] == status
    assert document["found"] == ["lease of d-1, execution FAILED: RollbackFailed: alias live: conflict"]
    assert document["did"] == did
