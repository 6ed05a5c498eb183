"""Log evidence in the workflow: a build whose fault shows only in its logs is rolled back on its new
error signature, and a good build is still promoted with the logs check passing.

v9 catches the KeyError a coupon order raises (v3's fault), logs it with logger.exception and
answers 200 "accepted": the Errors metric never moves, the smoke test (no coupon) passes, and the
only evidence is the `[ERROR]` line in the canary's own log stream, which v1's streams never show.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def _logs_checks(record: dict[str, Any], phase: str) -> list[dict[str, Any]]:
    return [e for e in record["evidence"].get(phase) or [] if e["check"] == "health:logs"]


def test_a_build_that_logs_a_caught_error_and_answers_200_is_rolled_back_on_its_logs(harness: Harness) -> None:
    # given v1 live with real traffic (about 30% of orders carry a coupon)
    # when v9 is released: its coupon orders answer 200 at the full price and log the KeyError
    conclusion = harness.run(harness.request("v9"), "logs-v9")
    # then it is rolled back, decided by the logs, the reason naming the new signature
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    result = conclusion.result or {}
    assert result.get("decided_by") == "logs", result
    assert "not applied: order charged in full" in conclusion.reason(), conclusion.reason()
    assert harness.alias() == ("1", {})
    # the logs check failed on the canary with the signature and an example line quoted; v1's
    # invocations, all read, never showed it
    record = harness.ledger()[0]
    failed = next(e for e in _logs_checks(record, "canary") if not e["ok"])
    observed = failed["data"]["observed"]
    signatures = [s["signature"] for s in observed["new_signatures"]]
    assert signatures == ["coupon '<*>' not applied: order charged in full"], failed
    assert "[ERROR]" in failed["detail"], failed["detail"]  # an example line quoted
    assert observed["reference"]["invocations"] > observed["new"]["invocations"] > 0
    assert observed["reference"]["failed"] == 0
    # and the metrics never could: no invocation failed (every answer was a 200 "accepted")
    errors = [e for e in record["evidence"]["canary"] if e["check"] == "health:errors"]
    assert all(e["ok"] for e in errors), errors
    detect = result.get("time_to_detect_seconds")
    assert detect is not None and detect <= 120, result  # at the first judgement after the shift


def test_a_good_build_is_still_promoted_with_the_logs_check_passing(harness: Harness) -> None:
    conclusion = harness.run(harness.request("v2"), "logs-v2")
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    record = harness.ledger()[0]
    checks = _logs_checks(record, "canary") + _logs_checks(record, "watch")
    assert checks and all(e["ok"] for e in checks), checks
    judged = [e["data"]["observed"] for e in checks if e["data"]["status"] == "pass"]
    assert judged, checks  # the lines were read and compared, not skipped
    assert all(o["new"]["invocations"] > 0 and o["new_signatures"] == [] for o in judged), judged


def test_with_metrics_minutes_late_a_crashing_canary_is_caught_on_its_logs_first(harness: Harness) -> None:
    # given AWS/Lambda metrics published 60-150 s after their minute, as on AWS (logs: 1-5 s)
    assert harness.runtime.data_plane is not None
    harness.runtime.data_plane.set_metric_delay(60, 150)
    # when v3 (raises for coupon orders, ~30% of real traffic) is released
    conclusion = harness.run(harness.request("v3"), "logs-v3-late-metrics")
    # then the logs decide, within a minute of the canary's first traffic, on v3's own signature
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    result = conclusion.result or {}
    assert result.get("decided_by") == "logs", result
    assert result.get("time_to_detect_seconds") is not None and result["time_to_detect_seconds"] <= 60, result
    assert "KeyError: '<*>'" in conclusion.reason(), conclusion.reason()
    assert harness.alias() == ("1", {})
