"""Log evidence: Lambda's log lines parsed and normalised (text and JSON formats), and the logs check
(a new signature, one both versions share, a flood from one request id, no logs at all: never
healthy on logs alone)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from rollgate.domain.judge.health import (
    CheckStatus,
    EvidenceKind,
    HealthWindow,
    LogBucket,
    LogSeries,
    Outcome,
    PeriodStats,
    VersionSeries,
)
from rollgate.domain.judge.log_lines import LogEvent, classify, normalise, stream_prefix, summarise
from rollgate.domain.judge.logs import logs_check
from rollgate.domain.judge.verdict import judge
from rollgate.domain.shared.models import HealthPolicy

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
POLICY = HealthPolicy()
STREAM = "2026/12/02/[7]0f1e2d3c4b5a69788796a5b4c3d2e1f0"
WINDOW_S = 300  # both versions' lines spread over five minutes, as traffic is


def rid(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def report(i: int, second: float | None = None) -> LogEvent:
    line = f"REPORT RequestId: {rid(i)}\tDuration: 12.51 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\t"
    line += "Max Memory Used: 51 MB"
    return LogEvent(T0 + timedelta(seconds=i if second is None else second), STREAM, line)


def logged_error(i: int, message: str, second: int | None = None) -> LogEvent:
    """Request i's [ERROR] line, logged `second` seconds after T0 (default i)."""
    at = T0 + timedelta(seconds=i if second is None else second)
    return LogEvent(at, STREAM, f"[ERROR]\t2026-12-02T12:00:{i % 60:02d}.123Z\t{rid(i)}\t{message}\n")


# --------------------------------------------------------------------------- parsing
def test_signatures_are_templates_so_one_regression_is_one_signature() -> None:
    assert normalise("KeyError: 'customer'") == normalise("KeyError: 'cart'") == "KeyError: '<*>'"
    assert normalise("order 12345 failed after 3.5 s") == "order <n> failed after <n> s"
    assert normalise(f"timeout calling payments for {rid(9)} at 2026-12-02T12:00:01.5Z") == (
        "timeout calling payments for <id> at <time>"
    )


@pytest.mark.parametrize(
    ("line", "kind", "request_id", "signature"),
    [
        (
            f"[ERROR]\t2026-12-02T12:00:01.123Z\t{rid(1)}\tpayment declined for order 77",
            "error",
            rid(1),
            "payment declined for order <n>",
        ),
        (
            "[ERROR] KeyError: 'customer'\nTraceback (most recent call last):\n  File ...",
            "error",
            None,
            "KeyError: '<*>'",
        ),
        (
            f"2026-12-02T12:00:04.000Z {rid(2)} Task timed out after 3.00 seconds",
            "timeout",
            rid(2),
            "Task timed out after <n> seconds",
        ),
        (
            "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'x'",
            "crash",
            None,
            "Runtime.ImportModuleError: Unable to import module '<*>': No module named '<*>'",
        ),
        (
            json.dumps({"errorType": "ValueError", "errorMessage": "bad total -3", "requestId": rid(3)}),
            "error",
            rid(3),
            "ValueError: bad total -<n>",
        ),
        (
            json.dumps({"level": "ERROR", "message": "caught: stock lookup failed", "requestId": rid(4)}),
            "error",
            rid(4),
            "caught: stock lookup failed",
        ),
        (
            json.dumps({"type": "platform.report", "record": {"requestId": rid(5), "status": "timeout"}}),
            "timeout",
            rid(5),
            "Task timed out after <n> seconds",
        ),
    ],
)
def test_error_lines_of_both_log_formats_are_classified(
    line: str, kind: str, request_id: str | None, signature: str
) -> None:
    assert classify(line) == (kind, request_id, signature)


def test_ordinary_lines_are_not_errors() -> None:
    for line in (
        f"START RequestId: {rid(1)} Version: 7",
        report(1).message,
        "[INFO]\t...\tprocessed 3 items",
        json.dumps({"level": "INFO"}),
    ):
        assert classify(line) is None


def test_a_versions_streams_are_read_by_the_prefix_lambda_names_them_with() -> None:
    assert STREAM.startswith(stream_prefix(T0, "7"))
    assert stream_prefix(T0, "7") == "2026/12/02/[7]"


def test_a_flood_from_one_request_counts_as_one_failed_invocation() -> None:
    flood = [logged_error(1, f"retrying stock lookup, attempt {a}") for a in range(50)]
    series = summarise("7", [report(i) for i in range(20)], flood)
    assert series.invocations == 20
    assert series.failed_invocations == 1
    assert series.signatures[0].invocations == 1


# --------------------------------------------------------------------------- the check
def logs(
    version: str, invocations: int, signatures: dict[str, int] | None = None, failed: int | None = None
) -> LogSeries:
    errors = [
        logged_error(1000 * n + i, message, second=int(i * WINDOW_S / count))
        for n, (message, count) in enumerate((signatures or {}).items())
        for i in range(count)
    ]
    reports = [report(i, second=i * WINDOW_S / invocations) for i in range(invocations)]
    series = summarise(version, reports, errors)
    return series if failed is None else series.model_copy(update={"failed_invocations": failed})


def window(new: LogSeries | None, reference: LogSeries | None, weight: int = 10, **extra) -> HealthWindow:
    quiet = [PeriodStats(start=T0)]  # no metric datapoint yet: the logs are all there is
    return HealthWindow(
        phase="canary",
        canary_weight=weight,
        elapsed_seconds=WINDOW_S + 30,
        canary=VersionSeries(version="7", periods=quiet),
        stable=VersionSeries(version="6", periods=quiet),
        logs=new,
        logs_reference=reference,
        weight_since=T0,
        observed_at=T0 + timedelta(seconds=WINDOW_S + 30),
        **extra,
    )


def test_a_new_signature_fails_the_release_before_any_metric_is_published() -> None:
    # a build that catches a KeyError, logs it and answers 200: the Errors metric never moves
    new = logs("7", 6, {"caught KeyError: 'customer' while pricing": 6})
    stable = logs("6", 54, {"downstream timeout after 3 s": 1})
    verdict = judge(window(new, stable), POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY
    assert verdict.decided_by is EvidenceKind.LOGS
    check = next(c for c in verdict.checks if c.name == "logs")
    assert check.status is CheckStatus.FAIL
    assert "caught KeyError: '<*>' while pricing" in check.summary
    assert check.observed["new_signatures"][0]["invocations"] == 6


def test_a_signature_both_versions_show_is_not_new_and_a_like_rate_passes() -> None:
    new = logs("7", 100, {"downstream timeout after 3 s": 2})
    stable = logs("6", 900, {"downstream timeout after 3 s": 19})
    check = logs_check(window(new, stable), POLICY, POLICY.significance)
    assert check.status is CheckStatus.PASS
    assert check.observed["new_signatures"] == []


def test_a_new_signature_too_rare_to_mean_anything_at_the_split_does_not_fail() -> None:
    # at 50%, 3 invocations all landing on the new version happen 1 time in 8 by chance
    new = logs("7", 100, {"odd one": 3})
    stable = logs("6", 100)
    assert logs_check(window(new, stable, weight=50), POLICY, POLICY.significance).status is CheckStatus.PASS


def test_a_higher_failure_rate_in_the_logs_fails_the_release() -> None:
    new = logs("7", 200, {"downstream timeout after 3 s": 30})
    stable = logs("6", 1800, {"downstream timeout after 3 s": 18})
    check = logs_check(window(new, stable), POLICY, POLICY.significance)
    assert check.status is CheckStatus.FAIL
    assert "30 of 200 invocations of v7 failed vs 18 of 1,800 of v6" in check.summary


def test_no_logs_are_never_healthy_and_a_failed_read_holds_nothing() -> None:
    empty = judge(window(logs("7", 0), logs("6", 0)), POLICY)
    assert next(c for c in empty.checks if c.name == "logs").status is CheckStatus.SKIPPED
    assert empty.outcome is Outcome.INCONCLUSIVE  # no metrics either: no data is never healthy
    failed = window(None, None, logs_read_failure="logs of v7: ThrottledError: rate exceeded")
    check = logs_check(failed, POLICY, POLICY.significance)
    assert check.status is CheckStatus.SKIPPED and "read failed" in check.summary


def test_clean_logs_alone_do_not_make_a_release_healthy() -> None:
    verdict = judge(window(logs("7", 500), logs("6", 4500)), POLICY)
    assert next(c for c in verdict.checks if c.name == "logs").status is CheckStatus.PASS
    assert verdict.outcome is Outcome.INCONCLUSIVE


def test_logs_still_fail_a_release_while_metric_reads_fail() -> None:
    new = logs("7", 6, {"caught KeyError: 'customer' while pricing": 6})
    verdict = judge(window(new, logs("6", 54), read_failures=["metrics of v7: ThrottledError"]), POLICY)
    assert verdict.outcome is Outcome.UNHEALTHY and verdict.decided_by is EvidenceKind.LOGS


def test_an_unpaired_window_and_log_evidence_off_are_not_judged() -> None:
    assert logs_check(window(logs("7", 9), None), POLICY, 0.01).status is CheckStatus.SKIPPED
    off = HealthPolicy(log_evidence=False)
    assert logs_check(window(logs("7", 4, {"x": 4}), logs("6", 36)), off, 0.01).status is CheckStatus.SKIPPED


def test_an_incident_in_one_minute_that_hits_both_versions_is_compared_minute_by_minute() -> None:
    def series(version: str, rows: list[tuple[int, int]]) -> LogSeries:
        buckets = [
            LogBucket(
                start=T0 + timedelta(minutes=m), invocations=n, failed=x, signatures={"error:Timeout": x} if x else {}
            )
            for m, (n, x) in enumerate(rows)
        ]
        return LogSeries(
            version=version,
            invocations=sum(n for n, _ in rows),
            failed_invocations=sum(x for _, x in rows),
            buckets=buckets,
        )

    # the canary's minute at 10%, then the promotion's 95% minute in which a downstream incident fails 30%
    new = series("7", [(10, 0), (95, 30)])
    held = series("6", [(90, 0), (5, 2)])
    check = logs_check(window(new, held), POLICY, POLICY.significance)
    assert check.status is CheckStatus.PASS  # pooled, 29% against 2% would have rolled a good release back


def test_a_report_line_that_says_how_its_invocation_ended_counts_once_with_its_request_id() -> None:
    failed = f"REPORT RequestId: {rid(7)}\tDuration: 2.10 ms\tBilled Duration: 3 ms\tStatus: error"
    failed += "\tError Type: Runtime.ImportModuleError"
    assert classify(failed) == ("crash", rid(7), "Runtime.ImportModuleError")
    assert classify(f"REPORT RequestId: {rid(8)}\tDuration: 3000.00 ms\tStatus: timeout")[:2] == ("timeout", rid(8))
    uncaught = LogEvent(
        T0, STREAM, "[ERROR] Runtime.ImportModuleError: Unable to import module 'app': No module named 'x'"
    )
    series = summarise("7", [report(7)], [LogEvent(T0, STREAM, failed), uncaught])
    assert series.failed_invocations == 2  # the REPORT's own, and the uncaught line that carries no id


def test_ids_of_letters_and_digits_are_one_placeholder() -> None:
    assert normalise("charge failed for ord-0a1b2c3d4e") == normalise("charge failed for ord-9f8e7d6c5b")
    assert normalise("charge failed for ord-0a1b2c3d4e") == "charge failed for <id>"
