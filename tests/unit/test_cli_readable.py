"""What a person reads: one line per failed child, waves from 1, a rollback that worked marked as
done, causes without stack traces or host paths, help on every flag, --version, a closed pipe."""

from __future__ import annotations

import argparse
import importlib.metadata
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rollgate_cli import main as cli_main
from rollgate_cli.progress import describe_gate, error_line, readable_cause
from tests.unit.cli_fakes import (
    DEPLOY_EXECUTION,
    RELEASE_EXECUTION,
    HistoryBuilder,
    install_scripted_connection,
)

ROOT = Path(__file__).resolve().parents[2]
REASON = "rolled back to v1: unhealthy during the canary: canary v2 errors 45/147 (31%) vs stable v1 0/237 (0%)"


def child_cause(*, input_as_text: bool = False) -> str:
    """The cause a startExecution.sync task fails with: the child's DescribeExecution, 1,000+ chars."""
    request = {
        "function_name": "payments-api",
        "alias": "live",
        "artifact": {"bucket": "rollgate-artifacts", "key": "releases/acme/shop/5f2c0e1d/payments-api.zip"},
        "health": {f"knob_{n}": n for n in range(40)},
    }
    return json.dumps(
        {
            "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:Deploy:release-shop-w1-payments-api-live",
            "StateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:Deploy",
            "Name": "release-shop-w1-payments-api-live",
            "Status": "FAILED",
            "Input": json.dumps(request) if input_as_text else request,
            "Error": "DeploymentRolledBack",
            "Cause": REASON,
            "RedriveStatus": "REDRIVABLE",
        }
    )


def watch_text(conn: Any, arn: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli_main.run(["watch", arn], out=out, err=io.StringIO())
    return code, out.getvalue()


# --------------------------------------------------------------------------- failed children, waves
@pytest.mark.parametrize("input_as_text", [False, True])
def test_a_failed_child_is_one_line_with_its_outcome_and_reason(input_as_text: bool) -> None:
    cause = child_cause(input_as_text=input_as_text)
    assert len(cause) > 1000
    line = error_line("States.TaskFailed", cause)
    assert line == f"payments-api:live ROLLED_BACK: {REASON}"


def test_a_child_that_failed_without_an_outcome_is_named_failed_with_its_error() -> None:
    cause = json.loads(child_cause())
    cause.update(Error="States.Timeout", Cause="")
    assert error_line("States.TaskFailed", json.dumps(cause)) == "payments-api:live FAILED: States.Timeout"


#: what the Map's Catch makes of a failed child: the planned item with the error at child_error
CAUGHT_CHILD = {"function_name": "payments-api", "alias": "live", "child_error": {"Error": "States.TaskFailed"}}


def release_history() -> HistoryBuilder:
    first_wave = [
        {"function_name": "inventory-api", "alias": "live", "wave": 0, "status": "PROMOTED", "reason": "v2 promoted"}
    ]
    second_wave = [
        {"function_name": "payments-api", "alias": "live", "wave": 1, "status": "ROLLED_BACK", "reason": REASON}
    ]
    return (
        HistoryBuilder()
        .task("DeployFunction", {"function_name": "inventory-api", "alias": "live", "child": {"status": "SUCCEEDED"}})
        .task("AdvanceWave", {"wave_index": 1, "next": "wave", "outcomes": first_wave})
        .failed("DeployFunction", "States.TaskFailed", child_cause(), CAUGHT_CHILD)
        .task("AdvanceWave", {"wave_index": 1, "next": "revert", "outcomes": first_wave + second_wave})
        .task(
            "RecordRelease", {"result": {"status": "ROLLED_BACK", "reason": f"payments-api:live ROLLED_BACK: {REASON}"}}
        )
    )


def test_release_watch_numbers_waves_from_1_and_names_the_failed_child(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = install_scripted_connection(monkeypatch)
    conn.sfn.add(RELEASE_EXECUTION, release_history())
    code, text = watch_text(conn, RELEASE_EXECUTION)
    assert code == 1
    lines = text.splitlines()
    assert "  ✓ DeployFunction  inventory-api:live child execution SUCCEEDED" in lines
    assert "  ✓ AdvanceWave     wave 1 done -> wave" in lines
    assert f"  ✗ DeployFunction  payments-api:live ROLLED_BACK: {REASON}" in lines
    assert "  ✓ AdvanceWave     wave 2 done -> revert" in lines
    # each wave lists its own functions only
    second = lines.index("  ✓ AdvanceWave     wave 2 done -> revert")
    assert lines[second + 1] == f"      payments-api:live ROLLED_BACK: {REASON}"
    assert "inventory-api" not in lines[second + 2]
    assert "ExecutionArn" not in text and max(len(line) for line in lines) < 300


def test_children_of_one_wave_that_end_interleaved_are_each_shown_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # given two children of one wave, running in parallel: payments-api fails while inventory-api runs
    conn = install_scripted_connection(monkeypatch)
    history = (
        HistoryBuilder()
        .entered("DeployFunction")
        .entered("DeployFunction")
        .failure("States.TaskFailed", child_cause())
        .exited("DeployFunction", CAUGHT_CHILD)
        .exited("DeployFunction", {"function_name": "inventory-api", "alias": "live", "child": {"status": "SUCCEEDED"}})
    )
    conn.sfn.add(RELEASE_EXECUTION, history, status="FAILED")
    # when the release is watched
    _, text = watch_text(conn, RELEASE_EXECUTION)
    # then the failure is shown once, and the other child's success is not lost
    gate_lines = [line for line in text.splitlines() if "DeployFunction" in line]
    assert gate_lines == [
        f"  ✗ DeployFunction  payments-api:live ROLLED_BACK: {REASON}",
        "  ✓ DeployFunction  inventory-api:live child execution SUCCEEDED",
    ]


def test_a_first_wave_that_failed_is_wave_1() -> None:
    outcomes = [{"function_name": "a", "alias": "live", "wave": 0, "status": "FAILED", "reason": "x"}]
    line, _ = describe_gate("AdvanceWave", {"wave_index": 0, "next": "done", "outcomes": outcomes})
    assert line == "wave 1 done -> done"


# --------------------------------------------------------------------------- marks
def test_a_rollback_that_restored_the_alias_is_done_and_the_verdict_is_the_failure(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    conn = install_scripted_connection(monkeypatch)
    verdict = {"check": "verdict", "ok": False, "detail": "UNHEALTHY (errors)"}
    history = (
        HistoryBuilder()
        .task("JudgeCanary", {"canary": {"next": "rollback", "evidence": [verdict]}})
        .task("Rollback", {"rollback": {"restored_version": "1", "verified": True, "smoke_passed": True}})
        .task("Record", {"result": {"status": "ROLLED_BACK", "reason": "rolled back to v1"}})
    )
    conn.sfn.add(DEPLOY_EXECUTION, history)
    code, text = watch_text(conn, DEPLOY_EXECUTION)
    assert code == 1
    assert "  ✗ JudgeCanary     UNHEALTHY (errors) -> rollback" in text
    assert "  ✓ Rollback        restored v1 (verified)" in text


def test_a_rollback_whose_restored_version_failed_its_smoke_test_is_not_done() -> None:
    from rollgate_cli.progress import gate_ok

    record = {"restored_version": "1", "verified": True, "smoke_passed": False}
    assert describe_gate("Rollback", record)[0] == "restored v1 (verified), but v1 failed its smoke test"
    assert gate_ok("Rollback", record) is False


# --------------------------------------------------------------------------- causes
LAMBDA_ERROR = json.dumps(
    {
        "errorMessage": "required environment variable(s) PAYMENTS_URL not set",
        "errorType": "PreflightFailed",
        "requestId": "c0ffee",
        "stackTrace": [
            '  File "/home/runner/work/functions/rollgate/tasks/deploy/preflight.py", line 31, in lambda_handler\n'
        ],
    }
)


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        (LAMBDA_ERROR, "PreflightFailed: required environment variable(s) PAYMENTS_URL not set"),
        (f"PreflightFailed: {LAMBDA_ERROR}", "PreflightFailed: required environment variable(s) PAYMENTS_URL not set"),
        (
            f"REJECTED InvalidRequest: {LAMBDA_ERROR}",
            "REJECTED InvalidRequest: PreflightFailed: required environment variable(s) PAYMENTS_URL not set",
        ),
        (
            "boom\nTraceback (most recent call last):\n  File \"/opt/app/x.py\", line 1\nKeyError: 'a'",
            "boom",
        ),
        ("cannot open /home/ci/build/artifacts/orders.zip: denied", "cannot open orders.zip: denied"),
        # a reason that only looks technical is left as it is
        (
            "manifest s3://bucket-1/releases/acme/shop/manifest.json: 3 function(s); v1 90% / v2 10%, 6/12 failed",
            "manifest s3://bucket-1/releases/acme/shop/manifest.json: 3 function(s); v1 90% / v2 10%, 6/12 failed",
        ),
        ('expected {"ok": true} in the response', 'expected {"ok": true} in the response'),
    ],
)
def test_causes_carry_our_error_name_and_message_only(text: str, readable: str) -> None:
    assert readable_cause(text) == readable


def test_a_task_error_line_says_the_name_once() -> None:
    assert error_line("PreflightFailed", LAMBDA_ERROR) == (
        "PreflightFailed: required environment variable(s) PAYMENTS_URL not set"
    )


# --------------------------------------------------------------------------- help, version, usage
def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += _parsers(sub)
    return found


def test_every_flag_has_help() -> None:
    missing = [
        f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
        for parser in _parsers(cli_main._parser())
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def test_every_command_but_the_local_server_takes_output_json() -> None:
    commands = [p for p in _parsers(cli_main._parser()) if p.prog.count(" ") == 1 and p.prog != "rollgate local"]
    without = [p.prog for p in commands if not any("--output" in a.option_strings for a in p._actions)]
    assert len(commands) >= 9 and without == []


def test_version_comes_from_the_package(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main.run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"rollgate {importlib.metadata.version('rollgate')}"


def test_version_falls_back_to_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    import tomllib

    def not_installed(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert cli_main.version() == expected


def test_a_limit_of_0_is_a_usage_error_naming_the_flag() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert cli_main.run(["history", "--function", "orders-api", "--limit", "0"], out=out, err=err) == 2
    assert "--limit" in err.getvalue() and "no deployments" not in out.getvalue() + err.getvalue()


# --------------------------------------------------------------------------- a closed pipe
class ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def test_watch_into_a_closed_pipe_ends_quietly(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = install_scripted_connection(monkeypatch)
    conn.sfn.add(DEPLOY_EXECUTION, HistoryBuilder().task("Record", {"result": {"status": "PROMOTED", "reason": "ok"}}))
    err = io.StringIO()
    assert cli_main.run(["watch", DEPLOY_EXECUTION], out=ClosedPipe(), err=err) == 1  # nobody saw the outcome
    assert err.getvalue() == ""


# `watch` flushes every gate line (the pipe breaks inside the command); `history` leaves its table
# buffered (the pipe breaks in the last flush, as the interpreter's would at exit)
INTO_A_PIPE = {
    "watch": """
import sys
from rollgate_cli import main as cli_main
from tests.unit.cli_fakes import DEPLOY_EXECUTION, HistoryBuilder, ScriptedConnection

conn = ScriptedConnection()
history = HistoryBuilder()
for poll in range(50):
    history.task("CheckUpdate", {"update": {"status": "InProgress", "polls": poll, "max_polls": 60}})
conn.sfn.add(DEPLOY_EXECUTION, history.task("Record", {"result": {"status": "PROMOTED", "reason": "ok"}}))
cli_main.Connection.from_args = staticmethod(lambda args: conn)
sys.argv = ["rollgate", "watch", DEPLOY_EXECUTION]
cli_main.main()
""",
    "history": """
import sys
from rollgate_cli import main as cli_main
from rollgate_cli import views
from tests.unit.cli_fakes import RecordingConnection

from rollgate.domain.shared.records import history_record

class Ledger:
    def list_deployments(self, function, alias, limit):
        return [history_record({"deployment_id": "d-1", "function_name": "orders-api", "status": "PROMOTED",
                                "reason": "ok", "alias": "live", "started_at": "2026-12-01T09:00:00",
                                "finished_at": "2026-12-01T09:10:00"})]

cli_main.Connection.from_args = staticmethod(lambda args: RecordingConnection())
views.ledger_for = lambda conn: Ledger()
sys.argv = ["rollgate", "history", "--function", "orders-api"]
cli_main.main()
""",
}


@pytest.mark.parametrize(("command", "code"), [("watch", 1), ("history", 0)])
def test_a_command_piped_into_a_reader_that_is_gone_prints_no_traceback(command: str, code: int) -> None:
    # given a pipe whose reader is already gone (as `| head -1` is once it has its line)
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        # stdout block-buffered, as it is for a pipe unless PYTHONUNBUFFERED says otherwise
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
        environment["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), str(ROOT)])
        finished = subprocess.run(
            [sys.executable, "-c", INTO_A_PIPE[command]],
            stdout=write_end,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=environment,
            check=False,
        )
    finally:
        os.close(write_end)
    # then it ends without a word on stderr; a watch cut short is not a success nobody saw
    assert finished.stderr.decode() == ""
    assert finished.returncode == code
