"""Pre- and post-traffic hooks: the team's own check, bounded by a timeout, failing closed, its answer
recorded as evidence."""

from __future__ import annotations

from rollgate.domain.judge.health import Outcome
from rollgate.domain.shared.ports import Invocation
from tests.unit.conftest import World, drive, request_for


def hooked(**hooks: dict) -> dict:
    return request_for(hooks=hooks)


def alias_of(world: World) -> tuple[str, dict[str, float]]:
    routing = world.lambda_api.get_alias("orders-api", "live")
    return routing.version, routing.additional_weights


def test_passing_hooks_are_called_with_the_context_and_recorded(world: World) -> None:
    result = drive(world, hooked(pre_traffic={"function": "deep-check"}, post_traffic={"function": "after-check"}))
    assert result["status"] == "PROMOTED"
    (pre_name, pre_payload, timeout), (post_name, post_payload, _) = world.hooks.calls
    assert (pre_name, post_name, timeout) == ("deep-check", "after-check", 60)
    assert pre_payload["phase"] == "pre_traffic" and post_payload["phase"] == "post_traffic"
    assert (pre_payload["new_version"], pre_payload["previous_version"], pre_payload["alias"]) == ("2", "1", "live")
    assert result["evidence"]["pre_traffic_hook"][0]["detail"].startswith("pre-traffic hook deep-check passed")
    assert "all good" in result["evidence"]["post_traffic_hook"][0]["detail"]


def test_pre_traffic_hook_failure_rejects_before_any_traffic(world: World) -> None:
    world.hooks.answers["deep-check"] = Invocation(200, None, {"status": "fail", "reason": "orders table not migrated"})
    result = drive(world, hooked(pre_traffic={"function": "deep-check"}))
    assert result["status"] == "REJECTED"
    assert "HookFailed" in result["reason"] and "orders table not migrated" in result["reason"]
    assert world.lambda_api.alias_updates == 0 and alias_of(world) == ("1", {})


def test_post_traffic_hook_failure_rolls_back(world: World) -> None:
    world.hooks.answers["after-check"] = Invocation(200, None, {"status": "fail", "reason": "checkout e2e failed"})
    result = drive(world, hooked(post_traffic={"function": "after-check"}))
    assert result["status"] == "ROLLED_BACK"
    assert "checkout e2e failed" in result["reason"]
    assert alias_of(world) == ("1", {})


def test_a_hook_that_does_not_answer_in_time_fails_closed(world: World) -> None:
    world.hooks.silent.add("slow-check")
    result = drive(world, hooked(pre_traffic={"function": "slow-check", "timeout_seconds": 5}))
    assert result["status"] == "REJECTED"
    assert "no answer within 5 s" in result["reason"]
    assert world.hooks.calls[0][2] == 5


def test_a_hook_that_crashes_fails_closed(world: World) -> None:
    world.hooks.answers["deep-check"] = Invocation(200, "Unhandled", {"errorMessage": "KeyError: 'x'"})
    result = drive(world, hooked(pre_traffic={"function": "deep-check"}))
    assert result["status"] == "REJECTED"
    assert "raised Unhandled" in result["reason"] and "KeyError" in result["reason"]


def test_an_answer_of_another_shape_fails_closed(world: World) -> None:
    world.hooks.answers["deep-check"] = Invocation(200, None, {"ok": True})
    result = drive(world, hooked(pre_traffic={"function": "deep-check"}))
    assert result["status"] == "REJECTED"
    assert "failing closed" in result["reason"]


def test_no_hooks_no_calls(world: World) -> None:
    result = drive(world, request_for())
    assert result["status"] == "PROMOTED" and world.hooks.calls == []


def test_a_rerun_of_a_live_release_calls_no_hook(world: World) -> None:
    body = hooked(pre_traffic={"function": "deep-check"})
    drive(world, body, execution="first")
    calls = len(world.hooks.calls)
    second = drive(world, body, execution="second")
    assert "already live" in second["reason"] and len(world.hooks.calls) == calls


def test_post_traffic_hook_is_not_called_after_a_canary_rollback(world: World) -> None:
    world.verdicts = [Outcome.UNHEALTHY]
    result = drive(world, hooked(post_traffic={"function": "after-check"}))
    assert result["status"] == "ROLLED_BACK" and world.hooks.calls == []
