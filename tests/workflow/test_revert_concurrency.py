"""A later remediation puts provisioned concurrency back with the alias, on the synthesized stack:
the promotion released the previous version's allocation; the revert restores it there and releases
the promoted version's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.workflow.conftest import ALIAS, FUNCTION, Harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]


def _allocations(harness: Harness) -> dict[str, int]:
    configs = harness.client("lambda").list_provisioned_concurrency_configs(FunctionName=FUNCTION)
    return {
        c["FunctionArn"].rsplit(":", 1)[1]: c["RequestedProvisionedConcurrentExecutions"]
        for c in configs["ProvisionedConcurrencyConfigs"]
    }


def test_a_manual_rollback_after_a_promotion_restores_the_allocation(harness: Harness) -> None:
    # given: v1 live with 2 warm environments; v2 promoted carries them over, v1's released
    harness.client("lambda").put_provisioned_concurrency_config(
        FunctionName=FUNCTION, Qualifier="1", ProvisionedConcurrentExecutions=2
    )
    promoted = harness.run(harness.request("v2"), "deploy-v2")
    assert promoted.outcome == "PROMOTED", promoted.reason()
    assert _allocations(harness) == {"2": 2}
    # when: an operator rolls it back
    body: dict[str, Any] = {"function_name": FUNCTION, "alias": ALIAS, "reason": "p99 too high"}
    conclusion = harness.wait(harness.start_workflow("RemediateStateMachineArn", body, "rollback-v2"))
    # then: the alias is back on v1, v1 holds the allocation again and v2's is released
    assert conclusion.execution_status == "SUCCEEDED", conclusion
    assert harness.alias() == ("1", {})
    assert _allocations(harness) == {"1": 2}
    record = harness.ledger()[0]
    assert record["kind"] == "remediation", record
    restored = [e for notes in record["evidence"].values() for e in notes if e["check"] == "concurrency_restored"]
    assert [e["ok"] for e in restored] == [True] and restored[0]["data"]["executions"] == 2
