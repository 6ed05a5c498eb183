"""A named health policy of the stack (cdk.json rollgate:healthPolicies) on the synthesized stack:
resolved by Validate from the task's own environment, recorded resolved; an unknown name is refused
naming the known ones."""

from __future__ import annotations

import pytest

from rollgate.domain.shared.models import HealthPolicy
from tests.workflow.conftest import Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def test_a_named_policy_is_resolved_by_validate_and_recorded_resolved(harness: Harness) -> None:
    # given: the stack's sample "strict" policy, two of its fields overridden by the request
    body = harness.request("v2", health_policy="strict")
    body["health"].update(latency_ratio_limit=1.25, on_inconclusive_watch="hold")
    # when
    conclusion = harness.run(body, "named-policy")
    # then: promoted, and the ledger's request is the resolved policy, with its name beside it
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    request = harness.ledger()[0]["request"]
    assert request["health_policy"] == "strict"
    assert request["health"]["error_rate_relative_margin"] == 0.1  # strict's
    # the request's own fields, over strict's
    assert (request["health"]["latency_ratio_limit"], request["health"]["on_inconclusive_watch"]) == (1.25, "hold")
    assert request["health"]["min_invocations"] == HealthPolicy().min_invocations  # neither sets it


def test_an_unknown_policy_name_fails_at_validate_naming_the_known_ones(harness: Harness) -> None:
    conclusion = harness.run(harness.request("v2", health_policy="stricter"), "unknown-policy")
    assert conclusion.execution_status == "FAILED" and conclusion.error == "InvalidRequest"
    assert "health_policy: unknown health policy 'stricter'; known: strict" in conclusion.reason()
    assert harness.ledger() == [] and harness.lease() is None
    assert harness.alias() == ("1", {})
