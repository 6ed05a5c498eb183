"""The `rollgate` command against the local runtime: exit codes are the contract CI scripts use."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rollgate_cli.main import run
from rollgate_local.sample_app import build_zip
from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def rollgate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def zips(tmp_path: Path) -> dict[str, str]:
    paths = {}
    for build in ("v2", "v3"):
        path = tmp_path / f"orders-{build}.zip"
        path.write_bytes(build_zip(build))
        paths[build] = str(path)
    return paths


def bucket_keys(harness: Harness) -> list[str]:
    listed = harness.client("s3").list_objects_v2(Bucket=harness.outputs["ArtifactBucketName"])
    return [o["Key"] for o in listed.get("Contents", [])]


def test_bad_strategy_is_exit_2_and_nothing_is_uploaded(harness: Harness, zips: dict[str, str]) -> None:
    code, _, err = rollgate("deploy", "--function", "orders-api", "--zip", zips["v2"], "--strategy", "canary:0:300")
    assert code == 2
    assert "strategy" in err
    assert bucket_keys(harness) == []


def test_missing_zip_is_exit_2(harness: Harness) -> None:
    code, _, err = rollgate("deploy", "--function", "orders-api", "--zip", "/nonexistent.zip")
    assert code == 2 and "no such file" in err


def test_deploy_watch_promotes_with_exit_0_and_shows_the_gates(harness: Harness, zips: dict[str, str]) -> None:
    code, out, _ = rollgate(
        "deploy",
        "--function",
        "orders-api",
        "--zip",
        zips["v2"],
        "--strategy",
        "canary:20:120",
        "--smoke-payload",
        '{"order_id": "smoke", "items": [{"sku": "sku-apple", "qty": 1}]}',
        "--watch-seconds",
        "60",
        "--watch",
        "--poll-seconds",
        "5",
    )
    assert code == 0, out
    for gate in ("Preflight", "CheckUpdate", "PublishVersion", "SmokeTest", "ShiftTraffic", "JudgeCanary", "Record"):
        assert gate in out
    assert "PROMOTED" in out.splitlines()[-1]
    code, out, _ = rollgate("history", "--function", "orders-api")
    assert code == 0 and "PROMOTED" in out and "v1 -> v2" in out
    code, out, _ = rollgate("status", "--function", "orders-api")
    assert code == 0 and "routes 100% v2" in out and "no deployment in progress" in out


def test_rolled_back_release_is_exit_1_for_deploy_and_watch(harness: Harness, zips: dict[str, str]) -> None:
    code, out, _ = rollgate(
        "deploy",
        "--function",
        "orders-api",
        "--zip",
        zips["v3"],
        "--strategy",
        "canary:20:180",
        "--watch",
        "--poll-seconds",
        "5",
    )
    assert code == 1
    assert "ROLLED_BACK" in out.splitlines()[-1]
    assert "✓ Rollback        restored v1 (verified)" in out and "✗ JudgeCanary" in out
    execution = next(line.split()[-1] for line in out.splitlines() if line.startswith("started "))
    # watched again, for a script: one JSON document, the gates on stderr, the same exit code
    code, out, err = rollgate("watch", execution, "--poll-seconds", "5", "--output", "json")
    document = json.loads(out)
    assert code == 1 and document["exit_code"] == 1 and document["outcome"] == "ROLLED_BACK"
    assert document["succeeded"] is False and document["result"]["to_version"] == "2"
    marks = {gate["state"]: gate["ok"] for gate in document["gates"]}
    assert marks["Rollback"] is True and marks["JudgeCanary"] is False  # the verdict is the failure
    assert "Rollback" in err


def test_json_output_of_an_all_at_once_deploy_status_and_history(harness: Harness, zips: dict[str, str]) -> None:
    code, out, err = rollgate(
        "deploy",
        "--function",
        "orders-api",
        "--zip",
        zips["v2"],
        "--strategy",
        "all-at-once",
        "--watch-seconds",
        "0",
        "--watch",
        "--poll-seconds",
        "5",
        "--output",
        "json",
    )
    document = json.loads(out)
    assert code == 0 and document["command"] == "deploy" and document["error"] is None, err
    assert document["outcome"] == "PROMOTED" and document["verification"] == "unwatched"
    # the reason says what ran: no canary, no watch
    assert "without a watch" in document["reason"] and "no canary" in document["reason"]
    assert "healthy canary" not in document["reason"]
    assert err.startswith("started ") and "Record" in err
    code, out, _ = rollgate("status", "--function", "orders-api", "--output", "json")
    status = json.loads(out)
    assert code == 0 and status["routes"] == "100% v2" and status["lease"] is None
    assert status["last_deployment"]["status"] == "PROMOTED"
    code, out, _ = rollgate("history", "--function", "orders-api", "--output", "json")
    [record] = json.loads(out)["records"]
    assert code == 0 and (record["from_version"], record["to_version"], record["kind"]) == ("1", "2", "deployment")


def test_watch_of_an_execution_that_does_not_exist_is_exit_2(harness: Harness) -> None:
    machine = harness.outputs["DeployStateMachineArn"]
    missing = machine.replace(":stateMachine:", ":execution:") + ":no-such-execution"
    code, out, err = rollgate("watch", missing, "--output", "json")
    assert code == 2 and json.loads(out)["error"]["name"] == "UsageError"
    assert "EXECUTION: no execution" in err


def test_a_bad_manifest_is_exit_2_naming_the_field_and_starts_nothing(harness: Harness, tmp_path: Path) -> None:
    manifest = tmp_path / "release.json"
    manifest.write_text('{"application": "shop", "waves": [{"functions": [{"function_name": "orders-api"}]}]}')
    code, _, err = rollgate("release", "--manifest", str(manifest))
    assert code == 2
    assert "manifest.waves.0.functions.0.artifact: required field is missing" in err
    sfn = harness.client("stepfunctions")
    assert sfn.list_executions(stateMachineArn=harness.outputs["ReleaseStateMachineArn"])["executions"] == []


def test_rollback_watch_is_exit_0_and_history_shows_the_remediation(harness: Harness) -> None:
    assert harness.run(harness.request("v2"), "deploy-v2-then-cli-rollback").succeeded
    code, out, _ = rollgate(
        "rollback", "--function", "orders-api", "--reason", "support says so", "--watch", "--poll-seconds", "5"
    )
    assert code == 0, out
    assert "ROLLED_BACK" in out and harness.alias() == ("1", {})
    code, out, _ = rollgate("history", "--function", "orders-api")
    assert code == 0
    first_row = out.splitlines()[2]
    assert "remediation" in first_row and "manual" in first_row and "v2 -> v1" in first_row
