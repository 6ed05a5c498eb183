"""`bypass_invokers: warn` on the local runtime: a caller of the unqualified function does not stop
the release; preflight records it as a failed check, and the promotion carries that warning in its
evidence and its event."""

from __future__ import annotations

import pytest

from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def test_a_bypassing_invoker_is_recorded_as_a_warning_and_the_release_goes_on(harness: Harness) -> None:
    # given an API that may invoke orders-api itself ($LATEST), not its alias
    harness.client("lambda").add_permission(
        FunctionName="orders-api",
        StatementId="orders-http",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn="arn:aws:execute-api:us-east-1:123456789012:abc/*",
    )
    # when v2 is released all at once (no canary to judge) with the finding downgraded to a warning
    body = harness.request("v2", bypass_invokers="warn", strategy={"type": "all_at_once", "steps": []}, watch_seconds=0)
    conclusion = harness.run(body, "bypass-warn")

    # then it is promoted, and the ledger and the event say which invoker bypassed the alias
    assert conclusion.succeeded and conclusion.outcome == "PROMOTED", conclusion.reason()
    assert harness.alias() == ("2", {})
    (record,) = harness.ledger()
    (warning,) = [e for e in record["evidence"]["preflight"] if not e["ok"]]
    assert warning["check"] == "invokers_use_alias"
    assert warning["detail"].startswith("WARNING (bypass_invokers: warn")
    assert "'orders-http'" in warning["detail"]
    promoted = [e for e in harness.events() if e["detail-type"] == "Deployment Promoted"]
    assert [c["check"] for c in promoted[0]["detail"]["failed_checks"]] == ["invokers_use_alias"]
    assert harness.lease() is None
