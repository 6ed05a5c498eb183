"""CloudWatchLogSource: one version's Lambda log lines (its streams' prefix), summarised; bounded reads.

moto's FilterLogEvents ignores logStreamNamePrefix and answers a `?term ?term` pattern with every
event: these tests therefore show what the adapter itself does (the version filter by stream name,
the classification by the domain's parser, the budget), and a stubbed client shows what it asks AWS.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from rollgate.aws.logs import CloudWatchLogSource, stream_days
from rollgate.domain.judge.log_lines import ERROR_FILTER_PATTERN, REPORT_FILTER_PATTERN
from rollgate.domain.shared.errors import ThrottledError

FUNCTION = "orders-api"
GROUP = f"/aws/lambda/{FUNCTION}"


@pytest.fixture
def logs_client(aws: None):
    return boto3.client("logs", region_name="us-east-1")


@pytest.fixture
def origin() -> datetime:
    """Yesterday's midnight (UTC) plus ten hours: moto keeps events of the last 14 days only."""
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight - timedelta(days=1) + timedelta(hours=10)


class Environment:
    """One execution environment of one version: its stream, named as Lambda names it, and the
    lines an invocation writes there."""

    def __init__(self, client: Any, version: str, started: datetime) -> None:
        self.client = client
        self.stream = f"{started:%Y/%m/%d}/[{version}]{uuid.uuid4().hex}"
        self.version = version
        self.events: list[dict[str, Any]] = []
        groups = client.describe_log_groups(logGroupNamePrefix=GROUP)["logGroups"]
        if not groups:
            client.create_log_group(logGroupName=GROUP)
        client.create_log_stream(logGroupName=GROUP, logStreamName=self.stream)

    def line(self, at: datetime, message: str) -> None:
        self.events.append({"timestamp": int(at.timestamp() * 1000), "message": message})

    def invoke(self, at: datetime, *, body: Sequence[str] = (), json_report: str | None = None) -> str:
        request = str(uuid.uuid4())
        self.line(at, f"START RequestId: {request} Version: {self.version}\n")
        stamp = at.isoformat(timespec="milliseconds").removesuffix("+00:00")
        for message in body:
            self.line(at + timedelta(milliseconds=5), message.replace("{id}", request).replace("{ts}", stamp))
        self.line(at + timedelta(milliseconds=12), f"END RequestId: {request}\n")
        if json_report is not None:
            record = {"requestId": request, "status": json_report, "metrics": {"durationMs": 3000.0}}
            report = json.dumps({"time": at.isoformat(), "type": "platform.report", "record": record})
        else:
            report = (
                f"REPORT RequestId: {request}\tDuration: 12.51 ms\tBilled Duration: 13 ms\t"
                "Memory Size: 128 MB\tMax Memory Used: 51 MB\t\n"
            )
        self.line(at + timedelta(milliseconds=13), report)
        return request

    def flush(self) -> None:
        self.client.put_log_events(logGroupName=GROUP, logStreamName=self.stream, logEvents=self.events)
        self.events = []


LOGGED = "[ERROR]\t{ts}Z\t{id}\tpayment declined for order 4411 (card ****1234)\n"
UNCAUGHT = (
    "[ERROR] KeyError: 'customer'\nTraceback (most recent call last):\n"
    '  File "/var/task/app.py", line 12, in handler\n    return event["customer"]\n'
)
TIMEOUT = "{ts}Z {id} Task timed out after 3.00 seconds\n\n"


def test_counts_invocations_failures_and_signatures_of_one_version(logs_client, origin):
    # given version 7's environment: five invocations, two logging a caught error (different order
    # ids: one signature), one uncaught KeyError, one timeout; and version 6's, with its own error
    v7 = Environment(logs_client, "7", origin)
    for second, body in enumerate([[LOGGED], [LOGGED.replace("4411", "98")], [UNCAUGHT], [TIMEOUT], ["[INFO]\tok"]]):
        v7.invoke(origin + timedelta(seconds=second), body=body)
    v7.flush()
    v6 = Environment(logs_client, "6", origin)
    v6.invoke(origin, body=["[ERROR] ValueError: bad sku\n"])
    v6.invoke(origin + timedelta(seconds=1))
    v6.flush()

    # when version 7's lines of the minute are read
    series = CloudWatchLogSource(logs_client).version_logs(
        FUNCTION, "7", origin, origin + timedelta(minutes=1), max_events=1000
    )

    # then only version 7's streams count: 5 invocations, 4 of them failed, three signatures
    assert (series.version, series.invocations, series.failed_invocations) == ("7", 5, 4)
    found = {(s.kind, s.signature): s.invocations for s in series.signatures}
    assert found == {
        ("error", "payment declined for order <n> (card ****<n>)"): 2,
        ("error", "KeyError: '<*>'"): 1,
        ("timeout", "Task timed out after <n> seconds"): 1,
    }
    assert series.window_end is None and series.note is None
    # and version 6's read has its own lines only
    other = CloudWatchLogSource(logs_client).version_logs(
        FUNCTION, "6", origin, origin + timedelta(minutes=1), max_events=1000
    )
    assert (other.invocations, other.failed_invocations) == (2, 1)
    assert [s.signature for s in other.signatures] == ["ValueError: bad sku"]


def test_the_window_is_half_open_and_a_qualified_name_reads_the_function_group(logs_client, origin):
    # given invocations at 0 s, 30 s and 60 s
    env = Environment(logs_client, "3", origin)
    for second in (0, 30, 60):
        env.invoke(origin + timedelta(seconds=second), body=[UNCAUGHT])
    env.flush()

    # when [0 s, 60 s) is read through the alias-qualified name
    series = CloudWatchLogSource(logs_client).version_logs(
        f"{FUNCTION}:live", "3", origin, origin + timedelta(seconds=60), max_events=1000
    )

    # then the invocation at 60 s belongs to the next window
    assert (series.invocations, series.failed_invocations) == (2, 2)


def test_json_log_format_platform_report_of_a_timeout_counts_once(logs_client, origin):
    # given the JSON log format: an application error record, and a timeout said by platform.report
    env = Environment(logs_client, "4", origin)
    record = json.dumps({"level": "ERROR", "message": "stock service returned 503", "requestId": "{id}"})
    env.invoke(origin, body=[record])
    env.invoke(origin + timedelta(seconds=1), json_report="timeout")
    env.invoke(origin + timedelta(seconds=2), json_report="success")
    env.flush()

    series = CloudWatchLogSource(logs_client).version_logs(
        FUNCTION, "4", origin, origin + timedelta(minutes=1), max_events=1000
    )

    # then the platform.report lines are invocations like REPORT lines, and the timeout one is a
    # failure, counted once though both reads return it (moto answers both patterns with every line)
    kinds = {(s.kind, s.signature): s.invocations for s in series.signatures}
    assert kinds == {("error", "stock service returned <n>"): 1, ("timeout", "Task timed out after <n> seconds"): 1}
    assert (series.invocations, series.failed_invocations) == (3, 2)


class Recording:
    """The logs client, with the FilterLogEvents calls it was asked recorded."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[dict[str, Any]] = []

    def filter_log_events(self, **kwargs: Any) -> Any:
        self.calls.append(dict(kwargs))
        return self.client.filter_log_events(**kwargs)


def test_a_window_across_midnight_reads_both_days_streams(logs_client, origin):
    # given an environment started before midnight that keeps serving after it, and one started after
    midnight = origin.replace(hour=0) + timedelta(days=1)
    before = Environment(logs_client, "9", midnight - timedelta(hours=2))
    before.invoke(midnight - timedelta(seconds=30), body=[UNCAUGHT])
    before.invoke(midnight + timedelta(seconds=30))
    before.flush()
    after = Environment(logs_client, "9", midnight + timedelta(seconds=10))
    after.invoke(midnight + timedelta(seconds=40), body=[UNCAUGHT])
    after.flush()
    recording = Recording(logs_client)

    # when the minute around midnight is read
    series = CloudWatchLogSource(recording).version_logs(
        FUNCTION, "9", midnight - timedelta(minutes=1), midnight + timedelta(minutes=1), max_events=1000
    )

    # then both days' streams are read (each pattern on each day's prefix), and all three counted
    prefixes = {(call["logStreamNamePrefix"], call["filterPattern"]) for call in recording.calls}
    day_before, day = f"{midnight - timedelta(days=1):%Y/%m/%d}/[9]", f"{midnight:%Y/%m/%d}/[9]"
    assert prefixes == {
        (p, pattern) for p in (day_before, day) for pattern in (ERROR_FILTER_PATTERN, REPORT_FILTER_PATTERN)
    }
    assert (series.invocations, series.failed_invocations) == (3, 2)


def test_a_window_early_in_the_day_also_reads_yesterdays_streams_and_no_more(origin):
    # an environment started yesterday evening still writes to yesterday's stream this morning
    morning = origin.replace(hour=3)
    assert stream_days(morning, morning + timedelta(minutes=5)) == [
        (morning - timedelta(days=1)).replace(hour=0),
        morning.replace(hour=0),
    ]
    afternoon = origin.replace(hour=15)
    assert stream_days(afternoon, afternoon + timedelta(minutes=5)) == [afternoon.replace(hour=0)]


def test_a_read_cut_by_max_events_counts_both_kinds_up_to_the_cut_and_says_so(logs_client, origin):
    # given 300 invocations, one a second, every third logging an uncaught error
    env = Environment(logs_client, "5", origin)
    reports: list[datetime] = []
    failed: list[datetime] = []
    for second in range(300):
        at = origin + timedelta(seconds=second)
        env.invoke(at, body=[UNCAUGHT] if second % 3 == 0 else [])
        reports.append(at + timedelta(milliseconds=13))
        if second % 3 == 0:
            failed.append(at + timedelta(milliseconds=5))
    env.flush()

    # when read with a budget of 100 events a read
    series = CloudWatchLogSource(logs_client, page_size=40).version_logs(
        FUNCTION, "5", origin, origin + timedelta(minutes=10), max_events=100
    )

    # then the read stops early, and what is counted lies before that instant, REPORT and errors alike
    assert series.window_end is not None and origin < series.window_end < origin + timedelta(minutes=5)
    assert series.invocations == sum(1 for at in reports if at < series.window_end) > 0
    assert series.failed_invocations == sum(1 for at in failed if at < series.window_end) > 0
    assert series.note is not None and "log_max_events" in series.note and "100" in series.note


def test_pages_are_followed_to_the_end_within_the_budget(logs_client, origin):
    env = Environment(logs_client, "2", origin)
    for second in range(25):
        env.invoke(origin + timedelta(seconds=second), body=[UNCAUGHT])
    env.flush()

    # a page of 7 events: 100 events of each read need 15 pages
    series = CloudWatchLogSource(logs_client, page_size=7).version_logs(
        FUNCTION, "2", origin, origin + timedelta(minutes=1), max_events=1000
    )

    assert (series.invocations, series.failed_invocations, series.window_end) == (25, 25, None)


def test_a_function_that_never_logged_has_an_empty_series(logs_client, origin):
    # given no log group at all (the function was never invoked)
    series = CloudWatchLogSource(logs_client).version_logs(
        FUNCTION, "1", origin, origin + timedelta(minutes=1), max_events=1000
    )

    assert (series.invocations, series.failed_invocations, series.signatures) == (0, 0, [])


# --------------------------------------------------------------------------- what AWS is asked


def _page(events: list[tuple[datetime, str]], token: str | None, stream: str) -> dict[str, Any]:
    page: dict[str, Any] = {
        "events": [
            {"logStreamName": stream, "timestamp": int(at.timestamp() * 1000), "message": m, "eventId": f"e{i}{m[:3]}"}
            for i, (at, m) in enumerate(events)
        ]
    }
    if token:
        page["nextToken"] = token
    return page


def _report(request: str) -> str:
    return f"REPORT RequestId: {request}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"


def test_stubbed_reads_follow_empty_pages_and_stop_at_the_page_budget(logs_client):
    # given AWS answering the REPORT read with an event, then empty pages with a token (it is still
    # searching), and the error read with nothing
    start = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    stream = "2026/12/02/[8]0123456789abcdef0123456789abcdef"
    request = "6f1c2a3b-1111-4222-8333-944455556666"
    expected = {
        "logGroupName": GROUP,
        "logStreamNamePrefix": "2026/12/02/[8]",
        "startTime": int(start.timestamp() * 1000),
        "endTime": int(start.timestamp() * 1000) + 60_000 - 1,
        "filterPattern": REPORT_FILTER_PATTERN,
        "interleaved": True,
        "limit": 500,
    }
    with Stubber(logs_client) as stub:
        stub.add_response("filter_log_events", _page([(start, _report(request))], "t1", stream), expected)
        # the budget left is asked for on the next page
        following = {**expected, "limit": 499}
        stub.add_response("filter_log_events", _page([], "t2", stream), {**following, "nextToken": "t1"})
        stub.add_response("filter_log_events", _page([], "t3", stream), {**following, "nextToken": "t2"})
        errors = {**expected, "filterPattern": ERROR_FILTER_PATTERN}
        stub.add_response("filter_log_events", _page([], None, stream), errors)

        series = CloudWatchLogSource(logs_client, max_pages=3).version_logs(
            f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION}:live",
            "8",
            start,
            start + timedelta(minutes=1),
            max_events=500,
        )
        stub.assert_no_pending_responses()

    # then the read stopped at the page budget, at the last event it saw
    assert series.window_end == start
    assert series.note is not None and "3 pages" in series.note


def test_stubbed_throttling_is_a_throttled_error_naming_the_call(logs_client):
    start = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    with Stubber(logs_client) as stub:
        stub.add_client_error("filter_log_events", "ThrottlingException", "Rate exceeded", 400)
        with pytest.raises(ThrottledError, match=r"logs:FilterLogEvents /aws/lambda/orders-api 2026/12/02/\[8\]"):
            CloudWatchLogSource(logs_client).version_logs(
                FUNCTION, "8", start, start + timedelta(minutes=1), max_events=500
            )


def test_stubbed_access_denied_stays_itself(logs_client):
    # an IAM gap must stay visible as itself, not read as "no logs"
    from botocore.exceptions import ClientError

    start = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
    with Stubber(logs_client) as stub:
        stub.add_client_error("filter_log_events", "AccessDeniedException", "not authorized", 400)
        with pytest.raises(ClientError, match="AccessDenied"):
            CloudWatchLogSource(logs_client).version_logs(
                FUNCTION, "8", start, start + timedelta(minutes=1), max_events=500
            )
