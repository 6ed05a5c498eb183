"""One test per outcome of the DeployFunction workflow, on the synthesized state machine.

Each asserts what an operator would check: where the alias ends, what the ledger says, and which
event reached the Rollgate bus.
"""

from __future__ import annotations

import json

import pytest

from tests.workflow.conftest import ALIAS, FUNCTION, Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def outcome_events(harness: Harness) -> list[str]:
    return [e["detail-type"] for e in harness.events()]


def test_good_release_is_promoted(harness: Harness) -> None:
    # given v1 live under steady traffic, when v2 (a good build) is released
    conclusion = harness.run(harness.request("v2"), "good")
    # then it is promoted, recorded, announced, and the lease is free
    assert conclusion.execution_status == "SUCCEEDED" and conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    record = harness.ledger()[0]
    assert record["status"] == "PROMOTED" and record["to_version"] == "2"
    assert {"preflight", "update", "publish", "smoke", "canary", "watch"} <= set(record["evidence"])
    assert "Deployment Promoted" in outcome_events(harness)
    assert harness.lease() is None


def test_canary_that_fails_real_traffic_is_rolled_back_with_evidence(harness: Harness) -> None:
    # v3 passes its smoke test but fails orders that carry a coupon: only real traffic has them
    conclusion = harness.run(harness.request("v3"), "bad-canary")
    assert conclusion.execution_status == "FAILED"
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    assert harness.alias() == ("1", {})
    record = harness.ledger()[0]
    assert record["status"] == "ROLLED_BACK"
    failed = [e for e in record["evidence"]["canary"] if not e["ok"]]
    # the log lines see the failures first (seconds after they happen), else the Errors metric
    assert any(e["check"] in ("health:errors", "health:logs") for e in failed), failed
    assert "Deployment Rolled Back" in outcome_events(harness)
    assert harness.lease() is None


def test_missing_environment_is_rejected_at_preflight_and_nothing_deployed(harness: Harness) -> None:
    versions_before = harness.versions()
    conclusion = harness.run(harness.request("v4", required_environment=["PAYMENTS_URL"]), "missing-env")
    assert conclusion.outcome == "REJECTED"
    assert "PAYMENTS_URL" in conclusion.reason()
    assert harness.versions() == versions_before
    assert harness.alias() == ("1", {})
    assert harness.ledger()[0]["status"] == "REJECTED"
    assert "Deployment Rejected" in outcome_events(harness)


def test_an_invoker_of_the_unqualified_function_is_rejected_at_preflight(harness: Harness) -> None:
    # given an API that may invoke orders-api itself ($LATEST), not its alias
    harness.client("lambda").add_permission(
        FunctionName="orders-api",
        StatementId="orders-http",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:us-east-1:123456789012:abc/*",
    )
    versions_before = harness.versions()
    # when a release is started, then preflight names the grant and nothing is deployed
    conclusion = harness.run(harness.request("v2"), "unqualified-grant")
    assert conclusion.outcome == "REJECTED"
    assert "bypass alias" in conclusion.reason() and "'orders-http'" in conclusion.reason()
    assert harness.versions() == versions_before
    assert harness.alias() == ("1", {})
    assert harness.lease() is None


def test_build_that_crashes_at_import_is_rejected_at_smoke(harness: Harness) -> None:
    conclusion = harness.run(harness.request("v5"), "import-crash")
    assert conclusion.outcome == "REJECTED"
    assert "SmokeTestFailed" in conclusion.reason() and "ImportModuleError" in conclusion.reason()
    assert harness.alias() == ("1", {})


def test_failed_code_update_is_rejected_with_lambdas_reason(harness: Harness) -> None:
    harness.runtime.data_plane.fail_next_update("orders-api", "EniLimitExceeded: no ENI capacity in subnet")
    conclusion = harness.run(harness.request("v2"), "failed-update")
    assert conclusion.outcome == "REJECTED"
    assert "EniLimitExceeded" in conclusion.reason()
    assert harness.alias() == ("1", {})
    assert harness.lease() is None


def test_malformed_request_fails_at_validate_naming_the_field(harness: Harness) -> None:
    body = harness.request("v2", strategy={"type": "linear", "steps": [50, 20], "interval_seconds": 60})
    conclusion = harness.run(body, "malformed")
    assert conclusion.execution_status == "FAILED"
    assert conclusion.error == "InvalidRequest"
    assert "strategy.steps" in conclusion.reason()
    assert harness.ledger() == [] and harness.lease() is None
    assert harness.alias() == ("1", {})


def test_second_deployment_of_the_same_alias_is_refused_naming_the_holder(harness: Harness) -> None:
    first = harness.start(harness.request("v2"), "first")
    # wait until the first holds the lease
    harness.wait_until(harness.lease)
    second = harness.run(harness.request("v2"), "second")
    assert second.execution_status == "FAILED" and second.error == "DeploymentInProgress"
    assert "first" in second.reason()
    done = harness.wait(first)
    assert done.outcome == "PROMOTED"


def test_rerunning_a_finished_request_changes_nothing(harness: Harness) -> None:
    body = harness.request("v2")
    first = harness.run(body, "once")
    assert first.outcome == "PROMOTED"
    versions, alias = harness.versions(), harness.alias()
    again = harness.run(json.loads(json.dumps(body)), "twice")
    assert again.outcome == "PROMOTED" and "already live" in again.reason()
    assert harness.versions() == versions
    assert harness.alias() == alias


def test_abort_during_the_canary_restores_the_old_version(harness: Harness) -> None:
    # given a canary of v2 in progress
    execution = harness.start(harness.request("v2"), "aborted")
    harness.wait_until(lambda: harness.alias()[1])
    # when an operator (or the Remediate workflow) asks the deployment to stop
    harness.ledger_api.request_abort(FUNCTION, ALIAS, "operator: pager says checkout is down")
    done = harness.wait(execution)
    # then the next health check obeys: traffic back on v1, verified, and the reason recorded
    assert done.outcome == "ROLLED_BACK", done.reason()
    assert "checkout is down" in done.reason()
    assert harness.alias() == ("1", {})
    assert harness.lease() is None
