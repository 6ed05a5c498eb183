"""The team's own rules through the gates, on fakes with the shipped judge: a custom metric read per
version (paired in the canary and a held-back watch, against the pre-deploy level without one), a
business metric that falls rolling the release back, a threshold held for a duration."""

from __future__ import annotations

from datetime import timedelta

from rollgate.domain.judge.health import GaugeSample
from tests.unit.conftest import World, drive, request_for
from tests.unit.test_gate_loop import steady_traffic
from tests.unit.test_judge_policy import ORDERS


def orders(world: World, version: str | None, per_minute: float, minutes: int = 200) -> None:
    start = world.clock.now() - timedelta(minutes=40)
    world.metrics.custom[("orders", version)] = [
        GaugeSample(at=start + timedelta(minutes=i), value=per_minute) for i in range(minutes)
    ]


def test_a_business_metric_that_falls_on_the_new_version_rolls_the_canary_back(world: World) -> None:
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=900.0)
    steady_traffic(world, "2", per_minute=100.0)
    orders(world, "1", 450.0)  # half the old version's requests place an order ...
    orders(world, "2", 10.0)  # ... a tenth of the new one's: a checkout regression with no errors
    result = drive(world, request_for(health={"custom_metrics": [ORDERS]}))
    assert result["status"] == "ROLLED_BACK"
    assert "orders of canary v2 was lower than stable v1 by more than 1.2x" in result["reason"]
    assert ("orders", "2") in world.metrics.custom_reads and ("orders", "1") in world.metrics.custom_reads


def test_a_business_metric_that_holds_is_promoted_and_judged_in_the_watch_too(world: World) -> None:
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=900.0)
    steady_traffic(world, "2", per_minute=100.0)
    orders(world, "1", 450.0)
    orders(world, "2", 50.0)  # the same half of its requests
    result = drive(world, request_for(health={"custom_metrics": [ORDERS]}))
    assert result["status"] == "PROMOTED"
    watch = [w for w in world.windows if w.phase == "watch"]
    assert watch and all(w.custom[0].reference is not None for w in watch)  # paired with the holdback


def test_a_function_wide_metric_is_read_once_per_window_with_its_pre_deploy_level(world: World) -> None:
    world.shipped_judge = True
    steady_traffic(world, "1", per_minute=900.0)
    steady_traffic(world, "2", per_minute=100.0)
    metric = {"name": "orders", "namespace": "Shop", "metric_name": "OrdersPlaced", "stat": "Sum", "required": False}
    orders(world, None, 450.0)
    drive(world, request_for(health={"custom_metrics": [metric]}))
    window = world.windows[0]
    assert window.custom[0].reference is None and window.custom[0].baseline
    assert {version for _, version in world.metrics.custom_reads} == {None}


def test_an_error_rate_threshold_held_for_the_duration_rolls_back(world: World) -> None:
    world.shipped_judge = True
    # 3.4% against stable's 2.8%: within the built-in 1.25x margin, above the team's 3% limit
    steady_traffic(world, "1", per_minute=900.0, errors=25.2)
    steady_traffic(world, "2", per_minute=100.0, errors=3.4)
    rule = {"thresholds": [{"metric": "error_rate", "above": 0.03, "for_seconds": 180}]}
    result = drive(world, request_for(health=rule))
    assert result["status"] == "ROLLED_BACK"
    assert "error_rate of canary v2 was above 3.0% for 180 s" in result["reason"]
    checks = {e["check"]: e["ok"] for e in result["evidence"]["canary"]}
    assert checks["health:threshold:error_rate"] is False and checks["health:errors"] is True  # the margin held
