"""Function logs (30): LoggingConfig kept, the data plane's log events written with their own
ingestion times, FilterLogEvents and GetLogEvents as AWS answers them.

    put_function_log_events(account, region, log_group, log_stream, events: list[FunctionLogEvent],
                            *, oldest_ms=None)
        what Lambda's log agent writes for an invocation: the group and stream created when
        missing (retention unset), each event with its own ingestion time (hidden from reads until
        the clock reaches it); FunctionLogEvent(timestamp_ms, ingestion_ms, message); events
        before `oldest_ms` dropped now and then

Patches (what AWS does / what moto 5.2.5 does / what we change):

30. Function logs (``LambdaBackend.create_function``; ``LogStream.filter_log_events`` /
    ``get_log_events``; ``LogsResponse.filter_log_events`` / ``get_log_events``; inside 3 and 4).
    AWS keeps a function's LoggingConfig (LogFormat Text|JSON, LogGroup, ApplicationLogLevel,
    SystemLogLevel; GetFunctionConfiguration always reports LogFormat and LogGroup, default
    /aws/lambda/NAME) and writes each invocation's output to that group, one stream per execution
    environment, each event readable a few seconds after it happened (its ingestion time).
    FilterLogEvents takes logStreamNamePrefix and the filter-pattern syntax: terms (all must
    appear), "quoted phrases", ?term ?"phrase" (any of them) and -term (none of them), matched
    case-sensitively. moto drops LoggingConfig, has no data plane to write logs, returns events
    the moment they are put, ignores logStreamNamePrefix (every stream of the group is searched)
    and matches only one term list or one phrase (a pattern starting with ? or - matches every
    event). We keep LoggingConfig on the function (versions copy it) and report it; create
    /aws/lambda/NAME when a function without its own LogGroup is created; let the data plane write
    events with their own ingestion times (``put_function_log_events``); hide from FilterLogEvents
    and GetLogEvents what is not ingested at the clock's now (traffic due by then generated first);
    honour logStreamNamePrefix (InvalidParameterException with logStreamNames too, as AWS); and
    match term, phrase, ?-any and -exclusion patterns. JSON ({ $.x = ... }) and space-delimited
    ([a, b]) patterns are left to moto, which matches every event with them. Not modelled:
    subscription filters on the events the data plane writes.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rollgate_local.bridge.core import _catch_up, _clock, _patch


@dataclass(frozen=True)
class FunctionLogEvent:
    timestamp_ms: int  # when it happened (the runtime clock)
    ingestion_ms: int  # when CloudWatch Logs has it: reads before this instant do not see it
    message: str


_logs_lock = threading.Lock()  # the data plane's writes vs reads iterating a group's streams


def _logs_backend(account: str, region: str) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def _ensure_log_group(backend: Any, name: str) -> Any:
    group = backend.groups.get(name)
    if group is None:  # as Lambda creates it: no retention (never expire), no tags
        group = backend.create_log_group(name, {})
    return group


_TRIM_EVERY = 512  # appends to a stream between two looks for events older than `oldest_ms`


def put_function_log_events(
    account: str,
    region: str,
    log_group: str,
    log_stream: str,
    events: list[FunctionLogEvent],
    *,
    oldest_ms: int | None = None,
) -> None:
    """Write what an invocation logged, as Lambda's log agent does: the group and the stream made
    when missing, each event with its own ingestion time (PutLogEvents would stamp them all now).
    With `oldest_ms`, the stream's events before that instant are dropped now and then (memory
    stays bounded however long a `local serve` session runs)."""
    if not events:
        return
    from moto.logs.models import LogEvent

    backend = _logs_backend(account, region)
    with _logs_lock:
        group = _ensure_log_group(backend, log_group)
        if log_stream not in group.streams:
            group.create_log_stream(log_stream)
        stream = group.streams[log_stream]
        written = [LogEvent(e.ingestion_ms, {"timestamp": e.timestamp_ms, "message": e.message}) for e in events]
        stream.events.extend(written)
        if oldest_ms is not None and stream.upload_sequence_token % _TRIM_EVERY == 0:
            stream.events = [event for event in stream.events if event.timestamp >= oldest_ms]
        stream.stored_bytes += sum(len(e.message) for e in events)
        last = max(e.ingestion_ms for e in events)
        stream.last_ingestion_time = _dt.datetime.fromtimestamp(last / 1000, _dt.UTC).replace(tzinfo=None)
        stream.upload_sequence_token += 1


_TERM = re.compile(r'([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


class _TermPattern:
    """FilterLogEvents' term syntax: `a b` both, `"a phrase"`, `?a ?b` any of them, `-a` not a."""

    def __init__(self, pattern: str) -> None:
        self.required: list[str] = []
        self.any_of: list[str] = []
        self.excluded: list[str] = []
        for prefix, quoted, bare in _TERM.findall(pattern):
            term = re.sub(r"\\(.)", r"\1", quoted) if quoted or not bare else bare
            {"": self.required, "?": self.any_of, "-": self.excluded}[prefix].append(term)

    def matches(self, message: str) -> bool:
        return (
            all(term in message for term in self.required)
            and (not self.any_of or any(term in message for term in self.any_of))
            and not any(term in message for term in self.excluded)
        )


def _message_filter(pattern: str | None) -> Callable[[str], bool]:
    from moto.logs.utils import EventMessageFilter

    text = (pattern or "").strip()
    if not text:
        return lambda message: True
    if text[0] in "{[":  # JSON and space-delimited patterns: left to moto (matches every event)
        return EventMessageFilter(text).matches
    return _TermPattern(text).matches


def install() -> None:
    from moto.awslambda import models as lambda_models
    from moto.logs import models, responses
    from moto.logs.exceptions import InvalidParameterException

    # A function without a LoggingConfig.LogGroup gets /aws/lambda/NAME when it is created.
    original_create = lambda_models.LambdaBackend.create_function

    def create_function(self: Any, spec: dict[str, Any]) -> Any:
        fn = original_create(self, spec)
        if not (spec.get("LoggingConfig") or {}).get("LogGroup"):
            with _logs_lock:
                _ensure_log_group(_logs_backend(self.account_id, self.region_name), f"/aws/lambda/{fn.function_name}")
        return fn

    _patch(lambda_models.LambdaBackend, "create_function", create_function)

    # Reads see only what is ingested by the clock's now.
    def visible(stream: Any) -> Any:
        now_ms = int(_clock().timestamp() * 1000)
        view = copy.copy(stream)  # moto's readers use only .events of it
        view.events = [event for event in stream.events if event.ingestion_time <= now_ms]
        return view

    def stream_filter_log_events(
        self: Any, start_time: int, end_time: int, filter_pattern: str
    ) -> list[dict[str, Any]]:
        matches, now_ms = _message_filter(filter_pattern), int(_clock().timestamp() * 1000)
        found = [
            event
            for event in list(self.events)  # one pass: the time and ingestion tests before the pattern's
            if event.ingestion_time <= now_ms
            and not (start_time and event.timestamp < start_time)
            and not (end_time and event.timestamp > end_time)
            and matches(event.message)
        ]
        found.sort(key=lambda event: event.timestamp)
        return [{**event.to_filter_dict(), "logStreamName": self.log_stream_name} for event in found]

    _patch(models.LogStream, "filter_log_events", stream_filter_log_events)

    original_get_events = models.LogStream.get_log_events

    def stream_get_log_events(
        self: Any, start_time: Any, end_time: Any, limit: Any, next_token: Any, start_from_head: Any
    ) -> Any:
        return original_get_events(visible(self), start_time, end_time, limit, next_token, start_from_head)

    _patch(models.LogStream, "get_log_events", stream_get_log_events)

    # logStreamNamePrefix, traffic due by now generated first, one read at a time with the writes.
    def filter_log_events_response(self: Any) -> str:
        group_name = self._get_param("logGroupName") or str(self._get_param("logGroupIdentifier") or "").split(":")[-1]
        names = self._get_param("logStreamNames", [])
        prefix = self._get_param("logStreamNamePrefix")
        if names and prefix:
            raise InvalidParameterException(msg="Cannot specify both logStreamNames and logStreamNamePrefix")
        _catch_up()
        with _logs_lock:
            group = self.logs_backend.groups.get(group_name)
            if prefix and group is not None:
                names = [name for name in group.streams if name.startswith(prefix)]
                if not names:  # no stream has the prefix (moto would search them all)
                    return json.dumps({"events": [], "searchedLogStreams": []})
            events, next_token, searched = self.logs_backend.filter_log_events(
                group_name,
                names,
                self._get_param("startTime"),
                self._get_param("endTime"),
                self._get_param("limit"),
                self._get_param("nextToken"),
                self._get_param("filterPattern"),
                self._get_param("interleaved", False),
            )
        return json.dumps({"events": events, "nextToken": next_token, "searchedLogStreams": searched})

    _patch(responses.LogsResponse, "filter_log_events", filter_log_events_response)

    original_get_response = responses.LogsResponse.get_log_events

    def get_log_events_response(self: Any) -> str:
        _catch_up()
        with _logs_lock:
            return str(original_get_response(self))

    _patch(responses.LogsResponse, "get_log_events", get_log_events_response)


# The moto symbols these patches replace or wrap, with the parameters they rely on (checked by
# rollgate_local.bridge.verify()).
SIGNATURES: dict[str, tuple[str, ...]] = {
    "moto.awslambda.models.LambdaBackend.create_function": ("self", "spec"),
    "moto.logs.models.LogStream.filter_log_events": ("self", "start_time", "end_time", "filter_pattern"),
    "moto.logs.models.LogStream.get_log_events": (
        "self",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "start_from_head",
    ),
    "moto.logs.responses.LogsResponse.filter_log_events": ("self",),
    "moto.logs.responses.LogsResponse.get_log_events": ("self",),
    "moto.logs.models.LogGroup.filter_log_events": (
        "self",
        "log_group_name",
        "log_stream_names",
        "start_time",
        "end_time",
        "limit",
        "next_token",
        "filter_pattern",
        "interleaved",
    ),
    "moto.logs.models.LogEvent.__init__": ("self", "ingestion_time", "log_event"),
    "moto.logs.models.LogGroup.create_log_stream": ("self", "log_stream_name"),
    "moto.logs.models.LogsBackend.create_log_group": ("self", "log_group_name", "tags"),
    "moto.logs.utils.EventMessageFilter.__init__": ("self", "pattern"),
}
# Not replaced, but the patches call them or read what they set.
RELIED_ON: frozenset[str] = frozenset(
    {
        "moto.logs.models.LogGroup.filter_log_events",
        "moto.logs.models.LogEvent.__init__",
        "moto.logs.models.LogGroup.create_log_stream",
        "moto.logs.models.LogsBackend.create_log_group",
        "moto.logs.utils.EventMessageFilter.__init__",
    }
)
MODULE_ATTRIBUTES: dict[str, str] = {}
# sha256 of the source of each patched callable (and each module whose clock we swap) at the pinned
# moto: a different hash means moto changed code a patch replaces or wraps (print the current ones
# with `python -m rollgate_local.bridge`).
# fmt: off
FINGERPRINTS: dict[str, str] = {
    "moto.awslambda.models.LambdaBackend.create_function":
        "dea879c1b1bc6a0921c49e929e8eeb0b8f1b7cdecf47aa37bea89abd6eb32432",
    "moto.logs.models.LogStream.filter_log_events":
        "26285fdf86c34c85e09691b3f09b41040d796c203320ca83ecb5671474838963",
    "moto.logs.models.LogStream.get_log_events":
        "452dd48e5d2a97b8fdc0c9f1ec8a50bfe00fcba91358b888266b51ff57dd9e0d",
    "moto.logs.responses.LogsResponse.filter_log_events":
        "bcfea899647e0d0bcc81241a000b18e38fcc3962cddd171f1f1c550e88583cf9",
    "moto.logs.responses.LogsResponse.get_log_events":
        "237294eb63ff1f08cac96158727b71ddb62562153ea3923f26dff3f3f21f2550",
    "moto.logs.models.LogGroup.filter_log_events":
        "8248a53b63f0f95eb3853516fbd1c10238f8842654d1050891678813dfbbfeee",
    "moto.logs.models.LogEvent.__init__":
        "bb6367725c297f27300637939a69a9d99fd6d05e0c2dd5798b5ac4a950508459",
    "moto.logs.models.LogGroup.create_log_stream":
        "f6ef230bfbb5c9a33654bc0dbb9120d458ebf2d1131793efa794bcbd30565bde",
    "moto.logs.models.LogsBackend.create_log_group":
        "7ec171fd0d557299a92693470f5d0aaa59ebebae872781ad01a245f499d2752d",
    "moto.logs.utils.EventMessageFilter.__init__":
        "0e1ed97a67756862a265049483bf10acfb87fba5e080f848e1bdd5313884b8eb",
}
# fmt: on
