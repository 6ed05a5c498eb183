"""The command line's contract without any AWS: help, usage errors (exit 2) before anything runs."""

from __future__ import annotations

import io

import pytest

from cli import main as cli_main
from cli.deploy import build_request, execution_name
from cli.session import UsageError
from rollgate.domain.errors import InvalidRequest


def rollgate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli_main.run(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = rollgate("--help")
    printed = capsys.readouterr().out
    assert code == 0
    for command in ("deploy", "watch", "status", "history", "demo", "local"):
        assert command in printed


def test_missing_required_option_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = rollgate("deploy", "--zip", "x.zip")
    assert code == 2
    assert "--function" in capsys.readouterr().err


def test_local_serve_and_demo_default_to_the_60x_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = {}
    monkeypatch.setattr("local.server.serve", lambda port, speed: seen.update(port=port, speed=speed))
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
