"""`rollgate logs FUNCTION [--version N] [--since 5m] [--follow] [--errors]`: the versions' own log
lines, what the runbooks do with `aws logs tail`, split by version.

Without --version, the versions the alias routes to: the stable one and, during a canary, the new
one, interleaved in time order with the version on every line. --errors keeps the error-class lines
(the judge's own parser decides: rollgate.domain.judge.log_lines.classify) and ends with the "new error
signatures": those the new version (the canary) shows and the stable one does not. --follow polls until
interrupted, re-reading a short overlap each time (CloudWatch Logs ingests within seconds, not at
once) and showing each line once.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TextIO

from rollgate.aws.clock import current_clock
from rollgate.aws.lambda_api import Boto3LambdaApi
from rollgate.aws.logs import CloudWatchLogSource, LogGroupMissing, log_group_name
from rollgate.domain.judge.health import LogSeries, LogSignature
from rollgate.domain.judge.log_lines import ERROR_FILTER_PATTERN, LogEvent, classify
from rollgate.domain.shared.ports import Clock
from rollgate_cli.output import report, wants_json
from rollgate_cli.progress import signature_lines
from rollgate_cli.session import Connection, add_connection_arguments

#: --since: a count and a unit (s, m, h, d), at most 14 days (what a Lambda log group keeps by default
#: is longer, but a tail is about now)
_SINCE = re.compile(r"([1-9][0-9]{0,5})([smhd])", re.ASCII)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MAX_SINCE = timedelta(days=14)
#: Each --follow poll re-reads this much before where the last one ended: lines ingested late.
FOLLOW_OVERLAP = timedelta(seconds=30)


def since(text: str) -> timedelta:
    """`30s`, `5m`, `2h`, `1d` -> a duration (argparse type of --since)."""
    match = _SINCE.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!a} is not a duration like 30s, 5m, 2h or 1d")
    value = timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if value > MAX_SINCE:
        raise argparse.ArgumentTypeError(f"{text} is longer than 14 days")
    return value


def add_logs_command(
    commands: argparse._SubParsersAction,  # type: ignore[type-arg]
    *,
    seconds: Callable[[str], float],
    version_number: Callable[[str], str],
    count: Callable[[str], float],
) -> None:
    """The `logs` subcommand on `commands`, with the CLI's own argument types (rollgate_cli.main's)."""
    logs = commands.add_parser(
        "logs", help="a function's log lines by version (the alias's versions side by side), or its errors"
    )
    logs.add_argument("function", metavar="FUNCTION", help="the Lambda function (name or ARN)")
    logs.add_argument("--alias", default="live", help="whose versions to show without --version (default: live)")
    logs.add_argument(
        "--version",
        dest="function_version",
        type=version_number,
        metavar="N",
        help="only version N's lines (default: the versions the alias routes to, the canary's too)",
    )
    logs.add_argument(
        "--since",
        type=since,
        default=timedelta(minutes=5),
        metavar="DURATION",
        help="how far back to start: 30s, 5m, 2h, 1d, at most 14d (default: 5m)",
    )
    logs.add_argument("--follow", action="store_true", help="keep polling for new lines until interrupted (Ctrl-C)")
    logs.add_argument(
        "--errors",
        action="store_true",
        help="only error, timeout and crash lines, then the error signatures the new version (the canary) "
        "shows and the stable one does not",
    )
    logs.add_argument(
        "--max-events",
        type=count,
        default=1000,
        metavar="N",
        help="log events read per version and poll, 1-10000; a read cut short says where (default: %(default)s)",
    )
    logs.add_argument(
        "--poll-seconds",
        type=seconds,
        default=2.0,
        help="how often --follow reads new lines, in seconds, 0.01-3600 (default: %(default)s)",
    )
    add_connection_arguments(logs)


@dataclass
class _Tail:
    """What was shown so far: lines (once each), per version, and where the reads got to."""

    versions: list[str]
    lines: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[str, datetime] = field(default_factory=dict)
    cuts: list[str] = field(default_factory=list)


def run_logs(conn: Connection, args: argparse.Namespace, out: TextIO, *, function: str) -> int:
    clock = current_clock()
    source = CloudWatchLogSource(conn.client("logs"))
    versions = _versions(conn, function, args.alias, args.function_version)
    start = clock.now() - args.since
    tail = _Tail(versions)
    end = _poll(source, function, tail, start, clock.now(), args, out)
    if args.follow:
        end = _follow(conn, source, function, tail, end, args, out, clock)
    document: dict[str, Any] = {
        "function": function,
        "alias": None if args.function_version else args.alias,
        "versions": versions,
        "log_group": log_group_name(function),
        "since": start,
        "until": end,
        "errors_only": args.errors,
        "lines": tail.lines,
        "cut": tail.cuts,
    }
    if args.errors:
        limit = int(args.max_events)
        series = [source.version_logs(function, version, start, end, max_events=limit) for version in versions]
        document["versions_summary"] = [
            {"version": s.version, "invocations": s.invocations, "failed_invocations": s.failed_invocations}
            for s in series
        ]
        newest, fresh = new_signatures(series)
        document["new_error_signatures"] = {
            "version": newest.version if newest else None,
            "compared_with": [s.version for s in series if s is not newest],
            "signatures": [s.model_dump(mode="json") for s in fresh],
        }
        if not wants_json(out):
            _print_signatures(series, newest, fresh, out)
    report(out, document)
    if not tail.lines and not wants_json(out):
        kind = "error lines" if args.errors else "log lines"
        print(f"no {kind} of {_named(versions)} since {start:%Y-%m-%d %H:%M:%S} UTC", file=out)
    return 0


def _versions(conn: Connection, function: str, alias: str, version: str | None) -> list[str]:
    """The version asked for, or the alias's: the primary (stable) one first, then any with a weight
    (the canary, the new one, whatever its number: `deploy --version 5` can be the canary of v7)."""
    if version is not None:
        return [version]
    routing = Boto3LambdaApi(conn.client("lambda")).get_alias(function, alias)
    return [routing.version, *sorted(v for v in routing.additional_weights if v != routing.version)]


def _poll(
    source: CloudWatchLogSource,
    function: str,
    tail: _Tail,
    start: datetime,
    end: datetime,
    args: argparse.Namespace,
    out: TextIO,
) -> datetime:
    """Read and show every version's new lines in [start, end), interleaved; where the next read
    starts (before `end` when a read was cut)."""
    events: list[tuple[LogEvent, str, str]] = []
    reached = end
    cuts: list[str] = []
    for version in tail.versions:
        try:
            read = source.lines(
                function,
                version,
                start,
                end,
                pattern=ERROR_FILTER_PATTERN if args.errors else "",
                max_events=int(args.max_events),
            )
        except LogGroupMissing:
            continue  # never invoked: nothing logged yet
        if read.cut_at is not None:
            reached = min(reached, read.cut_at)
            cuts.append(
                f"v{version}: more than {args.max_events} events, shown up to {_clock_time(read.cut_at)} "
                "(narrow --since or raise --max-events)"
            )
        events += [(event, version, event_id) for event, event_id in zip(read.events, read.ids, strict=True)]
    events.sort(key=lambda item: item[0].at)
    for event, version, event_id in events:
        if event.at >= reached or event_id in tail.seen:
            continue
        if args.errors and classify(event.message) is None:
            continue  # the filter pattern is coarse (moto ignores it): the parser decides
        tail.seen[event_id] = event.at
        line = {"at": event.at, "version": version, "stream": event.stream, "message": event.message.rstrip("\n")}
        tail.lines.append(line)
        if not wants_json(out):
            print(format_line(line, width=len(max(tail.versions, key=len))), file=out, flush=True)
    tail.cuts += cuts
    for cut in cuts if not wants_json(out) else []:
        print(f"  (cut: {cut})", file=out)
    return reached


def _follow(
    conn: Connection,
    source: CloudWatchLogSource,
    function: str,
    tail: _Tail,
    end: datetime,
    args: argparse.Namespace,
    out: TextIO,
    clock: Clock,
) -> datetime:
    """Poll until interrupted; the lines of each poll after those already shown."""
    try:
        while True:
            conn.sleep(float(args.poll_seconds))
            now = clock.now()
            end = _poll(source, function, tail, end - FOLLOW_OVERLAP, now, args, out)
            # forget what no later read can return again
            tail.seen = {key: at for key, at in tail.seen.items() if at >= end - FOLLOW_OVERLAP}
    except KeyboardInterrupt:
        return end


def format_line(line: dict[str, Any], *, width: int = 1) -> str:
    """`12:03:04.512 v8  message`, a multi-line message (a traceback) indented under it."""
    at: datetime = line["at"]
    head = f"{_clock_time(at)} v{line['version']:<{width}}  "
    first, *rest = line["message"].split("\n") or [""]
    return "\n".join([head + first, *(" " * len(head) + more for more in rest)])


def new_signatures(series: list[LogSeries]) -> tuple[LogSeries | None, list[LogSignature]]:
    """The new version's series (the last: the alias's weighted one), and its signatures no other
    version shows (by kind and signature): all of its signatures when it runs alone."""
    if not series:
        return None, []
    newest = series[-1]
    others = {(sig.kind, sig.signature) for s in series if s is not newest for sig in s.signatures}
    return newest, [sig for sig in newest.signatures if (sig.kind, sig.signature) not in others]


def _print_signatures(
    series: list[LogSeries], newest: LogSeries | None, fresh: list[LogSignature], out: TextIO
) -> None:
    for s in series:
        note = f"  ({s.note})" if s.note else ""
        print(f"v{s.version}: {s.failed_invocations} of {s.invocations} invocations failed{note}", file=out)
    if newest is None:
        return
    others = [f"v{s.version}" for s in series if s is not newest]
    beside = f" (compared with {', '.join(others)})" if others else " (no other version alongside: all of them)"
    if not fresh:
        print(f"no new error signatures in v{newest.version}{beside}", file=out)
        return
    print(f"new error signatures of v{newest.version}{beside}:", file=out)
    for line in signature_lines([sig.model_dump(mode="json") for sig in fresh]):
        print(f"  {line}", file=out)


def _clock_time(at: datetime) -> str:
    return at.strftime("%H:%M:%S.%f")[:-3]


def _named(versions: list[str]) -> str:
    return " and ".join(f"v{version}" for version in versions)
