"""`rollgate release` and `rollgate rollback`: start the Release or Remediate workflow.

Both validate their input locally with the models the workflows use, so a typo in a manifest is
reported (naming the field) before anything starts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rollgate.domain.release.manifest import parse_manifest
from rollgate.domain.release.waves import ReleaseRequest
from rollgate.domain.remediate.remediation import ManualRollback
from rollgate.domain.shared.models import parse_model
from rollgate.domain.shared.names import MAX_NAME, release_execution_name
from rollgate.domain.shared.triggers import manifest_key
from rollgate_cli.session import Connection, UsageError

_COMMIT = re.compile(r"[0-9a-f]{40}")


def read_manifest(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as error:
        raise UsageError(f"--manifest: cannot read {path}: {error.strerror}") from None
    except ValueError as error:
        raise UsageError(f"--manifest: {path} is not JSON ({error})") from None
    parse_manifest(data)  # InvalidRequest naming the field: exit 2, nothing started
    return data


def commit_release(
    *, repository: str, commit: str, branch: str | None, bucket: str, again_at: datetime | None
) -> tuple[str, dict[str, Any]]:
    """The execution name and input a push of `commit` starts (the trigger's: the same name, so a push
    that arrives too is the same release), or with `again_at` a new name, so a commit whose release
    failed can be released again (its old execution name is taken)."""
    if not _COMMIT.fullmatch(commit):
        raise UsageError(f"--commit: {commit!r} is not a full 40-character commit SHA")
    name = release_execution_name(repository, commit)
    if again_at is not None:
        suffix = f"-again-{again_at:%Y%m%dT%H%M%S}"
        name = f"{name[: MAX_NAME - len(suffix)]}{suffix}"
    source = {"trigger": "cli", "repository": repository, "commit": commit, **({"branch": branch} if branch else {})}
    return name, {"manifest_location": {"bucket": bucket, "key": manifest_key(repository, commit)}, "source": source}


def start_release(
    conn: Connection,
    *,
    manifest_path: str | None,
    bucket: str | None,
    key: str | None,
    requested_by: str | None,
    commit: str | None = None,
    repository: str | None = None,
    branch: str | None = None,
    again: bool = False,
) -> str:
    if commit is not None or again:
        return _start_commit(conn, commit, repository, branch, again, requested_by, manifest_path or key)
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


def _start_commit(
    conn: Connection,
    commit: str | None,
    repository: str | None,
    branch: str | None,
    again: bool,
    requested_by: str | None,
    other_source: str | None,
) -> str:
    if commit is None or repository is None:
        raise UsageError("--commit SHA needs --repository OWNER/NAME (and --again needs --commit)")
    if other_source:
        raise UsageError("--commit releases the manifest CI uploaded for that commit: give no --manifest or --s3-key")
    name, body = commit_release(
        repository=repository,
        commit=commit,
        branch=branch,
        bucket=conn.outputs().artifact_bucket,
        # a name, not a timing: the wall clock's second makes it new
        again_at=datetime.now(UTC) if again else None,
    )
    if requested_by:
        body["source"]["requested_by"] = requested_by
    parse_model(ReleaseRequest, body)
    arn = conn.outputs().require("release_state_machine_arn", "ReleaseStateMachineArn", conn.stack)
    sfn = conn.client("stepfunctions")
    try:
        return str(sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps(body))["executionArn"])
    except sfn.exceptions.ExecutionAlreadyExists:
        raise UsageError(
            f"--commit: {commit[:12]} of {repository} was released already (execution {name}); "
            "add --again to release it once more"
        ) from None


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
