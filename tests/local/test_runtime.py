"""LocalRuntime as a whole: the environment it leaves behind, the clock it installs, and what costs
virtual time (waiting) and what does not (work)."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from rollgate.aws.clock import SystemClock, current_clock
from rollgate_local.clock import ScaledClock
from rollgate_local.runtime import LocalRuntime
from tests.local.conftest import make_function

SLOW = """
def handler(event, context):
    sum(range(2_000_000))  # real work (or a stall): no virtual time passes while it lasts
    return {"slept": True}
"""


def test_the_environment_is_restored_exactly_and_the_tasks_clock_is_installed_and_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://elsewhere:4566")
    monkeypatch.setenv("AWS_PROFILE", "prod")
    before, environ_type = dict(os.environ), type(os.environ)
    with LocalRuntime() as runtime:
        # inside: fake credentials, nothing that would send boto3 past the mock, no clock variables
        assert "AWS_ENDPOINT_URL" not in os.environ and "AWS_PROFILE" not in os.environ
        assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
        assert not [name for name in os.environ if name.startswith("ROLLGATE_CLOCK")]
        # the in-process tasks read the runtime's clock through the provider hook
        assert current_clock() is runtime.clock
        runtime.sample_app()
        runtime.data_plane.invoke("orders-api", "live", {"order_id": "o", "items": []})
    assert dict(os.environ) == before and type(os.environ) is environ_type
    assert isinstance(current_clock(), SystemClock)


def test_real_work_costs_no_virtual_time_and_waiting_costs_no_real_time(runtime: LocalRuntime) -> None:
    runtime.sample_app()
    make_function(runtime, "slow", {"slow.py": SLOW}, "slow.handler")
    with runtime.traffic(rate_per_second=5.0) as traffic:
        before = runtime.clock.now()
        # when a handler spends real time working
        assert runtime.data_plane.invoke("slow").json() == {"slept": True}
        # then no virtual time passed and no traffic was due meanwhile
        assert runtime.clock.now() == before and traffic.snapshot().total == 0
        # and ten virtual minutes hold exactly their traffic
        runtime.clock.sleep(600)
        assert runtime.clock.now() - before == timedelta(minutes=10)
        assert traffic.snapshot().total == 5 * 600


def test_the_virtual_origin_can_be_pinned() -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    with LocalRuntime(start=start) as runtime:
        assert runtime.clock.now() == start
        runtime.clock.sleep(90)
        assert runtime.clock.now() == start + timedelta(seconds=90)


def test_a_wait_for_an_execution_that_never_ends_times_out_in_virtual_time(runtime: LocalRuntime) -> None:
    sfn = runtime.client("stepfunctions")
    machine = sfn.create_state_machine(
        name="forever",
        roleArn="arn:aws:iam::123456789012:role/sfn",
        definition='{"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 999999, "End": true}}}',
    )["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    started = runtime.clock.now()
    with pytest.raises(TimeoutError, match="still RUNNING after 600 s"):
        runtime.wait_for_execution(execution, timeout=600)
    assert runtime.clock.now() - started == timedelta(seconds=600)


def test_the_scaled_clock_sleeps_the_scaled_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from rollgate_local import clock as local_clock

    slept: list[float] = []
    monkeypatch.setattr(local_clock.time, "sleep", slept.append)
    clock = ScaledClock(real_origin=0.0, virtual_origin=0.0, speed=100.0)
    clock.sleep(30)
    clock.sleep(0)
    assert slept == [0.3, 0.0]
    assert not clock.virtual and clock.seconds_to_real(300) == 3.0
