"""The command line's contract without any AWS: help, usage errors (exit 2) before anything runs."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from rollgate.domain.shared.errors import InvalidRequest
from rollgate_cli import main as cli_main
from rollgate_cli.deploy import build_request, execution_name
from rollgate_cli.session import UsageError
from tests.unit.cli_fakes import RecordingConnection, install_recording_connection


def rollgate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli_main.run(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = rollgate("--help")
    printed = capsys.readouterr().out
    assert code == 0
    for command in ("deploy", "watch", "status", "history", "demo", "local"):
        assert command in printed


def test_missing_required_option_is_exit_2() -> None:
    code, _, err = rollgate("deploy", "--zip", "x.zip")
    assert code == 2
    assert "--function" in err and err.startswith("usage: rollgate deploy")


def test_local_serve_defaults_to_a_60x_real_time_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    monkeypatch.setattr("rollgate_local.server.serve", lambda port, speed: seen.update(port=port, speed=speed))
    assert rollgate("local", "serve", "--port", "4600")[0] == 0
    assert seen == {"port": 4600, "speed": 60.0}


def builder(**overrides):
    arguments = dict(
        function="orders-api",
        alias="live",
        strategy="canary:10:300",
        smoke_payloads=[],
        environment=[],
        required_environment=[],
        watch_seconds=None,
        policy_file=None,
        artifact={"bucket": "artifacts", "key": "k.zip"},
        expected_sha=None,
    )
    arguments.update(overrides)
    return build_request(**arguments)


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"strategy": "linear:0:60"}, InvalidRequest, "strategy"),
        ({"environment": ["NOEQUALS"]}, UsageError, "--env"),
        ({"smoke_payloads": ["{not json"]}, InvalidRequest, "--smoke-payload"),
        ({"alias": "$LATEST"}, InvalidRequest, "alias"),
        ({"watch_seconds": -1}, InvalidRequest, "watch_seconds"),
    ],
)
def test_bad_input_is_named(overrides: dict, error: type[Exception], field: str) -> None:
    with pytest.raises(error, match=field.replace("$", r"\$")):
        builder(**overrides)


def test_execution_names_fit_step_functions_rules() -> None:
    request = builder(function="arn:aws:lambda:us-east-1:123456789012:function:" + "x" * 64)
    name = execution_name(request, "sha")
    assert len(name) <= 80 and all(c.isalnum() or c in "-_" for c in name)


# --------------------------------------------------------------------------- bad input changes nothing
@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch) -> RecordingConnection:
    return install_recording_connection(monkeypatch)


@pytest.fixture
def good_zip(tmp_path: Path) -> str:
    path = tmp_path / "build.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {}\n")
    return str(path)


@pytest.mark.parametrize("value", ["-1", "0", "nan", "inf", "1e999", "\uff12"])
def test_a_bad_poll_interval_is_exit_2_naming_the_flag(value: str) -> None:
    code, _, err = rollgate(
        "watch", "arn:aws:states:us-east-1:123456789012:execution:Deploy:x", "--poll-seconds", value
    )
    assert code == 2 and "--poll-seconds" in err


@pytest.mark.parametrize("url", ["http//127.0.0.1:4566", "localhost:4566", "http://h:99999", "http://[::1", ""])
def test_a_malformed_endpoint_is_exit_2_before_any_client(url: str, connection: RecordingConnection) -> None:
    code, _, err = rollgate("status", "--function", "orders-api", "--endpoint-url", url)
    assert code == 2 and err.startswith("rollgate: --endpoint-url: ")
    assert connection.call_names() == []


def test_a_zip_that_is_not_a_zip_is_never_uploaded(tmp_path: Path, connection: RecordingConnection) -> None:
    # given a "zip" that is a text file
    fake = tmp_path / "build.zip"
    fake.write_text("print('hello')")
    # when it is deployed
    code, _, err = rollgate("deploy", "--function", "orders-api", "--zip", str(fake))
    # then it is a usage error naming --zip, and nothing was uploaded or started
    assert code == 2 and err.startswith("rollgate: --zip: ") and "not a zip" in err
    assert connection.call_names() == []


def test_an_arn_of_another_account_is_refused_before_the_upload(good_zip: str, connection: RecordingConnection) -> None:
    arn = "arn:aws:lambda:us-east-1:999999999999:function:orders-api"
    code, _, err = rollgate("deploy", "--function", arn, "--zip", good_zip)
    assert code == 2 and "function_name: " in err and "999999999999" in err
    assert connection.call_names() == []


def test_a_good_deploy_uploads_then_starts(good_zip: str, connection: RecordingConnection) -> None:
    code, _, _ = rollgate("deploy", "--function", "orders-api", "--zip", good_zip)
    assert code == 0 and connection.call_names() == ["put_object", "start_execution"]
