"""DynamoLedger's control log: an operator's controls kept per function+alias and deployment,
written through rollgate.domain.deploy.controls.request_control (refused unless for the lease holder)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rollgate.aws.ledger import DynamoLedger
from rollgate.domain.deploy.controls import Control, ControlRefused, request_control
from rollgate.domain.shared.ports import Lease

T0 = datetime(2030, 5, 1, 12, 0, tzinfo=UTC)


class SteppingClock:
    def __init__(self) -> None:
        self.at = T0

    def now(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> SteppingClock:
    return SteppingClock()


@pytest.fixture
def ledger(dynamodb_client, ledger_table, clock) -> DynamoLedger:
    return DynamoLedger(dynamodb_client, ledger_table, clock)


def _hold(ledger: DynamoLedger, holder: str) -> None:
    ledger.acquire_lease(Lease("orders", "live", holder, T0, T0 + timedelta(hours=1)))


def test_controls_are_a_log_per_deployment_oldest_first(ledger, clock):
    _hold(ledger, "d-1")
    for minute, control in ((1, "pause"), (2, "resume"), (3, "promote")):
        clock.at = T0 + timedelta(minutes=minute)
        request_control(
            {"function_name": "orders", "control": control, "requested_by": "ana", "reason": f"step {minute}"},
            ledger=ledger,
            clock=clock,
        )
    log = ledger.list_controls("orders", "live", "d-1")
    assert [c.control for c in log] == [Control.PAUSE, Control.RESUME, Control.PROMOTE]
    assert [c.reason for c in log] == ["step 1", "step 2", "step 3"]
    assert {c.requested_by for c in log} == {"ana"} and log[0].requested_at == T0 + timedelta(minutes=1)
    # another deployment of the same alias, and another alias, see none of them
    assert ledger.list_controls("orders", "live", "d-2") == []
    assert ledger.list_controls("orders", "beta", "d-1") == []
    # the lease and the abort flag beside the log are untouched
    assert ledger.current_lease("orders", "live").holder == "d-1"
    assert ledger.abort_requested("orders", "live") is None


def test_a_control_for_a_deployment_that_does_not_hold_the_lease_writes_nothing(ledger, clock):
    _hold(ledger, "d-2")
    with pytest.raises(ControlRefused, match="d-1 is not the one running on orders:live: d-2 holds its lease"):
        request_control(
            {"function_name": "orders", "control": "abort", "deployment_id": "d-1"}, ledger=ledger, clock=clock
        )
    assert ledger.list_controls("orders", "live", "d-1") == ledger.list_controls("orders", "live", "d-2") == []
