"""The approval gate between a release's waves (manifest `approval.between_waves`): the decision
AdvanceWave makes, and what the AwaitWaveApproval task answers on a rejection or a timeout."""

from __future__ import annotations

from typing import Any

import pytest

from rollgate.contract import Status
from rollgate.domain.deploy.controls import wave_gate_ended
from rollgate.domain.release.waves import advance, conclude_release
from rollgate.domain.shared.models import StepError
from tests.unit.fakes import FakeClock, FakeLedger
from tests.unit.test_release_domain import SAMPLE, _planned, _record


def _after_first_wave(approval: dict[str, Any] | None, atomic: bool = True) -> tuple[Any, FakeLedger]:
    ledger = FakeLedger()
    manifest = {**SAMPLE, "atomic": atomic, **({"approval": approval} if approval else {})}
    ctx = _planned(manifest)
    for planned in ctx.wave:
        _record(ledger, planned, "PROMOTED")
    return advance(ctx.model_copy(update={"wave_results": [{}] * len(ctx.wave)}), ledger=ledger), ledger


def test_between_waves_the_next_wave_waits_for_approval() -> None:
    ctx, _ = _after_first_wave({"between_waves": True})
    assert ctx.next == "approve" and ctx.wave_index == 1
    assert [p.function_name for p in ctx.wave] == ["orders-api"]
    assert _after_first_wave(None)[0].next == "wave"
    assert _after_first_wave({"before_promotion": True})[0].next == "wave"


def test_before_promotion_reaches_every_childs_request() -> None:
    ctx = _planned({**SAMPLE, "approval": {"before_promotion": True, "timeout_seconds": 600}})
    assert {p.request["approval"]["timeout_seconds"] for wave in ctx.plan.waves for p in wave} == {600}


def test_the_approval_that_let_a_wave_start_is_kept_in_the_release() -> None:
    ctx, ledger = _after_first_wave({"between_waves": True})
    answer = {"wave": 1, "approved_by": "ana", "reason": "go", "at": "2026-11-23T12:00:00+00:00"}
    _record(ledger, ctx.wave[0], "PROMOTED")
    done = advance(ctx.model_copy(update={"wave_approval": answer, "wave_results": [{}]}), ledger=ledger)
    assert done.next == "done" and done.wave_approvals == [answer] and done.wave_approval is None


@pytest.mark.parametrize("atomic", [True, False])
def test_a_rejected_wave_stops_the_release_and_an_atomic_one_reverts_what_it_promoted(atomic: bool) -> None:
    ctx, _ = _after_first_wave({"between_waves": True}, atomic=atomic)
    rejected = StepError(Error="ApprovalRejected", Cause="wave 2 not approved: rejected by ivan")
    after = wave_gate_ended(ctx, rejected=rejected, now=FakeClock().now())
    assert {o.function_name: o.status for o in after.outcomes}["orders-api"] is Status.NOT_STARTED
    if atomic:
        assert after.next == "revert" and {t.function_name for t in after.revert} == {"payments-api", "inventory-api"}
    else:
        assert after.next == "done" and after.revert == []
    restored = [{"report": {"status": "RESTORED", "detail": "ok"}}] * len(after.revert)
    result = conclude_release(after.model_copy(update={"reverts": restored}), clock=FakeClock())
    assert result.status is (Status.ROLLED_BACK if atomic else Status.PARTIAL)
    assert "rejected by ivan" in result.reason


@pytest.mark.parametrize(("on_timeout", "next_"), [("approve", "wave"), ("reject", "revert")])
def test_an_unanswered_wave_approval_takes_its_default(on_timeout: str, next_: str) -> None:
    ctx, _ = _after_first_wave({"between_waves": True, "timeout_seconds": 60, "on_timeout": on_timeout})
    after = wave_gate_ended(ctx, rejected=None, now=FakeClock().now())
    assert after.next == next_
    if on_timeout == "approve":
        assert after.wave_approval["approved_by"] == "nobody (by default)"
    else:
        assert "no answer within 60 s; on_timeout is reject" in after.revert_reason
