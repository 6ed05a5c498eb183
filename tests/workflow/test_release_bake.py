"""The bake between two waves, end to end: the wave just promoted is judged again for bake_seconds
before the next starts; a regression during the bake stops the release and reverts it atomically."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from rollgate_local.sample_app import smoke_payload
from rollgate_local.sample_app.builds import order_payload
from tests.workflow.conftest import ALIAS, FUNCTION, Harness, running_harness

BACKEND = "payments-api"


class Orders:
    """The orders callers send: without coupons until `coupons` is set (a regression that only the
    orders with a coupon reach shows up once they start arriving)."""

    def __init__(self) -> None:
        self.coupons = False

    def __call__(self, rng: random.Random) -> Any:
        order = order_payload(rng)
        if not self.coupons and isinstance(order, dict):
            order.pop("coupon", None)
        return order


@pytest.fixture
def orders() -> Orders:
    return Orders()


@pytest.fixture
def shop(cdk_out: Path, orders: Orders) -> Iterator[Harness]:
    with running_harness(cdk_out, payload_factory=orders) as harness:
        harness.runtime.sample_app(function_name=BACKEND, alias=ALIAS, stream_name=None)
        harness.runtime.traffic(function_name=BACKEND, alias=ALIAS, rate_per_second=3.0)
        yield harness


def _manifest(harness: Harness, front_build: str, bake_seconds: int) -> dict[str, Any]:
    """Wave 1: orders-api; then its bake; wave 2: payments-api."""
    return {
        "application": "shop",
        "release_id": f"shop-bake-{front_build}",
        "atomic": True,
        "defaults": {
            "strategy": {"type": "canary", "steps": [50], "interval_seconds": 180},
            "smoke_tests": [{"name": "place-order", "payload": smoke_payload(), "expect_subset": {"ok": True}}],
            "health": {"metric_period_seconds": 60, "max_extension_seconds": 300},
            "watch_seconds": 60,
        },
        "waves": [
            {
                "name": "front",
                "bake_seconds": bake_seconds,
                "functions": [{"function_name": FUNCTION, "artifact": harness.upload(front_build)}],
            },
            {
                "name": "backends",
                "functions": [{"function_name": BACKEND, "artifact": harness.upload("v2", BACKEND)}],
            },
        ],
    }


def test_a_regression_during_the_bake_stops_the_release_and_reverts_it(shop: Harness, orders: Orders) -> None:
    # given orders-api v3, which fails only orders with a coupon, and callers that send none yet
    manifest = _manifest(shop, "v3", bake_seconds=900)
    execution = shop.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-bake-regresses")
    # when wave 1 is promoted and, during its bake, the orders with coupons start arriving
    shop.wait_until(lambda: shop.alias(FUNCTION) == ("2", {}), every=5.0)
    orders.coupons = True
    conclusion = shop.wait(execution)

    # then the release is rolled back: orders-api back on v1, payments-api never started
    assert conclusion.execution_status == "FAILED", conclusion.result
    assert conclusion.error == "ReleaseRolledBack"
    result = conclusion.result or {}
    assert result["status"] == "ROLLED_BACK"
    statuses = {f["function_name"]: f["status"] for f in result["functions"]}
    assert statuses == {FUNCTION: "PROMOTED", BACKEND: "NOT_STARTED"}
    assert {r["function_name"]: r["status"] for r in result["reverts"]} == {FUNCTION: "RESTORED"}
    assert shop.alias(FUNCTION) == ("1", {})
    assert shop.alias(BACKEND) == ("1", {})
    # and the bake is the evidence: the verdict that stopped it, naming the function
    (bake,) = result["bakes"]
    assert bake["conclusion"] == "unhealthy"
    assert f"{FUNCTION}:{ALIAS} v2 UNHEALTHY" in bake["reason"]
    assert bake["reason"] in result["reason"]
    assert bake["targets"][0]["verdicts"][-1]["outcome"] == "UNHEALTHY"


def test_a_bake_that_stays_healthy_lets_the_next_wave_run(shop: Harness) -> None:
    # given good builds and a five-minute bake after wave 1
    manifest = _manifest(shop, "v2", bake_seconds=300)
    conclusion = shop.wait(shop.start_workflow("ReleaseStateMachineArn", {"manifest": manifest}, "release-bake-ok"))

    # then both waves are promoted, the second after the bake
    assert conclusion.execution_status == "SUCCEEDED", conclusion.result
    result = conclusion.result or {}
    assert result["status"] == "RELEASED"
    assert shop.alias(FUNCTION) == ("2", {})
    assert shop.alias(BACKEND) == ("2", {})
    (bake,) = result["bakes"]
    assert bake["conclusion"] == "verified", bake
    verdicts = bake["targets"][0]["verdicts"]
    assert len(verdicts) >= 5 and verdicts[-1]["outcome"] == "HEALTHY"
    backend = shop.ledger_api.list_deployments(BACKEND, ALIAS)[0]
    assert backend.started_at >= datetime.fromisoformat(bake["bake_until"])
