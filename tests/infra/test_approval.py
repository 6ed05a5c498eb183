"""The approval gate in the synthesized DeployFunction: a task token before the promotion, bounded
by the request's timeout, its default taken on States.Timeout, anything else rolled back."""

from __future__ import annotations

from typing import Any

from tests.infra.test_deploy_workflow import _states, _task_module


def test_await_approval_waits_for_a_task_token_bounded_by_the_requests_timeout(
    deploy_definition: dict[str, Any], synthesized: Any
) -> None:
    state = _states(deploy_definition)["AwaitApproval"]
    assert str(state["Resource"]).endswith(":states:::lambda:invoke.waitForTaskToken")
    assert _task_module(state, synthesized) == "await_approval"
    assert state["Parameters"]["Payload"] == {"approval_token.$": "$$.Task.Token", "deployment.$": "$"}
    assert state["TimeoutSecondsPath"] == "$.request.approval.timeout_seconds"
    assert state["ResultPath"] == "$.canary" and state["Next"] == "CanaryNext?"
    catches = [(c["ErrorEquals"], c["Next"]) for c in state["Catch"]]
    assert catches == [(["States.Timeout"], "ApprovalTimedOut"), (["States.ALL"], "Rollback")]


def test_only_a_canary_that_asks_reaches_the_approval_gate(deploy_definition: dict[str, Any]) -> None:
    states = _states(deploy_definition)
    into = {name for name, s in states.items() for c in s.get("Choices", []) if c["Next"] == "AwaitApproval"}
    assert into == {"CanaryNext?"}
    timed_out = states["ApprovalTimedOut"]
    assert timed_out["Parameters"] == {"timed_out": True, "deployment.$": "$"}
    assert timed_out["Next"] == "CanaryNext?"
