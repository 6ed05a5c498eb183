"""Which workflow an EventBridge event starts, with which input, under which execution name.

Pure: the dispatcher Lambda (``rollgate.triggers.dispatch``) calls this and StartExecution. The
name is the dedupe (see ``rollgate.domain.names``): the same push, the same `Release Requested`
event or the same alarm transition always gets the same name, so it starts at most one execution.

Events understood:
    Release Branch Pushed              (source rollgate.github, from the webhook receiver)
    CodeCommit Repository State Change (source aws.codecommit)
    Release Requested                  (any source: any CI, `aws events put-events`)
    CloudWatch Alarm State Change      (source aws.cloudwatch, state ALARM)
A push names no manifest: CI uploads it to ``releases/<repository>/<commit>/manifest.json`` in the
artifacts bucket, and the Release workflow waits for it there.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rollgate.domain.names import content_name, execution_name, release_execution_name
from rollgate.domain.push import is_release_branch
from rollgate.domain.remediation import ALARM_DETAIL_TYPE

BRANCH_PUSHED = "Release Branch Pushed"
CODECOMMIT_CHANGE = "CodeCommit Repository State Change"
RELEASE_REQUESTED = "Release Requested"
_CODECOMMIT_PUSHES = frozenset({"referenceCreated", "referenceUpdated"})


@dataclass(frozen=True)
class WorkflowStart:
    workflow: Literal["release", "remediate"]
    name: str
    input: dict[str, Any]


def manifest_key(repository: str, commit: str) -> str:
    return f"releases/{repository}/{commit}/manifest.json"


def _push(provider: str, repository: str, branch: str, commit: str, *, bucket: str, **source: Any) -> WorkflowStart:
    return WorkflowStart(
        workflow="release",
        name=release_execution_name(repository, commit),
        input={
            "manifest_location": {"bucket": bucket, "key": manifest_key(repository, commit)},
            "source": {
                "trigger": provider,
                "repository": repository,
                "branch": branch,
                "commit": commit,
                **{k: v for k, v in source.items() if v},
            },
        },
    )


def start_for_event(
    event: dict[str, Any], *, artifact_bucket: str, release_branches: Sequence[str], guard_alarm_prefix: str
) -> WorkflowStart | str:
    """The workflow to start, or why the event starts nothing."""
    kind = event.get("detail-type")
    detail = event.get("detail") or {}
    if kind == BRANCH_PUSHED:
        branch = str(detail.get("branch") or "")
        if not is_release_branch(branch, release_branches):
            return f"branch {branch!r} is not a release branch ({', '.join(release_branches)})"
        return _push(
            str(detail.get("provider") or "github"),
            str(detail["repository"]),
            branch,
            str(detail["commit"]),
            bucket=artifact_bucket,
            requested_by=detail.get("pushed_by"),
            delivery_id=detail.get("delivery_id"),
        )
    if kind == CODECOMMIT_CHANGE:
        branch = str(detail.get("referenceName") or "")
        if detail.get("referenceType") != "branch" or detail.get("event") not in _CODECOMMIT_PUSHES:
            return f"CodeCommit {detail.get('event')} of a {detail.get('referenceType')} is not a push to a branch"
        if not is_release_branch(branch, release_branches):
            return f"branch {branch!r} is not a release branch ({', '.join(release_branches)})"
        return _push(
            "codecommit",
            str(detail["repositoryName"]),
            branch,
            str(detail["commitId"]),
            bucket=artifact_bucket,
            requested_by=detail.get("callerUserArn"),
        )
    if kind == RELEASE_REQUESTED:
        request = dict(detail)
        source = dict(request.get("source") or {})
        source.setdefault("trigger", "event")
        request["source"] = source
        inline = request.get("manifest")
        manifest: dict[str, Any] = inline if isinstance(inline, dict) else {}
        if source.get("repository") and source.get("commit"):
            name = release_execution_name(str(source["repository"]), str(source["commit"]))
        elif manifest.get("release_id"):
            name = execution_name("release", str(manifest["release_id"]))
        else:
            name = content_name("release", json.dumps(detail, sort_keys=True, separators=(",", ":")))
        return WorkflowStart(workflow="release", name=name, input=request)
    if kind == ALARM_DETAIL_TYPE:
        alarm = str(detail.get("alarmName") or "")
        state = detail.get("state") or {}
        if state.get("value") != "ALARM":
            return f"alarm {alarm} went to {state.get('value')}, not ALARM"
        if not alarm.startswith(guard_alarm_prefix):
            return (
                f"alarm {alarm} does not guard a managed function (its name does not start with {guard_alarm_prefix})"
            )
        return WorkflowStart(
            workflow="remediate",
            name=execution_name("remediate", alarm, str(state.get("timestamp") or event.get("time") or "")),
            input=event,
        )
    return f"no workflow starts on {kind!r} events"
