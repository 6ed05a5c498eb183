"""`rollgate logs`: the alias's versions' lines side by side, --errors with the new signatures,
--follow on the session's clock; and `rollgate watch` naming the signatures a logs verdict found."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from rollgate_cli import main as cli_main
from rollgate_cli.progress import describe_gate
from tests.unit.cli_fakes import RecordingConnection

START = datetime(2026, 12, 2, 14, 0, tzinfo=UTC)
GROUP = "/aws/lambda/orders-api"
V7 = "2026/12/02/[7]aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
V8 = "2026/12/02/[8]bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
R1, R2, R3 = (f"{n}f1c2a3b-1111-4222-8333-944455556666" for n in "123")


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at


class FakeLogs:
    """FilterLogEvents over events held in memory: the stream prefix and the time range applied,
    the pattern not (the CLI's parser decides what an error line is), pages of `page` events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.group_exists = True
        self.page = 3

    def put(self, stream: str, at: datetime, message: str) -> None:
        stamp = int(at.timestamp() * 1000)
        self.events.append(
            {"logStreamName": stream, "timestamp": stamp, "message": message, "eventId": str(len(self.events))}
        )

    def filter_log_events(self, **kwargs: Any) -> dict[str, Any]:
        if not self.group_exists:
            error = {
                "Error": {"Code": "ResourceNotFoundException", "Message": "The specified log group does not exist."}
            }
            raise ClientError(error, "FilterLogEvents")
        assert kwargs["logGroupName"] == GROUP
        matching = sorted(
            (
                e
                for e in self.events
                if e["logStreamName"].startswith(kwargs["logStreamNamePrefix"])
                and kwargs["startTime"] <= e["timestamp"] <= kwargs["endTime"]
            ),
            key=lambda e: e["timestamp"],
        )
        first = int(kwargs.get("nextToken") or 0)
        size = min(self.page, kwargs["limit"])
        page: dict[str, Any] = {"events": matching[first : first + size]}
        if first + size < len(matching):
            page["nextToken"] = str(first + size)
        return page


class LogsConnection(RecordingConnection):
    """The recording stack, whose `orders-api:live` routes 90% to v7 and 10% to v8, and whose logs
    client is `logs`; waiting moves the clock and runs `on_wait` (Ctrl-C after `polls` waits)."""

    def __init__(self, logs: FakeLogs, clock: FakeClock) -> None:
        super().__init__()
        self.logs, self.clock = logs, clock
        self.polls = 0
        self.on_wait: Callable[[int], None] = lambda poll: None
        self.routing = {
            "Name": "live",
            "FunctionVersion": "7",
            "RoutingConfig": {"AdditionalVersionWeights": {"8": 0.1}},
        }

    def client(self, service: str) -> Any:
        if service == "logs":
            return self.logs
        routing = self.routing

        class Lambda:
            def get_alias(self, FunctionName: str, Name: str) -> dict[str, Any]:
                assert (FunctionName, Name) == ("orders-api", "live")
                return routing

        return Lambda()

    @property
    def sleep(self) -> Callable[[float], None]:
        def wait(seconds: float) -> None:
            self.polls += 1
            self.clock.at += timedelta(seconds=seconds)
            self.on_wait(self.polls)

        return wait


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    fake = FakeClock(START + timedelta(minutes=5))
    monkeypatch.setattr("rollgate.aws.clock._provider", lambda: fake)
    return fake


@pytest.fixture
def logs() -> FakeLogs:
    return FakeLogs()


@pytest.fixture
def conn(monkeypatch: pytest.MonkeyPatch, logs: FakeLogs, clock: FakeClock) -> LogsConnection:
    connection = LogsConnection(logs, clock)
    monkeypatch.setattr(cli_main.Connection, "from_args", staticmethod(lambda args: connection))
    return connection


def rollgate(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return cli_main.run(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def invocation(logs: FakeLogs, stream: str, at: datetime, request: str, *body: str) -> None:
    logs.put(stream, at, f"START RequestId: {request} Version: {stream[12]}\n")
    for line in body:
        logs.put(stream, at + timedelta(milliseconds=2), line.replace("{id}", request))
    logs.put(stream, at + timedelta(milliseconds=5), f"END RequestId: {request}\n")
    logs.put(stream, at + timedelta(milliseconds=6), f"REPORT RequestId: {request}\tDuration: 5.00 ms\t\n")


SHARED = "[ERROR]\t2026-12-02T14:01:00.000Z\t{id}\tinventory timeout for sku 42\n"
KEY_ERROR = "[ERROR] KeyError: 'customer'\nTraceback (most recent call last):\n  File \"/var/task/app.py\", line 9\n"


def canary(logs: FakeLogs) -> None:
    """v7 (stable) and v8 (the canary): both log the shared error; only v8 raises KeyError."""
    invocation(logs, V7, START + timedelta(seconds=60), R1, SHARED)
    invocation(logs, V8, START + timedelta(seconds=61), R2, SHARED.replace("42", "7"), "[INFO]\tcart loaded\n")
    invocation(logs, V8, START + timedelta(seconds=62), R3, KEY_ERROR)
    invocation(logs, V7, START + timedelta(seconds=63), R1.replace("1f", "4f"))


def test_without_a_version_the_alias_versions_are_interleaved_with_the_version_on_each_line(conn, logs) -> None:
    canary(logs)

    code, out, err = rollgate("logs", "orders-api")

    assert (code, err) == (0, "")
    lines = out.splitlines()
    # time order across both versions' streams, each line naming its version
    starts = [line for line in lines if "START RequestId" in line]
    assert [line.split()[1] for line in starts] == ["v7", "v8", "v8", "v7"]
    assert starts[0].startswith("14:01:00.000 v7  START RequestId")
    # a traceback stays under its line, indented past the time and version
    at = lines.index(next(line for line in lines if "KeyError" in line))
    assert lines[at + 1].startswith(" " * len("14:01:02.002 v8  ")) and "Traceback" in lines[at + 1]


def test_errors_shows_error_lines_only_and_the_new_signatures_of_the_newest_version(conn, logs) -> None:
    canary(logs)

    code, out, _ = rollgate("logs", "orders-api", "--errors")

    assert code == 0
    shown = [line for line in out.splitlines() if line[:2].isdigit()]
    assert len(shown) == 3 and all("[ERROR]" in line for line in shown)
    assert "v7: 1 of 2 invocations failed" in out and "v8: 2 of 2 invocations failed" in out
    summary = out[out.index("new error signatures of v8 (compared with v7):") :].splitlines()
    # the KeyError is new; the inventory timeout both versions log is not
    assert len(summary) == 2 and "KeyError: '<*>'" in summary[1] and "x1" in summary[1]
    assert "e.g. [ERROR] KeyError: 'customer'" in summary[1]


def test_one_version_with_errors_and_json_is_one_document(conn, logs) -> None:
    canary(logs)

    code, out, _ = rollgate("logs", "orders-api", "--version", "8", "--errors", "--since", "10m", "--output", "json")

    document = json.loads(out)
    assert (code, document["command"], document["exit_code"], document["versions"]) == (0, "logs", 0, ["8"])
    assert document["since"] == (START - timedelta(minutes=5)).isoformat()
    assert [line["version"] for line in document["lines"]] == ["8", "8"]
    fresh = document["new_error_signatures"]
    # alone, every signature of the version is listed (there is nothing to compare with)
    assert (fresh["version"], fresh["compared_with"]) == ("8", [])
    assert sorted(s["signature"] for s in fresh["signatures"]) == ["KeyError: '<*>'", "inventory timeout for sku <n>"]


def test_follow_polls_on_the_session_clock_and_shows_late_lines_once(conn, logs, clock) -> None:
    canary(logs)

    def ingest(poll: int) -> None:
        if poll == 1:
            # ingested late: an invocation from before where the first read ended
            invocation(logs, V8, clock.at - timedelta(seconds=7), "9f1c2a3b-1111-4222-8333-944455556666", KEY_ERROR)
        if poll == 3:
            raise KeyboardInterrupt

    conn.on_wait = ingest

    code, out, _ = rollgate("logs", "orders-api", "--follow", "--errors", "--poll-seconds", "5")

    assert code == 0 and conn.polls == 3
    key_errors = [line for line in out.splitlines() if line[:2].isdigit() and "KeyError" in line]
    assert len(key_errors) == 2  # the late one shown once, though two polls read it
    assert "v8: 3 of 3 invocations failed" in out


def test_a_cut_read_says_where_it_stopped(conn, logs) -> None:
    canary(logs)

    code, out, _ = rollgate("logs", "orders-api", "--version", "8", "--max-events", "3")

    assert code == 0
    # the third event's instant: lines before it are complete (the two lines at that instant wait)
    assert "(cut: v8: more than 3 events, shown up to 14:01:01.002" in out
    assert [line for line in out.splitlines() if line[:2].isdigit()] == [
        f"14:01:01.000 v8  START RequestId: {R2} Version: 8"
    ]


def test_a_function_that_never_logged_says_so(conn, logs) -> None:
    logs.group_exists = False

    code, out, _ = rollgate("logs", "orders-api", "--version", "3")

    assert (code, out.strip()) == (0, "no log lines of v3 since 2026-12-02 14:00:00 UTC")


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--since", "5 minutes"], "--since"),
        (["--since", "30d"], "--since"),
        (["--version", "$LATEST"], "--version"),
        (["--max-events", "0"], "--max-events"),
        (["--poll-seconds", "nan"], "--poll-seconds"),
    ],
)
def test_a_bad_flag_is_exit_2_naming_it(conn, argv: list[str], named: str) -> None:
    code, out, err = rollgate("logs", "orders-api", *argv, "--output", "json")

    assert code == 2 and named in err
    assert json.loads(out)["error"]["name"] == "UsageError"
    assert conn.calls == []


def test_watch_lists_the_new_error_signatures_under_a_verdict_failed_on_logs() -> None:
    record = {
        "next": "rollback",
        "evidence": [
            {"check": "verdict", "ok": False, "detail": "UNHEALTHY at 10% traffic (decided by logs evidence): …"},
            {
                "check": "health:logs",
                "ok": False,
                "detail": "new error signature(s) in the logs of v8, never in v7's 240 invocations: …",
                "data": {
                    "status": "fail",
                    "observed": {
                        "new_signatures": [{"kind": "error", "signature": "KeyError: '<*>'", "invocations": 4}]
                    },
                },
            },
            {"check": "health:errors", "ok": True, "detail": "errors fine", "data": {}},
        ],
    }

    line, details = describe_gate("JudgeCanary", record)

    assert line.endswith("-> rollback")
    assert details == [
        "new error signature(s) in the logs of v8, never in v7's 240 invocations: …",
        "new error signatures:",
        "  error   x4     KeyError: '<*>'",
    ]


def test_the_new_version_is_the_canary_even_when_its_number_is_lower(conn, logs) -> None:
    # given `deploy --version 7` as the canary of v8: v8 primary, v7 weighted
    canary(logs)
    conn.routing = {"Name": "live", "FunctionVersion": "8", "RoutingConfig": {"AdditionalVersionWeights": {"7": 0.1}}}

    code, out, _ = rollgate("logs", "orders-api", "--errors")

    # v7 shows nothing v8 does not: the KeyError is v8's, the stable version's, so not new
    assert code == 0 and "no new error signatures in v7 (compared with v8)" in out
