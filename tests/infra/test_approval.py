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


def _release_states(synthesized: Any) -> dict[str, Any]:
    from tests.infra.conftest import parse_definition

    machines = synthesized.resources("AWS::StepFunctions::StateMachine")
    (release,) = [m for m in machines.values() if "StartRelease" in str(m["Properties"]["DefinitionString"])]
    return parse_definition(release["Properties"]["DefinitionString"])["States"]


def test_a_release_waits_for_approval_before_a_wave_only_when_advance_wave_asks(synthesized: Any) -> None:
    states = _release_states(synthesized)
    rules = {c["StringEquals"]: c["Next"] for c in states["NextWave?"]["Choices"]}
    # a wave starts through its deployment-window check (CheckWindow -> WindowOpen? -> RunWave)
    assert rules["approve"] == "AwaitWaveApproval" and rules["wave"] == "CheckWindow"
    gate = states["AwaitWaveApproval"]
    assert str(gate["Resource"]).endswith(":states:::lambda:invoke.waitForTaskToken")
    assert gate["Parameters"]["Payload"] == {"approval_token.$": "$$.Task.Token", "release.$": "$"}
    assert gate["TimeoutSecondsPath"] == "$.plan.approval.timeout_seconds"
    assert (gate["ResultPath"], gate["Next"]) == ("$.wave_approval", "CheckWindow")
    catches = [(c["ErrorEquals"], c["Next"]) for c in gate["Catch"]]
    assert catches == [(["States.Timeout"], "WaveApprovalTimedOut"), (["States.ALL"], "WaveNotApproved")]
    for name in ("WaveApprovalTimedOut", "WaveNotApproved"):
        assert states[name]["Next"] == "NextWave?" and states[name]["ResultPath"] == "$"
        assert [c["Next"] for c in states[name]["Catch"]] == ["RecordRelease"]
