"""The judge inside the workflow: it catches a regression only latency shows, and it does not roll
back a good release because of ordinary noise that both versions share."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rollgate_local.sample_app import order_payload
from tests.workflow.conftest import Harness, running_harness

pytestmark = [pytest.mark.workflow, pytest.mark.xdist_group("workflow")]

BAD_INPUT_SHARE = 0.03


def noisy_orders(rng: random.Random) -> dict[str, Any]:
    """Real clients send some garbage: about 3% of orders have no items and fail in every build."""
    order = order_payload(rng)
    if rng.random() < BAD_INPUT_SHARE:
        order["items"] = None
    return order


@pytest.fixture
def noisy_harness(cdk_out: Path) -> Iterator[Harness]:
    with running_harness(cdk_out, payload_factory=noisy_orders) as ready:
        yield ready


def test_latency_only_regression_is_rolled_back(harness: Harness) -> None:
    # v6 answers correctly, about three times slower: no error, no alarm, only the percentiles show
    # it. Percentiles need volume: at 5 requests/s a 50% canary gets enough per metric period.
    body = harness.request("v6", strategy={"type": "canary", "steps": [50], "interval_seconds": 300})
    conclusion = harness.run(body, "slow")
    assert conclusion.outcome == "ROLLED_BACK", conclusion.reason()
    assert "during the canary" in conclusion.reason() and "p95" in conclusion.reason()
    assert harness.alias() == ("1", {})
    failed = [e["check"] for e in harness.ledger()[0]["evidence"]["canary"] if not e["ok"]]
    assert any(check.startswith("health:latency") for check in failed), failed


def test_good_release_under_noisy_traffic_is_promoted(noisy_harness: Harness) -> None:
    # both versions fail the same ~3% of bad input: that is the service's noise, not the release
    conclusion = noisy_harness.run(noisy_harness.request("v2"), "noisy-good")
    assert conclusion.outcome == "PROMOTED", conclusion.reason()
    assert noisy_harness.alias() == ("2", {})
    record = noisy_harness.ledger()[0]
    errors = next(e for e in record["evidence"]["watch"] if e["check"] == "health:errors")
    assert errors["ok"], errors
