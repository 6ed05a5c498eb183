"""Fixtures for the local runtime's own tests: a fresh LocalRuntime per test, the sample app."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgate_local.runtime import LocalRuntime
from rollgate_local.sample_app import SampleApp, build_zip

FIXTURE_STACK = Path(__file__).parent / "fixtures" / "stack"


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime(seed=7) as local:
        yield local


@pytest.fixture
def app(runtime: LocalRuntime) -> SampleApp:
    return runtime.sample_app()


def publish_build(runtime: LocalRuntime, app: SampleApp, build: str) -> str:
    """Update orders-api to `build` (no update delay) and publish it; returns the new version."""
    assert runtime.data_plane is not None
    runtime.data_plane.set_update_seconds(app.function_name, 0)
    lambda_ = runtime.client("lambda")
    lambda_.update_function_code(FunctionName=app.function_name, ZipFile=build_zip(build))
    return lambda_.publish_version(FunctionName=app.function_name, Description=build)["Version"]


def route(runtime: LocalRuntime, app: SampleApp, primary: str, weights: dict[str, float] | None = None) -> None:
    runtime.client("lambda").update_alias(
        FunctionName=app.function_name,
        Name=app.alias,
        FunctionVersion=primary,
        RoutingConfig={"AdditionalVersionWeights": weights or {}},
    )


def zip_of(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def make_function(
    runtime: LocalRuntime,
    name: str,
    files: dict[str, str],
    handler: str,
    environment: dict[str, str] | None = None,
    **extra: Any,
) -> str:
    iam = runtime.client("iam")
    try:
        role = iam.get_role(RoleName="local-test-role")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName="local-test-role", AssumeRolePolicyDocument=json.dumps({}))["Role"]["Arn"]
    return runtime.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler=handler,
        Code={"ZipFile": zip_of(files)},
        Environment={"Variables": environment or {}},
        Timeout=30,
        **extra,
    )["FunctionArn"]


def payload_of(response: dict[str, Any]) -> Any:
    return json.loads(response["Payload"].read())
