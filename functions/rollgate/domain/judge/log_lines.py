"""Lambda's own log lines, read as evidence: which invocations failed, and with what signature.

Lambda writes every invocation's output to the function's log group, one stream per execution
environment, the version in the stream's name (`2026/12/02/[7]0f1e…`), so a version's logs are
apart from the other's within seconds, minutes before its metrics are published. Every invocation
ends with a `REPORT RequestId: …` line (its duration, memory, an `Init Duration` on a cold start);
errors leave a signature: a logged `[ERROR]` line, an uncaught exception (`[ERROR] KeyError: …` and
its traceback, or the JSON format's `errorType`), `Task timed out after 3.00 seconds`, `Runtime.…`
init errors, `Process exited before completing request`. An error the code catches, logs and
answers 200 for never shows in the Errors metric: here it does.

This module is pure: it turns the events an adapter read (text or JSON log format) into a
LogSeries, with each signature normalised so one regression is one signature (exception type and
message template: numbers, ids, quoted values and timestamps stripped).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from rollgate.domain.judge.health import LogBucket, LogSeries, LogSignature

#: What an adapter asks CloudWatch Logs for (FilterLogEvents' pattern syntax): the error-class lines.
#: REPORT lines are read apart, since at high traffic they are the bulk and are sampled.
ERROR_FILTER_PATTERN = (
    '?ERROR ?Error ?Exception ?Traceback ?"Task timed out" ?"Process exited" ?"errorType" ?"level\\":\\"ERROR"'
)
REPORT_FILTER_PATTERN = '?"REPORT RequestId" ?"platform.report"'
#: At most this many characters of a signature, and of the example quoted with it.
SIGNATURE_CHARS = 120
EXAMPLE_CHARS = 300

Kind = Literal["error", "timeout", "crash"]

_REQUEST_ID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_REPORT = re.compile(rf"^REPORT RequestId: ({_REQUEST_ID})", re.ASCII)
_REPORT_STATUS = re.compile(
    rf"^REPORT RequestId: ({_REQUEST_ID}).*?\tStatus: (\w+)(?:\tError Type: (\S+))?", re.ASCII | re.DOTALL
)
_TIMEOUT = re.compile(rf"(?:({_REQUEST_ID})\s+)?Task timed out after [0-9.]+ seconds", re.ASCII)
_TEXT_ERROR = re.compile(rf"^\[ERROR\]\t[^\t]*\t({_REQUEST_ID})\t(.*)$", re.ASCII | re.DOTALL)
_UNCAUGHT = re.compile(r"^\[ERROR\] (.*)$", re.DOTALL)
_CRASH = re.compile(r"Process exited before completing request|Runtime\.[A-Za-z]+Error|signal: killed", re.ASCII)

# Normalisation: the order matters (ids before numbers, quoted values before words).
_NORMALISE = (
    (re.compile(_REQUEST_ID, re.ASCII), "<id>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[T ][0-9:.]+Z?", re.ASCII), "<time>"),
    (re.compile(r"'[^']*'|\"[^\"]*\"", re.ASCII), "'<*>'"),
    (re.compile(r"\b0x[0-9a-fA-F]+\b|\b[0-9a-fA-F]{12,}\b", re.ASCII), "<hex>"),
    # an id of letters and digits (ord-0a1b2c3d4e, cart_9f3k2): one placeholder, not a digit each
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{6,}\b", re.ASCII), "<id>"),
    (re.compile(r"\d+(?:\.\d+)?", re.ASCII), "<n>"),
    (re.compile(r"\s+"), " "),
)


@dataclass(frozen=True)
class LogEvent:
    """One event as FilterLogEvents returns it."""

    at: datetime
    stream: str
    message: str


def stream_prefix(day: datetime, version: str) -> str:
    """The stream-name prefix of one version's environments started on one day (UTC)."""
    return f"{day:%Y/%m/%d}/[{version}]"


def normalise(message: str) -> str:
    """The message template: `KeyError: 'customer'` and `KeyError: 'cart'` are one signature; so are
    two timeouts of 3.00 and 3.01 s, and two failures naming different order ids."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    for pattern, replacement in _NORMALISE:
        first = pattern.sub(replacement, first)
    return first.strip()[:SIGNATURE_CHARS]


def classify(message: str) -> tuple[Kind, str | None, str] | None:
    """(kind, request id or None, signature) for an error-class line, None for anything else."""
    text = message.rstrip("\n")
    report = _REPORT_STATUS.match(text)
    if report:
        # a REPORT line says how its invocation ended: a timeout or an error, with the request id
        request_id, status, error_type = report.groups()
        if status == "timeout":
            return "timeout", request_id, "Task timed out after <n> seconds"
        if status == "error":
            return "crash", request_id, normalise(error_type or "Runtime.Error")
        return None
    if _REPORT.match(text):
        return None
    parsed = _json(text)
    if parsed is not None:
        return _classify_json(parsed)
    timeout = _TIMEOUT.search(text)
    if timeout:
        return "timeout", timeout.group(1), "Task timed out after <n> seconds"
    logged = _TEXT_ERROR.match(text)
    if logged:
        request_id, body = logged.group(1), logged.group(2)
        return _kind_of(body), request_id, normalise(body)
    uncaught = _UNCAUGHT.match(text)
    if uncaught:
        body = uncaught.group(1)
        return _kind_of(body), None, normalise(body)
    if _CRASH.search(text):
        return "crash", None, normalise(_CRASH.search(text).group(0))  # type: ignore[union-attr]
    return None


def _kind_of(body: str) -> Kind:
    return "crash" if _CRASH.search(body) else "error"


def _json(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _classify_json(event: dict[str, Any]) -> tuple[Kind, str | None, str] | None:
    """Lambda's JSON log format: an application record with `level`, an uncaught error's
    `errorType`/`errorMessage`, or a platform record (`platform.report` with a non-success status)."""
    request_id = event.get("requestId") or event.get("record", {}).get("requestId")
    request_id = request_id if isinstance(request_id, str) else None
    if event.get("type") == "platform.report":
        status = event.get("record", {}).get("status")
        if status == "timeout":
            return "timeout", request_id, "Task timed out after <n> seconds"
        if status in ("error", "failure"):
            error_type = event.get("record", {}).get("errorType") or "Runtime.Error"
            return "crash", request_id, normalise(str(error_type))
        return None
    error_type = event.get("errorType")
    if isinstance(error_type, str):
        message = f"{error_type}: {event.get('errorMessage', '')}"
        return _kind_of(message), request_id, normalise(message)
    if str(event.get("level", "")).upper() in ("ERROR", "CRITICAL", "FATAL"):
        return "error", request_id, normalise(str(event.get("message", "")))
    return None


def is_report(message: str) -> str | None:
    """The request id of a REPORT line (text, or the JSON format's platform.report), else None."""
    match = _REPORT.match(message)
    if match:
        return match.group(1)
    parsed = _json(message)
    if parsed is not None and parsed.get("type") == "platform.report":
        request_id = parsed.get("record", {}).get("requestId")
        return request_id if isinstance(request_id, str) else ""
    return None


def signature_key(kind: str, signature: str) -> str:
    """How a signature is named in a LogBucket."""
    return f"{kind}:{signature}"


def summarise(
    version: str,
    reports: Iterable[LogEvent],
    errors: Iterable[LogEvent],
    *,
    window_end: datetime | None = None,
    note: str | None = None,
    bucket_seconds: int = 10,
) -> LogSeries:
    """One version's logs over a window: invocations from REPORT lines, failed invocations from the
    error-class lines (distinct request ids; a line without one counts alone), and the signatures
    with an example each, in total and per `bucket_seconds` stretch (by the line's time, aligned
    to the epoch as metric periods are). A signature flooding from one request id counts once."""
    buckets: dict[datetime, LogBucket] = {}

    def bucket(at: datetime) -> LogBucket:
        seconds = int(at.timestamp()) // bucket_seconds * bucket_seconds
        start = datetime.fromtimestamp(seconds, tz=at.tzinfo or UTC)
        return buckets.setdefault(start, LogBucket(start=start))

    invocations = 0
    for event in reports:
        if is_report(event.message) is not None:
            invocations += 1
            bucket(event.at).invocations += 1
    by_signature: dict[tuple[Kind, str], set[str]] = defaultdict(set)
    examples: dict[tuple[Kind, str], str] = {}
    failed: set[str] = set()
    anonymous = 0
    for event in sorted(errors, key=lambda e: e.at):
        found = classify(event.message)
        if found is None:
            continue
        kind, request_id, signature = found
        key = (kind, signature)
        examples.setdefault(key, event.message.strip()[:EXAMPLE_CHARS])
        if request_id is None:
            anonymous += 1
            request_id = f"{event.stream}@{event.at.isoformat()}#{anonymous}"
        stretch = bucket(event.at)
        if request_id not in by_signature[key]:
            stretch.signatures[signature_key(kind, signature)] = (
                stretch.signatures.get(signature_key(kind, signature), 0) + 1
            )
        if request_id not in failed:
            stretch.failed += 1
        by_signature[key].add(request_id)
        failed.add(request_id)
    signatures = [
        LogSignature(kind=kind, signature=signature, invocations=len(ids), example=examples[(kind, signature)])
        for (kind, signature), ids in sorted(by_signature.items(), key=lambda item: -len(item[1]))
    ]
    return LogSeries(
        version=version,
        invocations=invocations,
        failed_invocations=len(failed),
        signatures=signatures,
        window_end=window_end,
        note=note,
        buckets=[buckets[start] for start in sorted(buckets)],
        bucket_seconds=bucket_seconds,
    )
