"""`rollgate release` and `rollgate rollback`: start the Release or Remediate workflow.

Both validate their input locally with the models the workflows use, so a typo in a manifest is
reported (naming the field) before anything starts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.session import Connection, UsageError
from rollgate.domain.manifest import parse_manifest
from rollgate.domain.models import parse_model
from rollgate.domain.release import ReleaseRequest
from rollgate.domain.remediation import ManualRollback


def read_manifest(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"--manifest: cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"--manifest: {path} is not JSON ({error})") from None
    parse_manifest(data)  # InvalidRequest naming the field: exit 2, nothing started
    return data


def start_release(
    conn: Connection, *, manifest_path: str | None, bucket: str | None, key: str | None, requested_by: str | None
) -> str:
    if bool(manifest_path) == bool(key):
        raise UsageError("give --manifest FILE (inline) or --s3-key KEY (a manifest already uploaded), not both")
    body: dict[str, Any] = {"source": {"trigger": "cli", **({"requested_by": requested_by} if requested_by else {})}}
    if manifest_path:
        manifest = read_manifest(manifest_path)
        body["manifest"] = manifest
    else:
        body["manifest_location"] = {"bucket": bucket or conn.outputs().artifact_bucket, "key": key}
    parse_model(ReleaseRequest, body)
    arn = conn.outputs().require("release_state_machine_arn", "ReleaseStateMachineArn", conn.stack)
    # no execution name: an operator may rerun the same manifest (triggers name theirs, for dedupe)
    return str(
        conn.client("stepfunctions").start_execution(stateMachineArn=arn, input=json.dumps(body))["executionArn"]
    )


def rollback_request(
    *, function: str, alias: str, reason: str, requested_by: str | None, lookback_minutes: int | None
) -> dict[str, Any]:
    """The Remediate input for a manual rollback, validated (InvalidRequest naming the field) before
    anything is read or changed."""
    body: dict[str, Any] = {"function_name": function, "alias": alias, "reason": reason}
    if requested_by:
        body["requested_by"] = requested_by
    if lookback_minutes is not None:
        body["lookback_minutes"] = lookback_minutes
    parse_model(ManualRollback, body)
    return body


def start_rollback(conn: Connection, body: dict[str, Any]) -> str:
    """Start Remediate with a body from `rollback_request`."""
    arn = conn.outputs().require("remediate_state_machine_arn", "RemediateStateMachineArn", conn.stack)
    return str(
        conn.client("stepfunctions").start_execution(stateMachineArn=arn, input=json.dumps(body))["executionArn"]
    )
