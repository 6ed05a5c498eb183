"""ports.LogSource over CloudWatch Logs FilterLogEvents.

Lambda writes a function's output to the log group `/aws/lambda/<function>`, one stream per
execution environment named `YYYY/MM/DD/[<version>]<id>` (the UTC day the environment started), so
one version's lines are one stream-name prefix per day. A read is one filter pattern over one day's
prefix: the error-class lines (rollgate.domain.judge.log_lines.ERROR_FILTER_PATTERN) and, apart, the REPORT
lines (REPORT_FILTER_PATTERN), which at high traffic are the bulk and are the ones a budget cuts.

Bounded: each read follows nextToken up to `max_events` events and `max_pages` pages (FilterLogEvents
can answer empty pages with a token while it searches). A read that stops early stops at an
instant (its last event's time: the pages come in time order); every line is then counted up to
the earliest such instant only, so the REPORT lines and the error lines cover the same stretch, and
the series says so (`window_end`, `note`).

moto (the functional tests' AWS) ignores logStreamNamePrefix, and answers any pattern that starts
with `?` (the OR of terms both patterns use) with every event; AWS applies both. The stream prefix
is therefore checked here too (a no-op on AWS), and the domain's parser, not the pattern, decides
what a line is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from rollgate.aws.errors import error_code, translate_client_errors
from rollgate.aws.lambda_api import bare_function_name
from rollgate.domain.judge.health import LogSeries
from rollgate.domain.judge.log_lines import (
    ERROR_FILTER_PATTERN,
    REPORT_FILTER_PATTERN,
    LogEvent,
    classify,
    stream_prefix,
    summarise,
)

LOG_GROUP_PREFIX = "/aws/lambda/"
#: FilterLogEvents answers at most this many events a page.
PAGE_LIMIT = 10_000
#: Pages followed per read, at most (empty pages with a token count too).
MAX_PAGES = 20
#: An environment keeps writing to the stream of the day it started: Lambda recycles environments
#: "every few hours" even under steady traffic, so a window read just after midnight also reads the
#: streams of the day before. Without them the stable version's warm environments would be missing
#: and the new version's signatures would look new beside it.
ENVIRONMENT_LIFETIME = timedelta(hours=12)


def log_group_name(function_name: str) -> str:
    """`orders`, `orders:live`, or a function ARN -> `/aws/lambda/orders`."""
    return f"{LOG_GROUP_PREFIX}{bare_function_name(function_name)}"


def _millis(moment: datetime) -> int:
    if moment.tzinfo is None:  # naive datetimes are UTC throughout Rollgate
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _moment(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def stream_days(start: datetime, end: datetime, lifetime: timedelta = ENVIRONMENT_LIFETIME) -> list[datetime]:
    """The UTC days whose environments can have written in [start, end): those the window touches,
    and those an environment still alive at `start` can have started on."""
    first = _moment(_millis(start) - int(lifetime.total_seconds() * 1000)).date()
    last = _moment(max(_millis(start), _millis(end) - 1)).date()
    days = []
    day = first
    while day <= last:
        days.append(datetime(day.year, day.month, day.day, tzinfo=UTC))
        day += timedelta(days=1)
    return days


@dataclass
class LogRead:
    """What a read returned: the events in time order (each with its event id), and where a budget
    stopped it."""

    events: list[LogEvent] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    #: the read stopped early at this instant: its lines are complete before it, and only those are kept
    cut_at: datetime | None = None
    #: what stopped it, in words ("" when nothing did)
    cut_by: str = ""

    def cut(self, at: datetime, why: str) -> None:
        if self.cut_at is None or at < self.cut_at:
            self.cut_at, self.cut_by = at, why

    def add(self, other: LogRead) -> None:
        self.events.extend(other.events)
        self.ids.extend(other.ids)
        if other.cut_at is not None:
            self.cut(other.cut_at, other.cut_by)

    def before(self, cut_at: datetime | None) -> LogRead:
        """In time order, only what lies before `cut_at` (all of it when None), cut there."""
        pairs = sorted(zip(self.events, self.ids, strict=True), key=lambda pair: pair[0].at)
        kept = [pair for pair in pairs if cut_at is None or pair[0].at < cut_at]
        read = LogRead([event for event, _ in kept], [event_id for _, event_id in kept])
        if cut_at is not None:
            read.cut(cut_at, self.cut_by)
        return read


class LogGroupMissing(Exception):
    """The function's log group does not exist: it has never logged (never invoked)."""


class CloudWatchLogSource:
    """ports.LogSource over `boto3.client("logs")`; also the reader `rollgate logs` tails with."""

    def __init__(
        self,
        client: Any,
        *,
        page_size: int = PAGE_LIMIT,
        max_pages: int = MAX_PAGES,
        environment_lifetime: timedelta = ENVIRONMENT_LIFETIME,
    ) -> None:
        self._client = client
        self._page_size = max(1, min(page_size, PAGE_LIMIT))
        self._max_pages = max(1, max_pages)
        self._lifetime = environment_lifetime

    def version_logs(
        self, function_name: str, version: str, start: datetime, end: datetime, *, max_events: int
    ) -> LogSeries:
        """`version`'s REPORT and error-class lines in [start, end), summarised. A function that never
        logged (no log group) has an empty series."""
        version = str(version)
        try:
            reports = self.lines(
                function_name, version, start, end, pattern=REPORT_FILTER_PATTERN, max_events=max_events
            )
            errors = self.lines(function_name, version, start, end, pattern=ERROR_FILTER_PATTERN, max_events=max_events)
        except LogGroupMissing:
            return summarise(version, [], [])
        # both kinds are counted over the same stretch: up to the earlier cut
        both = LogRead()
        for label, read in (("REPORT", reports), ("error", errors)):
            if read.cut_at is not None:
                both.cut(read.cut_at, f"the {label} read stopped at {read.cut_by}")
        reports, errors = reports.before(both.cut_at), errors.before(both.cut_at)
        # the JSON format's platform.report of a timeout or a crash is an error line too (the error
        # pattern need not match it): read once, counted once
        seen = set(errors.ids)
        error_events = errors.events + [
            event
            for event, event_id in zip(reports.events, reports.ids, strict=True)
            if event_id not in seen and classify(event.message) is not None
        ]
        if both.cut_at is None:
            return summarise(version, reports.events, error_events)
        note = (
            f"sampled: lines up to {both.cut_at.isoformat(timespec='milliseconds')} of the window only "
            f"({both.cut_by}): {len(reports.events)} REPORT and {len(error_events)} error lines"
        )
        return summarise(version, reports.events, error_events, window_end=both.cut_at, note=note)

    def lines(
        self,
        function_name: str,
        version: str,
        start: datetime,
        end: datetime,
        *,
        pattern: str = "",
        max_events: int,
    ) -> LogRead:
        """`version`'s lines matching `pattern` ("" for all) in [start, end), in time order, at most
        `max_events` per day's streams, only those before the cut when a budget stopped a read;
        raises LogGroupMissing when the function never logged."""
        group = log_group_name(function_name)
        merged = LogRead()
        if _millis(end) <= _millis(start):
            return merged
        for day in stream_days(start, end, self._lifetime):
            merged.add(self._read(group, stream_prefix(day, str(version)), pattern, start, end, max_events))
        return merged.before(merged.cut_at)

    def _read(self, group: str, prefix: str, pattern: str, start: datetime, end: datetime, max_events: int) -> LogRead:
        """One pattern over one day's streams of the version, following nextToken within the budget."""
        read = LogRead()
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamNamePrefix": prefix,
            "startTime": _millis(start),
            "endTime": _millis(end) - 1,  # endTime is inclusive; the window is [start, end)
            "filterPattern": pattern,
            # AWS ignores it (always interleaved, in time order); moto sorts across streams only when asked
            "interleaved": True,
        }
        returned, last = 0, start
        for _ in range(self._max_pages):
            kwargs["limit"] = max(1, min(self._page_size, max_events - returned))
            page = self._filter(group, prefix, kwargs)
            for raw in page.get("events", []):
                returned += 1
                last = _moment(int(raw["timestamp"]))
                stream = str(raw.get("logStreamName", ""))
                if stream.startswith(prefix):  # moto ignores logStreamNamePrefix
                    read.events.append(LogEvent(at=last, stream=stream, message=str(raw.get("message", ""))))
                    read.ids.append(f"{stream}#{raw.get('eventId', returned)}")
            token = page.get("nextToken")
            if not token:
                return read
            if returned >= max_events:
                read.cut(last, f"log_max_events, {max_events} events a read")
                return read
            kwargs["nextToken"] = token
        read.cut(last, f"{self._max_pages} pages a read")
        return read

    def _filter(self, group: str, prefix: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        with translate_client_errors(f"logs:FilterLogEvents {group} {prefix}"):
            try:
                page: dict[str, Any] = self._client.filter_log_events(**kwargs)
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    raise LogGroupMissing(group) from None
                raise
        return page
