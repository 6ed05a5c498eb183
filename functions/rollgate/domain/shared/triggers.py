"""Which workflow an EventBridge event starts, with which input, under which execution name.

Pure: the dispatcher Lambda (``rollgate.triggers.dispatch``) calls this and StartExecution. The
name is the dedupe (see ``rollgate.domain.shared.names``): the same push, the same `Release Requested`
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from rollgate.domain.release.push import is_release_branch
from rollgate.domain.shared.errors import InvalidRequest
from rollgate.domain.shared.names import content_name, execution_name, release_execution_name
from rollgate.domain.shared.validation import StackHome, check_alias, check_document, check_function_name, check_text

BRANCH_PUSHED = "Release Branch Pushed"
CODECOMMIT_CHANGE = "CodeCommit Repository State Change"
RELEASE_REQUESTED = "Release Requested"
ALARM_DETAIL_TYPE = "CloudWatch Alarm State Change"
_CODECOMMIT_PUSHES = frozenset({"referenceCreated", "referenceUpdated"})
#: Alarm tags that name the function (and alias) an alarm guards, for metric-math or custom metrics.
FUNCTION_TAG = "rollgate:function"
ALIAS_TAG = "rollgate:alias"
DEFAULT_ALIAS = "live"


# --------------------------------------------------------------------------- event fields
def _object(parent: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> dict[str, Any]:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        problem = "required field is missing" if value is None else f"expected an object, got {type(value).__name__}"
        raise InvalidRequest(f"{where}: {problem}")
    return value


def _text(parent: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
    value = parent.get(key)
    if value is None or value == "":
        if required:
            raise InvalidRequest(f"{where}: required field is missing")
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{where}: expected a string, got {type(value).__name__}")
    if len(value) > 1024:
        raise InvalidRequest(f"{where}: {len(value):,} characters, over the 1,024 any name in an event may have")
    try:
        return check_text(value)
    except ValueError as error:
        raise InvalidRequest(f"{where}: {error}") from None


# --------------------------------------------------------------------------- alarm events
@dataclass(frozen=True)
class AlarmChange:
    """A `CloudWatch Alarm State Change` event, its shape checked."""

    name: str
    arn: str | None
    state: str
    reason: str
    at: str | None
    detail: dict[str, Any]


def parse_alarm_event(event: Mapping[str, Any], *, home: StackHome | None = None) -> AlarmChange:
    """The alarm change an EventBridge event reports; InvalidRequest naming the field when the event
    is malformed, or comes from another account or region than `home` (its FunctionName dimension
    would name a function there, not here)."""
    check_document(event, "")
    detail = _object(event, "detail", "detail")
    name = _text(detail, "alarmName", "detail.alarmName")
    state = _object(detail, "state", "detail.state")
    if home is not None:
        for key in ("account", "region"):
            given = event.get(key)
            if given is not None and given != getattr(home, key):
                raise InvalidRequest(
                    f"{key}: the alarm event comes from {key} {given!a}, but this Rollgate stack acts on alarms "
                    f"in {home.describe()} only"
                )
    resources = event.get("resources")
    if resources is not None and not (isinstance(resources, list) and all(isinstance(r, str) for r in resources)):
        raise InvalidRequest("resources: expected a list of alarm ARNs")
    return AlarmChange(
        name=str(name),
        arn=resources[0] if resources else None,
        state=str(_text(state, "value", "detail.state.value")),
        reason=_text(state, "reason", "detail.state.reason", required=False) or "",
        at=_text(state, "timestamp", "detail.state.timestamp", required=False),
        detail=detail,
    )


def alarm_target(
    detail: Mapping[str, Any], tags: Mapping[str, str], *, home: StackHome | None = None
) -> tuple[str, str] | None:
    """(function, alias) an alarm guards: the alarm's `rollgate:function` / `rollgate:alias` tags,
    else its FunctionName / Resource (`function:alias`) dimensions; None when it names no function.
    InvalidRequest naming the field when a name is not a function (or alias) name, or an ARN outside
    `home`."""
    function_name, alias = tags.get(FUNCTION_TAG), tags.get(ALIAS_TAG)
    where_function, where_alias = f"tags.{FUNCTION_TAG}", f"tags.{ALIAS_TAG}"
    metrics = _object(detail, "configuration", "detail.configuration", required=False).get("metrics") or []
    if not isinstance(metrics, list):
        raise InvalidRequest("detail.configuration.metrics: expected a list")
    for index, metric in enumerate(metrics):
        where = f"detail.configuration.metrics.{index}"
        if not isinstance(metric, dict):
            raise InvalidRequest(f"{where}: expected an object, got {type(metric).__name__}")
        stat = _object(metric, "metricStat", f"{where}.metricStat", required=False)
        dimensions = _object(
            _object(stat, "metric", f"{where}.metricStat.metric", required=False),
            "dimensions",
            f"{where}.metricStat.metric.dimensions",
            required=False,
        )
        where = f"{where}.metricStat.metric.dimensions"
        named = _text(dimensions, "FunctionName", f"{where}.FunctionName", required=False)
        resource = _text(dimensions, "Resource", f"{where}.Resource", required=False)
        if named and not function_name:
            function_name, where_function = named, f"{where}.FunctionName"
        if resource and ":" in resource:
            name, _, qualifier = resource.partition(":")
            if not function_name:
                function_name, where_function = name, f"{where}.Resource"
            if not alias:
                alias, where_alias = qualifier, f"{where}.Resource"
    if not function_name:
        return None
    try:
        bare = check_function_name(function_name, home)
    except ValueError as error:
        raise InvalidRequest(f"{where_function}: {error}") from None
    try:
        return bare, check_alias(alias or DEFAULT_ALIAS)
    except ValueError as error:
        raise InvalidRequest(f"{where_alias}: {error}") from None


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
    """The workflow to start, or why the event starts nothing. InvalidRequest naming the field when
    an event of a kind it knows is malformed (EventBridge retries it, then keeps it in the DLQ)."""
    if not isinstance(event, dict):
        raise InvalidRequest(f"(event): expected a JSON object, got {type(event).__name__}")
    kind = event.get("detail-type")
    if kind not in (BRANCH_PUSHED, CODECOMMIT_CHANGE, RELEASE_REQUESTED, ALARM_DETAIL_TYPE):
        return f"no workflow starts on {kind!a} events"
    check_document(event, "")
    detail = _object(event, "detail", "detail")
    if kind == BRANCH_PUSHED:
        branch = _text(detail, "branch", "detail.branch")
        if not is_release_branch(str(branch), release_branches):
            return f"branch {branch!r} is not a release branch ({', '.join(release_branches)})"
        return _push(
            _text(detail, "provider", "detail.provider", required=False) or "github",
            str(_text(detail, "repository", "detail.repository")),
            str(branch),
            str(_text(detail, "commit", "detail.commit")),
            bucket=artifact_bucket,
            requested_by=_text(detail, "pushed_by", "detail.pushed_by", required=False),
            delivery_id=_text(detail, "delivery_id", "detail.delivery_id", required=False),
        )
    if kind == CODECOMMIT_CHANGE:
        branch = _text(detail, "referenceName", "detail.referenceName", required=False) or ""
        if detail.get("referenceType") != "branch" or detail.get("event") not in _CODECOMMIT_PUSHES:
            return f"CodeCommit {detail.get('event')!a} of a {detail.get('referenceType')!a} is not a push to a branch"
        if not is_release_branch(branch, release_branches):
            return f"branch {branch!r} is not a release branch ({', '.join(release_branches)})"
        return _push(
            "codecommit",
            str(_text(detail, "repositoryName", "detail.repositoryName")),
            branch,
            str(_text(detail, "commitId", "detail.commitId")),
            bucket=artifact_bucket,
            requested_by=_text(detail, "callerUserArn", "detail.callerUserArn", required=False),
        )
    if kind == RELEASE_REQUESTED:
        request = dict(detail)
        source = dict(_object(request, "source", "detail.source", required=False))
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
    alarm = parse_alarm_event(event)
    if alarm.state != "ALARM":
        return f"alarm {alarm.name} went to {alarm.state}, not ALARM"
    if not alarm.name.startswith(guard_alarm_prefix):
        return (
            f"alarm {alarm.name} does not guard a managed function (its name does not start with {guard_alarm_prefix})"
        )
    return WorkflowStart(
        workflow="remediate",
        name=execution_name("remediate", alarm.name, str(alarm.at or event.get("time") or "")),
        input=event,
    )
