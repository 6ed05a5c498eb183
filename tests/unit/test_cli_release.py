"""`rollgate deploy --image` and the release flags (configuration, provisioned concurrency, hooks,
pruning): each becomes a request field, validated before anything is started."""

from __future__ import annotations

import io
import json

import pytest

from rollgate_cli import main as cli_main
from tests.unit.cli_fakes import RecordingConnection, install_recording_connection

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders@sha256:" + "d" * 64


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> RecordingConnection:
    return install_recording_connection(monkeypatch)


def rollgate(*argv: str) -> tuple[int, str]:
    err = io.StringIO()
    return cli_main.run(list(argv), out=io.StringIO(), err=err), err.getvalue()


def test_an_image_release_starts_without_an_upload_carrying_every_flag(recorder: RecordingConnection) -> None:
    code, err = rollgate(
        "deploy",
        "--function",
        "orders-api",
        "--image",
        IMAGE,
        "--memory",
        "1024",
        "--timeout",
        "20",
        "--architecture",
        "arm64",
        "--layer",
        "arn:aws:lambda:us-east-1:123456789012:layer:deps:3",
        "--provisioned-concurrency",
        "5",
        "--pre-traffic-hook",
        "orders-deep-check",
        "--hook-timeout",
        "120",
        "--prune-keep-last",
        "15",
    )
    assert code == 0, err
    [(name, kwargs)] = recorder.calls
    assert name == "start_execution"
    request = json.loads(kwargs["input"])
    assert request["artifact"]["image_uri"] == IMAGE
    assert request["configuration"] == {
        "memory_size": 1024,
        "timeout": 20,
        "ephemeral_storage": None,
        "layers": ["arn:aws:lambda:us-east-1:123456789012:layer:deps:3"],
        "architectures": ["arm64"],
        "runtime": None,
        "handler": None,
    }
    assert request["provisioned_concurrency"]["executions"] == 5
    assert request["hooks"]["pre_traffic"] == {"function": "orders-deep-check", "timeout_seconds": 120}
    assert request["prune"]["enabled"] is True and request["prune"]["keep_last"] == 15


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--image", IMAGE, "--zip", "x.zip"], "exactly one of --zip"),
        ([], "exactly one of --zip"),
        (["--image", IMAGE.replace("@sha256:" + "d" * 64, ":latest")], "artifact.image_uri"),
        (["--image", IMAGE, "--memory", "64"], "configuration.memory_size"),
        (["--image", IMAGE, "--runtime", "python3.12"], "no runtime or handler"),
        (["--image", IMAGE, "--hook-timeout", "30"], "--hook-timeout"),
        (["--image", IMAGE, "--provisioned-concurrency", "\uff15"], "--provisioned-concurrency"),
    ],
)
def test_bad_release_flags_are_exit_2_and_start_nothing(
    recorder: RecordingConnection, argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = rollgate("deploy", "--function", "orders-api", *argv)
    assert code == 2 and named in err + capsys.readouterr().err  # argparse writes to sys.stderr
    assert recorder.calls == []


def test_prune_is_a_command_with_a_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert rollgate("prune", "--help")[0] == 0
    printed = capsys.readouterr().out
    assert "--dry-run" in printed and "--keep-last" in printed


SHA = "0123456789abcdef0123456789abcdef01234567"


def test_a_pushed_commit_is_released_by_hand_under_the_triggers_own_name(recorder: RecordingConnection) -> None:
    code, err = rollgate("release", "--commit", SHA, "--repository", "acme/shop", "--branch", "release/1.4")
    assert code == 0, err
    (call,) = [c for name, c in recorder.calls if name == "start_execution"]
    assert call["name"] == "release-acme-shop-0123456789ab"  # the push trigger's: a late push dedupes
    body = json.loads(call["input"])
    assert body["manifest_location"] == {
        "bucket": "rollgate-artifacts-123456789012",
        "key": f"releases/acme/shop/{SHA}/manifest.json",
    }
    assert body["source"] == {"trigger": "cli", "repository": "acme/shop", "commit": SHA, "branch": "release/1.4"}


def test_again_releases_a_commit_once_more_under_a_new_name(recorder: RecordingConnection) -> None:
    code, err = rollgate("release", "--commit", SHA, "--repository", "acme/shop", "--again")
    assert code == 0, err
    (call,) = [c for name, c in recorder.calls if name == "start_execution"]
    assert call["name"].startswith("release-acme-shop-0123456789ab-again-")
    assert len(call["name"]) <= 80


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--again"], "--commit SHA needs --repository"),
        (["--commit", SHA], "--commit SHA needs --repository"),
        (["--commit", "abc123", "--repository", "acme/shop"], "--commit: 'abc123' is not a full 40-character"),
        (["--commit", SHA, "--repository", "acme/shop", "--s3-key", "k"], "give no --manifest or --s3-key"),
    ],
)
def test_bad_commit_flags_are_exit_2_and_start_nothing(
    recorder: RecordingConnection, argv: list[str], named: str
) -> None:
    code, err = rollgate("release", *argv)
    assert code == 2
    assert named in err
    assert "start_execution" not in recorder.call_names()


def test_a_commit_released_already_is_exit_2_pointing_at_again(
    recorder: RecordingConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from botocore.stub import Stubber

    sfn = boto3.client("stepfunctions", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stub = Stubber(sfn)
    stub.add_client_error("start_execution", service_error_code="ExecutionAlreadyExists", http_status_code=400)
    monkeypatch.setattr(recorder, "client", lambda service: sfn)
    with stub:
        code, err = rollgate("release", "--commit", SHA, "--repository", "acme/shop")
    assert code == 2
    assert "was released already (execution release-acme-shop-0123456789ab)" in err
    assert "add --again" in err
