"""LocalRuntime as a whole: the environment it leaves behind, and handlers running side by side."""

from __future__ import annotations

import os

import pytest

from local.runtime import LocalRuntime
from tests.local.conftest import make_function

SLOW = """
import time

def handler(event, context):
    time.sleep(0.5)  # half a real second: 30 virtual seconds at speed 60
    return {"slept": True}
"""


def test_the_environment_is_restored_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:4566")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    before, environ_type = dict(os.environ), type(os.environ)
    with LocalRuntime() as runtime:
        # inside: fake credentials, the clock, and nothing that would send boto3 past the mock
        assert "AWS_ENDPOINT_URL" not in os.environ and "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert float(os.environ["ROLLGATE_CLOCK_SPEED"]) == runtime.clock.speed
        runtime.sample_app()
        runtime.data_plane.invoke("orders-api", "live", {"order_id": "o", "items": []})
    assert dict(os.environ) == before and type(os.environ) is environ_type


def test_traffic_keeps_flowing_while_a_slow_handler_runs(runtime: LocalRuntime) -> None:
    runtime.sample_app()
    make_function(runtime, "slow", {"slow.py": SLOW}, "slow.handler")
    with runtime.traffic(rate_per_second=5.0) as traffic:
        runtime.clock.sleep(10)
        before = traffic.snapshot().total
        # when a handler blocks for half a real second in this thread
        assert runtime.data_plane.invoke("slow").json() == {"slept": True}
        during = traffic.snapshot().total - before
    # then the traffic thread was not waiting for it (30 virtual seconds at 5/s is ~150 orders)
    assert during >= 100, during


def test_local_clock_sleep_blocks_the_scaled_real_time(monkeypatch) -> None:
    from local import clock as local_clock

    slept: list[float] = []
    monkeypatch.setattr(local_clock.time, "sleep", slept.append)
    clock = local_clock.LocalClock(real_origin=0.0, virtual_origin=0.0, speed=100.0)
    clock.sleep(30)
    clock.sleep(0)
    assert slept == [pytest.approx(0.3)]
