"""`rollgate deploy`: validate the request locally, upload the artifact, start the workflow.

The request is validated with the same model the Validate task uses, before anything is uploaded,
so a typo costs nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cli.session import Connection, UsageError
from rollgate.domain.models import DeploymentRequest, Strategy
from rollgate.domain.start import parse_request

_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def code_sha256(data: bytes) -> str:
    """Lambda's CodeSha256 of a zip: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def parse_key_values(pairs: list[str], flag: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"{flag}: expected KEY=VALUE, got {pair!r}")
        result[key] = value
    return result


def build_request(
    *,
    function: str,
    alias: str,
    strategy: str,
    smoke_payloads: list[str],
    environment: list[str],
    required_environment: list[str],
    watch_seconds: int | None,
    policy_file: str | None,
    artifact: dict[str, Any],
    expected_sha: str | None,
) -> DeploymentRequest:
    smoke_tests = []
    for index, payload in enumerate(smoke_payloads, start=1):
        try:
            smoke_tests.append({"name": f"smoke-{index}", "payload": json.loads(payload)})
        except ValueError as error:
            raise UsageError(f"--smoke-payload {index}: not JSON ({error})") from None
    body: dict[str, Any] = {
        "function_name": function,
        "alias": alias,
        "artifact": artifact,
        "strategy": Strategy.parse_shorthand(strategy).model_dump(mode="json"),
        "smoke_tests": smoke_tests,
        "environment": parse_key_values(environment, "--env"),
        "required_environment": required_environment,
        "provenance": {"trigger": "cli"},
    }
    if expected_sha:
        body["expected_code_sha256"] = expected_sha
    if watch_seconds is not None:
        body["watch_seconds"] = watch_seconds
    if policy_file:
        try:
            body["health"] = json.loads(Path(policy_file).read_text())
        except (OSError, ValueError) as error:
            raise UsageError(f"--policy {policy_file}: {error}") from None
    return parse_request(body)


def execution_name(request: DeploymentRequest, sha: str, now: datetime | None = None) -> str:
    """Readable in the console and unique per attempt; at most 80 characters."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    digest = hashlib.sha256(sha.encode()).hexdigest()[:8]
    name = f"{request.function_name}-{request.alias}-{digest}-{stamp}"
    return _NAME_UNSAFE.sub("-", name)[-80:]


def upload_and_start(conn: Connection, request_builder: Any, zip_path: str) -> tuple[str, DeploymentRequest]:
    """Validate first (nothing uploaded on bad input), then upload the zip and start the workflow."""
    path = Path(zip_path)
    if not path.is_file():
        raise UsageError(f"--zip: no such file {zip_path}")
    data = path.read_bytes()
    sha = code_sha256(data)
    placeholder = {"bucket": "validation", "key": "validation.zip"}
    request_builder(artifact=placeholder, expected_sha=sha)  # raises on bad input, before any upload
    outputs = conn.outputs()
    key = f"artifacts/{path.stem}-{hashlib.sha256(data).hexdigest()[:16]}.zip"
    put = conn.client("s3").put_object(Bucket=outputs.artifact_bucket, Key=key, Body=data)
    artifact = {"bucket": outputs.artifact_bucket, "key": key}
    if put.get("VersionId"):
        artifact["version_id"] = put["VersionId"]
    request = request_builder(artifact=artifact, expected_sha=sha)
    started = conn.client("stepfunctions").start_execution(
        stateMachineArn=outputs.state_machine_arn,
        name=execution_name(request, sha),
        input=request.model_dump_json(exclude_defaults=False),
    )
    return started["executionArn"], request
