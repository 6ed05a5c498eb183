"""Gate 5 — smoke tests: invoke a version directly, before (or instead of) any user traffic.

Used twice: on the new version before the canary, and on the restored version after a rollback.
"""

from __future__ import annotations

from typing import Any

from rollgate.domain.shared.errors import SmokeTestFailed
from rollgate.domain.shared.models import Evidence, SmokeReport, SmokeTest
from rollgate.domain.shared.ports import Clock, Invocation, LambdaApi

_MAX_DETAIL = 300


def _contains(actual: Any, expected: Any) -> bool:
    """`expected` is a subset of `actual`: dict keys recursively, everything else by equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _contains(actual[k], v) for k, v in expected.items())
    return bool(actual == expected)


def judge_invocation(test: SmokeTest, result: Invocation) -> Evidence:
    """One response against its test's expectations (also how synthetic probes are judged)."""
    errored = result.function_error is not None
    payload = result.payload
    if errored and not test.expect_error:
        error = payload if isinstance(payload, dict) else {"errorMessage": str(payload)}
        detail = f"{error.get('errorType', result.function_error)}: {error.get('errorMessage', '')}"
        return Evidence(check=f"smoke:{test.name}", ok=False, detail=f"raised {detail}"[:_MAX_DETAIL])
    if test.expect_error and not errored:
        return Evidence(check=f"smoke:{test.name}", ok=False, detail="expected an error, got a normal response")
    if test.expect_subset is not None and not _contains(payload, test.expect_subset):
        shown = repr(payload)[:_MAX_DETAIL]
        return Evidence(
            check=f"smoke:{test.name}", ok=False, detail=f"response {shown} lacks {test.expect_subset!r}"[:_MAX_DETAIL]
        )
    return Evidence(check=f"smoke:{test.name}", ok=True, detail="passed")


def run_smoke_tests(
    function_name: str, version: str, tests: list[SmokeTest], *, lambda_api: LambdaApi, clock: Clock
) -> SmokeReport:
    evidence = [judge_invocation(test, lambda_api.invoke(function_name, version, test.payload)) for test in tests]
    if not tests:
        evidence.append(Evidence(check="smoke", ok=True, detail="no smoke tests configured"))
    return SmokeReport(version=version, passed=all(e.ok for e in evidence), evidence=evidence, at=clock.now())


def require_smoke_pass(report: SmokeReport, function_name: str) -> SmokeReport:
    failed = [e for e in report.evidence if not e.ok]
    if failed:
        listed = "; ".join(f"{e.check.removeprefix('smoke:')} {e.detail}" for e in failed)
        raise SmokeTestFailed(
            f"version {report.version} of {function_name} failed {len(failed)} smoke test(s): {listed}"
        )
    return report
